"""Long captures are encoded as slices side by side: the cast is the very frames and sound of
an unsliced build, and slices are cache entries like segments."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG, sha256

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def long_take(tmp_path_factory) -> Path:
    """A minute and a bit of tiny variable-rate capture with a voice, long enough to slice."""
    root = tmp_path_factory.mktemp("long")
    return media.theora(WHEEL_FFMPEG, root / "long.ogv", "160x120", 5, 62.0,
                        voice=(22050, 1, 61.0), pattern="luma", drop="between(t,20,26)")


def contents(path: Path) -> tuple[list[str], np.ndarray]:
    """Per-frame hashes of the decoded pictures, and every sample, by PyAV."""
    hashes, pcm = [], []
    with av.open(str(path)) as container:
        for packet in container.demux():
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    hashes.append(hashlib.sha1(frame.to_ndarray().tobytes()).hexdigest())
                else:
                    pcm.append(frame.to_ndarray().reshape(-1))
    return hashes, np.concatenate(pcm)


def test_a_long_capture_is_sliced_and_equals_the_unsliced_cast(tmp_path, long_take, ffmpeg_bin, monkeypatch):
    from castkit.builder import plan as _build
    from castkit.builder.build import build
    from castkit.run.runner import FfmpegRunner

    # Slices are what a DV cast's long clip is encoded in without chunks (and in NTSC DV).
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "0")
    (tmp_path / "long.ogv").symlink_to(long_take)
    recipe = tmp_path / "cast.yaml"
    recipe.write_text(textwrap.dedent("""
        output: build/cast.dv
        loudness: off   # slices of a limited cast are limited slice by slice (see README)
        segments:
          - title: Long take
            duration: 1
          - clip: long.ogv
            start: 0.5
            fade_out: 1
    """))

    class Counting(FfmpegRunner):
        def run(self, plan):
            self.ran = [job.label for job in plan.jobs]
            super().run(plan)

    sliced = Counting()
    build(recipe, runner=sliced, workers=2)
    assert [label for label in sliced.ran if "slice" in label] != [], sliced.ran
    assert sum("slice" in label for label in sliced.ran) == _build.available_cores()
    cast = tmp_path / "build" / "cast.dv"
    sliced_frames, sliced_pcm = contents(cast)
    assert len(sliced_frames) == 25 + round(61.5 * 25)

    nothing = Counting()
    before = sha256(cast)
    build(recipe, runner=nothing, force=True)
    assert [label for label in nothing.ran if not label.startswith("join")] == []
    assert sha256(cast) == before

    monkeypatch.setattr(_build, "available_cores", lambda: 1)
    whole = Counting()
    build(recipe, runner=whole, output=tmp_path / "whole.dv", use_cache=False)
    assert not [label for label in whole.ran if "slice" in label]
    whole_frames, whole_pcm = contents(tmp_path / "whole.dv")
    assert sliced_frames == whole_frames
    assert np.array_equal(sliced_pcm, whole_pcm)
