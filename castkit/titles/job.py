"""The step that draws a title card into the cache just before its title is encoded (no ffmpeg),
shared by every output of the same card size."""

from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

from castkit.base.files import write_once
from castkit.recipe.model import TitleSegment
from castkit.titles.cards import render_card


_CARD_LOCKS: dict[Path, threading.Lock] = {}  # one per card file, shared by every CardJob
_CARD_GUARD = threading.Lock()


@dataclass(frozen=True)
class CardJob:
    """Draw a title card to a PNG (Pillow; no ffmpeg), as the step before its title's encode.
    ``shell()`` is the castkit command that draws the same card. Outputs of one size share a
    card: the first encode that needs it draws it, the others wait for it."""

    label: str
    segment: TitleSegment
    size: tuple[int, int]
    base: Path
    output: Path

    portable = True  # a farm's worker draws it where it encodes the title

    def reads(self) -> tuple[Path, ...]:
        return ()

    def render(self) -> None:
        with _CARD_GUARD:
            lock = _CARD_LOCKS.setdefault(self.output, threading.Lock())
        with lock:
            if self.output.is_file() and self.output.stat().st_size > 0:
                return  # drawn meanwhile for another output of the same size
            image = render_card(
                self.segment.title, self.segment.subtitle, self.segment.style, self.size, self.base,
            )
            # Another build sharing the cache may draw this card at the same moment: whichever
            # is first stays (the same card), so no encode reading it sees it change.
            write_once(self.output, lambda temp: image.save(temp, format="PNG"))

    def shell(self) -> str:
        seg, style = self.segment, self.segment.style
        argv = ["castkit", "title", seg.title]
        if seg.subtitle:
            argv += ["--subtitle", seg.subtitle]
        argv += ["--size", f"{self.size[0]}x{self.size[1]}",
                 "--background", style.background, "--color", style.color]
        if style.font:
            argv += ["--font", str(style.font)]
        argv += ["--force", "-o", str(self.output)]
        return shlex.join(argv)
