"""Issue 25, sound: the recipe keys `gain:` and `music:` as read, and what `gain:` puts into a
segment's ffmpeg graph."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path

import pytest

from castkit.outputs.dv import DvProfile
from castkit.plan.encode import clip_job, Effects, Trim
from castkit.recipe.reader import read_recipe

from test_plan import capture, FFMPEG


def read(tmp_path: Path, text: str):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return read_recipe(path)


@pytest.mark.parametrize("value, gain", [("-3", Fraction(-3)), ("'-2.5 dB'", Fraction(-5, 2)),
                                          ("+6", Fraction(6)), ("20", Fraction(20)), ("-40 DB", Fraction(-40))])
def test_gain_is_read_in_db(tmp_path, value, gain):
    recipe, problems = read(tmp_path, f"segments:\n  - clip: a.ogv\n    gain: {value}\n")
    assert problems == []
    assert recipe.segments[0].gain == gain


def test_bad_gains_and_music_keys_are_all_reported_at_their_lines(tmp_path):
    recipe, problems = read(tmp_path, """
        music:
          file: bed.ogg
          level: -5
          duck: 3
          under: nobody
        segments:
          - clip: a.ogv
            gain: 21
          - clip: a.ogv
            gain: loud
    """)
    where = [(p.line, p.column) for p in problems]
    assert where == [(8, 11), (10, 11), (3, 10), (4, 9), (5, 10)], [p.message for p in problems]
    assert "gain must be a number of dB from -40 to 20" in problems[0].message
    assert "music: level must be a number of LUFS from -50 to -10" in problems[2].message


def test_music_is_read_as_a_file_a_list_or_a_mapping(tmp_path):
    recipe, problems = read(tmp_path, "music: bed.ogg\nsegments:\n  - title: A\n")
    assert problems == [] and recipe.music.files == (tmp_path / "bed.ogg",)
    assert (recipe.music.level, recipe.music.duck, recipe.music.loop, recipe.music.under) == (
        -26, -12, True, "all")
    recipe, problems = read(tmp_path, """
        music:
          file: [a.ogg, b.ogg]
          level: -24 LUFS
          duck: off
          fade_in: 1
          fade_out: 3
          loop: false
          under: Clips
        segments:
          - title: A
    """)
    assert problems == []
    music = recipe.music
    assert music.files == (tmp_path / "a.ogg", tmp_path / "b.ogg")
    assert (music.level, music.duck, music.fade_in, music.fade_out, music.loop, music.under) == (
        -24, None, 1, 3, False, "clips")
    assert recipe.sources()[-2:] == [tmp_path / "a.ogg", tmp_path / "b.ogg"]


def test_a_clip_gain_is_a_volume_in_floats_before_the_16_bit_sound():
    job = clip_job(capture(fps=25), DvProfile(), Path("out/seg.dv"), FFMPEG,
                   trim=Trim(Fraction(0), Fraction(1)), effects=Effects(gain=Fraction(-5, 2)))
    graph = job.argv[job.argv.index("-filter_complex") + 1]
    assert ("[s0]volume=-2.5dB[s1];"
            "[s1]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s2]") in graph
    plain = clip_job(capture(fps=25), DvProfile(), Path("out/seg.dv"), FFMPEG,
                     trim=Trim(Fraction(0), Fraction(1)))
    assert "volume" not in plain.argv[plain.argv.index("-filter_complex") + 1]


# The schema and the reader agree on every value of the sound keys (as tests/unit/test_schema.py
# checks the others, through its own test).
import test_schema  # noqa: E402

_SOUND_PLACES = {
    "clip": "segments:\n  - clip: a.ogv\n    {key}: {value}\n",
    "top": "{key}: {value}\nsegments:\n  - title: A\n",
    "music": "music:\n  file: bed.ogg\n  {key}: {value}\nsegments:\n  - title: A\n",
}
_SOUND_CASES = {
    ("clip", "gain"): ["-3", '"-3"', "-3 dB", "-3dB", "-3 DB", '"+6 dB"', "20", "20.01", "-40", "-40.5",
                       "0", '"-0"', "loud", "", "-3 LUFS", "true"],
    ("top", "music"): ["bed.ogg", "[a.ogg, b.ogg]", "[]", "", "http://x/a.ogg", "{file: a.ogg}",
                       "{level: -20}", "{file: [a.ogg], duck: off}", "{file: a.ogg, volume: 1}"],
    ("music", "level"): ["-26", '"-26"', "-26 LUFS", "-24lufs", "-10", "-9.9", "-50", "-50.1", "0", "loud", ""],
    ("music", "duck"): ["-12", '"-12 dB"', "off", "OFF", "no", "false", "0", "-40", "-41", "3", "on", ""],
    ("music", "fade_in"): ["0", "1", "1.5", '"0:30"', "60", "60.5", "-1", ""],
    ("music", "loop"): ["true", "false", "on", "off", "Yes", "maybe", ""],
    ("music", "under"): ["all", "clips", "titles", "Clips", '" titles "', "none", ""],
    ("clip", "denoise"): ["on", "off", "true", "no", "ON", "18", '"12 dB"', "3", "2.9", "40", "41",
                          "-10", "loud", ""],
    ("top", "denoise"): ["on", "off", "yes", "24", "0", "100"],
}


@pytest.mark.parametrize("place, key, value", [
    pytest.param(place, key, value, id=f"{place}.{key}={value}")
    for (place, key), values in _SOUND_CASES.items() for value in values])
def test_schema_and_reader_agree_on_the_sound_keys(place, key, value, tmp_path, monkeypatch):
    monkeypatch.setitem(test_schema._PLACES, place, _SOUND_PLACES[place])
    test_schema.test_schema_and_reader_agree_on_each_value(place, key, value, tmp_path)


def test_denoise_is_on_a_strength_or_off_and_the_recipe_s_is_the_clips_default(tmp_path):
    recipe, problems = read(tmp_path, """
        denoise: on
        segments:
          - clip: a.ogv
          - clip: a.ogv
            denoise: off
          - clip: a.ogv
            denoise: 24 dB
    """)
    assert problems == []
    assert [recipe.denoise_of(seg) for seg in recipe.segments] == [18, 0, 24]
    recipe, problems = read(tmp_path, "segments:\n  - clip: a.ogv\n    denoise: 2\n")
    assert [(p.line, p.column) for p in problems] == [(3, 14)]
    assert "denoise must be on, off or a strength in dB from 3 to 40, not '2'" in problems[0].message


def test_denoise_learns_the_noise_from_the_quietest_stretch_played_first_then_cut_off():
    from castkit.plan.denoise import quietest
    from castkit.plan.encode import Denoise

    levels = (-30.0,) * 40 + (-50.0,) * 30 + (-45.0,) * 10 + (float("-inf"),) * 3 + (-30.0,) * 20
    assert quietest(levels, 25) == (40, 65, -50.0)  # not the digital silence
    assert quietest((float('-inf'),) * 3, 2) == (0, 2, -120.0)
    assert quietest((-40.0, -42.0), 25) == (0, 2, -41.0)
    job = clip_job(capture(fps=25), DvProfile(), Path("out/seg.dv"), FFMPEG,
                   trim=Trim(Fraction(0), Fraction(1)),
                   effects=Effects(denoise=Denoise(Fraction(18), 48000, 72000, -44.0)))
    graph = job.argv[job.argv.index("-filter_complex") + 1]
    assert job.argv.count("file:caps/take 1.ogv") == 2  # the take, and the noise read first
    assert ("atrim=end_sample=72000:start_sample=48000" in graph and "concat=a=1:n=2:v=0" in graph
            and "apad=pad_len=1200" in graph  # afftdn's delay, so that the last samples come out
            and "asendcmd=c=0 afftdn sn start\\;0.5 afftdn sn stop" in graph
            and "afftdn=nf=-38.0:nr=18" in graph
            and "atrim=start_sample=25200" in graph  # the noise played first, and afftdn's delay
            and "highpass=f=80:p=2" in graph), graph


def test_an_export_names_the_sound_it_leaves_out(tmp_path):
    from castkit.exports import sound_notes

    recipe, problems = read(tmp_path, """
        music: {file: [bed.ogg, more.ogg]}
        denoise: on
        segments:
          - title: A
          - clip: a.ogv
            gain: -3
          - clip: a.ogv
            denoise: off
            transition: {type: dip, duration: 0.4}
    """)
    assert problems == []
    assert sound_notes(recipe) == [
        "segment 2: gain: -3 dB is not exported; set the clip's volume in the editor",
        "segment 2: denoise is not exported; the clip's sound is as recorded",
        "segment 3: the dip into it is not exported (a cut); the timeline is 0.4 s longer than the cast there",
        "music: the music bed and its ducking are not exported; add bed.ogg, more.ogg on an audio track",
    ]
