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
