"""``castkit build``: recipe -> checked sources -> plan (per output profile) -> run.

Each segment is encoded once per output profile into the segment cache (``cache``), named by
a key derived from everything that determines its bytes; each cast is its profile's join of
those files (by bytes for .dv, a concat stream copy for .avi, the video copied and the sound
encoded once for .mp4/.webm). A rebuild encodes only the segments whose key changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any, Callable

from castkit.base.jobs import Job, Plan
from castkit.base.progress import counted, say
from castkit.base.timecode import format_time
from castkit.cache.records import manifest_path
from castkit.cache.keys import card_key, file_identity, key
from castkit.media.dv import dv_samples
from castkit.plan.music import MUSIC_VERSION
from castkit.cache.seals import discard, intact
from castkit.media.ffmpeg import Ffmpeg
from castkit.media.gifsicle import find_gifsicle, INSTALL_HINT as GIFSICLE_HINT
from castkit.media.probe import MediaInfo
from castkit.media.raster import (
    ANIMATED_DEFAULT_FPS, IMAGE_DEFAULT_MAX_WIDTH, image_raster, SPRITE_WIDTH, WebRaster,
)
from castkit.outputs.profiles import image_profile, make_profile
from castkit.outputs.stills import index_path, part_holding
from castkit.outputs.web import WebProfile
from castkit.media.seek import FrameIndex, read_index
from castkit.plan.check import Checked, cut_in_windows, frame_index, output_rasters
from castkit.plan.activity import activity_of, plan_follow
from castkit.plan.chunks import chunk_frames, chunk_seconds, chunk_windows
from castkit.plan.encode import camera_path, clip_first_frame, clip_frames, clip_job, Effects, still_job, Trim
from castkit.plan.pauses import analysis_of, chunks, edges_at_least, Kept, kept_of, paused_job
from castkit.plan.music import music_gain_job, MusicStep
from castkit.plan.denoise import noise_of
from castkit.plan.transitions import (
    EDGE_GRAIN_SECONDS, edge_windows, kept_edges, overlap_job, web_overlap_job,
)
from castkit.plan.profile import Profile
from castkit.plan.slices import sample_group, SLICE_SECONDS
from castkit.plan.speech import source_cues, speech_listing
from castkit.publish.captions import as_srt, as_vtt, caption_paths, load as load_captions, retime
from castkit.publish.chapters import (
    chapters_of, chapters_path, ffmetadata, SidecarJob, youtube_list, youtube_problems,
)
from castkit.publish.loudness import gain_job, LoudnessStep
from castkit.recipe.model import ANIMATED_KINDS, AT_TITLE, ClipSegment, OutputSpec, TitleSegment
from castkit.run.runner import available_cores
from castkit.titles.job import CardJob
from castkit.cache.keys import cache_dir  # overlays (issue 30)
from castkit.plan.overlays import (
    OUTPUT_BORDER, output_scales, Scaled,
    Drawn, ease_canvas, ease_frames, FramePlan, WEBCAM_RADIUS, WebcamLook, WebcamMove, WebcamPlan,
)
from castkit.recipe.model import FrameStyle, Overlay, overlay_files, Webcam, WEBCAM_FULL
from castkit.titles.overlays import (
    EASE_MASK_SCALE, EaseMaskJob, frame_box, FrameJob, layout as layout_overlay, MaskJob, OverlayJob, scaled_size,
    webcam_box,
)
from castkit.cache.names import card_name, loudness_name, music_name, record_name, segment_name
from castkit.errors import RecipeError


@dataclass(frozen=True)
class CastPlan:
    """One output of a build: its profile, its length, and the cache files it is made of."""

    output: Path
    profile: Profile
    frames: int
    segments: tuple[tuple[str, int, Path, bool], ...]  # (label, frames, file, cached)
    uses: frozenset[Path]


@dataclass(frozen=True)
class BuildPlan:
    plan: Plan
    casts: tuple[CastPlan, ...]
    cache: Path  # the cache folder the casts are made from

    @property
    def uses(self) -> frozenset[Path]:
        return frozenset().union(*(cast.uses for cast in self.casts))

    # The first cast, for callers that build one.
    @property
    def output(self) -> Path:
        return self.casts[0].output

    @property
    def frames(self) -> int:
        return self.casts[0].frames

    @property
    def segments(self) -> tuple[tuple[str, int, Path, bool], ...]:
        return self.casts[0].segments


def profiles_for(checked: Checked) -> list[tuple[OutputSpec, Profile]]:
    """Each output of the recipe with the profile that makes it: DV as the recipe's target
    says, web masters at the captures' own size, images as the web master frames the cast
    (RecipeError for an image faster than the cast)."""
    recipe = checked.recipe
    found, problems = [], []
    for spec, raster in output_rasters(recipe, checked.probes):
        if spec.is_image:
            web = raster  # the web frame the image is made from (output_rasters)
            if spec.fps is not None and spec.fps > web.fps:
                problems.append(spec.where_of("fps").problem(
                    f"{spec.path.name}: fps {spec.fps} is faster than the cast's "
                    f"{float(web.fps):g} (its web master's rate)"))
                continue
            found.append((spec, image_profile(spec, image_raster(web, *_image_frame(spec, web)))))
        else:
            found.append((spec, make_profile(spec.path, recipe.target, raster if spec.is_web else None)))
    if problems:
        raise RecipeError(problems)
    return found


def _image_frame(spec: OutputSpec, web: WebRaster) -> tuple[int, int | None]:
    """An image's width and rate: an animation's at most IMAGE_DEFAULT_MAX_WIDTH wide and
    ANIMATED_DEFAULT_FPS unless given; a poster the web frame (its frames are the web
    master's); a sprite sheet's tiles SPRITE_WIDTH wide."""
    if spec.kind == "poster":
        return spec.width or web.width, None
    if spec.kind == "sprites":
        return spec.width or SPRITE_WIDTH, None
    return spec.width or min(web.width, IMAGE_DEFAULT_MAX_WIDTH), spec.fps or ANIMATED_DEFAULT_FPS


def _segment_maker(seg, label: str, checked: Checked, profile: Profile, ffmpeg: Ffmpeg,
                   work: Path, lead: int = 0, index: int = 0,
                   frame: FrameStyle | None = None) -> tuple[int, Callable[..., Job], list]:
    """A segment's frames, a function from output path to its job, and what identifies the
    segment's inputs for the cache. ``make(out, stand_ins=True)`` names every file the job
    reads by a fixed stand-in: the job as the cache key sees it, the same however the recipe's
    folder is spelled (``sub/../``, a symlink); the files' identities are in the key apart.
    ``lead``: frames its encode writes first, for the join to skip (NTSC DV, ``DvProfile.lead``)."""
    raster = profile.raster
    if isinstance(seg, TitleSegment):
        frames = raster.frames(seg.duration)
        card = _card_path(seg, profile, work)
        fx = Effects(fade_in=seg.fades.fade_in, fade_out=seg.fades.fade_out)

        def still(out: Path, stand_ins: bool = False, window: tuple[int, int] | None = None,
                  chunk: bool = False) -> Job:  # noqa: ARG001 - a still's windows are all alike
            return still_job(Path("card.png") if stand_ins else card, raster.display_size, frames,
                             profile, out, ffmpeg, label=label, effects=fx, lead=lead, window=window)

        return frames, still, [card_key(seg, raster.display_size)]
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    fx = effects_of(seg, checked, work)
    if seg.follow is not None:
        fx = replace(fx, zoom=followed(seg, index, checked, ffmpeg, work))
    if seg.pauses is None and seg.transcript is None and not seg.fillers:
        fx = replace(fx, overlays=for_output(seg, fx, profile, checked, work))
    steps = overlay_steps(seg, fx, checked)
    if frame is not None:
        fx, step = framed_effects(fx, frame, profile, checked, work)
        steps += (step,)
    webcam = checked.recipe.webcam_of(seg)
    if webcam is not None:
        fx, mask_steps = webcam_effects(fx, webcam, profile, checked, work, camera_index(checked, seg, webcam, ffmpeg))
        steps += mask_steps
    kept = kept_of(seg, index, checked, raster, ffmpeg, work)
    strength = checked.recipe.denoise_of(seg)
    if strength and not seg.mute and (fx.voice is not None or info.audio is not None):
        fx = replace(fx, denoise=noise_of(seg, strength, index, checked, ffmpeg, work))
    cut_words = speech_listing(seg, index, checked, ffmpeg, work)  # for --dry-run
    if seg not in checked.speech.cues:  # captions of spoken words (plan.speech), once a build
        checked.speech.cues[seg] = source_cues(seg, index, checked, ffmpeg, work)

    def clip(out: Path, stand_ins: bool = False, window: tuple[int, int] | Kept | None = None,
             chunk: bool = False, piece_lead: int | None = None) -> Job:
        source, effects = info, fx
        if stand_ins:
            source = replace(info, path=Path("source"))
            if fx.voice is not None:
                effects = replace(fx, voice=replace(fx.voice, path=Path("voice")))
            effects = stand_in_overlays(effects)
            if effects.frame is not None:
                effects = replace(effects, frame=replace(effects.frame, picture=Path(effects.frame.picture.name)))
            if effects.webcam is not None:
                effects = replace(effects, webcam=stand_in_webcam(effects.webcam))
        if isinstance(window, Kept):  # one chunk of a transcript-cut clip (speech_chunks)
            if seg.clip not in checked.indexes:  # a chunk deep in the take seeks to it
                checked.indexes[seg.clip] = read_index(seg.clip, ffmpeg)
            job = paused_job(source, window, profile, out, ffmpeg, trim, effects, label=label,
                             lead=piece_lead or 0, index=checked.indexes[seg.clip])
            if cut_words and kept is not None and window.parts[0].first == kept.parts[0].first:
                job = replace(job, note=f"{cut_words}\n{job.note}")
        elif kept is not None:  # pauses cut or sped up: the kept parts, never sliced (slices())
            job = paused_job(source, kept, profile, out, ffmpeg, trim, effects, label=label, lead=lead)
            if cut_words:
                job = replace(job, note=f"{cut_words}\n{job.note}")
        else:
            job = clip_job(source, profile, out, ffmpeg, trim=trim, effects=effects, label=label,
                           index=frame_index(checked, seg, ffmpeg), window=window, lead=lead, chunk=chunk)
        return job.after(*steps) if steps and not stand_ins else job

    identity = [file_identity(seg.clip)]
    if fx.voice is not None:
        identity.append(file_identity(fx.voice.path))
    if fx.webcam is not None:
        identity.append(file_identity(fx.webcam.source.path))
    frames = kept.frames if kept is not None else clip_frames(info, trim, raster, fx.speed)
    return frames, clip, identity


# A clip cut by its transcript is encoded in chunks of this many seconds of the capture, each
# cached on its own: deleting a line encodes again only the chunk it was in (benchmarks/
# bench_speech.py). Long enough that a chunk's encode start-up is small against its frames.
SPEECH_CHUNK_SECONDS = 10


def speech_chunks(seg, checked: Checked, profile: Profile, head: int = 0, tail: int = 0) -> list[Kept] | None:
    """The chunks a clip cut by its transcript (or fillers) is encoded in; None for any other
    clip, for one with fades (a fade must lie inside one encode) or for a single chunk. The
    first is at least ``head`` frames and the last ``tail`` (the transitions into and out of
    the clip take their overlaps from them)."""
    if not isinstance(seg, ClipSegment) or (seg.transcript is None and not seg.fillers):
        return None
    kept = checked.pauses.kept.get((seg, profile.raster.fps))
    if kept is None or seg.fades.fade_in or seg.fades.fade_out:
        return None
    found = edges_at_least(chunks(kept, profile.raster.frames(Fraction(SPEECH_CHUNK_SECONDS))), head, tail)
    return found if len(found) > 1 else None


def slices(seg, frames: int, profile: Profile, cores: int | None = None) -> list[tuple[int, int] | None]:
    """The frame windows a segment is encoded in: ``[None]`` (whole) unless it is a long
    capture in a DV profile; then ``cores`` slices of about equal length, each starting on a
    whole number of audio samples (multiples of 5 frames in NTSC)."""
    cores = cores or available_cores()
    raster = profile.raster
    if (not isinstance(seg, ClipSegment) or profile.segment_suffix != ".dv" or cores < 2
            or seg.pauses is not None  # kept parts are one graph (plan.pauses.paused_job)
            or seg.transcript is not None or seg.fillers  # so are a transcript's (plan.speech)
            or frames < raster.frames(Fraction(SLICE_SECONDS))):
        return [None]
    group = sample_group(raster)
    cuts = [0] + [round(frames * i / cores / group) * group for i in range(1, cores)] + [frames]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _chunked(seg, spec: OutputSpec, profile: Profile, use_cache: bool = True) -> bool:
    """Whether a segment is encoded in chunks of the capture's timeline (``plan.chunks``): a
    clip whose frames are the capture's in order (not the kept parts of a clip cut by its pauses,
    its transcript or its fillers: those are chunked by ``speech_chunks``), while chunks
    are on (CASTKIT_CHUNK_SECONDS is not 0), for a web master or a PAL DV cast. Not NTSC DV: the
    dv muxer lays its 5-frame sound pattern from each file's first frame, so a chunk's bytes
    would depend on where the cast puts it (those segments are sliced, ``slices``); not the
    images, which read their segments their own way. Not a DV cast built without the cache
    (``use_cache`` false): nothing is kept for a later edit, so chunks would only add processes
    (a deep trim of 30 s was three jobs of two ffmpegs each: 1.4x the CPU of one job,
    benchmarks/bench_edits.py). DV is intra-coded and its sound counted from the capture's
    start, so the bytes are a chunked build's (tests/e2e/test_chunks.py) wherever a seeked
    sound is a full decode's (``media.seek``). A capture whose sound timestamps jump (takes
    joined by stream copy, as bench_edits' take) is not: the resampler's drift compensation
    starts afresh at each seek, so there a seeked sound, in chunks or whole, differs from a
    full decode and the two builds differ in those samples (docs/performance.md)."""
    if (not isinstance(seg, ClipSegment) or seg.pauses is not None or seg.transcript is not None
            or seg.fillers or chunk_seconds() <= 0):
        return False
    if spec.is_web:
        return True
    return (use_cache and profile.segment_suffix == ".dv"
            and not profile.lays_ntsc_sound(final=False))


def _sound_of(seg, part: Path, frames: int, profile: Profile) -> object:
    """What a part's sound is made from, for the key of the cast's measured loudness: a title's
    is silence as long as its frames (its text, colours and card change none of it, so editing
    one re-measures nothing and the other segments keep their gain), a clip's its segment."""
    if isinstance(seg, TitleSegment):
        return ["silence", profile.name, frames]
    return part.name


def _card_path(seg: TitleSegment, profile: Profile, work: Path) -> Path:
    return work / card_name(card_key(seg, profile.raster.display_size))


def plan_build(checked: Checked, ffmpeg: Ffmpeg, work: Path, use_cache: bool = True) -> BuildPlan:
    """The jobs that build every output of ``checked``, skipping segments already in ``work``
    (with ``use_cache``). A segment that two outputs share (the same profile) is encoded once."""
    recipe = checked.recipe
    encodes: list[tuple[float, Job]] = []
    planned: set[Path] = set()
    checked_entries: dict[Path, bool] = {}  # cached segment -> its bytes match its seal
    casts, joins = [], []
    sidecars: list = []  # small files written beside the outputs, with the joins
    youtube_said = False  # the warning on YouTube's rules for chapters, once per cast
    sound_key = None  # the measured loudness of the cast's sound, in the cache
    gains: list[Job] = []  # DV segments given the cast's gain
    overlap_jobs: list[Job] = []  # transitions' overlaps, made from the encoded segments
    refused: list = []  # problems of an output that only its plan finds (a poster past the end), told together

    def encode(part: Path, make, seg, index: int, frames: int, profile: Profile, label: str) -> None:
        if part in planned:  # the same segment twice: encoded once
            return
        planned.add(part)
        job = replace(make(part), label=label)
        card = _card_path(seg, profile, work) if isinstance(seg, TitleSegment) else None
        if card is not None:
            job = job.after(CardJob(f"card for segment {index}", seg, profile.raster.display_size,
                                    recipe.folder, card))
        encodes.append((_cost(seg, frames, checked.probes, profile), job))

    for spec, profile in profiles_for(checked):
        listing, makers = [], []
        sounds: list = []  # what each part's sound is made from (the loudness key)
        gain_reads: set[Path] = set()  # raw DV segments that a gain job reads
        uses = {manifest_path(work, spec.path), manifest_path(work, spec.path, "uses")}
        at = 0  # the segment's first frame in the cast
        segment_frames: list[int] = []  # each segment's, whatever its parts
        pending: list = []  # segments to encode, once it is known which the output reads
        # Transitions: segment i's first frames overlap the frames before it (plan.transitions).
        overlaps = [profile.raster.frames(t.duration) if t else 0 for t in recipe.transitions()]
        firsts: list[int] = []  # each segment's first item of the listing
        starts: list[int] = []  # each item's first own frame in the cast
        leads: list[int] = []  # each item's lead frames (NTSC DV)
        for index, seg in enumerate(recipe.segments, 1):
            at -= overlaps[index - 1]
            firsts.append(len(listing))
            lead = profile.lead(at)
            label = f"segment {index}: {seg.label}"
            if len(recipe.outputs) > 1:
                label += f" ({spec.path.suffix.lstrip('.').upper()})"
            whole, make_whole, identity = _segment_maker(seg, label, checked, profile, ffmpeg, work, lead, index,
                                                         recipe.frame_of(spec))
            segment_at = at
            piece_at = at  # where each chunk of a transcript-cut clip starts (its own lead frames)
            at += whole
            segment_frames.append(whole)
            # A segment with lead frames (NTSC DV off the 5-frame phase) is not sliced.
            # The edge chunks at least as long as the transitions into and out of the clip,
            # whose overlaps are cut from them.
            into, out = overlaps[index - 1], overlaps[index] if index < len(overlaps) else 0
            windows = speech_chunks(seg, checked, profile, into, out) or (
                slices(seg, whole, profile) if not lead else [None])
            chunked = False
            edges: set[int] = set()  # the windows a transition's overlap reads (their places)
            make_edge = None  # and their maker
            if _chunked(seg, spec, profile, use_cache):
                start = clip_first_frame(Trim(seg.start), profile.raster, seg.speed)
                found = chunk_windows(start, whole, chunk_frames(profile.raster, web=spec.is_web), into, out)
                # A clip inside one chunk is encoded whole, as it would be without chunks.
                if len(found) > 1:
                    windows, chunked = list(found), True
            if profile.segment_suffix != ".dv" and (into or out):
                # An inter-coded segment is not cut at the join: the frames a transition
                # overlaps are windows of their own, for the overlap alone (edge_windows).
                if not cut_in_windows(seg):  # plan.check refuses these
                    raise ValueError(f"segment {index}: a faded clip of kept parts is not cut in windows")
                kept = checked.pauses.kept.get((seg, profile.raster.fps)) if isinstance(seg, ClipSegment) else None
                if kept is not None or isinstance(windows[0], Kept):  # a clip of kept parts
                    windows = kept_edges(windows if isinstance(windows[0], Kept) else [kept], into, out)
                else:
                    windows = edge_windows(windows, whole, into, out,
                                           profile.raster.frames(Fraction(EDGE_GRAIN_SECONDS)))
                    chunked = chunked or isinstance(seg, ClipSegment)  # sound counted from the capture's start
                edges = {n for n, on in ((1, into), (len(windows), out)) if on}
                if isinstance(profile, WebProfile):  # its edge windows lossless (WebProfile.lossless)
                    make_edge = _segment_maker(seg, label, checked, replace(profile, lossless=True), ffmpeg,
                                               work, lead, index, recipe.frame_of(spec))[1]
            piece = "chunk" if chunked else "slice"
            for n, window in enumerate(windows, 1):
                make_piece = make_edge if n in edges and make_edge is not None else make_whole
                if isinstance(window, Kept):  # a chunk of a transcript-cut clip
                    piece_lead = profile.lead(piece_at)
                    make = partial(make_piece, window=window, piece_lead=piece_lead)
                    frames = window.frames
                    written = frames + piece_lead
                    item_at = piece_at
                    piece_at += frames
                    part_label = f"{label} part {n}/{len(windows)}"
                else:
                    make = make_piece if window is None else partial(make_piece, window=window, chunk=chunked)
                    frames = whole if window is None else window[1] - window[0]
                    written = frames + (lead if window is None else 0)
                    item_at = segment_at + (window[0] if window is not None else 0)
                    part_label = label if window is None else f"{label} {piece} {n}/{len(windows)}"
                # The key holds what ffmpeg makes, not where it reads or writes.
                reference = make(Path("segment" + profile.segment_suffix), stand_ins=True)
                commands = [reference.argv[1:]]
                if reference.pictures is not None:  # the picture graph is in the first ffmpeg
                    commands.append(reference.pictures.head[1:])
                part = work / segment_name(key('segment', *commands, identity, ffmpeg.version),
                                           profile.segment_suffix)
                # Cheap here (size and seal); the bytes are checked below, for what a join reads.
                cached = use_cache and part not in planned and profile.segment_complete(part, written)
                card = _card_path(seg, profile, work) if isinstance(seg, TitleSegment) else None
                uses.update(p for p in (part, card) if p is not None)
                if not cached:
                    pending.append((part, make, seg, index, frames, profile, part_label))
                listing.append((part_label, frames, part, cached))
                makers.append((make, seg, index))
                sounds.append(_sound_of(seg, part, written, profile))
                starts.append(item_at)
                leads.append(written - frames)
        # Each segment as long as it shows before the next begins (less the transition out of it):
        # their running total is where each begins, as chapters and captions count.
        segment_frames = [frames - out for frames, out in zip(segment_frames, overlaps[1:] + [0])]
        trims = [(0, 0)] * len(listing)  # frames each item gives up to overlaps (head, tail)
        overlaps_before = len(overlap_jobs)
        if any(overlaps):
            try:
                listing, makers, sounds, starts, leads, trims = _with_overlaps(
                    checked, profile, ffmpeg, work, use_cache, planned, overlaps, firsts,
                    listing, makers, sounds, starts, leads, overlap_jobs, uses, sound=not spec.is_image,
                    named=f" ({spec.path.suffix.lstrip('.').upper()})" if len(recipe.outputs) > 1 else "")
            except RecipeError as found:
                refused.extend(p for p in found.problems if p not in refused)  # each output says it
                continue
        hidden: dict[Path, tuple] = {}  # MP4 segments' edge windows: read by overlaps, not joined
        if any(overlaps) and profile.segment_suffix != ".dv":
            listing, makers, sounds, starts, leads, trims, hidden = _without_edge_windows(
                listing, makers, sounds, starts, leads, trims)
        poster = None
        if spec.kind == "poster":  # one frame: only the segment that holds it is made
            try:
                poster = poster_frame(spec, recipe, segment_frames, profile.raster.fps)
            except RecipeError as found:
                refused.extend(found.problems)
                continue
        needed = {part_holding([(p, f) for _, f, p, _ in listing], poster)[0]} if poster is not None else None
        if needed is not None and hidden:  # a poster: only the overlap that holds it is made
            for job in overlap_jobs[overlaps_before:]:
                if job.output not in needed:
                    planned.discard(job.output)  # another poster may hold a frame of it
            overlap_jobs[overlaps_before:] = [job for job in overlap_jobs[overlaps_before:]
                                              if job.output in needed]
        # An edge window is made only for an overlap that is made.
        read_by_overlaps = {path for job in overlap_jobs[overlaps_before:] for path in job.inputs}
        for args in pending:
            if args[0] in hidden:
                if args[0] in read_by_overlaps:
                    encode(*args)
            elif needed is None or args[0] in needed:
                encode(*args)
        for part, (label, frames, cached, (make, seg, index)) in hidden.items():
            # A cached window that an overlap reads: its bytes checked against its seal first.
            if cached and part in read_by_overlaps and part not in planned \
                    and _discarded_if_damaged(part, f"{label} is encoded again"):
                encode(part, make, seg, index, frames, profile, label)
        pending.clear()
        uses.update(checked.pauses.files)  # the pause analyses (for prune)
        uses.update(checked.activity.files)  # and the activity's
        uses.update(checked.speech.files)  # recognised words and voice spans
        total = sum(item[1] for item in listing) - sum(head + tail for head, tail in trims)
        join_label = f"join {counted(len(recipe.segments), 'segment')}"
        if len(recipe.outputs) > 1:
            join_label += f" into {spec.path.name}"
        parts = [(part, frames) for _, frames, part, _ in listing]
        # An animation has its captions burned in; a still shows the picture alone.
        animated = spec.kind in ANIMATED_KINDS
        cues = (cast_cues(checked, segment_frames, profile.raster.fps)
                if animated or not spec.is_image else None)
        srt = vtt = None
        if cues is not None and not spec.is_image:
            srt, vtt = as_srt(cues), as_vtt(cues)
            for path, text in zip(caption_paths(spec.path), (srt, vtt)):
                # Its cast and the cast's segments as inputs: a batch that keeps going past a
                # failed segment or join writes no captions for a cast it could not make (the
                # runner writes them after the cast).
                job = SidecarJob(f"captions {path.name}", path, text,
                                 inputs=(*(part for part, _ in parts), spec.path))
                earlier = next((i for i, other in enumerate(sidecars) if other.output == path), None)
                if earlier is None:
                    sidecars.append(job)
                elif sidecars[earlier].inputs[-1].suffix.lower() == ".dv" and spec.path.suffix.lower() != ".dv":
                    # Casts of one name share NAME.srt: a player loads it beside the web master,
                    # whose times differ from the DV's where cuts round to each one's frames.
                    sidecars[earlier] = job
        if spec.is_image:
            if poster is not None:
                join = profile.join(parts, spec.path, work, ffmpeg, join_label, frame=poster)
            elif animated:
                join = profile.join(parts, spec.path, work, ffmpeg, join_label,
                                    captions=as_srt(cues) if cues else None)
            else:
                join = profile.join(parts, spec.path, work, ffmpeg, join_label)
            if spec.kind == "sprites":
                sidecars.append(SidecarJob(f"sprite index {index_path(spec.path).name}",
                                           index_path(spec.path), profile.index(total, spec.path),
                                           inputs=(*(part for part, _ in parts), spec.path)))
            if animated and any(_has_sound(seg, checked) for seg in recipe.segments):
                say("note", f"{spec.path.name}: an image has no sound; the cast's sound is left out")
            if spec.kind == "gif" and find_gifsicle() is None:
                say("note", f"{spec.path.name}: no gifsicle, so the GIF is ffmpeg's own: larger"
                            f"{', and lossy: is not applied' if spec.lossy else ''} "
                            f"({GIFSICLE_HINT})")
        elif spec.is_web:
            chapters = chapters_of([seg.chapter for seg in recipe.segments],
                                   segment_frames, profile.raster.fps) if recipe.chapters else []
            loudness = music = None
            if recipe.loudness is not None or recipe.music is not None:
                if sound_key is None:  # every web output has the same sound: measured once
                    sound_key = _sound_key(checked, sounds)
                script = work / loudness_name(sound_key)
                uses.add(script)
                if recipe.music is not None:
                    music = _music_step(checked, parts, makers, starts, trims, profile, script, ffmpeg,
                                        sound_key)
                    uses.update(_music_files(music))
                else:
                    loudness = (recipe.loudness, script)
            join = profile.join(parts, spec.path, work, ffmpeg, join_label,
                                chapters=ffmetadata(chapters) if chapters else None,
                                loudness=loudness, music=music,
                                # no track for no cue: ffmpeg refuses an empty SRT input
                                captions=(srt, vtt) if cues else None,
                                burn=spec.burn if spec.burn is not None else recipe.burn)
            uses.update(step.consumer_script for step in join.prepare if isinstance(step, MusicStep))
            if chapters and all(job.output != chapters_path(spec.path) for job in sidecars):
                # cast.mp4 and cast.webm share one list (the first web output's times); what
                # YouTube would make of the chapters is said once per cast, not once per list.
                problems = [] if youtube_said else youtube_problems(chapters)
                youtube_said = youtube_said or bool(problems)
                sidecars.append(SidecarJob(
                    f"chapters of {spec.path.name}", chapters_path(spec.path),
                    youtube_list(chapters),
                    f"{chapters_path(spec.path).name}: YouTube will not show these chapters: "
                    + "; ".join(problems) if problems else None,
                    inputs=(*(part for part, _ in parts), spec.path)))
        else:
            if recipe.burn and cues:  # DV joins by bytes: its picture is never encoded again
                say("note", f"{spec.path.name}: captions are not burned into DV; they are in "
                            f"{caption_paths(spec.path)[0].name} beside it")
            join_parts = parts
            if recipe.loudness is not None or recipe.music is not None:
                # DV carries its sound in every frame: each segment gets the cast's gain in a
                # copy of it (video copied), named by the raw segment and the measured sound.
                if sound_key is None:
                    sound_key = _sound_key(checked, sounds)
                script = work / loudness_name(sound_key)
                uses.add(script)
                spans = _spans(profile, parts, leads, trims)
                step = LoudnessStep(tuple(part for part, _ in parts), script, recipe.loudness, ffmpeg, spans)
                if recipe.music is not None:
                    step = replace(_music_step(checked, parts, makers, starts, trims, profile, script,
                                               ffmpeg, sound_key), spans=spans)
                offsets: dict[Path, int] = {}  # a gained copy -> the bed's sample it starts at

                def gain(label: str, part: Path, gained: Path, written: int) -> None:
                    gain_reads.add(part)
                    if gained not in planned:
                        planned.add(gained)
                        if isinstance(step, MusicStep):
                            job = music_gain_job(f"music and loudness for {label}", part, gained,
                                                 written, step, offsets[gained], profile)
                            uses.add(job.prepare[0].consumer_script)
                        else:
                            job = gain_job(f"loudness gain for {label}", part, gained, written, step, profile)
                        gains.append(job)

                join_parts, cached_gains = [], []
                for (label, frames, part, _), start, lead in zip(listing, starts, leads):
                    # The copy keeps the raw segment's lead frames (NTSC DV): the dv muxer lays
                    # the sound out from the file's first frame, so each frame keeps its samples.
                    written = frames + lead
                    # Under music, each copy has the bed from where its first frame is in the cast.
                    offset = _first_sample(profile, start - lead) if recipe.music is not None else None
                    gained = work / segment_name(key('gain', part.name, sound_key, *(
                        [offset] if offset is not None else [])), profile.segment_suffix)
                    if offset is not None:
                        offsets[gained] = offset
                        uses.update(_music_files(step))
                        uses.add(step.at(1, offset).consumer_script)
                    uses.add(gained)
                    if use_cache and gained not in planned and profile.segment_complete(gained, written):
                        cached_gains.append((label, part, gained, written))
                    else:
                        gain(label, part, gained, written)
                    join_parts.append((gained, frames))
            join = (profile.join(join_parts, spec.path, work, ffmpeg, join_label, trims=trims)
                    if any(overlaps) else profile.join(join_parts, spec.path, work, ffmpeg, join_label))
            if recipe.loudness is not None or recipe.music is not None:
                # A cached gained copy the join reads is hashed against its seal first, as the
                # raw segments are below (none for a cast that is up to date).
                gained_reads = set(join.reads())
                for label, part, gained, written in cached_gains:
                    if gained in gained_reads and _discarded_if_damaged(gained, "it is made again"):
                        gain(label, part, gained, written)
        # A damaged entry never goes into a cast: every cached segment the join will read (all
        # of them, but for a raw DV cast patched only the changed ones, and none for one up to
        # date) is hashed against its seal first; a damaged one is encoded again.
        reads = set(join.reads())
        reads |= gain_reads
        for i, (label, frames, part, cached) in enumerate(listing):
            if not cached or part not in reads or makers[i] is None:  # an overlap is checked when planned
                continue
            if part not in checked_entries:
                checked_entries[part] = not _discarded_if_damaged(part, f"{label} is encoded again")
            if not checked_entries[part]:
                make, seg, index = makers[i]
                encode(part, make, seg, index, frames, profile, label)
                listing[i] = (label, frames, part, False)
        joins.append(join)
        # Each part as long as it is in the cast (a transition's neighbours less their overlaps).
        kept = tuple((label, frames - head - tail, part, cached)
                     for (label, frames, part, cached), (head, tail) in zip(listing, trims))
        casts.append(CastPlan(spec.path, profile, total, kept, frozenset(uses)))
    if refused:
        raise RecipeError(refused)
    # Longest first: with N workers the build ends soonest when big jobs do not start last.
    encodes.sort(key=lambda item: -item[0])
    stages = tuple(stage for stage in (tuple(job for _, job in encodes), tuple(overlap_jobs),
                                       tuple(gains), (*joins, *sidecars))
                   if stage)
    return BuildPlan(Plan(stages, seal=use_cache), tuple(casts), work)


# Encoding a web frame costs several times a DV frame of the same size (motion search).
_WEB_WEIGHT = 4


def _cost(seg, frames: int, probes: dict[Path, MediaInfo], profile: Profile) -> float:
    """A rough relative cost of encoding a segment: every frame is encoded (a web frame costs
    more per pixel); a capture's frames are also decoded and scaled, in proportion to its size."""
    dv = 720 * 576
    raster = profile.raster
    weight = 1 if profile.segment_suffix == ".dv" else _WEB_WEIGHT * raster.width * raster.height / dv
    if isinstance(seg, TitleSegment):
        return float(frames * weight)
    video = probes[seg.clip].video
    pixels = video.width * video.height if video else 0
    return frames * (weight + pixels / dv)


def followed(seg: ClipSegment, index: int, checked: Checked, ffmpeg: Ffmpeg, folder: Path | None,
             quiet: bool = False, pauses: bool = True) -> tuple:
    """The moves ``zoom: follow`` plans for a clip, from its activity measured once per build
    (with its pauses where it has ``pauses:`` and they are wanted: not by an export, which
    keeps the clip whole) and kept in the cache ``folder``."""
    assert seg.follow is not None
    memo = checked.activity
    if seg not in memo.moves:  # once per build, whatever the outputs and the storyboard
        if pauses and seg.pauses is not None:  # the pauses' run measures the activity too, if needed
            analysis_of(seg, index, checked, ffmpeg, folder, quiet)
        activity = activity_of(seg, index, checked, ffmpeg, folder, quiet)
        memo.moves[seg] = plan_follow(activity, seg.follow, seg.crop)
    return memo.moves[seg]


def _discarded_if_damaged(part: Path, then: str) -> bool:
    """Whether a cached segment's bytes differ from its record (its seal): if so it is
    discarded, with a warning that says what happens ``then``; a damaged entry is never used."""
    if intact(part):
        return False
    say("warning", f"{part}: this cached segment is damaged (its bytes differ from its record); {then}")
    discard(part)
    return True


# Transitions (issue 25): the overlaps, segments of their own between their neighbours.

def _with_overlaps(checked: Checked, profile: Profile, ffmpeg: Ffmpeg, work: Path, use_cache: bool,
                   planned: set[Path], overlaps: list[int], firsts: list[int], listing: list,
                   makers: list, sounds: list, starts: list[int], leads: list[int],
                   overlap_jobs: list[Job], uses: set[Path], sound: bool = True, named: str = "") -> tuple:
    """The listing with each transition's overlap inserted between its neighbours (their last
    and first items), and what each item gives up to the overlaps (frames at its head and
    tail): the neighbours are the segments encoded as ever, the overlap is made from their files
    (for MP4 segments, the neighbours' edge windows, given up whole; ``sound``: they have sound;
    ``named``: the output's kind, in the labels, where the recipe has several)."""
    recipe = checked.recipe
    transitions = recipe.transitions()
    trims = [[0, 0] for _ in listing]
    inserted: dict[int, tuple] = {}  # listing index of the item before -> the overlap's item
    for i, n in enumerate(overlaps):
        if not n:
            continue
        before, after = firsts[i] - 1, firsts[i]
        transition = transitions[i]
        for item in (before, after):
            if listing[item][1] - trims[item][0] - trims[item][1] < n:
                where = transition.where or recipe.segments[i].where
                raise RecipeError([where.problem(
                    f"segment {i + 1}: the transition ({format_time(transition.duration)}) is longer "
                    f"than what is left of {listing[item][0].split(': ', 1)[-1]} "
                    f"({format_time(profile.raster.seconds(listing[item][1] - sum(trims[item])))})")])
        trims[before][1] += n
        trims[after][0] += n
        a_part, a_frames, b_part = listing[before][2], listing[before][1], listing[after][2]
        at = starts[after]
        lead = profile.lead(at)
        label = f"segment {i + 1}: {transition.type} from segment {i}{named}"

        def make(out: Path, stand_ins: bool = False, a_part=a_part, b_part=b_part, first=leads[before] + a_frames - n,
                 after_first=leads[after], n=n, transition=transition, label=label, lead=lead) -> Job:
            if profile.segment_suffix != ".dv":  # two windows of exactly the overlap's frames
                return web_overlap_job(Path("before.mp4") if stand_ins else a_part,
                                       Path("after.mp4") if stand_ins else b_part, n, transition,
                                       profile, out, ffmpeg, label, sound)
            return overlap_job(Path("before.dv") if stand_ins else a_part, first,
                               Path("after.dv") if stand_ins else b_part, after_first, n, transition,
                               profile, out, ffmpeg, label, lead)

        reference = make(Path("segment" + profile.segment_suffix), stand_ins=True)
        commands = [reference.argv[1:]] + ([reference.pictures.head[1:]] if reference.pictures else [])
        part = work / segment_name(key("overlap", *commands, [a_part.name, b_part.name], ffmpeg.version),
                                   profile.segment_suffix)
        cached = use_cache and part not in planned and profile.segment_complete(part, n + lead)
        if cached and _discarded_if_damaged(part, f"{label} is made again"):  # a few frames: checked at once
            cached = False
        if not cached and part not in planned:
            planned.add(part)
            overlap_jobs.append(make(part))
        uses.add(part)
        inserted[before] = ((label, n, part, cached), part.name, at, lead)
    out = ([], [], [], [], [], [])
    for index, item in enumerate(listing):
        for target, value in zip(out, (item, makers[index], sounds[index], starts[index], leads[index],
                                       tuple(trims[index]))):
            target.append(value)
        if index in inserted:
            entry, sound, at, lead = inserted[index]
            for target, value in zip(out, (entry, None, sound, at, lead, (0, 0))):
                target.append(value)
    return out


def _without_edge_windows(listing: list, makers: list, sounds: list, starts: list[int], leads: list[int],
                          trims: list) -> tuple:
    """The listing of a cast of MP4 segments without the edge windows its overlaps took whole
    (``plan.transitions.edge_windows``): the join copies the rest; and those windows (part ->
    label, frames, cached, maker), which only the overlaps read."""
    hidden: dict[Path, tuple] = {}
    out: tuple[list, ...] = ([], [], [], [], [], [])
    for values in zip(listing, makers, sounds, starts, leads, trims):
        (label, frames, part, cached), (head, tail) = values[0], values[5]
        if frames - head - tail == 0:
            hidden[part] = (label, frames, cached, values[1])
            continue
        if head or tail:
            raise ValueError(f"{label}: an overlap takes part of an MP4 segment")
        for target, value in zip(out, values):
            target.append(value)
    return (*out, hidden)


# Sound (issue 25): the music bed under the cast.

def _sound_key(checked: Checked, sounds: list) -> str:
    """The key of the cast's measured sound: what each part's sound is made from, the loudness
    target and, with music, the bed (its files, settings and where each segment is)."""
    recipe = checked.recipe
    music = recipe.music
    if music is None:
        return key("loudness", sounds, recipe.loudness)
    return key("loudness", sounds, recipe.loudness, "music", MUSIC_VERSION,
               [file_identity(path) for path in music.files],
               [str(v) for v in (music.level, music.duck, music.fade_in, music.fade_out)],
               music.loop, music.under)


def _spans(profile: Profile, parts: list, leads: list[int], trims: list) -> tuple:
    """The seconds of each part's file that are in the cast, where a transition took some."""
    fps = profile.raster.fps
    return tuple(None if not (head or tail) else
                 (Fraction(lead + head) / fps, Fraction(lead + frames - tail) / fps)
                 for (_, frames), lead, (head, tail) in zip(parts, leads, trims))


def _music_step(checked: Checked, parts: list, makers: list, starts: list[int], trims: list,
                profile: Profile, script: Path, ffmpeg: Ffmpeg, sound_key: str) -> MusicStep:
    """The step that makes the cast's bed and mix, for the parts of one output (with their
    segments, for where the bed plays; a transition's overlap as the segment it leads into)."""
    recipe = checked.recipe
    music = recipe.music
    assert music is not None
    fps = profile.raster.fps
    spans = []
    segs = [maker[1] if maker is not None else None for maker in makers]
    for i, ((part, frames), start, (head, tail)) in enumerate(zip(parts, starts, trims)):
        seg = segs[i] if segs[i] is not None else next(s for s in segs[i:] if s is not None)
        plays = (music.under == "all" or (music.under == "clips") == isinstance(seg, ClipSegment))
        first, end = start + head, start + frames - tail
        spans.append((float(Fraction(first) / fps), float(Fraction(end) / fps), plays))
    work = script.parent
    return MusicStep(tuple(part for part, _ in parts), script, recipe.loudness, ffmpeg,
                     music=music, music_seconds=tuple(checked.music[p].duration for p in music.files),
                     segments=tuple(spans), bed=work / music_name(sound_key, ".flac"),
                     levels=work / record_name("speech", key("speech", [p.name for p, _ in parts])))


def _music_files(step: MusicStep) -> list[Path]:
    return [step.bed, step.levels]


def _first_sample(profile: Profile, frame: int) -> int:
    """The cast's sample where its frame ``frame`` starts (NTSC DV: the dv muxer's pattern)."""
    if profile.lays_ntsc_sound(False):
        return dv_samples(frame)
    return profile.raster.audio_samples(frame)


def effects_of(seg: ClipSegment, checked: Checked, work: Path | None = None) -> Effects:
    """What the recipe does to a clip's picture and sound; its overlays' pictures are files in
    ``work`` (default: the recipe's cache), drawn by ``overlay_steps`` before the encode."""
    return Effects(
        crop=seg.crop, speed=seg.speed, mute=seg.mute,
        voice=checked.voices[seg.audio] if seg.audio is not None and not seg.mute else None,
        voice_from=seg.audio_from,
        fade_in=seg.fades.fade_in, fade_out=seg.fades.fade_out, zoom=seg.zoom, gain=seg.gain,
        overlays=drawn_overlays(seg, checked, work if work is not None else cache_dir(checked.recipe)),
    )


# --- overlays (issue 30) -----------------------------------------------------------------------
def drawn_overlays(seg: ClipSegment, checked: Checked, work: Path) -> tuple[Drawn, ...]:
    """A clip's overlays placed on its capture, times resolved (``until: end``: the clip's
    end), each drawn overlay's PNG named by what it looks like (``overlay_key``)."""
    if not seg.overlays:
        return ()
    info = checked.probes[seg.clip]
    assert info.video is not None
    capture = info.video.shown_shape[:2]
    end = seg.start + seg.length(info.duration)
    found = []
    for overlay in seg.overlays:
        place = layout_overlay(overlay, capture, checked.recipe.folder)
        picture = None if overlay.redacts else work / f"overlay-{overlay_key(overlay, capture)}.png"
        found.append(Drawn(overlay, overlay.at, overlay.until if overlay.until is not None else end,
                           place, picture))
    return tuple(found)


def overlay_key(overlay: Overlay, capture: tuple[int, int]) -> str:
    """What an overlay's picture depends on: its kind, text, region, style, the files it reads
    (image, font) and the capture's size; not its times or place on the capture."""
    files = [file_identity(p) for p in overlay_files((overlay,))]
    return key("overlay", overlay.kind, overlay.text, overlay.region, str(overlay.image),
               overlay.style, files, capture)


def for_output(seg: ClipSegment, effects: Effects, profile: Profile, checked: Checked,
               work: Path) -> tuple[Drawn, ...]:
    """A clip's overlays drawn for an output, at its resolution (``plan.overlays.shown_overlays``):
    each picture at the scale of every view the clip holds (crop, camera, the output's frame),
    named by its look and that scale. Redactions stay on the capture's pixels."""
    info = checked.probes[seg.clip]
    assert info.video is not None
    capture = info.video.shown_shape[:2]
    c = effects.crop
    shape = (c.width, c.height, info.video.shown_shape[2]) if c is not None else info.video.shown_shape
    scales = output_scales(camera_path(effects, shape, profile.raster), c, shape, profile.raster)
    found = []
    for d in effects.overlays:
        if d.picture is None:
            found.append(d)
            continue
        scaled = []
        for scale in scales:
            floats = (float(scale[0]), float(scale[1]))
            w, h = scaled_size(d.overlay, capture, floats, checked.recipe.folder)
            name = f"overlay-{overlay_key(d.overlay, capture)}-{key('scale', scale, OUTPUT_BORDER)}.png"
            scaled.append(Scaled(scale, work / name, (w + 2 * OUTPUT_BORDER, h + 2 * OUTPUT_BORDER)))
        found.append(replace(d, scaled=tuple(scaled)))
    return tuple(found)


def overlay_steps(seg: ClipSegment, effects: Effects, checked: Checked) -> tuple[OverlayJob, ...]:
    """The steps that draw a clip's overlay pictures, done before the job that reads them."""
    if not effects.overlays:
        return ()
    info = checked.probes[seg.clip]
    assert info.video is not None
    capture = info.video.shown_shape[:2]
    folder = checked.recipe.folder
    steps = []
    for n, d in enumerate(effects.overlays, 1):
        if d.picture is None:
            continue
        if not d.scaled:
            steps.append(OverlayJob(f"overlay {n} of {seg.label}", d.overlay, capture, folder, d.picture))
        steps += [OverlayJob(f"overlay {n} of {seg.label} ({float(sc.scale[1]):.3g}x)", d.overlay, capture, folder,
                             sc.picture, (float(sc.scale[0]), float(sc.scale[1])), OUTPUT_BORDER) for sc in d.scaled]
    return tuple(steps)


def stand_in_overlays(effects: Effects) -> Effects:
    """The overlays' pictures named without their folder, for the cache key."""
    return replace(effects, overlays=tuple(
        replace(d, picture=Path(d.picture.name),
                scaled=tuple(replace(sc, picture=Path(sc.picture.name)) for sc in d.scaled))
        if d.picture is not None else d for d in effects.overlays))


def framed_effects(effects: Effects, frame: FrameStyle, profile: Profile, checked: Checked,
                   work: Path) -> tuple[Effects, FrameJob]:
    """A clip's effects with the output's styled frame, and the step that draws the frame's
    picture (one per look and size, named by them)."""
    size = (profile.raster.width, profile.raster.height)
    files = [file_identity(Path(frame.background))] if Path(frame.background) in checked.recipe.sources() else []
    picture = work / f"frame-{key('frame', frame, files, size)}.png"
    step = FrameJob(f"frame {size[0]}x{size[1]}", frame, size, checked.recipe.folder, picture)
    return replace(effects, frame=FramePlan(picture, frame_box(frame, size))), step


def camera_index(checked: Checked, seg: ClipSegment, webcam: Webcam, ffmpeg: Ffmpeg) -> FrameIndex | None:
    """The webcam recording's keyframe index, read once per build where the clip's own is
    (its encode seeks: a deep trim, later slices or chunks), so that the camera is seeked too."""
    if frame_index(checked, seg, ffmpeg) is None and seg.clip not in checked.indexes:
        return None
    if webcam.clip not in checked.indexes:
        checked.indexes[webcam.clip] = read_index(webcam.clip, ffmpeg)
    return checked.indexes[webcam.clip]


def webcam_effects(effects: Effects, webcam: Webcam, profile: Profile, checked: Checked,
                   work: Path, index: FrameIndex | None = None) -> tuple[Effects, tuple[Any, ...]]:
    """A clip's effects with its webcam in the output's frame (each layout, and each change of
    layout eased), and the steps that draw the masks (a look's, none for square corners; a
    change's, one a frame). ``index``: the camera's keyframes, for a chunk deep in the clip."""
    raster = profile.raster
    source = checked.cameras[webcam.clip]
    assert source.video is not None
    size, sar = (raster.width, raster.height), float(raster.sar)
    looks, steps = [], []
    for layout in webcam.layouts():
        box = webcam_box(layout, source.video.shown_shape[:2], size, sar)
        full = layout[0] == WEBCAM_FULL
        shape = "square" if full else layout[2]
        mask = None
        if shape != "square":
            mask = work / f"webcam-{key('webcam-mask', shape, box.width, box.height)}.png"
            steps.append(MaskJob(f"webcam mask {box.width}x{box.height}", shape, (box.width, box.height), mask))
        cut = "frame" if full else "square" if shape in ("circle", "square") else "own"
        looks.append(WebcamLook(box, mask, cut, WEBCAM_RADIUS[shape]))
    moves = []
    per_frame = effects.speed / raster.fps  # a change's frames are the encode's, of the sped-up capture
    for n, change in enumerate(webcam.changes):
        a, b = looks[n], looks[n + 1]
        span = (change.at, change.at + change.ease)
        frames = ease_frames(a, b, span, per_frame, source.video.display_aspect,
                             Fraction(raster.width, raster.height) * raster.sar)
        canvas = ease_canvas(frames, a, b, size)
        drawn = tuple((f.number, (f.box.x - canvas.x, f.box.y - canvas.y, f.box.width, f.box.height), f.radius)
                      for f in frames)
        prefix = work / f"webcam-ease-{key('webcam-ease', drawn, canvas, sar, EASE_MASK_SCALE)}-"
        moves.append(WebcamMove(span[0], span[1], canvas, prefix))
        if drawn:
            steps.append(EaseMaskJob(f"webcam masks {span[0]}-{span[1]} s", drawn, (canvas.width, canvas.height),
                                     sar, prefix))
    plan = WebcamPlan(source, tuple(looks), webcam.offset, tuple(moves), index)
    return replace(effects, webcam=plan), tuple(steps)


def stand_in_webcam(cam: WebcamPlan) -> WebcamPlan:
    """The webcam's files named without their folder, for the cache key."""
    return replace(cam, source=replace(cam.source, path=Path("webcam")),
                   looks=tuple(replace(look, mask=Path(look.mask.name) if look.mask is not None else None)
                               for look in cam.looks),
                   moves=tuple(replace(m, masks=Path(m.masks.name)) for m in cam.moves))
# --- end of overlays ----------------------------------------------------------------------------


def cast_cues(checked: Checked, frames: list[int], fps) -> list | None:
    """The captions of the cast in one output's time (None: no clip has captions)."""
    recipe = checked.recipe
    if not any(_captioned(seg) for seg in recipe.segments):
        return None
    cues, at = [], 0
    for seg, count in zip(recipe.segments, frames):
        kept = checked.pauses.kept.get((seg, fps)) if isinstance(seg, ClipSegment) else None
        spoken = checked.speech.cues.get(seg)  # captions of spoken words (plan.speech)
        if isinstance(seg, ClipSegment) and _captioned(seg) and kept is not None:
            # Pauses cut or sped up: each kept part's cues, at that part's place and rate.
            source, out = spoken if spoken is not None else load_captions(seg.captions), at
            for part in kept.parts:
                cues += retime(source, Fraction(part.first) / fps, Fraction(part.end - part.first) / fps,
                               part.rate, Fraction(out) / fps, Fraction(part.frames) / fps)
                out += part.frames
        elif isinstance(seg, ClipSegment) and _captioned(seg):
            info = checked.probes[seg.clip]
            cues += retime(spoken if spoken is not None else load_captions(seg.captions),
                           seg.start, seg.length(info.duration),
                           seg.speed, Fraction(at) / fps, Fraction(count) / fps)
        at += count
    return cues


def _captioned(seg) -> bool:
    """Whether a segment has captions: a file, or its words (``captions: auto``)."""
    return bool(getattr(seg, "captions", None) or getattr(seg, "captions_auto", False))


def sidecar_paths(recipe, spec: OutputSpec) -> list[Path]:
    """The files a build writes beside an output: its chapter list (web masters with chapters),
    its captions (any video output, where a clip has captions), a sprite sheet's index."""
    paths = []
    if spec.kind == "sprites":
        paths.append(index_path(spec.path))
    if not spec.is_image and any(_captioned(seg) for seg in recipe.segments):
        paths += caption_paths(spec.path)
    if spec.is_web and recipe.chapters and any(seg.chapter for seg in recipe.segments):
        paths.append(chapters_path(spec.path))
    return paths



def poster_frame(spec: OutputSpec, recipe, counts: list[int], fps: Fraction) -> int:
    """The cast's frame a poster shows (``counts``: each segment's frames): the one on screen
    at ``at`` seconds, or the middle of the first title card; RecipeError past the end."""
    if spec.at == AT_TITLE:
        at = 0
        for seg, frames in zip(recipe.segments, counts):
            if isinstance(seg, TitleSegment):
                return at + frames // 2
            at += frames
        raise RecipeError([spec.where_of("at").problem(
            f"{spec.path.name}: at: {AT_TITLE}, but the cast has no title card")])
    total = sum(counts)
    frame = int(Fraction(spec.at) * fps)
    if frame >= total:
        raise RecipeError([spec.where_of("at").problem(
            f"{spec.path.name}: at {format_time(spec.at)} is past the end of the cast "
            f"({format_time(Fraction(total) / fps)})")])
    return frame


def _has_sound(seg, checked: Checked) -> bool:
    """Whether a segment brings sound into the cast (a voice-over, or a take's own)."""
    if not isinstance(seg, ClipSegment) or seg.mute:
        return False
    return seg.audio is not None or checked.probes[seg.clip].audio is not None
