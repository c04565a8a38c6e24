"""Title cards: a title and an optional subtitle drawn with Pillow, ready to loop into DV.

Cards are drawn in *square* pixels at the target's display size (768x576 for PAL 4:3); the
DV encoder later squeezes them to 720 wide, so letters keep their shape on screen. Everything
is kept inside the title-safe area (the central 80% each way), because CRT-era players and some
TVs still overscan DV. The layout measures real glyph ink (``getbbox``) rather than nominal
font sizes, so accents above capitals and descenders are never clipped.

Rendering is deterministic for the same inputs and Pillow build: callers cache cards by content.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageChops, ImageColor, ImageDraw, ImageFilter, ImageFont, ImageOps

from .errors import InputError, UsageError

FONTS_DIR = Path(__file__).parent / "fonts"
# DejaVu Sans: free licence (fonts/LICENSE-DejaVu.txt), and it covers Latin, Greek and Cyrillic
# with accents, so an author's name or a ñandú never turns into boxes.
TITLE_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"
SUBTITLE_FONT = FONTS_DIR / "DejaVuSans.ttf"

DEFAULT_BACKGROUND = "#1b2838"
SAFE_FRACTION = 0.8  # title-safe area: the central 80% in each direction

# Font sizes as fractions of the card height, so PAL and NTSC cards look alike.
_TITLE_MAX = 0.10  # a short title: 58 px on a 576-line card
_READABLE = 1 / 20  # below this a word is broken across lines rather than shrunk further
_SUBTITLE_RATIO = 0.55  # subtitle size relative to the title ...
_SUBTITLE_MIN = 1 / 22  # ... but never smaller than this, so it stays readable on a TV
_FLOOR_PX = 8  # the smallest size tried before giving up
_PREFERRED_LINES = 2  # a title that fits in 2 lines at a decent size is not set in 3 big ones
_SUBTITLE_DIM = 0.25  # subtitle colour: this far from the text colour towards the background
_SHADOW_OPACITY = 0.55


@dataclass(frozen=True)
class TitleStyle:
    """How a card looks. ``background`` is a colour or the path of an image file."""

    background: str = DEFAULT_BACKGROUND
    color: str = "#ffffff"
    font: Path | None = None  # .ttf/.otf for title and subtitle; None: the bundled DejaVu Sans


@dataclass(frozen=True)
class CardLayout:
    """What :func:`layout_card` decided: sizes in pixels and the wrapped lines."""

    title_size: int
    title_lines: tuple[str, ...]
    subtitle_size: int | None
    subtitle_lines: tuple[str, ...]
    # Where the text's ink lands on the card, shadow excluded: (left, top, right, bottom).
    ink_box: tuple[int, int, int, int]


def parse_color(text: str) -> tuple[int, int, int]:
    """A CSS colour name, ``#rgb`` or ``#rrggbb`` (Pillow also takes ``rgb(...)``) as RGB."""
    try:
        r, g, b, *_ = ImageColor.getrgb(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(
            f"unknown colour {text!r}: use a CSS name like 'navy' or #rrggbb"
        ) from None
    return r, g, b


def safe_area(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The pixels wholly inside the central 80%: (left, top, right, bottom), right/bottom exclusive."""
    width, height = size
    margin = (1 - SAFE_FRACTION) / 2
    # A pixel column x covers [x, x+1): inside if x >= 0.1*W and x+1 <= 0.9*W.
    return (
        math.ceil(width * margin),
        math.ceil(height * margin),
        int(width * (1 - margin)),
        int(height * (1 - margin)),
    )


def check_style(style: TitleStyle, base: Path = Path(".")) -> None:
    """Fail early, before any encoding, on anything a card with ``style`` could not use.

    Colours raise :class:`UsageError`; a missing or unreadable font or background image raises
    :class:`InputError` naming the file. Relative paths are taken from ``base``.
    """
    _text_color(style)
    background = _background_spec(style.background, base)
    if isinstance(background, Path):
        _open_background(background, None)
    for path in _font_paths(style, base):
        _load_font(path, 12)


def layout_card(
    title: str,
    subtitle: str | None,
    style: TitleStyle,
    size: tuple[int, int],
    base: Path = Path("."),
) -> CardLayout:
    """Choose font sizes and line breaks so that the text fills, but stays in, the safe area."""
    return _layout(title, subtitle, style, size, base).layout


def render_card(
    title: str,
    subtitle: str | None,
    style: TitleStyle,
    size: tuple[int, int],
    base: Path = Path("."),
) -> Image.Image:
    """Draw a card: an RGB image of exactly ``size`` (square pixels)."""
    check_style(style, base)
    plan = _layout(title, subtitle, style, size, base)
    background = _background_spec(style.background, base)
    if isinstance(background, Path):
        card = _open_background(background, size)
    else:
        card = Image.new("RGB", size, background)
    ink = _text_color(style)
    dim = _mix(ink, _average(card), _SUBTITLE_DIM)

    if isinstance(background, Path):
        # Over a photo or a screenshot, a soft shadow keeps the letters readable. Flat colours
        # need none, and a shadow there only muddies light backgrounds.
        _draw_shadow(card, plan, ink, size)
    draw = ImageDraw.Draw(card)
    for line in plan.lines:
        draw.text(line.at, line.text, font=line.font, fill=ink if line.title else dim, anchor="ms")
    return card


# --- layout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    text: str
    font: ImageFont.FreeTypeFont
    at: tuple[int, int]  # centre of the baseline
    title: bool


@dataclass(frozen=True)
class _Plan:
    layout: CardLayout
    lines: tuple[_Line, ...]
    title_size: int


def _layout(
    title: str, subtitle: str | None, style: TitleStyle, size: tuple[int, int], base: Path
) -> _Plan:
    title_paragraphs = _paragraphs(title)
    if not title_paragraphs:
        raise UsageError("a title needs some text")
    subtitle_paragraphs = _paragraphs(subtitle or "")
    title_path, subtitle_path = _font_paths(style, base)
    width, height = size
    left, top, right, bottom = safe_area(size)

    largest = max(_FLOOR_PX, round(height * _TITLE_MAX))
    readable = max(_FLOOR_PX, round(height * _READABLE))
    # Try, in order: a few lines without breaking words; any number of lines without breaking
    # words, down to a readable size; then words broken across lines, down to the floor.
    passes = (
        (readable, False, _PREFERRED_LINES),
        (readable, False, None),
        (_FLOOR_PX, True, None),
    )
    for smallest, break_words, max_lines in passes:
        for title_px in range(largest, smallest - 1, -1):
            margin = _shadow_extent(title_px)
            box = (left + margin, top + margin, right - margin, bottom - margin)
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            subtitle_px = min(title_px, max(round(title_px * _SUBTITLE_RATIO), round(height * _SUBTITLE_MIN)))
            title_font = _load_font(title_path, title_px)
            subtitle_font = _load_font(subtitle_path, subtitle_px)
            box_width = box[2] - box[0]
            title_lines = _wrap(title_paragraphs, title_font, box_width, break_words)
            if title_lines is None or (max_lines and len(title_lines) > max_lines):
                continue
            subtitle_lines = _wrap(subtitle_paragraphs, subtitle_font, box_width, break_words)
            if subtitle_lines is None:
                continue
            placed = _stack(title_lines, title_font, subtitle_lines, subtitle_font, title_px, box)
            if placed is not None:
                lines, ink_box = placed
                layout = CardLayout(
                    title_px,
                    tuple(title_lines),
                    subtitle_px if subtitle_lines else None,
                    tuple(subtitle_lines),
                    ink_box,
                )
                return _Plan(layout, lines, title_px)
    raise UsageError(f"the title is too long to fit on a card ({len(title)} characters)")


def _paragraphs(text: str) -> list[list[str]]:
    """Words of each forced line (an explicit newline); NFC so that "é" is one glyph."""
    text = unicodedata.normalize("NFC", text)
    return [words for line in text.splitlines() if (words := line.split())]


def _wrap(
    paragraphs: list[list[str]], font: ImageFont.FreeTypeFont, width: int, break_words: bool
) -> list[str] | None:
    """Lines no wider than ``width`` with balanced lengths, or None if a word does not fit."""
    lines: list[str] = []
    for words in paragraphs:
        greedy = _greedy(words, font, width, break_words)
        if greedy is None:
            return None
        # Balance: the narrowest width that still gives as many lines, so a two-line title
        # reads "Installing the / Parallel Debugger", not a full line and one orphan word.
        lo, hi = 1, width
        while lo < hi:
            mid = (lo + hi) // 2
            trial = _greedy(words, font, mid, break_words)
            if trial is not None and len(trial) <= len(greedy):
                hi = mid
            else:
                lo = mid + 1
        lines.extend(_greedy(words, font, lo, break_words) or greedy)
    return lines


def _greedy(
    words: list[str], font: ImageFont.FreeTypeFont, width: int, break_words: bool
) -> list[str] | None:
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _fits(candidate, font, width):
            current = candidate
            continue
        if current:
            lines.append(current)
        if _fits(word, font, width):
            current = word
            continue
        if not break_words:
            return None
        current = ""
        for char in word:  # a URL or a very long word: break it where the line is full
            if current and not _fits(current + char, font, width):
                lines.append(current)
                current = ""
            current += char
        if not _fits(current, font, width):
            return None
    if current:
        lines.append(current)
    return lines


def _fits(text: str, font: ImageFont.FreeTypeFont, width: int) -> bool:
    """Whether ``text``'s ink, centred, fits ``width``: measured, not estimated from the size."""
    left, _, right, _ = font.getbbox(text, anchor="ms")
    return 2 * max(-left, right) <= width


def _stack(
    title_lines: list[str],
    title_font: ImageFont.FreeTypeFont,
    subtitle_lines: list[str],
    subtitle_font: ImageFont.FreeTypeFont,
    title_px: int,
    box: tuple[int, int, int, int],
) -> tuple[tuple[_Line, ...], tuple[int, int, int, int]] | None:
    """Place lines by their baselines, centre their ink in ``box``; None if they do not fit."""
    rows: list[tuple[str, ImageFont.FreeTypeFont, int, bool]] = []  # text, font, baseline, title
    baseline = 0
    for i, text in enumerate(title_lines):
        baseline += _line_pitch(title_font) if i else 0
        rows.append((text, title_font, baseline, True))
    if subtitle_lines:
        # The gap says "these belong together" without crowding: about half a title line.
        baseline += title_font.getmetrics()[1] + round(title_px * 0.45) + subtitle_font.getmetrics()[0]
        for i, text in enumerate(subtitle_lines):
            baseline += _line_pitch(subtitle_font) if i else 0
            rows.append((text, subtitle_font, baseline, False))

    boxes = [font.getbbox(text, anchor="ms") for text, font, _, _ in rows]
    ink_top = min(b[1] + row[2] for b, row in zip(boxes, rows))
    ink_bottom = max(b[3] + row[2] for b, row in zip(boxes, rows))
    left, top, right, bottom = box
    if ink_bottom - ink_top > bottom - top:
        return None
    centre_x = (left + right) // 2
    shift = top + (bottom - top - (ink_bottom - ink_top)) // 2 - ink_top
    lines = tuple(_Line(text, font, (centre_x, y + shift), is_title) for text, font, y, is_title in rows)
    ink_box = (
        centre_x + min(b[0] for b in boxes),
        ink_top + shift,
        centre_x + max(b[2] for b in boxes),
        ink_bottom + shift,
    )
    return lines, ink_box


def _line_pitch(font: ImageFont.FreeTypeFont) -> int:
    """Baseline to baseline: the font's own ascent + descent, which clears accents and tails."""
    ascent, descent = font.getmetrics()
    return ascent + descent


# --- drawing --------------------------------------------------------------------------------


def _shadow_extent(title_px: int) -> int:
    """How far a shadow reaches beyond the ink: kept clear inside the safe area."""
    offset, blur = _shadow_geometry(title_px)
    return offset + 2 * blur


def _shadow_geometry(title_px: int) -> tuple[int, int]:
    return max(1, round(title_px * 0.04)), max(1, round(title_px * 0.06))


def _draw_shadow(card: Image.Image, plan: _Plan, ink: tuple[int, int, int], size: tuple[int, int]) -> None:
    """A soft shadow (or a soft glow for dark text) under every line, clipped to the safe area."""
    offset, blur = _shadow_geometry(plan.title_size)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for line in plan.lines:
        x, y = line.at
        draw.text((x + offset, y + offset), line.text, font=line.font, fill=255, anchor="ms")
    mask = mask.filter(ImageFilter.GaussianBlur(blur))
    mask = mask.point(lambda v: round(v * _SHADOW_OPACITY))
    safe = Image.new("L", size, 0)
    safe.paste(255, safe_area(size))
    mask = ImageChops.multiply(mask, safe)
    shade = (0, 0, 0) if _luma(ink) >= 128 else (255, 255, 255)
    card.paste(shade, (0, 0), mask)


def _open_background(path: Path, size: tuple[int, int] | None) -> Image.Image:
    """The image scaled to cover ``size`` and centre-cropped (shape kept); None just checks it."""
    try:
        with Image.open(path) as image:
            if size is not None:
                image.draft("RGB", size)  # JPEG: decode at a reduced scale, still >= size
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                flat = Image.new("RGB", image.size, parse_color(DEFAULT_BACKGROUND))
                flat.paste(image.convert("RGBA"), (0, 0), image.convert("RGBA"))
                image = flat
            else:
                image = image.convert("RGB")
    except FileNotFoundError:
        raise InputError(path, "no such background image") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a background image") from None
    except PermissionError:
        raise InputError(path, "cannot read the background image: permission denied") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise InputError(path, f"not an image Pillow can read ({error})") from None
    if size is None:
        return image
    return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def _average(image: Image.Image) -> tuple[int, int, int]:
    r, g, b = image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return r, g, b


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def _luma(rgb: tuple[int, int, int]) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


# --- style values ---------------------------------------------------------------------------

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


def _background_spec(value: str, base: Path) -> tuple[int, int, int] | Path:
    """A colour, or the path of an image: a colour wins, so write ``./navy`` for a file 'navy'."""
    try:
        return parse_color(value)
    except ValueError as error:
        colour_error = error
    path = base / Path(value).expanduser()
    looks_like_file = (
        path.exists() or Path(value).suffix.lower() in _IMAGE_SUFFIXES or "/" in value or "\\" in value
    )
    if looks_like_file:
        return path
    raise UsageError(f"background: {colour_error}, or the path of an image file")


def _text_color(style: TitleStyle) -> tuple[int, int, int]:
    try:
        return parse_color(style.color)
    except ValueError as error:
        raise UsageError(f"text colour: {error}") from None


def _font_paths(style: TitleStyle, base: Path) -> tuple[Path, Path]:
    """Title and subtitle fonts: the author's one for both, or DejaVu Sans Bold and Book."""
    if style.font is None:
        return TITLE_FONT, SUBTITLE_FONT
    path = base / Path(style.font).expanduser()
    return path, path


def _load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    if not path.exists():
        raise InputError(path, "no such font file")
    if path.is_dir():
        raise InputError(path, "is a folder, not a font file")
    try:
        return _cached_font(str(path), size)
    except PermissionError:
        raise InputError(path, "cannot read the font file: permission denied") from None
    except (OSError, ValueError):
        raise InputError(path, "not a font file Pillow can read (use a .ttf or .otf)") from None


@lru_cache(maxsize=256)
def _cached_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)

