"""Chunks of a web master's clip segment: pieces of the capture's own timeline, so that moving a
clip's ``start:`` or ``end:`` re-encodes only the chunks at its edges.

A clip segment of a web output (MP4, WebM) is encoded as windows (``plan.slices.Window``)
whose edges fall on fixed points of the capture's time: every ``chunk_frames`` frames of the
target's rate, counted from the capture's start (20 s of a web master's, 10 s of a DV cast's).
Every chunk but the two at the trim's edges is then the same job (the same argv: the same
capture frames, the same samples, counted from the capture's start, the same encoder settings)
whatever the trim, and so the same cache entry;
a cold build uses the same chunks, so a rebuild after a trim edit and a cold build give the same
file byte for byte. Each chunk starts with a keyframe and holds its own sound (ALAC); the web
join copies their pictures and encodes the joined sound once (``outputs.web``).

What a chunk's key holds is what applies inside it: crops and camera moves, which depend only
on the capture's time, are the same in every chunk's argv; a fade reaches only the chunks it
overlaps (``plan.slices.slice_picture``), which are the edge chunks for any fade shorter than
a chunk.
"""

from __future__ import annotations

import os
from fractions import Fraction

from castkit.media.raster import Raster


# Seconds of the capture a chunk holds. Measured on 2 cores (benchmarks/bench_edits.py): long
# enough that a chunk's own start (an ffmpeg, a seek, x264's first frames) is lost in its encode,
# short enough that a trim edit re-encodes seconds, not minutes. A DV chunk encodes in about half
# a second; a web chunk's start costs about 0.3 s of CPU (an ffmpeg opening the capture and
# x264 set up, measured with one frame), which at 10 s made a cold 8-minute 1080p master 1.09x
# the CPU of one without chunks: web chunks are twice as long, and an edit re-encodes at most
# 20 s of its 1080p (a few seconds on 2 cores).
CHUNK_SECONDS = 10
WEB_CHUNK_SECONDS = 20

# CASTKIT_CHUNK_SECONDS: another length (tests use about 1 s; 0 encodes every segment whole,
# as before chunks: the benchmark compares the two).
CHUNK_ENV = "CASTKIT_CHUNK_SECONDS"


def chunk_seconds(web: bool = False) -> Fraction:
    """The chunk length in force: CASTKIT_CHUNK_SECONDS if set (0: no chunks), else
    WEB_CHUNK_SECONDS for a web master (``web``), CHUNK_SECONDS for a DV cast."""
    default = Fraction(WEB_CHUNK_SECONDS if web else CHUNK_SECONDS)
    given = os.environ.get(CHUNK_ENV, "").strip()
    if not given:
        return default
    try:
        seconds = Fraction(given)
    except (ValueError, ZeroDivisionError):
        return default
    return max(Fraction(0), seconds)


def chunk_frames(target: Raster, seconds: Fraction | None = None, web: bool = False) -> int:
    """Frames of ``target``'s rate in a chunk (0: segments are not chunked)."""
    seconds = chunk_seconds(web) if seconds is None else seconds
    return target.frames(seconds) if seconds > 0 else 0


def chunk_windows(first: int, frames: int, length: int, head: int = 0, tail: int = 0) -> list[tuple[int, int]]:
    """The windows [a, b) of a segment of ``frames`` frames whose frame 0 is frame ``first`` of
    the capture (at the target's rate): cut wherever ``first + a`` is a multiple of ``length``.
    One window (the whole segment) when ``length`` is 0 or the segment lies inside one chunk.
    The first window is at least ``head`` frames long and the last at least ``tail`` (a
    transition's overlap is cut from them), a short one joined to its neighbour."""
    if length <= 0 or frames <= 0:
        return [(0, frames)]
    cuts = [0]
    edge = (first // length + 1) * length - first  # the first fixed point after the segment's start
    while edge < frames:
        cuts.append(edge)
        edge += length
    cuts.append(frames)
    while len(cuts) > 2 and cuts[1] < head:
        del cuts[1]
    while len(cuts) > 2 and frames - cuts[-2] < tail:
        del cuts[-2]
    return list(zip(cuts, cuts[1:]))
