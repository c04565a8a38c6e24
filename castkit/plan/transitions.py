"""Transitions between segments (``transition:``): the overlap of two segments as a short
segment of its own, made from the two neighbours' cached DV files (their last and first frames),
so that the neighbours stay cache entries as they are and the cast is still their bytes, each
shortened at the join by the frames the overlap took (``outputs.join``: DV frames are intra-only
and carry their own sound). Changing a transition re-encodes its overlap alone.

The picture crosses over with ffmpeg's ``xfade`` (crossfade: ``fade``; dip: ``fadeblack``, through
black; wipe: ``wipeleft``; slide: ``slideleft``), the sound with a linear crossfade (each side
faded over the whole overlap, then summed: the samples of the two neighbours' own frames, so
the cast's sound stays sample-exact across the joins).

The web masters and images, whose segments cannot be cut at any frame, take their overlaps
from windows of their own (``edge_windows``, ``web_overlap_job``, below)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from castkit.base.jobs import file_url, Job
from castkit.media.dv import dv_samples
from castkit.media.ffmpeg import Ffmpeg, ffmpeg_module
from castkit.plan.encode import conform, ffmpeg_number
from castkit.plan.pauses import Kept
from castkit.plan.profile import Profile
from castkit.recipe.model import Transition

XFADE = {"crossfade": "fade", "dip": "fadeblack", "wipe": "wipeleft", "slide": "slideleft"}


def first_sample(profile: Profile, frame: int) -> int:
    """The sample where frame ``frame`` of a raw DV file starts (NTSC: the dv muxer's pattern)."""
    if profile.lays_ntsc_sound(False):
        return dv_samples(frame)
    return profile.raster.audio_samples(frame)


# The DV pixel formats xfade mixes in as they are (PAL's 4:2:0; not NTSC's 4:1:1).
XFADE_FORMATS = ("yuv420p",)


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
    if target.pix_fmt not in XFADE_FORMATS:
        # NTSC DV's 4:1:1: xfade mixes it as 4:4:4, which the DV encoder does not take.
        video = video.filter("format", target.pix_fmt)
    audio = ff.filter([sound(a, before_first, "out"), sound(b, after_first, "in")], "amix",
                      inputs=2, duration="longest", dropout_transition=0, normalize=0)
    shape = (target.width, target.height, target.sar)
    return conform(ff, video, audio, shape, frames, profile, output, ffmpeg, False, label,
                   (before, after), scaled=True, lead=lead)


# The web masters and the images (issue 25): their segments are inter-coded (H.264, AV1) and
# joined by stream copy, so a segment cannot be cut at any frame as a DV one is. Each
# neighbour is encoded as windows instead (``plan.slices``, ``plan.chunks``): the frames a
# transition overlaps are a short window of their own, which only the overlap reads, and the
# cast copies the rest. A clip in chunks keeps every chunk but the one at the join; a new
# duration encodes that chunk, the two short windows and the overlap.

# Where the rest of an edge window is cut again: at whole seconds from the join, so that a
# new duration under that whole second re-encodes at most a second of the neighbour, not all
# of its edge chunk (benchmarks/bench_transitions.py).
EDGE_GRAIN_SECONDS = 1


def edge_windows(windows: list[tuple[int, int] | None], frames: int, head: int, tail: int,
                 grain: int = 0) -> list[tuple[int, int]]:
    """A segment's windows (``None``: the whole segment of ``frames`` frames) with its first
    ``head`` and last ``tail`` frames made windows of their own (the overlaps into and out of
    it); the first window must be at least ``head`` long and the last at least ``tail``. With
    a ``grain`` (frames), what is left of the first window is cut again at the first multiple
    of ``grain`` past ``head`` and of the last at the last one before ``frames - tail``."""
    found = [(0, frames) if w is None else w for w in windows]
    end = frames - tail
    if end < head:
        raise ValueError("the transitions into and out of a segment overlap")
    cuts = {a for a, _ in found[1:]}
    if any(0 < cut < head or end < cut < frames for cut in cuts):
        raise ValueError("an edge window holds a window's edge")
    if head:
        cuts.add(head)
        if grain:
            at = -(-head // grain) * grain
            if at < min([cut for cut in cuts if cut > head] + [end]):
                cuts.add(at)
    if tail:
        cuts.add(end)
        if grain:
            at = frames - -(-tail // grain) * grain
            if at > max([cut for cut in cuts if cut < end] + [head]):
                cuts.add(at)
    cuts = sorted(cut for cut in cuts if 0 < cut < frames)
    return list(zip([0, *cuts], [*cuts, frames]))


def web_overlap_job(before: Path, after: Path, frames: int, transition: Transition, profile: Profile,
                    output: Path, ffmpeg: Ffmpeg, label: str, sound: bool) -> Job:
    """The overlap of two segments whose cache entries are MP4 files (web masters, images):
    ``before``, the last ``frames`` frames of one, crossing over into ``after``, the first
    ``frames`` of the next (both windows of exactly those frames, see ``edge_windows``),
    encoded as a segment of the profile. ``sound``: the windows carry sound, crossfaded."""
    ff = ffmpeg_module()
    target = profile.raster
    options = {"f": "mov", "protocol_whitelist": "file", "format_whitelist": "mov"}
    a, b = ff.input(file_url(before), **options), ff.input(file_url(after), **options)

    def picture(source):
        # One time base on both sides, as xfade asks; each side from its own first frame.
        return (source.video.filter("trim", end_frame=frames).filter("settb", "AVTB")
                .filter("setpts", "PTS-STARTPTS"))

    samples = target.audio_samples(frames)

    def heard(source, fade: str):
        return (source.audio.filter("atrim", end_sample=samples).filter("asetpts", "PTS-STARTPTS")
                .filter("afade", type=fade, start_sample=0, nb_samples=samples))

    # xfade takes its duration in microseconds (not 8/15): rounded down, every frame is inside.
    seconds = ffmpeg_number(Fraction(frames * 1_000_000 // target.fps, 1_000_000))
    video = ff.filter([picture(a), picture(b)], "xfade", transition=XFADE[transition.type],
                      duration=seconds, offset=0)
    audio = None
    if sound:
        audio = ff.filter([heard(a, "out"), heard(b, "in")], "amix", inputs=2, duration="longest",
                          dropout_transition=0, normalize=0)
    shape = (target.width, target.height, target.sar)
    return conform(ff, video, audio, shape, frames, profile, output, ffmpeg, False, label,
                   (before, after), samples=samples, scaled=True)


def kept_edges(found: list[Kept], head: int, tail: int) -> list[Kept]:
    """The windows of a clip of kept parts (its chunks, ``plan.pauses.chunks``, or its whole
    ``Kept``) with its first ``head`` and last ``tail`` frames windows of their own, as
    ``edge_windows`` cuts a clip's frames. A part split there runs on without a fade, as a
    chunk boundary splits one; a cut between two parts keeps its fades."""
    found = list(found)
    if head:
        found[:1] = [piece for piece in _split_kept(found[0], head) if piece is not None]
    if tail:
        last = found[-1]
        if (head and len(found) == 1) or last.frames < tail:
            raise ValueError("the transitions into and out of a segment overlap")
        found[-1:] = [piece for piece in _split_kept(last, last.frames - tail) if piece is not None]
    return found


def _split_kept(kept: Kept, at: int) -> tuple[Kept | None, Kept | None]:
    """``kept`` cut after its first ``at`` frames (None: an empty side)."""
    if at <= 0:
        return None, kept
    if at >= kept.frames:
        return kept, None
    parts = kept.parts
    done = 0
    for n, p in enumerate(parts):
        if done + p.frames <= at:
            done += p.frames
            continue
        before, after = list(parts[:n]), list(parts[n + 1:])
        if done == at:  # between two parts: their cut, if any, stays faded on both sides
            cut = p.first != parts[n - 1].end or p.rate != parts[n - 1].rate
            before[-1] = replace(before[-1], cut_out=before[-1].cut_out or cut)
            after.insert(0, replace(p, cut_in=p.cut_in or cut))
        else:
            # Inside a part: the second piece starts on the frame the whole part shows there
            # (``paused_job`` shows frame round(first / rate) + j of the part's timeline).
            j = at - done
            split = round((round(Fraction(p.first) / p.rate) + j) * p.rate)
            before.append(replace(p, end=split, frames=j, cut_out=False))
            after.insert(0, replace(p, first=split, frames=p.frames - j, cut_in=False))
        return (Kept(tuple(before), sum(q.end - q.first for q in before), kept.threshold),
                Kept(tuple(after), sum(q.end - q.first for q in after), kept.threshold))
    return kept, None
