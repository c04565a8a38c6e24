"""``castkit convert``: one capture to DV, one shot (the seed's ``-target pal-dv``, done right)."""

from __future__ import annotations

from pathlib import Path

from ._ffmpeg import Ffmpeg, find_ffmpeg
from ._outputs import check_not_in_cache, check_output, container, default_cache_folders
from ._plan import Job, Plan, clip_job
from ._probe import MediaInfo, check_readable, probe
from ._runner import FfmpegRunner, Runner
from ._target import DvTarget


def default_output(source: Path) -> Path:
    """The input's name with ``.dv``, beside it."""
    return source.with_suffix(".dv")


def plan_convert(
    info: MediaInfo, output: Path, target: DvTarget, ffmpeg: Ffmpeg,
) -> Job:
    return clip_job(info, target, output, ffmpeg, container=container(output))


def convert(
    source: Path | str,
    output: Path | str | None = None,
    target: DvTarget = DvTarget(),
    *,
    force: bool = False,
    runner: Runner | None = None,
    ffmpeg: Ffmpeg | None = None,
) -> Job:
    """Convert ``source`` to DV at ``output`` and return the job that did it."""
    source = Path(source)
    # The input first: "." or "captures/" is a folder to say so about, not a name to derive
    # the default output from.
    check_readable(source)
    out = Path(output) if output is not None else default_output(source)
    check_output(out, [source], force)
    for folder in default_cache_folders(out):
        check_not_in_cache(out, folder)
    ffmpeg = ffmpeg or find_ffmpeg()
    info = probe(source, ffmpeg)
    job = plan_convert(info, out, target, ffmpeg)
    (runner or FfmpegRunner()).run(Plan(((job,),)))
    return job
