"""A byte-joined DV cast counts its timecode on from its first frame to its last (issue 12),
read by a parser written here from the DV spec, not castkit's; and it still decodes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from castkit.builder.build import build
from readers import decode, have, melt, playdv
from helpers import write_recipe

pytestmark = pytest.mark.e2e

SEQUENCE, BLOCK = 12000, 80  # IEC 61834 / SMPTE 314M: a DIF sequence is 150 blocks of 80 bytes


def _bcd(byte: int, mask: int) -> int:
    byte &= mask
    return (byte >> 4) * 10 + (byte & 0x0F)


def packs(frame: bytes, kind: int) -> list[bytes]:
    """Every pack of ``kind`` in a frame's subcode blocks (1 and 2 of each DIF sequence, six
    sync blocks each: 3 ID bytes, then a 5-byte pack) and VAUX blocks (3-5, fifteen packs)."""
    found = []
    for seq in range(0, len(frame), SEQUENCE):
        for block in (1, 2):
            at = seq + block * BLOCK
            assert frame[at] >> 5 == 1, "a subcode DIF block"
            for sync in range(6):
                pack = frame[at + 3 + 8 * sync + 3:at + 3 + 8 * sync + 8]
                if pack[0] == kind:
                    found.append(pack)
        for block in (3, 4, 5):
            at = seq + block * BLOCK
            assert frame[at] >> 5 == 2, "a VAUX DIF block"
            for k in range(15):
                pack = frame[at + 3 + 5 * k:at + 8 + 5 * k]
                if pack[0] == kind:
                    found.append(pack)
    return found


def timecode(pack: bytes) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, frames) of an SMPTE timecode pack (0x13)."""
    return _bcd(pack[4], 0x3F), _bcd(pack[3], 0x7F), _bcd(pack[2], 0x7F), _bcd(pack[1], 0x3F)


def frames_of(path: Path, size: int):
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


CAST = """
    target: {target}
    output: build/cast.dv
    segments:
      - title: "One"
        duration: 1.4
      - clip: captures/luma.ogv
        start: 3
        duration: 2.2
      - title: "Two"
        duration: 1
"""


def dv_frames(cast: Path, ffmpeg: str) -> Path:
    """The DV frames of an AVI cast as they are stored (ffmpeg's rawvideo muxer writes the
    packets, untouched), to be read like a raw DV file; a raw DV cast as it is."""
    if cast.suffix == ".dv":
        return cast
    raw = cast.with_suffix(".frames")
    subprocess.run([ffmpeg, "-v", "error", "-i", str(cast), "-map", "0:v", "-c", "copy",
                    "-f", "rawvideo", str(raw)], check=True)
    return raw


@pytest.mark.parametrize("suffix", [".dv", ".avi"])
@pytest.mark.parametrize("target, size, rate", [("pal-dv", 144000, 25), ("ntsc-dv", 120000, 30)])
def test_the_cast_counts_its_timecode_on_across_segments(target, size, rate, suffix, tmp_path,
                                                         media_files, ffmpeg_bin):
    """Raw DV and DV in AVI alike; the AVI's frames were copied as each segment's encode wrote
    them, with a timecode from 0 in each, before castkit counted them on."""
    (tmp_path / "captures").mkdir()
    os.link(media_files.luma_vfr, tmp_path / "captures" / "luma.ogv")
    planned = build(write_recipe(tmp_path, CAST.format(target=target).replace("cast.dv", "cast" + suffix)))
    out = tmp_path / "build" / ("cast" + suffix)
    assert sum(f for _, f, _, _ in planned.segments) == planned.frames
    dates = set()
    for n, frame in enumerate(frames_of(dv_frames(out, ffmpeg_bin), size)):
        codes = {timecode(p) for p in packs(frame, 0x13)}
        seconds, ff = divmod(n, rate)  # ffmpeg writes NTSC timecode non-drop-frame (DF bit clear)
        assert codes == {(0, seconds // 60, seconds % 60, ff)}, f"frame {n}"
        assert all(p[1] & 0x40 == 0 for p in packs(frame, 0x13))
        times = {(_bcd(p[4], 0x3F), _bcd(p[3], 0x7F), _bcd(p[2], 0x7F)) for p in packs(frame, 0x63)}
        real = n * (1 if rate == 25 else 1001) // (25 if rate == 25 else 30000)
        assert times == {(0, real // 60, real % 60)}, f"frame {n}: recording time"
        dates |= {p for p in packs(frame, 0x62)}
    assert n + 1 == planned.frames
    assert len(dates) == 1, "one recording date for the whole cast"
    assert decode(out).frames == planned.frames
    if have("melt"):
        assert melt(out).length == planned.frames
    if have("playdv") and suffix == ".dv":  # libdv's player reads raw DV only
        assert playdv(out, tmp_path, video=False).audio_bytes > 0


def test_rewriting_the_timecode_counts_on_over_many_frames(tmp_path, wheel_ffmpeg, monkeypatch):
    """Over 15 repeats of a 2 s encode (each from 00:00:00:00), rewritten in ranges as a join
    does: the last frame counts 749 frames on. What it costs: benchmarks/bench_timecode.py."""
    from castkit.media import dvtc
    from castkit.media.dvtc import retime

    one = tmp_path / "one.dv"
    subprocess.run([wheel_ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=s=720x576:r=25:d=2",
                    "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "2", "-target", "pal-dv",
                    "-map_metadata", "-1", str(one)], check=True)
    data = one.read_bytes()

    def retimed(name: str) -> Path:
        """15 copies of the encode, rewritten in ranges of 50 frames as a join does."""
        cast = tmp_path / name
        cast.write_bytes(data * 15)
        fd = os.open(cast, os.O_RDWR)
        try:
            for k in range(15):
                retime(fd, k * len(data), 50, k * 50, 144000)
        finally:
            os.close(fd)
        return cast

    cast = retimed("cast.dv")
    with open(cast, "rb") as f:
        f.seek(749 * 144000)
        assert {timecode(p) for p in packs(f.read(144000), 0x13)} == {(0, 0, 29, 24)}
    # Every frame, not only the last (maps of 32 frames are rewritten at once, by numpy).
    assert [{timecode(p) for p in packs(frame, 0x13)} for frame in frames_of(cast, 144000)] == [
        {(0, 0, n // 25, n % 25)} for n in range(750)]
    # The very bytes that rewriting frame by frame, sequence by sequence, gives.
    monkeypatch.setattr(dvtc, "_retime_frames", lambda *args: None)
    assert retimed("by-frame.dv").read_bytes() == cast.read_bytes()


def test_the_packs_made_at_once_are_those_made_frame_by_frame():
    """``_pack_columns`` (numpy, a map's frames at once) against ``_packs_for`` (one frame):
    PAL and NTSC, drop-frame or not, across minutes, tens of minutes and a new year."""
    from datetime import datetime, timezone

    from castkit.media import dvtc

    recorded = datetime(2024, 12, 31, 23, 59, 58, tzinfo=timezone.utc)
    for frame_bytes in (144000, 120000):
        for tc in (0x00, 0x40 | 0x80 | 0x15):  # flag bits kept; 0x40: drop-frame (NTSC)
            flags = {dvtc.TIMECODE: bytes((tc, 0x80, 0x80, 0xC0)), dvtc.REC_DATE: bytes((0xFF, 0xC0, 0xE0, 0)),
                     dvtc.REC_TIME: bytes((0xFF, 0x80, 0x80, 0xC0))}
            for first, count in ((0, 70), (1790, 40), (17975, 40), (107880, 32)):
                columns = dvtc._pack_columns(first, count, frame_bytes, flags, recorded)
                for n in range(count):
                    one = dvtc._packs_for(first + n, frame_bytes, flags, recorded)
                    assert {k: bytes(columns[k][n]) for k in one} == one, (frame_bytes, tc, first + n)
