"""Pure parts: timecodes, DV arithmetic, geometry, probe parsing. No ffmpeg runs here."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from castkit.media.probe import parse_probe
from castkit.media.raster import Box
from castkit.media.dv import DvTarget, standard_of
from castkit.media.formats import kind_of
from castkit.base.timecode import TimecodeError, format_time, parse_time


@pytest.mark.parametrize(
    "value,seconds",
    [
        (5, Fraction(5)),
        (83.5, Fraction(167, 2)),
        ("83.5", Fraction(167, 2)),
        ("1:20.5", Fraction(161, 2)),
        ("01:02:03.25", Fraction(3723) + Fraction(1, 4)),
        ("0:00.04", Fraction(1, 25)),
        (0.1, Fraction(1, 10)),
        (" 7 ", Fraction(7)),
    ],
)
def test_timecodes_read_exactly(value, seconds):
    assert parse_time(value) == seconds


@pytest.mark.parametrize(
    "value", [-1, "-2", "1:60", "1:61:00", "abc", "1::2", "", None, True, float("nan"), float("inf"), [1], "1e3"]
)
def test_bad_timecodes_are_refused(value):
    with pytest.raises(TimecodeError):
        parse_time(value)


def test_format_time():
    assert format_time(Fraction(167, 2)) == "1:23.50"
    assert format_time(3725) == "1:02:05.00"
    assert format_time(0) == "0:00.00"


@pytest.mark.parametrize(
    "standard,aspect,size,fps,pix,sar,display",
    [
        ("pal", "4:3", (720, 576), Fraction(25), "yuv420p", Fraction(16, 15), (768, 576)),
        ("pal", "16:9", (720, 576), Fraction(25), "yuv420p", Fraction(64, 45), (1024, 576)),
        ("ntsc", "4:3", (720, 480), Fraction(30000, 1001), "yuv411p", Fraction(8, 9), (640, 480)),
        ("ntsc", "16:9", (720, 480), Fraction(30000, 1001), "yuv411p", Fraction(32, 27), (853, 480)),
    ],
)
def test_dv_targets_match_the_design_table(standard, aspect, size, fps, pix, sar, display):
    t = DvTarget(standard, aspect)
    assert (t.width, t.height) == size
    assert (t.fps, t.pix_fmt, t.sar) == (fps, pix, sar)
    assert t.display_size == display


def test_frame_and_sample_counts():
    pal, ntsc = DvTarget("pal"), DvTarget("ntsc")
    assert pal.frames(Fraction(4)) == 100
    assert pal.frames(parse_time("1:20.5")) == 2012  # 2012.5 rounds to even
    assert pal.audio_samples(100) == 192000
    assert ntsc.frames(Fraction(2)) == 60
    assert ntsc.audio_samples(60) == 96096  # 1601.6 per frame
    assert ntsc.audio_samples(5) == 8008


@pytest.mark.parametrize(
    "target,src,box",
    [
        (DvTarget("pal", "4:3"), (1024, 768), Box(720, 576, 0, 0)),
        (DvTarget("pal", "4:3"), (1366, 768), Box(720, 432, 0, 72)),
        (DvTarget("pal", "4:3"), (1280, 800), Box(720, 480, 0, 48)),
        (DvTarget("pal", "4:3"), (1920, 1080), Box(720, 432, 0, 72)),
        (DvTarget("pal", "16:9"), (1920, 1080), Box(720, 576, 0, 0)),
        (DvTarget("pal", "16:9"), (1024, 768), Box(540, 576, 88, 0)),
        (DvTarget("ntsc", "16:9"), (1920, 1080), Box(720, 480, 0, 0)),
        (DvTarget("ntsc", "4:3"), (1022, 766), Box(720, 480, 0, 0)),
        (DvTarget("pal", "4:3"), (600, 800), Box(404, 576, 156, 0)),
    ],
)
def test_fit_keeps_the_shape(target, src, box):
    got = target.fit(*src)
    assert got == box
    shown_src = Fraction(*src)
    shown_box = Fraction(got.width) * target.sar / got.height
    assert abs(shown_box / shown_src - 1) < Fraction(1, 100)
    assert got.width % 4 == 0 and got.height % 2 == 0 and got.x % 4 == 0 and got.y % 2 == 0


def test_fit_honours_the_source_pixel_shape():
    # A PAL 4:3 DV source (720x576, 16:15 pixels) fits a PAL 4:3 frame exactly.
    assert DvTarget("pal").fit(720, 576, Fraction(16, 15)) == Box(720, 576, 0, 0)
    # The same pixels on a 16:9 target are pillarboxed.
    assert DvTarget("pal", "16:9").fit(720, 576, Fraction(16, 15)).width == 540


def test_containers_and_names():
    assert kind_of(Path("a.dv")) == "dv" and kind_of(Path("a.AVI")) == "avi"
    assert kind_of(Path("a.mp4")) == "mp4" and kind_of(Path("a.mov")) is None
    assert standard_of("NTSC-dv") == "ntsc" and standard_of("pal-dv") == "pal"
    assert standard_of("secam-dv") is None and standard_of("pal") is None
    with pytest.raises(ValueError):
        DvTarget("secam")


FFMPEG51_LOG = """\
[ogg @ 0x56257e2818c0] stream 0: start_time: 0 duration: 9.6
[ogg @ 0x56257e2818c0] format: start_time: 0 duration: 9.6 (estimate from stream) bitrate=8 kb/s
Input #0, ogg, from 'lum.ogv':
  Duration: 00:00:09.60, start: 0.000000, bitrate: 8 kb/s
  Stream #0:0, 1, 1/15: Video: theora, 1 reference frame, yuv420p(center), 1366x768 [SAR 1:1 DAR 683:384], 0/1, 15 tbr, 15 tbn
  Stream #0:1, 1, 1/22050: Audio: vorbis, 22050 Hz, mono, fltp, 40 kb/s
"""

FFMPEG9_MP4_LOG = """\
[in#0/mov,mp4,m4a,3gp,3g2,mj2 @ 0x55f0eafe2000] format: start_time: 0 duration: 123.457 (estimate from stream) bitrate=410 kb/s
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'rot.mp4':
  Duration: 00:02:03.46, start: 0.000000, bitrate: 410 kb/s
  Stream #0:0[0x1](und), 1, 1/15360: Video: h264 (High), 1 reference frame (avc1 / 0x31637661), yuv420p(tv, bt709, left), 1920x1080 [SAR 4:3 DAR 64:27], 0/1, 497 kb/s, 29.97 fps, 29.97 tbr, 15360 tbn (default)
      Side data:
        displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und), 1, 1/44100: Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, 5.1, fltp, delay 1024, 69 kb/s (default)
"""


def test_probe_parses_ffmpeg_51_trace():
    info = parse_probe(Path("lum.ogv"), FFMPEG51_LOG)
    assert info.format_name == "ogg"
    assert info.duration == Fraction(48, 5)
    assert (info.video.codec, info.video.width, info.video.height) == ("theora", 1366, 768)
    assert info.video.fps == 15 and info.video.sar == 1
    assert info.video.pix_fmt == "yuv420p"  # after a codec part with commas at -v trace (issue 30)
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("vorbis", 22050, 1)


def test_probe_parses_ffmpeg_9_mp4_with_rotation_and_anamorphic_pixels():
    info = parse_probe(Path("rot.mp4"), FFMPEG9_MP4_LOG)
    assert info.duration == Fraction("123.457")  # the exact trace line, not the rounded summary
    v = info.video
    assert (v.codec, v.width, v.height, v.sar) == ("h264", 1920, 1080, Fraction(4, 3))
    assert v.fps == Fraction(30000, 1001)
    assert v.rotation == 270 and v.shown_shape == (1080, 1920, Fraction(3, 4))
    assert v.display_aspect == Fraction(27, 64)
    assert v.pix_fmt == "yuv420p" and v.matrix == "bt709"
    assert info.audio.channels == 6


def test_probe_of_garbage_is_none():
    assert parse_probe(Path("x"), "x: Invalid data found when processing input\n") is None


# --- the byte join of a raw DV cast ---------------------------------------------------------

def _segments(tmp_path: Path) -> tuple[Path, bytes, Path, bytes]:
    a, b = tmp_path / "a.dv", tmp_path / "b.dv"
    a_bytes, b_bytes = bytes(range(1, 31)), bytes(range(101, 151))  # 3 and 5 "frames" of 10
    a.write_bytes(a_bytes)
    b.write_bytes(b_bytes)
    return a, a_bytes, b, b_bytes


def test_a_cast_is_assembled_while_its_segments_grow(tmp_path):
    from castkit.outputs.join import ByteJoinJob, Part

    a, a_bytes, b, b_bytes = _segments(tmp_path)
    out, manifest = tmp_path / "cast.dv", tmp_path / "cache" / "cast.json"
    manifest.parent.mkdir()
    # The same segment twice (a, b, a): it is fed once and fills both of its ranges.
    job = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 50, 10), Part(a, "a", 30, 10)),
                      out, manifest, 11)
    writer = job.open_sink()
    assert writer is not None and not out.exists()
    assert writer.temp.parent == tmp_path and writer.temp.name.endswith(".partial")
    # b is still being encoded: 27 bytes written so far, so two whole frames are copied.
    growing = tmp_path / ".b.dv.partial"
    growing.write_bytes(b_bytes[:27])
    writer.feed(b, growing, 27)
    growing.unlink()  # ffmpeg's temporary name; the runner renames it when the encode is done
    cast = writer.temp.read_bytes()
    assert cast[30:] == b_bytes[:20], "whole frames of b, in b's place"
    writer.feed(a, a, 30)
    cast = writer.temp.read_bytes()
    assert cast[:30] == cast[80:] == a_bytes and cast[50:80] == bytes(30)
    writer.feed(tmp_path / "other.dv", a, 30)  # not a part of this cast: nothing happens
    assert writer.finish() == "joined"  # copies the rest of b from its finished file
    assert out.read_bytes() == a_bytes + b_bytes + a_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dv", "b.dv", "cache", "cast.dv"]
    # The cast is castkit's, unchanged: the next join patches it or finds it up to date.
    assert job.open_sink() is None and job.render() == "up to date"


def test_an_aborted_cast_leaves_the_previous_one(tmp_path):
    from castkit.outputs.join import ByteJoinJob, Part

    a, a_bytes, b, _ = _segments(tmp_path)
    out = tmp_path / "cast.dv"
    out.write_bytes(b"the cast of yesterday")
    job = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 50, 10)), out, tmp_path / "m.json", 8)
    writer = job.open_sink()
    writer.prefill({b})
    writer.abort()
    assert not writer._filler.is_alive(), "abort waits for the background copy to stop"
    writer.feed(b, b, 50)  # an encode that reports after the stop writes nothing
    assert out.read_bytes() == b"the cast of yesterday"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dv", "b.dv", "cast.dv"]


def test_a_join_stops_on_a_segment_shorter_than_planned(tmp_path):
    from castkit.outputs.join import ByteJoinJob, Part
    from castkit.errors import WorkError

    a, _, b, _ = _segments(tmp_path)
    out = tmp_path / "cast.dv"
    job = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 60, 10)), out, tmp_path / "m.json", 9)
    with pytest.raises(WorkError, match="cast.dv"):
        job.render()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dv", "b.dv"]


def test_cached_segments_are_copied_while_the_others_encode(tmp_path):
    from castkit.outputs.join import ByteJoinJob, Part
    from castkit.errors import WorkError

    a, a_bytes, b, b_bytes = _segments(tmp_path)
    out = tmp_path / "cast.dv"
    job = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 50, 10)), out, tmp_path / "m.json", 8)
    writer = job.open_sink()
    writer.prefill({b})  # b is encoded in this run; a is taken from the cache, in the background
    writer._filler.join()
    assert writer.temp.read_bytes()[:30] == a_bytes
    assert writer.temp.read_bytes()[30:] == b"", "b is left to its encode"
    writer.feed(b, b, 50)
    assert writer.finish() == "joined" and out.read_bytes() == a_bytes + b_bytes

    # A cached segment that turns out short fails the join, without a temporary file left.
    out.unlink()
    short = ByteJoinJob("join", (Part(a, "a", 40, 10), Part(b, "b", 50, 10)), out, tmp_path / "m2.json", 9)
    writer = short.open_sink()
    writer.prefill({b})
    writer.feed(b, b, 50)
    with pytest.raises(WorkError, match="cast.dv"):
        writer.finish()
    assert not out.exists() and not writer.temp.exists()


def test_a_patch_with_a_segment_gone_keeps_the_previous_cast(tmp_path):
    """A rebuild that patches the cast finds a new segment gone (a cache cleaned meanwhile):
    it fails before it moves the cast aside."""
    from castkit.outputs.join import ByteJoinJob, Part

    a, a_bytes, b, b_bytes = _segments(tmp_path)
    out, manifest = tmp_path / "cast.dv", tmp_path / "m.json"
    assert ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 50, 10)), out, manifest, 8).render() == "joined"
    c = tmp_path / "c.dv"  # the new take of the first segment, same length: a patch
    edited = ByteJoinJob("join", (Part(c, "c", 30, 10), Part(b, "b", 50, 10)), out, manifest, 8)
    with pytest.raises(OSError):
        edited.render()
    c.write_bytes(b"x" * 20)  # there, but cut short
    with pytest.raises(OSError, match="changed size"):
        edited.render()
    assert out.read_bytes() == a_bytes + b_bytes
    c.write_bytes(b"x" * 30)
    assert edited.render() == "patched 1 segment" and out.read_bytes() == b"x" * 30 + b_bytes
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_join_across_filesystems_stays_in_the_kernel(tmp_path, monkeypatch):
    """The cache on one filesystem, the cast on another (copy_file_range says EXDEV): the
    kernel still copies (sendfile); no byte of video is read into Python."""
    import os
    import tempfile

    from castkit.outputs import join as _join
    from castkit.outputs.join import ByteJoinJob, Part

    other = Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == tmp_path.stat().st_dev or not os.access(other, os.W_OK):
        pytest.skip("no second writable filesystem here")
    a, a_bytes, b, b_bytes = _segments(tmp_path)
    for name in ("pread", "read"):
        monkeypatch.setattr(_join.os, name, lambda *_: pytest.fail("bytes went through Python"), raising=False)
    with tempfile.TemporaryDirectory(dir=other) as there:
        out = Path(there) / "cast.dv"
        job = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 50, 10), Part(a, "a", 30, 10)),
                          out, tmp_path / "m.json", 11)
        assert job.render() == "joined"
        assert out.read_bytes() == a_bytes + b_bytes + a_bytes


def test_a_cast_whose_end_changed_is_patched_from_the_first_change_and_cut_to_length(tmp_path):
    """A clip's end moved: its chunks before the end keep their bytes and places, so a DV cast
    is patched from the first changed part on (and cut, or grown, to its new length); a change
    near the start (most of the cast moves) is joined afresh."""
    from castkit.outputs.join import ByteJoinJob, Part

    a, a_bytes, b, b_bytes = _segments(tmp_path)
    out, manifest = tmp_path / "cast.dv", tmp_path / "m.json"
    assert ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 50, 10)), out, manifest, 8).render() == "joined"
    c = tmp_path / "c.dv"
    c.write_bytes(b"c" * 20)
    shorter = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(c, "c", 20, 10)), out, manifest, 5)
    assert shorter.render() == "patched 1 segment" and out.read_bytes() == a_bytes + b"c" * 20
    longer = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(c, "c", 20, 10), Part(b, "b", 50, 10)), out, manifest, 10)
    assert longer.render() == "patched 1 segment" and out.read_bytes() == a_bytes + b"c" * 20 + b_bytes
    # The end moved back onto a part's edge: the last part dropped, no other changed.
    cut = ByteJoinJob("join", (Part(a, "a", 30, 10), Part(c, "c", 20, 10)), out, manifest, 5)
    assert cut.render() == "cut to length" and out.read_bytes() == a_bytes + b"c" * 20
    assert cut.render() == "up to date"
    # A change near the start, most of the cast kept after it: see the next test.
    d = tmp_path / "d.dv"
    d.write_bytes(b"d" * 60)
    afresh = ByteJoinJob("join", (Part(d, "d", 60, 10), Part(c, "c", 20, 10)), out, manifest, 8)
    assert afresh.render() == "joined" and out.read_bytes() == b"d" * 60 + b"c" * 20


def test_a_cast_whose_start_changed_moves_its_kept_end_in_place(tmp_path):
    """A clip's start moved: its chunks after the start are the previous cast's last bytes,
    moved inside the cast's own file (in pieces no longer than the distance, so no copy
    overlaps its source) to their new place, toward the start or the end; the new first parts
    are written before them. Nothing of the kept parts is read from the cache."""
    from castkit.outputs.join import ByteJoinJob, Part

    a, a_bytes, b, b_bytes = _segments(tmp_path)
    big = tmp_path / "big.dv"
    big_bytes = bytes(range(256)) * 4 + bytes(range(16))  # 104 "frames" of 10
    big.write_bytes(big_bytes)
    out, manifest = tmp_path / "cast.dv", tmp_path / "m.json"
    assert ByteJoinJob("join", (Part(a, "a", 30, 10), Part(b, "b", 50, 10), Part(big, "big", 1040, 10)),
                       out, manifest, 112).render() == "joined"
    for name in ("a.dv", "b.dv", "big.dv"):
        (tmp_path / name).rename(tmp_path / f"gone-{name}")  # the kept parts are not read
    c = tmp_path / "c.dv"
    c.write_bytes(b"c" * 20)
    later = ByteJoinJob("join", (Part(c, "c", 20, 10), Part(b, "b", 50, 10), Part(big, "big", 1040, 10)),
                        out, manifest, 111)
    assert later.render() == "patched 1 segment, moved 109 frames"
    assert out.read_bytes() == b"c" * 20 + b_bytes + big_bytes
    e = tmp_path / "e.dv"
    e.write_bytes(b"e" * 90)
    earlier = ByteJoinJob("join", (Part(e, "e", 90, 10), Part(big, "big", 1040, 10)), out, manifest, 113)
    assert earlier.render() == "patched 1 segment, moved 104 frames"
    assert out.read_bytes() == b"e" * 90 + big_bytes
    assert earlier.render() == "up to date"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_patched_output_is_recorded_by_hashing_only_the_blocks_it_rewrote(tmp_path, monkeypatch):
    """What castkit wrote is hashed block by block: after a patch in place (a DV cast whose
    clip end moved), only the blocks the patch touched and the last are read again, and the
    record is the one a full hash gives; a copy put back is still recognised, a changed one not."""
    import shutil

    from castkit.cache import written

    monkeypatch.setattr(written, "BLOCK", 8)
    cache, out = tmp_path / "cache", tmp_path / "cast.dv"
    out.write_bytes(bytes(range(40)))
    written.record_written(cache, out)
    before = out.stat()
    with open(out, "r+b") as f:  # bytes 17-18 rewritten, the file cut to 36
        f.seek(17)
        f.write(b"xx")
        f.truncate(36)
    hashed = []
    sha256 = written.hashlib.sha256
    monkeypatch.setattr(written.hashlib, "sha256", lambda data=b"": hashed.append(bytes(data)) or sha256(data))
    written.record_patched(cache, out, before, [(17, 19)])
    data = out.read_bytes()
    assert [h for h in hashed if h != str(out.resolve()).encode()] == [data[16:24], data[32:36]]
    record = __import__("json").loads(written.written_path(cache, out).read_text())
    assert record["sha256-blocks"] == [sha256(data[i:i + 8]).hexdigest() for i in range(0, 36, 8)]
    assert written.why_not_replaceable(cache, out) is None
    # Put back from a copy (another inode, the same bytes): castkit's; one byte changed: not.
    copy = tmp_path / "copy.dv"
    shutil.copyfile(out, copy)
    out.unlink()
    copy.rename(out)
    assert written.why_not_replaceable(cache, out) is None
    out.write_bytes(data[:-1] + b"!")
    assert written.why_not_replaceable(cache, out) == written.CHANGED
    # A record of another stat than the file had before the patch: nothing recorded from it.
    hashed.clear()
    written.record_patched(cache, out, before, [(0, 1)])
    assert [h for h in hashed if h != str(out.resolve()).encode()] == []


def test_a_write_back_is_started_on_whole_pages_and_goes_on_where_it_stopped(tmp_path):
    from castkit.base.files import PAGE, start_write_back

    path = tmp_path / "cast.dv"
    path.write_bytes(b"\x01" * (3 * PAGE + 5))
    with open(path, "r+b") as f:
        assert start_write_back(f.fileno(), 0, 3 * PAGE + 5) == 3 * PAGE  # the partial page waits
        assert start_write_back(f.fileno(), 3 * PAGE, 3 * PAGE + 5) == 3 * PAGE
        f.seek(0, 2)
        f.write(b"\x02" * PAGE)
        assert start_write_back(f.fileno(), 3 * PAGE, 4 * PAGE + 5) == 4 * PAGE
    assert path.read_bytes() == b"\x01" * (3 * PAGE + 5) + b"\x02" * PAGE


def test_a_matroska_file_shorter_than_its_segment_is_cut_short(tmp_path):
    """The EBML header (id, size 4, 4 bytes), then the Segment's id and size (8-byte form)."""
    from castkit.media.probe import _matroska_cut_short

    def mkv(declared: bytes, body: int) -> Path:
        path = tmp_path / f"{declared.hex()}-{body}.mkv"
        path.write_bytes(bytes.fromhex("1a45dfa3") + b"\x84" + b"abcd" + bytes.fromhex("18538067")
                         + declared + b"\0" * body)
        return path

    hundred = b"\x01" + (100).to_bytes(7, "big")
    assert _matroska_cut_short(mkv(hundred, 60))
    assert not _matroska_cut_short(mkv(hundred, 100))
    assert not _matroska_cut_short(mkv(b"\x01" + b"\xff" * 7, 60))  # unknown size: a live recording's
    assert not _matroska_cut_short(mkv(b"\x80", 0)) and not _matroska_cut_short(tmp_path / "none.mkv")
    (tmp_path / "other.mkv").write_bytes(b"RIFF" + b"\0" * 40)
    assert not _matroska_cut_short(tmp_path / "other.mkv")


@pytest.mark.parametrize("start,said", [(Fraction(2, 5), None), (Fraction(3), "the first starts at 0:03, not 0:00")])
def test_the_first_chapter_is_late_only_when_its_line_says_so(start, said):
    """The YouTube list writes whole seconds: a first chapter 0.4 s in is listed at 0:00, as
    YouTube asks (before: "the first starts at 0:00, not 0:00", from a fault campaign)."""
    from castkit.publish.chapters import Chapter, youtube_list, youtube_problems

    chapters = [Chapter("One", start, Fraction(20)), Chapter("Two", Fraction(20), Fraction(40)),
                Chapter("Three", Fraction(40), Fraction(60))]
    first = [p for p in youtube_problems(chapters) if p.startswith("the first")]
    assert (len(first) == 1 and first[0].startswith(said)) if said else not first, first
    assert youtube_list(chapters).startswith("0:00 One" if start < 1 else "0:03 One")
