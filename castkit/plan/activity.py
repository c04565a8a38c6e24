"""Where a take's screen changes (``zoom: follow``): the measurement, and the camera planned
from it.

The measurement is one ffmpeg run: the trimmed picture at ``RATE`` frames a second, made small
(``SMALL`` pixels wide, area-averaged), each frame's absolute difference from the one before
(``tblend``), area-averaged again onto a grid of ``GRID`` cells across. ffmpeg writes only that
grid (a byte per cell per frame, 2304 bytes a frame at 16:9) to castkit: the analysis result,
no picture. Its cost is mostly the capture's decode, so the decoder skips its loop filter:
the filter smooths block edges by a few levels, far below ``ACTIVE`` once area-averaged
(measured on the 30 s 1080p typing take of benchmarks/bench_camera.py, Theora and H.264:
16% less CPU, the same active cells).

The camera is planned as the good tools do: it magnifies the region where something happens
and holds it; what happens inside the view it holds does not move it (a dead zone), so typing
along a line keeps the view still; it looks ahead (what happens in the next ``hold`` seconds
and the move's own length), so it frames what is coming instead of chasing it and undoing the
chase; it zooms out when the activity spreads apart or stops; it never magnifies more than
``max``; each move is eased as a manual one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: a build without camera moves never loads it
    import numpy as np
from dataclasses import dataclass
from fractions import Fraction

from castkit.base.progress import say
from castkit.base.timecode import format_time
from castkit.media.ffmpeg import Ffmpeg, run_reading, safe_input_args
from castkit.media.probe import MediaInfo
from castkit.plan.encode import ffmpeg_number, Trim, trimmed_length
from castkit.recipe.model import Crop, DEFAULT_EASE, FollowSpec, Move
from castkit.base.jobs import file_url

# The decoder and the filters on one thread each: threads cost more than they share out here
# (frames decoded to be mostly dropped, filters on small pictures): less CPU with both ffmpegs,
# less wall time with 9 (docs/performance.md, "Camera moves"). ``-filter_threads`` is in 5.1 too.
ONE_THREAD = ("-filter_threads", "1", "-threads", "1")
RATE = 5  # analysed frames a second: typing shows at a few characters a second
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


@dataclass(frozen=True)
class Activity:
    """Change per cell: ``changes[k]`` is the grid (rows x columns, in levels) between analysed
    frames k and k + 1 of the trimmed part, which starts ``start`` seconds into the capture."""

    changes: np.ndarray
    start: Fraction
    width: int  # the capture's picture (shown pixels), that the grid covers
    height: int

    def active(self, a: int, b: int) -> tuple[int, int, int, int] | None:
        """The cells that changed in frames [a, b): (first column, first row, last column,
        last row), or None where nothing did."""
        import numpy as np

        if b <= a or a >= len(self.changes):
            return None
        total = self.changes[a:b].sum(axis=0)
        rows, cols = np.nonzero(total >= ACTIVE)
        if not len(rows):
            return None
        return int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())


def activity_command(info: MediaInfo, trim: Trim, ffmpeg: Ffmpeg) -> tuple[list[str], int, int]:
    """The ffmpeg run that writes a trimmed part's change grid to stdout, and the grid's size."""
    assert info.video is not None
    width, height, sar = info.video.shown_shape
    columns = GRID
    rows = max(1, round(GRID * height / (width * sar)))
    length = trimmed_length(info, trim)
    graph = (f"fps={RATE},trim=start={ffmpeg_number(trim.start)}:end={ffmpeg_number(trim.start + length)},"
             f"scale={SMALL}:-2:flags=area,format=gray,tblend=all_mode=difference,"
             f"scale={columns}:{rows}:flags=area")
    argv = [ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", *ONE_THREAD,
            *safe_input_args(), "-skip_loop_filter", "all", "-i", file_url(info.path), "-an", "-sn", "-dn", "-vf", graph,
            "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    return argv, columns, rows


def measure(info: MediaInfo, trim: Trim, ffmpeg: Ffmpeg, status: str | None = None) -> Activity:
    """Run the measurement of a trimmed part."""
    import numpy as np

    assert info.video is not None
    argv, columns, rows = activity_command(info, trim, ffmpeg)
    if status:
        say("status", status)
    done = run_reading(argv, info.path, "finding the activity")
    cells = columns * rows
    count = len(done.stdout) // cells
    grid = np.frombuffer(done.stdout[:count * cells], np.uint8).reshape(count, rows, columns)
    width, height, sar = info.video.shown_shape
    return Activity(grid.astype(np.float32), trim.start, width, height)


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
        cells = activity.active(k, k + ahead)
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
