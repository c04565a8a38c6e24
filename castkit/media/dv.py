"""What DV is: the one place that knows PAL and NTSC frame sizes, rates and pixel shapes.

Numbers are IEC 61834 / SMPTE 314M DV25 as ffmpeg's dvvideo codec writes and reads them:
ffmpeg's DV decoder reports the same sample aspects, so a round trip is checkable.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from castkit.media.raster import Raster


STANDARDS = ("pal", "ntsc")
TARGET_NAMES = tuple(f"{standard}-dv" for standard in STANDARDS)  # as recipes name them
ASPECTS = ("4:3", "16:9")

_FRAME = {"pal": (720, 576), "ntsc": (720, 480)}
# One DV25 frame on disk: 12 (PAL) or 10 (NTSC) DIF sequences of 12000 bytes.
FRAME_BYTES = {"pal": 144000, "ntsc": 120000}
_FPS = {"pal": Fraction(25), "ntsc": Fraction(30000, 1001)}
# 4:2:0 for PAL DV25, 4:1:1 for NTSC DV25: the dvvideo encoder refuses anything else.
_PIX_FMT = {"pal": "yuv420p", "ntsc": "yuv411p"}
_SAR = {
    ("pal", "4:3"): Fraction(16, 15),
    ("pal", "16:9"): Fraction(64, 45),
    ("ntsc", "4:3"): Fraction(8, 9),
    ("ntsc", "16:9"): Fraction(32, 27),
}


@dataclass(frozen=True)
class DvTarget(Raster):
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

    # DV is standard definition: BT.601 (which is also what libdv and Kino assume).
    matrix = "bt601"

    step_x = 4  # NTSC's 4:1:1 chroma; PAL keeps the same layout so both frame alike

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
        return FRAME_BYTES[self.standard]


def standard_of(name: str) -> str | None:
    """``pal-dv``/``ntsc-dv`` (recipes) to ``pal``/``ntsc``; None for any other name."""
    name = name.lower()
    return name.removesuffix("-dv") if name in TARGET_NAMES else None


def fps_of_frame(frame_bytes: int) -> Fraction | None:
    """The frame rate of DV25 frames of ``frame_bytes`` bytes (PAL or NTSC); None for any other."""
    for standard, size in FRAME_BYTES.items():
        if size == frame_bytes:
            return _FPS[standard]
    return None


# The dv muxer's 48 kHz NTSC sound: samples in each frame of a 5-frame group (SMPTE 314M),
# counted from each file's first frame.
NTSC_DV_PATTERN = (1600, 1602, 1602, 1602, 1602)


def ntsc_phase(frame: int) -> int:
    """Where frame ``frame`` of an NTSC DV file falls in the 5-frame sound pattern."""
    return frame % len(NTSC_DV_PATTERN)


def dv_samples(frames: int) -> int:
    """Samples the dv muxer puts into the first ``frames`` frames of an NTSC file."""
    whole, rest = divmod(frames, len(NTSC_DV_PATTERN))
    return whole * sum(NTSC_DV_PATTERN) + sum(NTSC_DV_PATTERN[:rest])
