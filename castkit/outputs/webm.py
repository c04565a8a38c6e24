"""WebM: AV1 (SVT-AV1, screen-content tools forced on) + Opus 48 kHz stereo.

AV1 rather than VP9: on screen content SVT-AV1 with ``scm=1`` (palette and intra block copy,
which its automatic mode did not switch on) was measured here at 113 kbps for the quality VP9
reached at 168 kbps, and encodes several times faster than libvpx-vp9 (research/web-delivery.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from castkit.outputs.web import WebProfile


CRF = 32
PRESET = 8


@dataclass(frozen=True)
class WebmProfile(WebProfile):
    container: ClassVar[str] = "webm"
    audio_codec: ClassVar[dict[str, Any]] = {"acodec": "libopus", "b:a": "128k"}
    label: ClassVar[str] = "WebM AV1"

    def video_codec(self) -> dict[str, Any]:
        return {"vcodec": "libsvtav1", "preset": PRESET, "crf": CRF, "svtav1-params": "scm=1"}
