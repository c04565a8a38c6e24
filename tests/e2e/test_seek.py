"""Deep trims that seek the input (issue 12): every frame and sample equal to a decode from the
start, on variable-rate captures, with every ffmpeg on the machine; slices of a segment equal
to the whole segment."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import media
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.plan.encode import Effects, Trim, clip_job, preroll_cut
from castkit.base.jobs import Job
from castkit.outputs.dv import DvProfile
from castkit.media.probe import probe
from castkit.media.seek import FrameIndex, IndexListing, Seek, plan_seek, read_index
from castkit.media.dv import DvTarget
from helpers import WHEEL_FFMPEG, commands, run_job

pytestmark = pytest.mark.e2e

# 320x240 at 15 fps, frames numbered by brightness, a keyframe every 10 stored frames; no frames
# from 3.0 to 5.5 s (a long hold) and none after 6.5 s while the voice goes on to 8 s (the
# capture's final hold).
HOLD = "between(t,3.0,5.5)+gt(t,6.5)"
VOICE = (22050, 1, 8.0)


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("seek-media")
    return {
        "ogg": media.theora(WHEEL_FFMPEG, root / "c.ogv", "320x240", 15, 8.0, voice=VOICE,
                            pattern="luma", drop=HOLD, gop=10),
        # A recorder's own sound (recordMyDesktop: 44.1 kHz stereo), resampled by a ratio
        # whose phase repeats every 1/300 s rather than every 1/150 s.
        "ogg44": media.theora(WHEEL_FFMPEG, root / "c44.ogv", "320x240", 15, 8.0, voice=(44100, 2, 8.0),
                              pattern="luma", drop=HOLD, gop=10),
        "mp4": media.h264(WHEEL_FFMPEG, root / "c.mp4", "320x240", 15, 8.0, voice=(44100, 1, 8.0),
                          pattern="luma", drop=HOLD, gop=10),
        "mkv": media.h264(WHEEL_FFMPEG, root / "c.mkv", "320x240", 15, 8.0, voice=VOICE,
                          pattern="luma", drop=HOLD, gop=10),
    }


def frames_and_pcm(path: Path) -> tuple[list[str], np.ndarray]:
    """A hash of every decoded picture (all planes) and every sample, read by PyAV."""
    hashes, pcm = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            hashes.append(hashlib.sha1(b"".join(bytes(p) for p in frame.planes)).hexdigest())
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            pcm.append(frame.to_ndarray().reshape(-1))
    return hashes, np.concatenate(pcm)


def skip_samples(target: DvTarget, cut: Fraction) -> int:
    """The 48 kHz sample a cut's first frame starts at."""
    return target.audio_samples(target.frames(cut))


def run(job: Job) -> Path:
    return run_job(job)


def parse_framecrc(text: str, jumps_only: bool = False) -> FrameIndex | None:
    """The index ``media.seek.IndexListing`` reads from a whole framecrc listing at once."""
    listing = IndexListing(jumps_only)
    listing.add(text)
    return listing.index()


@pytest.mark.parametrize("kind", ["ogg", "ogg44", "mp4", "mkv"])
def test_a_seeked_trim_shows_the_very_frames_and_sound_of_a_decode_from_the_start(
        kind, captures, ffmpeg_bin, tmp_path, monkeypatch):
    import castkit.media.seek

    monkeypatch.setattr(castkit.media.seek, "SOUND_MIN_SEEK", 1)  # these cuts are seconds deep
    ffmpeg = find_ffmpeg()
    info = probe(captures[kind], ffmpeg)
    index = read_index(info.path, ffmpeg)
    assert index is not None and index.complete and len(index.keyframes) >= 5, index
    if kind != "mkv":  # one recording: its sound's timestamps never jump (Matroska's are milliseconds)
        assert index.sound_jump is None, index.sound_jump
    target = DvTarget()
    whole_v, whole_a = frames_and_pcm(run(clip_job(info, DvProfile(target), tmp_path / "whole.dv", ffmpeg)))
    assert len(whole_v) == 200
    # The first frame shows the keyframe the seek counts from where one is on a frame of the
    # target's (the frame before the cut needs it; the next picture is 1/15 s on). Matroska's
    # are not (milliseconds, 12 ms late): the frame before the cut never needs the one shown.
    on_frame = next((k for k in index.keyframes if k >= 2 and (k * 25).denominator == 1), None)
    assert on_frame is not None or kind == "mkv", index.keyframes
    cuts = {
        "inside the hold": Fraction(4),
        "one frame after a keyframe": next(k for k in index.keyframes if k > Fraction(11, 2)) + Fraction(1, 15),
        "just after the hold": Fraction(28, 5),
        "inside the final hold": Fraction(7),
    }
    if on_frame is not None:
        cuts["a keyframe shown first"] = on_frame + Fraction(1, 25)
    for what, cut in cuts.items():
        job = clip_job(info, DvProfile(target), tmp_path / "trim.dv", ffmpeg, trim=Trim(cut, Fraction(1)), index=index)
        assert "-ss" in commands(job) and "-noaccurate_seek" in commands(job), (what, job.note)
        # What is decoded before the keyframe the cut needs never reaches the filters.
        needed = [k for k in index.keyframes if k <= (target.frames(cut) - 1) / target.fps][-1]
        assert f"trim=start={preroll_cut(needed)}" in " ".join(commands(job)), (what, job.shell())
        # The second ffmpeg (the first encodes the distinct pictures) lays the sound.
        if kind.startswith("ogg"):  # the sound is seeked too
            assert job.note is None and "-ss" in job.argv
            # Cut at the seek point and laid from a second before it: the resampler makes one
            # second of silence, not all the capture's before the cut.
            at = int(job.argv[job.argv.index("-ss") + 1])
            graph = job.argv[job.argv.index("-filter_complex") + 1]
            assert ("atrim=start=0[s0];[s0]asetpts=PTS+1/TB[s1];[s1]aresample=48000:async=1:first_pts=0:"
                    f"min_hard_comp=0.01[s2];[s2]asetpts=PTS+{at - 1}/TB[s3];"
                    f"[s3]atrim=start_sample={(skip_samples(target, cut)) - (at - 1) * 48000}[s4]") in graph, graph
        else:  # AAC's and Matroska's sound seeks are not sample-exact: decoded from the start
            assert job.note.startswith("sound decoded from the start: seeking"), job.note
            assert "-ss" not in job.argv
        got_v, got_a = frames_and_pcm(run(job))
        skip = target.frames(cut)
        assert got_v == whole_v[skip:skip + 25], f"{kind}, {what}: pictures differ"
        assert np.array_equal(got_a, whole_a[skip * 1920 * 2:(skip + 25) * 1920 * 2]), f"{kind}, {what}: sound differs"


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_an_indexed_capture_is_seeked_to_the_keyframe_a_cut_needs(suffix, ffmpeg_bin, tmp_path):
    """MP4 and Matroska with keyframes 2 s apart (B-frames: decode times before the pictures'
    own): each cut seeks to whole seconds at its own keyframe, not one or two keyframes
    earlier, and shows a decode from the start's very pictures."""
    ffmpeg = find_ffmpeg()
    capture = media.h264(WHEEL_FFMPEG, tmp_path / f"c{suffix}", "320x240", 15, 8.0, gop=30)  # no scene cuts
    info = probe(capture, ffmpeg)
    index = read_index(info.path, ffmpeg)
    assert index is not None and index.keyframes == (0, 2, 4, 6), index.keyframes
    target = DvTarget()
    whole, _ = frames_and_pcm(run(clip_job(info, DvProfile(target), tmp_path / "whole.dv", ffmpeg)))
    # Matroska: ffmpeg seeks 3/23 s earlier than asked where there are B-frames (it cannot seek
    # by the pictures' own times there), so the point is that far after the keyframe, or none
    # fits and the slack's rule decides (None: from the start).
    points = {".mp4": (2, 4, 2, 6), ".mkv": (None, 2, None, 7)}[suffix]
    for cut, at in zip((Fraction(5, 2), Fraction(26, 5), Fraction(4), Fraction(15, 2)), points):
        job = clip_job(info, DvProfile(target), tmp_path / "trim.dv", ffmpeg, trim=Trim(cut, Fraction(1, 2)),
                       index=index)
        argv = commands(job)
        assert (argv[argv.index("-ss") + 1] if "-ss" in argv else None) == (str(at) if at else None), \
            (cut, job.shell())
        got, _ = frames_and_pcm(run(job))
        skip = target.frames(cut)
        assert len(got) == target.frames(Fraction(1, 2)) and got == whole[skip:skip + len(got)], \
            f"cut at {cut}: pictures differ"


@pytest.fixture(scope="module")
def joined(tmp_path_factory) -> dict[str, Path]:
    """Takes made of three 4 s recordings joined by stream copy (ffmpeg's concat demuxer), as
    a recorder that pauses or a user's ``ffmpeg -f concat`` makes them: the sound's timestamps
    jump at every join."""
    root = tmp_path_factory.mktemp("joined-media")
    takes = {}
    for kind, make in (("ogg", media.theora), ("mkv", media.h264)):
        part = make(WHEEL_FFMPEG, root / f"part.{'ogv' if kind == 'ogg' else kind}", "160x120", 15, 4.0,
                    voice=(22050, 1, 4.0), pattern="luma", gop=10)
        listing = root / f"{kind}.txt"
        listing.write_text("ffconcat version 1.0\n" + f"file '{part.name}'\n" * 3)
        takes[kind] = media.make(WHEEL_FFMPEG, root / f"joined{part.suffix}", "-f", "concat", "-safe", "0",
                                 "-i", str(listing), "-c", "copy")
    return takes


@pytest.mark.parametrize("kind", ["ogg", "mkv"])
def test_a_deep_trim_of_a_joined_take_gives_the_samples_of_a_full_decode(
        kind, joined, ffmpeg_bin, tmp_path, monkeypatch):
    """A seek past a jump of the sound's timestamps restarts the resampler's drift: castkit
    seeks the sound only before the first jump (or decodes it from the start, and says so)."""
    import castkit.media.seek

    monkeypatch.setattr(castkit.media.seek, "SOUND_MIN_SEEK", 1)  # these cuts are seconds deep
    ffmpeg = find_ffmpeg()
    info = probe(joined[kind], ffmpeg)
    index = read_index(info.path, ffmpeg)
    assert index is not None and index.complete
    if kind == "ogg":  # Matroska's millisecond times never prove a sound continuous
        assert index.sound_jump is not None and 2 < index.sound_jump < 5, index.sound_jump
    target = DvTarget()
    whole_v, whole_a = frames_and_pcm(run(clip_job(info, DvProfile(target), tmp_path / "whole.dv", ffmpeg)))
    for cut, min_seek in ((Fraction(19, 2), 1), (Fraction(19, 2), 3), (Fraction(5, 2), 1)):
        monkeypatch.setattr(castkit.media.seek, "SOUND_MIN_SEEK", min_seek)
        job = clip_job(info, DvProfile(target), tmp_path / "trim.dv", ffmpeg, trim=Trim(cut, Fraction(2)),
                       index=index)
        assert "-ss" in commands(job), job.note  # the picture seeks all the same
        heard = castkit.media.seek.plan_sound_seek(info.format_name, info.audio.codec, cut, index=index)
        if kind == "ogg" and min_seek == 1:  # seeked, but to before the first jump
            assert 0 < heard.at < index.sound_jump - 1 and job.note is None
        else:
            assert heard.at == 0 and "sound decoded from the start" in job.shell().splitlines()[0]
        got_v, got_a = frames_and_pcm(run(job))
        skip = target.frames(cut)
        assert got_v == whole_v[skip:skip + 50], f"{kind} at {cut}: pictures differ"
        expected = whole_a[skip * 1920 * 2:(skip + 50) * 1920 * 2]  # stereo
        assert len(got_a) == len(expected) and np.array_equal(got_a, expected), \
            f"{kind} at {cut}: sound differs by up to {np.abs(got_a.astype(int) - expected).max()}"


def test_slices_of_a_segment_are_the_segment(captures, ffmpeg_bin, tmp_path):
    """A faded, seeked segment encoded whole and as three slices (one starting inside the
    fade-out): the same pictures and samples, and the fade only where the whole has it."""
    ffmpeg = find_ffmpeg()
    info = probe(captures["ogg"], ffmpeg)
    index = read_index(info.path, ffmpeg)
    target = DvTarget()
    trim = Trim(Fraction(3), Fraction(3))  # 75 frames
    fx = Effects(fade_in=Fraction(1, 2), fade_out=Fraction(1, 2))  # 12 frames each
    whole_v, whole_a = frames_and_pcm(run(clip_job(info, DvProfile(target), tmp_path / "w.dv", ffmpeg, trim=trim,
                                                   effects=fx, index=index)))
    parts_v, parts_a = [], []
    for i, window in enumerate([(0, 5), (5, 70), (70, 75)]):
        job = clip_job(info, DvProfile(target), tmp_path / f"s{i}.dv", ffmpeg, trim=trim, effects=fx, index=index,
                       window=window)
        assert job.frames == window[1] - window[0]
        assert job.size == job.frames * target.frame_bytes
        v, a = frames_and_pcm(run(job))
        assert len(v) == job.frames and len(a) == job.frames * 1920 * 2
        parts_v += v
        parts_a.append(a)
    assert parts_v == whole_v
    assert np.array_equal(np.concatenate(parts_a), whole_a)


def test_ntsc_slices_follow_the_muxers_sound_pattern(captures, wheel_ffmpeg, tmp_path):
    ffmpeg = find_ffmpeg()
    info = probe(captures["mp4"], ffmpeg)
    target = DvTarget("ntsc", "4:3")
    trim = Trim(Fraction(1, 2), Fraction(2))  # 60 frames
    whole_v, whole_a = frames_and_pcm(run(clip_job(info, DvProfile(target), tmp_path / "w.dv", ffmpeg, trim=trim)))
    parts_v, parts_a = [], []
    for i, window in enumerate([(0, 25), (25, 60)]):
        v, a = frames_and_pcm(run(clip_job(info, DvProfile(target), tmp_path / f"s{i}.dv", ffmpeg, trim=trim,
                                           window=window)))
        parts_v += v
        parts_a.append(a)
    assert parts_v == whole_v
    assert np.array_equal(np.concatenate(parts_a), whole_a)
    with pytest.raises(ValueError, match="multiples of 5"):
        clip_job(info, DvProfile(target), tmp_path / "x.dv", ffmpeg, trim=trim, window=(0, 24))


# --- the decision, pure ------------------------------------------------------------------------

INDEX = FrameIndex(tuple(Fraction(k) for k in (0, 4, 8, 12)), 200, True, Fraction(1, 15))


def test_the_seek_lands_one_keyframe_early_on_whole_seconds():
    assert plan_seek("ogg", "theora", INDEX, Fraction(13)) == Seek(at=8, keyframe=Fraction(12))
    assert plan_seek("ogg", "theora", INDEX, Fraction(12)) == Seek(at=8, keyframe=Fraction(12))
    assert plan_seek("ogg", "theora", INDEX, Fraction(119, 10)) == Seek(at=4, keyframe=Fraction(8))
    assert plan_seek("ogg", "theora", INDEX, Fraction(1, 2)) == Seek()  # nothing to skip


def test_the_preroll_cut_is_a_millisecond_before_the_keyframe():
    assert preroll_cut(Fraction(12)) == "11.999000"
    assert preroll_cut(Fraction(88, 15)) == "5.865666"  # 5.8666... s, to the microsecond below
    # A keyframe at 0 (Matroska: seeked to 1 s for a keyframe at 0): before 0, signed once.
    assert preroll_cut(Fraction(0)) == "-0.001000"
    assert preroll_cut(Fraction(1, 2000)) == "-0.000500"


def test_an_indexed_container_seeks_to_the_keyframe_needed():
    # MP4 and Matroska seek by their stored index to the last keyframe at or before the point:
    # whole seconds from the keyframe needed to the cut, no slack.
    shown = replace(INDEX, earliest=INDEX.keyframes)
    assert plan_seek("mov,mp4,m4a,3gp,3g2,mj2", "h264", shown, Fraction(13)) == Seek(at=12, keyframe=Fraction(12))
    assert plan_seek("mov,mp4,m4a,3gp,3g2,mj2", "h264", shown, Fraction(85, 10)) == Seek(at=8, keyframe=Fraction(8))
    # Decode times unknown: the slack's rule.
    assert plan_seek("mov,mp4,m4a,3gp,3g2,mj2", "h264", INDEX, Fraction(13)) == Seek(at=8, keyframe=Fraction(12))
    times = (Fraction(0), Fraction(57, 10), Fraction(97, 10))
    odd = FrameIndex(times, 9, True, Fraction(1, 1000), earliest=times)
    assert plan_seek("matroska,webm", "h264", odd, Fraction(10)) == Seek(at=10, keyframe=Fraction(97, 10))
    assert plan_seek("matroska,webm", "h264", odd, Fraction(62, 10)) == Seek(at=6, keyframe=Fraction(57, 10))
    # A second before a later keyframe's decode time at most: after a hold of a variable-rate
    # capture it comes seconds before the keyframe is shown (seeking goes by decode times).
    assert plan_seek("matroska,webm", "h264", odd, Fraction(95, 10)) == Seek(at=6, keyframe=Fraction(57, 10))
    assert plan_seek("matroska,webm", "h264", odd, Fraction(104, 10)) == Seek(at=10, keyframe=Fraction(97, 10))
    held = replace(odd, earliest=(Fraction(0), Fraction(56, 10), Fraction(66, 10)))
    assert plan_seek("matroska,webm", "h264", held, Fraction(95, 10)) == Seek()  # 6 > 6.6 - 1: the slack's rule
    # No whole second between the keyframe and the cut: the slack's rule (here: from the start).
    assert plan_seek("matroska,webm", "h264", odd, Fraction(58, 10)) == Seek()
    late = FrameIndex((Fraction(0), Fraction(31, 10), Fraction(57, 10)), 9, True, Fraction(1, 1000), earliest=times)
    assert plan_seek("matroska,webm", "h264", late, Fraction(58, 10)) == Seek(at=3, keyframe=Fraction(57, 10))


@pytest.mark.parametrize("fmt, codec, index, why", [
    ("ogg", "theora", None, "keyframes are not known"),
    ("ogg", "theora", FrameIndex(INDEX.keyframes, 200, False), "could not be read to the end"),
    ("mpegts", "h264", INDEX, "mpegts/h264 is not verified"),
    ("matroska,webm", "vp9", INDEX, "matroska/vp9 is not verified"),
    ("ogg", "theora", FrameIndex((Fraction(20),), 9, True), "no keyframe at or before the cut"),
    ("mov,mp4", "h264", FrameIndex(INDEX.keyframes, 9, True, Fraction(1001, 30000)), "no whole seconds"),
])
def test_a_trim_that_cannot_be_seeked_is_decoded_from_the_start_and_says_why(fmt, codec, index, why):
    seek = plan_seek(fmt, codec, index, Fraction(13))
    assert seek.at == 0 and why in seek.note


def test_dry_run_shows_why_a_trim_decodes_from_the_start():
    from castkit.media.probe import AudioInfo, MediaInfo, VideoInfo

    info = MediaInfo(Path("c.ts"), "mpegts", Fraction(60), VideoInfo("h264", 320, 240, Fraction(1), Fraction(15)),
                     AudioInfo("aac", 48000, 2))
    job = clip_job(info, DvProfile(), Path("o.dv"), Ffmpeg("ffmpeg", "test", "9.0.2"), trim=Trim(Fraction(30)),
                   index=INDEX)
    assert "-ss" not in commands(job)
    assert job.shell().splitlines()[0] == "# trim decoded from the start: seeking in mpegts/h264 is not verified"


def test_framecrc_parsing():
    text = ("#tb 0: 1/15\n#media_type 0: video\n"
            "0,          0,          0,        1,       13, 0x24f30504\n"
            "0,          1,          1,        1,       13, 0x24f30504, F=0x0\n"
            "0,          2,          2,        1,       13, 0x24f30504, F=0x0, S=1, 8\n"
            "0,         30,         30,        1,       13, 0x24f30504\n"
            "0,         31,         31,        1,       13, 0x24f30504, F=0x5\n")
    index = parse_framecrc(text)
    # The discarded keyframe after the shown ones (F=0x5) leaves their decode times unknown.
    assert index == FrameIndex((Fraction(0), Fraction(2)), 5, True, Fraction(1, 15), earliest=())
    # A keyframe decoded before it is shown (B-frames; a hold): its earliest time is its decode time.
    held = parse_framecrc("#tb 0: 1/15\n0, 0, 0, 1, 13, 0x1\n0, 43, 83, 1, 13, 0x1\n")
    assert held.keyframes == (0, Fraction(83, 15)) and held.earliest == (0, Fraction(43, 15))
    # A discarded keyframe among the shown ones (an MP4 of several edits): decode times unknown.
    edited = parse_framecrc("#tb 0: 1/15\n0, 0, 0, 1, 13, 0x1\n0, 40, 40, 1, 13, 0x1, F=0x5\n0, 50, 50, 1, 13, 0x1\n")
    assert edited.keyframes == (0, Fraction(50, 15)) and edited.earliest == ()
    assert parse_framecrc(text + "0, 40, 40, 1, 13, 0x1, F=0x3\n").complete is False
    assert parse_framecrc("") is None


def test_the_sound_seeks_a_margin_before_its_first_sample_where_that_is_verified():
    from castkit.media.seek import plan_sound_seek

    assert plan_sound_seek("ogg", "vorbis", Fraction(100), picture_at=98, index=INDEX) == Seek(at=98)  # one input
    assert plan_sound_seek("ogg", "vorbis", Fraction(100), index=INDEX) == Seek(at=99)
    assert plan_sound_seek("ogg", "vorbis", Fraction(100), picture_at=100, index=INDEX) == Seek(at=99)
    assert plan_sound_seek("ogg", "vorbis", Fraction(301, 10)) == Seek()  # shallow: nothing to say
    for fmt, codec in (("mov,mp4,m4a,3gp,3g2,mj2", "aac"), ("matroska,webm", "vorbis")):
        seek = plan_sound_seek(fmt, codec, Fraction(100), index=INDEX)
        assert seek.at == 0 and "sound decoded from the start" in seek.note
    # Where the timestamps jump (a join), no later than a margin before the first jump.
    joined = replace(INDEX, sound_jump=Fraction(605, 10))
    assert plan_sound_seek("ogg", "vorbis", Fraction(100), picture_at=98, index=joined) == Seek(at=59)
    assert plan_sound_seek("ogg", "vorbis", Fraction(100), picture_at=40, index=joined) == Seek(at=40)
    early = plan_sound_seek("ogg", "vorbis", Fraction(100), index=replace(INDEX, sound_jump=Fraction(30)))
    assert early.at == 0 and "its timestamps jump at 30.000 s" in early.note
    # Without a complete index the jumps are not known.
    for index in (None, replace(INDEX, complete=False)):
        seek = plan_sound_seek("ogg", "vorbis", Fraction(100), index=index)
        assert seek.at == 0 and "sound timestamps are not known" in seek.note


@pytest.mark.parametrize("kind", ["steady ogg", "joined ogg", "joined mkv", "mp4"])
def test_the_index_read_with_only_the_jumps_finds_what_a_whole_listing_finds(
        kind, captures, joined, ffmpeg_bin):
    """``read_index`` has ffmpeg drop every sound packet that starts where the one before it
    ends (``SOUND_JUMPS``): the same keyframes as the whole listing parsed packet by packet,
    with each ffmpeg, and the same first jump of the sound, or one packet sooner: the filter
    sees the demuxer's own times, the listing those of the muxer, which moves a time that runs
    backwards up to the one before it (a join's overlap)."""
    import subprocess

    from castkit.media.seek import index_argv, SOUND_JUMPS

    path = {"steady ogg": captures["ogg"], "joined ogg": joined["ogg"], "joined mkv": joined["mkv"],
            "mp4": captures["mp4"]}[kind]
    ffmpeg = find_ffmpeg()
    argv = index_argv(path, ffmpeg)
    at = argv.index("-bsf:a")
    assert argv[at + 1] == SOUND_JUMPS
    whole = subprocess.run([ffmpeg.path, *argv[:at], *argv[at + 2:]], capture_output=True, check=True)
    expected = parse_framecrc(whole.stdout.decode())
    lines = whole.stdout.decode().count("\n1,")
    index = read_index(path, ffmpeg)
    assert index is not None and expected is not None and index.complete
    assert replace(index, sound_jump=None) == replace(expected, sound_jump=None)
    assert (index.sound_jump is None) == (expected.sound_jump is None)
    if index.sound_jump is not None:
        assert expected.sound_jump - Fraction(1, 20) < index.sound_jump <= expected.sound_jump
    if kind == "joined ogg":
        assert index.sound_jump is not None and 2 < index.sound_jump < 5
    if kind == "steady ogg":
        assert index.sound_jump is None and lines > 300  # every packet listed, none a jump
        jumps = subprocess.run([ffmpeg.path, *argv], capture_output=True, check=True).stdout.decode()
        assert jumps.count("\n1,") == 1  # its first packet alone


def test_the_index_finds_where_the_sounds_timestamps_jump():
    def sound_jump(text: str) -> Fraction | None:
        return parse_framecrc(text).sound_jump

    head = "#tb 0: 1/15\n#tb 1: 1/22050\n"
    steady = head + "1, 0, 0, 128, 9, 0x1\n0, 0, 0, 1, 13, 0x2\n1, 128, 128, 1024, 9, 0x1\n1, 1152, 1152, 128, 9, 0x1\n"
    assert sound_jump(steady) is None
    assert sound_jump(steady + "1, 1270, 1270, 128, 9, 0x1\n") == Fraction(1270, 22050)  # 10 samples of overlap
    assert sound_jump(steady + "1, 1290, 1290, 128, 9, 0x1\n") == Fraction(1290, 22050)  # a gap
    assert sound_jump(steady + f"1, 1280, {-0x8000000000000000}, 128, 9, 0x1\n") == Fraction(1280, 22050)
    assert sound_jump("#tb 0: 1/15\n0, 0, 0, 1, 13, 0x2\n") is None  # no sound


def test_a_listing_of_only_the_jumps_takes_every_later_sound_packet_for_one():
    """With ``SOUND_JUMPS`` ffmpeg lists the first sound packet and those that jump: any later
    line is a jump, even one that starts where the first packet ended (a whole listing would
    take it for the next packet); one without a time puts the jump at 0."""
    head = "#tb 0: 1/15\n#tb 1: 1/22050\n0, 0, 0, 1, 13, 0x1\n1, 0, 0, 128, 9, 0x1\n"

    def jump(lines: str, jumps_only: bool = True):
        return parse_framecrc(head + lines, jumps_only).sound_jump

    # Listed only because it jumped (back to where the first packet ended, after a join): a
    # whole listing would read it as the packet after the first.
    back = "1, 128, 128, 128, 9, 0x1\n"
    assert jump(back) == Fraction(128, 22050) and jump(back, jumps_only=False) is None
    assert jump("") is None
    assert jump("1, 9000, 9000, 128, 9, 0x1\n1, 9999, 9999, 128, 9, 0x1\n") == Fraction(9000, 22050)
    assert jump(f"1, 9000, {-0x8000000000000000}, 128, 9, 0x1\n") == 0


def test_an_ffmpeg_without_the_noise_filter_still_gives_the_index(captures, monkeypatch):
    """The index read falls back to the whole listing where ffmpeg refuses ``SOUND_JUMPS``
    (a build without that bitstream filter): the same keyframes, the sound's jump still read."""
    import castkit.media.seek

    monkeypatch.setattr(castkit.media.seek, "SOUND_JUMPS", "no_such_filter_in_any_ffmpeg")
    ffmpeg = find_ffmpeg(env={"CASTKIT_FFMPEG": WHEEL_FFMPEG})
    index = read_index(captures["ogg"], ffmpeg)
    monkeypatch.undo()
    assert index is not None and index.complete and index == read_index(captures["ogg"], ffmpeg)
