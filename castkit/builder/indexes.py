"""The keyframe indexes a build needs, read while castkit is still starting.

A deep trim's plan waits for its capture's keyframe index (``media.seek.read_index``: one
ffmpeg that reads the whole container, 0.1-0.2 s for a 10-minute take). The build starts these
reads before it probes the sources, and ``castkit build`` starts them sooner still: as soon as
the recipe has been read, before the builder and the planners are imported (about 0.1 s;
``read_soon``). The build then takes up a read started early only if it is of the same file,
unchanged, by the same ffmpeg; any other read is started again.
"""

from __future__ import annotations

import threading
from pathlib import Path

from castkit.base.files import path_identity
from castkit.errors import CastkitError
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.media.seek import FrameIndex, MIN_SEEK, read_index
from castkit.recipe.model import ClipSegment, Recipe
from castkit.recipe.reader import read_recipe


class IndexReading(threading.Thread):
    """A capture's keyframe index (``media.seek.read_index``), read in a thread of its own."""

    def __init__(self, path: Path, ffmpeg: Ffmpeg) -> None:
        super().__init__(name=f"index {path.name}", daemon=True)
        self.path, self.ffmpeg = path, ffmpeg
        self.identity = path_identity(path)  # a capture changed meanwhile is read again
        self.index: FrameIndex | None = None

    def run(self) -> None:
        self.index = read_index(self.path, self.ffmpeg)


# Reads ``read_soon`` started, by capture, until a build takes them up.
_EARLY: dict[Path, IndexReading] = {}


def read_soon(recipe_path: Path | str) -> None:
    """Start reading the indexes the build of a recipe will need (``castkit build``, before it
    imports the builder). Says nothing: a recipe, a capture or an ffmpeg that cannot be read is
    reported by the build itself, which reads them again."""
    try:
        recipe, _ = read_recipe(recipe_path)
        _EARLY.update(readings(recipe, find_ffmpeg()))
    except (CastkitError, OSError):
        return


def readings(recipe: Recipe, ffmpeg: Ffmpeg) -> dict[Path, IndexReading]:
    """The keyframe index of each clip trimmed deep into its capture (its encode seeks:
    ``plan.check.frame_index``), being read: by ``read_soon``, or from now on, while the
    recipe's sources are probed. Two ffmpegs side by side rather than one pass: the probe is
    ffmpeg's trace log of opening the file, and over a stream copy of a whole Ogg file that
    log names every packet (measured on the 10-minute take of benchmarks/bench_edits.py:
    0.23-0.34 s of CPU for one such pass against 0.08 + 0.09 s for the two). Only regular
    files (the probe says what is wrong with anything else), only clips whose frames are the
    capture's in order (a clip cut by its pauses or transcript reads no index)."""
    found: dict[Path, IndexReading] = {}
    for seg in recipe.segments:
        if (isinstance(seg, ClipSegment) and seg.clip not in found and seg.start / seg.speed > MIN_SEEK
                and seg.pauses is None and seg.transcript is None and not seg.fillers
                and seg.clip.is_file()):
            early = _EARLY.pop(seg.clip, None)
            if early is not None and early.ffmpeg == ffmpeg and early.identity == path_identity(seg.clip):
                found[seg.clip] = early
                continue
            found[seg.clip] = IndexReading(seg.clip, ffmpeg)
            found[seg.clip].start()
    return found
