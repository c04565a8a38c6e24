"""Issue 14, ready to publish: chapters, loudness and captions, read back by independent
readers (PyAV, the wheel ffmpeg's own filters, pysubs2)."""

from __future__ import annotations

import os
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import pytest

import media
from helpers import WHEEL_FFMPEG

pytestmark = pytest.mark.e2e


def write_recipe(folder: Path, text: str) -> Path:
    path = folder / "cast.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def publish_media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("publish-media")
    return {
        "tone": media.theora(WHEEL_FFMPEG, root / "tone.ogv", "320x240", 15, 3.0,
                             voice=(48000, 2, 3.0)),
    }


@pytest.fixture
def folder(tmp_path, publish_media) -> Path:
    for path in publish_media.values():
        os.link(path, tmp_path / path.name)
    return tmp_path


CHAPTERS = """
    outputs: [build/cast.mp4, build/cast.webm]
    loudness: off
    segments:
      - title: "Intro = start; #1 \\\\ done"
        duration: 1
      - clip: tone.ogv
        end: 1.5
        chapter: The tone
      - clip: tone.ogv
        start: 1.5
      - title: End
        duration: 0.5
"""


def test_titles_and_clips_start_chapters_in_mp4_and_webm(folder, ffmpeg_bin, cli):
    recipe = write_recipe(folder, CHAPTERS)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    build = folder / "build"
    # At 30 fps: the title 30 frames, the clip's halves 45 + 45, the end title 15.
    expected = [(Fraction(0), "Intro = start; #1 \\ done"), (Fraction(1), "The tone"),
                (Fraction(4), "End")]
    for name in ("cast.mp4", "cast.webm"):
        with av.open(str(build / name)) as container:
            got = [(Fraction(c["start"]) * c["time_base"], c["metadata"]["title"])
                   for c in container.chapters()]
            ends = [Fraction(c["end"]) * c["time_base"] for c in container.chapters()]
        assert got == expected, name
        assert ends == [1, 4, Fraction(9, 2)], name
    assert (build / "cast.chapters.txt").read_text() == (
        "0:00 Intro = start; #1 \\ done\n0:01 The tone\n0:04 End\n")
    # Fewer than three chapters of 10 s: YouTube would ignore them, and castkit says so once.
    warnings = [line for line in result.err.splitlines() if "YouTube" in line]
    assert len(warnings) == 1 and warnings[0].startswith("castkit: warning: "), result.err
    # The list is an output like the casts: castkit's own is replaced, an edited one only
    # with --force.
    (build / "cast.mp4").unlink()
    (build / "cast.webm").unlink()
    (build / "cast.chapters.txt").write_text("0:00 my own chapters\n")
    again = cli("build", recipe, "-q")
    assert again.code == 2 and "cast.chapters.txt: changed since castkit wrote it" in again.err, again.err


# --- loudness -------------------------------------------------------------------------------

import re
import subprocess

import numpy as np

from readers import decode, read_web

# A narration: a 300 Hz voice, syllables at 3 Hz, pauses, and short 900 Hz accents that peak
# well above the rest (what a limiter has to catch once the whole is lifted).
NARRATION = ("0.15*sin(2*PI*300*t)*(0.6+0.4*sin(2*PI*3*t))*lt(mod(t\\,1)\\,0.7)"
             "+0.9*sin(2*PI*900*t)*lt(mod(t\\,2)\\,0.03)")


def narration(folder: Path, name: str, gain_db: float, expr: str = NARRATION) -> Path:
    return media.make(
        WHEEL_FFMPEG, folder / name, "-f", "lavfi", "-i", "color=gray:size=320x240:rate=15:duration=4",
        "-f", "lavfi", "-i", f"aevalsrc=exprs='{expr}':s=48000:d=4:c=stereo",
        "-af", f"volume={gain_db}dB", "-c:v", "libtheora", "-c:a", "flac", "-shortest")


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's sound, as the wheel ffmpeg measures it."""
    out = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
                          "-af", "ebur128=peak=true", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    summary = out[out.rfind("Summary:"):]
    return (float(re.search(r"I:\s+(-?[0-9.]+) LUFS", summary)[1]),
            float(re.search(r"Peak:\s+(-?[0-9.]+|-inf) dBFS", summary)[1]))


QUIET = """
    outputs: [build/cast.dv, build/cast.mp4, build/cast.webm]
    segments:
      - title: Quiet
        duration: 1
      - clip: quiet.mkv
"""


def test_a_quiet_narration_comes_out_at_minus_16_lufs_under_minus_1_dbtp(tmp_path, ffmpeg_bin, cli):
    source = narration(tmp_path, "quiet.mkv", -24)
    recipe = write_recipe(tmp_path, QUIET)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    before = ebur128(source)
    for name in ("cast.dv", "cast.mp4", "cast.webm"):
        integrated, peak = ebur128(tmp_path / "build" / name)
        print(f"\n{name}: source {before}, cast I {integrated} LUFS, TP {peak} dBTP")
        assert abs(integrated + 16) <= 1 and peak <= -1, (name, before, integrated, peak)
        if name == "cast.dv":
            dv = decode(tmp_path / "build" / name)
            assert dv.audio_rate == 48000
            assert not any(dv.audio_rms[:25]), "the DV title is not digitally silent"
            continue
        cast = read_web(tmp_path / "build" / name)
        assert cast.audio_rate == 48000
        # The title is digitally silent, lifted or not (up to the codec's overlap at its end).
        assert not cast.pcm[: 43200].any(), name
    # Nothing changed: nothing is measured again (the cached filter is used).
    script = next((tmp_path / ".castkit-cache").glob("loudness-*.af"))
    # Lifted by about 24 dB, the accents would pass -1 dBTP: the limiter is what holds them.
    assert "alimiter" in script.read_text()
    stamp = script.stat().st_mtime_ns
    assert cli("build", recipe, "-q", "--force").code == 0
    assert script.stat().st_mtime_ns == stamp
    # A damaged measurement is measured again, never handed to a join (seen before the fix: the
    # cast at the damaged script's gain, 26 dB louder and clipping).
    made = {name: (tmp_path / "build" / name).read_bytes() for name in ("cast.dv", "cast.mp4")}
    chain = script.read_text()
    script.write_text("volume=26.00dB")
    assert cli("build", recipe, "-q", "--force").code == 0
    assert script.read_text() == chain
    for name, data in made.items():
        assert (tmp_path / "build" / name).read_bytes() == data, name


def test_loudness_off_keeps_the_recorded_level(tmp_path, wheel_ffmpeg, cli):
    """The clip alone: with a silent title before it, R128's 400 ms blocks fall elsewhere on
    this short, accented sound and its gated loudness reads 1 LU apart, samples unchanged."""
    source = narration(tmp_path, "quiet.mkv", -24)
    recipe = write_recipe(tmp_path, """
        outputs: [build/cast.dv, build/cast.mp4]
        loudness: off
        segments:
          - clip: quiet.mkv
    """)
    assert cli("build", recipe, "-q").code == 0
    level, peak = ebur128(source)
    for name in ("cast.dv", "cast.mp4"):
        got = ebur128(tmp_path / "build" / name)
        # AAC moves true peaks by a few tenths of a dB
        assert abs(got[0] - level) <= 0.3 and abs(got[1] - peak) <= 0.5, (name, got, level, peak)


def test_a_loud_wide_range_source_is_turned_down_by_one_gain_not_pumped(tmp_path, wheel_ffmpeg, cli):
    """Loud and soft passages (a range of 20 dB): one gain turns the whole down. The envelope
    of output over input (400 ms windows, the short-term loudness's span) is constant: loudnorm's
    dynamic mode would lift the soft passage and flatten the range."""
    expr = "0.9*sin(2*PI*300*t)*if(lt(mod(t\\,2)\\,1)\\,1\\,0.1)"
    source = narration(tmp_path, "loud.mkv", 0, expr)
    recipe = write_recipe(tmp_path, """
        output: build/cast.mp4
        segments:
          - clip: loud.mkv
    """)
    assert cli("build", recipe, "-q").code == 0
    cast = read_web(tmp_path / "build" / "cast.mp4")
    assert cast.audio_rate == 48000
    with av.open(str(source)) as container:
        from readers import channels
        original = np.concatenate([channels(f).astype(np.float64).mean(axis=0)
                                   for f in container.decode(audio=0)])
    window = 19200
    n = min(len(original), len(cast.pcm)) // window
    ratio = [20 * np.log10(np.sqrt((cast.pcm[i * window:(i + 1) * window] ** 2).mean())
                           / np.sqrt((original[i * window:(i + 1) * window] ** 2).mean()))
             for i in range(n)]
    # (The source decodes as integer samples, the cast as floats: the ratio carries a constant
    # scale; only its spread counts.) Measured: a spread of 0.01 dB over the 10 windows.
    assert max(ratio) - min(ratio) <= 0.5, ratio
    integrated, peak = ebur128(tmp_path / "build" / "cast.mp4")
    assert abs(integrated + 16) <= 1 and peak <= -1


@pytest.mark.parametrize("value, ok", [("-16", True), ("-23.5", True), ("off", True),
                                       ("-80", False), ("0", False), ("loud", False)])
def test_loudness_key_is_checked_at_its_line_and_column(tmp_path, value, ok):
    from castkit.recipe.reader import read_recipe

    path = write_recipe(tmp_path, f"""
        loudness: {value}
        segments:
          - title: A
    """)
    recipe, problems = read_recipe(path)
    if ok:
        assert not problems
        assert recipe.loudness == (None if value == "off" else Fraction(value))
    else:
        assert [(p.line, p.column) for p in problems] == [(1, 11)], problems
        assert "LUFS" in problems[0].message


# --- captions -------------------------------------------------------------------------------

import pysubs2

SRT = """1
00:00:00,200 --> 00:00:00,400
before the trim

2
00:00:00,400 --> 00:00:01,000
crossing the start

3
00:00:01,200 --> 00:00:01,800
inside, two
lines

4
00:00:02,300 --> 00:00:02,800
crossing the end

5
00:00:02,600 --> 00:00:03,000
past the end
"""

CAPTIONS = """
    outputs: [build/cast.dv, build/cast.mp4, build/cast.webm]
    loudness: off
    segments:
      - title: Captions
        duration: 1
      - clip: tone.ogv
        start: 0.5
        end: 2.5
        speed: 2
        captions: talk.srt
"""
# Source time t of the clip (kept from 0.5 s to 2.5 s, twice as fast) after the 1 s title:
# cast time 1 + (t - 0.5) / 2; cues clamped to the kept part, the first and last dropped.
EXPECTED_CUES = [(1.0, 1.25, "crossing the start"), (1.35, 1.65, "inside, two\nlines"),
                 (1.9, 2.0, "crossing the end")]


def test_captions_are_retimed_through_trim_and_speed_into_every_output(folder, ffmpeg_bin, cli):
    (folder / "talk.srt").write_text(SRT, encoding="utf-8")
    recipe = write_recipe(folder, CAPTIONS)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    build = folder / "build"
    frame = 1 / 30  # the web masters' frame; DV's 1/25 is longer
    for name in ("cast.srt", "cast.vtt"):
        subs = pysubs2.load(str(build / name))
        got = [(e.start / 1000, e.end / 1000, e.plaintext) for e in subs]
        assert len(got) == len(EXPECTED_CUES), (name, got)
        for (a, b, text), (ea, eb, etext) in zip(got, EXPECTED_CUES):
            assert abs(a - ea) < frame and abs(b - eb) < frame and text == etext, (name, got)
    # The MP4's soft track (mov_text) and the WebM's (WebVTT) decode, at the same times
    # (counted from the first picture: WebM's video starts after Opus's few ms of delay).
    for name, codec in (("cast.mp4", "mov_text"), ("cast.webm", "webvtt")):
        with av.open(str(build / name)) as container:
            video = container.streams.video[0]
            first = float(video.start_time * video.time_base)
            stream = container.streams.subtitles[0]
            assert stream.codec_context.name == codec
            cues = []
            for packet in container.demux(stream):
                for sub in packet.decode():
                    start = float(packet.pts * stream.time_base) - first
                    end = start + float(packet.duration * stream.time_base)
                    cues.append((start, end, sub))
        assert len(cues) == len(EXPECTED_CUES), name
        for (a, b, sub), (ea, eb, etext) in zip(cues, EXPECTED_CUES):
            assert abs(a - ea) < frame and abs(b - eb) < frame, (name, a, b)
            text = getattr(sub, "dialogue", None) or getattr(sub, "ass", b"")
            assert etext.split("\n")[0].encode() in bytes(text), (name, text)
    # The sidecars are outputs: one changed since castkit wrote it is refused without --force.
    for path in build.iterdir():
        if path.suffix in (".dv", ".mp4", ".webm", ".txt"):
            path.unlink()
    (build / "cast.srt").unlink()
    (build / "cast.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nmine\n")
    again = cli("build", recipe, "-q")
    assert again.code == 2 and "cast.srt: changed since castkit wrote it" in again.err, again.err


def test_the_sidecar_of_a_dv_and_a_web_cast_of_one_name_has_the_web_cast_s_times(folder, wheel_ffmpeg, cli):
    """cast.dv and cast.mp4 share cast.srt, which a player loads beside the MP4. Six sped-up
    parts round to each cast's frames (17 DV frames of 0.68 s, 20 web frames of 0.667 s): the
    clip after them starts 80 ms later in the DV, and the sidecar has the MP4's times."""
    (folder / "talk.srt").write_text(SRT, encoding="utf-8")
    sped = "      - {clip: tone.ogv, start: 0, end: 1, speed: 1.5}\n" * 6
    recipe = write_recipe(folder, "outputs: [build/cast.dv, build/cast.mp4]\nloudness: off\nsegments:\n" + sped
                          + "      - {clip: tone.ogv, start: 0.5, end: 2.5, captions: talk.srt}\n")
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    build = folder / "build"
    with av.open(str(build / "cast.mp4")) as container:
        video = container.streams.video[0]
        first = float(video.start_time * video.time_base)
        stream = container.streams.subtitles[0]
        # mov_text fills the time between cues with empty samples (2 bytes: no text).
        embedded = [float(packet.pts * stream.time_base) - first
                    for packet in container.demux(stream) if packet.pts is not None and packet.size > 2]
    starts = [e.start / 1000 for e in pysubs2.load(str(build / "cast.srt"))]
    assert len(starts) == len(embedded) == 3
    assert starts == pytest.approx(embedded, abs=0.002)
    assert starts[0] == pytest.approx(4.0, abs=0.002), "six parts of 20 frames at 30 fps"


def test_a_missing_captions_file_is_reported_at_its_line(folder, cli):
    recipe = write_recipe(folder, CAPTIONS.replace("talk.srt", "nowhere.srt"))
    result = cli("build", recipe, "-q")
    assert result.code == 2
    assert "cast.yaml:10:15: captions nowhere.srt: no such file" in result.err, result.err
