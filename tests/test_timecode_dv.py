"""A byte-joined DV cast counts its timecode on from its first frame to its last (issue 12),
read by a parser written here from the DV spec, not castkit's; and it still decodes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from castkit._build import build
from readers import decode, have, melt, playdv
from conftest import write_recipe

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


@pytest.mark.parametrize("target, size, rate", [("pal-dv", 144000, 25), ("ntsc-dv", 120000, 30)])
def test_the_cast_counts_its_timecode_on_across_segments(target, size, rate, tmp_path, media_files,
                                                         ffmpeg_bin):
    (tmp_path / "captures").mkdir()
    os.link(media_files.luma_vfr, tmp_path / "captures" / "luma.ogv")
    planned = build(write_recipe(tmp_path, CAST.format(target=target)))
    out = tmp_path / "build" / "cast.dv"
    assert sum(f for _, f, _, _ in planned.segments) == planned.frames
    dates = set()
    for n, frame in enumerate(frames_of(out, size)):
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
    if have("playdv"):
        assert playdv(out, tmp_path, video=False).audio_bytes > 0


def test_rewriting_the_timecode_of_a_ten_minute_cast_is_cheap(tmp_path, wheel_ffmpeg):
    from castkit._dvtc import retime

    one = tmp_path / "one.dv"
    subprocess.run([wheel_ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=s=720x576:r=25:d=2",
                    "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "2", "-target", "pal-dv",
                    "-map_metadata", "-1", str(one)], check=True)
    data = one.read_bytes()
    cast = tmp_path / "cast.dv"
    with open(cast, "wb") as f:
        for _ in range(300):  # 15000 frames: ten minutes of PAL, 2.2 GB
            f.write(data)
    fd = os.open(cast, os.O_RDWR)
    try:
        began = time.process_time()
        for k in range(300):
            retime(fd, k * len(data), 50, k * 50, 144000)
        spent = time.process_time() - began
    finally:
        os.close(fd)
    print(f"retime of 15000 PAL frames: {spent:.2f} s of CPU")
    assert spent < 4, spent  # measured 1.8 s on a loaded 2-core machine
    with open(cast, "rb") as f:
        f.seek(14999 * 144000)
        assert {timecode(p) for p in packs(f.read(144000), 0x13)} == {(0, 9, 59, 24)}
    cast.unlink()
