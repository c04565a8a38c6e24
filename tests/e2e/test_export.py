"""`castkit export`: the edit as a project for an editor, read back by the editor's own
engine (melt renders .mlt and .kdenlive), by opentimelineio, and by small parsers of SMIL
and CMX 3600 written here from the formats' descriptions, not from castkit's writers."""

from __future__ import annotations

import re
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from helpers import listing
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
        start: 0.6
        end: "0:03.6"
      - clip: captures/luma.ogv
        start: 5
        duration: 3
        crop: {x: 0, y: 0, width: 160, height: 120}
      - clip: captures/silent.ogv
        start: 0.4
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
    subprocess.run(["melt", str(edit), "-consumer", f"avformat:{out}", "real_time=0"],
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
    # One error line (the project's long voice-over is also warned about).
    errors = [line for line in result.err.splitlines() if line.startswith("castkit: error:")]
    assert result.code == 2 and len(errors) == 1 and "castkit did not write it" in errors[0], result.err
    assert edit.read_text() == "mine"
    assert cli("export", project, "-o", edit, "--force").code == 0
    assert edit.read_text() != "mine"
    bad = cli("export", project, "-o", tmp_path / "cast.xml")
    assert bad.code == 2 and "cast.xml" in bad.err


# (source name, source in, source out exclusive, record in, frames), in frames at 25 fps; a
# sped-up part uses frames x speed of its source.
PARTS = [("title", 0, 50, 0, 50), ("voice.ogv", 15, 90, 50, 75), ("luma.ogv", 125, 200, 125, 75),
         ("silent.ogv", 10, 48, 200, 19), ("title", 0, 25, 219, 25)]


def _export(project, cli, tmp_path, suffix):
    edit = tmp_path / f"cast{suffix}"
    result = cli("export", project, "-o", edit)
    assert result.code == 0, result.err
    return edit, result


def _source(name: str, src: str) -> bool:
    return src.endswith(".png") if name == "title" else Path(src).name == name


def test_otio_reads_back_with_the_cast_length_and_source_ranges(project, cli, tmp_path, wheel_ffmpeg):
    otio = pytest.importorskip("opentimelineio")
    edit, result = _export(project, cli, tmp_path, ".otio")
    assert "note:" in result.err and "crop" in result.err
    tl = otio.adapters.read_from_file(str(edit))
    assert tl.duration().to_frames() == sum(FRAMES)
    video, audio = tl.tracks
    assert video.kind == otio.schema.TrackKind.Video and audio.kind == otio.schema.TrackKind.Audio
    assert audio.duration().to_frames() == sum(FRAMES)
    clips = list(video.find_clips())
    assert len(clips) == len(PARTS)
    for clip, (name, first, _end, record, frames) in zip(clips, PARTS):
        assert _source(name, clip.media_reference.target_url), clip.name
        assert clip.source_range.start_time.to_frames() == first
        assert clip.source_range.duration.to_frames() == frames
        assert clip.range_in_parent().start_time.to_frames() == record
        assert clip.source_range.start_time.rate == 25
    assert clips[3].effects[0].time_scalar == 2
    assert [m.name for c in clips for m in c.markers] == ["Exported", "Thanks"]
    # Sound: the capture's own, the voice-over in place of the muted capture, silence for titles.
    sounds = [item for item in audio]
    assert [type(s).__name__ for s in sounds] == ["Gap", "Clip", "Gap", "Clip", "Gap"]
    assert sounds[3].media_reference.target_url.endswith("odd.ogv")
    for url in (c.media_reference.target_url for c in clips):
        assert Path(url.removeprefix("file://")).is_file()


def test_smil_lists_every_part_with_its_in_and_out(project, cli, tmp_path, wheel_ffmpeg):
    edit, result = _export(project, cli, tmp_path, ".smil")
    assert "note:" in result.err
    root = ET.parse(edit).getroot()
    ns = {"s": "http://www.w3.org/2001/SMIL20/Language"}
    assert root.tag == "{http://www.w3.org/2001/SMIL20/Language}smil"
    seqs = root.findall("s:body/s:seq", ns)
    assert len(seqs) == len(PARTS)
    for seq, (name, first, end, _record, _frames) in zip(seqs, PARTS):
        (video,) = seq.findall("s:video", ns)
        assert _source(name, video.get("src"))
        assert Path(video.get("src")).is_file()
        # Kino's clipEnd is inclusive.
        assert (int(video.get("clipBegin")), int(video.get("clipEnd"))) == (first, end - 1)


_EVENT = re.compile(r"^(\d{3})\s+(\S+)\s+(V)\s+(C)\s+" + r"\s+".join([r"(\d\d:\d\d:\d\d:\d\d)"] * 4) + r"\s*$")


def _frames(tc: str, fps: int = 25) -> int:
    h, m, s, f = map(int, tc.split(":"))
    return ((h * 60 + m) * 60 + s) * fps + f


def test_edl_lists_every_part_and_notes_the_crop(project, cli, tmp_path, wheel_ffmpeg):
    edit, result = _export(project, cli, tmp_path, ".edl")
    notes = [line for line in result.err.splitlines() if line.startswith("castkit: note:")]
    assert any("crop" in line for line in notes)
    lines = edit.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("TITLE: ") and "FCM: NON-DROP FRAME" in lines
    events, names = [], []
    for line in lines:
        match = _EVENT.match(line)
        if match:
            events.append(tuple(_frames(tc) for tc in match.groups()[4:]))
        elif line.startswith("* FROM CLIP NAME:"):
            names.append(line.split(":", 1)[1].strip())
    assert len(events) == len(PARTS)
    for (src_in, src_out, rec_in, rec_out), (name, first, end, record, frames) in zip(events, PARTS):
        assert (src_in, src_out, rec_in, rec_out) == (first, end, record, record + frames)
    assert names[1:4] == ["voice.ogv", "luma.ogv", "silent.ogv"]
    assert events[-1][3] == sum(FRAMES)


def test_exports_of_one_recipe_share_its_cards(project, cli, tmp_path, wheel_ffmpeg):
    for suffix in (".edl", ".smil"):
        assert cli("export", project, "-o", tmp_path / "edit" / f"cut{suffix}").code == 0
    assert [p.suffix for p in sorted((tmp_path / "edit" / "cut-cards").iterdir())] == [".png", ".png"]
    # A recipe that cannot be checked writes nothing, and says where it is wrong.
    project.write_text(project.read_text().replace("captures/luma.ogv", "captures/gone.ogv"))
    bad = cli("export", project, "-o", tmp_path / "other" / "cut.mlt")
    assert bad.code == 2 and "cast.yaml:" in bad.err and "gone.ogv" in bad.err
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("suffix", [".mlt", ".kdenlive"])
def test_a_hold_in_a_variable_rate_capture_is_noted_for_mlt(suffix, tmp_path, media_files, cli, wheel_ffmpeg):
    """MLT shows the picture after a hold from the hold's start (castkit holds the one before):
    an export whose clip spans a hold says so; one whose trim has none (from 5 s of the same
    capture, whose hold is 2.0-4.5 s) does not."""
    (tmp_path / "luma.ogv").write_bytes(media_files.luma_vfr.read_bytes())
    (tmp_path / "cast.yaml").write_text("target: pal-dv\noutput: cast.dv\nsegments:\n"
                                        "  - clip: luma.ogv\n    start: 1\n    end: 6\n"
                                        "  - clip: luma.ogv\n    start: 5\n")
    result = cli("export", tmp_path / "cast.yaml", "-o", tmp_path / f"edit{suffix}")
    assert result.code == 0, result.err
    held = [line for line in result.err.splitlines() if "holds pictures" in line]
    assert len(held) == 1 and "segment 1: luma.ogv holds pictures" in held[0], result.err
    assert "castkit convert" in held[0]


@pytest.mark.parametrize("suffix", [".mlt", ".kdenlive", ".otio", ".smil", ".edl"])
def test_what_the_cast_gets_after_the_edit_is_noted(suffix, tmp_path, media_files, cli, wheel_ffmpeg):
    """Seen failing before the fix (a fault campaign): captions, chapters and the loudness
    step were left out of every project without a word, and Kino's SMIL played a clip's
    own sound where the cast is silent (audio: none)."""
    if suffix == ".otio":
        pytest.importorskip("opentimelineio")
    (tmp_path / "voice.ogv").symlink_to(media_files.voice_1366)
    (tmp_path / "words.srt").write_text("1\n00:00:00,500 --> 00:00:01,500\nHello\n", encoding="utf-8")
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("output: cast.dv\nloudness: -20\nsegments:\n"
                      "  - {title: Start, duration: 1}\n"
                      "  - {clip: voice.ogv, end: 2, captions: words.srt, chapter: Part one}\n"
                      "  - {clip: voice.ogv, start: 2, end: 3, audio: none}\n", encoding="utf-8")
    result = cli("export", recipe, "-o", tmp_path / f"edit{suffix}")
    assert result.code == 0, result.err
    notes = [line for line in result.err.splitlines() if line.startswith("castkit: note:")]
    assert any("segment 2: its captions (words.srt) are not exported" in n for n in notes), notes
    chapters = [n for n in notes if "chapters (" in n]
    # OTIO marks each title (the chapter Start begins): only the clip's chapter is left.
    expected = "chapters ('Part one')" if suffix == ".otio" else "chapters ('Start', 'Part one')"
    assert len(chapters) == 1 and expected in chapters[0], notes
    assert any("step to -20 LUFS is not exported" in n for n in notes), notes
    assert any("segment 3 plays its capture's own sound" in n for n in notes) == (suffix == ".smil"), notes
