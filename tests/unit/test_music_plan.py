"""Issue 25, the music bed: where the narration is, the envelope drawn from it, and the ffmpeg
commands that mix the bed under a DV segment's sound (exact argv)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from castkit.media.ffmpeg import Ffmpeg
from castkit.outputs.dv import DvProfile
from castkit.plan.music import (
    duck_points, envelope_of, mix_graph, music_gain_job, MusicStep, speech_spans, under_points,
)
from castkit.recipe.model import MusicSpec



def flat(spans):
    return [t for span in spans for t in span]


def test_speech_is_where_the_published_level_passes_minus_40_and_short_gaps_are_bridged():
    quiet, loud = -60.0, -30.0
    levels = [quiet] * 10 + [loud] * 10 + [quiet] * 40 + [loud] * 5 + [quiet] * 60 + [loud] * 5
    # 0.2-0.4 s, a 0.8 s gap (bridged), 1.2-1.3 s, a 1.2 s gap (kept), 2.5-2.6 s
    assert flat(speech_spans(levels, 0.0)) == pytest.approx([0.2, 1.3, 2.5, 2.6])
    # The narration is published 15 dB quieter: -30 becomes -45, no speech at all.
    assert speech_spans(levels, -15.0) == []
    # ... or 25 dB louder: the room's -60 becomes -35, speech throughout.
    assert flat(speech_spans(levels, 25.0)) == pytest.approx([0.0, 2.6])


def test_the_envelope_falls_before_speech_and_rises_after_it_linear_in_db():
    spec = MusicSpec((Path("bed.ogg"),), duck=Fraction(-12))
    levels = tuple([-60.0] * 50 + [-20.0] * 50 + [-60.0] * 100)  # speech 1-2 s of 4 s
    envelope = envelope_of(spec, levels, 0.0, [(0.0, 4.0, True)], 4.0)
    db = 20 * np.log10(envelope.gains(0, 4 * 48000))
    at = lambda seconds: db[round(seconds * 48000)]  # noqa: E731
    assert at(0.5) == pytest.approx(0) and at(0.8) == pytest.approx(0)
    assert at(0.9) == pytest.approx(-6) and at(1.0) == pytest.approx(-12)
    assert at(1.5) == pytest.approx(-12) and at(2.0) == pytest.approx(-12)
    assert at(2.25) == pytest.approx(-6) and at(2.5) == pytest.approx(0)
    # No step: 12 dB over 0.2 s is 0.6 dB every 10 ms.
    assert np.max(np.abs(np.diff(db[::480]))) == pytest.approx(0.6, abs=0.01)
    off = envelope_of(MusicSpec((Path("bed.ogg"),), duck=None), levels, 0.0, [(0.0, 4.0, True)], 4.0)
    assert np.all(off.gains(0, 4 * 48000) == 1.0)


def test_fades_and_under_titles_only_shape_the_same_envelope():
    spec = MusicSpec((Path("bed.ogg"),), duck=None, fade_in=Fraction(1), fade_out=Fraction(2))
    segments = [(0.0, 2.0, True), (2.0, 5.0, False), (5.0, 6.0, True)]
    gains = envelope_of(spec, (), 0.0, segments, 6.0).gains(0, 6 * 48000)
    at = lambda seconds: gains[round(seconds * 48000)]  # noqa: E731
    assert at(0) == 0 and at(0.5) == pytest.approx(0.5) and at(1.0) == pytest.approx(1)
    assert at(1.7) == pytest.approx(1) and at(1.85) == pytest.approx(0.5) and at(2.0) == 0
    assert at(3.5) == 0 and at(5.0) == 0
    assert at(5.15) == pytest.approx(0.5 * 0.85 / 2) and at(5.3) == pytest.approx(0.7 / 2)
    times, values = under_points([(0.0, 1.0, False), (1.0, 1.2, True)])
    assert times == pytest.approx([-1e9, 1.0, 1.1]) and values == [0.0, 0.0, 1.0]
    assert duck_points([]) == ([-1e9], [0.0])


def test_the_envelope_s_break_points_joined_in_db_are_the_envelope():
    """What ``castkit export`` gives an editor as volume keyframes: the duck's corners exactly,
    the fades and ``under``'s ramps (linear in gain) in 3 dB steps, so that straight lines in
    dB between the points stay within 0.5 dB of the envelope down to -50 dB."""
    spec = MusicSpec((Path("bed.ogg"),), duck=Fraction(-12), fade_in=Fraction(1), fade_out=Fraction(2))
    levels = tuple([-60.0] * 100 + [-20.0] * 50 + [-60.0] * 150)  # speech 2-3 s of 6 s
    envelope = envelope_of(spec, levels, 0.0, [(0.0, 4.0, True), (4.0, 6.0, False)], 6.0)
    points = envelope.break_points()
    times = [t for t, _ in points]
    assert {0.0, 1.0, 1.8, 2.0, 3.0, 3.5, 3.7, 4.0, 6.0} <= set(round(t, 6) for t in times)
    assert len(points) < 100  # break points, not a value every 20 ms (300)
    t = np.arange(0, 6 * 48000, 48) / 48000

    def db(gain):
        return 20 * np.log10(np.maximum(gain, 1e-3))  # the editors' floor, -60 dB

    exact = db(envelope.gain_at(t))
    joined = np.interp(t, times, db(np.array([g for _, g in points])))
    heard = exact > -50
    assert heard.sum() > 3500 and np.abs(joined - exact)[heard].max() < 0.5
    assert np.abs(joined - exact)[(t > 2.0) & (t < 3.0)].max() < 1e-6  # under the speech: the duck


def test_a_dv_segment_gets_the_bed_from_its_first_sample_under_its_sound():
    ffmpeg = Ffmpeg("ffmpeg", "test", "5.1.6")
    work = Path("/c")
    step = MusicStep((work / "segment-a.dv",), work / "loudness-k.af", Fraction(-16), ffmpeg,
                     music=MusicSpec((Path("/m/bed.ogg"),)), music_seconds=(Fraction(3),),
                     segments=((0.0, 2.0, True),), bed=work / "music-k.flac", levels=work / "speech-k.json")
    job = music_gain_job("mix", work / "segment-a.dv", work / "segment-b.dv", 50, step, 96000, DvProfile())
    script = job.prepare[0].consumer_script
    assert job.argv[:9] == ("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "dv",
                            "-i")
    assert job.argv[-21:] == (
        "-i", "file:/c/music-k.flac", "-filter_complex_script", str(script), "-map", "0:v:0",
        "-map", "[out]", "-c:v", "copy", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2",
        "-map_metadata", "-1", "-f", "dv", "file:/c/segment-b.dv")
    assert mix_graph(-3.5, True, 1, 96000) == (
        "[0:a]volume=-3.50dB[voice];[1:a]atrim=start_sample=96000,asetpts=PTS-STARTPTS,anull[bed];"
        "[voice][bed]amix=inputs=2:duration=first:dropout_transition=0:normalize=0,"
        "alimiter=limit=0.7943:level=0:latency=1[out]")
    assert job.reads() == (work / "segment-a.dv", work / "segment-a.dv", Path("/m/bed.ogg"))


def test_a_transition_s_overlap_is_made_from_its_neighbours_dv_files():
    from castkit.plan.transitions import overlap_job
    from castkit.recipe.model import Transition

    job = overlap_job(Path("/c/a.dv"), 35, Path("/c/b.dv"), 0, 15, Transition("crossfade", Fraction(3, 5)),
                      DvProfile(), Path("/c/x.dv"), Ffmpeg("ffmpeg", "t", "9.0.2"), "x")
    dv = ["-f", "dv", "-format_whitelist", "dv", "-protocol_whitelist", "file", "-i"]
    assert list(job.pictures.head) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *dv, "file:/c/a.dv", *dv, "file:/c/b.dv",
        "-filter_complex",
        "[0:v]trim=end_frame=50:start_frame=35[s0];[s0]setpts=PTS-STARTPTS[s1];"
        "[1:v]trim=end_frame=15:start_frame=0[s2];[s2]setpts=PTS-STARTPTS[s3];"
        "[s1][s3]xfade=duration=0.6:offset=0:transition=fade[s4];"
        "[s4]tpad=stop=15:stop_mode=clone[s5];[s5]trim=end_frame=15[s6];"
        "[s6]pad=h=576:w=752:x=32:y=0[s7];[s7]mpdecimate=frac=0:hi=0:lo=0:max=0[s8];"
        "[s8]crop=exact=1:h=576:w=720:x=32:y=0[s9]",
        "-map", "[s9]", "-f", "tee", "-fps_mode", "passthrough", "-map_chapters", "-1", "-map_metadata", "-1",
        "-vcodec", "dvvideo"]
    graph = job.argv[job.argv.index("-filter_complex") + 1]
    # The sound: frames 35-50 of the one (1920 samples each) fading out, frames 0-15 of the
    # other fading in, summed, exactly the overlap's 15 frames long.
    assert graph == (
        "[1:a]atrim=end_sample=96000:start_sample=67200[s0];[s0]asetpts=PTS-STARTPTS[s1];"
        "[s1]afade=nb_samples=28800:start_sample=0:type=out[s2];"
        "[2:a]atrim=end_sample=28800:start_sample=0[s3];[s3]asetpts=PTS-STARTPTS[s4];"
        "[s4]afade=nb_samples=28800:start_sample=0:type=in[s5];"
        "[s2][s5]amix=dropout_transition=0:duration=longest:inputs=2:normalize=0[s6];"
        "[s6]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s7];"
        "[s7]apad=whole_len=28800[s8];[s8]atrim=end_sample=28800[s9]")
    assert job.frames == 15 and job.inputs == (Path("/c/a.dv"), Path("/c/b.dv"))


def test_a_cut_dv_part_is_copied_by_its_kept_bytes_and_an_avi_s_by_in_and_out_points(tmp_path):
    from castkit.base.jobs import concat_list
    from castkit.outputs.dv import DvProfile as Dv

    parts = [(tmp_path / "a.dv", 50), (tmp_path / "x.dv", 15), (tmp_path / "b.dv", 50)]
    trims = [(0, 15), (0, 0), (15, 0)]
    join = Dv().join(parts, tmp_path / "cast.dv", tmp_path, None, "join", trims=trims)
    assert join.frames == 85
    assert [(p.skip, p.size, p.tail) for p in join.parts] == [
        (0, 35 * 144000, 15 * 144000), (0, 15 * 144000, 0), (15 * 144000, 35 * 144000, 0)]
    assert join.shell().startswith(f"{{ tail -c +1 {tmp_path / 'a.dv'} | head -c 5040000; ")
    avi = Dv(container="avi").join(parts, tmp_path / "cast.avi", tmp_path, Ffmpeg("ffmpeg", "t", "9.0.2"),
                                   "join", trims=trims)
    assert avi.frames == 85
    assert avi.writes[0][1] == concat_list([p for p, _ in parts], [(0, 1.4), None, (0.6, 2)])
    assert "file:" + str(tmp_path / "a.dv") + "'\ninpoint 0.000000\noutpoint 1.400000\n" in avi.writes[0][1]
