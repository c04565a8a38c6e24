"""The bundled demo (the README's first command) builds, from a real screen capture."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from helpers import listing, sha256
from readers import decode, have, melt

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_demo_recipe_builds_the_cast(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    monkeypatch.setenv("CASTKIT_CACHE_DIR", str(tmp_path / "cache"))
    capture = ROOT / "assets" / "screencast.ogv"
    before = sha256(capture)
    out = tmp_path / "demo.dv"
    result = cli("build", ROOT / "recipes" / "demo.yaml", "-o", out, "-q")
    assert result.code == 0, result.err
    d = decode(out)
    # 3 s title, 0.5-6 s (137.5 frames, to even), 6-12 s zoomed, 2 s title.
    frames = [75, 138, 150, 50]
    assert d.frames == sum(frames) and d.samples == sum(frames) * 1920
    assert (d.width, d.height, d.sar) == (720, 576, Fraction(16, 15))
    assert d.lumas[0] < 20, "the title fades in from black"
    assert max(d.audio_rms[:75]) == 0, "titles are silent"
    assert max(d.audio_rms[80:150]) > 300, "the narration is heard in the capture"
    assert sha256(capture) == before
    assert listing(tmp_path).count("demo.dv") == 1
    if have("melt"):
        assert melt(out).length == sum(frames)
