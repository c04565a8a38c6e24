"""Where ffmpeg starts a capture's clock, by the streams it reads, and the offset that puts
every read of it on the same clock: the capture's own time.

ffmpeg shifts an input's timestamps so that they start at 0, by the input's start: the earliest
stream's. For the containers whose demuxer flags its timestamps as discontinuous (MPEG-TS and
MPEG-PS with every ffmpeg; Ogg with ffmpeg 9, not 5.1), it takes only the streams the command
reads (``correct_input_start_times`` in ffmpeg's demuxer: "Correcting start time of Input #0").
castkit reads a capture's picture and its sound in separate ffmpegs where it must (a DV
segment's pictures, then its sound; the analyses; a seeked sound), so in a capture whose
picture starts after its sound each read had its own clock: a DV cast of an Ogg capture whose
picture starts 0.52 s after its sound showed a flash 0.52 s before its beep with ffmpeg 9 (in
step with 5.1), and a transport stream's was out of step with both. Captions, pauses, moves
and transcripts in the capture's time were as far off in the picture or the sound.

castkit's clock for a capture is the one ffmpeg gives a read of its picture and sound
together (what a player shows; for most files, the file's start): ``Origins`` holds where each
read's clock starts, measured once per capture by ``measure`` (four or five one-packet stream
copies, only for a file whose streams do not all start where it does, in a container whose
reads may be shifted), and ``input_offset`` the
``-itsoffset`` a read of some of its streams needs, seeked or not. ``open_capture`` opens a
capture in an ffmpeg-python graph, and ``media.ffmpeg.compile_argv`` writes each such input's
offset from the streams that graph takes from it; a command written by hand adds
``offset_args``.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Protocol

from castkit.base.jobs import file_url
from castkit.media.ffmpeg import Ffmpeg, ffmpeg_module, INPUT_OFFSET, run_query, safe_input_args, safe_input_options


PICTURE, SOUND = "v", "a"
BOTH = frozenset({PICTURE, SOUND})

# Containers (as ``ffmpeg -i`` names them, first name) whose reads ffmpeg 5.1 and 9 start at
# the file's start whichever streams they take: their demuxers do not flag their timestamps as
# discontinuous. Checked with a picture muxed 0.5 s after the sound, H.264 and AAC, VP8 and
# Opus, FLV1 and MP3 (tests/e2e/test_sync.py keeps Matroska's); their files are not measured.
ONE_CLOCK = frozenset({"matroska", "mov", "avi", "dv", "flv"})

# What a trace of opening a file says of its streams' starts and its own (ffmpeg 5.1 prints
# six significant digits, 9 microseconds; the summary line has microseconds in both).
_STREAM_START = re.compile(r"\bstream (?P<idx>\d+): start_time: (?P<start>\S+) duration:")
_FILE_START = re.compile(r"^\s*Duration: [^,]*, start: (?P<start>-?\d+\.\d+)", re.M)
# Above it, ffmpeg 5.1's six digits no longer tell starts a millisecond apart.
_IMPRECISE = 100
_TB = re.compile(r"^#tb 0: (?P<num>\d+)/(?P<den>\d+)$", re.M)
_FIRST = re.compile(r"^0,\s*(?P<dts>-?\d+),\s*(?P<pts>-?\d+),", re.M)
_NOPTS = -(2**63)
_MICRO = Fraction(1, 1000000)
# Seconds a one-packet copy may take (milliseconds for any real file; a hostile one is not
# measured rather than waited for).
_COPY_TIMEOUT = 20


@dataclass(frozen=True)
class Origins:
    """Seconds after a capture's start (the earliest stream's) where ffmpeg starts the clock of
    a read of its picture alone and of its sound alone (a read of both: the earlier), and how
    that ffmpeg combines the shift with ``-itsoffset``: ffmpeg 9 shifts, then adds the offset;
    5.1 shifts only a read neither seeked nor offset (``ts_offset == -start_time``)."""

    picture: Fraction = Fraction(0)
    sound: Fraction = Fraction(0)
    offset_added: bool = True

    @property
    def both(self) -> Fraction:
        return min(self.picture, self.sound)

    def offset_arg(self, streams: Iterable[str], seek: Fraction | int | float | str = 0) -> str | None:
        """``-itsoffset``'s value for a read of ``streams`` seeked to ``seek`` (None: none
        needed), as ``compile_argv`` asks it of an input ``open_capture`` made."""
        offset = input_offset(self, streams, seek)
        return _seconds(offset) if offset else None

    def start(self, streams: Iterable[str]) -> Fraction:
        kinds = frozenset(streams)
        if kinds == {PICTURE}:
            return self.picture
        if kinds == {SOUND}:
            return self.sound
        return self.both


class Capture(Protocol):
    """A probed file (``media.probe.MediaInfo``), as far as its reads' clocks go."""

    path: Path
    origins: Origins


# An offset too small to move anything (a twentieth of a sample at 48 kHz, a thousandth of a
# frame's rounding margin) that turns off ffmpeg 5.1's shift where no other offset is needed.
_NUDGE = Fraction(1, 1000000)


def input_offset(origins: Origins, streams: Iterable[str], seek: Fraction | int | float | str = 0) -> Fraction:
    """The ``-itsoffset`` that puts a read of ``streams`` (seeked to ``seek`` seconds, whose
    timestamps castkit then adds back) on the capture's clock: the clock of a read of its
    picture and sound together, from the capture's start plus ``origins.both``."""
    at = Fraction(str(seek)) if seek else Fraction(0)
    start = origins.start(streams)
    if origins.offset_added:
        # ffmpeg 9: the read's clock starts at the later of the seek point and its own start.
        return max(at, start) - at - origins.both
    # ffmpeg 5.1: an unseeked read without an offset starts at its own start; any other at the
    # seek point.
    if at or start == 0 or origins.both:
        return -origins.both
    return _NUDGE


def offset_args(info: Capture, streams: Iterable[str], seek: Fraction | int | float | str = 0) -> list[str]:
    """``-itsoffset`` for a command written by hand that reads ``streams`` of a capture (before
    its ``-i``); nothing where none is needed."""
    offset = info.origins.offset_arg(streams, seek)
    return ["-itsoffset", offset] if offset else []


def _seconds(value: Fraction) -> str:
    micro = round(value / _MICRO)
    sign = "-" if micro < 0 else ""
    return f"{sign}{abs(micro) // 1000000}.{abs(micro) % 1000000:06d}"


def open_capture(info: Capture, **options: Any) -> Any:
    """An ffmpeg-python input of a capture (``options``: its input options), whose offset
    ``compile_argv`` writes once it knows which of its streams the command reads."""
    stream = ffmpeg_module().input(file_url(info.path), **options, **safe_input_options())
    if info.origins != Origins():
        setattr(stream.node, INPUT_OFFSET, info.origins)
    return stream


def needs_measuring(log: str, container: str, picture_stream: int | None, sound_stream: int | None) -> bool:
    """Whether the reads of a file's picture and of its sound could start their clocks at
    different times: its streams do not all start where the file does, as its trace says, in a
    container not known to keep one clock (``ONE_CLOCK``)."""
    if picture_stream is None or sound_stream is None or container.split(",")[0] in ONE_CLOCK:
        return False
    starts = {int(m["idx"]): m["start"] for m in _STREAM_START.finditer(log)}
    whole = _FILE_START.search(log)
    if picture_stream not in starts or sound_stream not in starts or whole is None:
        return True
    try:
        values = [Fraction(starts[picture_stream]), Fraction(starts[sound_stream]), Fraction(whole["start"])]
    except (ValueError, ZeroDivisionError):
        return True  # a stream without a start
    return len(set(values)) > 1 or abs(values[2]) >= _IMPRECISE


def measure(path: Path, ffmpeg: Ffmpeg, log: str) -> Origins:
    """Where ffmpeg starts the clock of a read of the file's picture alone and of its sound
    alone: each read's first packet, stream-copied with and without ``-copyts`` (the file's
    own timestamps): the difference is the shift ffmpeg applied, from the file's start. Where
    a read is shifted, one more copy with an offset tells how this ffmpeg adds one. Nothing
    where a copy fails (the reads stay as ffmpeg makes them)."""
    whole = _FILE_START.search(log)
    if whole is None:
        return Origins()
    start = Fraction(whole["start"])
    runs = [(stream, copyts) for stream in ("0:v:0", "0:a:0") for copyts in (True, False)]
    with ThreadPoolExecutor(len(runs)) as pool:
        firsts = list(pool.map(lambda run: _first_packet(path, ffmpeg, *run), runs))
    if any(first is None for first in firsts):
        return Origins()
    shifts = {"0:v:0": _micro(firsts[0] - firsts[1] - start), "0:a:0": _micro(firsts[2] - firsts[3] - start)}
    shifted = max(shifts, key=lambda stream: shifts[stream])
    added = True
    if shifts[shifted]:
        offset = _first_packet(path, ffmpeg, shifted, False, offset=1)
        plain = firsts[1] if shifted == "0:v:0" else firsts[3]
        if offset is None:
            return Origins()
        added = abs(offset - plain - 1) < abs(offset - plain - 1 - shifts[shifted])
    return Origins(picture=shifts["0:v:0"], sound=shifts["0:a:0"], offset_added=added)


def _micro(value: Fraction) -> Fraction:
    return round(value / _MICRO) * _MICRO


def _first_packet(path: Path, ffmpeg: Ffmpeg, stream: str, copyts: bool, offset: int = 0) -> Fraction | None:
    """The time of the first packet of ``stream`` as a read of that stream alone gets it."""
    args = ["-v", "error", *(["-copyts"] if copyts else []), *safe_input_args(),
            *(["-itsoffset", str(offset)] if offset else []), "-i", file_url(path),
            "-map", stream, "-c", "copy", "-frames", "1", "-f", "framecrc", "pipe:1"]
    try:
        done = run_query(ffmpeg, args, timeout=_COPY_TIMEOUT)
    except (subprocess.TimeoutExpired, OSError):
        return None
    text = done.stdout.decode("ascii", "replace")
    tb, first = _TB.search(text), _FIRST.search(text)
    if done.returncode != 0 or tb is None or first is None or int(tb["den"]) == 0:
        return None
    ticks = int(first["pts"]) if int(first["pts"]) != _NOPTS else int(first["dts"])
    if ticks == _NOPTS:
        return None
    return ticks * Fraction(int(tb["num"]), int(tb["den"]))
