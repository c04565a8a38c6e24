"""A raw DV encode's repeated pictures are encoded once (castkit._pictures): the frames are the
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

from castkit._ffmpeg import find_ffmpeg
from castkit._pictures import COMPARE_PAD, Pictures, feed
from castkit._plan import Effects, Trim, clip_job, still_job
from castkit._profiles.dv import DvProfile
from castkit._probe import probe
from castkit._target import DvTarget
from castkit.errors import WorkError
from conftest import WHEEL_FFMPEG, run_job, sha256

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
    subprocess.run(job.pictures.argv(tmp_path / "t.dv", f"file:{listing}"), check=True, timeout=60)
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
