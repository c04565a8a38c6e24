"""Issue 25, transitions in the web masters and images: the windows a neighbour is encoded in
and the ffmpeg command of an overlap made from two MP4 windows (exact argv)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from castkit.media.ffmpeg import Ffmpeg
from castkit.media.raster import WebRaster
from castkit.outputs.mp4 import Mp4Profile
from castkit.plan.transitions import edge_windows, web_overlap_job
from castkit.recipe.model import Transition


def test_the_frames_a_transition_overlaps_are_windows_of_their_own():
    # A whole segment of 60 frames, 18 into it and 15 out of it.
    assert edge_windows([None], 60, 18, 15) == [(0, 18), (18, 45), (45, 60)]
    # Chunks: only the edge chunks are cut; the middle ones stay as they were.
    assert edge_windows([(0, 25), (25, 55), (55, 70)], 70, 10, 0) == [(0, 10), (10, 25), (25, 55), (55, 70)]
    assert edge_windows([(0, 25), (25, 55), (55, 70)], 70, 0, 15) == [(0, 25), (25, 55), (55, 70)]
    assert edge_windows([(0, 25), (25, 55), (55, 70)], 70, 0, 10) == [(0, 25), (25, 55), (55, 60), (60, 70)]
    # The two overlaps take the whole segment: nothing of it is its own.
    assert edge_windows([None], 30, 12, 18) == [(0, 12), (12, 30)]
    with pytest.raises(ValueError):
        edge_windows([None], 30, 30, 1)
    # With a grain, the rest of an edge window is cut again at whole grains from the join:
    # 15 or 24 frames into a chunk of 40 leave the frames from 30 on one window, the same.
    assert edge_windows([(0, 40), (40, 70)], 70, 15, 0, 30) == [(0, 15), (15, 30), (30, 40), (40, 70)]
    assert edge_windows([(0, 40), (40, 70)], 70, 24, 0, 30) == [(0, 24), (24, 30), (30, 40), (40, 70)]
    assert edge_windows([None], 100, 0, 12, 30) == [(0, 70), (70, 88), (88, 100)]
    assert edge_windows([None], 100, 10, 12, 30) == [(0, 10), (10, 30), (30, 70), (70, 88), (88, 100)]
    # No cut past the window it splits, nor into the other transition's.
    assert edge_windows([(0, 25), (25, 55)], 55, 10, 0, 30) == [(0, 10), (10, 25), (25, 55)]
    assert edge_windows([None], 40, 15, 15, 30) == [(0, 15), (15, 25), (25, 40)]


def test_a_web_overlap_crosses_two_windows_over_and_encodes_them_once():
    profile = Mp4Profile(WebRaster(320, 180, Fraction(30)))
    job = web_overlap_job(Path("/c/a.mp4"), Path("/c/b.mp4"), 18, Transition("crossfade", Fraction(3, 5)),
                          profile, Path("/c/x.mp4"), Ffmpeg("ffmpeg", "t", "9.0.2"), "x", sound=True)
    mov = ["-f", "mov", "-format_whitelist", "mov", "-protocol_whitelist", "file", "-i"]
    argv = list(job.argv)
    assert argv[:6 + 2 * len(mov) + 2] == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *mov, "file:/c/a.mp4",
        *mov, "file:/c/b.mp4"]
    assert argv[argv.index("-filter_complex") + 1] == (
        "[0:v]trim=end_frame=18[s0];[s0]settb=AVTB[s1];[s1]setpts=PTS-STARTPTS[s2];"
        "[1:v]trim=end_frame=18[s3];[s3]settb=AVTB[s4];[s4]setpts=PTS-STARTPTS[s5];"
        "[s2][s5]xfade=duration=0.6:offset=0:transition=fade[s6];"
        "[s6]tpad=stop=18:stop_mode=clone[s7];[s7]trim=end_frame=18[s8];"
        # Tagged BT.709 for the encoder (outputs.web.tagged).
        "[s8]setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv[s9];"
        # The sound: each window's 18 frames (1600 samples each), one fading out, one in, summed.
        "[0:a]atrim=end_sample=28800[s10];[s10]asetpts=PTS-STARTPTS[s11];"
        "[s11]afade=nb_samples=28800:start_sample=0:type=out[s12];"
        "[1:a]atrim=end_sample=28800[s13];[s13]asetpts=PTS-STARTPTS[s14];"
        "[s14]afade=nb_samples=28800:start_sample=0:type=in[s15];"
        "[s12][s15]amix=dropout_transition=0:duration=longest:inputs=2:normalize=0[s16];"
        "[s16]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s17];"
        "[s17]apad=whole_len=28800[s18];[s18]atrim=end_sample=28800[s19]")
    assert argv[argv.index("-vcodec") + 1] == "libx264" and argv[argv.index("-crf") + 1] == "20"
    assert argv[argv.index("-acodec") + 1] == "alac"
    assert job.frames == 18 and job.inputs == (Path("/c/a.mp4"), Path("/c/b.mp4"))
    # At 15 fps (an animation) 8 frames last 8/15 s: xfade takes microseconds, rounded down.
    gif = Mp4Profile(WebRaster(320, 180, Fraction(15)))
    job = web_overlap_job(Path("/c/a.mp4"), Path("/c/b.mp4"), 8, Transition("dip", Fraction(1, 2)),
                          gif, Path("/c/x.mp4"), Ffmpeg("ffmpeg", "t", "9.0.2"), "x", sound=False)
    graph = job.argv[list(job.argv).index("-filter_complex") + 1]
    assert "xfade=duration=0.533333:offset=0:transition=fadeblack" in graph and "amix" not in graph


def test_a_clip_of_kept_parts_gives_its_edge_frames_to_windows_of_their_own():
    from castkit.plan.pauses import Kept, Part
    from castkit.plan.transitions import kept_edges

    # 30 frames, a pause cut (30-60), 60 frames; then 20 frames played x2 into 10.
    kept = Kept((Part(0, 30, Fraction(1), 30), Part(60, 120, Fraction(1), 60),
                 Part(120, 140, Fraction(2), 10, pause=True)), 140, Fraction(-40))
    head, middle, tail = kept_edges([kept], 40, 15)
    assert [q.frames for q in (head, middle, tail)] == [40, 45, 15]
    # Into the second part: it runs on across the windows, without a fade there; the cut
    # between the first two parts stays faded in the head window (not its window's edge).
    assert head.parts == (Part(0, 30, Fraction(1), 30), Part(60, 70, Fraction(1), 10))
    assert middle.parts == (Part(70, 115, Fraction(1), 45),)
    # The tail: the second part's last 5 frames and the sped-up part, its frames counted on
    # its own timeline (frame 60 of x2 is source frame 120).
    assert tail.parts == (Part(115, 120, Fraction(1), 5), Part(120, 140, Fraction(2), 10, pause=True))
    # At a cut between two parts: both sides keep their fade there.
    head, rest = kept_edges([kept], 30, 0)
    assert head.parts == (Part(0, 30, Fraction(1), 30, cut_out=True),)
    assert rest.parts[0] == Part(60, 120, Fraction(1), 60, cut_in=True)
    # Chunks: only the first and the last are cut.
    first, second = Kept(kept.parts[:1], 30, Fraction(-40)), Kept(kept.parts[1:], 80, Fraction(-40))
    assert [q.frames for q in kept_edges([first, second], 10, 20)] == [10, 20, 50, 20]
