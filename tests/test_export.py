"""`castkit export`: the edit as a project for an editor, read back by the editor's own
engine (melt renders .mlt and .kdenlive), by opentimelineio, and by small parsers of SMIL
and CMX 3600 written here from the formats' descriptions, not from castkit's writers."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from conftest import listing
from readers import decode, have

pytestmark = pytest.mark.e2e

RECIPE = """
    target: pal-dv
    output: build/cast.dv
    title_style: {background: "#c02020", color: "#ffffff"}
    segments:
      - title: "Exported"
        subtitle: "to an editor"
        duration: 2
        fade_in: 0.5
      - clip: captures/voice.ogv
        start: 0.5
        end: "0:03.5"
      - clip: captures/luma.ogv
        start: 5
        duration: 3
        crop: {x: 0, y: 0, width: 160, height: 120}
      - clip: captures/silent.ogv
        start: 0.5
        duration: 1.5
        speed: 2
        audio: captures/odd.ogv
      - title: Thanks
        duration: 1
        fade_out: 0.5
"""
# 2 s, 3 s, 3 s, 1.5 s at 2x (18.75 frames), 1 s at 25 fps. The sped-up part is of a
# constant-rate capture: melt's timewarp cannot seek a variable-rate one (castkit says so).
FRAMES = [50, 75, 75, 19, 25]


@pytest.fixture
def project(tmp_path, media_files) -> Path:
    caps = tmp_path / "captures"
    caps.mkdir()
    for name, src in {"voice.ogv": media_files.voice_1366, "luma.ogv": media_files.luma_vfr,
                      "silent.ogv": media_files.silent_1080,
                      "odd.ogv": media_files.odd_12fps_long_voice}.items():
        (caps / name).write_bytes(src.read_bytes())
    recipe = tmp_path / "cast.yaml"
    recipe.write_text(textwrap.dedent(RECIPE).lstrip("\n"), encoding="utf-8")
    return recipe


@pytest.fixture
def cast(project, cli, wheel_ffmpeg):
    """castkit's own DV cast of the recipe, decoded."""
    result = cli("build", project, "-q")
    assert result.code == 0, result.err
    return decode(project.parent / "build" / "cast.dv")


def starts() -> list[int]:
    return list(np.cumsum([0] + FRAMES))


def render(edit: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"{edit.suffix[1:]}-render.dv"
    subprocess.run(["melt", str(edit), "-consumer", f"avformat:{out}"],
                   check=True, capture_output=True, timeout=600)
    return out


def same_content(mine, theirs) -> None:
    """The melt render shows what castkit's cast shows at sample times, and sounds alike."""
    assert theirs.frames == mine.frames == sum(FRAMES)
    s = starts()
    for seg in range(len(FRAMES)):
        for k in (s[seg] + FRAMES[seg] // 2, s[seg + 1] - 3):
            assert abs(theirs.lumas[k] - mine.lumas[k]) < 12, f"segment {seg + 1}, frame {k}"
    # The title card's colour: the red background, in both.
    mid = s[0] + 30
    assert mine.chroma[mid][1] > 180 and theirs.chroma[mid][1] > 180
    # Fades: the first title starts from black, the last ends in black.
    assert theirs.lumas[0] < 20 and theirs.lumas[-1] < 20
    rms_mine, rms_theirs = np.array(mine.audio_rms), np.array(theirs.audio_rms)
    for seg, loud in ((0, False), (1, True), (3, True), (4, False)):
        window = slice(s[seg] + 3, s[seg] + min(40, FRAMES[seg] - 3))
        if loud:
            assert rms_theirs[window].min() > 300 and rms_mine[window].min() > 300, f"segment {seg + 1}"
        else:
            assert rms_theirs[window].max() < 50, f"segment {seg + 1} is silent"


@pytest.mark.skipif(not have("melt"), reason="melt not installed")
@pytest.mark.parametrize("suffix", [".mlt", ".kdenlive"])
def test_melt_renders_the_export_like_castkit(suffix, project, cast, cli, tmp_path):
    edit = tmp_path / "edits" / f"cast{suffix}"
    edit.parent.mkdir()
    result = cli("export", project, "-o", edit)
    assert result.code == 0, result.err
    cards = sorted(p.name for p in (edit.parent / "cast-cards").iterdir())
    assert len(cards) == 2 and all(c.endswith(".png") for c in cards)
    root = ET.parse(edit).getroot()
    if suffix == ".mlt":
        main = root.findall("tractor")[-1]
        assert main.find("property[@name='shotcut']").text == "1"
    else:
        assert root.find("playlist").get("id") == "main_bin"
        assert root.find(".//property[@name='kdenlive:docproperties.version']").text == "1.1"
        assert root.findall("tractor")[-1].find("property[@name='kdenlive:projectTractor']") is not None
    # Captures referenced where they are, not copied.
    text = edit.read_text(encoding="utf-8")
    assert str(project.parent / "captures" / "luma.ogv") in text
    same_content(cast, decode(render(edit, tmp_path)))
    assert listing(edit.parent) == ["cast-cards", *(f"cast-cards/{c}" for c in cards), f"cast{suffix}"]


def test_export_never_overwrites_without_force(project, cli, tmp_path, wheel_ffmpeg):
    edit = tmp_path / "cast.mlt"
    edit.write_text("mine")
    result = cli("export", project, "-o", edit)
    assert result.code == 2 and "already exists" in result.err and result.err.count("\n") == 1
    assert edit.read_text() == "mine"
    assert cli("export", project, "-o", edit, "--force").code == 0
    assert edit.read_text() != "mine"
    bad = cli("export", project, "-o", tmp_path / "cast.xml")
    assert bad.code == 2 and "cast.xml" in bad.err
