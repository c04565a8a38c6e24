"""``castkit convert``: one capture to DV or a web master, one shot (the seed's
``-target pal-dv``, done right)."""

from __future__ import annotations

from pathlib import Path

from castkit.base.files import check_output
from castkit.base.jobs import Job, Plan
from castkit.cache.folders import check_not_in_cache, default_cache_folders
from castkit.media.dv import DvTarget
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.media.formats import OUTPUT_SUFFIXES
from castkit.media.probe import check_readable, MediaInfo, probe
from castkit.media.raster import web_raster
from castkit.outputs.profiles import make_profile
from castkit.plan.encode import clip_job
from castkit.plan.profile import Profile
from castkit.run.runner import FfmpegRunner, Runner


def default_output(source: Path) -> Path:
    """The input's name with ``.dv``, beside it."""
    return source.with_suffix(".dv")


def profile_for(info: MediaInfo, output: Path, target: DvTarget) -> Profile:
    """DV as ``target`` says; a web master at the capture's own size and rate."""
    assert info.video is not None
    width, height, sar = info.video.shown_shape
    return make_profile(output, target, web_raster([(width, height, sar, info.video.fps)]))


def plan_convert(info: MediaInfo, output: Path, target: DvTarget, ffmpeg: Ffmpeg) -> Job:
    return clip_job(info, profile_for(info, output, target), output, ffmpeg, final=True)


def convert(
    source: Path | str,
    output: Path | str | None = None,
    target: DvTarget = DvTarget(),
    *,
    force: bool = False,
    runner: Runner | None = None,
    ffmpeg: Ffmpeg | None = None,
) -> Job:
    """Convert ``source`` to ``output`` (.dv, .avi, .mp4, .webm) and return the job that did it."""
    source = Path(source)
    # The input first: "." or "captures/" is a folder to say so about, not a name to derive
    # the default output from.
    check_readable(source)
    out = Path(output) if output is not None else default_output(source)
    check_output(out, [source], force, OUTPUT_SUFFIXES)
    for folder in default_cache_folders(out):
        check_not_in_cache(out, folder)
    ffmpeg = ffmpeg or find_ffmpeg()
    info = probe(source, ffmpeg)
    job = plan_convert(info, out, target, ffmpeg)
    (runner or FfmpegRunner()).run(Plan(((job,),)))
    return job
