"""How a title card looks, as a recipe's ``title_style`` and ``castkit title`` say it: apart
from the rest of the model so that the CLI's help can show the defaults without loading Pillow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_BACKGROUND = "#1b2838"


@dataclass(frozen=True)
class TitleStyle:
    """How a card looks. ``background`` is a colour or the path of an image file."""

    background: str = DEFAULT_BACKGROUND
    color: str = "#ffffff"
    font: Path | None = None  # .ttf/.otf for title and subtitle; None: the bundled DejaVu Sans
