"""Rasters: the frame a profile encodes into (size, rate, pixel shape, pixel format, matrix).

One place knows how seconds become frames and samples and how a picture is fitted into a frame
with its shape kept; DV (``media.dv.DvTarget``) and the web masters (``WebRaster``) only say what
their frame is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction


AUDIO_RATE = 48000
AUDIO_CHANNELS = 2


@dataclass(frozen=True)
class Box:
    """Where a picture lands inside the frame, in the frame's pixels."""

    width: int
    height: int
    x: int
    y: int


class Raster:
    """What a frame is. Subclasses give ``width``, ``height``, ``fps``, ``sar``, ``pix_fmt``,
    ``matrix`` (the colour matrix pictures are converted to) and ``step_x`` (the multiple a
    picture's width and offset keep, for the chroma layout)."""

    width: int
    height: int
    fps: Fraction
    sar: Fraction
    pix_fmt: str
    matrix: str
    step_x: int = 2

    @property
    def yuv_matrix(self) -> str | None:
        """The colour matrix of a YUV frame; None for an RGB one (an image: its pictures go to
        RGB straight from the capture's YUV, which a YUV matrix on the way would only round)."""
        return self.matrix if self.pix_fmt.startswith("yuv") else None

    @property
    def display_size(self) -> tuple[int, int]:
        """The frame in square pixels (768x576 for PAL 4:3): where title cards are drawn."""
        return round(self.width * self.sar), self.height

    def frames(self, seconds: Fraction) -> int:
        """How many frames ``seconds`` last: ``round(seconds * fps)`` (half to even, as Python)."""
        return round(Fraction(seconds) * self.fps)

    def seconds(self, frames: int) -> Fraction:
        return frames / self.fps

    def audio_samples(self, frames: int) -> int:
        """48 kHz samples that cover exactly ``frames`` frames (NTSC: 1601.6 per frame)."""
        return round(frames * AUDIO_RATE / self.fps)

    def fit(self, width: int, height: int, sar: Fraction = Fraction(1)) -> Box:
        """Fit a ``width``x``height`` picture with pixel aspect ``sar`` into the frame, shape kept.

        The picture is as large as the frame allows; the rest is black bars. Sizes and offsets
        are multiples of ``step_x`` horizontally (4 for NTSC DV's 4:1:1 chroma) and of 2
        vertically (4:2:0), and a picture within 4 pixels of filling the frame fills it (no
        one-pixel slivers of black).
        """
        if width <= 0 or height <= 0 or sar <= 0:
            raise ValueError("picture size and aspect must be positive")
        step = self.step_x
        shown = Fraction(width) * sar / height  # displayed aspect of the source
        frame_w, frame_h = self.width, self.height
        # Displayed width of one frame pixel is `self.sar`; a box of w x h pixels shows as w*sar/h.
        exact_w = frame_h * shown / self.sar
        if exact_w <= frame_w:
            box_h = frame_h
            box_w = min(frame_w, _multiple(exact_w, step))
            if frame_w - box_w <= 4:
                box_w = frame_w
        else:
            box_w = frame_w
            box_h = min(frame_h, _multiple(frame_w * self.sar / shown, 2))
            if frame_h - box_h <= 4:
                box_h = frame_h
        box_w, box_h = max(box_w, step), max(box_h, 2)
        x = _multiple(Fraction(frame_w - box_w, 2), step, down=True)
        y = _multiple(Fraction(frame_h - box_h, 2), 2, down=True)
        return Box(box_w, box_h, x, y)


def _multiple(value: Fraction, step: int, down: bool = False) -> int:
    if down:
        return int(value // step) * step
    return round(value / step) * step


# Web masters: frame rate and size limits. Browsers and platforms take up to 60 fps; a frame
# larger than 4K (or smaller than SVT-AV1's 64 lines) is a mistake.
WEB_DEFAULT_FPS = 30
WEB_MAX_FPS = 60
WEB_TITLE_SIZE = (1920, 1080)  # a title card alone, or a recipe without captures
# SVT-AV1 refuses a frame narrower or lower than this ("Source Width must be at least 64"), and
# a title card is not legible on less: no web master is smaller, either way.
WEB_MIN_SIDE = 64
WEB_HEIGHTS = (WEB_MIN_SIDE, 4320)
CHROMA_STEP = 2  # 4:2:0: a web frame's sides are multiples of this (even)

# Images of a cast (issue 26). Narrower than 160 pixels a terminal's text is unreadable.
IMAGE_WIDTHS = (160, 7680)
IMAGE_DEFAULT_MAX_WIDTH = 960  # an animation's width, unless given: the web frame's, at most this
ANIMATED_DEFAULT_FPS = 15
# GIF delays are hundredths of a second and browsers show a delay under 2 as 10: 50 fps at most.
ANIMATED_MAX_FPS = 50
GIF_COLORS = (2, 256)  # a GIF palette's size
# A GIF's lossiness (gifsicle's --lossy, ``media.gifsicle``): 0 exact; at 200 flat colours
# already speckle round text.
GIF_LOSSY = (0, 200)
SPRITE_WIDTH = 160  # a sprite sheet's tiles, unless given: the width seek previews use
SPRITE_COLUMNS = 10


@dataclass(frozen=True)
class WebRaster(Raster):
    """A web master's frame: square pixels, 4:2:0, BT.709, any even size. ``reframe``: the
    frame has an aspect of its own (a vertical or square cast), which each clip is reframed to
    by the camera rather than fitted into with bars."""

    width: int = WEB_TITLE_SIZE[0]
    height: int = WEB_TITLE_SIZE[1]
    fps: Fraction = Fraction(WEB_DEFAULT_FPS)
    reframe: bool = False

    sar = Fraction(1)
    pix_fmt = "yuv420p"
    matrix = "bt709"
    step_x = 2

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width <= 0 or self.height <= 0:
            raise ValueError(f"a web frame needs even, positive sides, not {self.width}x{self.height}")

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height} {_rate(self.fps)} fps"


# Frame aspects an output may name (width:height): vertical and square casts.
FRAME_ASPECTS = ("9:16", "1:1", "4:5")


def _rate(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{float(fps):.3f}"


def even(value: Fraction | float) -> int:
    """The nearest even whole number, at least 2."""
    return max(2, round(Fraction(value) / 2) * 2)


def web_raster(captures: list[tuple[int, int, Fraction, Fraction | None]],
               height: int | None = None, fps: int | None = None,
               aspect: Fraction | None = None) -> WebRaster:
    """The frame of a web master for ``captures`` (each ``(width, height, sar, fps)`` as shown):
    the largest capture's displayed size (even sides), scaled to ``height`` if given; ``fps`` if
    given, else 30, or the highest capture rate if that is higher (at most 60).

    ``aspect`` (width / height, a vertical or square cast): the frame's short side is that
    height (1080x1920 at 9:16 from 1080p captures), unless ``height`` gives the frame's own."""
    if captures:
        w, h, sar, _ = max(captures, key=lambda c: (c[0] * c[2] * c[1], c[1]))
        size = (even(w * sar), even(h))
    else:
        size = WEB_TITLE_SIZE
    if aspect is not None:
        short = size[1]
        size = (short, even(short / aspect)) if aspect <= 1 else (even(short * aspect), short)
    if height is not None:
        size = (even(Fraction(size[0] * height, size[1])), height)
    if fps is None:
        rates = [round(c[3]) for c in captures if c[3]]
        fps = min(WEB_MAX_FPS, max([WEB_DEFAULT_FPS, *rates]))
    return WebRaster(size[0], size[1], Fraction(fps), reframe=aspect is not None)


@dataclass(frozen=True)
class ImageRaster(WebRaster):
    """An image's frame: a web frame's shape, in RGB. A capture is converted from its YUV once,
    straight to the image's size (as a player shows it), and a title card is never YUV: measured
    on a terminal take at 800 px, 44.9 dB against the take scaled to RGB, where the web
    master's 4:2:0 BT.709 picture read back gives 42.7 dB (color edges of the text)."""

    pix_fmt = "rgb24"


def image_raster(web: WebRaster, width: int | None, fps: Fraction | int | None) -> ImageRaster:
    """The frame of an image of the cast whose web frame is ``web``: ``width`` (height to the
    same shape, even), at ``fps`` (else the web frame's rate)."""
    width = width or web.width
    height = even(Fraction(web.height * width, web.width))
    return ImageRaster(width, height, Fraction(fps) if fps else web.fps)


# --- colour matrices -----------------------------------------------------------------------------
# A YUV picture's colour matrix (a probed tag or a raster's ``matrix``, ffmpeg's names; None:
# untagged, which ffmpeg's scaler reads as BT.601) as ffmpeg's ``colorspace`` filter names it,
# for the matrices that filter converts; and the matrices whose coefficients are the same (no
# conversion between them).
_COLORSPACE = {None: "bt470bg", "bt601": "bt470bg", "bt470bg": "bt470bg", "smpte170m": "smpte170m",
               "bt709": "bt709", "fcc": "fcc", "smpte240m": "smpte240m", "bt2020nc": "bt2020ncl"}
_SAME_COEFFICIENTS = {"smpte170m": "bt470bg"}
# The 8-bit pixel formats ``colorspace`` takes as they are (any other is converted first,
# which may change its range: those are left to the scaler, as before). Deeper ones are made
# 8-bit before (``eight_bits``).
_COLORSPACE_FORMATS = frozenset(("yuv420p", "yuv422p", "yuv444p"))
_DEEP_YUV = re.compile(r"(yuv4(?:20|22|44))p(?:9|10|12|14|16)(?:le|be)")


def eight_bits(pix_fmt: str | None) -> str | None:
    """The 8-bit planar format of a deeper planar YUV one (yuv420p10le: yuv420p); any other
    as it is. Every output castkit writes is 8-bit, and ffmpeg's crop with exact=1 at an odd x
    garbles a 10-bit picture (blue came out white, both ffmpegs; a fault campaign): a capture's
    pictures are made 8-bit before any crop (``plan.encode.source_picture``)."""
    deep = _DEEP_YUV.fullmatch(pix_fmt or "")
    return f"{deep[1]}p" if deep else pix_fmt


def same_coefficients(a: str | None, b: str | None) -> bool:
    """Whether two YUV matrices (probed tags or rasters' ``matrix``, ffmpeg's names; None:
    untagged, read as BT.601) have the same coefficients: nothing to convert between them."""
    def family(matrix: str | None) -> str | None:
        name = _COLORSPACE.get(matrix, matrix)
        return _SAME_COEFFICIENTS.get(name, name)

    return family(a) == family(b)


def matrix_conversion(matrix: str | None, pix_fmt: str | None, target: str,
                      color_range: str | None = None, size: tuple[int, int] = (2, 2)) -> dict[str, str] | None:
    """The options of ffmpeg's ``colorspace`` filter that take a YUV picture (``pix_fmt``,
    ``size``) in ``matrix`` to the ``target`` matrix, its range (``color_range``, limited if
    untagged) and size unchanged; None where there is nothing to convert or ``colorspace``
    cannot (an odd width or height, in any pixel format; the scaler then converts, as it does
    an RGB picture).

    Why not the scaler, which converts while it scales: asked to change the matrix between two
    YUV formats, ffmpeg's scaler goes through RGB, on one thread (ffmpeg 9: 8-bit RGB; 5.1:
    16-bit). Measured on 20 s of a 1920x1080 15 fps capture to 1080p BT.709, one thread: 2.1 s
    of CPU with the scaler's conversion, 0.5 s with ``colorspace`` first (decoding alone: 0.4);
    from 4K 1.6 s against 1.2; a 1080p BT.709 take to DV 0.75 s against 0.6. And exact: on
    testsrc2's colours ``colorspace`` is within one level of the conversion computed in floating
    point, the scaler off by 0.9 levels on average, up to 16. The whole build of
    benchmarks/bench_overlays.py's plain clip (60 s of untagged 1080p H.264 to an MP4): 30.0 s
    of CPU before, 26.1 s after (16.0 and 14.0 s wall; best of two, in one run).
    """
    source, wanted = _COLORSPACE.get(matrix), _COLORSPACE.get(target)
    if source is None or wanted is None or pix_fmt not in _COLORSPACE_FORMATS or size[0] % 2 or size[1] % 2:
        return None
    if same_coefficients(matrix, target):
        return None
    kept = "pc" if color_range == "pc" else "tv"
    # The same primaries and transfer in and out: only the matrix changes (castkit converts
    # no gamut, as the scaler did not); the filter needs them named, untagged or not.
    return {"ispace": source, "space": wanted, "iprimaries": "bt709", "primaries": "bt709",
            "itrc": "bt709", "trc": "bt709", "irange": kept, "range": kept}
