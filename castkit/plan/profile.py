"""What planning needs of an output profile (``outputs``: DV, MP4, WebM): the seam a new output
format fills. Planning builds a segment's graph up to a conformed picture and sound, then hands
them to the profile to encode; the build asks it how to tell a complete segment and how to join.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence

from castkit.media.ffmpeg import Ffmpeg
from castkit.media.raster import Raster


class Profile(Protocol):
    raster: Raster
    segment_suffix: str  # the cache entries' (``cache.names.SEGMENT_SUFFIXES``)

    @property
    def name(self) -> str: ...

    def encode(self, ff: Any, video: Any, audio: Any, output: Path, final: bool,
               copy_video: bool = False) -> Any:
        """The ffmpeg-python output node writing ``video`` and ``audio`` (already conformed to
        the raster and to 48 kHz stereo s16) to ``output``; ``copy_video``: ``video`` is the
        profile's encoded frames already (``pictures_once``)."""

    def pictures_once(self, final: bool) -> bool:
        """Whether an encode's repeated pictures may be encoded once and copied
        (``media.pictures``: intra-only frames whose bytes depend on the picture alone)."""

    def lays_ntsc_sound(self, final: bool) -> bool:
        """Whether the muxer lays the sound out in NTSC DV's 5-frame pattern
        (``media.dv.NTSC_DV_PATTERN``), counted from each file's first frame."""

    def lead(self, at: int) -> int:
        """Frames a segment starting at cast frame ``at`` is encoded with before its own, for
        the join to skip (NTSC DV's sound phase); 0 for most."""

    def size(self, frames: int, final: bool) -> int | None:
        """What a complete output of ``frames`` frames measures, where that is known."""

    def segment_complete(self, path: Path, frames: int) -> bool: ...

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str) -> Any:
        """The job that makes the cast ``output`` from segments (path, frames)."""
