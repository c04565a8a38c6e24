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

The result is the very bytes one ffmpeg encoding every frame writes (tests/e2e/test_pictures.py
compares them byte for byte, with both ffmpegs); measured on a 15 fps 1024x768 capture with
holds (60 s, 1500 PAL frames, 778 distinct): 6.5 s of CPU instead of 9.6 s, the second ffmpeg
and the feed 0.4 s of it (benchmarks/bench_trim.py).

Nothing of the picture passes through Python: ``feed`` has the kernel copy each frame's bytes
from the file into the pipe (``os.sendfile``).
"""

from __future__ import annotations

import errno
import os
import select
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from castkit.base.files import MAP_SUFFIX, PICTURES_SUFFIX
from castkit.base.jobs import file_url, quote_token
from castkit.errors import WorkError


# mpdecimate compares 8x8 blocks of each plane from its column 8 on (libavfilter's
# diff_planes): a change in a plane's first 8 columns goes unseen. The picture is padded this
# many columns on the left before the comparison and cropped back after it, so that every
# pixel of every plane is compared: 32 luma columns are 16 chroma columns in 4:2:0 (PAL DV)
# and 8 in 4:1:1 (NTSC DV). tests/e2e/test_pictures.py checks the coverage for each DV raster and
# that a change in the first and last columns alone is kept.
COMPARE_PAD = 32


def _compared(size: int) -> int:
    """``size`` rows (or columns) padded so that mpdecimate compares the last of them: its 8x8
    blocks step by 4 and stop 7 short of a plane's edge, so a plane's last rows are compared
    only if its height is a multiple of 4 (a 160x90 image's last 2 rows never were). A multiple
    of 8 is a multiple of 4 in a chroma plane halved by 4:2:0 too. DV rasters are already."""
    return -(-size // 8) * 8


def distinct(video: Any, width: int, height: int, high: int = 0, low: int = 0,
             share: float = 0, keep: int | None = None) -> Any:
    """``video`` (``width`` x ``height``, both even, in a ``COMPARABLE`` format or the RGB of a
    conformed picture) with every picture that repeats the one before it, pixel for pixel,
    dropped; the others keep their timestamps (a camera's held view, a DV job's pictures). ``high``, ``low``
    and ``share``: mpdecimate's tolerance (an image's: a recorder's noise is no new picture);
    ``keep``: a frame kept whatever it shows (an image's last: its end), marked for the
    comparison in the padding (past mpdecimate's first 8 columns), which is cropped away."""
    video = video.filter("pad", w=_compared(width + COMPARE_PAD), h=_compared(height), x=COMPARE_PAD, y=0)
    if keep is not None:
        # fillborders, not drawbox: it works on planar RGB too (an image's), in every ffmpeg.
        video = video.filter("fillborders", left=COMPARE_PAD - 8, mode="fixed", color="white",
                             enable=f"eq(n,{keep})")
    video = video.filter("mpdecimate", hi=high, lo=low, frac=share, max=0)
    return video.filter("crop", w=width, h=height, x=COMPARE_PAD, y=0, exact=1)


# Pixel formats ``distinct`` compares as they are: planar, chroma subsampled by at most 2, and
# accepted by mpdecimate in every ffmpeg castkit supports (a format it does not take would be
# converted first, and the pictures after it would no longer be the input's).
COMPARABLE = frozenset(("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "gray"))


def tee_outputs(pictures: Path, listing: str) -> str:
    """The ``tee`` muxer's outputs: the raw DV pictures, and a framecrc of the same packets to
    ``listing`` (an ffmpeg URL: the pipe castkit reads, or a file in the shell form)."""
    # The tee muxer splits its outputs at "|" with av_get_token: each is quoted whole.
    return "|".join((quote_token(f"[f=dv]{file_url(pictures)}"), quote_token(f"[f=framecrc]{listing}")))


@dataclass(frozen=True)
class Pictures:
    """The first ffmpeg of a job (see the module's docstring), for the job's output ``out``:
    ``head`` is its argv but the last argument, which names where it writes the pictures (a
    file beside ``out``) and their list. ``frames`` and ``frame_bytes``: the job's output, in
    DV frames."""

    head: tuple[str, ...]
    frames: int
    frame_bytes: int
    fps: Fraction

    @staticmethod
    def path(out: Path) -> Path:
        """The distinct pictures, beside ``out`` (a temporary name while a job runs: they are
        a temporary file too, removed with it, and by the next build after a kill -9)."""
        return out.with_name(out.name + PICTURES_SUFFIX)

    def argv(self, pictures: Path, listing: str) -> list[str]:
        """The first ffmpeg, writing the distinct pictures to ``pictures`` and their list to
        ``listing`` (an ffmpeg URL)."""
        return [*self.head, tee_outputs(pictures, listing)]

    def frames_done(self, line: str) -> int | None:
        """How far into the job's frames a ``-progress`` line of the first ffmpeg is: the time
        of the picture it encoded last (its frame count is of distinct pictures)."""
        if line.startswith("out_time_us="):
            try:
                return max(0, min(self.frames, int(int(line[12:]) * self.fps / 1_000_000)))
            except ValueError:
                return None
        return None

    def shell(self, out: Path, then: str) -> str:
        """The job as shell lines, its second ffmpeg's command ``then``: castkit runs the two
        side by side, the list passing through a pipe; the shell form writes it to a file
        first (the same bytes), and feeds the second only if the first succeeded."""
        import shlex

        pictures = out.with_name(f".{out.name}{PICTURES_SUFFIX}")
        listing = out.with_name(f".{out.name}{MAP_SUFFIX}")
        feeder = shlex.join([sys.executable, "-m", "castkit.media.pictures", str(pictures), str(listing),
                             str(self.frames), str(self.frame_bytes)])
        return "\n".join((f"{shlex.join(self.argv(pictures, file_url(listing)))} &&",
                          f"  {feeder} | {then}",
                          shlex.join(["rm", "-f", str(pictures), str(listing)])))


# How a job's two ffmpegs are run (castkit's runner locally, a Dask worker remotely): each
# ``run(argv, ...)`` runs one ffmpeg to its end and raises if it failed. The second is also
# given whether it still waits for the first (an idle second one is no hang until then).
RunFirst = Callable[[list[str], tuple[int, ...], Callable[[Any], None]], None]
RunSecond = Callable[[Callable[[int], None], Callable[[Any], None], Callable[[], bool]], None]


def run_job(pictures: Pictures, out: Path, first: RunFirst, second: RunSecond) -> None:
    """Run a job's two ffmpegs side by side (see the module's docstring): ``second`` (given
    the feed of its stdin) in a thread from the start, its sound decoded meanwhile, and
    ``first`` (given the pipe it lists its pictures into) here. Whichever fails first stops the
    other, and its error is the job's; a stop (Ctrl-C) stops both. The pictures' file and the
    pipe go, however the job ends."""
    path = pictures.path(out)
    listing_r, listing_w = os.pipe()
    writer_open, feeding = [True], [False]
    ended, over, fed = threading.Event(), threading.Event(), threading.Event()
    first_ok = [False]
    procs: dict[str, Any] = {}
    failed: list[BaseException] = []

    def close_writer() -> None:
        if writer_open[0]:
            writer_open[0] = False
            os.close(listing_w)

    def stopped() -> bool:  # the job is over, or its second ffmpeg is gone
        second_proc = procs.get("second")
        return over.is_set() or (second_proc is not None and second_proc.poll() is not None)

    def feed_second(fd: int) -> None:
        feeding[0] = True
        try:
            starts = (_start_of(line, path) for line in _lines(listing_r, stopped))
            feed(fd, path, (s for s in starts if s is not None), pictures.frames,
                 pictures.frame_bytes, ended.is_set, lambda: first_ok[0], stopped)
        finally:
            fed.set()

    def run_second() -> None:
        try:
            second(feed_second, lambda proc: procs.__setitem__("second", proc), lambda: not ended.is_set())
        except BaseException as exc:  # noqa: BLE001 - raised in the job's thread, below
            failed.append(exc)
            _stop(procs.get("first"))

    def first_started(proc: Any) -> None:
        close_writer()  # the child has its copy: the list ends when the first ffmpeg does
        procs["first"] = proc
        if failed:  # the second failed before this one started
            _stop(proc)

    thread = threading.Thread(target=run_second, daemon=True)
    thread.start()
    try:
        try:
            first(pictures.argv(path, f"pipe:{listing_w}"), (listing_w,), first_started)
            first_ok[0] = True
        except BaseException:
            second_first = bool(failed)  # the second failed, and stopped this one
            if second_first:
                raise failed[0] from None
            _stop(procs.get("second"))
            raise
        finally:
            ended.set()
            close_writer()
            try:
                _join(thread)
            except BaseException:  # a stop while the second ffmpeg writes on
                over.set()
                _stop(procs.get("second"))
                thread.join()
                raise
    finally:
        over.set()
        # The feed reads the list's pipe until it ends: only then may its descriptor go (a
        # number closed under a running reader may be another job's file the next moment).
        if not feeding[0] or fed.wait(10):
            os.close(listing_r)
        remove_file(out)
    if failed:
        raise failed[0]


def _join(thread: threading.Thread) -> None:
    # Short waits, not one long one: the kernel may hand Ctrl-C or SIGTERM to another thread,
    # and Python's handler runs only when the main thread runs Python code again.
    while thread.is_alive():
        thread.join(0.2)


def _lines(fd: int, stopped: Callable[[], bool]) -> Iterator[bytes]:
    """The lines read from the pipe ``fd`` until it ends, or until ``stopped()``."""
    pending = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            if stopped():
                return
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            if pending:
                yield pending
            return
        *lines, pending = (pending + chunk).split(b"\n")
        yield from lines


def _stop(proc: Any) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()


def remove_file(out: Path) -> None:
    """Remove the distinct pictures of a job writing ``out``, if any."""
    try:
        Pictures.path(out).unlink()
    except FileNotFoundError:
        pass


def _start_of(line: bytes, pictures: Path) -> int | None:
    """The frame a framecrc line's packet starts at (``0, dts, pts, duration, size, crc``, in
    the stream's 1/fps time base); None for its comments."""
    text = line.decode("ascii", "replace").strip()
    if not text or text.startswith("#"):
        return None
    try:
        return int(text.split(",")[2])
    except (IndexError, ValueError):
        raise WorkError(f"{pictures}: not a framecrc line: {text!r}") from None


def feed(fd: int, pictures: Path, starts: Iterable[int], frames: int, frame_bytes: int,
         ended: Callable[[], bool] = lambda: True, ok: Callable[[], bool] = lambda: True,
         stopped: Callable[[], bool] = lambda: False) -> None:
    """Write ``frames`` DV frames to ``fd``: for each, the last distinct picture that starts at
    or before it. ``starts``: the frame each picture in ``pictures`` starts at, in order, as
    the first ffmpeg lists them; that file may still be growing (``ended``: the first ffmpeg
    has exited, ``ok``: successfully), and a picture is sent only once the file holds it whole.
    The list is checked as it comes: the first picture at frame 0, each later, all inside the
    job, one per picture. A reader that stops (its ffmpeg failed, or was stopped) ends the feed
    quietly, as do a first ffmpeg that failed and ``stopped()``: their own status says what
    happened."""
    source = None
    try:
        picture, at = -1, 0
        for start in starts:
            if (start != 0) if picture < 0 else not at < start < frames:
                raise WorkError(f"{pictures}: picture {picture + 1} listed at frame {start} does "
                                f"not fit a {frames}-frame job; nothing was kept")
            if picture >= 0:
                if not _holds(pictures, picture + 1, frame_bytes, ended, stopped):
                    if ended() and ok():
                        raise WorkError(f"{pictures}: picture {picture} is listed but was not "
                                        f"written; nothing was kept")
                    return
                source = source if source is not None else os.open(pictures, os.O_RDONLY)
                _send(fd, source, picture, frame_bytes, start - at, pictures)
            picture, at = picture + 1, start
        while not ended():
            if stopped():
                return
            time.sleep(0.005)
        if not ok() or stopped():
            return
        size = os.stat(pictures).st_size if picture >= 0 else 0
        if picture < 0 or size != (picture + 1) * frame_bytes:
            raise WorkError(f"{pictures}: {size} bytes for {picture + 1} listed pictures; nothing "
                            f"was kept")
        source = source if source is not None else os.open(pictures, os.O_RDONLY)
        _send(fd, source, picture, frame_bytes, frames - at, pictures)
    except BrokenPipeError:
        return
    finally:
        if source is not None:
            os.close(source)


def _holds(pictures: Path, count: int, frame_bytes: int, ended: Callable[[], bool],
           stopped: Callable[[], bool] = lambda: False) -> bool:
    """Wait until ``pictures`` holds ``count`` whole pictures (its ffmpeg writes it in order
    and never goes back); False if that ffmpeg ended first without writing them, or on
    ``stopped()``."""
    while True:
        done = ended() or stopped()
        try:
            if os.stat(pictures).st_size >= count * frame_bytes:
                return True
        except FileNotFoundError:
            pass
        if done:
            return False
        time.sleep(0.002)


def _send(fd: int, source: int, picture: int, frame_bytes: int, times: int, name: Path) -> None:
    for _ in range(times):
        _copy(fd, source, picture * frame_bytes, frame_bytes, name)


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
    """``python -m castkit.media.pictures PICTURES LIST FRAMES FRAME_BYTES``: the feed to stdout,
    for the shell form of a job (``--dry-run``), from the files its first ffmpeg wrote."""
    pictures, listing, frames, frame_bytes = argv
    with open(listing, "rb") as listed:
        starts = (_start_of(line, Path(pictures)) for line in listed)
        feed(sys.stdout.fileno(), Path(pictures), (s for s in starts if s is not None),
             int(frames), int(frame_bytes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
