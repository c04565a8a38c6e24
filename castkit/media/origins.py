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
read's clock starts, measured once per capture by ``media.probe.measure_origins`` (four or five
one-packet stream copies, only for a file whose streams do not all start where it does, in a
container whose reads may be shifted), and ``input_offset`` the
``-itsoffset`` a read of some of its streams needs, seeked or not. ``open_capture`` opens a
capture in an ffmpeg-python graph, and ``media.ffmpeg.compile_argv`` writes each such input's
offset from the streams that graph takes from it; a command written by hand adds
``offset_args``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Protocol

from castkit.base.jobs import file_url
from castkit.media.ffmpeg import ffmpeg_module, INPUT_OFFSET, safe_input_options


PICTURE, SOUND = "v", "a"


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

    def offset_arg(self, streams: Iterable[str | None], seek: Fraction | int | float | str = 0) -> str | None:
        """``-itsoffset``'s value for a read of ``streams`` seeked to ``seek`` (None: none
        needed), as ``compile_argv`` asks it of an input ``open_capture`` made."""
        offset = input_offset(self, streams, seek)
        return _seconds(offset) if offset else None

    def start(self, streams: Iterable[str | None]) -> Fraction:
        """Where a read of ``streams`` starts its clock ("v", "a"; any other set, such as an
        input mapped whole, reads both)."""
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


def input_offset(origins: Origins, streams: Iterable[str | None], seek: Fraction | int | float | str = 0) -> Fraction:
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


_MICRO = Fraction(1, 1000000)


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
