"""``castkit title``: one title card, as a still image or as an exact-length clip (DV or web)."""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

from castkit.base.files import check_output, write_atomically
from castkit.base.jobs import Job, Plan
from castkit.cache.folders import check_not_in_cache, default_cache_folders
from castkit.errors import UsageError, WorkError
from castkit.media.dv import DvTarget
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.media.formats import OUTPUT_SUFFIXES
from castkit.media.raster import WebRaster
from castkit.outputs.profiles import make_profile
from castkit.plan.encode import still_job
from castkit.recipe.model import style_files
from castkit.recipe.style import TitleStyle
from castkit.run.runner import FfmpegRunner, Runner
from castkit.titles.cards import check_style, check_text, render_card


IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
CLIP_SUFFIXES = OUTPUT_SUFFIXES


def make_title(
    title: str,
    output: Path | str,
    *,
    subtitle: str | None = None,
    seconds: Fraction = Fraction(4),
    target: DvTarget = DvTarget(),
    style: TitleStyle = TitleStyle(),
    size: tuple[int, int] | None = None,
    force: bool = False,
    runner: Runner | None = None,
    ffmpeg: Ffmpeg | None = None,
) -> int:
    """Write a card to ``output`` (.png/.jpg still; .dv/.avi/.mp4/.webm clip); returns frames
    written. ``size``: a still's or a web clip's size in pixels (default: the DV display size
    for stills, 1920x1080 for web clips; DV clips are always the DV frame)."""
    output = Path(output)
    if not title.strip():
        raise UsageError("a title needs some text")
    check_output(output, style_files(style), force, (*IMAGE_FORMATS, *CLIP_SUFFIXES))
    for folder in default_cache_folders(output):
        check_not_in_cache(output, folder)
    check_style(style)
    check_text(title, subtitle, style)
    suffix = output.suffix.lower()
    profile = None
    if suffix in CLIP_SUFFIXES:
        raster = WebRaster(*size) if size else WebRaster()
        profile = make_profile(output, target, raster)
        size = profile.raster.display_size
        frames = profile.raster.frames(seconds)
        if frames < 1:
            raise UsageError(f"--duration {float(seconds):g} is shorter than one frame")
    image = render_card(title, subtitle, style, size or target.display_size)
    if profile is None:
        kind = IMAGE_FORMATS[suffix]
        write_atomically(output, lambda temp: image.save(temp, format=kind, quality=95))
        return 0
    ffmpeg = ffmpeg or find_ffmpeg()
    with tempfile.TemporaryDirectory(prefix="castkit-title-") as work:
        card = Path(work) / "card.png"
        try:
            image.save(card, format="PNG")
        except OSError as exc:
            raise WorkError(f"{card}: cannot write the title card ({exc.strerror or exc})") from None
        job: Job = still_job(
            card, size, frames, profile, output, ffmpeg, final=True, label=f"title {title[:40]!r}",
        )
        (runner or FfmpegRunner()).run(Plan(((job,),)))
    return frames
