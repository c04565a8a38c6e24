"""The step that draws a title card into the cache just before its title is encoded (no ffmpeg),
shared by every output of the same card size."""

from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image

from castkit.base.files import write_once
from castkit.recipe.model import TitleSegment
from castkit.titles.cards import render_card


_DRAW_LOCKS: dict[Path, threading.Lock] = {}  # one per picture file, shared by every job drawing it
_DRAW_GUARD = threading.Lock()


def draw_once(output: Path, picture: Callable[[], Image.Image]) -> None:
    """``picture()`` saved as a PNG at ``output`` unless it is there already: several encodes
    (outputs of one size, a farm's threads) may ask for one picture at once; one draws it, the
    others wait. Another build sharing the cache may draw it at the same moment: whichever is
    first stays (the same picture), so no encode reading it sees it change."""
    with _DRAW_GUARD:
        lock = _DRAW_LOCKS.setdefault(output, threading.Lock())
    with lock:
        if output.is_file() and output.stat().st_size > 0:
            return
        drawn = picture()
        write_once(output, lambda temp: drawn.save(temp, format="PNG"))


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
        seg = self.segment
        draw_once(self.output, lambda: render_card(seg.title, seg.subtitle, seg.style, self.size, self.base))

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
