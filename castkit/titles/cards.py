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
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import (
    Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps, UnidentifiedImageError,
)

from castkit.base.colors import parse_color
from castkit.base.files import FileRefused, LOOP, require_regular, symlink_loop
from castkit.errors import InputError, UsageError
from castkit.recipe.style import DEFAULT_BACKGROUND, TitleStyle


FONTS_DIR = Path(__file__).parent / "fonts"
# DejaVu Sans: free licence (fonts/LICENSE-DejaVu.txt), and it covers Latin, Greek and Cyrillic
# with accents, so an author's name or a ñandú never turns into boxes.
TITLE_FONT = FONTS_DIR / "DejaVuSans-Bold.ttf"
SUBTITLE_FONT = FONTS_DIR / "DejaVuSans.ttf"
SAFE_FRACTION = 0.8  # title-safe area: the central 80% in each direction

_RGB = tuple[int, int, int]
_Box = tuple[int, int, int, int]  # left, top, right, bottom

# Font sizes as fractions of the card height, so PAL and NTSC cards look alike.
_TITLE_MAX = 0.10  # a short title: 58 px on a 576-line card
_READABLE = 1 / 20  # below this a word is broken across lines rather than shrunk further
_SUBTITLE_RATIO = 0.55  # subtitle size relative to the title ...
_SUBTITLE_MIN = 1 / 22  # ... but never smaller than this, so it stays readable on a TV
_SMALLEST = 1 / 32  # below this (18 px at 576 lines) text is a blur on a TV: refuse instead
_PREFERRED_LINES = 2  # a title that fits in 2 lines at a decent size is not set in 3 big ones
_BALANCED_LINES = 3  # up to this many lines are evened out; longer text is set ragged-right
_FLOOR_PX = 8  # tiny test cards: never below this
_ANY = 10**6  # no limit on the number of lines
_COMFORT = 0.85  # long text shrinks until it fills at most this much of the safe area's height
_SUBTITLE_DIM = 0.25  # subtitle colour: this far from the text colour towards the background
_SHADOW_OPACITY = 0.55
_SCRIM_OPACITY = 0.45


@dataclass(frozen=True)
class CardLayout:
    """What :func:`layout_card` decided: sizes in pixels and the wrapped lines."""

    title_size: int
    title_lines: tuple[str, ...]
    subtitle_size: int | None
    subtitle_lines: tuple[str, ...]
    # Where the text's ink lands on the card, shadow excluded: (left, top, right, bottom).
    ink_box: _Box


def safe_area(size: tuple[int, int]) -> _Box:
    """Pixels wholly inside the central 80%: (left, top, right, bottom), right/bottom excluded."""
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


def check_text(title: str, subtitle: str | None, style: TitleStyle, base: Path = Path(".")) -> None:
    """Fail early on characters a card's fonts would draw as boxes (an emoji, CJK in DejaVu
    Sans): :class:`UsageError` naming each font and its characters."""
    title_path, subtitle_path = _font_paths(style, base)
    lacking = [f"the font {path.name} cannot draw {missing!r} (the {which})"
               for which, text, path in (("title", title, title_path), ("subtitle", subtitle or "", subtitle_path))
               if (missing := lacking_glyphs(_load_font(path, 48), text))]
    if lacking:
        raise UsageError(f"{'; '.join(lacking)}: choose a font that has them (a title style's font:, "
                         "or --font)")


# A code point no text font maps: what a font draws for a character it lacks.
_MISSING = "\U0010fffd"


def lacking_glyphs(font: ImageFont.FreeTypeFont, text: str) -> str:
    """The characters of ``text`` that ``font`` draws as its missing-glyph box."""
    def glyph(char: str) -> tuple:
        mask = font.getmask(char)
        return mask.size, bytes(mask)

    missing = glyph(_MISSING)
    return "".join(dict.fromkeys(c for c in text if not c.isspace() and glyph(c) == missing))


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
    # On a flat colour the subtitle recedes a little towards the background. Over an image,
    # contrast matters more than hierarchy: it keeps the full text colour (and is smaller).
    dim = ink if isinstance(background, Path) else _mix(ink, background, _SUBTITLE_DIM)

    if isinstance(background, Path):
        # Over a photo or a screenshot, a soft darkening behind the text and a soft shadow keep
        # the letters readable. Flat colours need neither: a shadow only muddies them.
        _draw_scrim(card, plan, ink)
        _draw_shadow(card, plan, ink)
    draw = ImageDraw.Draw(card)
    for line in plan.lines:
        draw.text(line.at, line.text, font=line.font, fill=ink if line.title else dim, anchor="ms")
    return card


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

    smallest = max(_FLOOR_PX, round(height * _SMALLEST))
    largest = max(smallest, round(height * _TITLE_MAX))
    readable = max(smallest, round(height * _READABLE))
    # Try, in order: a few lines without breaking words; any number of lines without breaking
    # words, down to a readable size, leaving some air around a long title; then words broken
    # across lines (a URL), from a readable size down to the smallest, filling the safe area.
    passes = (
        (largest, readable, False, _PREFERRED_LINES, _COMFORT),
        (largest, readable, False, _ANY, _COMFORT),
        (readable, smallest, True, _ANY, 1.0),
    )
    for first, last, break_words, max_lines, fill in passes:
        for title_px in range(first, last - 1, -1):
            margin = _shadow_extent(title_px)
            box = (left + margin, top + margin, right - margin, bottom - margin)
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            subtitle_px = min(
                title_px, max(round(title_px * _SUBTITLE_RATIO), round(height * _SUBTITLE_MIN))
            )
            title_font = _load_font(title_path, title_px)
            subtitle_font = _load_font(subtitle_path, subtitle_px)
            box_width = box[2] - box[0]
            # No more lines than the box could hold: stops hopeless sizes early.
            room = (box[3] - box[1]) * fill
            title_limit = int(room / _line_pitch(title_font)) + 1
            title_wrap = _wrap(
                title_paragraphs, title_font, box_width, break_words, min(title_limit, max_lines)
            )
            if title_wrap is None:
                continue
            subtitle_limit = int(room / _line_pitch(subtitle_font)) + 1
            subtitle_wrap = _wrap(
                subtitle_paragraphs, subtitle_font, box_width, break_words, subtitle_limit
            )
            if subtitle_wrap is None:
                continue
            title_lines = [line for lines in title_wrap for line in lines]
            subtitle_lines = [line for lines in subtitle_wrap for line in lines]
            fonts = (title_font, subtitle_font)
            if _stack(title_lines, subtitle_lines, fonts, title_px, box, fill) is None:
                continue
            # It fits: now even out the line lengths, which changes no line count or height.
            title_lines = [
                line
                for words, lines in zip(title_paragraphs, title_wrap)
                for line in _balance(words, lines, title_font, box_width, break_words)
            ]
            subtitle_lines = [
                line
                for words, lines in zip(subtitle_paragraphs, subtitle_wrap)
                for line in _balance(words, lines, subtitle_font, box_width, break_words)
            ]
            placed = _stack(title_lines, subtitle_lines, fonts, title_px, box, 1.0)
            assert placed is not None  # same lines, same height
            lines, ink_box = placed
            layout = CardLayout(
                title_px,
                tuple(title_lines),
                subtitle_px if subtitle_lines else None,
                tuple(subtitle_lines),
                ink_box,
            )
            return _Plan(layout, lines, title_px)
    raise UsageError(
        f"the text is too long to fit on one {width}x{height} card at a size people can read"
        f" ({len(title) + len(subtitle or '')} characters): shorten it or split it across cards"
    )


def _paragraphs(text: str) -> list[list[str]]:
    """Words of each forced line (an explicit newline); NFC so that "é" is one glyph."""
    text = unicodedata.normalize("NFC", text)
    return [words for line in text.splitlines() if (words := line.split())]


def _wrap(
    paragraphs: list[list[str]],
    font: ImageFont.FreeTypeFont,
    width: int,
    break_words: bool,
    limit: int,
) -> list[list[str]] | None:
    """Each paragraph's lines, no wider than ``width``.

    None if a word does not fit or if there would be more than ``limit`` lines in all.
    """
    wrapped = []
    for words in paragraphs:
        lines = _greedy(words, font, width, break_words, limit)
        if lines is None:
            return None
        wrapped.append(lines)
        limit -= len(lines)
    return wrapped


def _balance(
    words: list[str], lines: list[str], font: ImageFont.FreeTypeFont, width: int, break_words: bool
) -> list[str]:
    """The same number of lines at the narrowest width that allows it.

    A two-line title then reads "Installing the / Parallel Debugger" rather than a full line
    and an orphan word. Only for short titles: a paragraph of 6 lines reads better ragged-right.
    """
    if not 2 <= len(lines) <= _BALANCED_LINES:
        return lines
    lo, hi = 1, width
    while lo < hi:
        mid = (lo + hi) // 2
        if _greedy(words, font, mid, break_words, len(lines)) is not None:
            hi = mid
        else:
            lo = mid + 1
    return _greedy(words, font, lo, break_words, len(lines)) or lines


def _greedy(
    words: list[str], font: ImageFont.FreeTypeFont, width: int, break_words: bool, limit: int
) -> list[str] | None:
    """Fill each line with as many words as fit; None if a word is too wide or lines > limit."""
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _fits(candidate, font, width):
            current = candidate
            continue
        if current:
            lines.append(current)
            if len(lines) >= limit:
                return None  # and the word still to place makes one more
        if _fits(word, font, width):
            current = word
            continue
        if not break_words:
            return None
        current = ""
        for char in word:  # a URL or a very long word: break it where the line is full
            if current and not _fits(current + char, font, width):
                lines.append(current)
                if len(lines) >= limit:
                    return None
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
    subtitle_lines: list[str],
    fonts: tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont],
    title_px: int,
    box: _Box,
    fill: float,
) -> tuple[tuple[_Line, ...], _Box] | None:
    """Place lines by their baselines, centre their ink in ``box``.

    None if the ink is taller than ``fill`` times the box's height.
    """
    title_font, subtitle_font = fonts
    rows: list[tuple[str, ImageFont.FreeTypeFont, int, bool]] = []  # text, font, baseline, title
    baseline = 0
    for i, text in enumerate(title_lines):
        baseline += _line_pitch(title_font) if i else 0
        rows.append((text, title_font, baseline, True))
    if subtitle_lines:
        # The gap says "these belong together" without crowding: about half a title line.
        baseline += title_font.getmetrics()[1] + round(title_px * 0.45)
        baseline += subtitle_font.getmetrics()[0]
        for i, text in enumerate(subtitle_lines):
            baseline += _line_pitch(subtitle_font) if i else 0
            rows.append((text, subtitle_font, baseline, False))

    boxes = [font.getbbox(text, anchor="ms") for text, font, _, _ in rows]
    ink_top = min(b[1] + row[2] for b, row in zip(boxes, rows))
    ink_bottom = max(b[3] + row[2] for b, row in zip(boxes, rows))
    left, top, right, bottom = box
    if ink_bottom - ink_top > (bottom - top) * fill:
        return None
    centre_x = (left + right) // 2
    shift = top + (bottom - top - (ink_bottom - ink_top)) // 2 - ink_top
    lines = tuple(_Line(text, font, (centre_x, y + shift), title) for text, font, y, title in rows)
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


def _shadow_extent(title_px: int) -> int:
    """How far a shadow reaches beyond the ink: kept clear inside the safe area."""
    offset, blur = _shadow_geometry(title_px)
    return offset + 2 * blur


def _shadow_geometry(title_px: int) -> tuple[int, int]:
    return max(1, round(title_px * 0.04)), max(1, round(title_px * 0.06))


def _draw_shadow(card: Image.Image, plan: _Plan, ink: _RGB) -> None:
    """A soft shadow (or a soft glow for dark text) under every line, clipped to the safe area."""
    offset, blur = _shadow_geometry(plan.title_size)
    size = card.size
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
    card.paste(_shade(ink), (0, 0), mask)


def _draw_scrim(card: Image.Image, plan: _Plan, ink: _RGB) -> None:
    """Darken (or, under dark text, lighten) the image softly behind the text block.

    This treats the background, not the text, so it may fade out beyond the safe area.
    """
    left, top, right, bottom = plan.layout.ink_box
    pad = round(plan.title_size * 0.6)
    mask = Image.new("L", card.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        (left - pad, top - pad, right + pad, bottom + pad),
        radius=pad,
        fill=round(255 * _SCRIM_OPACITY),
    )
    mask = mask.filter(ImageFilter.GaussianBlur(pad * 0.8))
    card.paste(_shade(ink), (0, 0), mask)


def _shade(ink: _RGB) -> _RGB:
    """The colour that sets ``ink`` off: black behind light text, white behind dark text."""
    return (0, 0, 0) if _luma(ink) >= 128 else (255, 255, 255)


# A background is shown at 768x576; a picture of more than 50 megapixels (a 21 kB PNG can
# declare 13370x13370) would cost over a gigabyte of memory per card to decode and scale.
# JPEGs are decoded at a reduced scale first (draft), so only what is left counts.
MAX_BACKGROUND_PIXELS = 50_000_000


def _too_large(what: str, pixels: int | None) -> str:
    size = f"{what} ({pixels / 1e6:.0f} megapixels)" if pixels else "more than 50 megapixels"
    return (f"the background image is {size}; castkit takes images up to "
            f"{MAX_BACKGROUND_PIXELS // 1_000_000} megapixels: scale it down (a card is 768x576)")


def eight_bit_image(image: Image.Image) -> Image.Image:
    """``image`` with 8-bit channels: a 16-bit grey PNG (Pillow's ``I;16``) scaled down, where
    ``convert`` would clip every level above 255 to white."""
    if image.mode.startswith("I"):
        return image.convert("I").point(lambda level: level * (1 / 256)).convert("L")
    return image


def _open_background(path: Path, size: tuple[int, int] | None) -> Image.Image:
    """The image scaled to cover ``size`` and centre-cropped (shape kept); None just checks it."""
    if symlink_loop(path):
        raise InputError(path, f"background image {LOOP}")
    try:
        require_regular(path)  # Pillow would wait on a FIFO forever, or read a device
    except FileRefused as exc:
        raise InputError(path, f"background image {exc}") from None
    except OSError:
        pass  # said below, as Pillow meets it
    try:
        with warnings.catch_warnings():
            # castkit sets its own limit below; Pillow's raw DecompressionBombWarning is for
            # programmers, not for the person at the keyboard.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            # JPEG: decode at a reduced scale that still covers the card (every byte is still
            # read, so a truncated file fails here, in the check, not halfway through a build).
            image.draft("RGB", size or (1, 1))
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > MAX_BACKGROUND_PIXELS:
                raise InputError(path, _too_large(f"{width}x{height}", width * height))
            image.load()
            image = eight_bit_image(ImageOps.exif_transpose(image))
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
    except UnidentifiedImageError:
        raise InputError(path, "not an image castkit can read (use PNG or JPEG)") from None
    except Image.DecompressionBombError:  # past twice Pillow's limit, refused in Image.open
        raise InputError(path, _too_large("an image", None)) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise InputError(path, f"cannot read the background image: {error}") from None
    if size is None:
        return image
    return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def _mix(a: _RGB, b: _RGB, t: float) -> _RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def _luma(rgb: _RGB) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


def _background_spec(value: str, base: Path) -> _RGB | Path:
    """A colour, or the path of an image: a colour wins, so write ``./navy`` for a file 'navy'."""
    try:
        return parse_color(value)
    except ValueError as error:
        colour_error = error
    path = base / Path(value).expanduser()
    has_folder = "/" in value or "\\" in value
    if path.exists() or has_folder or Path(value).suffix.lower() in _IMAGE_SUFFIXES:
        return path
    raise UsageError(f"background: {colour_error}, or the path of an image file")


def _text_color(style: TitleStyle) -> _RGB:
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
    if symlink_loop(path):
        raise InputError(path, f"font file {LOOP}")
    if not path.exists():
        raise InputError(path, "no such font file")
    if path.is_dir():
        raise InputError(path, "is a folder, not a font file")
    try:
        require_regular(path)  # FreeType would wait on a FIFO forever
    except FileRefused as exc:
        raise InputError(path, f"font file {exc}") from None
    except OSError:
        pass  # said below, as Pillow meets it
    try:
        return _cached_font(str(path), size)
    except PermissionError:
        raise InputError(path, "cannot read the font file: permission denied") from None
    except (OSError, ValueError):
        raise InputError(path, "not a font file Pillow can read (use a .ttf or .otf)") from None


@lru_cache(maxsize=256)
def _cached_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)
