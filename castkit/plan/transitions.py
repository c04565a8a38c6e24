"""Transitions between segments (``transition:``): the overlap of two segments as a short
segment of its own, made from the two neighbours' cached DV files (their last and first frames),
so that the neighbours stay cache entries as they are and the cast is still their bytes, each
shortened at the join by the frames the overlap took (``outputs.join``: DV frames are intra-only
and carry their own sound). Changing a transition re-encodes its overlap alone.

The picture crosses over with ffmpeg's ``xfade`` (crossfade: ``fade``; dip: ``fadeblack``, through
black; wipe: ``wipeleft``; slide: ``slideleft``), the sound with a linear crossfade (each side
faded over the whole overlap, then summed: the samples of the two neighbours' own frames, so
the cast's sound stays sample-exact across the joins)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from castkit.base.jobs import file_url, Job
from castkit.media.dv import dv_samples
from castkit.media.ffmpeg import Ffmpeg, ffmpeg_module
from castkit.plan.encode import conform, ffmpeg_number
from castkit.plan.profile import Profile
from castkit.recipe.model import Transition

XFADE = {"crossfade": "fade", "dip": "fadeblack", "wipe": "wipeleft", "slide": "slideleft"}


def first_sample(profile: Profile, frame: int) -> int:
    """The sample where frame ``frame`` of a raw DV file starts (NTSC: the dv muxer's pattern)."""
    if profile.lays_ntsc_sound(False):
        return dv_samples(frame)
    return profile.raster.audio_samples(frame)


def overlap_job(before: Path, before_first: int, after: Path, after_first: int, frames: int,
                transition: Transition, profile: Profile, output: Path, ffmpeg: Ffmpeg,
                label: str, lead: int = 0) -> Job:
    """The overlap of two raw DV segments: frames ``[before_first, before_first + frames)`` of
    ``before`` crossing over into frames ``[after_first, ...)`` of ``after`` (file frames, lead
    frames counted), encoded as a segment of ``frames`` frames (``lead``: see ``conform``)."""
    ff = ffmpeg_module()
    target = profile.raster
    options = {"f": "dv", "protocol_whitelist": "file", "format_whitelist": "dv"}
    a, b = ff.input(file_url(before), **options), ff.input(file_url(after), **options)

    def picture(source, first: int):
        return (source.video.filter("trim", start_frame=first, end_frame=first + frames)
                .filter("setpts", "PTS-STARTPTS"))

    def sound(source, first: int, fade: str):
        start, end = first_sample(profile, first), first_sample(profile, first + frames)
        return (source.audio.filter("atrim", start_sample=start, end_sample=end)
                .filter("asetpts", "PTS-STARTPTS")
                .filter("afade", type=fade, start_sample=0, nb_samples=end - start))

    seconds = ffmpeg_number(Fraction(frames) / target.fps)
    video = ff.filter([picture(a, before_first), picture(b, after_first)], "xfade",
                      transition=XFADE[transition.type], duration=seconds, offset=0)
    audio = ff.filter([sound(a, before_first, "out"), sound(b, after_first, "in")], "amix",
                      inputs=2, duration="longest", dropout_transition=0, normalize=0)
    shape = (target.width, target.height, target.sar)
    return conform(ff, video, audio, shape, frames, profile, output, ffmpeg, False, label,
                   (before, after), scaled=True, lead=lead)
