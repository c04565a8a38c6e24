"""Output profiles: how each output format is made, the seam between the planner and a format.

A profile knows its frame (a ``Raster``), how to encode a conformed picture and sound into a
segment for the cache (``encode(..., final=False)``) or straight into a deliverable
(``final=True``: ``castkit convert``/``title``), how to tell a complete cached segment from a
partial one, and how to join segments into the cast. Adding a format is adding a module here
and a line in ``_KINDS``.

    suffix   profile        segments (cache)                 cast
    .dv      DvProfile      raw DV, one per segment          bytes joined (kernel copy)
                            (each distinct picture encoded once, ``media.pictures``)
    .avi     DvProfile      raw DV                           concat demuxer, stream copy
    .mp4     Mp4Profile     H.264 + ALAC in MP4              video copied, AAC encoded once
    .webm    WebmProfile    AV1 + ALAC in MP4                video copied, Opus encoded once
    .gif     AnimatedProfile  the picture alone, lossless    each distinct picture once,
    .webp    (``animated``)   H.264 in MP4 (``images``)      one palette (GIF), no sound
    .apng
    .jpg     PosterProfile    the same                       one frame (``at:``), from the
    .png     (``stills``)                                     segment that holds it
    .webp    SpriteProfile    the same                       a frame every ``every:`` s in a
                                                             grid, and a WebVTT index
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from castkit.media.formats import kind_of
from castkit.media.raster import GIF_COLORS, WebRaster
from castkit.outputs.animated import AnimatedProfile
from castkit.outputs.dv import DvProfile
from castkit.outputs.mp4 import Mp4Profile
from castkit.outputs.webm import WebmProfile
from castkit.outputs.stills import PosterProfile, SpriteProfile
from castkit.plan.profile import Profile
from castkit.recipe.model import OutputSpec


def make_profile(path: Path, dv_target: Any = None, raster: Any = None) -> Profile:
    """The profile for an output path: DV ones take the recipe's ``dv_target``, web ones a
    ``WebRaster``."""
    kind = kind_of(path)
    if kind in ("dv", "avi"):
        return DvProfile(dv_target, kind)
    if kind == "mp4":
        return Mp4Profile(raster)
    if kind == "webm":
        return WebmProfile(raster)
    raise ValueError(f"no profile for {path.suffix!r}")


def image_profile(spec: OutputSpec, raster: WebRaster) -> Profile:
    """The profile of an image output (``spec.kind``: an animation, a poster or a sprite
    sheet) whose frame is ``raster``."""
    kind = spec.kind
    if kind in ("gif", "webp", "apng"):
        return AnimatedProfile(raster, kind, spec.colors or GIF_COLORS[1], spec.lossy, spec.loop,
                               spec.quality)
    if kind == "poster":
        return PosterProfile(raster)
    if kind == "sprites":
        return SpriteProfile(raster, spec.every)
    raise ValueError(f"no image profile for {spec.path.name!r}")
