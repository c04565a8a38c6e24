"""MP4: H.264 (High, 4:2:0) + AAC-LC 48 kHz stereo, the movie header first (``faststart``).

A screencast is mostly still text. Measured on a 1920x1080 terminal frame (luma PSNR against the
capture): CRF 20, preset medium 45.8 dB (the sharpness test holds it above 42); CRF 30 39.5 dB
with visible ringing round the letters; ``-tune stillimage`` 45.1 dB at 5% fewer bytes, not
worth a tune that softens moving content. Two B-frames and closed GOPs, as upload platforms ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from castkit.outputs.web import WebProfile


CRF = 20
# Two B-frames: with x264's default B-pyramid, each picture is also decoded this many frames
# before it shows, and its timestamps say so (DTS = PTS - 2 frames)...
B_FRAMES = 2


@dataclass(frozen=True)
class Mp4Profile(WebProfile):
    container: ClassVar[str] = "mp4"
    audio_codec: ClassVar[dict[str, Any]] = {"acodec": "aac", "b:a": "160k"}
    label: ClassVar[str] = "MP4 H.264"

    def video_codec(self) -> dict[str, Any]:
        return {"vcodec": "libx264", "profile:v": "high", "preset": "medium", "crf": CRF, "bf": B_FRAMES}

    def final_options(self) -> dict[str, Any]:
        return {"movflags": "+faststart"}

    def joined_video_options(self) -> dict[str, Any]:
        # ... in a segment of 3 frames or more; one of 1 or 2 (a short title, a transition's
        # overlap at a low rate) is written without the delay, and the next segment's first
        # DTS then fell before its last: the muxer squeezed them, and the cast's video track
        # read shorter than its sound (2.10 s against 2.17 s; at 1 fps 3 s against 5). The
        # join numbers every picture's DTS again as x264 does in one run: the n-th decoded at
        # n - 2 frames (the cast is of constant rate; each packet lasts a frame).
        return {} if self.lossless else {"bsf:v": f"setts=pts=PTS:dts=(N-{B_FRAMES})*DURATION"}
