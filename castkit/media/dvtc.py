"""Continuous DV timecode in a byte-joined cast.

Each segment is encoded on its own, so its frames carry timecodes from 00:00:00:00 and
recording times from its own start; a cast joined by bytes would restart them at every
segment (editors that follow timecode, Kino's scene detection on recording time, see a cut).
``retime`` rewrites, in a range of whole frames of a raw DV file, the packs that count time:

- the SMPTE timecode pack (0x13) in the subcode blocks (blocks 1 and 2 of every DIF sequence,
  six sync blocks of 3 ID bytes and a 5-byte pack each),
- the recording date and time packs (0x62, 0x63) in the subcode and VAUX blocks (blocks 3-5,
  fifteen 5-byte packs each), so that the whole cast is one recording on one date,
- and their AAUX twins (0x52, 0x53) in the audio blocks (blocks 6, 22, ..., 134: a 5-byte pack
  after each block's 3 ID bytes), which ffmpeg's dv muxer counts from each file's start too:
  rewritten, a cast's bytes do not depend on where its segments were cut into files (a chunked
  clip and the same clip encoded whole are the same bytes, tests/e2e/test_chunks.py).

Counting is ffmpeg's dv muxer's: PAL 25 frames a second; NTSC counts 30 a second, as a
drop-frame timecode only if the pack says so (its DF bit; ffmpeg 5.1 and 9 write
non-drop-frame), and recording time is the frame's real time, in whole seconds. Flag bits
are kept as they are in the file. Only blocks 1-5 of each DIF sequence (400 of its 12000
bytes) are read and written, through an mmap of the range: no picture passes through Python.

Layout (IEC 61834-2 / SMPTE 314M): a frame is 12 (PAL) or 10 (NTSC) DIF sequences of 150
blocks of 80 bytes; block 0 is the header, 1-2 subcode, 3-5 VAUX.
"""

from __future__ import annotations

import errno
import mmap
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

# numpy is imported by the functions that use it: a cast that needs no retiming (``outputs.join``)
# builds without loading it (0.1 s of CPU).
from castkit.media.dv import fps_of_frame


SEQUENCE = 12000
BLOCK = 80
_AREA = (BLOCK, 6 * BLOCK)  # blocks 1-5 of a sequence: subcode and VAUX
TIMECODE, REC_DATE, REC_TIME = 0x13, 0x62, 0x63
# The recording time ffmpeg writes when an encode has no creation_time (castkit drops it).
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def pack_offsets() -> list[int]:
    """Where the 5-byte packs are in a DIF sequence (offsets of their ID byte)."""
    subcode = [b * BLOCK + 3 + 8 * k + 3 for b in (1, 2) for k in range(6)]
    vaux = [b * BLOCK + 3 + 5 * k for b in (3, 4, 5) for k in range(15)]
    return subcode + vaux


_PACKS = pack_offsets()


def _bcd(value: int) -> int:
    return (value // 10) << 4 | value % 10


def timecode_fields(frame: Any, frame_bytes: int, drop: bool) -> tuple[Any, Any, Any, Any]:
    """(hours, minutes, seconds, frames) of cast frame ``frame`` as the timecode counts it;
    ``frame`` an int, or a numpy array of them (each field then an array: the same arithmetic)."""
    if fps_of_frame(frame_bytes) == 25:
        base = 25
    else:
        base = 30
        if drop:  # SMPTE drop-frame: frames 0 and 1 of every minute but each tenth are skipped
            tens, rest = divmod(frame, 17982)
            frame = frame + 18 * tens + 2 * ((rest - 2) // 1798) * (rest >= 2)
    seconds, ff = divmod(frame, base)
    minutes, ss = divmod(seconds, 60)
    hours, mm = divmod(minutes, 60)
    return hours % 24, mm, ss, ff


def _packs_for(frame: int, frame_bytes: int, flags: dict[int, bytes], recorded: datetime) -> dict[int, bytes]:
    """The 4 data bytes of each time pack for cast frame ``frame`` (flag bits from ``flags``)."""
    out = {}
    if TIMECODE in flags:
        f = flags[TIMECODE]
        hh, mm, ss, ff = timecode_fields(frame, frame_bytes, bool(f[0] & 0x40))
        out[TIMECODE] = bytes((f[0] & 0xC0 | _bcd(ff), f[1] & 0x80 | _bcd(ss), f[2] & 0x80 | _bcd(mm),
                               f[3] & 0xC0 | _bcd(hh)))
    fps = fps_of_frame(frame_bytes)
    when = recorded + timedelta(seconds=frame * fps.denominator // fps.numerator)
    if REC_DATE in flags:
        f = flags[REC_DATE]
        out[REC_DATE] = bytes((f[0], f[1] & 0xC0 | _bcd(when.day), f[2] & 0xE0 | _bcd(when.month),
                               _bcd(when.year % 100)))
    if REC_TIME in flags:
        f = flags[REC_TIME]
        out[REC_TIME] = bytes((f[0], f[1] & 0x80 | _bcd(when.second), f[2] & 0x80 | _bcd(when.minute),
                               f[3] & 0xC0 | _bcd(when.hour)))
    return out


def _recorded_fields(first: int, count: int, frame_bytes: int, recorded: datetime) -> dict[str, Any]:
    """The recording time of cast frames ``first`` .. ``first + count - 1`` (as ``_packs_for``
    counts it: the frame's real time, whole seconds after ``recorded``), each field as a numpy
    array of its BCD bytes, one per frame. The dates are made once per second, not per frame."""
    import numpy as np

    fps = fps_of_frame(frame_bytes)
    seconds = np.arange(first, first + count, dtype=np.int64) * fps.denominator // fps.numerator
    distinct, which = np.unique(seconds, return_inverse=True)
    when = [recorded + timedelta(seconds=int(t)) for t in distinct]
    return {name: _bcd_array(np.array([getattr(w, name) % 100 for w in when], dtype=np.int64)[which])
            for name in ("second", "minute", "hour", "day", "month", "year")}


def _bcd_array(values: Any) -> Any:
    """``_bcd`` of each of ``values`` (0-99), as bytes."""
    return ((values // 10) << 4 | values % 10).astype("uint8")


def _pack_columns(first: int, count: int, frame_bytes: int, flags: dict[int, bytes],
                  recorded: datetime) -> dict[int, Any]:
    """``_packs_for`` of cast frames ``first`` .. ``first + count - 1`` at once, with numpy: for
    each kind, a (count, 4) array of its packs' data bytes (per frame in Python it was a third
    of a start edit's CPU). The same bytes (tests/e2e/test_timecode_dv.py compares the two)."""
    import numpy as np

    out = {}
    if TIMECODE in flags:
        f = flags[TIMECODE]
        hours, mm, ss, ff = timecode_fields(np.arange(first, first + count, dtype=np.int64), frame_bytes,
                                            bool(f[0] & 0x40))
        out[TIMECODE] = np.stack([f[0] & 0xC0 | _bcd_array(ff), f[1] & 0x80 | _bcd_array(ss),
                                  f[2] & 0x80 | _bcd_array(mm), f[3] & 0xC0 | _bcd_array(hours)],
                                 axis=1).astype(np.uint8)
    if REC_DATE in flags or REC_TIME in flags:
        when = _recorded_fields(first, count, frame_bytes, recorded)
        if REC_DATE in flags:
            f = flags[REC_DATE]
            out[REC_DATE] = np.stack([np.full(count, f[0], dtype=np.uint8), f[1] & 0xC0 | when["day"],
                                      f[2] & 0xE0 | when["month"], when["year"]], axis=1).astype(np.uint8)
        if REC_TIME in flags:
            f = flags[REC_TIME]
            out[REC_TIME] = np.stack([np.full(count, f[0], dtype=np.uint8), f[1] & 0x80 | when["second"],
                                      f[2] & 0x80 | when["minute"], f[3] & 0xC0 | when["hour"]],
                                     axis=1).astype(np.uint8)
    return out


class _Layout:
    """Where the time packs of each DIF sequence of one frame are, learnt from that frame: a
    pattern that the other frames' blocks 1-5 must match (every byte but the time packs' data
    the same), and a template to write them from in one step."""

    def __init__(self, area: bytes) -> None:
        import numpy as np

        kinds: list[int] = []
        pattern, pieces, last = [], [], 0
        for pos in _PACKS:
            at = pos - _AREA[0]
            kind = area[at]
            if kind in (TIMECODE, REC_DATE, REC_TIME):
                pattern.append(re.escape(area[last:at + 1]) + b".{4}")
                pieces += [area[last:at + 1], b""]
                kinds.append(kind)
                last = at + 5
        pattern.append(re.escape(area[last:]))
        pieces.append(area[last:])
        self.pattern = re.compile(b"".join(pattern), re.S)
        self.pieces = pieces  # the fixed bytes, with a slot for each time pack's data
        self.kinds = tuple(kinds)
        self.flags = {kind: area[pos - _AREA[0] + 1:pos - _AREA[0] + 5] for pos in _PACKS
                      for kind in [area[pos - _AREA[0]]] if kind in (TIMECODE, REC_DATE, REC_TIME)}
        # The same, for numpy (``_retime_frames``): where the time packs' data bytes are, in
        # the order of ``kinds``, and which bytes must be the template's.
        data = [at + 1 + i for pos in _PACKS for at in [pos - _AREA[0]]
                if area[at] in (TIMECODE, REC_DATE, REC_TIME) for i in range(4)]
        self.data = np.array(data, dtype=np.intp)
        self.fixed = np.ones(len(area), dtype=bool)
        self.fixed[self.data] = False
        self.template = np.frombuffer(area, dtype=np.uint8).copy()


def _is_dv_sequence(area: bytes) -> bool:
    # DIF block IDs: section type in the top 3 bits (1 subcode, 2 VAUX).
    return all(area[b * BLOCK] >> 5 == t for b, t in ((0, 1), (1, 1), (2, 2), (3, 2), (4, 2)))


def retime(fd: int, offset: int, frames: int, first: int, frame_bytes: int,
           recorded: datetime = EPOCH) -> int:
    """Rewrite the time packs of ``frames`` whole DV frames of the open file ``fd``, the first
    at byte ``offset``, as cast frames ``first``, ``first + 1``, ...; the cast was recorded at
    ``recorded`` (its first frame). Returns how many DIF sequences were rewritten (frames that
    are not DV are left alone)."""
    if frames <= 0:
        return 0
    if fps_of_frame(frame_bytes) is None:
        raise ValueError(f"{frame_bytes}: not a DV25 frame size")
    if os.fstat(fd).st_size < offset + frames * frame_bytes:
        raise OSError(errno.EIO, "the DV range is past the end of the file")
    layouts: dict[int, _Layout] = {}
    # Populated up front: a page fault per DIF sequence cost more than the rest of the work.
    # A few megabytes at a time: mapped pages count as castkit's memory while mapped.
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    done = 0
    for lo in range(0, frames, _FRAMES_PER_MAP):
        count = min(_FRAMES_PER_MAP, frames - lo)
        at = offset + lo * frame_bytes
        start = at - at % mmap.ALLOCATIONGRANULARITY
        with mmap.mmap(fd, at + count * frame_bytes - start, flags=flags, offset=start) as mm:
            fast = _retime_frames(mm, at - start, count, first + lo, frame_bytes, recorded, layouts)
            done += fast if fast is not None else sum(
                _retime_frame(mm, at - start + n * frame_bytes, first + lo + n, frame_bytes, recorded, layouts)
                for n in range(count))
            _retime_audio_packs(mm, at - start, count, first + lo, frame_bytes, recorded)
    return done


# The audio blocks of a DIF sequence (one before every 15 video blocks, from block 6), and
# the AAUX packs that count time in them: recording date and time, as their VAUX twins.
_AUDIO_FIRST, _AUDIO_EVERY, _AUDIO_BLOCKS = 6, 16, 9
AAUX_REC_DATE, AAUX_REC_TIME = 0x52, 0x53


def _retime_audio_packs(mm: mmap.mmap, base: int, count: int, first: int, frame_bytes: int,
                        recorded: datetime) -> None:
    """Rewrite the AAUX recording date and time packs of ``count`` frames at ``base`` of
    ``mm`` as cast frames ``first``, ``first + 1``, ... (the same values as ``_packs_for``
    gives their VAUX twins, flag bits kept), with numpy over a strided view of the audio
    blocks' 8 first bytes (ID and pack): no sound passes through Python."""
    import numpy as np

    sequences = frame_bytes // SEQUENCE
    whole = np.frombuffer(mm, dtype=np.uint8)
    packs = None
    try:
        packs = np.lib.stride_tricks.as_strided(
            whole[base + _AUDIO_FIRST * BLOCK:], shape=(count, sequences, _AUDIO_BLOCKS, 8),
            strides=(frame_bytes, SEQUENCE, _AUDIO_EVERY * BLOCK, 1), writeable=True)
        read = packs.copy()  # one pass over the map (see _retime_frames), the work on the copy
        audio = (read[..., 0] >> 5) == 3  # DIF block ID: section type 3, audio
        kinds = read[..., 3]
        times, dates = audio & (kinds == AAUX_REC_TIME), audio & (kinds == AAUX_REC_DATE)
        if not times.any() and not dates.any():
            return
        when = _recorded_fields(first, count, frame_bytes, recorded)  # one per frame, broadcast over its blocks
        for where, fields in ((times, ((0x80, when["second"]), (0x80, when["minute"]), (0xC0, when["hour"]))),
                              (dates, ((0xC0, when["day"]), (0xE0, when["month"]), (0x00, when["year"])))):
            if not where.any():
                continue
            for at, (kept, values) in enumerate(fields, 5):  # data bytes 2-4 (byte 1 kept)
                column = read[..., at]
                new = np.broadcast_to(column & kept | values[:, None, None], column.shape)
                # Only the bytes that change are written: a page written is a page the
                # kernel writes back (a start edit retimes a whole cast).
                changed = where & (new != column)
                if changed.any():
                    packs[..., at][changed] = new[changed]
    finally:
        del whole, packs  # no view of the map outlives this call (the map is closed after it)


_FRAMES_PER_MAP = 32  # 4.6 MB of PAL


def _retime_frames(mm: mmap.mmap, base: int, count: int, first: int, frame_bytes: int,
                   recorded: datetime, layouts: dict[int, _Layout]) -> int | None:
    """``_retime_frame`` for ``count`` frames at once, with numpy over a strided view of their
    blocks 1-5 (a cast's frames nearly all have the layouts learnt from its first: per frame,
    Python's regex and slicing for each of 12 sequences cost a second per 10 minutes of PAL).
    The same bytes as frame by frame; None, having written nothing, unless every sequence of
    every frame matches the layout already learnt for it (the caller then goes frame by frame,
    learning)."""
    import numpy as np

    sequences = frame_bytes // SEQUENCE
    if len(layouts) != sequences or not layouts[0].kinds or any(
            layout.flags != layouts[0].flags for layout in layouts.values()):
        return None  # layouts that differ in their packs: frame by frame, as they are learnt
    size = _AREA[1] - _AREA[0]
    whole = np.frombuffer(mm, dtype=np.uint8)
    try:
        areas = np.lib.stride_tricks.as_strided(whole[base + _AREA[0]:], shape=(count, sequences, size),
                                                strides=(frame_bytes, SEQUENCE, 1), writeable=True)
        # Read once into memory of its own: each strided pass over the map reads 384 places
        # pages apart (a TLB miss each), and the checks make twelve such passes.
        compact = areas.copy()
        for s in range(sequences):
            layout = layouts[s]
            if not (compact[:, s, layout.fixed] == layout.template[layout.fixed]).all():
                return None
        # Every sequence has the first's packs (the same flags): each frame's made once.
        columns = _pack_columns(first, count, frame_bytes, layouts[0].flags, recorded)
        # The packs' data in each layout's order, made once per order (the 12 sequences of a
        # frame nearly always share one).
        rows: dict[tuple[int, ...], Any] = {}
        for s in range(sequences):
            layout = layouts[s]
            data = rows.get(layout.kinds)
            if data is None:
                data = rows[layout.kinds] = np.concatenate([columns[k] for k in layout.kinds], axis=1)
            areas[:, s, layout.data] = data
    finally:
        del whole  # no view of the map outlives this call (the map is closed after it)
    return count * sequences


def _retime_frame(mm: mmap.mmap, base: int, frame: int, frame_bytes: int, recorded: datetime,
                  layouts: dict[int, _Layout]) -> int:
    """Rewrite the time packs of the DV frame at ``base`` of ``mm`` as cast frame ``frame``."""
    done = 0
    size = _AREA[1] - _AREA[0]
    packs = None
    values: dict[tuple[int, ...], list[bytes]] = {}  # the frame's pack data, by layout
    for s in range(frame_bytes // SEQUENCE):
        lo = base + s * SEQUENCE + _AREA[0]
        area = mm[lo:lo + size]
        layout = layouts.get(s)
        if layout is None or not layout.pattern.fullmatch(area):
            if not _is_dv_sequence(area):
                continue
            layout = layouts[s] = _Layout(area)
        if not layout.kinds:
            continue
        data = values.get(layout.kinds)
        if data is None:
            if packs is None or not packs.keys() >= layout.flags.keys():
                packs = {**(packs or {}), **_packs_for(frame, frame_bytes, layout.flags, recorded)}
            data = values[layout.kinds] = [packs[k] for k in layout.kinds]
        pieces = layout.pieces.copy()
        pieces[1::2] = data
        mm[lo:lo + size] = b"".join(pieces)
        done += 1
    return done


def avi_frame_offsets(fd: int, frame_bytes: int) -> list[int]:
    """Where the DV frames of an AVI file are: the data of its video chunks (``00dc``) of
    ``frame_bytes`` each, in the order they play, in the ``movi`` lists of the file's RIFF
    ``AVI `` and OpenDML ``AVIX`` parts. Only the 12-byte chunk headers are read."""
    end = os.fstat(fd).st_size
    offsets: list[int] = []

    def walk(pos: int, stop: int, in_movi: bool) -> None:
        while pos + 8 <= stop:
            head = os.pread(fd, 12, pos)
            tag, size = head[:4], int.from_bytes(head[4:8], "little")
            if tag in (b"RIFF", b"LIST") and len(head) == 12:
                walk(pos + 12, min(pos + 8 + size, stop), in_movi or head[8:12] == b"movi")
            elif in_movi and tag[2:] in (b"dc", b"db") and size == frame_bytes:
                offsets.append(pos + 8)
            pos += 8 + size + (size & 1)

    walk(0, end, False)
    return offsets


def retime_avi(fd: int, frame_bytes: int, recorded: datetime = EPOCH) -> int:
    """The DV frames of an AVI file (``fd`` open for writing) given a timecode and recording
    time counted on from the file's first frame: an AVI join copies the segments' frames as
    they are, each with the timecode of its own segment. Returns the frames rewritten."""
    offsets = avi_frame_offsets(fd, frame_bytes)
    layouts: dict[int, _Layout] = {}
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    for n, at in enumerate(offsets):
        start = at - at % mmap.ALLOCATIONGRANULARITY
        with mmap.mmap(fd, at + frame_bytes - start, flags=flags, offset=start) as mm:
            _retime_frame(mm, at - start, n, frame_bytes, recorded, layouts)
            _retime_audio_packs(mm, at - start, 1, n, frame_bytes, recorded)
    return len(offsets)
