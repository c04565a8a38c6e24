"""Posters and sprite sheets: single pictures of the cast, as the web master frames them.

- A **poster** (``{path: cast.jpg, at: 12.5}``, or ``at: title``) is the cast's frame at that
  time, at the web frame's size (or ``width``) and rate, so that it is the web master's frame
  at the same time. Only the segment that holds it is encoded and read.
- A **sprite sheet** (``{path: cast-sprites.jpg, every: 5}``) is a grid of small frames, one
  every ``every`` seconds from 0, ``SPRITE_COLUMNS`` a row, with a WebVTT index beside it
  (``cast-sprites.vtt``) whose cues point at the tiles (``cast-sprites.jpg#xywh=x,y,w,h``):
  what video players read for seek previews.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Sequence

from castkit.base.jobs import Job, file_url
from castkit.media.ffmpeg import compile_argv, Ffmpeg, ffmpeg_module
from castkit.media.raster import SPRITE_COLUMNS
from castkit.outputs.images import cast_pictures, ImageProfile, to_rgb

# JPEG at ffmpeg's best quantiser (2): text keeps its edges. PNG and WebP are lossless.
JPEG_QUALITY = 2


def still_options(output: Path) -> dict[str, Any]:
    """The image2 muxer's encoder for a still by its suffix (``-update 1``: one file, its name
    taken literally, never as a ``%d`` pattern)."""
    suffix = output.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        # 4:4:4, full range, BT.601: what JFIF decoders assume.
        codec = {"vcodec": "mjpeg", "q:v": JPEG_QUALITY, "pix_fmt": "yuvj444p"}
    elif suffix == ".webp":
        codec = {"vcodec": "libwebp", "lossless": 1}
    else:
        codec = {"vcodec": "png", "pix_fmt": "rgb24"}
    return {"f": "image2", "update": 1, "frames:v": 1, **codec}


@dataclass(frozen=True)
class PosterProfile(ImageProfile):
    label: ClassVar[str] = "poster"

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str, frame: int = 0) -> Job:
        """The cast's ``frame`` (counted from 0), read from the one segment that holds it."""
        part, local = part_holding(parts, frame)
        video, list_file, listing = cast_pictures([part], output)
        video = to_rgb(video.filter("select", f"eq(n,{local})"))
        out = ff_output(video, output)
        return Job(label, tuple(compile_argv(out, ffmpeg)), output, 1, (part,),
                   ((list_file, listing),))


def part_holding(parts: Sequence[tuple[Path, int]], frame: int) -> tuple[Path, int]:
    """The segment holding the cast's ``frame``, and the frame's number in it."""
    at = 0
    for path, frames in parts:
        if frame < at + frames:
            return path, frame - at
        at += frames
    raise ValueError(f"frame {frame} is past the cast's {at} frames")


def ff_output(video: Any, output: Path) -> Any:
    return ffmpeg_module().output(video, file_url(output), **still_options(output))


@dataclass(frozen=True)
class SpriteProfile(ImageProfile):
    every: Fraction = Fraction(5)  # seconds between tiles

    label: ClassVar[str] = "sprite sheet"

    @property
    def step(self) -> int:
        """Frames between tiles (at least one)."""
        return max(1, self.raster.frames(self.every))

    def tiles(self, frames: int) -> tuple[int, int, int]:
        """(tiles, columns, rows) of the sheet of a cast of ``frames`` frames."""
        count = math.ceil(frames / self.step)
        columns = min(count, SPRITE_COLUMNS)
        return count, columns, math.ceil(count / columns)

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str) -> Job:
        total = sum(frames for _, frames in parts)
        _, columns, rows = self.tiles(total)
        video, list_file, listing = cast_pictures([path for path, _ in parts], output)
        video = to_rgb(video.filter("select", f"not(mod(n,{self.step}))"))
        video = video.filter("tile", f"{columns}x{rows}")
        out = ff_output(video, output)
        return Job(label, tuple(compile_argv(out, ffmpeg)), output, total,
                   tuple(path for path, _ in parts), ((list_file, listing),))

    def index(self, frames: int, sheet: Path) -> str:
        """The WebVTT seek-preview index of the sheet (named as the page beside it links it)."""
        count, columns, _ = self.tiles(frames)
        w, h = self.raster.width, self.raster.height
        fps = self.raster.fps
        lines = ["WEBVTT", ""]
        for k in range(count):
            start, end = k * self.step, min((k + 1) * self.step, frames)
            x, y = (k % columns) * w, (k // columns) * h
            lines += [f"{vtt_time(start / fps)} --> {vtt_time(end / fps)}",
                      f"{sheet.name}#xywh={x},{y},{w},{h}", ""]
        return "\n".join(lines)


def vtt_time(seconds: Fraction) -> str:
    millis = round(Fraction(seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def index_path(sheet: Path) -> Path:
    return sheet.with_suffix(".vtt")
