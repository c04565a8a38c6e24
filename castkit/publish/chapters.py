"""Chapters of a cast: every title starts one (named by its text) unless it says
``chapter: false``, a clip with ``chapter:`` too; ``chapters: off`` in the recipe, none. A chapter starts at the exact cast time of its segment's first frame in that output
(frames before it / the output's frame rate) and ends where the next starts, or at the end.

Web masters carry them (an FFMETADATA file given to the join, research/web-delivery.md
section 4) and get ``NAME.chapters.txt`` beside them: the ``0:00 Title`` lines that YouTube
reads from a video's description. Where the list breaks YouTube's rules (first at 0:00, at
least three, each at least 10 s long) castkit says so in one warning: YouTube then ignores it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from castkit.base.files import write_atomically
from castkit.base.progress import say
from castkit.base.jobs import InProcessJob


YOUTUBE_MIN_CHAPTERS = 3
YOUTUBE_MIN_SECONDS = 10


@dataclass(frozen=True)
class Chapter:
    title: str
    start: Fraction  # seconds of cast time
    end: Fraction


def chapters_of(names: Sequence[str | None], frames: Sequence[int], fps: Fraction) -> list[Chapter]:
    """Chapters from each segment's chapter name (None: the segment starts none) and frames."""
    starts, at = [], 0
    for name, count in zip(names, frames):
        if name is not None and name.strip():
            starts.append((" ".join(name.split()), Fraction(at) / fps))
        at += count
    end = Fraction(at) / fps
    return [Chapter(title, start, starts[i + 1][1] if i + 1 < len(starts) else end)
            for i, (title, start) in enumerate(starts)]


def _escape(text: str) -> str:
    for char in "\\=;#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\\n")


def ffmetadata(chapters: Sequence[Chapter]) -> str:
    """An FFMETADATA1 file of the chapters, times in milliseconds (TIMEBASE said: without it
    ffmpeg reads nanoseconds)."""
    lines = [";FFMETADATA1"]
    for chapter in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(chapter.start * 1000)}",
                  f"END={round(chapter.end * 1000)}", f"title={_escape(chapter.title)}"]
    return "\n".join(lines) + "\n"


def stamp(seconds: Fraction) -> str:
    """``M:SS`` (``H:MM:SS`` from an hour), whole seconds rounded down: YouTube's form."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def youtube_list(chapters: Sequence[Chapter]) -> str:
    return "".join(f"{stamp(c.start)} {c.title}\n" for c in chapters)


def youtube_problems(chapters: Sequence[Chapter]) -> list[str]:
    """How the list breaks YouTube's rules for chapters (empty: it does not)."""
    problems = []
    if chapters and stamp(chapters[0].start) != "0:00":  # the list says 0:00 for under a second
        problems.append(f"the first starts at {stamp(chapters[0].start)}, not 0:00 "
                        "(start the cast with a title or give its first clip 'chapter:')")
    if len(chapters) < YOUTUBE_MIN_CHAPTERS:
        problems.append(f"there are {len(chapters)}, fewer than {YOUTUBE_MIN_CHAPTERS}")
    short = [c.title for c in chapters if c.end - c.start < YOUTUBE_MIN_SECONDS]
    if short:
        # Named in full: the author looks for them in the recipe.
        problems.append(f"{len(short)} shorter than {YOUTUBE_MIN_SECONDS} s "
                        f"({', '.join(repr(t) for t in short)})")
    return problems


def chapters_path(output: Path) -> Path:
    return output.with_name(output.stem + ".chapters.txt")


@dataclass(frozen=True)
class SidecarJob(InProcessJob):
    """Write a small text file beside an output, atomically (no ffmpeg): run by the runner in
    the joins' stage, like the byte join of a raw DV cast. ``warning`` is said when written."""

    label: str
    output: Path
    text: str
    warning: str | None = None
    frames: int = 0
    inputs: tuple[Path, ...] = ()

    def render(self) -> str:
        write_atomically(self.output, lambda temp: temp.write_text(self.text, encoding="utf-8"))
        if self.warning:
            say("warning", self.warning)
        return "written"

    def shell(self) -> str:
        return f"cat > {shlex.quote(str(self.output))} <<'CASTKIT_EOF'\n{self.text}CASTKIT_EOF"
