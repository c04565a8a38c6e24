"""Deep trims without decoding everything before the cut: where to seek a capture's input.

A trim is cut in the filter graph by counting frames from the capture's start (see
``plan.encode.clip_job``): that is exact on variable-rate captures, and it costs decoding every frame
before the cut. Seeking the input instead is exact only if ffmpeg starts decoding at a
keyframe at or before the last stored frame the cut shows (inside a long hold that frame is
seconds before the cut) and the timestamps stay the capture's own. So castkit seeks only:

- in a container and codec whose seeking it has verified (``SEEKABLE``; tests/e2e/test_seek.py
  compares every frame and sample of a seeked trim with a decode from the start, with ffmpeg
  5.1 and 9, cuts inside holds, just after a keyframe and inside the final hold),
- to whole seconds at or before a keyframe the container's own index names, one keyframe
  earlier than needed (slack for a demuxer that lands a little late); or, in a container whose
  demuxer seeks by its stored index to the last keyframe at or before the point (``INDEXED``),
  to whole seconds between the keyframe needed and the cut, ``SEEK_MARGIN`` before the decode
  time of any later keyframe (which comes before its own time by the pictures reordered, and
  by whole holds in a variable-rate capture: MP4 seeks by decode times),
- with ``-noaccurate_seek`` (ffmpeg keeps the frames before the seek point instead of dropping
  them: the held picture of a cut inside a hold is one of them) and the seek point added back
  to every timestamp (``setpts=PTS+K/TB``), so the frame counting that follows sees the very
  timestamps a decode from the start sees.

Sound is seeked only where a seeked decode has been shown to give the very samples of a full
decode (``SOUND_SEEKABLE``, tests/e2e/test_seek.py): the input seeked to whole seconds at least
``SOUND_MARGIN`` before the first sample needed, ``-noaccurate_seek``, the seek added back to the
timestamps; ``plan.encode.aligned_sound`` then fills the time before the first decoded sample
with exactly that many samples of silence (the decoded sample's own timestamp says how many),
so the resampler sees every later sample at the very position a full decode gives it, and the
first frames after the seek (a codec's warm-up, the resampler's) fall inside the margin. That
needs sample-exact timestamps: Matroska's are milliseconds, and its sound is decoded from the
start, as is AAC's (see SOUND_SEEKABLE). Elsewhere the capture's sound is read from the start by a second input of the same file
(its decode is a small part of the cost of a trim, but not of a chunk deep into a long take).

That proof holds only where the sound's timestamps run on without a jump: each packet starts
where the one before ends. A take made of recordings joined by stream copy jumps at every join
(Ogg/Vorbis: overlaps and gaps of tens to hundreds of samples), and the resampler that lays the
sound on the capture's clock (``aresample=async=1``) fills or drops there according to how far it
has drifted since it started: a seeked decode starts it afresh and drifts otherwise, so its
samples differ from a full decode's (measured: by up to 33 sample values). From a seek point
before the first jump both decodes are in the same state (the jumps after it they meet alike),
so the sound is seeked no later than SOUND_MARGIN before the first jump, and decoded from the
start where that is too early to be worth a seek; ``--dry-run`` says so.

Everything here but ``read_index`` is pure. ``read_index`` runs one ffmpeg that copies the
picture's and the sound's packets to ffmpeg's ``framecrc`` muxer: no decoding, only the
container read (which reads every packet whichever streams are copied).
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from castkit.base.jobs import file_url
from castkit.media.ffmpeg import Ffmpeg, run_query, safe_input_options, stream_query
from castkit.media.origins import Capture, offset_args, PICTURE


# (container as ``ffmpeg -i`` names it, first name before the comma; picture codec): verified.
SEEKABLE = frozenset({
    ("ogg", "theora"),
    ("mov", "h264"),
    ("matroska", "h264"),
})
# (container, sound codec): a seeked decode verified sample-identical to a full one, with
# ffmpeg 5.1 and 9 (tests/e2e/test_seek.py). Not AAC: its decoder's noise substitution draws
# from a generator whose state runs on from the first frame, so after a seek the samples differ
# in their last bit (measured: 2-4% of them, 44.1 and 48 kHz, both ffmpegs). Not Matroska: its
# millisecond timestamps do not say which sample a seeked decode starts at (a 22 kHz voice came
# out shifted).
SOUND_SEEKABLE = frozenset({
    ("ogg", "vorbis"),
})
# Seconds of sound decoded before the first sample needed: a codec's first frame after a seek
# lacks what overlaps it from the frame before (Vorbis: up to 2048 samples, AAC: 1024), and the
# resampler needs its filter's length (32 samples) before it gives a full decode's samples.
SOUND_MARGIN = 1
# Not worth a seek of the sound: decoding its first half minute costs milliseconds (Vorbis:
# about 1 ms a second), while a seek reads and bisects the file.
SOUND_MIN_SEEK = 30
# Keyframes of slack before the one needed (see plan_seek).
SLACK = 1
# Containers whose demuxer seeks by the index it stores (MP4's sample table, Matroska's cues) to
# the last keyframe at or before the seek point: seeked to whole seconds between the keyframe a
# cut needs and the cut, they land on that keyframe, no slack needed. The slack cost a whole
# keyframe interval and more: whole seconds at or before the keyframe before the one needed
# land on the keyframe before that one (measured: a 60 s 1080p H.264 take with a keyframe every
# 16.7 s, cut in 20 s chunks, decoded 60 s of it before the chunks' starts, 28% of a cold
# MP4 build's CPU; now 10 s).
INDEXED = frozenset({"mov", "matroska"})
# Seconds ffmpeg moves a seek point earlier in a container it cannot seek by the pictures' own
# times (no AVFMT_SEEK_TO_PTS: Matroska) where the stream has B-frames: the point is put that
# far after the keyframe needed, or it lands on the one before (right, but slower).
SEEK_LEAD = {"matroska": Fraction(3, 23)}
# Seconds a seek point keeps before the next keyframe's decode time (the index's, as ffmpeg
# reports it after its own shifts; a demuxer's may differ by an edit list's shift).
SEEK_MARGIN = 1
# Not worth a seek: the first second or so is decoded in no time.
MIN_SEEK = 1

_TB = re.compile(r"^#tb 0: (?P<num>\d+)/(?P<den>\d+)$", re.M)
_PACKET = re.compile(r"^0,\s*(?P<dts>-?\d+),\s*(?P<pts>-?\d+),\s*(?P<dur>-?\d+),\s*(?P<size>\d+),\s*0x[0-9a-f]+(?P<rest>.*)$", re.M)
_SOUND_TB = re.compile(r"^#tb 1: (?P<num>\d+)/(?P<den>\d+)$", re.M)
_SOUND_PACKET = re.compile(r"^1,\s*-?\d+,\s*(?P<pts>-?\d+),\s*(?P<dur>-?\d+),", re.M)
_NOPTS = -0x8000000000000000


@dataclass(frozen=True)
class FrameIndex:
    """What a capture's container says about its stored pictures: the time of each keyframe,
    in seconds from the capture's start as ffmpeg's filters see it, and how many packets."""

    keyframes: tuple[Fraction, ...]
    packets: int
    complete: bool = True  # read to the end without an error
    time_base: Fraction = Fraction(1, 1000000)  # the picture stream's
    # Seconds of the capture where the first sound's timestamps first jump (a packet that does
    # not start where the one before it ends: a join of recordings), None where they never do
    # or the capture has no sound; 0 where they cannot be followed (a packet without a time).
    sound_jump: Fraction | None = None
    # Each keyframe's earliest time, in ``keyframes``' order: its own or, where earlier, its
    # decode time (an MP4's keyframe after a hold of a variable-rate capture is decoded
    # seconds before it is shown); empty where not known.
    earliest: tuple[Fraction, ...] = ()


@dataclass(frozen=True)
class Seek:
    """Seek the capture's input to ``at`` whole seconds (0: decode from the start); ``note``
    says why a trim is decoded from the start when it could not be seeked. ``keyframe``: a
    seek's last keyframe at or before the cut, the earliest picture the cut may show: what
    ffmpeg decodes before it (the seek lands a keyframe or more earlier, at whole seconds) is
    never shown, and is dropped before any filter works on it."""

    at: int = 0
    note: str | None = None
    keyframe: Fraction | None = None

    @property
    def filtered_from(self) -> Fraction:
        """Seconds of the capture from which its decoded pictures reach the filters."""
        return self.keyframe if self.keyframe is not None else Fraction(self.at)


def plan_seek(format_name: str, codec: str, index: FrameIndex | None, needed: Fraction) -> Seek:
    """Where to seek a capture whose first frame needed is the last stored one at or before
    ``needed`` seconds (any keyframe at or before ``needed`` is at or before that frame).

    ``needed`` <= 0: nothing to skip, no seek and nothing to say.
    """
    if needed <= MIN_SEEK:
        return Seek()
    container = format_name.split(",", 1)[0].strip()
    if (container, codec) not in SEEKABLE:
        return Seek(note=f"trim decoded from the start: seeking in {container}/{codec} is not verified")
    if index is None:
        return Seek(note="trim decoded from the start: the capture's keyframes are not known")
    if not index.complete:
        return Seek(note="trim decoded from the start: the capture's index could not be read to the end (damaged?)")
    before = [k for k in index.keyframes if k <= needed]
    if not before:
        return Seek(note="trim decoded from the start: no keyframe at or before the cut")
    if container in INDEXED and len(index.earliest) == len(index.keyframes):
        later = [e for k, e in zip(index.keyframes, index.earliest) if k > needed]
        last = min(needed, min(later) - SEEK_MARGIN) if later else needed
        at = math.ceil(before[-1] + SEEK_LEAD.get(container, 0))
        while at <= last and (at / index.time_base).denominator != 1:
            at += 1
        if MIN_SEEK <= at <= last:
            return Seek(at=at, keyframe=before[-1])
    # One keyframe of slack, then down to whole seconds that are whole ticks of the stream's
    # time base: ffmpeg shifts timestamps by the seek point and castkit shifts them back, and
    # both must be exact.
    slack = before[max(0, len(before) - 1 - SLACK)]
    at = max(0, math.floor(slack))
    while at >= MIN_SEEK and (at / index.time_base).denominator != 1:
        at -= 1
    if at < MIN_SEEK:
        if math.floor(slack) >= MIN_SEEK:
            return Seek(note=f"trim decoded from the start: the time base {index.time_base} holds no whole seconds")
        return Seek()
    return Seek(at=at, keyframe=before[-1])


def plan_sound_seek(format_name: str, codec: str, needed: Fraction, picture_at: int = 0,
                    index: FrameIndex | None = None) -> Seek:
    """Where to seek a capture's sound whose first sample needed is at ``needed`` seconds of
    the capture: whole seconds at least SOUND_MARGIN before it and before the first jump of
    its timestamps (``index.sound_jump``; the picture's seek point ``picture_at`` if that is
    early enough, so one input serves both); 0 with a note where that container's sound seek
    is not verified, where the capture's index is not known (its jumps are not either) or where
    the first jump comes too early; 0 and nothing to say for a cut in the first SOUND_MIN_SEEK s."""
    at = math.floor(needed - SOUND_MARGIN)
    if at < SOUND_MIN_SEEK:
        return Seek()
    container = format_name.split(",", 1)[0].strip()
    if (container, codec) not in SOUND_SEEKABLE:
        return Seek(note=f"sound decoded from the start: seeking {container}/{codec} sound is "
                         f"not verified sample-exact")
    if index is None or not index.complete:
        return Seek(note="sound decoded from the start: the capture's sound timestamps are not known")
    if index.sound_jump is not None:
        at = min(at, math.floor(index.sound_jump - SOUND_MARGIN))
        if at < SOUND_MIN_SEEK:
            return Seek(note=f"sound decoded from the start: its timestamps jump at "
                             f"{float(index.sound_jump):.3f} s (recordings joined?), and a seek past "
                             f"a jump would not give a full decode's samples")
    return Seek(at=picture_at if SOUND_MIN_SEEK <= picture_at <= at else at)


def _packets(text: str) -> tuple[Fraction, list[tuple[int | None, int | None, int]]] | None:
    """The picture stream's time base and each packet's (pts or None, dts or None, flags) from
    ``ffmpeg ... -map 0:v:0 -c copy -f framecrc -`` output; None without a usable time base."""
    tb = _TB.search(text)
    if not tb or int(tb["den"]) == 0:
        return None
    packets = []
    for m in _PACKET.finditer(text):
        pts, dts = int(m["pts"]), int(m["dts"])
        packets.append((None if pts == _NOPTS else pts, None if dts == _NOPTS else dts, _flags(m["rest"])))
    return Fraction(int(tb["num"]), int(tb["den"])), packets


class IndexListing:
    """A FrameIndex read from ``index_argv``'s framecrc listing as it arrives: ``add`` takes
    whole lines, in order, in pieces of any size (the parse runs while ffmpeg reads on)."""

    def __init__(self, jumps_only: bool = False) -> None:
        # ``jumps_only``: the listing holds the first sound packet and then only those that
        # jump (``index_argv``'s filter), so any later one is a jump.
        self.jumps_only = jumps_only
        self.base: Fraction | None = None
        self.sound_base: Fraction | None = None
        self.packets = 0
        self.keys: dict[Fraction, Fraction] = {}  # each shown keyframe's time: its earliest time
        self.edited = False  # a discarded keyframe after a shown one: an MP4 of several edits
        self.broken = False  # a keyframe without a time, or a packet the demuxer doubts
        self.sound_end: int | None = None  # where the last sound packet ended, in its ticks
        self.jump: Fraction | None = None  # the first jump, once found

    def add(self, text: str) -> None:
        if self.packets == 0:  # the header, before any packet; it may come in pieces too
            tb = _TB.search(text) if self.base is None else None
            if tb and int(tb["den"]):
                self.base = Fraction(int(tb["num"]), int(tb["den"]))
            sound = _SOUND_TB.search(text) if self.sound_base is None else None
            if sound and int(sound["den"]):
                self.sound_base = Fraction(int(sound["num"]), int(sound["den"]))
        for m in _PACKET.finditer(text):
            self.packets += 1
            self._picture(int(m["pts"]), int(m["dts"]), _flags(m["rest"]))
        if self.sound_base is not None and self.jump is None:
            for m in _SOUND_PACKET.finditer(text):
                if self._sound(int(m["pts"]), int(m["dur"])):
                    break

    def _picture(self, pts: int, dts: int, flags: int) -> None:
        if pts == _NOPTS:
            if flags & 0x1:
                self.broken = True  # a keyframe without a time: nothing to seek to
            return
        if flags & 0x2:  # AV_PKT_FLAG_CORRUPT: the demuxer itself doubts the file
            self.broken = True
        if flags & 0x1 and flags & 0x4 and self.keys:
            self.edited = True
        if flags & 0x1 and not flags & 0x4 and self.base is not None:  # a keyframe that is shown
            time = pts * self.base
            earliest = min(time, dts * self.base) if dts != _NOPTS else time
            self.keys[time] = min(earliest, self.keys.get(time, earliest))

    def _sound(self, pts: int, dur: int) -> bool:
        """One sound packet; True once the first jump is found (the rest need not be read).
        A jump is a packet that does not start where the one before it ends, exact to the
        tick: in Ogg the ticks are samples, and any gap or overlap moves the resampler's drift
        (see the module's note); coarser time bases (Matroska's milliseconds) round every
        packet and so show jumps everywhere, as they should: a time that is not exact proves
        nothing."""
        assert self.sound_base is not None
        if pts == _NOPTS:  # where it jumped is not known without the packet before it: from 0
            known = self.sound_end is not None and not self.jumps_only
            self.jump = self.sound_end * self.sound_base if known else Fraction(0)
        elif self.sound_end is not None and (pts != self.sound_end or self.jumps_only):
            self.jump = pts * self.sound_base
        else:
            self.sound_end = pts + dur
            return False
        return True

    def index(self, complete: bool = True) -> FrameIndex | None:
        """What was read (``complete``: to the end, without an error); None if no packet had
        a time (nothing to go by)."""
        if self.base is None or not self.packets:
            return None
        times = tuple(sorted(self.keys))
        # Where an edit's pre-roll lies among the shown pictures, a demuxer's index holds
        # keyframes this one does not: their times are not known, and the seek keeps its slack.
        earliest = () if self.edited else tuple(self.keys[t] for t in times)
        return FrameIndex(times, self.packets, complete and not self.broken, self.base, self.jump, earliest)


def _flags(rest: str) -> int:
    """framecrc prints ``F=0x..`` for every packet whose flags are not just "key"."""
    found = re.search(r"F=0x([0-9A-Fa-f]+)", rest)
    return int(found[1], 16) if found else 0x1


# Only the sound packets that matter for ``sound_jump``: the first, and each that does not start
# where the one before it ends (a steady sound is one line, not one a packet: see
# docs/performance.md). ffmpeg's ``noise`` bitstream filter drops a packet where its ``drop``
# expression is true, evaluated left to right for each packet in order; register 0 keeps where
# the packet before ended. The filter sees the demuxer's own times, where a whole listing
# shows the muxer's, which moves a time that runs backwards (a join's overlap) up to the one
# before: the first jump is the same or sooner, never later (tests/e2e/test_seek.py reads
# takes both ways, with ffmpeg 5.1 and 9). A packet without a time puts the jump at 0.
SOUND_JUMPS = "noise=drop='eq(pts\\,ld(0))*not(eq(n\\,0))+0*st(0\\,pts+duration)'"


def index_argv(path: Path, ffmpeg: Ffmpeg, sound: bool = True, jumps_only: bool = True,
               offset: Sequence[str] = ()) -> list[str]:
    """The picture's packets as stream 0 and (``sound``) the first sound's, if any, as stream 1:
    its first packet and those that jump (``SOUND_JUMPS``), or all (not ``jumps_only``).
    ``offset``: input options that put a read of the picture alone on the capture's clock
    (``media.origins``; a read of both is on it)."""
    args = ["-v", "error", *offset]
    for key, value in safe_input_options().items():
        args += [f"-{key}", value]
    # -flush_packets 0: to a pipe, a muxer otherwise writes each packet's line on its own, one
    # write per packet (28,000 on a 10-minute take with sound: a third of the read's time).
    return [*args, "-i", file_url(path), "-map", "0:v:0",
            *(["-map", "0:a:0?"] if sound else []), *(["-bsf:a", SOUND_JUMPS] if sound and jumps_only else []),
            "-c", "copy", "-flush_packets", "0", "-f", "framecrc", "-"]


def read_index(path: Path, ffmpeg: Ffmpeg, timeout: float = 120) -> FrameIndex | None:
    """The keyframe index of a capture's first picture stream, read by ffmpeg (a stream copy
    to ``framecrc``: the container is read, nothing decoded); None if ffmpeg cannot say."""
    for jumps_only in (True, False):
        listing = IndexListing(jumps_only)
        try:
            status, said = stream_query(ffmpeg, index_argv(path, ffmpeg, jumps_only=jumps_only), listing.add,
                                        timeout=timeout)
        except (OSError, subprocess.SubprocessError):
            return None
        if not (jumps_only and status != 0 and b"bitstream filter" in said.lower()):
            break
        # An ffmpeg built without the ``noise`` filter: the whole listing, as before it.
    return listing.index(status == 0 and not said.strip())


def frame_times(capture: Capture, ffmpeg: Ffmpeg, timeout: float = 120) -> tuple[Fraction, ...]:
    """When each stored picture of a capture's first picture stream starts, in seconds of its
    own time, sorted: the places a frame-exact cut may fall (``castkit serve``). Read as
    the keyframe index is (nothing decoded); empty if ffmpeg cannot say."""
    argv = index_argv(capture.path, ffmpeg, sound=False, offset=offset_args(capture, (PICTURE,)))
    try:
        done = run_query(ffmpeg, argv, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return ()
    read = _packets(done.stdout.decode("ascii", "replace"))
    if read is None:
        return ()
    base, packets = read
    # Every shown picture (not a discarded pre-roll), whether a keyframe or not.
    return tuple(sorted({pts * base for pts, _, flags in packets if pts is not None and not flags & 0x4}))
