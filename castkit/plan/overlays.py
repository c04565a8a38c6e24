"""Overlays in a clip's filter graph (issue 30): redactions, then the drawn overlays, on the
capture's own picture, before its crop, camera, rate conversion and scaling.

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
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from castkit.base.jobs import file_url
from castkit.media.ffmpeg import ffmpeg_module, safe_input_options
from castkit.media.probe import MediaInfo
from castkit.recipe.model import Crop, Overlay
from castkit.titles.overlays import Placement

PLACES = 4  # decimals of times in ffmpeg's expressions (a tenth of a millisecond)
FADE_RATE = 50  # frames a second of an overlay's fade (its alpha steps)
REDACT_MARGIN = 2  # grid frames a redaction reaches beyond its times, each side
FILL_COLOR = "black"


@dataclass(frozen=True)
class Drawn:
    """An overlay ready for a clip's encode: its times in the capture (``until: end`` resolved
    to the clip's end), and for a picture, where it goes and its PNG (``picture``)."""

    overlay: Overlay
    start: Fraction
    end: Fraction
    place: Placement
    picture: Path | None = None  # None: a redaction


def with_overlays(video: Any, drawn: tuple[Drawn, ...], shape: tuple[int, int], rate: Fraction) -> Any:
    """``video`` (the capture's picture, its own pixels and timestamps) on a grid of ``rate``
    frames a second, redacted, with the overlays drawn on it in recipe order."""
    if not drawn:
        return video
    ff = ffmpeg_module()
    video = video.filter("fps", fps=_number(rate))
    grid = Fraction(1) / rate
    for d in drawn:
        if d.overlay.redacts:
            video = redact(video, d, shape, REDACT_MARGIN * grid)
    for d in drawn:
        if d.picture is None:
            continue
        layer = ff.input(file_url(d.picture), f="image2", **safe_input_options()).video
        layer = layer.filter("format", "rgba")
        layer = _faded(layer, d)
        video = ff.filter([video, layer], "overlay", x=d.place.x, y=d.place.y, eof_action="repeat", format="auto",
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


def redact(video: Any, d: Drawn, shape: tuple[int, int], margin: Fraction) -> Any:
    o = d.overlay
    assert o.region is not None
    r = redacted_region(o.region, shape)
    enable = _between(d.start - margin, d.end + margin)
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
    return ff.filter([whole, part], "overlay", x=r.x, y=r.y, format="auto", enable=enable)


def _faded(layer: Any, d: Drawn) -> Any:
    """The overlay's picture as frames at its start (fading in) and before its end (fading
    out); the overlay filter holds the last frame it had in between."""
    fade = min(d.overlay.fade, (d.end - d.start) / 2)
    steps = math.ceil(fade * FADE_RATE)
    if not steps:
        return layer.filter("setpts", f"{_n(d.start)}/TB")
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
    video = ff.filter([video, layer], "overlay", x=0, y=0, eof_action="repeat", format="auto")
    return video.filter("format", pix_fmt)


# --- the webcam corner (issue 30) --------------------------------------------------------------
@dataclass(frozen=True)
class WebcamPlan:
    """A camera recording in a corner of the output frame: ``source`` (probed), where it goes
    (``box``, the output's stored pixels), its ``mask`` (a circle's or rounded rectangle's
    alpha, None for a square), and ``offset`` (at capture time t it shows its own t + offset)."""

    source: MediaInfo
    box: Placement
    mask: Path | None
    offset: Fraction
    square: bool  # cropped to a square (circle, square) or its own aspect kept (rounded)


def with_webcam(video: Any, cam: WebcamPlan, first: int, count: int, rate: Fraction, target: Any,
                window: Any) -> Any:
    """``count`` conformed frames of a clip whose frame 0 shows capture frame ``first`` (at the
    target's rate, sped up by ``rate``), with the camera's matching frames in their corner."""
    ff = ffmpeg_module()
    assert cam.source.video is not None
    picture = ff.input(file_url(cam.source.path), threads=1, **safe_input_options()).video
    picture = picture.filter("setpts", f"PTS-{_n(cam.offset)}/TB")
    if rate != 1:
        picture = picture.filter("settb", "AVTB").filter("setpts", f"PTS/{_number(rate)}")
    picture = window(picture, target, first, count, hold=True)
    if cam.square:
        picture = picture.filter("crop", w="min(iw,ih)", h="min(iw,ih)")
    picture = picture.filter("scale", w=cam.box.width, h=cam.box.height, flags="lanczos",
                             out_color_matrix=target.matrix, out_range="tv")
    picture = picture.filter("format", "yuva420p" if target.pix_fmt.startswith("yuv") else "rgba")
    if cam.mask is not None:
        mask = ff.input(file_url(cam.mask), f="image2", **safe_input_options()).video.filter("format", "gray")
        picture = ff.filter([picture, mask], "alphamerge")
    video = ff.filter([video, picture], "overlay", x=cam.box.x, y=cam.box.y, format="auto", eof_action="repeat")
    return video.filter("format", target.pix_fmt)
