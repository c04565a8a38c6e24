"""Captures as real recorders write them (issue 17): sound with dropped packets, colour-tagged
WebM, NTSC casts of many segments, recordings killed before they were closed. Checked with
PyAV, never with castkit's own code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

import media
from conftest import WHEEL_FFMPEG
from readers import channels, decode

pytestmark = pytest.mark.e2e

CLICK_EVERY = 0.5  # seconds between the voice's clicks
CLICKS_SECONDS = 5.0


def dropped_sound(out: Path) -> Path:
    """A 5 s capture whose voice is a 2 kHz click every 0.5 s, with a 40-60 ms stretch of its
    audio packets dropped after every click (timestamps kept), as a recorder that cannot keep
    up writes it: the clicks must stay at 0, 0.5, 1.0 ... s, not run earlier and earlier."""
    voice = {".mkv": ["-c:a", "libopus", "-b:a", "96k"], ".mp4": ["-c:a", "aac"],
             ".ts": ["-c:a", "aac"]}[out.suffix]
    clicks = (f"aevalsrc='if(lt(mod(t\\,{CLICK_EVERY})\\,0.004)\\,0.8*sin(2*PI*2000*t)\\,0)'"
              f":s=48000:d={CLICKS_SECONDS},asetnsamples=960,"
              f"aselect='not(between(mod(t\\,{CLICK_EVERY})\\,0.2\\,0.25))'")
    return media.make(WHEEL_FFMPEG, out, "-f", "lavfi", "-i",
                      f"testsrc2=size=320x240:rate=15:duration={CLICKS_SECONDS}",
                      "-f", "lavfi", "-i", clicks, "-c:v", "libx264", "-preset", "veryfast",
                      *voice, "-ac", "2")


def onsets(path: Path, threshold: float = 0.2) -> list[float]:
    """Seconds at which each click starts, every decoded sample placed at its frame's
    timestamp (from the file's start): where the file's timestamps put the sound."""
    found: list[float] = []
    with av.open(str(path)) as container:
        start = container.start_time / 1e6 if container.start_time is not None else 0.0
        last = -10.0
        for frame in container.decode(audio=0):
            pcm = channels(frame).astype(np.float64)
            if np.issubdtype(frame.to_ndarray().dtype, np.integer):
                pcm /= 32768
            for i in np.flatnonzero(np.abs(pcm).max(axis=0) > threshold):
                t = float(frame.time) - start + i / frame.sample_rate
                if t - last > 0.1:
                    found.append(t)
                last = t
    return found


@pytest.fixture(scope="module")
def gappy(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gappy")
    return {ext: dropped_sound(root / f"gaps{ext}") for ext in (".mkv", ".mp4", ".ts")}


@pytest.mark.parametrize("ext", [".mkv", ".mp4", ".ts"])
def test_sound_with_dropped_packets_stays_on_its_timestamps(gappy, ext, tmp_path, ffmpeg_bin, cli):
    """Every click of the DV cast and of an MP4 web master starts within one frame of where
    the capture's timestamps put it. Before the fix (aresample's 0.1 s min_hard_comp) the
    gaps were not filled until 0.1 s had piled up: clicks 73 ms (MKV/Opus), 80 ms (MP4/AAC)
    and 59 ms (MPEG-TS) early in the DV, more than PAL's 40 ms frame."""
    source = gappy[ext]
    expected = onsets(source)
    assert len(expected) == round(CLICKS_SECONDS / CLICK_EVERY)
    # The capture really has gaps: played back to back, its clicks run early.
    with av.open(str(source)) as c:
        back_to_back = sum(f.samples for f in c.decode(audio=0)) / 48000
    assert back_to_back < CLICKS_SECONDS - 0.2
    for suffix, fps in ((".dv", 25), (".mp4", 30)):
        out = tmp_path / f"cast{suffix}"
        result = cli("convert", source, "-o", out, "-q")
        assert result.code == 0, result.err
        got = onsets(out)
        assert len(got) == len(expected), (suffix, got)
        late = [round((g - e) * 1000, 1) for g, e in zip(got, expected)]
        assert max(map(abs, late)) < 1000 / fps, (suffix, late)
