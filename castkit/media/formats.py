"""Which output suffix is which format: the one table that the recipe reader, the schema, the
profiles and the commands share. A new output format adds its suffix here and a profile
module in ``outputs``."""

from __future__ import annotations

from pathlib import Path

# suffix -> kind; for DV the kind is also the ffmpeg muxer (raw DV, or DV type 2 in AVI:
# ``outputs.profiles.make_profile``).
_KINDS = {".dv": "dv", ".avi": "avi", ".mp4": "mp4", ".webm": "webm"}
OUTPUT_SUFFIXES = tuple(_KINDS)
DV_SUFFIXES = (".dv", ".avi")
WEB_SUFFIXES = (".mp4", ".webm")


def kind_of(path: Path) -> str | None:
    """``dv``, ``avi``, ``mp4`` or ``webm`` for an output's suffix; None for anything else."""
    return _KINDS.get(path.suffix.lower())
