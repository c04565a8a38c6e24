"""Camera moves: a clip's view (a region of its picture) as a function of the capture's time.

Pure planning: nothing here touches the disk or runs a process. A path is a list of eased
steps from one view to the next; ``view_at`` evaluates it in Python (tests, ``--dry-run``),
``pieces`` cuts a run of frames where it holds still (views on whole pixels, which the encode
crops and scales) from where it moves, ``views_box`` bounds the views of a few moving frames,
and ``perspective_options`` writes their views as a table of the frame count, which the
``perspective`` filter evaluates per frame with sub-pixel precision (``plan.encode.film``).

Why ``perspective``: ffmpeg's ``zoompan`` and ``crop`` place the window on whole pixels, so a
slow pan moves in visible steps. Measured on a 2x pan of 20 source pixels over 4 s (1080p
capture, 960x540 out, both ffmpeg 5.1 and 9.0): ``zoompan`` and ``crop`` leave 43 of the middle
50 frames still and step by 7.1x the mean; ``perspective`` moves every frame, within 0.81x..1.1x
of the mean. Against an independent reference (PIL's Lanczos of the fractional box) on sharp
terminal text at a fractional region: cubic 37.6 dB, linear 31.1 dB, whole-pixel crop 20.4 dB;
cubic costs ~10% more than linear (per-frame table of 2M coordinates plus the resampling).

How a view moves: its centre goes along a straight line and its size changes geometrically
(the zoom factor's logarithm follows the ease), both by the same ease-in-out curve (smoothstep:
no jump in speed at either end). A view that starts and ends inside the picture stays inside
all the way (the edges are at least as far in as their straight-line interpolation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from castkit.recipe.model import Crop, Move

# Decimal places of the numbers written into ffmpeg's expressions: 1e-4 pixel and second is far
# below what the filter resolves (1/256 pixel), and keeps the argv (a cache key) stable.
PLACES = 4


@dataclass(frozen=True)
class Region:
    """A rectangle of a picture, in its pixels (fractions allowed)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def inside(self, width: float, height: float, slack: float = 1e-6) -> bool:
        return (self.x >= -slack and self.y >= -slack and self.width > 0 and self.height > 0
                and self.x + self.width <= width + slack and self.y + self.height <= height + slack)


def ease(u: float) -> float:
    """Smoothstep on [0, 1]: 0 and 1 at the ends with zero speed there, speed continuous."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


@dataclass(frozen=True)
class Frame:
    """The picture the camera looks at (a capture after its ``crop:``), ``sar`` its pixels'
    shape, and ``aspect`` the display aspect of the views (the output frame's). ``origin``:
    where the picture's top left corner is in the capture (the crop's), whose pixels the
    recipe's regions are in."""

    width: int
    height: int
    aspect: Fraction
    sar: Fraction = Fraction(1)
    origin: tuple[int, int] = (0, 0)

    def inward(self, region: Crop) -> Region:
        """A region of the capture in the picture's pixels."""
        return Region(region.x - self.origin[0], region.y - self.origin[1], region.width, region.height)

    def outward(self, region: Region) -> Region:
        """A region of the picture in the capture's pixels."""
        return Region(region.x + self.origin[0], region.y + self.origin[1], region.width, region.height)

    @property
    def pixel_aspect(self) -> float:
        """width / height of a view, in the picture's own pixels."""
        return float(self.aspect / self.sar)

    def full(self) -> Region:
        """The largest view inside the picture, centred (the whole picture when its aspect is
        the output's)."""
        return self.fit(Region(0, 0, self.width, self.height))

    def fit(self, region: Region) -> Region:
        """``region`` grown to the views' aspect around its centre, made no larger than the
        picture allows (around the same centre), then moved inside the picture."""
        a = self.pixel_aspect
        w, h = region.width, region.height
        if w / h < a:
            w = h * a
        else:
            h = w / a
        # Larger than the picture in either dimension: the largest view of that aspect.
        scale = min(1.0, self.width / w, self.height / h)
        # On whole pixels (the aspect then within a pixel of exact): a view held still is
        # cropped exactly, and the moves that reach it end on the same pixels.
        w, h = min(self.width, max(1, round(w * scale))), min(self.height, max(1, round(h * scale)))
        cx, cy = region.centre
        x = min(max(round(cx - w / 2), 0), self.width - w)
        y = min(max(round(cy - h / 2), 0), self.height - h)
        return Region(x, y, w, h)


@dataclass(frozen=True)
class Step:
    """A planned move: from ``start`` to ``end`` (seconds of the capture) to view ``to``."""

    start: float
    end: float
    to: Region


@dataclass(frozen=True)
class CameraPath:
    """The view of ``frame`` at every moment: ``first`` until the first step, and each step's
    ``to`` from its end until the next starts (steps in time order, not overlapping)."""

    frame: Frame
    first: Region
    steps: tuple[Step, ...] = ()

    def view_at(self, t: float) -> Region:
        """The view at ``t`` seconds of the capture."""
        return self._view(lambda step: ease((t - step.start) / (step.end - step.start)))

    def _view(self, progress) -> Region:
        cx, cy = self.first.centre
        prev = self.first
        log_w, log_h = math.log(prev.width), math.log(prev.height)
        for step in self.steps:
            s = progress(step)
            (ax, ay), (bx, by) = prev.centre, step.to.centre
            cx += (bx - ax) * s
            cy += (by - ay) * s
            log_w += math.log(step.to.width / prev.width) * s
            log_h += math.log(step.to.height / prev.height) * s
            prev = step.to
        w, h = math.exp(log_w), math.exp(log_h)
        return Region(cx - w / 2, cy - h / 2, w, h)

    def listing(self) -> str:
        """Each step's times and view (in the capture's pixels, as a recipe gives regions), for
        ``--dry-run``: ``camera: 2-2.6 s to 960x540+480+270 (2x)``."""
        full = self.frame.full()
        lines = []
        for step in self.steps:
            r = self.frame.outward(step.to)
            view = ("full" if _same(step.to, full) else
                    f"{_n(r.width, 1)}x{_n(r.height, 1)}+{_n(r.x, 1)}+{_n(r.y, 1)} "
                    f"({_n(full.width / step.to.width, 2)}x)")
            lines.append(f"camera: {_n(step.start, 3)}-{_n(step.end, 3)} s to {view}")
        return "\n".join(lines)

    def zoom_at(self, t: float) -> float:
        """How much the view magnifies the full view at ``t``."""
        return self.frame.full().width / self.view_at(t).width

    def pieces(self, first: int, count: int, per_frame: Fraction) -> list[tuple[int, int, Region | None]]:
        """Frames [0, count) of a stream whose frame j shows the capture at (first + j) x
        ``per_frame`` seconds, in runs: ``(a, b, view)`` where the view holds still (a region
        on whole pixels), ``(a, b, None)`` where it moves (start < t < end of a step)."""
        return [(a, b, None if moving else self._held(float((first + a) * per_frame)))
                for a, b, _, moving in frame_runs([(s.start, s.end) for s in self.steps], first, count, per_frame)]

    def step_at(self, t: Fraction) -> Step:
        """The move running at ``t``, compared exactly as ``pieces`` does: a frame at 0.6 s is
        inside a move from 0.59999... s."""
        return next(step for step in self.steps if Fraction(step.start) < t < Fraction(step.end))

    def views_box(self, times: Sequence[float], margin: int = 3) -> tuple[Region, float]:
        """The smallest box on whole pixels, inside the picture, holding the views at
        ``times`` and ``margin`` pixels around them (what the resampling kernel reads beyond a
        view's edge), and the width of the closest of those views."""
        views = [self.view_at(t) for t in times]
        x0 = max(0, math.floor(min(v.x for v in views)) - margin)
        y0 = max(0, math.floor(min(v.y for v in views)) - margin)
        x1 = min(self.frame.width, math.ceil(max(v.x + v.width for v in views)) + margin)
        y1 = min(self.frame.height, math.ceil(max(v.y + v.height for v in views)) + margin)
        return Region(x0, y0, x1 - x0, y1 - y0), min(v.width for v in views)

    def _held(self, t: float) -> Region:
        view = self.first
        for step in self.steps:
            if t >= step.end:
                view = step.to
        return view

    def perspective_options(self, times: Sequence[float], box: Region | None = None,
                            size: tuple[int, int] | None = None) -> dict[str, str]:
        """Options of ffmpeg's ``perspective`` filter (cubic, evaluated per frame) that show,
        on its j-th input frame (``in`` = j + 1, the filter counts from 1), the view at
        ``times[j]`` stretched over the picture it is given: the whole picture, or ``box`` of
        it (on whole pixels) scaled to ``size``. The corners are a table of the frames'
        values (``if(lt(in,2),A,if(lt(in,3),B,C))``): short, and exactly ``view_at``'s.

        The filter sends output pixel index x to source index x0 + x * w / W; a pixel's centre
        is at index + 0.5, so the corners are moved by w / 2W - 1/2 for the view's pixel
        centres to land on the output's."""
        box = box or Region(0, 0, self.frame.width, self.frame.height)
        W, H = size or (int(box.width), int(box.height))
        sx, sy = W / box.width, H / box.height
        corners: dict[str, list[float]] = {k: [] for k in ("left", "top", "right", "bottom")}
        for t in times:
            v = self.view_at(t)
            w, h = v.width * sx, v.height * sy
            left = (v.x - box.x) * sx + w / (2 * W) - 0.5
            top = (v.y - box.y) * sy + h / (2 * H) - 0.5
            for key, value in (("left", left), ("top", top), ("right", left + w), ("bottom", top + h)):
                corners[key].append(value)
        left, top, right, bottom = (frame_table(corners[k]) for k in ("left", "top", "right", "bottom"))
        return {"x0": left, "y0": top, "x1": right, "y1": top, "x2": left, "y2": bottom,
                "x3": right, "y3": bottom, "interpolation": "cubic", "eval": "frame"}


def frame_runs(spans: Sequence[tuple[float, float]], first: int, count: int, per_frame: Fraction
               ) -> list[tuple[int, int, int, bool]]:
    """Frames [0, count) of a stream whose frame j shows the capture at (first + j) x
    ``per_frame`` seconds, in runs ``(a, b, i, moving)``: moving through span i (start < t <
    end), or held after i spans have ended. ``spans`` in time order, not overlapping."""
    moving = []
    for i, (start, end) in enumerate(spans):
        a = max(0, math.floor(Fraction(start) / per_frame - first) + 1)
        b = min(count, math.ceil(Fraction(end) / per_frame - first))
        if a < b:
            moving.append((a, b, i))
    runs: list[tuple[int, int, int, bool]] = []
    at = 0
    for a, b, i in moving + [(count, count, len(spans))]:
        if a > at:
            t = (first + at) * per_frame
            runs.append((at, a, sum(1 for _, end in spans if t >= Fraction(end)), False))
        if b > a:
            runs.append((a, b, i, True))
        at = b
    return runs


def frame_table(values: Sequence[float]) -> str:
    """An ffmpeg expression of the input frame count ``in`` (from 1): values[in - 1], the last
    value past the end."""
    text = _n(values[-1])
    for j in range(len(values) - 2, -1, -1):
        text = f"if(lt(in,{j + 2}),{_n(values[j])},{text})"
    return text


def _same(a: Region, b: Region, slack: float = 1e-6) -> bool:
    return all(abs(p - q) <= slack for p, q in
               ((a.x, b.x), (a.y, b.y), (a.width, b.width), (a.height, b.height)))


def _n(value: float, places: int = PLACES) -> str:
    """A number for an ffmpeg expression: fixed places, no exponent, no trailing zeros."""
    text = f"{float(value):.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def plan_path(frame: Frame, moves: Sequence[Move]) -> CameraPath:
    """The path of ``moves`` (checked by the reader: in time order, none overlapping the
    next) on ``frame``, from its full view: each region fitted to the views' aspect and kept
    inside."""
    first = frame.full()
    steps = tuple(
        Step(float(m.at), float(m.at + m.ease),
             frame.fit(frame.inward(m.to)) if m.to is not None else frame.full())
        for m in moves
    )
    return CameraPath(frame, first, steps)


def fit_problems(moves: Sequence[Move], frame: Frame, span: tuple[Fraction, Fraction]
                 ) -> list[tuple[int, str, str]]:
    """What is wrong with ``moves`` on ``frame`` (the capture after its crop) shown for
    ``span`` seconds of the capture (its trim): (index of the move, key, message) for regions
    reaching outside the picture and moves that start outside the span."""
    found: list[tuple[int, str, str]] = []
    for i, m in enumerate(moves):
        if m.to is not None and not frame.inward(m.to).inside(frame.width, frame.height, slack=0):
            found.append((i, "to", f"region {m.to.width}x{m.to.height} at {m.to.x},{m.to.y} reaches outside"))
        if not span[0] <= m.at < span[1]:
            found.append((i, "at", f"at {_n(m.at)} s is outside the clip's {_n(span[0])}-{_n(span[1])} s"))
    return found
