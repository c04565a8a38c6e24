"""MP4: H.264 (High, 4:2:0) + AAC-LC 48 kHz stereo, the movie header first (``faststart``).

x264's defaults are tuned for camera pictures; a screencast is mostly still text. CRF 20 keeps
terminal text sharp (castkit's sharpness test measures it), two B-frames and closed GOPs as
upload platforms ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .web import WebProfile

CRF = 20


@dataclass(frozen=True)
class Mp4Profile(WebProfile):
    container: ClassVar[str] = "mp4"
    audio_codec: ClassVar[dict[str, Any]] = {"acodec": "aac", "b:a": "160k"}
    label: ClassVar[str] = "MP4 H.264"

    def video_codec(self) -> dict[str, Any]:
        return {"vcodec": "libx264", "profile:v": "high", "preset": "medium", "crf": CRF, "bf": 2}

    def final_options(self) -> dict[str, Any]:
        return {"movflags": "+faststart"}
