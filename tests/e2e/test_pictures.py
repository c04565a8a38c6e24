"""A raw DV encode's repeated pictures are encoded once (castkit.media.pictures): the frames are the
very bytes one ffmpeg encoding every frame writes, a change anywhere in a picture (its first
and last columns, its chroma alone, its last rows) is never taken for a repeat, and the list of
pictures is checked before it is used."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import pytest

from castkit.media.ffmpeg import find_ffmpeg
from castkit.media.pictures import COMPARE_PAD, Pictures, feed
from castkit.plan.encode import Effects, Trim, clip_job, still_job
from castkit.outputs.dv import DvProfile
from castkit.media.probe import probe
from castkit.media.dv import DvTarget
from castkit.errors import WorkError
from helpers import WHEEL_FFMPEG, run_job, sha256

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class EveryFrame(DvProfile):
    """DV as one ffmpeg encodes it, every frame: the reference."""

    def pictures_once(self, final: bool) -> bool:
        return False


def _covered(width: int, height: int, pad: int, plane: tuple[int, int]) -> bool:
    """Whether mpdecimate's 8x8 blocks (libavfilter's diff_planes: x from 8 and y from 0 in
    steps of 4, while a block fits) cover every pixel of a ``width`` x ``height`` picture padded
    ``pad`` columns on the left, in a plane subsampled by ``plane`` (x, y)."""
    sx, sy = plane
    w, h = -(-(width + pad) // sx), -(-height // sy)
    xs = {x + i for x in range(8, w - 7, 4) for i in range(8)}
    ys = {y + i for y in range(0, h - 7, 4) for i in range(8)}
    return (all(x in xs for x in range(pad // sx, w)) and all(y in ys for y in range(h)))


@pytest.mark.parametrize("standard", ["pal", "ntsc"])
def test_every_pixel_of_every_plane_is_compared(standard):
    target = DvTarget(standard)
    chroma = {"yuv420p": (2, 2), "yuv411p": (4, 1)}[target.pix_fmt]
    for plane in ((1, 1), chroma):
        assert _covered(target.width, target.height, COMPARE_PAD, plane), plane
    # Without the pad, the first 8 columns of each plane would go unseen.
    assert not _covered(target.width, target.height, 0, (1, 1))


# Gray, and in turn: the first 2 columns white, the first 12 columns' chroma alone changed, the
# last 2 columns white, the last 2 rows white. Each picture differs from the one before only
# there; 5 pictures a second, so each is repeated in 25 fps.
EDGES = ("geq=lum='if(eq(mod(N,5),1)*lt(X,2)+eq(mod(N,5),3)*gt(X,W-3)+eq(mod(N,5),4)*gt(Y,H-3),235,128)'"
         ":cb='if(eq(mod(N,5),2)*lt(X,12),200,128)':cr=128")


@pytest.fixture(scope="module")
def edges(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pictures") / "edges.mkv"
    subprocess.run([WHEEL_FFMPEG, "-v", "error", "-f", "lavfi", "-i", "color=gray:s=768x576:r=5:d=2",
                    "-f", "lavfi", "-i", "sine=f=440:r=48000:d=2",
                    "-vf", f"format=yuv444p,{EDGES}", "-c:v", "ffv1", "-c:a", "pcm_s16le", str(path)],
                   check=True, timeout=60)
    return path


def _pictures(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [b"".join(bytes(p) for p in frame.planes) for frame in container.decode(video=0)]


@pytest.mark.parametrize("standard", ["pal", "ntsc"])
def test_an_encode_with_repeats_is_the_bytes_of_one_encoding_every_frame(standard, edges, ffmpeg_bin, tmp_path):
    ffmpeg = find_ffmpeg()
    info = probe(edges, ffmpeg)
    target = DvTarget(standard)
    trim, fx = Trim(Fraction(1, 5)), Effects(fade_out=Fraction(1, 5))
    once = clip_job(info, DvProfile(target), tmp_path / "once.dv", ffmpeg, trim=trim, effects=fx)
    every = clip_job(info, EveryFrame(target), tmp_path / "every.dv", ffmpeg, trim=trim, effects=fx)
    assert once.pictures is not None and every.pictures is None
    run_job(once)
    run_job(every)
    assert not list(tmp_path.glob(".*")), "the pictures' files went with the job"
    assert sha256(tmp_path / "once.dv") == sha256(tmp_path / "every.dv")
    # The reference shows every change: each source picture is 5 (PAL) or 6 (NTSC) frames
    # apart, and each differs from the one before (so none was taken for a repeat).
    shown = _pictures(tmp_path / "every.dv")
    assert len(shown) == once.frames
    step = round(target.fps / 5)
    changes = [n for n in range(1, len(shown)) if shown[n] != shown[n - 1]]
    assert len(changes) >= len(shown) // step - 2, changes


def test_a_title_is_encoded_once_and_lasts_its_frames(tmp_path, wheel_ffmpeg):
    from PIL import Image

    ffmpeg = find_ffmpeg()
    card = tmp_path / "card.png"
    Image.new("RGB", (768, 576), (27, 40, 56)).save(card)
    job = still_job(card, (768, 576), 60, DvProfile(), tmp_path / "t.dv", ffmpeg)
    every = still_job(card, (768, 576), 60, EveryFrame(), tmp_path / "e.dv", ffmpeg)
    # The first ffmpeg alone: one picture, listed at frame 0.
    listing = tmp_path / "list.map"
    subprocess.run(job.pictures.argv(Pictures.path(tmp_path / "t.dv"), f"file:{listing}"), check=True,
                   timeout=60)
    assert Pictures.path(tmp_path / "t.dv").stat().st_size == 144000
    assert [line.split(",")[2].strip() for line in listing.read_text().splitlines()
            if not line.startswith("#")] == ["0"]
    Pictures.path(tmp_path / "t.dv").unlink()
    run_job(job)
    run_job(every)
    assert sha256(tmp_path / "t.dv") == sha256(tmp_path / "e.dv")
    assert (tmp_path / "t.dv").stat().st_size == 60 * 144000


def _fed(tmp_path: Path, starts: list[int], pictures: int, frames: int) -> bytes:
    """What ``feed`` writes for ``pictures`` pictures (each 4 bytes of its number) listed at
    ``starts``, for a job of ``frames`` frames."""
    source = tmp_path / "p.pictures"
    source.write_bytes(b"".join(bytes([n]) * 4 for n in range(pictures)))
    out = tmp_path / "fed"
    with open(out, "wb") as sink:
        feed(sink.fileno(), source, iter(starts), frames, 4)
    return out.read_bytes()


@pytest.mark.parametrize("starts, pictures, frames", [
    ([0, 3, 3], 3, 10),   # not increasing
    ([1, 3], 2, 10),      # the first picture not at frame 0
    ([0, 3, 10], 3, 10),  # past the job's last frame
    ([0, 3], 3, 10),      # fewer starts than pictures
    ([0, 3, 5], 2, 10),   # more starts than pictures
    ([], 1, 10),          # none
])
def test_a_list_of_pictures_that_does_not_fit_is_refused(tmp_path, starts, pictures, frames):
    with pytest.raises(WorkError, match="nothing was kept"):
        _fed(tmp_path, starts, pictures, frames)


def test_each_frame_is_the_last_picture_started_at_or_before_it(tmp_path):
    assert _fed(tmp_path, [0, 3, 9], 3, 10) == b"".join(bytes([n]) * 4 for n in [0, 0, 0, 1, 1, 1, 1, 1, 1, 2])
    assert _fed(tmp_path, [0], 1, 3) == bytes(12)


def test_a_name_the_tee_muxer_would_split_is_quoted(tmp_path, wheel_ffmpeg):
    ffmpeg = find_ffmpeg()
    folder = tmp_path / "it's [a|b] c:d"
    folder.mkdir()
    card = folder / "card.png"
    from PIL import Image

    Image.new("RGB", (768, 576), (200, 200, 200)).save(card)
    job = still_job(card, (768, 576), 5, DvProfile(), folder / "t.dv", ffmpeg)
    run_job(job)
    assert (folder / "t.dv").stat().st_size == 5 * 144000
    assert sorted(p.name for p in folder.iterdir()) == ["card.png", "t.dv"]


def test_a_picture_is_sent_once_the_file_holds_it_whole(tmp_path):
    """The first ffmpeg writes its pictures while the feed runs: each is sent only once the
    file has all of it."""
    import threading
    import time

    source = tmp_path / "p.pictures"
    source.write_bytes(b"")
    done = threading.Event()

    def write() -> None:
        with open(source, "ab") as growing:
            for n in range(3):
                for half in (bytes([n]) * 2, bytes([n]) * 2):  # half a picture at a time
                    time.sleep(0.05)
                    growing.write(half)
                    growing.flush()
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    out = tmp_path / "fed"
    with open(out, "wb") as sink:
        feed(sink.fileno(), source, iter([0, 2, 4]), 6, 4, ended=done.is_set)
    writer.join()
    assert out.read_bytes() == b"".join(bytes([n]) * 4 for n in [0, 0, 1, 1, 2, 2])


def test_a_picture_listed_but_never_written_fails_unless_its_ffmpeg_did(tmp_path):
    source = tmp_path / "p.pictures"
    source.write_bytes(bytes(8))  # 2 pictures of 4 bytes; the list names 4
    with open(tmp_path / "fed", "wb") as sink:
        with pytest.raises(WorkError, match="listed but was not written"):
            feed(sink.fileno(), source, iter([0, 3, 5, 7]), 10, 4)
        # The first ffmpeg failed: its own error is the job's, the feed just stops.
        feed(sink.fileno(), source, iter([0, 3, 5, 7]), 10, 4, ok=lambda: False)


def test_the_feed_copies_through_a_buffer_where_the_kernel_cannot(tmp_path, monkeypatch):
    import errno
    import os

    def refuse(*args):
        raise OSError(errno.EINVAL, "Invalid argument")

    expected = _fed(tmp_path, [0, 3, 9], 3, 10)
    monkeypatch.setattr(os, "sendfile", refuse)
    assert _fed(tmp_path, [0, 3, 9], 3, 10) == expected


def _title_job(tmp_path: Path):
    from PIL import Image

    card = tmp_path / "card.png"
    Image.new("RGB", (768, 576), (27, 40, 56)).save(card)
    return still_job(card, (768, 576), 25, DvProfile(), tmp_path / "out" / "t.dv", find_ffmpeg())


def test_a_first_ffmpeg_that_fails_fails_the_job_and_leaves_nothing(tmp_path, monkeypatch):
    from castkit.errors import FfmpegFailed
    from helpers import ffmpeg_script, listing

    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -version "*) exec "$REAL_FFMPEG" "$@";; esac\n'
        'for last; do :; done\n'
        'case "$last" in "\'[f=dv]"*) echo "castkit-test: cannot encode the pictures" >&2; exit 1;; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'))
    job = _title_job(tmp_path)
    with pytest.raises(FfmpegFailed, match="cannot encode the pictures"):
        run_job(job)
    assert listing(tmp_path / "out") == []


def test_a_second_ffmpeg_that_fails_stops_the_first_at_once(tmp_path, monkeypatch):
    import time

    from castkit.errors import FfmpegFailed
    from helpers import ffmpeg_script, listing

    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -version "*) exec "$REAL_FFMPEG" "$@";; esac\n'
        'for last; do :; done\n'
        # the first: a picture, then no list for a long time
        'case "$last" in "\'[f=dv]"*) exec sleep 30;; esac\n'
        'echo "castkit-test: cannot mux the sound" >&2; exit 1\n'))
    job = _title_job(tmp_path)
    began = time.monotonic()
    with pytest.raises(FfmpegFailed, match="cannot mux the sound"):
        run_job(job)
    assert time.monotonic() - began < 4, "the first ffmpeg was stopped when the second failed"
    assert listing(tmp_path / "out") == []


def test_a_stop_while_the_second_ffmpeg_writes_on_stops_it(tmp_path, ctrl_c):
    """Ctrl-C after the first ffmpeg has ended, while the second still muxes: both gone, the
    list's pipe closed, the pictures' file removed."""
    import os
    import signal
    import threading

    from castkit.media.pictures import run_job as run_both

    pictures = Pictures(("ffmpeg",), 25, 144000, Fraction(25))
    out = tmp_path / "t.dv"
    second_proc = []

    def first(argv, fds, started):
        proc = subprocess.Popen(["true"], pass_fds=fds)
        started(proc)
        Pictures.path(out).write_bytes(bytes(144000))
        proc.wait()

    def second(feed, started, waiting):
        proc = subprocess.Popen(["sleep", "30"])
        second_proc.append(proc)
        started(proc)
        proc.wait()

    fds = len(os.listdir("/proc/self/fd"))
    threading.Timer(0.5, signal.raise_signal, (signal.SIGINT,)).start()
    with pytest.raises(KeyboardInterrupt):
        run_both(pictures, out, first, second)
    assert second_proc[0].wait(timeout=5) is not None
    assert not Pictures.path(out).exists()
    assert len(os.listdir("/proc/self/fd")) == fds
