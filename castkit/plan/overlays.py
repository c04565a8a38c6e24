"""Overlays in a clip's filter graph (issue 30): redactions on the capture's own picture,
before its crop, camera, rate conversion and scaling; the drawn overlays on the output's picture
after them (``shown_overlays``), each drawn at the scale its place is shown at, so that text is
as sharp under a zoom or on a larger output as at the capture's size (a clip cut in parts,
``plan.pauses``, still has them drawn on the capture, by ``with_overlays``).

Why there: a region and a time in the recipe are the capture's pixels and seconds, so an overlay
placed on the capture's picture follows a crop and every camera move (still or moving) for free,
and a redaction is done before anything scales or resamples the picture, so that nothing of the
original reaches any output, slice, storyboard or image made from the segment.

Why a constant rate first: a variable-rate capture holds a picture until the next one, which may
come seconds later; a picture stored just before a redaction's ``at`` and held into it would be
shown unredacted. The picture is first put on a grid of ``rate`` frames a second (the rate at
which the encode samples the capture: the target's divided by the clip's speed), so every picture
the encode shows carries the time at which it is shown, and a redaction reaches two grid frames
before its start and after its end (ffmpeg's rate conversion rounds times to the nearest frame).

A drawn overlay is its PNG (``titles.overlays``), looped as a few frames whose alpha fades in
and out (``fade`` seconds) and shown between its times (``enable``); a redaction blurs (a box
blur of three passes, radius half the region's smaller side: the region keeps nothing finer
than itself), pixelates or fills the region, in every frame of its time, fades included."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from castkit.base.jobs import file_url
from castkit.media.ffmpeg import ffmpeg_module, safe_input_options
from castkit.media.origins import open_capture
from castkit.media.probe import MediaInfo
from castkit.media.raster import same_coefficients
from castkit.media.seek import FrameIndex, plan_seek
from castkit.recipe.model import Crop, Overlay
from castkit.plan.camera import CameraPath, ease, frame_runs, frame_table, Region
from castkit.titles.overlays import Placement

PLACES = 4  # decimals of times in ffmpeg's expressions (a tenth of a millisecond)
FADE_RATE = 50  # frames a second of an overlay's fade (its alpha steps)
REDACT_MARGIN = 2  # grid frames a redaction reaches beyond its times, each side
FILL_COLOR = "black"
# How a layer (an overlay's picture, a camera) is laid on the picture: shown until its own
# last frame, never held past it by the overlay filter. A held layer (``repeat``) counts for
# ffmpeg 5.1's frame sync as a stream to synchronise on for as long as its stream lasts, and
# the filter then copies every main frame before drawing on it, shown or not: 3 MB a 1080p
# frame, outside any buffer pool, so freshly mapped memory each time. A passed layer
# (``pass``) is not synchronised on: the main frame is drawn on in place. Measured on
# benchmarks/bench_overlays.py's 60 s 1080p clip (five overlays and a camera), the graph
# without its encode: 12.1 s of CPU held, 10.0 s passed with ffmpeg 5.1; 9.0 the same either
# way. So each layer's stream runs to its end (``_faded``: a frame at the overlay's end time;
# a camera: a frame for every frame shown). The redaction stays held: a layer that ended
# early would show the region as it is.
LAYER_EOF = "pass"

# The overlay filter's own layout for a main picture in each pixel format (ffmpeg 5.1 to 9.0 take
# these as the main picture as it is, with or without alpha). Why never ``format=auto``: it makes
# the filter take only formats with alpha, so ffmpeg converts every main frame, all of it, to
# YUVA and back even while the overlay is not shown (measured on a 10 s 1080p clip: 0.3-0.4 s
# of CPU per overlay, a 160x160 logo 0.9 s; 0.05-0.1 s with the main's own layout).
OVERLAY_LAYOUTS = {
    "yuv420p": "yuv420", "yuvj420p": "yuv420", "yuva420p": "yuv420",
    "yuv422p": "yuv422", "yuvj422p": "yuv422", "yuva422p": "yuv422",
    "yuv444p": "yuv444", "yuvj444p": "yuv444", "yuva444p": "yuv444",
    "yuv420p10le": "yuv420p10", "yuva420p10le": "yuv420p10",
    "yuv422p10le": "yuv422p10", "yuva422p10le": "yuv422p10",
    "gbrp": "gbrp", "gbrap": "gbrp",
    "argb": "rgb", "rgba": "rgb", "abgr": "rgb", "bgra": "rgb",
}


def overlay_layout(pix_fmt: str | None) -> str:
    """The overlay filter's ``format`` for a main picture in ``pix_fmt`` (None: unknown): its
    own layout, or ``auto`` for one the filter cannot take as it is (NTSC DV's 4:1:1, RGB24),
    which is converted whatever the choice."""
    return OVERLAY_LAYOUTS.get(pix_fmt or "", "auto")


@dataclass(frozen=True)
class Scaled:
    """An overlay's picture drawn for an output whose picture shows ``scale`` (x, y) of its
    pixels per capture pixel (``titles.overlays.draw_scaled``): ``size`` with a border of
    ``OUTPUT_BORDER`` transparent pixels round it."""

    scale: tuple[Fraction, Fraction]
    picture: Path
    size: tuple[int, int]


@dataclass(frozen=True)
class Drawn:
    """An overlay ready for a clip's encode: its times in the capture (``until: end`` resolved
    to the clip's end), and for a picture, where it goes and its PNG (``picture``, on the
    capture; ``scaled``: drawn for the output, laid on its picture, see ``shown_overlays``)."""

    overlay: Overlay
    start: Fraction
    end: Fraction
    place: Placement
    picture: Path | None = None  # None: a redaction
    scaled: tuple[Scaled, ...] = ()


def with_overlays(video: Any, drawn: tuple[Drawn, ...], shape: tuple[int, int], rate: Fraction,
                  pix_fmt: str | None) -> Any:
    """``video`` (the capture's picture, its own pixels and timestamps, in ``pix_fmt`` as
    probed) on a grid of ``rate`` frames a second, redacted, with the overlays drawn on it in
    recipe order."""
    drawn = tuple(d for d in drawn if not d.scaled)  # those are laid on the output's picture
    if not drawn:
        return video
    ff = ffmpeg_module()
    grid = Fraction(1) / rate
    # The grid is needed only where a picture stored before a redaction starts could be held
    # into it: not for one from the capture's start (every picture is at or after it, and one
    # held past its end is over-redacted, never under). Without it the capture keeps its own
    # rate, and is scaled at that rate (measured on a 15 fps 1080p take to a 30 fps MP4: the
    # redaction cost 1.3 s of CPU in 10 s of video on the grid, 0.7 s without).
    if any(d.overlay.redacts and d.start > 0 for d in drawn):
        video = video.filter("fps", fps=_number(rate))
    for d in drawn:
        if d.overlay.redacts:
            video = redact(video, d, shape, REDACT_MARGIN * grid, pix_fmt)
    for d in drawn:
        if d.picture is None or d.scaled:  # a redaction; or laid on the output's picture
            continue
        layer = ff.input(file_url(d.picture), f="image2", **safe_input_options()).video
        layer = layer.filter("format", "rgba")
        layer = _faded(layer, d)
        video = ff.filter([video, layer], "overlay", x=d.place.x, y=d.place.y, eof_action=LAYER_EOF,
                          format=overlay_layout(pix_fmt),
                          enable=_between(d.start, d.end))
    return video


def redacted_region(region: Crop, shape: tuple[int, int]) -> Crop:
    """The region grown outwards to even pixels (4:2:0 chroma covers pixels in pairs, and the
    overlay filter places a picture on even pixels there) and kept inside the capture."""
    x0, y0 = region.x - region.x % 2, region.y - region.y % 2
    x1, y1 = region.x + region.width, region.y + region.height
    x1, y1 = min(shape[0], x1 + x1 % 2), min(shape[1], y1 + y1 % 2)
    return Crop(x0, y0, max(2, x1 - x0), max(2, y1 - y0))


def blur_radius(region: Crop) -> tuple[int, int]:
    """boxblur's luma and chroma radii: the most the filter takes (less than half the plane's
    smaller side; ffmpeg 9 refuses half itself), the chroma planes counted as 4:2:0's."""
    side = min(region.width, region.height)
    return max(1, (side - 1) // 2), max(1, ((side + 1) // 2 - 1) // 2)


def redact(video: Any, d: Drawn, shape: tuple[int, int], margin: Fraction, pix_fmt: str | None) -> Any:
    """The picture (``pix_fmt``, None if unknown) with ``d``'s region blurred, pixelated or
    filled from ``margin`` before its start to ``margin`` after its end."""
    o = d.overlay
    assert o.region is not None
    r = redacted_region(o.region, shape)
    # From the capture's start: every picture before its end, whatever its timestamp.
    enable = _between(d.start - margin, d.end + margin) if d.start > 0 else f"lt(t,{_n(d.end + margin)})"
    if o.mode == "fill":
        return video.filter("drawbox", x=r.x, y=r.y, w=r.width, h=r.height, color=FILL_COLOR,
                            t="fill", enable=enable)
    ff = ffmpeg_module()
    branches = video.split()
    whole, part = branches[0], branches[1]
    part = part.filter("crop", w=r.width, h=r.height, x=r.x, y=r.y, exact=1)
    if o.mode == "pixelate":
        # Blocks half the region's height: two rows of blocks, no stroke of a letter left.
        block = max(2, math.ceil(r.height / 2))
        part = part.filter("scale", w=max(1, math.ceil(r.width / block)), h=max(1, math.ceil(r.height / block)),
                           flags="area")
        part = part.filter("scale", w=r.width, h=r.height, flags="neighbor")
    else:
        luma, chroma = blur_radius(r)
        part = part.filter("boxblur", luma_radius=luma, luma_power=3, chroma_radius=chroma, chroma_power=3)
    return ff.filter([whole, part], "overlay", x=r.x, y=r.y, format=overlay_layout(pix_fmt), enable=enable)


def _faded(layer: Any, d: Drawn) -> Any:
    """The overlay's picture as frames at its start (fading in) and before its end (fading
    out), the last at or after its end; the overlay filter holds each frame until the next."""
    fade = min(d.overlay.fade, (d.end - d.start) / 2)
    steps = math.ceil(fade * FADE_RATE)
    # In microseconds: setpts truncates to the stream's ticks (a PNG's are 1/25 s), which put the
    # end frame up to 40 ms before the end, and the layer ended there (LAYER_EOF).
    layer = layer.filter("settb", "AVTB")
    if not steps:  # shown from its start; its stream's end (a frame at its end) hides it
        layer = layer.filter("loop", loop=1, size=1, start=0)
        return layer.filter("setpts", f"if(eq(N,0),{_n(d.start)},{_n(d.end)})/TB")
    start, end = _n(d.start), _n(d.end - fade)
    # Frames 0..steps fade in from the start, and frame steps+1, a step after the fade has
    # ended, is the one held until the fade out (the fade filter left the fade's last frame at
    # 80% alpha: a callout held 80% opaque, the capture showing through); frames steps+2 to
    # 2*steps+2 fade out before the end.
    layer = layer.filter("loop", loop=2 * steps + 2, size=1, start=0)
    layer = layer.filter("setpts", f"if(lte(N,{steps + 1}),{start}+N/{FADE_RATE},{end}+(N-{steps + 2})/{FADE_RATE})/TB")
    layer = layer.filter("fade", type="in", st=start, d=_n(fade), alpha=1)
    return layer.filter("fade", type="out", st=end, d=_n(fade), alpha=1)


def _between(start: Fraction, end: Fraction) -> str:
    return f"gte(t,{_n(start)})*lt(t,{_n(end)})"


def _n(value: Fraction | float) -> str:
    text = f"{float(value):.{PLACES}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _number(value: Fraction) -> str:
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def listing(drawn: tuple[Drawn, ...]) -> str:
    """One line per overlay for ``--dry-run``: ``overlay: redact (blur) 0-12 s at 600x50+500+600``."""
    lines = []
    for d in drawn:
        o = d.overlay
        what = (f"{o.kind} ({o.mode})" if o.redacts else f"{o.kind} {o.text!r}" if o.text is not None
                else f"image {o.image.name}" if o.image is not None else o.kind)
        p = o.region if o.region is not None else d.place
        lines.append(f"overlay: {what} {_n(d.start)}-{_n(d.end)} s at {p.width}x{p.height}+{p.x}+{p.y}")
    return "\n".join(lines)


# --- overlays laid on the output's picture, drawn at its resolution -----------------------------
OUTPUT_BORDER = 2  # transparent pixels round a picture drawn for an output: what a move's
# resampling reads beyond its edge (the perspective filter repeats the edge's pixels)


def held_views(camera: CameraPath | None, crop: Crop | None, shape: tuple[int, int, Fraction],
               target: Any) -> list[tuple[Region, Any]]:
    """Each view the clip holds still (in the capture's pixels) and the box of the output frame
    it is scaled to: the whole (cropped) picture, or each view the camera stops at."""
    def fitted(width: float, height: float) -> Any:
        return target.fit(max(1, round(width)), max(1, round(height)), shape[2])
    if camera is None:
        x, y = (crop.x, crop.y) if crop is not None else (0, 0)
        return [(Region(x, y, shape[0], shape[1]), fitted(shape[0], shape[1]))]
    views = [camera.first, *(step.to for step in camera.steps)]
    found = []
    for v in views:
        outward = camera.frame.outward(v)
        if all(outward != seen for seen, _ in found):
            found.append((outward, fitted(v.width, v.height)))
    return found


def view_scale(view: Region, box: Any) -> tuple[Fraction, Fraction]:
    """Output pixels per capture pixel of a view scaled into ``box`` (x, y)."""
    return (Fraction(box.width) / Fraction(view.width).limit_denominator(10 ** 6),
            Fraction(box.height) / Fraction(view.height).limit_denominator(10 ** 6))


def output_scales(camera: CameraPath | None, crop: Crop | None, shape: tuple[int, int, Fraction],
                  target: Any) -> tuple[tuple[Fraction, Fraction], ...]:
    """The scales a clip's overlays are drawn at for an output: one for each view it holds (a
    camera's move between two views is drawn at the closer one's)."""
    return tuple(dict.fromkeys(view_scale(v, box) for v, box in held_views(camera, crop, shape, target)))


def shown_overlays(video: Any, drawn: tuple[Drawn, ...], camera: CameraPath | None, crop: Crop | None,
                   shape: tuple[int, int, Fraction], first: int, count: int, rate: Fraction, target: Any) -> Any:
    """``count`` conformed frames of a clip whose frame 0 shows capture frame ``first`` (at the
    target's rate, sped up by ``rate``), with its overlays drawn for the output laid on them:
    where the view holds, each picture drawn at that view's scale is placed once (cropped to
    the picture's box in the frame); while the camera moves, the closest view's picture is
    placed on every frame by ``perspective`` (sub-pixel, as the camera films the capture)."""
    shown = [d for d in drawn if d.scaled]
    if not shown:
        return video
    ff = ffmpeg_module()
    per_frame = Fraction(rate) / Fraction(target.fps)
    held = held_views(camera, crop, shape, target)
    if camera is None:
        runs: list[tuple[int, int, tuple[Region, Any] | None]] = [(0, count, held[0])]
    else:
        runs = []
        for a, b, view in camera.pieces(first, count, per_frame):
            if view is None:
                runs.append((a, b, None))
            else:
                outward = camera.frame.outward(view)
                runs.append((a, b, next(h for h in held if h[0] == outward)))

    def frame_of(t: Fraction) -> int:  # the stream's first frame at or after capture time t
        return math.ceil(Fraction(t) / per_frame) - first

    # The layers' fades are timed on the sped-up capture's clock (never negative: ffmpeg's fade
    # takes no negative start), then moved onto the stream's, whose frame 0 is frame ``first``.
    shift = Fraction(first) / Fraction(target.fps)
    for d in shown:
        ja, jb = max(0, frame_of(d.start)), min(count, frame_of(d.end))
        timed = replace(d, start=Fraction(d.start) / Fraction(rate), end=Fraction(d.end) / Fraction(rate),
                        overlay=replace(d.overlay, fade=d.overlay.fade / Fraction(rate)))
        # Each view the overlay is held in, placed once for all the times it is held (the
        # whole picture before a zoom and after it again: one layer, not the same layer twice).
        holds: list[tuple[tuple[Region, Any], list[str]]] = []
        for a, b, hold in runs:
            a, b = max(a, ja), min(b, jb)
            if a >= b:
                continue
            enable = _between((Fraction(a) - Fraction(1, 2)) / target.fps, (Fraction(b) - Fraction(1, 2)) / target.fps)
            if hold is not None:
                same = next((times for h, times in holds if h == hold), None)
                if same is None:
                    holds.append((hold, [enable]))
                else:
                    same.append(enable)
            else:
                assert camera is not None
                video = _moving_overlay(ff, video, timed, camera, held, a, b, first, per_frame, target, shift)
        for hold, times in holds:
            video = _held_overlay(ff, video, timed, hold, "+".join(times), target, shift)
    return video


def _in_output_colours(layer: Any, target: Any) -> Any:
    """An RGBA picture in the output's pixel format with alpha (its matrix, limited range), once
    per picture: laid on a YUV picture as RGBA, the overlay filter converts every frame of the
    whole picture to RGBA and back (measured: a 160x160 logo on a 10 s 1080p clip, 0.9 s of CPU
    as RGBA, 0.3 s as YUVA)."""
    if not target.pix_fmt.startswith("yuv"):
        return layer.filter("format", "rgba")
    layer = layer.filter("scale", out_color_matrix=target.matrix, out_range="tv")
    return layer.filter("format", "yuva420p")


def _held_overlay(ff: Any, video: Any, d: Drawn, hold: tuple[Region, Any], enable: str, target: Any,
                  shift: Fraction) -> Any:
    view, box = hold
    pick = next(sc for sc in d.scaled if sc.scale == view_scale(view, box))
    sx, sy = pick.scale
    x = round(box.x + (d.place.x - view.x) * float(sx)) - OUTPUT_BORDER
    y = round(box.y + (d.place.y - view.y) * float(sy)) - OUTPUT_BORDER
    # What of the picture lies inside the view's box (an overlay reaching past a crop or the
    # camera's view is cut there, as it was on the capture).
    x0, y0 = max(x, box.x), max(y, box.y)
    x1, y1 = min(x + pick.size[0], box.x + box.width), min(y + pick.size[1], box.y + box.height)
    if x0 >= x1 or y0 >= y1:
        return video
    layer = _in_output_colours(ff.input(file_url(pick.picture), f="image2", **safe_input_options()).video, target)
    if (x0, y0, x1, y1) != (x, y, x + pick.size[0], y + pick.size[1]):
        layer = layer.filter("crop", w=x1 - x0, h=y1 - y0, x=x0 - x, y=y0 - y, exact=1)
    layer = _faded(layer, d)
    if shift:
        layer = layer.filter("setpts", f"PTS-{_n(shift)}/TB")
    return ff.filter([video, layer], "overlay", x=x0, y=y0, eof_action=LAYER_EOF,
                     format=overlay_layout(target.pix_fmt), enable=enable)


def _moving_overlay(ff: Any, video: Any, d: Drawn, camera: CameraPath, held: list, a: int, b: int, first: int,
                    per_frame: Fraction, target: Any, shift: Fraction) -> Any:
    """Frames [a, b) of the stream, during a camera move: the picture of the closest view
    placed frame by frame (its box in the output follows the view), faded as it is held."""
    box = held[0][1]  # every view has the frame's aspect: the same box of the output frame
    pick = max(d.scaled, key=lambda sc: sc.scale[0])
    inner = (pick.size[0] - 2 * OUTPUT_BORDER, pick.size[1] - 2 * OUTPUT_BORDER)
    places = []
    for k in range(a, b):
        v = camera.frame.outward(camera.view_at(float((first + k) * per_frame)))
        kx, ky = box.width / v.width, box.height / v.height
        places.append((v, kx, ky, box.x + (d.place.x - v.x) * kx, box.y + (d.place.y - v.y) * ky,
                       d.place.width * kx, d.place.height * ky))
    x0 = max(box.x, math.floor(min(p[3] for p in places)) - 1)
    y0 = max(box.y, math.floor(min(p[4] for p in places)) - 1)
    x1 = min(box.x + box.width, math.ceil(max(p[3] + p[5] for p in places)) + 1)
    y1 = min(box.y + box.height, math.ceil(max(p[4] + p[6] for p in places)) + 1)
    if x0 >= x1 or y0 >= y1:
        return video
    width, height = max(x1 - x0, pick.size[0]), max(y1 - y0, pick.size[1])
    width, height = width + width % 2, height + height % 2
    # Canvas pixel X is at x0 + X + 0.5 in the frame, the capture's v.x + (that - box.x) / kx,
    # the picture's OUTPUT_BORDER + (that - place.x) x inner / place's width (pixel centres at
    # index + 0.5); the picture is padded to the canvas (transparent), so nothing is resampled
    # twice and what lies beyond it is transparent.
    rx, ry = inner[0] / d.place.width, inner[1] / d.place.height
    corners: dict[str, list[float]] = {k: [] for k in ("left", "top", "right", "bottom")}
    for v, kx, ky, *_ in places:
        left = OUTPUT_BORDER + (v.x + (x0 + 0.5 - box.x) / kx - d.place.x) * rx - 0.5
        top = OUTPUT_BORDER + (v.y + (y0 + 0.5 - box.y) / ky - d.place.y) * ry - 0.5
        for key, value in (("left", left), ("top", top), ("right", left + width * rx / kx),
                           ("bottom", top + height * ry / ky)):
            corners[key].append(value)
    left, top, right, bottom = (frame_table(corners[k]) for k in ("left", "top", "right", "bottom"))
    rate = target.fps
    layer = ff.input(file_url(pick.picture), f="image2", loop=1, framerate=_number(rate),
                     **safe_input_options()).video
    # Its times first: two moves of one length would otherwise build the very same chain from
    # the same picture, which ffmpeg-python takes for one (a move in and a move back out).
    layer = layer.filter("setpts", f"({first + a}+N)/({_number(rate)})/TB").filter("trim", end_frame=b - a)
    layer = _in_output_colours(layer, target).filter("pad", w=width, h=height, x=0, y=0, color="black@0")
    layer = layer.filter("perspective", x0=left, y0=top, x1=right, y1=top, x2=left, y2=bottom,
                         x3=right, y3=bottom, interpolation="cubic", eval="frame")
    fade = min(d.overlay.fade, (d.end - d.start) / 2)
    if fade > 0:
        layer = layer.filter("fade", type="in", st=_n(d.start), d=_n(fade), alpha=1)
        layer = layer.filter("fade", type="out", st=_n(d.end - fade), d=_n(fade), alpha=1)
    if shift:
        layer = layer.filter("setpts", f"PTS-{_n(shift)}/TB")
    return ff.filter([video, layer], "overlay", x=x0, y=y0, eof_action=LAYER_EOF, format=overlay_layout(target.pix_fmt))


# --- the styled frame (issue 30) ---------------------------------------------------------------
@dataclass(frozen=True)
class FramePlan:
    """An output's styled frame: its picture (``titles.overlays.draw_frame``: background and
    shadow, a transparent rounded window) and where the segment's picture goes in it."""

    picture: Path
    box: Placement


def framed(video: Any, frame: FramePlan, width: int, height: int, matrix: str, pix_fmt: str) -> Any:
    """A conformed picture (``width`` x ``height``) scaled into the frame's window and the frame
    laid over it (its rounded corners and background cover the rest). The frame's picture is
    converted to the output's colours once (one PNG frame, held by the overlay)."""
    ff = ffmpeg_module()
    box = frame.box
    video = video.filter("scale", w=box.width, h=box.height, flags="lanczos")
    video = video.filter("pad", w=width, h=height, x=box.x, y=box.y, color="black")
    layer = ff.input(file_url(frame.picture), f="image2", **safe_input_options()).video
    if pix_fmt.startswith("yuv"):
        layer = layer.filter("scale", out_color_matrix=matrix, out_range="tv").filter("format", "yuva420p")
    else:
        layer = layer.filter("format", "rgba")
    video = ff.filter([video, layer], "overlay", x=0, y=0, eof_action="repeat", format=overlay_layout(pix_fmt))
    return video.filter("format", pix_fmt)


# --- the webcam corner (issue 30) --------------------------------------------------------------
WEBCAM_RADIUS = {"circle": 0.5, "rounded": 1 / 6, "square": 0.0}  # of the box's smaller side


@dataclass(frozen=True)
class WebcamLook:
    """One layout of the camera in the output frame: its ``box`` (stored pixels), its mask
    (None: square corners), how the camera is cut to the box (``square``: a centred square,
    ``own``: all of it, ``frame``: the frame's aspect, for ``position: full``) and its corners'
    radius (a share of the box's smaller side as shown)."""

    box: Placement
    mask: Path | None
    cut: str
    radius: float


@dataclass(frozen=True)
class WebcamMove:
    """A change of layout from ``start`` to ``end`` (seconds of the capture), eased: drawn on a
    ``canvas`` of the frame holding every box of the move, its masks one PNG a frame
    (``masks`` + the frame's number at the target's rate, sped up, + ``.png``)."""

    start: Fraction
    end: Fraction
    canvas: Placement
    masks: Path


@dataclass(frozen=True)
class WebcamPlan:
    """A camera recording in the output frame: ``source`` (probed), its layouts (``looks``:
    the first from the clip's start, each next one reached by ``moves``' eased change),
    ``offset`` (at capture time t it shows its own t + offset), and its keyframes (``index``,
    ``media.seek.read_index``; None: decoded from its start), which let a chunk or slice deep
    into the clip seek the camera as it seeks the capture."""

    source: MediaInfo
    looks: tuple[WebcamLook, ...]
    offset: Fraction
    moves: tuple[WebcamMove, ...] = ()
    index: FrameIndex | None = None

    @property
    def box(self) -> Placement:
        return self.looks[0].box

    @property
    def mask(self) -> Path | None:
        return self.looks[0].mask

    def listing(self) -> str:
        """For ``--dry-run``: ``webcam: face.mp4 at 270x270+1614+774 from 0 s``, and each change."""
        def at(look: WebcamLook) -> str:
            b = look.box
            return f"{b.width}x{b.height}+{b.x}+{b.y}"
        lines = [f"webcam: {self.source.path.name} at {at(self.looks[0])} from {_n(self.offset)} s"]
        lines += [f"webcam: {_n(m.start)}-{_n(m.end)} s to {at(look)}" for m, look in zip(self.moves, self.looks[1:])]
        return "\n".join(lines)


def cut_region(cut: str, camera_aspect: Fraction, frame_aspect: Fraction) -> Region:
    """The part of the camera's picture a look shows, in shares of its sides (centred)."""
    aspect = {"square": Fraction(1), "own": camera_aspect, "frame": frame_aspect}[cut]
    if aspect < camera_aspect:
        w = float(aspect / camera_aspect)
        return Region((1 - w) / 2, 0.0, w, 1.0)
    h = float(camera_aspect / aspect)
    return Region(0.0, (1 - h) / 2, 1.0, h)


@dataclass(frozen=True)
class EaseFrame:
    """A frame during a change of layout: its number (at the target's rate, sped up, from the
    capture's start), the camera's box there (stored pixels, fractions allowed), the part of
    the camera it shows (shares of its sides) and its corners' radius (share of its smaller side)."""

    number: int
    box: Region
    cut: Region
    radius: float


def ease_frames(a: WebcamLook, b: WebcamLook, move: WebcamMove | tuple[Fraction, Fraction], per_frame: Fraction,
                camera_aspect: Fraction, frame_aspect: Fraction) -> tuple[EaseFrame, ...]:
    """Every frame strictly inside a change from look ``a`` to ``b``, eased by the curve of a
    camera move (``plan.camera.ease``). Each edge of the box goes straight from where it was
    to where it goes (a camera's view changes its size geometrically instead, a zoom looking
    even; a box growing from its corner keeps that corner in place this way, every edge moving
    one way only)."""
    start, end = (move.start, move.end) if isinstance(move, WebcamMove) else move
    first = math.floor(Fraction(start) / per_frame) + 1
    last = math.ceil(Fraction(end) / per_frame)
    box_a, box_b = (Region(p.box.x, p.box.y, p.box.width, p.box.height) for p in (a, b))
    cut_a, cut_b = (cut_region(p.cut, camera_aspect, frame_aspect) for p in (a, b))
    found = []
    for k in range(first, last):
        s = ease(float((k * per_frame - start) / (end - start)))
        found.append(EaseFrame(k, _edges_between(box_a, box_b, s), _edges_between(cut_a, cut_b, s),
                               a.radius + (b.radius - a.radius) * s))
    return tuple(found)


def _edges_between(a: Region, b: Region, s: float) -> Region:
    left, top = a.x + (b.x - a.x) * s, a.y + (b.y - a.y) * s
    right = a.x + a.width + (b.x + b.width - a.x - a.width) * s
    bottom = a.y + a.height + (b.y + b.height - a.y - a.height) * s
    return Region(left, top, right - left, bottom - top)


def ease_canvas(frames: tuple[EaseFrame, ...], a: WebcamLook, b: WebcamLook, size: tuple[int, int]) -> Placement:
    """The smallest box on even pixels inside the frame holding the looks' and every frame's box."""
    boxes = [f.box for f in frames] + [Region(p.box.x, p.box.y, p.box.width, p.box.height) for p in (a, b)]
    x0 = max(0, math.floor(min(r.x for r in boxes)))
    y0 = max(0, math.floor(min(r.y for r in boxes)))
    x0, y0 = x0 - x0 % 2, y0 - y0 % 2
    x1 = min(size[0], math.ceil(max(r.x + r.width for r in boxes)))
    y1 = min(size[1], math.ceil(max(r.y + r.height for r in boxes)))
    return Placement(x0, y0, min(size[0] - x0, x1 - x0 + (x1 - x0) % 2), min(size[1] - y0, y1 - y0 + (y1 - y0) % 2))


def with_webcam(video: Any, cam: WebcamPlan, first: int, count: int, rate: Fraction, target: Any,
                window: Any) -> Any:
    """``count`` conformed frames of a clip whose frame 0 shows capture frame ``first`` (at the
    target's rate, sped up by ``rate``), with the camera's matching frames in their place: each
    look where it holds, each change between looks eased frame by frame."""
    ff = ffmpeg_module()
    assert cam.source.video is not None
    # A chunk deep into the clip seeks the camera as the capture is seeked (media.seek): without,
    # each chunk decoded the camera from its start, chunk n of a long clip n chunks' worth
    # (measured: a 60 s 1080p clip in three chunks decoded 3600 frames of a 30 fps camera for
    # the 1800 shown). Any keyframe up to the camera's time at frame first - 1 is at or before
    # the camera frame shown at ``first``; the frames before the seek point are kept
    # (-noaccurate_seek) and their timestamps shifted back, so the window picks the same frames.
    needed = Fraction(first - 1) * Fraction(rate) / Fraction(target.fps) + Fraction(cam.offset)
    seek = plan_seek(cam.source.format_name, cam.source.video.codec, cam.index, needed)
    if seek.at:
        picture = open_capture(cam.source, threads=1, ss=seek.at, noaccurate_seek=None
                               ).video.filter("setpts", f"PTS+{seek.at}/TB")
    else:
        picture = open_capture(cam.source, threads=1).video
    picture = picture.filter("setpts", f"PTS-{_n(cam.offset)}/TB")
    if rate != 1:
        picture = picture.filter("settb", "AVTB").filter("setpts", f"PTS/{_number(rate)}")
    picture = window(picture, target, first, count, hold=True)
    per_frame = rate / target.fps
    runs = frame_runs([(m.start, m.end) for m in cam.moves], first, count, per_frame)
    if len(runs) == 1 and not runs[0][3]:  # one look all through: the camera as it is
        return _held_camera(ff, video, picture, cam.looks[runs[0][2]], target, cam.source.video.matrix)
    branches = picture.split()
    for n, (a, b, i, moving) in enumerate(runs):
        part = branches[n].filter("trim", start_frame=a, end_frame=b)
        if moving:
            video = _moving_camera(ff, video, part, cam, i, a, first + a, b - a, per_frame, target)
        else:
            video = _held_camera(ff, video, part, cam.looks[i], target, cam.source.video.matrix)
    return video


# A camera's colour matrix (as probed; ffmpeg's names) as the scale and colormatrix filters name
# it; an untagged camera is BT.601, as the scale filter reads one.
_SCALE_MATRIX = {None: "bt601", "bt470bg": "bt470", "smpte170m": "smpte170m", "bt709": "bt709", "fcc": "fcc",
                 "smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020"}


def camera_scaled(picture: Any, width: int, height: int, matrix: str | None, target: Any) -> Any:
    """The camera's picture scaled to ``width`` x ``height`` in the output's colours (limited
    range, ``target.matrix``) from its own (``matrix``: its tag, None if untagged). The scaler
    changes only the size and range; a change of matrix is made after, on the small picture,
    by ``colormatrix``: asked to change the matrix between two YUV formats, ffmpeg 5.1's scaler
    goes through 16-bit RGB and back, every frame (measured: 600 frames of a 640x480 camera
    to 270x270, 1.0 s of CPU with the matrix change in the scaler, 0.3 s with colormatrix)."""
    own = _SCALE_MATRIX.get(matrix, "bt601")
    picture = picture.filter("scale", w=width, h=height, flags="lanczos", in_color_matrix=own,
                             out_color_matrix=own, out_range="tv")
    if not same_coefficients(matrix, target.matrix):
        picture = picture.filter("colormatrix", src=own, dst=target.matrix)
    return picture


def _held_camera(ff: Any, video: Any, picture: Any, look: WebcamLook, target: Any, matrix: str | None) -> Any:
    if look.cut == "square":
        picture = picture.filter("crop", w="min(iw,ih)", h="min(iw,ih)")
    elif look.cut == "frame":
        aspect = _number(Fraction(target.width, target.height) * target.sar)
        picture = picture.filter("crop", w=f"min(iw,ih*sar*{aspect})", h=f"min(ih,iw/(sar*{aspect}))")
    picture = camera_scaled(picture, look.box.width, look.box.height, matrix, target)
    picture = picture.filter("format", "yuva420p" if target.pix_fmt.startswith("yuv") else "rgba")
    if look.mask is not None:
        mask = ff.input(file_url(look.mask), f="image2", **safe_input_options()).video.filter("format", "gray")
        picture = ff.filter([picture, mask], "alphamerge")
    video = ff.filter([video, picture], "overlay", x=look.box.x, y=look.box.y, format=overlay_layout(target.pix_fmt),
                      eof_action=LAYER_EOF)
    return video.filter("format", target.pix_fmt)


def _moving_camera(ff: Any, video: Any, picture: Any, cam: WebcamPlan, index: int, j: int, number: int,
                   frames: int, per_frame: Fraction, target: Any) -> Any:
    """The clip's frames ``j`` to ``j + frames`` (``number`` on of the capture's start) during change ``index``:
    the camera stretched over the move's canvas, the part each frame shows put in its box by
    the ``perspective`` filter (per frame, sub-pixel, as a camera move is filmed), and that
    frame's mask (drawn by ``titles.overlays.EaseMaskJob``) as its alpha."""
    move = cam.moves[index]
    assert cam.source.video is not None
    canvas = move.canvas
    steps = {f.number: f for f in ease_frames(cam.looks[index], cam.looks[index + 1], move, per_frame,
                                               cam.source.video.display_aspect, _frame_aspect(target))}
    corners: dict[str, list[float]] = {k: [] for k in ("left", "top", "right", "bottom")}
    for k in range(number, number + frames):
        f = steps[k]
        # Output pixel X of the canvas is at X + 0.5 in the canvas, which is (that - box) / box's
        # width of the box's way across, and shows the camera there (the cut's share of it) on
        # the canvas-sized picture, whose pixel centres are at index + 0.5.
        sx, sy = f.cut.width * canvas.width / f.box.width, f.cut.height * canvas.height / f.box.height
        left = (f.cut.x + (canvas.x + 0.5 - f.box.x) / f.box.width * f.cut.width) * canvas.width - 0.5
        top = (f.cut.y + (canvas.y + 0.5 - f.box.y) / f.box.height * f.cut.height) * canvas.height - 0.5
        for key, value in (("left", left), ("top", top), ("right", left + sx * canvas.width),
                           ("bottom", top + sy * canvas.height)):
            corners[key].append(value)
    left, top, right, bottom = (frame_table(corners[k]) for k in ("left", "top", "right", "bottom"))
    picture = camera_scaled(picture, canvas.width, canvas.height, cam.source.video.matrix, target)
    picture = picture.filter("perspective", x0=left, y0=top, x1=right, y1=top, x2=left, y2=bottom,
                             x3=right, y3=bottom, interpolation="cubic", eval="frame")
    picture = picture.filter("format", "yuva420p" if target.pix_fmt.startswith("yuv") else "rgba")
    pattern = str(move.masks).replace("%", "%%") + "%d.png"
    rate = target.fps
    mask = ff.input(file_url(pattern), f="image2", start_number=number, framerate=_number(rate),
                    **safe_input_options()).video
    mask = mask.filter("trim", end_frame=frames).filter("format", "gray")
    # On the picture's clock: frame j of the clip at j / rate seconds.
    mask = mask.filter("setpts", f"({j}+N)/({_number(rate)})/TB")
    picture = ff.filter([picture, mask], "alphamerge")
    video = ff.filter([video, picture], "overlay", x=canvas.x, y=canvas.y, format=overlay_layout(target.pix_fmt),
                      eof_action=LAYER_EOF)
    return video.filter("format", target.pix_fmt)


def _frame_aspect(target: Any) -> Fraction:
    return Fraction(target.width, target.height) * target.sar
