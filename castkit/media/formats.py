"""Which output suffix is which format: the one table that the recipe reader, the schema, the
profiles and the commands share. A new output format adds its suffix here and a profile
module in ``outputs``."""

from __future__ import annotations

from pathlib import Path

# suffix -> kind; for DV the kind is also the ffmpeg muxer (raw DV, or DV type 2 in AVI:
# ``outputs.profiles.make_profile``).
_KINDS = {".dv": "dv", ".avi": "avi", ".mp4": "mp4", ".webm": "webm"}
OUTPUT_SUFFIXES = tuple(_KINDS)  # the video outputs (also what `convert` and `title` make)
DV_SUFFIXES = (".dv", ".avi")
WEB_SUFFIXES = (".mp4", ".webm")
# Images of a cast, for documentation (a recipe's outputs only): animations, and stills (a
# poster with `at:`, a sprite sheet with `every:`). A .webp is an animation unless it has one
# of those keys.
ANIMATED_SUFFIXES = (".gif", ".webp", ".apng")
STILL_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
IMAGE_SUFFIXES = tuple(dict.fromkeys((*ANIMATED_SUFFIXES, *STILL_SUFFIXES)))
CAST_SUFFIXES = (*OUTPUT_SUFFIXES, *IMAGE_SUFFIXES)  # what a recipe's outputs may end in


def kind_of(path: Path) -> str | None:
    """``dv``, ``avi``, ``mp4`` or ``webm`` for a video output's suffix, ``image`` for an
    image's; None for anything else."""
    suffix = path.suffix.lower()
    return _KINDS.get(suffix) or ("image" if suffix in IMAGE_SUFFIXES else None)
