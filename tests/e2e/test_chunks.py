"""Web masters in chunks of the capture's timeline (``plan.chunks``): a trim edit re-encodes
only the chunks at the clip's edges, the result is the cold build's file byte for byte, and the
joined chunks play as one continuous stream, the very frames and samples of an unchunked build."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG, sha256
from readers import read_web

pytestmark = pytest.mark.e2e

RECIPE = """
    outputs: [build/cast.mp4]
    loudness: off
    segments:
      - title: Chunks
        duration: 0.5
        chapter: false
      - clip: take.ogv
        start: {start}
        end: {end}
        fade_out: 0.3
"""


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Path:
    """Six seconds of 15 fps luma ramp (each stored frame its own brightness), held a second
    (variable rate), with a 22 kHz Vorbis voice."""
    root = tmp_path_factory.mktemp("chunks")
    return media.theora(WHEEL_FFMPEG, root / "take.ogv", "320x180", 15, 6.0,
                        voice=(22050, 1, 6.0), pattern="luma", drop="between(t,2.5,3.5)")


@pytest.fixture
def folder(tmp_path, take, monkeypatch) -> Path:
    (tmp_path / "take.ogv").symlink_to(take)
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "1")
    return tmp_path


class Counting:
    """The runner seam: the labels of the jobs each build runs."""

    def __init__(self) -> None:
        from castkit.run.runner import FfmpegRunner

        outer = self

        class Runner(FfmpegRunner):
            def run(self, plan):
                outer.ran = [job.label for job in plan.jobs]
                super().run(plan)

        self.runner = Runner()
        self.ran: list[str] = []

    @property
    def encoded(self) -> list[str]:
        return [label for label in self.ran if label.startswith("segment")]


def build(recipe: Path, **kw) -> list[str]:
    from castkit.builder.build import build as castkit_build

    counting = Counting()
    castkit_build(recipe, runner=counting.runner, **kw)
    return counting.encoded


def write(folder: Path, start: float, end: float) -> Path:
    recipe = folder / "cast.yaml"
    recipe.write_text(textwrap.dedent(RECIPE.format(start=start, end=end)))
    return recipe


def test_a_trim_edit_encodes_only_the_edge_chunks_and_equals_a_cold_build(folder, ffmpeg_bin):
    recipe = write(folder, 1.3, 5.6)
    cold = build(recipe)
    # Capture frames 39..168 at 30 fps, cut at every 30th: 39-60, 60-90, ..., 150-168.
    assert sum("chunk" in label for label in cold) == 5, cold
    cast = folder / "build" / "cast.mp4"

    write(folder, 1.3, 4.6)  # the end moved by a second: only the (new) last chunk
    assert build(recipe, force=True) == ["segment 2: clip take.ogv chunk 4/4"]
    write(folder, 2.3, 4.6)  # the start moved by a second: only the (new) first chunk
    assert build(recipe, force=True) == ["segment 2: clip take.ogv chunk 1/3"]
    edited = sha256(cast)

    fresh = build(recipe, output=folder / "cold.mp4", use_cache=False, force=True)
    assert sum("chunk" in label for label in fresh) == 3
    assert sha256(folder / "cold.mp4") == edited


def elst_entries(path: Path) -> list[int]:
    """The number of entries of every edit list (``elst`` box) in an MP4 file."""
    data = path.read_bytes()
    found, at = [], data.find(b"elst")
    while at >= 0:
        found.append(int.from_bytes(data[at + 8:at + 12], "big"))  # after version/flags
        at = data.find(b"elst", at + 4)
    return found


def lumas(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.to_ndarray()[:180, :].mean()) for frame in container.decode(video=0)]


def test_chunks_join_into_one_continuous_stream_of_the_unchunked_frames_and_samples(folder, ffmpeg_bin, monkeypatch):
    import castkit.media.seek

    # Chunks from 2 s on decode their (Vorbis) sound from a second before them, seeked: the
    # samples must still be those of the unchunked build, which decodes it from the start.
    monkeypatch.setattr(castkit.media.seek, "SOUND_MIN_SEEK", 1)
    # Frames 22..177 at 30 fps, cut at 30, 60, ..., 150: the first chunk's 8 frames are no whole
    # number of milliseconds (an MP4's own duration is in milliseconds).
    recipe = write(folder, 0.73, 5.9)
    assert sum("chunk" in label for label in build(recipe)) == 6
    chunked = folder / "build" / "cast.mp4"
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "0")
    assert not [label for label in build(recipe, output=folder / "whole.mp4") if "chunk" in label]
    whole = folder / "whole.mp4"

    frames = 15 + 177 - 22
    reading = read_web(chunked)
    # Every frame at its own time, one frame apart: no duplicated or dropped frame at a join.
    assert reading.times == [Fraction(i, 30) for i in range(frames)]
    assert reading.times == read_web(whole).times
    # Decode order too: the packets' timestamps rise across every join.
    # (PyAV reads the packets: the wheel has no ffprobe, and a machine may have no other.)
    with av.open(str(chunked)) as container:
        dts = [p.dts for p in container.demux(video=0) if p.dts is not None]
    assert len(dts) == frames and all(a < b for a, b in zip(dts, dts[1:]))
    # At most one edit per track (the encoder's delay), none at the joins.
    assert elst_entries(chunked) and max(elst_entries(chunked)) == 1
    # The same pictures as the unchunked encode, frame by frame (the ramp moves 4 levels a
    # stored frame: a frame off by one at a join would differ by 4 or more).
    a, b = np.array(lumas(chunked)), np.array(lumas(whole))
    assert len(a) == len(b) == frames
    assert np.abs(a - b).max() < 1.0, np.abs(a - b).argmax()
    # The very samples: both joins hand the encoder the same PCM.
    assert np.array_equal(reading.pcm, read_web(whole).pcm)


def contents(path: Path) -> tuple[list[bytes], np.ndarray]:
    """Every decoded picture and every sample of a DV cast, by PyAV."""
    pictures, pcm = [], []
    with av.open(str(path)) as container:
        for packet in container.demux():
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    pictures.append(frame.to_ndarray().tobytes())
                else:
                    pcm.append(frame.to_ndarray().reshape(-1))
    return pictures, np.concatenate(pcm)


def test_a_dv_trim_edit_encodes_only_the_edge_chunks_and_keeps_the_unchunked_frames(folder, ffmpeg_bin, monkeypatch):
    recipe = write(folder, 1.3, 5.6)
    recipe.write_text(recipe.read_text().replace("build/cast.mp4", "build/cast.dv"))
    # Capture frames 32..140 at 25 fps, cut at every 25th: 32-50, 50-75, ..., 125-140.
    assert sum("chunk" in label for label in build(recipe)) == 5
    recipe.write_text(recipe.read_text().replace("end: 5.6", "end: 4.6"))
    assert build(recipe, force=True) == ["segment 2: clip take.ogv chunk 4/4"]
    # The cast was patched from the changed chunk on (outputs.join): a cold build's bytes. A
    # build without the cache encodes the clip whole (one job: nothing is kept for an edit),
    # and its bytes are the chunked cast's.
    assert "segment 2: clip take.ogv" in build(recipe, output=folder / "cold.dv", use_cache=False)
    assert sha256(folder / "build" / "cast.dv") == sha256(folder / "cold.dv")
    # The start moved (frames 45-115: 45-50, 50-75, 75-100, 100-115): the new first chunk and
    # the last (its fade is timed from the clip's start) are encoded; the two between are the
    # previous cast's own bytes, copied to their new place (the previous cast kept whole until
    # the patched one replaces it), their timecode counted on from there.
    recipe.write_text(recipe.read_text().replace("start: 1.3", "start: 1.8"))
    assert sorted(build(recipe, force=True)) == ["segment 2: clip take.ogv chunk 1/4",
                                                 "segment 2: clip take.ogv chunk 4/4"]
    assert "segment 2: clip take.ogv" in build(recipe, output=folder / "cold.dv", use_cache=False, force=True)
    assert sha256(folder / "build" / "cast.dv") == sha256(folder / "cold.dv")
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "0")
    assert not [label for label in build(recipe, output=folder / "whole.dv") if "chunk" in label]
    chunked, whole = contents(folder / "build" / "cast.dv"), contents(folder / "whole.dv")
    assert len(chunked[0]) == 12 + round(2.8 * 25)
    assert chunked[0] == whole[0]
    assert np.array_equal(chunked[1], whole[1])


@pytest.mark.parametrize("edit", ["end: 5.6|end: 4.6", "start: 1.3|start: 1.8"])
def test_a_patch_that_fails_halfway_leaves_the_previous_cast_as_it_was(folder, wheel_ffmpeg, monkeypatch, edit):
    """A disk that fills (or a SIGKILL) halfway through a patch: seen before the fix, the
    previous cast was renamed away and edited in place, and then deleted (or left half-moved
    under a hidden name). Now the patch is a new file until whole: the previous cast is its
    bytes, under its name, and nothing is left beside it."""
    import errno

    from castkit.errors import WorkError
    from castkit.outputs import join

    recipe = write(folder, 1.3, 5.6)
    recipe.write_text(recipe.read_text().replace("build/cast.mp4", "build/cast.dv"))
    build(recipe)
    cast = folder / "build" / "cast.dv"
    before = sha256(cast)
    recipe.write_text(recipe.read_text().replace(*edit.split("|")))
    copy = join._copy
    calls = []

    def failing(*args, **kw):
        calls.append(args)
        if len(calls) == 2:  # the previous cast's bytes copied, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return copy(*args, **kw)

    monkeypatch.setattr(join, "_copy", failing)
    with pytest.raises(WorkError, match="No space left"):
        build(recipe, force=True)
    assert len(calls) == 2, "it failed inside the patch"
    assert sha256(cast) == before
    assert sorted(p.name for p in cast.parent.iterdir()) == ["cast.dv"]
    monkeypatch.setattr(join, "_copy", copy)
    build(recipe, force=True)  # and the next build patches it
    assert sha256(cast) != before


def test_a_dv_cast_is_hashed_for_its_record_while_it_is_joined(folder, ffmpeg_bin, monkeypatch):
    """The record of what castkit wrote (``cache.written``: the SHA-256 of each block of the
    cast) takes the blocks the join hashed while the segments were encoded: after the last
    encode only the cast's last, partial block is read again, and the record is a full hash's."""
    import hashlib
    import json

    from castkit.cache import written

    block = 3 * 144000 + 7  # blocks that end inside frames, and inside chunks
    monkeypatch.setattr(written, "BLOCK", block)
    recipe = write(folder, 1.3, 5.6)
    recipe.write_text(recipe.read_text().replace("build/cast.mp4", "build/cast.dv"))
    hashed = []
    record_written = written.record_written

    def recording(cache, output):
        sha256 = written.hashlib.sha256
        monkeypatch.setattr(written.hashlib, "sha256", lambda data=b"": hashed.append(len(data)) or sha256(data))
        try:
            record_written(cache, output)
        finally:
            monkeypatch.setattr(written.hashlib, "sha256", sha256)

    monkeypatch.setattr("castkit.builder.build.record_written", recording)
    build(recipe)
    data = (folder / "build" / "cast.dv").read_bytes()
    assert len(data) > 10 * block
    assert [n for n in hashed if n == block] == []  # no whole block read again
    assert len(data) % block in hashed
    record = json.loads(written.written_path(folder / ".castkit-cache", folder / "build" / "cast.dv").read_text())
    assert record["sha256-blocks"] == [hashlib.sha256(data[i:i + block]).hexdigest()
                                       for i in range(0, len(data), block)]


def test_a_cast_no_record_is_kept_of_is_not_hashed_while_it_is_joined(folder, ffmpeg_bin, monkeypatch):
    """--no-cache beside no cache folder keeps no record of what it wrote: nothing to hash
    (0.09 s of a deep trim's CPU). Beside a cache folder the record is kept, and hashed."""
    from castkit.cache import written
    from castkit.outputs import join

    monkeypatch.setattr(written, "BLOCK", 3 * 144000)
    hashed = []
    block_digest = join.block_digest
    monkeypatch.setattr(join, "block_digest", lambda fd, index: hashed.append(index) or block_digest(fd, index))
    recipe = write(folder, 1.3, 5.6)
    recipe.write_text(recipe.read_text().replace("build/cast.mp4", "build/cast.dv"))
    cast = folder / "build" / "cast.dv"
    build(recipe, use_cache=False)
    assert hashed == [] and not (folder / ".castkit-cache").exists()
    assert len(contents(cast)[0]) == 12 + round(4.3 * 25)  # a title, then the clip
    (folder / ".castkit-cache").mkdir()
    build(recipe, use_cache=False, force=True)
    assert hashed and written.written_path(folder / ".castkit-cache", cast).exists()
