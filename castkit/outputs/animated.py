"""Animated images for READMEs and pull requests: GIF, animated WebP and APNG.

Each is the cast's picture (``images``) with every picture that repeats the one before it
written once, for as long as it shows: a screencast is mostly still, and a 10-second still
terminal is one frame. Measured by hand on a 30 s 1280x800 terminal take (typing with pauses,
800 px wide, 15 fps; ffmpeg 5.1 and 9.0 alike; see README and benchmarks/bench_gif.py):

- **Repeats**: ``mpdecimate`` with a small tolerance (no 8x8 block changing by more than 4
  levels a pixel on average): a recorder's compression noise on a still screen is not a new
  picture (on a VP8 take it halved the GIF), while a typed character, a cursor or a hover
  shade changes blocks by far more. The tolerance holds each band of 32 rows on its own
  (``BAND_ROWS``): a band keeps its picture until it changes beyond it, and the image shows a
  new picture when any band does. Held whole, the frame of each typed character also carried
  whatever noise had built up elsewhere since (x264 refining a still status bar after each
  keyframe), and covered every row down to it: on the H.264 take with ffmpeg 5.1, 21 of the
  GIF's 122 frames were full-width and half its bytes; with bands, 0.35x the plain GIF instead
  of 0.66x at 256 colours, 0.24x instead of 0.51x at ``colors: 80, lossy: 60``, and no frame
  more than the tolerance from the take. The cast's last picture is always kept, so that the
  image lasts exactly as long as the cast (GIF and APNG take each frame's delay from the next
  frame's time, and the last one's from ``final_delay``: one frame).
- **GIF palette**: one for the whole cast, from its distinct pictures (``palettegen``
  ``stats_mode=full`` over them: a still counts once, however long it holds), and
  ``paletteuse`` without dithering, changes only inside the rectangle that changed
  (``diff_mode=rectangle``): flat UI colours and text map exactly, and no dither pattern
  crawls over the still parts. Sierra dithering (ffmpeg's default) cost 16 dB of PSNR and 18%
  more bytes; Bayer 4 dB for nothing in size; ``stats_mode=diff`` 1% more bytes.
- **gifsicle** (``media.gifsicle``) then re-encodes ffmpeg's GIF: ffmpeg starts every
  frame's codes at 9 bits, gifsicle at what the frame's colours need, the palette sorted by use
  (4% smaller, the same pixels); ``lossy: N`` lets its LZW absorb small errors (a docs GIF:
  ``colors: 80, lossy: 60`` is 0.13-0.39x a plain single-pass GIF at 0.6-1.8 dB more PSNR).
- **WebP**: libwebp's animation encoder merges exact repeats itself and needs a constant rate
  to time the last frame, so it gets the distinct pictures back at the image's rate (each
  repeated exactly). Lossless by default (text stays exact); ``quality: N`` makes it lossy.
- **APNG**: full colour, lossless.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Sequence

from castkit.base.files import partial_path, run_file_path
from castkit.base.jobs import Job, file_url
from castkit.errors import WorkError
from castkit.media.ffmpeg import compile_argv, Ffmpeg, ffmpeg_module
from castkit.media.gifsicle import find_gifsicle, Gifsicle, optimise_argv
from castkit.media.pictures import distinct
from castkit.outputs.images import burned_in, cast_pictures, ImageProfile, to_rgb

# mpdecimate's thresholds for a new picture (see the module's docstring): the sum of absolute
# differences of an 8x8 block (64 pixels), and the share of blocks above LOW.
REPEAT_HIGH = 64 * 4
REPEAT_LOW = 64 * 2
REPEAT_SHARE = 0.33
# The tolerance applies to each band of BAND_ROWS rows on its own (at most MAX_BANDS of them):
# see the module's docstring.
BAND_ROWS = 32
MAX_BANDS = 48


@dataclass(frozen=True)
class AnimatedProfile(ImageProfile):
    kind: str = "gif"  # gif, webp or apng
    colors: int = 256  # GIF only
    lossy: int = 0  # GIF only: gifsicle's --lossy (0: the palette's pixels exactly)
    loop: bool = True  # forever, or play once
    quality: int | None = None  # WebP: None lossless, else libwebp's 0-100

    label: ClassVar[str] = "animated image"

    @property
    def name(self) -> str:
        return f"{self.kind.upper()} {self.raster.name}"

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str, captions: str | None = None) -> Job:
        """The image of the cast; ``captions``: the cast's captions (SRT, in cast time), burned
        in: an image has no subtitle track."""
        ff = ffmpeg_module()
        total = sum(frames for _, frames in parts)
        size = (self.raster.width, self.raster.height)
        fps = self.raster.fps
        writes: list[tuple[Path, str]] = []
        finish: tuple[Any, ...] = ()
        subtitles = None
        if captions:
            subtitles = run_file_path(output, ".srt")
            writes.append((subtitles, captions))
        video, list_file, listing = cast_pictures([path for path, _ in parts], output)
        writes.insert(0, (list_file, listing))
        video = to_rgb(_each_picture_once(burned_in(video, subtitles), total, size, fps))
        if self.kind == "gif":
            # The palette from a second reading of the same pictures: with one reading split
            # in two, ffmpeg holds every picture until the palette is known (900 MB for two
            # minutes at 800x500); read twice, its memory stays flat (130 MB).
            again, _, _ = cast_pictures([path for path, _ in parts], output, again=True)
            palette = to_rgb(_each_picture_once(burned_in(again, subtitles), total, size, fps)).filter(
                "palettegen", max_colors=self.colors, stats_mode="full")
            video = ff.filter([video, palette], "paletteuse", dither="none", diff_mode="rectangle")
            # GIF delays are hundredths of a second; the last frame shows for one frame.
            out = ff.output(video, file_url(output), f="gif", fps_mode="vfr",
                            loop=0 if self.loop else -1, final_delay=round(100 / fps))
            gifsicle = find_gifsicle()
            if gifsicle is not None:
                finish = (GifOptimised(gifsicle, self.lossy, output),)
        elif self.kind == "apng":
            out = ff.output(video, file_url(output), f="apng", vcodec="apng", fps_mode="vfr",
                            plays=0 if self.loop else 1,
                            final_delay=f"{fps.denominator}/{fps.numerator}")
        else:
            # Back to a constant rate, each distinct picture repeated exactly (libwebp merges
            # them), held to the cast's end: the last picture is cloned one frame on first, as
            # ffmpeg 5.1's fps filter drops a last frame whose end it is not told (vstack's).
            video = (video.filter("tpad", stop_mode="clone", stop=1).filter("fps", _rate(fps))
                     .filter("trim", end_frame=total).filter("format", "bgra"))
            options = ({"lossless": 1} if self.quality is None
                       else {"lossless": 0, "quality": self.quality})
            out = ff.output(video, file_url(output), f="webp", vcodec="libwebp_anim",
                            loop=0 if self.loop else 1, **options)
        argv = compile_argv(out, ffmpeg)
        paths = tuple(path for path, _ in parts)
        return Job(label, tuple(argv), output, total, paths, tuple(writes), finish=finish)


@dataclass(frozen=True)
class GifOptimised:
    """After ffmpeg wrote a GIF (under its temporary name): gifsicle makes it smaller, into a
    temporary file of its own beside ``output``, which then replaces ffmpeg's."""

    gifsicle: Gifsicle
    lossy: int
    output: Path  # the GIF's own name: where the temporary files go, and what --dry-run shows

    def apply(self, path: Path) -> None:
        temp = partial_path(self.output)
        try:
            done = subprocess.run(optimise_argv(self.gifsicle, self.lossy, path, temp),
                                  stdin=subprocess.DEVNULL, capture_output=True)
            if done.returncode != 0:
                tail = "\n".join(done.stderr.decode("utf-8", "replace").splitlines()[-8:])
                raise WorkError(f"gifsicle failed ({done.returncode}) while optimising "
                                f"{self.output.name}" + (f"\n{tail}" if tail.strip() else ""))
            os.replace(temp, path)
        finally:
            try:
                temp.unlink()  # gone already once it replaced ffmpeg's GIF
            except OSError:
                pass

    def shell(self) -> str:
        argv = optimise_argv(self.gifsicle, self.lossy, self.output, self.output)
        return shlex.join([*argv[:-3], "--batch", str(self.output)]) + "  # in place"


def _each_picture_once(video: Any, total: int, size: tuple[int, int], fps: Fraction) -> Any:
    """``video`` (``total`` frames at ``fps``) with each band of rows holding its picture until
    it changes beyond the tolerance, then each picture that repeats the one before it dropped,
    but the last, always kept: the image's end."""
    width, height = size
    rows = band_rows(height)
    tops = range(0, height, rows)
    split = video.filter_multi_output("split", len(tops))
    # Each band back at the constant rate (its held picture repeated exactly) before they are
    # stacked: ffmpeg 5.1's fps filter after vstack loses the last frame.
    bands = [distinct(split[i].filter("crop", w=width, h=min(rows, height - top), x=0, y=top, exact=1),
                      width, min(rows, height - top), high=REPEAT_HIGH, low=REPEAT_LOW,
                      share=REPEAT_SHARE, keep=total - 1).filter("fps", _rate(fps))
             for i, top in enumerate(tops)]
    held = ffmpeg_module().filter(bands, "vstack", inputs=len(bands))
    return distinct(held, width, height, keep=total - 1)


def band_rows(height: int) -> int:
    """The height of the bands held apart: BAND_ROWS, or more for a picture over MAX_BANDS of
    them (a multiple of 8: mpdecimate's blocks)."""
    return max(BAND_ROWS, -(-height // MAX_BANDS // 8) * 8)


def _rate(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"
