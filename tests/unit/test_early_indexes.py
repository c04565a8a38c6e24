"""A deep trim's keyframe index read while castkit starts (``builder.indexes``): the build takes
up the read ``castkit build`` started early, reads a capture again if it changed meanwhile, and
an early read says nothing of a recipe that cannot be read (the build says it)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from castkit.base.files import path_identity
from castkit.builder import indexes
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.media.seek import FrameIndex, index_argv
from castkit.recipe.reader import read_recipe

FFMPEG = Ffmpeg("/usr/bin/ffmpeg", "test", "9.0.2")
RECIPE = """\
target: pal-dv
output: cast.dv
segments:
  - clip: take.ogv
    start: {start}
    end: {end}
"""


class Reads(list):
    """The captures whose index was read, in order; each read holds until ``release()``."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def reads(monkeypatch) -> Reads:
    """Each index read, by capture, instead of an ffmpeg."""
    read = Reads()

    def fake(path: Path, ffmpeg: Ffmpeg) -> FrameIndex:
        read.append(path)
        read.gate.wait(10)
        return FrameIndex((), 0)

    monkeypatch.setattr(indexes, "read_index", fake)
    monkeypatch.setattr(indexes, "find_ffmpeg", lambda: FFMPEG)
    monkeypatch.setattr(indexes, "_EARLY", {})
    yield read
    read.release()


def recipe_in(tmp_path: Path, start: float = 60, end: float = 90) -> Path:
    (tmp_path / "take.ogv").write_bytes(b"not a real capture; the index read is replaced")
    path = tmp_path / "cast.yaml"
    path.write_text(RECIPE.format(start=start, end=end))
    return path


def test_the_build_takes_up_the_read_started_early(reads, tmp_path):
    path = recipe_in(tmp_path)
    indexes.read_soon(path)
    early = dict(indexes._EARLY)
    assert list(early) == [tmp_path / "take.ogv"]
    found = indexes.readings(read_recipe(path)[0], FFMPEG)
    assert found == early and not indexes._EARLY  # taken up once, then gone
    reads.release()
    found[tmp_path / "take.ogv"].join(10)
    assert reads == [tmp_path / "take.ogv"]  # one read, not two
    assert found[tmp_path / "take.ogv"].index == FrameIndex((), 0)


def test_a_capture_changed_after_the_early_read_is_read_again(reads, tmp_path):
    path = recipe_in(tmp_path)
    indexes.read_soon(path)
    take = tmp_path / "take.ogv"
    with open(take, "ab") as f:  # the recorder wrote on, or the file was replaced
        f.write(b"more")
    found = indexes.readings(read_recipe(path)[0], FFMPEG)
    assert found[take] is not None and found[take].identity == path_identity(take)
    reads.release()
    found[take].join(10)
    assert reads == [take, take]


def test_another_ffmpeg_reads_again(reads, tmp_path):
    path = recipe_in(tmp_path)
    indexes.read_soon(path)
    other = Ffmpeg("/opt/ffmpeg", "test", "5.1.4")
    found = indexes.readings(read_recipe(path)[0], other)
    reads.release()
    found[tmp_path / "take.ogv"].join(10)
    assert found[tmp_path / "take.ogv"].ffmpeg == other and len(reads) == 2


def test_a_clip_near_its_start_reads_no_index(reads, tmp_path):
    indexes.read_soon(recipe_in(tmp_path, start=0.5, end=10))
    assert not indexes._EARLY and not reads


@pytest.mark.parametrize("text", ["segments: [", "segments:\n  - clip: take.ogv\n    start: soon\n"])
def test_an_early_read_of_a_broken_recipe_says_nothing(reads, tmp_path, text, capsys):
    path = tmp_path / "cast.yaml"
    path.write_text(text)
    indexes.read_soon(path)
    indexes.read_soon(tmp_path / "missing.yaml")
    assert not indexes._EARLY and not reads
    assert capsys.readouterr() == ("", "")


def test_castkit_build_reads_a_deep_trims_index_once(reads, tmp_path, cli, monkeypatch):
    """The CLI starts the read before the builder is imported; the build (here stopped by the
    capture that is no video, after its index was taken up) starts no second one."""
    class Early(dict):
        taken: list[Path] = []

        def pop(self, key, default=None):
            found = super().pop(key, default)
            if found is not None:
                self.taken.append(key)
            return found

    monkeypatch.setattr(indexes, "_EARLY", Early())
    monkeypatch.setattr(indexes, "find_ffmpeg", find_ffmpeg)  # the one the build finds
    reads.release()
    path = recipe_in(tmp_path)
    result = cli("build", path, "--no-cache")
    assert result.code == 2 and "take.ogv" in result.err
    assert reads == [tmp_path / "take.ogv"] and Early.taken == [tmp_path / "take.ogv"]


def test_the_index_is_written_in_blocks_not_a_write_per_packet():
    argv = index_argv(Path("/c/take.ogv"), FFMPEG)
    assert argv[-7:] == ["-c", "copy", "-flush_packets", "0", "-f", "framecrc", "-"]
    assert os.fspath(argv[argv.index("-i") + 1]) == "file:/c/take.ogv"
