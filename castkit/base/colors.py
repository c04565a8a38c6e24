"""Colours as authors write them (CSS names, ``#rgb``, ``#rrggbb``), read by Pillow's own
parser: the recipe's checks and the title cards agree on what a colour is."""

from __future__ import annotations


def parse_color(text: str) -> tuple[int, int, int]:
    """A CSS colour name, ``#rgb`` or ``#rrggbb`` (Pillow also takes ``rgb(...)``) as RGB."""
    # Imported here: a recipe without colours is read without Pillow (``castkit build`` starts
    # its deep trims' index reads sooner).
    from PIL import ImageColor

    try:
        r, g, b, *_ = ImageColor.getrgb(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(
            f"unknown colour {text!r}: use a CSS name like 'navy' or #rrggbb"
        ) from None
    return r, g, b
