"""Where a take's screen changes (``zoom: follow``): the measurement, and the camera planned
from it.

The measurement is an ffmpeg run (a long take's, one a core: ``AnalysisPart``): the trimmed
picture at ``RATE`` frames a second, made small (``SMALL`` pixels wide, area-averaged), each
frame's absolute difference from the one before (``tblend``), area-averaged again onto a grid
of ``GRID`` cells across. ffmpeg writes only that grid (a byte per cell per frame, 2304 bytes a
frame at 16:9) to castkit: the analysis result, no picture. Its cost is mostly the capture's
decode, so the decoder skips its loop filter: the filter smooths block edges by a few levels,
far below ``ACTIVE`` once area-averaged
(measured on the 30 s 1080p typing take of benchmarks/bench_camera.py, Theora and H.264:
16% less CPU, the same active cells). A clip with ``pauses:`` too is measured in the pauses
analysis' run, from the same decoded picture (``plan.pauses.analysis_of``). The grid is kept
in the cache, compressed (a still screen's grid is mostly zeros), so that a rebuild, or a
change of ``max``, ``hold`` or ``margin``, plans again without decoding the take.

The camera is planned as the good tools do: it magnifies the region where something happens
and holds it; what happens inside the view it holds does not move it (a dead zone), so typing
along a line keeps the view still; it looks ahead (what happens in the next ``hold`` seconds
and the move's own length), so it frames what is coming instead of chasing it and undoing the
chase; it zooms out when the activity spreads apart or stops; it never magnifies more than
``max``; each move is eased as a manual one.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import zlib
from pathlib import Path
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: a build without camera moves never loads it
    import numpy as np
from dataclasses import dataclass, field
from fractions import Fraction

from castkit.base.files import write_atomically
from castkit.base.jobs import file_url
from castkit.base.progress import say
from castkit.base.timecode import format_time
from castkit.cache.keys import file_identity, key
from castkit.cache.names import record_name
from castkit.errors import WorkError
from castkit.media.ffmpeg import Ffmpeg, run_reading, safe_input_args
from castkit.media.origins import offset_args, PICTURE
from castkit.media.probe import MediaInfo
from castkit.plan.encode import ffmpeg_number, Trim, trimmed_length
from castkit.recipe.model import Crop, DEFAULT_EASE, FollowSpec, Move

# The filters on one thread (small pictures: threads cost more than they share out), the
# decoder on two where there are two cores: the analysis runs alone, before the build plans the
# camera, and the decode is nearly all of it. Measured with 9.0 on 60 s of 1080p Theora
# (bench_camera.py's takes, 2 cores): typing 0.81 s wall on one decoder thread, 0.65-0.75 on
# two, 0.71-0.76 on ffmpeg's default (three); every frame changing 2.1 s, 1.35-1.43, 1.48-1.66;
# 5-10% more CPU; the same grid bytes (docs/performance.md, "Camera moves"). Frame threads
# gave Theora wrong chroma after a seek (plan.encode.clip_job): the analysis reads the luma of
# a decode from the start. ``-filter_threads`` is in 5.1 too.
ANALYSIS_THREADS = ("-filter_threads", "1", "-threads", str(min(2, os.cpu_count() or 1)))
PART_THREADS = ("-filter_threads", "1", "-threads", "1")  # a part beside the others: a core each
RATE = 5  # analysed frames a second: typing shows at a few characters a second
# A longer take is analysed in parts side by side, one a core, each decoding its own stretch
# from a keyframe (Theora and H.264 decode from a keyframe as from the start): the same grids.
SPLIT_SECONDS = 10
MAX_PARTS = 8
SMALL = 320  # the picture's width before differencing: cheap, and a character still shows
GRID = 64  # cells across (30 pixels of a 1920-wide capture: about a line of terminal text)
# A cell is active where its mean change over a window (in 8-bit levels, summed over the
# window's frames) reaches this: a typed character changes its cell's mean by 10-40 levels;
# encoder noise on a still screen stays below 1.
ACTIVE = 3.0
WINDOW = Fraction(2, RATE)  # the planner's step: 0.4 s
# A view worth moving to magnifies at least this much more than the one held.
ZOOM_STEP = 1.3
# Activity spread wider than this magnification is followed by the whole picture.
MIN_ZOOM = 1.25
# What ffmpeg writes the grid as, to castkit's pipe: each grid once, as made (rawvideo is a
# muxer of constant rate, for which ffmpeg would repeat the first grid to fill the time from 0
# to it, 1 / RATE, and to a trimmed part's start: the grid's times would be late by as much).
GRID_OUTPUT = ("-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
ACTIVITY_VERSION = 1  # raised when the measurement changes (its cache entries go stale)


@dataclass(frozen=True)
class Activity:
    """Change per cell: ``changes[k]`` is the grid (rows x columns, in levels) between analysed
    frames k and k + 1 of the trimmed part, which starts ``start`` seconds into the capture."""

    changes: np.ndarray
    start: Fraction
    width: int  # the capture's picture (shown pixels), that the grid covers
    height: int

    def active(self, a: int, b: int, area: Crop | None = None) -> tuple[int, int, int, int] | None:
        """The cells that changed in frames [a, b): (first column, first row, last column,
        last row), or None where nothing did; only those that show in ``area`` (a crop, in
        the picture's pixels) where given."""
        import numpy as np

        if b <= a or a >= len(self.changes):
            return None
        total = self.changes[a:b].sum(axis=0, dtype=np.float32)
        r0 = c0 = 0
        if area is not None:  # the cells that overlap the area, partly or whole
            w, h = self.width / total.shape[1], self.height / total.shape[0]
            r0, c0 = max(0, math.floor(area.y / h)), max(0, math.floor(area.x / w))
            total = total[r0:math.ceil((area.y + area.height) / h), c0:math.ceil((area.x + area.width) / w)]
        rows, cols = np.nonzero(total >= ACTIVE)
        if not len(rows):
            return None
        return c0 + int(cols.min()), r0 + int(rows.min()), c0 + int(cols.max()), r0 + int(rows.max())


@dataclass
class ActivityMemo:
    """One build's activity work (``Checked.activity``): each followed clip's measurement (read,
    made, or made by the pauses analysis' run), its planned moves, and the cache files."""

    grids: dict[Any, Activity] = field(default_factory=dict)
    moves: dict[Any, tuple[Move, ...]] = field(default_factory=dict)
    files: set[Path] = field(default_factory=set)


def grid_size(info: MediaInfo) -> tuple[int, int]:
    """The grid's columns and rows: GRID across, square cells of the shown picture."""
    assert info.video is not None
    width, height, sar = info.video.shown_shape
    return GRID, max(1, round(GRID * height / (width * sar)))


def activity_chain(info: MediaInfo, trim: Trim) -> str:
    """The filters from the decoded picture to its change grid (a filter chain without labels)."""
    length = trimmed_length(info, trim)
    # The rate from 0, the file's start (as the encode's, plan.encode): a picture that starts
    # after the sound has its first frame repeated back to 0, and grid k is at k / RATE.
    return (f"fps={RATE}:start_time=0,trim=start={ffmpeg_number(trim.start)}:end={ffmpeg_number(trim.start + length)},"
            f"{difference_grid(info)}")


def difference_grid(info: MediaInfo) -> str:
    """The filters from the analysed frames to their change grid: made small, each frame's
    difference from the one before, area-averaged onto the grid."""
    columns, rows = grid_size(info)
    return (f"scale={SMALL}:-2:flags=area,format=gray,tblend=all_mode=difference,"
            f"scale={columns}:{rows}:flags=area")


def activity_command(info: MediaInfo, trim: Trim, ffmpeg: Ffmpeg,
                     threads: tuple[str, ...] = ANALYSIS_THREADS) -> list[str]:
    """The ffmpeg run that writes a trimmed part's change grid to stdout."""
    return [ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", *threads,
            *safe_input_args(), *offset_args(info, (PICTURE,)), "-skip_loop_filter", "all", "-i", file_url(info.path),
            "-an", "-sn", "-dn",
            "-vf", activity_chain(info, trim), *GRID_OUTPUT]


@dataclass(frozen=True)
class AnalysisPart:
    """One of the runs a long analysis is split into, side by side: the grids of the analysed
    frames from ``start`` (on the 1 / RATE grid) to ``end``. A part after the first seeks to
    ``seek`` (whole seconds, at least a second before the analysed frame before its start,
    whose difference its first grid is) and says when its first grid is (``showinfo``): it is
    used only where that is its ``start`` and, but for the last part, where it wrote as many
    grids as its length holds; otherwise the take is analysed in one run."""

    start: Fraction
    end: Fraction
    seek: int | None  # None: the first part, decoded from the capture's start as a whole run is
    last: bool

    def grids(self) -> int | None:
        """How many grids the part writes (None: the last one's, up to the capture's end)."""
        if self.last:
            return None
        # A later part analyses from the frame before its start: its first grid is that
        # frame's difference to the start; the first part's first frame has no grid.
        first = math.ceil(self.start * RATE) - (self.seek is not None)
        return math.ceil(self.end * RATE) - first - 1


def analysis_parts(info: MediaInfo, trim: Trim) -> tuple[AnalysisPart, ...]:
    """How the analysis of a trimmed part runs: in one part, or (a long one, on a machine with
    several cores) in as many as there are cores, at most one for each SPLIT_SECONDS."""
    length = trimmed_length(info, trim)
    count = min(os.cpu_count() or 1, MAX_PARTS, int(length // SPLIT_SECONDS))
    if count < 2:
        return (AnalysisPart(trim.start, trim.start + length, None, True),)
    bounds = [trim.start] + [Fraction(math.ceil((trim.start + length * k / count) * RATE), RATE)
                             for k in range(1, count)] + [trim.start + length]
    return tuple(AnalysisPart(a, b, None if k == 0 else max(0, math.floor(a - Fraction(1, RATE)) - 1),
                              k == count - 1)
                 for k, (a, b) in enumerate(zip(bounds, bounds[1:])))


def part_command(info: MediaInfo, part: AnalysisPart, ffmpeg: Ffmpeg) -> list[str]:
    """The ffmpeg run of one part: the first as ``activity_command`` over its span; a later
    one seeked, from the analysed frame before its start, its first grid's time on stderr."""
    if part.seek is None:
        return activity_command(info, Trim(part.start, part.end - part.start), ffmpeg, PART_THREADS)
    before = part.start - Fraction(1, RATE)
    # No start_time: a seek that landed late (after the frame before the start) begins the
    # rate there, and the part's first grid comes late, which showinfo tells. Its grid is
    # the whole run's (multiples of 1 / RATE from 0), the capture's times restored by setpts.
    chain = (f"setpts=PTS+{part.seek}/TB,fps={RATE},trim=start={ffmpeg_number(before)}:end={ffmpeg_number(part.end)},"
             f"{difference_grid(info)},split[grids][first];"
             # The first grid's time on stderr; one line, however long the part.
             "[first]trim=end_frame=1,showinfo=checksum=0,nullsink")
    return [ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", *PART_THREADS,
            *safe_input_args(), *offset_args(info, (PICTURE,), part.seek), "-skip_loop_filter", "all", "-noaccurate_seek",
            "-ss", str(part.seek), "-i", file_url(info.path), "-filter_complex", f"[0:v:0]{chain}",
            "-map", "[grids]", *GRID_OUTPUT]


_FIRST_GRID = re.compile(rb"\bn:\s*0\s+pts:\s*(-?\d+)\s")


def part_grids(part: AnalysisPart, done: Any, cells: int) -> bytes | None:
    """What a part's run wrote, if it is the part of a whole run (see AnalysisPart); None if not."""
    data = done.stdout
    if part.seek is not None:
        found = _FIRST_GRID.search(done.stderr)
        if found is None or Fraction(int(found[1]), RATE) != part.start:
            return None
    expected = part.grids()
    if len(data) % cells or (expected is not None and len(data) != expected * cells):
        return None
    return data


def measure_activity(info: MediaInfo, trim: Trim, ffmpeg: Ffmpeg) -> bytes:
    """A trimmed part's change grids: its parts' runs side by side, joined where each proves to
    be its part of a whole run (the same bytes, measured), else one run."""
    parts = analysis_parts(info, trim)
    if len(parts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        columns, rows = grid_size(info)
        with ThreadPoolExecutor(len(parts)) as pool:
            runs = list(pool.map(lambda part: run_reading(part_command(info, part, ffmpeg), info.path,
                                                          "finding the activity"), parts))
        found = [part_grids(part, done, columns * rows) for part, done in zip(parts, runs)]
        if all(grids is not None for grids in found):
            return b"".join(found)
    return run_reading(activity_command(info, trim, ffmpeg), info.path, "finding the activity").stdout


def activity_in(data: bytes, info: MediaInfo, trim: Trim) -> Activity:
    """The Activity in the bytes an ``activity_chain`` wrote (whole frames of the grid)."""
    import numpy as np

    assert info.video is not None
    columns, rows = grid_size(info)
    cells = columns * rows
    count = len(data) // cells
    grid = np.frombuffer(data[:count * cells], np.uint8).reshape(count, rows, columns)
    width, height, _ = info.video.shown_shape
    # Kept as bytes (a cell's mean change, in levels), a 64th of a 320-wide frame each: a
    # 3-hour take's grid is 124 MB, 500 MB as floats.
    return Activity(grid, trim.start, width, height)


def activity_path(info: MediaInfo, trim: Trim, ffmpeg: Ffmpeg, folder: Path) -> Path:
    """Where the cache keeps a trimmed part's grid: named by the capture, the chain (the trim,
    the grid's size) and the ffmpeg; not by ``follow:``'s settings, which only plan from it."""
    digest = key("activity", ACTIVITY_VERSION, file_identity(info.path), activity_chain(info, trim),
                 ffmpeg.version)
    return folder / record_name("activity", digest)


def known_activity(seg: Any, checked: Any, ffmpeg: Ffmpeg, folder: Path | None) -> Activity | None:
    """A clip's measurement if this build has it, or the cache ``folder`` holds it whole."""
    memo: ActivityMemo = checked.activity
    if seg in memo.grids:
        return memo.grids[seg]
    if folder is None:
        return None
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    path = activity_path(info, trim, ffmpeg, folder)
    memo.files.add(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        # zlib's checksum: a damaged entry is measured again, never planned from.
        grid = zlib.decompress(base64.b64decode(data["grid"], validate=True))
    except (OSError, ValueError, KeyError, TypeError, zlib.error):
        return None
    memo.grids[seg] = activity_in(grid, info, trim)
    return memo.grids[seg]


def keep_activity(seg: Any, data: bytes, checked: Any, ffmpeg: Ffmpeg, folder: Path | None) -> Activity:
    """A clip's grid as measured (``data``, from an ``activity_chain``): kept for this build and
    in the cache ``folder``."""
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    activity = checked.activity.grids[seg] = activity_in(data, info, trim)
    if folder is not None and folder.is_dir():
        path = activity_path(info, trim, ffmpeg, folder)
        checked.activity.files.add(path)
        text = json.dumps({"grid": base64.b64encode(zlib.compress(data, 6)).decode("ascii")})
        try:
            write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))
        except WorkError:
            pass  # a read-only cache: measured again next time
    return activity


def activity_of(seg: Any, index: int, checked: Any, ffmpeg: Ffmpeg, folder: Path | None,
                quiet: bool = False) -> Activity:
    """A clip's measurement: this build's, the cache's, or measured now."""
    found = known_activity(seg, checked, ffmpeg, folder)
    if found is not None:
        return found
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    if not quiet:
        say("status", follow_status(index, info, trim))
    return keep_activity(seg, measure_activity(info, trim, ffmpeg), checked, ffmpeg, folder)


def plan_follow(activity: Activity, spec: FollowSpec, crop: Crop | None = None,
                ease: Fraction = DEFAULT_EASE) -> tuple[Move, ...]:
    """The camera's moves for ``activity`` (regions in the capture's pixels, at its times),
    inside ``crop`` where the clip has one."""
    step = int(WINDOW * RATE)
    ahead = math.ceil((spec.hold + ease) * RATE)  # frames the camera looks ahead
    settle = math.ceil((spec.hold + ease) * RATE)  # frames from a move's start to the next
    rows, columns = activity.changes.shape[1:]
    area = crop or Crop(0, 0, activity.width, activity.height)
    # Cells in the picture's pixels, then in the area's (the crop's).
    cell_w, cell_h = activity.width / columns, activity.height / rows
    w, h = area.width, area.height
    smallest = (w / float(spec.max), h / float(spec.max))
    moves: list[Move] = []
    view: tuple[float, float, float, float] | None = None  # None: the whole picture
    free_from = 0
    for k in range(0, max(0, len(activity.changes)), step):
        if k < free_from:
            continue
        cells = activity.active(k, k + ahead, crop)  # what happens outside the crop is not seen
        wanted = need = None
        if cells is not None:
            c0, r0, c1, r1 = cells
            x0, x1 = c0 * cell_w - area.x, (c1 + 1) * cell_w - area.x
            y0, y1 = r0 * cell_h - area.y, (r1 + 1) * cell_h - area.y
            mx, my = float(spec.margin) * w, float(spec.margin) * h
            x0, x1, y0, y1 = max(0.0, x0 - mx), min(float(w), x1 + mx), max(0.0, y0 - my), min(float(h), y1 + my)
            need = (x0, y0, x1 - x0, y1 - y0)  # what must be in view
            # At least the smallest view the largest magnification allows, around the activity.
            if x1 - x0 < smallest[0]:
                grow = (smallest[0] - (x1 - x0)) / 2
                x0, x1 = x0 - grow, x1 + grow
            if y1 - y0 < smallest[1]:
                grow = (smallest[1] - (y1 - y0)) / 2
                y0, y1 = y0 - grow, y1 + grow
            # Shifted inside the picture, cut to it where larger.
            x0, x1 = _inside(x0, x1, w)
            y0, y1 = _inside(y0, y1, h)
            if min(w / (x1 - x0), h / (y1 - y0)) >= MIN_ZOOM:
                wanted = (x0, y0, x1 - x0, y1 - y0)
        if not _worth(view, wanted, need):
            continue
        at = activity.start + Fraction(k + 1, RATE)
        to = None
        if wanted is not None:
            x, y, ww, wh = (round(v) for v in wanted)
            ww, wh = min(ww, w), min(wh, h)
            to = Crop(area.x + min(x, w - ww), area.y + min(y, h - wh), ww, wh)
        moves.append(Move(at, to, ease))
        view = wanted
        free_from = k + settle
    return tuple(moves)


def _inside(a: float, b: float, side: float) -> tuple[float, float]:
    if b - a >= side:
        return 0.0, float(side)
    if a < 0:
        return 0.0, b - a
    if b > side:
        return side - (b - a), float(side)
    return a, b


def _worth(view, wanted, need) -> bool:
    """Whether to move from ``view`` to ``wanted`` (None: the whole picture), when ``need`` (the
    activity and its margin) must be seen: not while the view holds it (the dead zone), unless
    the wanted view magnifies markedly more."""
    if wanted is None:
        return view is not None
    if view is None:
        return True
    vx, vy, vw, vh = view
    x, y, nw, nh = need
    inside = vx <= x and vy <= y and x + nw <= vx + vw and y + nh <= vy + vh
    if not inside:
        return True  # the activity leaves the view: follow it (or zoom out to take it in)
    return vw / wanted[2] >= ZOOM_STEP


def follow_status(index: int, info: MediaInfo, trim: Trim) -> str:
    return f"segment {index}: finding the activity of {info.path.name} ({format_time(trimmed_length(info, trim))})"
