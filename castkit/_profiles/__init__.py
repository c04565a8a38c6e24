"""Output profiles: how each output format is made, the seam between the planner and a format.

A profile knows its frame (a ``Raster``), how to encode a conformed picture and sound into a
segment for the cache (``encode(..., final=False)``) or straight into a deliverable
(``final=True``: ``castkit convert``/``title``), how to tell a complete cached segment from a
partial one, and how to join segments into the cast. Adding a format is adding a module here
and a line in ``_KINDS``.

    suffix   profile        segments (cache)                 cast
    .dv      DvProfile      raw DV, one per segment          bytes joined (kernel copy)
                            (each distinct picture encoded once, ``_pictures``)
    .avi     DvProfile      raw DV                           concat demuxer, stream copy
    .mp4     Mp4Profile     H.264 + ALAC in MP4              video copied, AAC encoded once
    .webm    WebmProfile    AV1 + ALAC in MP4                video copied, Opus encoded once
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence

from .._ffmpeg import Ffmpeg
from .._raster import Raster


class Profile(Protocol):
    raster: Raster
    segment_suffix: str

    @property
    def name(self) -> str: ...

    def encode(self, ff: Any, video: Any, audio: Any, output: Path, final: bool,
               copy_video: bool = False) -> Any:
        """The ffmpeg-python output node writing ``video`` and ``audio`` (already conformed to
        the raster and to 48 kHz stereo s16) to ``output``; ``copy_video``: ``video`` is the
        profile's encoded frames already (``pictures_once``)."""

    def pictures_once(self, final: bool) -> bool:
        """Whether an encode's repeated pictures may be encoded once and copied
        (``_pictures``: intra-only frames whose bytes depend on the picture alone)."""

    def size(self, frames: int, final: bool) -> int | None:
        """What a complete output of ``frames`` frames measures, where that is known."""

    def segment_complete(self, path: Path, frames: int) -> bool: ...

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str) -> Any:
        """The job that makes the cast ``output`` from segments (path, frames)."""


def kind_of(path: Path) -> str | None:
    """``dv``, ``avi``, ``mp4`` or ``webm`` for an output's suffix; None for anything else."""
    return _KINDS.get(path.suffix.lower())


_KINDS = {".dv": "dv", ".avi": "avi", ".mp4": "mp4", ".webm": "webm"}
OUTPUT_SUFFIXES = tuple(_KINDS)
WEB_SUFFIXES = (".mp4", ".webm")


def make_profile(path: Path, dv_target: Any = None, raster: Any = None) -> Profile:
    """The profile for an output path: DV ones take the recipe's ``dv_target``, web ones a
    ``WebRaster``."""
    kind = kind_of(path)
    if kind in ("dv", "avi"):
        from .dv import DvProfile

        return DvProfile(dv_target, kind)
    if kind == "mp4":
        from .mp4 import Mp4Profile

        return Mp4Profile(raster)
    if kind == "webm":
        from .webm import WebmProfile

        return WebmProfile(raster)
    raise ValueError(f"no profile for {path.suffix!r}")
