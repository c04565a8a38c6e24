"""What DV is: the one place that knows PAL and NTSC frame sizes, rates and pixel shapes.

Numbers are IEC 61834 / SMPTE 314M DV25 as ffmpeg's dvvideo codec writes and reads them:
ffmpeg's DV decoder reports the same sample aspects, so a round trip is checkable.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

STANDARDS = ("pal", "ntsc")
TARGET_NAMES = tuple(f"{standard}-dv" for standard in STANDARDS)  # as recipes name them
ASPECTS = ("4:3", "16:9")
AUDIO_RATE = 48000
AUDIO_CHANNELS = 2

_FRAME = {"pal": (720, 576), "ntsc": (720, 480)}
_FPS = {"pal": Fraction(25), "ntsc": Fraction(30000, 1001)}
# 4:2:0 for PAL DV25, 4:1:1 for NTSC DV25: the dvvideo encoder refuses anything else.
_PIX_FMT = {"pal": "yuv420p", "ntsc": "yuv411p"}
_SAR = {
    ("pal", "4:3"): Fraction(16, 15),
    ("pal", "16:9"): Fraction(64, 45),
    ("ntsc", "4:3"): Fraction(8, 9),
    ("ntsc", "16:9"): Fraction(32, 27),
}
_CONTAINERS = {".dv": "dv", ".avi": "avi"}
DV_SUFFIXES = tuple(_CONTAINERS)


@dataclass(frozen=True)
class Box:
    """Where a picture lands inside the DV frame, in DV pixels."""

    width: int
    height: int
    x: int
    y: int


@dataclass(frozen=True)
class DvTarget:
    """A DV flavour: ``DvTarget("pal", "4:3")`` is the seed's ``-target pal-dv``."""

    standard: str = "pal"
    aspect: str = "4:3"

    def __post_init__(self) -> None:
        if self.standard not in STANDARDS:
            raise ValueError(f"unknown standard {self.standard!r}: use pal or ntsc")
        if self.aspect not in ASPECTS:
            raise ValueError(f"unknown aspect {self.aspect!r}: use 4:3 or 16:9")

    @property
    def name(self) -> str:
        return f"{self.standard.upper()} DV {self.aspect}"

    @property
    def width(self) -> int:
        return _FRAME[self.standard][0]

    @property
    def height(self) -> int:
        return _FRAME[self.standard][1]

    @property
    def fps(self) -> Fraction:
        return _FPS[self.standard]

    @property
    def pix_fmt(self) -> str:
        return _PIX_FMT[self.standard]

    @property
    def sar(self) -> Fraction:
        """Sample (pixel) aspect ratio: how wide one DV pixel is shown, relative to its height."""
        return _SAR[(self.standard, self.aspect)]

    @property
    def display_aspect(self) -> Fraction:
        return Fraction(*map(int, self.aspect.split(":")))

    @property
    def display_size(self) -> tuple[int, int]:
        """The frame in square pixels (768x576 for PAL 4:3): where title cards are drawn."""
        return round(self.height * self.display_aspect), self.height

    @property
    def frame_bytes(self) -> int:
        """Size of one DV25 frame on disk: 12 (PAL) or 10 (NTSC) DIF sequences of 12000 bytes."""
        return 144000 if self.standard == "pal" else 120000

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
        are multiples of 4 horizontally (4:1:1 chroma in NTSC) and of 2 vertically (4:2:0), and a
        picture within 4 pixels of filling the frame fills it (no one-pixel slivers of black).
        """
        if width <= 0 or height <= 0 or sar <= 0:
            raise ValueError("picture size and aspect must be positive")
        shown = Fraction(width) * sar / height  # displayed aspect of the source
        frame_w, frame_h = self.width, self.height
        # Displayed width of one DV pixel is `self.sar`; a box of w x h DV pixels shows as w*sar/h.
        exact_w = frame_h * shown / self.sar
        if exact_w <= frame_w:
            box_h = frame_h
            box_w = min(frame_w, _multiple(exact_w, 4))
            if frame_w - box_w <= 4:
                box_w = frame_w
        else:
            box_w = frame_w
            box_h = min(frame_h, _multiple(frame_w * self.sar / shown, 2))
            if frame_h - box_h <= 4:
                box_h = frame_h
        box_w, box_h = max(box_w, 4), max(box_h, 2)
        x = _multiple(Fraction(frame_w - box_w, 2), 4, down=True)
        y = _multiple(Fraction(frame_h - box_h, 2), 2, down=True)
        return Box(box_w, box_h, x, y)


def _multiple(value: Fraction, step: int, down: bool = False) -> int:
    if down:
        return int(value // step) * step
    return round(value / step) * step


def container_for(suffix: str) -> str | None:
    """The ffmpeg muxer for an output suffix (``.dv`` raw DV, ``.avi`` DV type 2), or None."""
    return _CONTAINERS.get(suffix.lower())


def standard_of(name: str) -> str | None:
    """``pal-dv``/``ntsc-dv`` (recipes) to ``pal``/``ntsc``; None for any other name."""
    name = name.lower()
    return name.removesuffix("-dv") if name in TARGET_NAMES else None
