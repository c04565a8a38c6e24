"""Reads of a capture whose streams start at different times: the -itsoffset each read needs
(media.origins), and where compile_argv writes it (DV: the picture's ffmpeg, not the sound's)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from castkit.media.origins import input_offset, offset_args, Origins
from castkit.media.probe import needs_measuring
from castkit.outputs.dv import DvProfile
from castkit.outputs.mp4 import Mp4Profile
from castkit.media.pictures import Pictures
from castkit.plan.encode import clip_job, Trim

from test_plan import capture, FFMPEG

LATE = Fraction(13, 25)  # the picture starts 0.52 s after the sound
NEW = Origins(picture=LATE)  # ffmpeg 9: shifts a read by its streams' start, then adds an offset
OLD = replace(NEW, offset_added=False)  # ffmpeg 5.1: shifts only a read without seek or offset


def test_a_read_of_both_streams_is_the_capture_s_clock():
    assert input_offset(NEW, {"v", "a"}) == input_offset(OLD, {"v", "a"}) == 0
    assert input_offset(NEW, {"a"}) == 0


def test_a_read_of_the_late_picture_alone_is_moved_back_by_its_start():
    assert input_offset(NEW, {"v"}) == LATE


def test_ffmpeg_5_1_is_kept_from_shifting_by_the_smallest_offset():
    # Any offset turns its shift off; none is needed on the capture's clock.
    assert input_offset(OLD, {"v"}) == Fraction(1, 1000000)
    assert input_offset(OLD, {"a"}) == 0


def test_a_seek_past_the_late_start_needs_no_offset():
    # Both ffmpegs start a read seeked past every stream's start at the seek point.
    for origins in (NEW, OLD):
        assert input_offset(origins, {"v"}, 3) == input_offset(origins, {"a"}, Fraction(3)) == 0


def test_a_seek_before_the_late_start_is_shifted_to_that_start_by_ffmpeg_9():
    assert input_offset(NEW, {"v"}, "0.5") == Fraction(1, 50)


def test_a_capture_whose_streams_both_start_late_is_on_the_clock_of_the_earlier():
    # An earlier stream castkit does not read (data, subtitles): both reads shifted.
    late = Origins(picture=Fraction(3, 5), sound=Fraction(1, 5))
    assert input_offset(late, {"v"}) == Fraction(2, 5)
    assert input_offset(late, {"v", "a"}) == 0
    assert input_offset(late, {"a"}, 2) == -Fraction(1, 5)  # seeked: from the file's start
    assert input_offset(replace(late, offset_added=False), {"v"}) == -Fraction(1, 5)


def test_offsets_are_written_in_microseconds():
    info = replace(capture(), origins=Origins(picture=Fraction(1, 3)))
    assert offset_args(info, ("v",)) == ["-itsoffset", "0.333333"]
    late = replace(info, origins=Origins(picture=Fraction(3, 5), sound=Fraction(1, 5)))
    assert offset_args(late, ("a",), 2) == ["-itsoffset", "-0.200000"]
    assert offset_args(replace(info, origins=Origins(sound=Fraction(1, 3))), ("v",)) == []
    assert offset_args(capture(), ("v",)) == []


def _before_input(argv: list[str] | tuple[str, ...]) -> list[str]:
    at = list(argv).index("file:caps/take 1.ogv")
    return list(argv)[at - 3:at - 1]


def test_a_dv_segment_offsets_its_picture_s_read_and_not_its_sound_s():
    info = replace(capture(), origins=NEW)
    job = clip_job(info, DvProfile(), Path("out/seg.dv"), FFMPEG, trim=Trim(Fraction(1), Fraction(4)))
    pictures = job.pictures.argv(Pictures.path(Path("out/seg.dv")), "pipe:7")
    assert _before_input(pictures) == ["-itsoffset", "0.520000"]
    assert "-itsoffset" not in job.argv
    # Without a late stream, the argv is as before.
    plain = clip_job(capture(), DvProfile(), Path("out/seg.dv"), FFMPEG, trim=Trim(Fraction(1), Fraction(4)))
    assert [a for a in pictures if a not in ("-itsoffset", "0.520000")] == \
        list(plain.pictures.argv(Pictures.path(Path("out/seg.dv")), "pipe:7"))


def test_a_web_segment_reads_both_streams_on_the_capture_s_clock():
    job = clip_job(replace(capture(), origins=NEW), Mp4Profile(), Path("out/seg.mp4"), FFMPEG)
    assert "-itsoffset" not in job.argv


def test_only_a_file_whose_streams_start_apart_is_measured():
    def log(video: str, audio: str, start: str) -> str:
        return (f"[ogg @ 0x1] stream 0: start_time: {video} duration: 5\n"
                f"[ogg @ 0x1] stream 1: start_time: {audio} duration: 5\n"
                f"  Duration: 00:00:05.00, start: {start}, bitrate: 14 kb/s\n")

    assert not needs_measuring(log("0", "0", "0.000000"), "ogg", 0, 1)
    assert needs_measuring(log("0.52", "0", "0.000000"), "ogg", 0, 1)
    assert needs_measuring(log("1.4", "1.4", "1.400000"), "mpegts", 0, 1) is False
    assert needs_measuring(log("40001.5", "40001.5", "40001.523456"), "mpegts", 0, 1)  # 5.1's six digits
    assert needs_measuring(log("0.2", "0.2", "0.000000"), "mpegts", 0, 1)  # a third stream starts first
    assert not needs_measuring(log("0.52", "0", "0.000000"), "ogg", 0, None)  # no sound: one clock
    assert needs_measuring("  Duration: 00:00:05.00, start: 0.000000, bitrate: 1 kb/s\n", "ogg", 0, 1)
    # Matroska's reads keep the file's clock (5.1 puts its Vorbis or Opus at -0.007 s).
    assert not needs_measuring(log("0", "-0.007", "-0.007000"), "matroska,webm", 0, 1)
