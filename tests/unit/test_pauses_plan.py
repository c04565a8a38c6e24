"""Pauses planned without running anything: the pure parts of ``plan.pauses`` and the recipe key."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from castkit.plan.pauses import Analysis, auto_threshold, kept_parts, paused_job, pauses_in, silences, tempo_chain
from castkit.recipe.model import PauseSpec
from castkit.plan.encode import Trim
from castkit.outputs.dv import DvProfile
from castkit.recipe.reader import read_recipe
from helpers import write_recipe
from test_plan import FFMPEG, capture

TARGET = DvProfile().raster


def graph_of(argv) -> str:
    return argv[list(argv).index("-filter_complex") + 1]


def test_kept_parts_and_the_exact_graph_of_a_cut():
    # A pause 2-5 s into a trim that starts at 1 s: 3.25-5.75 s of the capture goes (margins of
    # 0.25 s kept), rounded inwards to whole frames: frames 82 to 143 of the capture's start.
    spec = PauseSpec(None, margin=Fraction(1, 4))
    trim = Trim(Fraction(1), Fraction(8))
    kept = kept_parts([(Fraction(2), Fraction(5))], spec, trim, Fraction(8), TARGET)
    assert [(p.first, p.end, p.frames, p.rate) for p in kept.parts] == [(25, 82, 57, 1), (143, 225, 82, 1)]
    assert kept.frames == 139 and kept.source_frames == 200
    job = paused_job(capture(), kept, DvProfile(), Path("out/seg.dv"), FFMPEG, trim)
    assert graph_of(job.pictures.head).split(";") == PICTURE_GRAPH
    assert graph_of(job.argv).split(";") == SOUND_GRAPH
    assert job.frames == 139
    assert job.note.splitlines() == [
        "kept parts (source -> cast):",
        "  0:01.00-0:03.28 -> 0:00.00-0:02.28",
        "  0:05.72-0:09.00 -> 0:02.28-0:05.56",
    ]


def test_a_speed_factor_keeps_the_pause_faster_and_chains_atempo():
    spec = PauseSpec(Fraction(8), margin=Fraction(1, 4))
    trim = Trim(Fraction(1), Fraction(8))
    kept = kept_parts([(Fraction(2), Fraction(5))], spec, trim, Fraction(8), TARGET)
    assert [(p.first, p.end, p.frames, p.rate, p.pause) for p in kept.parts] == [
        (25, 82, 57, 1, False), (82, 143, 8, 8, True), (143, 225, 82, 1, False)]
    job = paused_job(capture(), kept, DvProfile(), Path("out/seg.dv"), FFMPEG, trim)
    graph = graph_of(job.pictures.head) + ";" + graph_of(job.argv)
    # the picture: sped up on a microsecond time base, then the part's frames counted at 25 fps
    assert "settb=AVTB[s" in graph and "setpts=PTS/8[s" in graph
    assert "trim=end_frame=18:start_frame=10[" in graph  # round(82 / 8) = 10, and 8 frames
    # the sound: 8x in three steps of 2 (pitch kept), made exactly 8 frames long
    assert graph.count("atempo=2[") == 3
    assert "apad=whole_len=15360[" in graph
    # with the clip's own speed 2 the pause plays 2 x 8 = 16 times faster
    fast = kept_parts([(Fraction(2), Fraction(5))], spec, trim, Fraction(8), TARGET, speed=Fraction(2))
    assert [p.rate for p in fast.parts] == [2, 16, 2]


def test_pauses_need_silence_and_a_still_screen_for_min_length():
    w = Fraction(960, 48000)
    levels = tuple([-20.0] * 50 + [-60.0] * 100 + [-20.0] * 50 + [float("-inf")] * 100)  # 0-1-3-4-6 s
    stills = ((Fraction(0), Fraction(2)), (Fraction(9, 2), Fraction(6)))
    assert silences(levels, w, Fraction(-40), Fraction(1)) == [(Fraction(1), Fraction(3)), (Fraction(4), Fraction(6))]
    found, _ = pauses_in(Analysis(levels, stills), PauseSpec(), Fraction(6))
    # 1-3 s is silent but the screen moves after 2 s: only 1-2 s is both (1 s: a pause)
    assert found == [(Fraction(1), Fraction(2)), (Fraction(9, 2), Fraction(6))]
    found, _ = pauses_in(Analysis(levels, None), PauseSpec(screen="any"), Fraction(6))
    assert found == [(Fraction(1), Fraction(3)), (Fraction(4), Fraction(6))]
    # a voice-over's windows are in the segment's time: a clip at speed 2 maps them x2
    found, _ = pauses_in(Analysis(levels, None), PauseSpec(screen="any"), Fraction(12), Fraction(2))
    assert found == [(Fraction(2), Fraction(6)), (Fraction(8), Fraction(12))]


def test_auto_threshold_sits_above_the_noise_floor():
    assert auto_threshold(tuple([-55.0] * 50 + [-20.0] * 50)) == -40
    assert auto_threshold(tuple([float("-inf")] * 10)) == -60  # digital silence: the lowest
    assert auto_threshold(tuple([-25.0] * 10)) == -30  # all speech: no higher than -30


def test_tempo_chain_steps():
    from castkit.media.ffmpeg import ffmpeg_module

    ff = ffmpeg_module()
    out = tempo_chain(ff.input("x").audio, Fraction(6)).output("y").compile()
    graph = out[out.index("-filter_complex") + 1]
    assert graph.count("atempo=2[") == 2 and "atempo=1.5[" in graph


def test_recipe_forms(tmp_path):
    recipe = write_recipe(tmp_path, """
        segments:
          - clip: a.ogv
            pauses: cut
          - clip: a.ogv
            pauses: 4
          - clip: a.ogv
            pauses: {action: 2.5, min_length: 0.8, threshold: auto, margin: 0.1, screen: any}
          - clip: a.ogv
            pauses: {threshold: -35 dB}
        """)
    r, problems = read_recipe(recipe)
    assert problems == []
    specs = [seg.pauses for seg in r.segments]
    assert specs[0] == PauseSpec()
    assert specs[1] == PauseSpec(Fraction(4))
    assert specs[2] == PauseSpec(Fraction(5, 2), Fraction(4, 5), None, Fraction(1, 10), "any")
    assert specs[3].threshold == -35


@pytest.mark.parametrize("value, message", [
    ("20", "pauses must be cut or a speed from 1.5 to 16, not '20'"),
    ("{action: snip}", "pauses.action must be cut or a speed from 1.5 to 16"),
    ("{threshold: 5}", "pauses.threshold must be a level in dBFS from -90 to 0"),
    ("{screen: moving}", "pauses.screen must be still or any"),
    ("{margin: -1}", "pauses.margin"),
    ("{min_lenght: 2}", "unknown key 'min_lenght'; did you mean 'min_length'?"),
])
def test_recipe_mistakes_at_line_and_column(tmp_path, cli, value, message):
    (tmp_path / "a.ogv").write_bytes(b"")
    recipe = write_recipe(tmp_path, f"""
        segments:
          - clip: a.ogv
            pauses: {value}
        """)
    result = cli("build", "--dry-run", recipe)
    assert result.code == 2
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if message in line]
    assert lines, result.err
    assert "cast.yaml:4:" in lines[0]


# The whole graph of the cut above: two branches of the same decode, each its frames counted
# from the capture's start; the sound cut on the same samples (48000 = frame 25), faded 240
# samples (5 ms) at the cut, each part made as long as its frames, then joined.
# The picture (its repeats then dropped, castkit.media.pictures) and the sound, each its own ffmpeg's.
PICTURE_GRAPH = [
    '[0:v]split=2[s0][s1]',
    '[s0]fps=fps=25:start_time=0[s2]',
    '[s2]tpad=stop=82:stop_mode=clone[s3]',
    '[s3]trim=end_frame=82:start_frame=25[s4]',
    '[s4]setpts=PTS-STARTPTS[s5]',
    '[s1]fps=fps=25:start_time=0[s6]',
    '[s6]tpad=stop=225:stop_mode=clone[s7]',
    '[s7]trim=end_frame=225:start_frame=143[s8]',
    '[s8]setpts=PTS-STARTPTS[s9]',
    '[s5][s9]concat=a=0:n=2:v=1[s10]',
    '[s10]scale=flags=lanczos:h=432:out_color_matrix=bt601:out_range=tv:w=720[s11]',
    '[s11]pad=color=black:h=576:w=720:x=0:y=72[s12]',
    '[s12]setsar=16/15[s13]',
    '[s13]format=yuv420p[s14]',
    '[s14]tpad=stop=139:stop_mode=clone[s15]',
    '[s15]trim=end_frame=139[s16]',
    '[s16]pad=h=576:w=752:x=32:y=0[s17]',
    '[s17]mpdecimate=frac=0:hi=0:lo=0:max=0[s18]',
    '[s18]crop=exact=1:h=576:w=720:x=32:y=0[s19]',
]
SOUND_GRAPH = [
    '[1:a]aresample=48000:async=1:first_pts=0:min_hard_comp=0.01[s0]',
    '[s0]asplit=2[s1][s2]',
    '[s1]atrim=end_sample=157440:start_sample=48000[s3]',
    '[s3]asetpts=PTS-STARTPTS[s4]',
    '[s4]afade=nb_samples=240:start_sample=109200:type=out[s5]',
    '[s5]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s6]',
    '[s6]apad=whole_len=109440[s7]',
    '[s7]atrim=end_sample=109440[s8]',
    '[s8]asetpts=N/SR/TB[s9]',
    '[s2]atrim=end_sample=432000:start_sample=274560[s10]',
    '[s10]asetpts=PTS-STARTPTS[s11]',
    '[s11]afade=nb_samples=240:start_sample=0:type=in[s12]',
    '[s12]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s13]',
    '[s13]apad=whole_len=157440[s14]',
    '[s14]atrim=end_sample=157440[s15]',
    '[s15]asetpts=N/SR/TB[s16]',
    '[s9][s16]concat=a=1:n=2:v=0[s17]',
    '[s17]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s18]',
    '[s18]apad=whole_len=266880[s19]',
    '[s19]atrim=end_sample=266880[s20]',
]


def test_a_clip_without_sound_cannot_have_pauses(tmp_path, cli, wheel_ffmpeg):
    import media

    silent = media.theora(wheel_ffmpeg, tmp_path / "silent.ogv", "160x120", 10, 1.0)
    voiced = media.theora(wheel_ffmpeg, tmp_path / "voiced.ogv", "160x120", 10, 1.0,
                          voice=(48000, 1, 1.0))
    recipe = write_recipe(tmp_path, f"""
        segments:
          - clip: {silent.name}
            pauses: cut
          - clip: {voiced.name}
            audio: none
            pauses: cut
        """)
    result = cli("build", "--dry-run", recipe)
    assert result.code == 2
    assert "cast.yaml:4:13: pauses: the clip silent.ogv has no sound; pauses are found in its sound" in result.err
    assert "cast.yaml:7:13: pauses: the clip is muted (audio: none)" in result.err
    assert "Traceback" not in result.err


def test_export_says_the_pauses_are_not_in_the_edit(tmp_path, cli, wheel_ffmpeg):
    import media

    voiced = media.theora(wheel_ffmpeg, tmp_path / "voiced.ogv", "160x120", 10, 1.0,
                          voice=(48000, 1, 1.0))
    recipe = write_recipe(tmp_path, f"""
        segments:
          - clip: {voiced.name}
            pauses: cut
        """)
    result = cli("export", recipe, "-o", tmp_path / "edit.edl")
    assert result.code == 0, result.err
    assert "castkit: note: edit.edl: segment 1: pauses are not exported; the clip is whole" in result.err
