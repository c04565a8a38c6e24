"""Each distinct picture of a raw DV encode encoded once, its bytes copied into every frame that
shows it.

A screen recording repeats pictures: put into 25 fps, a 15 fps capture shows two pictures in
three twice, and a screen that holds still shows one picture for seconds; a title card is one
picture. DV is intra-only and ffmpeg's dvvideo encoder makes a frame's video from that frame's
picture alone, so a repeated picture is the same bytes every time it is encoded. The job then
runs two ffmpegs:

1. the segment's picture graph, unchanged, then ``mpdecimate`` with every threshold at zero
   (only exact repeats are dropped), encoded to raw DV at the timestamps it keeps: the frame
   of the segment each picture starts at. A framecrc of the same packets (the ``tee`` muxer)
   lists those timestamps in a file beside the pictures;
2. castkit streams one DV frame per frame of the segment into its ``stdin``, each the last
   distinct picture at or before that frame (``feed``), and that ffmpeg copies them and lays
   the segment's sound, subcode and VAUX into them with the dv muxer.

The result is the very bytes one ffmpeg encoding every frame writes (tests/test_pictures.py
compares them byte for byte, with both ffmpegs); measured on a 15 fps 1024x768 capture with
holds (60 s, 1500 PAL frames, 778 distinct): 6.5 s of CPU instead of 9.6 s, the second ffmpeg
and the feed 0.4 s of it (benchmarks/bench_trim.py).

Nothing of the picture passes through Python: ``feed`` has the kernel copy each frame's bytes
from the file into the pipe (``os.sendfile``).
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ._ffmpeg import file_url
from .errors import WorkError

# mpdecimate compares 8x8 blocks of each plane from its column 8 on (libavfilter's
# diff_planes): a change in a plane's first 8 columns goes unseen. The picture is padded this
# many columns on the left before the comparison and cropped back after it, so that every
# pixel of every plane is compared: 32 luma columns are 16 chroma columns in 4:2:0 (PAL DV)
# and 8 in 4:1:1 (NTSC DV). tests/test_pictures.py checks the coverage for each DV raster and
# that a change in the first and last columns alone is kept.
COMPARE_PAD = 32
PICTURES_SUFFIX = ".pictures"
MAP_SUFFIX = ".map"


def distinct(video: Any, width: int, height: int) -> Any:
    """``video`` (``width`` x ``height``, conformed) with every picture that repeats the one
    before it, pixel for pixel, dropped; the others keep their timestamps."""
    video = video.filter("pad", w=width + COMPARE_PAD, h=height, x=COMPARE_PAD, y=0)
    video = video.filter("mpdecimate", hi=0, lo=0, frac=0, max=0)
    return video.filter("crop", w=width, h=height, x=COMPARE_PAD, y=0, exact=1)


def _quote(text: str) -> str:
    # The tee muxer splits its outputs at "|" with av_get_token, which reads '...' literally; a
    # quote is closed, escaped, and reopened.
    return "'" + text.replace("'", "'\\''") + "'"


def tee_outputs(pictures: Path, crcs: Path) -> str:
    """The ``tee`` muxer's outputs: the raw DV pictures and a framecrc of the same packets."""
    return "|".join((_quote(f"[f=dv]{file_url(pictures)}"), _quote(f"[f=framecrc]{file_url(crcs)}")))


@dataclass(frozen=True)
class Pictures:
    """The first ffmpeg of a job (see the module's docstring), for the job's output ``out``:
    ``head`` is its argv but the last argument, which names the files it writes beside
    ``out`` (``files``). ``frames`` and ``frame_bytes``: the job's output, in DV frames."""

    head: tuple[str, ...]
    frames: int
    frame_bytes: int
    fps: Fraction

    @staticmethod
    def files(out: Path) -> tuple[Path, Path]:
        """The distinct pictures and their list, beside ``out`` (a temporary name while a job
        runs: they are temporary files too, and go with it)."""
        return (out.with_name(out.name + PICTURES_SUFFIX), out.with_name(out.name + MAP_SUFFIX))

    def argv(self, out: Path) -> list[str]:
        return [*self.head, tee_outputs(*self.files(out))]

    def frames_done(self, line: str) -> int | None:
        """How far into the job's frames a ``-progress`` line of the first ffmpeg is: the time
        of the picture it encoded last (its frame count is of distinct pictures)."""
        if line.startswith("out_time_us="):
            try:
                return min(self.frames, int(int(line[12:]) * self.fps / 1_000_000))
            except ValueError:
                return None
        return None

    def feed(self, out: Path, fd: int) -> None:
        """Write every frame of the job's output, in order, to ``fd`` (the second ffmpeg's
        stdin), from the files the first one wrote beside ``out``."""
        feed(fd, *self.files(out), self.frames, self.frame_bytes)

    def shell(self, out: Path, then: str) -> str:
        """The two ffmpegs as shell lines, ``then`` (the second's command) fed by castkit."""
        import shlex

        pictures, crcs = self.files(out)
        feeder = shlex.join([sys.executable, "-m", "castkit._pictures", str(pictures), str(crcs),
                             str(self.frames), str(self.frame_bytes)])
        return "\n".join((shlex.join(self.argv(out)), f"{feeder} | {then}",
                          shlex.join(["rm", "-f", str(pictures), str(crcs)])))


def remove_files(out: Path) -> None:
    for path in Pictures.files(out):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def starts(crcs: Path, pictures: int, frames: int) -> list[int]:
    """The frame each distinct picture starts at, from the framecrc the first ffmpeg wrote
    (``0, dts, pts, duration, size, crc`` per packet, in the stream's 1/fps time base). Checked
    before use: one start per picture, the first at frame 0, increasing, all inside the job."""
    try:
        lines = crcs.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkError(f"{crcs}: the list of distinct pictures cannot be read ({exc})") from None
    first: list[int] = []
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        try:
            first.append(int(fields[2]))
        except (IndexError, ValueError):
            raise WorkError(f"{crcs}: not a framecrc line: {line!r}") from None
    if (len(first) != pictures or not first or first[0] != 0 or first[-1] >= frames
            or any(b <= a for a, b in zip(first, first[1:]))):
        raise WorkError(f"{crcs}: {len(first)} picture starts for {pictures} pictures of a "
                        f"{frames}-frame job do not fit; nothing was kept")
    return first


def feed(fd: int, pictures: Path, crcs: Path, frames: int, frame_bytes: int) -> None:
    """Write ``frames`` DV frames to ``fd``: for each, the last distinct picture that starts at
    or before it. A reader that stops (its ffmpeg failed, or was stopped) ends the feed quietly:
    the reader's own status says what happened."""
    source = os.open(pictures, os.O_RDONLY)
    try:
        size = os.fstat(source).st_size
        if size % frame_bytes:
            raise WorkError(f"{pictures}: {size} bytes is not a whole number of DV frames")
        first = starts(crcs, size // frame_bytes, frames)
        picture = 0
        for frame in range(frames):
            while picture + 1 < len(first) and first[picture + 1] <= frame:
                picture += 1
            _copy(fd, source, picture * frame_bytes, frame_bytes, pictures)
    except BrokenPipeError:
        return
    finally:
        os.close(source)


def _copy(fd: int, source: int, offset: int, length: int, name: Path) -> None:
    """``length`` bytes of ``source`` from ``offset`` to ``fd``: by the kernel where it can
    (Linux sends a file into a pipe), else through a buffer."""
    while length:
        try:
            sent = os.sendfile(fd, source, offset, length)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOTSOCK, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            chunk = os.pread(source, length, offset)
            sent = os.write(fd, chunk) if chunk else 0
        if sent == 0:
            raise WorkError(f"{name}: ended while being read")
        offset += sent
        length -= sent


def main(argv: list[str]) -> int:
    """``python -m castkit._pictures PICTURES MAP FRAMES FRAME_BYTES``: the feed to stdout,
    for the shell form of a job (``--dry-run``)."""
    pictures, crcs, frames, frame_bytes = argv
    feed(sys.stdout.fileno(), Path(pictures), Path(crcs), int(frames), int(frame_bytes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
