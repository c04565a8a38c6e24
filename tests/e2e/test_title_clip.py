"""``castkit title`` end to end: exact-length DV clips and stills, and clean refusals."""

from __future__ import annotations

from fractions import Fraction

import pytest
from PIL import Image

from helpers import listing
from readers import decode, have, melt, playdv

pytestmark = pytest.mark.e2e


def test_four_second_pal_title(tmp_path, ffmpeg_bin, cli):
    out = tmp_path / "title.dv"
    result = cli("title", "Installing the Parallel Debugger", "--subtitle", "Part 1", "-o", out)
    assert result.code == 0, result.err
    d = decode(out, keep=(0, 99))
    assert (d.codec, d.width, d.height, d.pix_fmt, d.sar, d.rate) == (
        "dvvideo", 720, 576, "yuv420p", Fraction(16, 15), Fraction(25))
    assert d.frames == 100 and d.samples == 100 * 1920
    assert (d.audio_rate, d.audio_channels) == (48000, 2)
    assert max(d.audio_rms) == 0, "a title is silent"
    assert (d.stills[0] == d.stills[99]).all(), "a still card"
    plane = d.stills[0].astype(int)
    background = plane[5, 5]
    text_rows = [y for y in range(576) if (abs(plane[y] - background) > 60).any()]
    assert text_rows and 0.1 * 576 <= text_rows[0] and text_rows[-1] <= 0.9 * 576
    if have("melt"):
        m = melt(out)
        assert (m.length, m.sar, m.dar) == (100, Fraction(16, 15), Fraction(4, 3))
    if have("playdv"):
        lib = playdv(out, tmp_path, video=have("xvfb-run"))
        assert lib.aspect == "4:3" and lib.audio_bytes == 100 * 1920 * 4
        if have("xvfb-run"):
            assert lib.frames == 100


@pytest.mark.parametrize("aspect,sar,dar", [("4:3", Fraction(8, 9), Fraction(4, 3)), ("16:9", Fraction(32, 27), Fraction(16, 9))])
def test_ntsc_titles_conform(tmp_path, wheel_ffmpeg, cli, aspect, sar, dar):
    out = tmp_path / "title.avi"
    result = cli("title", "NTSC", "--standard", "ntsc", "--aspect", aspect, "--duration", "2.5", "-o", out)
    assert result.code == 0, result.err
    d = decode(out)
    assert d.container == "avi"
    assert (d.width, d.height, d.pix_fmt, d.sar, d.rate) == (720, 480, "yuv411p", sar, Fraction(30000, 1001))
    assert d.frames == 75  # 2.5 x 29.97 = 74.925
    assert d.samples == round(75 * 1601.6)
    if have("melt"):
        assert melt(out).dar == dar


def test_png_and_jpeg_stills_at_display_shape(tmp_path, cli):
    for name, size, args in [("a.png", (768, 576), []), ("b.jpg", (1024, 576), ["--aspect", "16:9"]),
                             ("c.png", (640, 480), ["--standard", "ntsc"])]:
        result = cli("title", "Hello", "-o", tmp_path / name, *args)
        assert result.code == 0, result.err
        with Image.open(tmp_path / name) as im:
            assert im.size == size
    assert listing(tmp_path) == ["a.png", "b.jpg", "c.png"]


@pytest.mark.parametrize(
    "args,named",
    [
        (["--font", "missing.ttf"], "missing.ttf"),
        (["--background", "nothere.png"], "nothere.png"),
        (["--color", "notacolour"], "notacolour"),
        (["--duration", "0"], "--duration"),
        (["--duration", "-3"], "--duration"),
        (["--duration", "soon"], "--duration"),
    ],
)
def test_bad_title_options_exit_2(tmp_path, cli, args, named, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("title", "Hello", "-o", "t.dv", *args)
    assert result.code == 2, result.err
    assert named in result.err and len(result.err.strip().splitlines()) == 1
    assert listing(tmp_path) == []


def test_not_a_font_and_empty_text(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fake.ttf").write_text("not a font")
    result = cli("title", "Hello", "--font", "fake.ttf", "-o", "t.png")
    assert result.code == 2 and "fake.ttf" in result.err
    result = cli("title", "   ", "-o", "t.png")
    assert result.code == 2 and "text" in result.err
    assert listing(tmp_path) == ["fake.ttf"]


def test_characters_the_font_lacks_exit_2_instead_of_boxes(tmp_path, cli, monkeypatch):
    """Seen failing before the fix: an emoji in a title and Japanese in its subtitle came out
    as empty boxes (DejaVu Sans has neither), silently, in the card and the cast."""
    monkeypatch.chdir(tmp_path)
    result = cli("title", "Ship it \U0001F680", "-o", "t.png")
    assert result.code == 2, result.err
    assert "'\U0001F680'" in result.err and "DejaVuSans-Bold.ttf" in result.err
    assert len(result.err.strip().splitlines()) == 1 and listing(tmp_path) == []
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("output: cast.dv\nsegments:\n  - title: \"Ship it \U0001F680\"\n"
                      "    subtitle: \"\u65e5\u672c\u8a9e\"\n    duration: 2\n", encoding="utf-8")
    result = cli("build", str(recipe), "--dry-run")
    assert result.code == 2, result.err
    line = result.err.strip()
    assert "cast.yaml:3:5:" in line and "'\U0001F680'" in line and "'\u65e5\u672c\u8a9e'" in line
    # Accents, Greek and Cyrillic are DejaVu's own: drawn, not refused.
    result = cli("title", "H\u00e9llo \u03a9\u03bc\u03ad\u03b3\u03b1 \u041f\u0440\u0438\u0432\u0435\u0442", "-o", "t.png")
    assert result.code == 0, result.err
    assert Image.open(tmp_path / "t.png").size[0] > 0
