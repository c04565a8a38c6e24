"""Overlays drawn with Pillow (issue 30): a callout, a highlight box, a spotlight's dimmed
surround, keycap chips, a logo. Each is an RGBA picture in the capture's own pixels, with where
its top left corner goes (``layout``, cheap: fonts measured, nothing drawn), and the picture
itself (``draw``), which the encode composites onto the capture before its crop, camera and
scaling (plan.overlays), so that it follows them. A redaction is no picture: ffmpeg blurs the
capture's own pixels there.

Sizes are relative to the capture's height unless the recipe gives them, so that a callout reads
alike on a 1080p and a 720p capture: text 1/30 of the height (36 px at 1080p)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from castkit.base.colors import parse_color
from castkit.errors import InputError
from castkit.recipe.model import (
    Crop, DEFAULT_POSITIONS, FRAME_GRADIENT, FRAME_GRADIENT_COLORS, FrameStyle, Overlay, WEBCAM_FULL,
)
from castkit.titles.cards import _load_font, eight_bit_image, lacking_glyphs, SUBTITLE_FONT, TITLE_FONT
from castkit.titles.job import draw_once

TEXT_HEIGHT = 1 / 30  # a callout's text, of the capture's height
KEYS_HEIGHT = 1 / 26  # keycap text
MIN_TEXT = 10  # pixels
MARGIN = 1 / 30  # of the height: between a named position and the capture's edge
EASE_MASK_SCALE = 3  # a webcam's eased mask is drawn this many times larger, then reduced (smooth edges)
BOX_LINE = 1 / 180  # a highlight's line, of the height (6 px at 1080p), at least 2 px
SPOTLIGHT_DIM = 0.6  # the surround keeps 40% of its light
CALLOUT_COLORS = ("#ffe066", "#111111")  # background, text
KEYS_COLORS = ("#2b2d31", "#ffffff")
BOX_COLOR = "#ff3b30"
SHADOW = (0, 0, 0, 90)


@dataclass(frozen=True)
class Placement:
    """Where an overlay's picture goes on the capture: its top left corner and size."""

    x: int
    y: int
    width: int
    height: int


def layout(overlay: Overlay, capture: tuple[int, int], base: Path = Path(".")) -> Placement:
    """Where ``overlay`` goes on a capture of ``capture`` (width, height) pixels. Raises
    InputError for a font or image that cannot be read, or a font that cannot draw the text."""
    width, height = capture
    if overlay.kind == "spotlight":
        return Placement(0, 0, width, height)
    if overlay.kind in ("box", "redact"):
        r = overlay.region
        assert r is not None
        line = _line(height) if overlay.kind == "box" else 0
        x0, y0 = max(0, r.x - line), max(0, r.y - line)
        x1, y1 = min(width, r.x + r.width + line), min(height, r.y + r.height + line)
        return Placement(x0, y0, max(1, x1 - x0), max(1, y1 - y0))
    w, h = _size(overlay, height, base)
    position = overlay.position or DEFAULT_POSITIONS[overlay.kind]
    if isinstance(position, tuple):
        return Placement(position[0], position[1], w, h)
    margin = round(height * MARGIN)
    horizontal = ("left" if "left" in position else "right" if "right" in position else "centre")
    vertical = ("top" if "top" in position else "bottom" if "bottom" in position else "centre")
    x = {"left": margin, "right": width - w - margin, "centre": (width - w) // 2}[horizontal]
    y = {"top": margin, "bottom": height - h - margin, "centre": (height - h) // 2}[vertical]
    return Placement(x, y, w, h)


def draw(overlay: Overlay, capture: tuple[int, int], base: Path = Path(".")) -> Image.Image:
    """The overlay's RGBA picture, of its ``layout``'s size."""
    place = layout(overlay, capture, base)
    size = (place.width, place.height)
    if overlay.kind == "image":
        assert overlay.image is not None
        with Image.open(overlay.image) as image:
            return eight_bit_image(image).convert("RGBA")
    picture = Image.new("RGBA", size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(picture)
    if overlay.kind == "spotlight":
        r = overlay.region
        assert r is not None
        picture.paste((0, 0, 0, round(255 * SPOTLIGHT_DIM)), (0, 0, *size))
        pen.rectangle((r.x, r.y, r.x + r.width - 1, r.y + r.height - 1), fill=(0, 0, 0, 0))
        return picture
    if overlay.kind == "box":
        r = overlay.region
        assert r is not None
        line = _line(capture[1])
        # The line lies outside the region (the region itself stays visible), clipped at the
        # capture's edges.
        left, top = r.x - line - place.x, r.y - line - place.y
        pen.rounded_rectangle((left, top, left + r.width + 2 * line - 1, top + r.height + 2 * line - 1),
                              radius=line * 2, outline=_rgba(overlay.style.color or BOX_COLOR),
                              width=line)
        return picture
    font, pad_x, pad_y, radius = _text_metrics(overlay, capture[1], base)
    fill, ink = _colours(overlay)
    if overlay.kind == "text":
        assert overlay.text is not None
        shadow = max(1, radius // 3)
        pen.rounded_rectangle((shadow, shadow, size[0] - 1, size[1] - 1), radius=radius, fill=SHADOW)
        pen.rounded_rectangle((0, 0, size[0] - 1 - shadow, size[1] - 1 - shadow), radius=radius, fill=fill)
        pen.multiline_text((pad_x, pad_y), overlay.text, font=font, fill=ink, spacing=font.size // 4)
        return picture
    x = 0
    for key in _keys(overlay.text or ""):
        w, _ = _text_size(font, key)
        chip = w + 2 * pad_x
        pen.rounded_rectangle((x, 0, x + chip - 1, size[1] - 1), radius=radius, fill=fill,
                              outline=_rgba("#8a8f98"), width=max(1, font.size // 16))
        pen.text((x + pad_x, pad_y), key, font=font, fill=ink)
        x += chip + pad_x
    return picture


# --- overlays drawn at an output's resolution ----------------------------------------------------
def _scaled(overlay: Overlay, capture: tuple[int, int], factor: float) -> tuple[Overlay, tuple[int, int]]:
    """The overlay as it would be on a capture ``factor`` times larger: its regions, text size
    and corner given larger (sizes that default to the capture's height follow it)."""
    def crop(r: Crop | None) -> Crop | None:
        return None if r is None else Crop(round(r.x * factor), round(r.y * factor), max(1, round(r.width * factor)),
                                           max(1, round(r.height * factor)))
    position = overlay.position
    if isinstance(position, tuple):
        position = (round(position[0] * factor), round(position[1] * factor))
    style = overlay.style
    if style.size is not None:
        style = replace(style, size=max(1, round(style.size * factor)))
    big = replace(overlay, region=crop(overlay.region), position=position, style=style)
    return big, (max(1, round(capture[0] * factor)), max(1, round(capture[1] * factor)))


def scaled_size(overlay: Overlay, capture: tuple[int, int], scale: tuple[float, float],
                base: Path = Path(".")) -> tuple[int, int]:
    """The size of the overlay's picture drawn for an output showing ``scale`` (x, y) of its
    pixels per capture pixel, without its border."""
    sx, sy = scale
    if overlay.kind == "image":
        place = layout(overlay, capture, base)
        w, h = place.width, place.height
        return max(1, round(w * sx)), max(1, round(h * sy))
    big, size = _scaled(overlay, capture, sy)
    place = layout(big, size, base)
    return max(1, round(place.width * sx / sy)), place.height


def draw_scaled(overlay: Overlay, capture: tuple[int, int], scale: tuple[float, float], border: int,
                base: Path = Path(".")) -> Image.Image:
    """The overlay's picture drawn at an output's own resolution (``scale``: output pixels per
    capture pixel, x and y): text and lines drawn at their size there, not resized from the
    capture's (only a bitmap image, or the width for non-square output pixels, is resampled,
    once); with ``border`` transparent pixels round it."""
    width, height = scaled_size(overlay, capture, scale, base)
    if overlay.kind == "image":
        picture = draw(overlay, capture, base)
    else:
        picture = draw(*_scaled(overlay, capture, scale[1]), base)
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.LANCZOS)
    if not border:
        return picture
    framed = Image.new("RGBA", (width + 2 * border, height + 2 * border), (0, 0, 0, 0))
    framed.paste(picture, (border, border))
    return framed


def check_overlay(overlay: Overlay, capture: tuple[int, int], base: Path = Path(".")) -> str | None:
    """What stops ``overlay`` from being drawn on that capture (a font that lacks a character,
    an unreadable image), or None."""
    try:
        layout(overlay, capture, base)
        if overlay.kind in ("text", "keys"):
            font = _text_metrics(overlay, capture[1], base)[0]
            missing = lacking_glyphs(font, overlay.text or "")
            if missing:
                return f"the font {_font_path(overlay).name} cannot draw {missing!r}"
    except InputError as exc:
        return f"{exc.path.name}: {exc.reason}"
    return None


@dataclass(frozen=True)
class OverlayJob:
    """Draw an overlay's PNG into the cache just before the encode that reads it (no ffmpeg);
    several outputs of one clip share it."""

    label: str
    overlay: Overlay
    capture: tuple[int, int]
    base: Path
    output: Path
    # Drawn for an output (draw_scaled): its pixels per capture pixel and a transparent border;
    # None: on the capture, in its own pixels.
    scale: tuple[float, float] | None = None
    border: int = 0

    portable = True  # a farm's worker draws it where it encodes the clip

    def reads(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.overlay.image, self.overlay.style.font) if p is not None)

    def render(self) -> None:
        if self.scale is None:
            draw_once(self.output, lambda: draw(self.overlay, self.capture, self.base))
        else:
            scale = self.scale
            draw_once(self.output, lambda: draw_scaled(self.overlay, self.capture, scale, self.border, self.base))

    def shell(self) -> str:
        o = self.overlay
        what = o.text if o.text is not None else o.image.name if o.image is not None else o.region
        return f"# castkit draws the {o.kind} overlay ({what}) into {self.output}"


def _line(height: int) -> int:
    return max(2, round(height * BOX_LINE))


def _keys(text: str) -> list[str]:
    """``Ctrl+Shift+T`` -> its keys (a ``+`` key itself written ``Ctrl++``)."""
    parts, current = [], ""
    for char in text:
        if char == "+" and current:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [p.strip() or p for p in parts]


def _font_path(overlay: Overlay) -> Path:
    return overlay.style.font or (TITLE_FONT if overlay.kind == "keys" else SUBTITLE_FONT)


def _text_metrics(overlay: Overlay, height: int, base: Path) -> tuple[ImageFont.FreeTypeFont, int, int, int]:
    """The font, horizontal and vertical padding, and corner radius of a callout or keycap."""
    share = TEXT_HEIGHT if overlay.kind == "text" else KEYS_HEIGHT
    px = overlay.style.size or max(MIN_TEXT, round(height * share))
    font = _load_font(_font_path(overlay), px)
    return font, round(px * 0.6), round(px * 0.4), round(px * 0.45)


def _text_size(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, int]:
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.multiline_textbbox((0, 0), text, font=font, spacing=font.size // 4)
    ascent, descent = font.getmetrics()
    lines = text.count("\n") + 1
    return max(1, right), max(bottom, lines * (ascent + descent) + (lines - 1) * (font.size // 4))


def _size(overlay: Overlay, height: int, base: Path) -> tuple[int, int]:
    if overlay.kind == "image":
        assert overlay.image is not None
        return _image_size(overlay.image)
    font, pad_x, pad_y, radius = _text_metrics(overlay, height, base)
    if overlay.kind == "text":
        w, h = _text_size(font, overlay.text or "")
        shadow = max(1, radius // 3)
        return w + 2 * pad_x + shadow, h + 2 * pad_y + shadow
    keys = _keys(overlay.text or "")
    widths = [_text_size(font, key)[0] + 2 * pad_x for key in keys]
    ascent, descent = font.getmetrics()
    return sum(widths) + pad_x * (len(widths) - 1), ascent + descent + 2 * pad_y


def _image_size(path: Path) -> tuple[int, int]:
    if not path.is_file():
        raise InputError(path, "no such image file")
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                raise InputError(path, f"is {image.format or 'not an image'}, not a PNG")
            return image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(path, f"cannot be read as a PNG ({exc})") from None


def _colours(overlay: Overlay) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    fill, ink = CALLOUT_COLORS if overlay.kind == "text" else KEYS_COLORS
    return _rgba(overlay.style.background or fill), _rgba(overlay.style.color or ink)


def _rgba(color: str) -> tuple[int, int, int, int]:
    return (*parse_color(color), 255)


# --- the styled frame (issue 30) ---------------------------------------------------------------
FRAME_SHADOW_OPACITY = 0.45
FRAME_SHADOW_BLUR = 1 / 45  # of the frame's height (24 px at 1080 lines)


def frame_box(style: FrameStyle, size: tuple[int, int]) -> Placement:
    """Where the picture goes in a frame of ``size``: inset by ``padding`` of each side, the
    picture's aspect kept, on even pixels (4:2:0)."""
    width, height = size
    scale = 1 - 2 * float(style.padding)
    w, h = max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))
    x, y = (width - w) // 2, (height - h) // 2
    return Placement(x - x % 2, y - y % 2, w, h)


def frame_radius(style: FrameStyle, size: tuple[int, int]) -> int:
    return round(style.radius * size[1] / 1080)


def check_frame(style: FrameStyle) -> str | None:
    """What stops a frame's background from being drawn (an image that cannot be read), or None."""
    if style.background == FRAME_GRADIENT:
        return None
    try:
        parse_color(style.background)
        return None
    except ValueError:
        pass
    path = Path(style.background)
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return f"frame background {path.name}: cannot be read as an image ({exc})"
    return None


def draw_frame(style: FrameStyle, size: tuple[int, int], base: Path = Path(".")) -> Image.Image:
    """The frame's picture, of ``size``: its background with the picture's shadow, opaque, and a
    transparent rounded window where the picture shows through."""
    width, height = size
    box = frame_box(style, size)
    radius = frame_radius(style, size)
    if style.background == FRAME_GRADIENT:
        picture = _gradient(size, *FRAME_GRADIENT_COLORS)
    else:
        try:
            picture = Image.new("RGBA", size, _rgba(style.background))
        except ValueError:
            with Image.open(style.background) as image:  # covers the frame, centred
                image = eight_bit_image(image).convert("RGBA")
                scale = max(width / image.width, height / image.height)
                image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                     Image.LANCZOS)
                left, top = (image.width - width) // 2, (image.height - height) // 2
                picture = image.crop((left, top, left + width, top + height))
    rect = (box.x, box.y, box.x + box.width - 1, box.y + box.height - 1)
    if style.shadow:
        blur = max(1, round(height * FRAME_SHADOW_BLUR))
        shadow = Image.new("L", size, 0)
        drop = blur // 2
        ImageDraw.Draw(shadow).rounded_rectangle((rect[0], rect[1] + drop, rect[2], rect[3] + drop),
                                                 radius=radius, fill=round(255 * FRAME_SHADOW_OPACITY))
        shadow = shadow.filter(ImageFilter.GaussianBlur(blur))
        picture = Image.composite(Image.new("RGBA", size, (0, 0, 0, 255)), picture, shadow)
    window = Image.new("L", size, 255)
    ImageDraw.Draw(window).rounded_rectangle(rect, radius=radius, fill=0)
    picture.putalpha(window)
    return picture


def _gradient(size: tuple[int, int], start: str, end: str) -> Image.Image:
    """A diagonal blend from ``start`` (top left) to ``end`` (bottom right)."""
    a, b = parse_color(start), parse_color(end)
    down = Image.linear_gradient("L").resize(size, Image.BILINEAR)  # 0 at the top, 255 at the bottom
    across = Image.linear_gradient("L").rotate(90, expand=True).resize(size, Image.BILINEAR)
    diagonal = Image.blend(down, across, 0.5)
    return Image.composite(Image.new("RGBA", size, (*b, 255)), Image.new("RGBA", size, (*a, 255)), diagonal)


@dataclass(frozen=True)
class FrameJob:
    """Draw an output's frame picture into the cache before the encodes that read it."""

    label: str
    style: FrameStyle
    size: tuple[int, int]
    base: Path
    output: Path

    portable = True

    def reads(self) -> tuple[Path, ...]:
        return ()

    def render(self) -> None:
        draw_once(self.output, lambda: draw_frame(self.style, self.size, self.base))

    def shell(self) -> str:
        return f"# castkit draws the frame ({self.style.background}) into {self.output}"
# --- end of the styled frame --------------------------------------------------------------------


# --- the webcam corner (issue 30) --------------------------------------------------------------
def webcam_box(look: tuple[str, Fraction, str], camera: tuple[int, int], size: tuple[int, int],
               sar: float) -> Placement:
    """Where the camera goes in an output frame of ``size`` stored pixels (``sar`` their
    shape) in a layout (position, size, shape): ``size`` of the height, a square (circle,
    square) or the camera's aspect (rounded), a margin of 1/30 of the height from its corner,
    on even pixels; or the whole frame (``full``)."""
    position, share, shape = look
    width, height = size
    if position == WEBCAM_FULL:
        return Placement(0, 0, width, height)
    h = max(2, 2 * round(height * float(share) / 2))
    aspect = 1.0 if shape in ("circle", "square") else camera[0] / camera[1]
    w = min(width, max(2, 2 * round(h * aspect / sar / 2)))
    margin = round(height * MARGIN)
    x = margin if "left" in position else width - w - margin
    y = margin if "top" in position else height - h - margin
    return Placement(x - x % 2, y - y % 2, w, h)


def draw_webcam_mask(shape: str, size: tuple[int, int]) -> Image.Image:
    """The camera's alpha: an ellipse filling ``size`` (a circle on screen), or a rectangle with
    corners rounded by a sixth of its height."""
    mask = Image.new("L", size, 0)
    pen = ImageDraw.Draw(mask)
    if shape == "circle":
        pen.ellipse((0, 0, size[0] - 1, size[1] - 1), fill=255)
    else:
        pen.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=max(1, size[1] // 6), fill=255)
    return mask


@dataclass(frozen=True)
class MaskJob:
    """Draw a webcam's mask into the cache before the encodes that read it."""

    label: str
    shape: str
    size: tuple[int, int]
    output: Path

    portable = True

    def reads(self) -> tuple[Path, ...]:
        return ()

    def render(self) -> None:
        draw_once(self.output, lambda: draw_webcam_mask(self.shape, self.size))

    def shell(self) -> str:
        return f"# castkit draws the webcam's {self.shape} mask ({self.size[0]}x{self.size[1]}) into {self.output}"
def draw_ease_mask(box: tuple[float, float, float, float], radius: float, size: tuple[int, int],
                   sar: float) -> Image.Image:
    """A camera's alpha on a canvas of ``size`` stored pixels during a change of layout: the
    rounded rectangle ``box`` (x, y, width, height, fractions allowed) whose corners' radius
    is ``radius`` of its smaller side as shown, drawn larger and reduced (smooth sub-pixel edges)."""
    k = EASE_MASK_SCALE
    x, y, w, h = box
    big = Image.new("L", (max(1, round(size[0] * sar * k)), size[1] * k), 0)
    shown = (w * sar * k, h * k)
    ImageDraw.Draw(big).rounded_rectangle(
        (x * sar * k, y * k, x * sar * k + shown[0] - 1, y * k + shown[1] - 1),
        radius=max(0.0, radius * min(shown)), fill=255)
    return big.resize(size, Image.BOX)


@dataclass(frozen=True)
class EaseMaskJob:
    """Draw a change of layout's masks, one PNG a frame (``prefix`` + frame number + ``.png``),
    before the encodes that read them; ``frames``: (number, (x, y, width, height) on the
    canvas, radius)."""

    label: str
    frames: tuple[tuple[int, tuple[float, float, float, float], float], ...]
    size: tuple[int, int]
    sar: float
    prefix: Path

    portable = True

    def reads(self) -> tuple[Path, ...]:
        return ()

    def render(self) -> None:
        for number, box, radius in self.frames:
            draw_once(Path(f"{self.prefix}{number}.png"), lambda: draw_ease_mask(box, radius, self.size, self.sar))

    def shell(self) -> str:
        return (f"# castkit draws the webcam's {len(self.frames)} masks of a change of layout into "
                f"{self.prefix}N.png")
# --- end of the webcam corner -------------------------------------------------------------------
