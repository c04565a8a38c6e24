"""Issue 25, sound: a clip's gain, the music bed ducked under the narration, read back from the
outputs by the wheel ffmpeg and numpy (castkit's own code measures nothing here)."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG

pytestmark = pytest.mark.e2e
RATE = 48000


def write_recipe(folder: Path, text: str) -> Path:
    path = folder / "cast.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def samples(path: Path) -> np.ndarray:
    """The sound of a file, mono, float, 48 kHz, as the wheel ffmpeg decodes it."""
    raw = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                          "-map", "0:a:0", "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's sound, as the wheel ffmpeg measures it."""
    out = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
                          "-af", "ebur128=peak=true", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    summary = out[out.rfind("Summary:"):]
    return (float(re.search(r"I:\s+(-?[0-9.]+) LUFS", summary)[1]),
            float(re.search(r"Peak:\s+(-?[0-9.]+|-inf) dBFS", summary)[1]))


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sound-media")
    return media.theora(WHEEL_FFMPEG, root / "tone.ogv", "320x180", 15, 2.0, voice=(48000, 2, 2.0))


def test_a_clip_gain_lowers_that_clip_alone_through_the_loudness_step(tmp_path, tone, wheel_ffmpeg, cli):
    (tmp_path / "tone.ogv").symlink_to(tone)
    recipe = write_recipe(tmp_path, """
        outputs: [build/cast.dv, build/cast.mp4]
        segments:
          - clip: tone.ogv
          - clip: tone.ogv
            gain: -6
    """)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    for name in ("cast.dv", "cast.mp4"):
        sound = samples(tmp_path / "build" / name)
        assert abs(len(sound) - 4 * RATE) < 2048, name
        # The middle of each clip, away from the joins and the AAC's edges.
        first, second = sound[int(0.4 * RATE):int(1.6 * RATE)], sound[int(2.4 * RATE):int(3.6 * RATE)]
        assert rms_db(first) - rms_db(second) == pytest.approx(6, abs=0.2), name
    integrated, peak = ebur128(tmp_path / "build" / "cast.mp4")
    assert integrated == pytest.approx(-16, abs=1) and peak <= -1
