"""Checking a recipe against its sources before anything is encoded: every source opened,
every trim, crop, fade and title checked, all problems reported together."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterable

from castkit.base.files import same_file, shown_path
from castkit.base.progress import say
from castkit.base.timecode import format_time
from castkit.titles.overlays import check_frame, check_overlay, layout as layout_overlay  # issue 30
from castkit.errors import CastkitError, InputError, Problem, RecipeError
from castkit.media.ffmpeg import Ffmpeg
from castkit.media.probe import MediaInfo, probe
from castkit.media.raster import ANIMATED_DEFAULT_FPS, image_raster, Raster, WEB_MIN_SIDE, web_raster
from castkit.media.seek import FrameIndex, MIN_SEEK, read_index
from castkit.plan.chunks import chunk_seconds
from castkit.plan.encode import clip_frames, Trim, trimmed_length
from castkit.plan.camera import fit_problems, Frame
from castkit.plan.activity import ActivityMemo
from castkit.plan.pauses import PauseMemo
from castkit.plan.slices import SLICE_SECONDS
from castkit.plan.speech import check_speech, SpeechMemo
from castkit.publish.transcript import is_transcript
from castkit.publish.captions import CaptionsError, load
from castkit.recipe.model import ANIMATED_KINDS, ClipSegment, OutputSpec, Recipe
from castkit.titles.cards import check_style, check_text, layout_card


# A trim may end this far past a source's probed end: the probe's duration has six
# significant digits, and a frame at 30 fps is 33 ms.
_END_SLACK = Fraction(1, 1000)


@dataclass(frozen=True)
class Checked:
    """A recipe whose sources have all been opened: what the planner needs."""

    recipe: Recipe
    probes: dict[Path, MediaInfo]  # captures
    voices: dict[Path, MediaInfo] = field(default_factory=dict)  # voice-overs
    # Keyframes of the captures trimmed deep enough for a seek to pay (see media.seek), read when a
    # job needs them (frame_index).
    indexes: dict[Path, FrameIndex | None] = field(default_factory=dict)
    # Clips with ``pauses:``: their analysis and kept parts, filled at plan time (plan.pauses.kept_of).
    pauses: PauseMemo = field(default_factory=PauseMemo)
    # Clips with ``zoom: follow``: their activity and the moves planned from it (plan.activity),
    # at plan time.
    activity: ActivityMemo = field(default_factory=ActivityMemo)
    # The webcam corners' recordings (issue 30): apart from the captures, which size the frame.
    cameras: dict[Path, MediaInfo] = field(default_factory=dict)
    music: dict[Path, MediaInfo] = field(default_factory=dict)  # the music bed's files (``music:``)
    # Clips with speech keys: transcripts read (at check time) and words recognised (plan.speech).
    speech: SpeechMemo = field(default_factory=SpeechMemo)


def check_recipe(recipe: Recipe, ffmpeg: Ffmpeg, problems: Iterable[Problem] = ()) -> Checked:
    """Open every source, check every trim and style; RecipeError with all problems at once
    (``problems`` already found in the recipe's text included)."""
    problems = list(problems)
    probes: dict[Path, MediaInfo] = {}
    cameras: dict[Path, MediaInfo] = {}
    voices: dict[Path, MediaInfo] = {}
    seen: dict[tuple[Path, bool], MediaInfo | str] = {}
    speech = SpeechMemo()

    def opened(path: Path, as_picture: bool) -> MediaInfo | str:
        """A file's probe as a capture or as a voice-over, once each; or why it cannot be."""
        if (path, as_picture) not in seen:
            try:
                seen[path, as_picture] = probe(path, ffmpeg, need_video=as_picture)
            except InputError as exc:
                seen[path, as_picture] = exc.reason
        return seen[path, as_picture]

    for seg in recipe.segments:
        if isinstance(seg, ClipSegment):
            info = opened(seg.clip, True)
            if isinstance(info, str):
                problems.append(seg.where.problem(f"{_shown(recipe, seg.clip)}: {info}"))
                continue
            probes[seg.clip] = info
            problems += _check_trim(recipe, seg, info)
            problems += _check_effects(recipe, seg, info)
            webcam = recipe.webcam_of(seg)
            if webcam is not None:  # a camera in a corner (issue 30): a picture to show
                camera = opened(webcam.clip, True)
                if isinstance(camera, str):
                    problems.append(webcam.where.problem(f"webcam {_shown(recipe, webcam.clip)}: {camera}"))
                else:
                    cameras[webcam.clip] = camera
                if seg.pauses is not None:
                    problems.append((seg.pauses_where or seg.where).problem(
                        "pauses: a clip with a webcam corner cannot cut its pauses yet"))
            problems += check_speech(seg, info, lambda p: _shown(recipe, p), speech)
            if seg.captions is not None and not is_transcript(seg.captions):
                try:
                    load(seg.captions)
                except CaptionsError as exc:
                    at = seg.captions_where or seg.where
                    problems.append(at.problem(f"captions {_shown(recipe, seg.captions)}: {exc}"))
            if seg.audio is not None:
                voice = opened(seg.audio, False)
                if not isinstance(voice, str) and voice.audio is None:
                    voice = "has no sound to use as a voice-over"
                if isinstance(voice, str):
                    at = seg.audio_where or seg.where
                    problems.append(at.problem(f"audio {_shown(recipe, seg.audio)}: {voice}"))
                else:
                    voices[seg.audio] = voice
        else:
            try:
                check_style(seg.style, recipe.folder)
                check_text(seg.title, seg.subtitle, seg.style, recipe.folder)
                layout_card(seg.title, seg.subtitle, seg.style, recipe.target.display_size, recipe.folder)
            except CastkitError as exc:
                problems.append(seg.where.problem(f"title style: {exc}"))
    for frame in dict.fromkeys(f for f in (recipe.frame, *(spec.frame for spec in recipe.outputs)) if f):
        why = check_frame(frame)  # a styled frame's background image (issue 30)
        if why is not None:
            problems.append((frame.where or recipe.segments[0].where).problem(why))
    music = _check_music(recipe, opened, problems)
    if not problems:  # every capture opened: each output's frame is known
        problems += _check_outputs(recipe, probes)
    if all(seg.clip in probes for seg in recipe.segments if isinstance(seg, ClipSegment)):
        problems += transition_problems(recipe, probes)
    for spec in recipe.outputs:
        for source in recipe.sources():
            if same_file(spec.path, source):
                at = spec.where or recipe.segments[0].where
                problems.append(at.problem(f"output {_shown(recipe, spec.path)} would overwrite a source"))
    lost = _voices_lost(recipe, probes, voices, problems)
    if problems:
        raise RecipeError(problems)
    for warning in lost:
        say("warning", warning)
    return Checked(recipe, probes, voices, cameras=cameras, music=music, speech=speech)


# Transitions are made in every output. Where a cast is its DV segments' frames, the overlap is
# a short DV segment of its own, its neighbours cut at the join (by bytes, or the concat demuxer's
# in and out points for an AVI). The web masters and images, whose segments are inter-coded,
# encode each neighbour's overlapped frames as a window of their own (plan.transitions). A
# clip of kept parts (pauses, transcript or fillers cut) with a fade is not cut in windows (a
# window of kept parts is faded as a whole), and is refused beside a transition in those outputs.
CUT_SUFFIXES = (".dv", ".avi")


def cut_in_windows(seg) -> bool:
    """Whether a segment can be encoded as windows of its frames, as a transition's neighbour
    in a web master or image: a title, a clip, but a faded clip of kept parts."""
    return not isinstance(seg, ClipSegment) or not (seg.fades.fade_in or seg.fades.fade_out) or (
        seg.pauses is None and seg.transcript is None and not seg.fillers)


def transition_problems(recipe: Recipe, probes: dict[Path, MediaInfo],
                        lengths: list[Fraction] | None = None) -> list[Problem]:
    """Transitions that do not fit: longer than the segment before or after (a title
    included), or with the transition out of that segment more than it lasts; in an output
    that does not make transitions yet. ``lengths``: each segment's seconds, where known better
    than from the recipe (after its pauses are cut)."""
    transitions = recipe.transitions()
    if not any(transitions):
        return []
    if lengths is None:
        lengths = [seg.shown_seconds(probes[seg.clip].duration) if isinstance(seg, ClipSegment)
                   else seg.duration for seg in recipe.segments]
    problems = []
    for i, transition in enumerate(transitions):
        if transition is None:
            continue
        at = transition.where or recipe.segments[i].where
        shown = format_time(transition.duration)
        before, after = lengths[i - 1], lengths[i]
        out = transitions[i + 1].duration if i + 1 < len(transitions) and transitions[i + 1] else Fraction(0)
        into = transitions[i - 1].duration if transitions[i - 1] else Fraction(0)
        if transition.duration + into > before:
            problems.append(at.problem(
                f"segment {i + 1}: the transition ({shown}) is longer than segment {i} "
                f"({format_time(before)}" + (f", less the {format_time(into)} of its own transition in)"
                                             if into else ")")))
        elif transition.duration + out > after:
            problems.append(at.problem(
                f"segment {i + 1}: the transition ({shown}) is longer than the segment it leads into "
                f"({format_time(after)}" + (f", less the {format_time(out)} of the transition out of it)"
                                            if out else ")")))
    others = [spec for spec in recipe.outputs if spec.path.suffix.lower() not in CUT_SUFFIXES]
    if others:
        for i, transition in enumerate(transitions):
            if transition is None:
                continue
            for n in (i - 1, i):
                if not cut_in_windows(recipe.segments[n]):
                    at = transition.where or recipe.segments[i].where
                    problems.append(at.problem(
                        f"segment {i + 1}: a transition next to a faded clip with pauses:, transcript: "
                        f"or fillers: (segment {n + 1}) is made in {', '.join(CUT_SUFFIXES)} casts only; "
                        f"{', '.join(spec.path.name for spec in others)} would need it"))
                    break
    return problems


def _check_music(recipe: Recipe, opened, problems: list[Problem]) -> dict[Path, MediaInfo]:
    """The music bed's files, each opened as sound (``music:``); one without sound, or that
    cannot be read, is a problem at its line."""
    found: dict[Path, MediaInfo] = {}
    if recipe.music is None:
        return found
    for n, path in enumerate(recipe.music.files):
        info = opened(path, False)
        if not isinstance(info, str) and info.audio is None:
            info = "has no sound to play as music"
        elif not isinstance(info, str) and info.duration <= 0:
            info = "lasts no time"
        if isinstance(info, str):
            wheres = recipe.music.files_where
            at = wheres[n] if n < len(wheres) else recipe.music.where or recipe.segments[0].where
            problems.append(at.problem(f"music {_shown(recipe, path)}: {info}"))
        else:
            found[path] = info
    return found


# Voice heard past its clip's end by less than this is no loss worth a word (a frame at 25 fps).
_VOICE_SLACK = Fraction(1, 25)


def _voices_lost(recipe: Recipe, probes: dict[Path, MediaInfo], voices: dict[Path, MediaInfo],
                 problems: list[Problem]) -> list[str]:
    """Where a voice-over goes on after its clip ends and no other clip plays that part of it
    (``audio: {file, from}``): a warning each, with the seconds lost. A ``from`` at or past the
    voice's end is a problem (added to ``problems``)."""
    played: dict[Path, list[tuple[Fraction, Fraction]]] = {}  # voice -> its stretches in clips
    voiced = []
    for index, seg in enumerate(recipe.segments, 1):
        if not isinstance(seg, ClipSegment) or seg.audio not in voices or seg.clip not in probes:
            continue
        total = voices[seg.audio].duration
        if seg.audio_from >= total:
            problems.append((seg.audio_where or seg.where).problem(
                f"audio.from {format_time(seg.audio_from)} is past the end of "
                f"{_shown(recipe, seg.audio)} ({format_time(total)} long)"))
            continue
        end = seg.audio_from + seg.shown_seconds(probes[seg.clip].duration)
        played.setdefault(seg.audio, []).append((seg.audio_from, end))
        voiced.append((index, seg, end, total))
    warnings = []
    for index, seg, end, total in voiced:
        # What follows this clip's stretch of the voice, less what other clips play of it.
        unheard = [(end, total)]
        for a, b in played[seg.audio]:
            unheard = [piece for lo, hi in unheard
                       for piece in ((lo, min(hi, a)), (max(lo, b), hi)) if piece[1] > piece[0]]
        seconds = sum((hi - lo for lo, hi in unheard), Fraction(0))
        if seconds > _VOICE_SLACK:
            where = seg.audio_where or seg.where
            warnings.append(
                f"{where.file}:{where.line}:{where.column}: segment {index}: "
                f"{float(seconds):.1f} s of {_shown(recipe, seg.audio)} "
                f"({format_time(unheard[0][0])} to {format_time(unheard[-1][1])}) "
                f"come after the clip ends and are not heard; lengthen the clip, or play the "
                f"rest in the next clip with audio: {{file: {_shown(recipe, seg.audio)}, "
                f"from: {format_time(end)}}}")
    return warnings


def output_rasters(recipe: Recipe, probes: dict[Path, MediaInfo]) -> list[tuple[OutputSpec, Raster]]:
    """Each output of the recipe with its frame: DV's as the recipe's target says, a web
    master's at the captures' own size (the largest), scaled to its height and rate; an
    image's, the web frame it is made from (its own width and rate: ``builder.plan``)."""
    captures = []
    for info in probes.values():
        assert info.video is not None
        width, height, sar = info.video.shown_shape
        captures.append((width, height, sar, info.video.fps))
    return [(spec, web_raster(captures, spec.height, spec.fps, spec.frame_aspect) if spec.is_web
             else web_raster(captures) if spec.is_image  # an image is made from the web frame
             else recipe.target)
            for spec in recipe.outputs]


def _check_outputs(recipe: Recipe, probes: dict[Path, MediaInfo]) -> list[Problem]:
    """What only each output's own frame tells, caught here rather than by an encoder halfway
    through the build: a web frame too small for the encoders and the cards, a title that
    does not fit a web card, a segment that lasts less than one frame at an output's rate
    (a short trim sped up, a short title at a low fps)."""
    problems: list[Problem] = []
    rasters = output_rasters(recipe, probes)
    fallback = recipe.segments[0].where if recipe.segments else None
    for spec, raster in rasters:
        width, height = raster.width, raster.height
        if spec.is_web and min(width, height) < WEB_MIN_SIDE:
            at = spec.where or fallback
            largest = max(probes.items(), key=lambda item: _shown_pixels(item[1]))
            problems.append(at.problem(
                f"{spec.path.name}: a web master of these captures would be {width}x{height} "
                f"(the largest, {_shown(recipe, largest[0])}, shows as "
                f"{'x'.join(str(n) for n in largest[1].video.shown_shape[:2])}); its frame needs "
                f"at least {WEB_MIN_SIDE} pixels a side: record a larger window, or give the "
                f"output a height"))
            return problems  # the frame's other checks would only repeat it
    sizes = {raster.display_size for spec, raster in rasters if spec.is_web}
    rates: dict[Fraction, Raster] = {}
    for spec, raster in rasters:
        if spec.kind in ANIMATED_KINDS:  # an animation's frames are at its own rate, not its web frame's
            raster = image_raster(raster, None, spec.fps or ANIMATED_DEFAULT_FPS)
        rates.setdefault(raster.fps, raster)
    for seg in recipe.segments:
        if isinstance(seg, ClipSegment):
            info = probes[seg.clip]
            trim = Trim(seg.start, seg.length(info.duration))
            for fps, raster in rates.items():
                if clip_frames(info, trim, raster, seg.speed) < 1:
                    shown = trimmed_length(info, trim) / seg.speed
                    problems.append((seg.trim_where or seg.where).problem(
                        f"the clip lasts {float(shown):g} s"
                        + (f" at speed {float(seg.speed):g}" if seg.speed != 1 else "")
                        + f", less than one frame at {_fps(fps)} fps"))
                    break
            continue
        for fps, raster in rates.items():
            if raster.frames(seg.duration) < 1:
                problems.append(seg.where.problem(
                    f"the title lasts {float(seg.duration):g} s, less than one frame at "
                    f"{_fps(fps)} fps"))
                break
        for size in sorted(sizes - {recipe.target.display_size}):
            try:
                layout_card(seg.title, seg.subtitle, seg.style, size, recipe.folder)
            except CastkitError as exc:
                problems.append(seg.where.problem(f"title on the {size[0]}x{size[1]} web card: {exc}"))
                break
    return problems


def _shown_pixels(info: MediaInfo) -> float:
    width, height, sar = info.video.shown_shape
    return width * sar * height


def _fps(fps: Fraction) -> str:
    return f"{fps.numerator}" if fps.denominator == 1 else f"{float(fps):.3f}"


def frame_index(checked: Checked, seg: ClipSegment, ffmpeg: Ffmpeg) -> FrameIndex | None:
    """The keyframe index of a clip whose encode seeks (a deep trim, or a segment long enough
    to be sliced or chunked: its later slices and chunks seek), read once per build when a job needs it (not for an
    export or a preview); None for a clip decoded from the start."""
    long = min(SLICE_SECONDS, chunk_seconds() or SLICE_SECONDS)  # its later slices or chunks seek
    deep = (seg.start / seg.speed > MIN_SEEK
            or seg.shown_seconds(checked.probes[seg.clip].duration) >= long)
    if deep and seg.clip not in checked.indexes:
        checked.indexes[seg.clip] = read_index(seg.clip, ffmpeg)
    return checked.indexes.get(seg.clip)


def _shown(recipe: Recipe, path: Path) -> str:
    """A source as the recipe names it (relative to its folder), else as messages show paths:
    never ``recipes/../captures/take.ogv``."""
    try:
        relative = path.relative_to(recipe.folder)
    except ValueError:
        return shown_path(path)
    return str(relative) if ".." not in relative.parts else shown_path(path)


def _check_trim(recipe: Recipe, seg: ClipSegment, info: MediaInfo) -> list[Problem]:
    where = seg.trim_where or seg.where
    total = info.duration
    name = _shown(recipe, seg.clip)
    length = f"{format_time(total)} long"
    if seg.start >= total:
        return [where.problem(f"start {format_time(seg.start)} is past the end of {name} ({length})")]
    end = seg.end if seg.end is not None else (seg.start + seg.duration if seg.duration is not None else total)
    if end > total + _END_SLACK:
        what = "end" if seg.end is not None else "start + duration"
        return [where.problem(f"{what} {format_time(end)} is past the end of {name} ({length})")]
    if recipe.target.frames(min(end, total) - seg.start) < 1:
        return [where.problem("the trimmed part is shorter than one frame")]
    return []


def _check_zoom(recipe: Recipe, seg: ClipSegment, info: MediaInfo) -> list[Problem]:
    """Camera moves against the capture: regions inside the (cropped) picture, each move
    starting within the clip's trim."""
    assert info.video is not None
    width, height, _ = info.video.shown_shape
    picture = f"{_shown(recipe, seg.clip)} ({width}x{height})"
    frame = Frame(width, height, Fraction(1))
    if seg.crop is not None:
        c = seg.crop
        picture = f"the cropped {c.width}x{c.height} picture at {c.x},{c.y}"
        frame = Frame(c.width, c.height, Fraction(1), origin=(c.x, c.y))
    span = (seg.start, seg.start + seg.length(info.duration))
    return [seg.zoom_where[index].of(key).problem(
                f"zoom {index + 1}: {message}" + (f" {picture}" if key == "to" else ""))
            for index, key, message in fit_problems(seg.zoom, frame, span)]


def _check_effects(recipe: Recipe, seg: ClipSegment, info: MediaInfo) -> list[Problem]:
    problems = []
    if seg.crop is not None and info.video is not None:
        width, height, _ = info.video.shown_shape
        c = seg.crop
        if c.x + c.width > width or c.y + c.height > height:
            at = seg.crop_where or seg.where
            problems.append(at.problem(
                f"crop {c.width}x{c.height} at {c.x},{c.y} reaches outside "
                f"{_shown(recipe, seg.clip)} ({width}x{height})"))
    if seg.pauses is not None and (seg.mute or (seg.audio is None and info.audio is None)):
        # Pauses are found in the sound: a silent clip has nothing but pauses.
        what = "is muted (audio: none)" if seg.mute else f"{_shown(recipe, seg.clip)} has no sound"
        problems.append((seg.pauses_where or seg.where).problem(
            f"pauses: the clip {what}; pauses are found in its sound"))
    if seg.zoom and info.video is not None:
        problems += _check_zoom(recipe, seg, info)
    if seg.overlays and info.video is not None:
        problems += _check_overlays(recipe, seg, info)
    fades = seg.fades
    if fades.where is not None:
        shown = seg.shown_seconds(info.duration)
        if fades.fade_in + fades.fade_out > shown:
            problems.append(fades.where.problem(
                f"fades ({format_time(fades.fade_in + fades.fade_out)}) are longer than the "
                f"clip ({format_time(shown)})"))
    return problems


# --- overlays (issue 30) -----------------------------------------------------------------------
def _check_overlays(recipe: Recipe, seg: ClipSegment, info: MediaInfo) -> list[Problem]:
    """Each overlay against its capture: its time inside the clip's trim, its region or picture
    inside the capture, its image and font readable, its text drawable by its font."""
    assert info.video is not None
    width, height, _ = info.video.shown_shape
    name = f"{_shown(recipe, seg.clip)} ({width}x{height})"
    start, end = seg.start, seg.start + seg.length(info.duration)
    span = f"the clip's {format_time(start)}-{format_time(end)}"
    problems = []
    for n, o in enumerate(seg.overlays, 1):
        what = f"overlay {n} ({o.kind})"
        if not start <= o.at < end:
            problems.append(o.where_of("at").problem(f"{what}: at {format_time(o.at)} is outside {span}"))
        if o.until is not None and o.until > end + _END_SLACK:
            key = "until" if "until" in dict(o.wheres) else "duration"
            problems.append(o.where_of(key).problem(
                f"{what}: it ends at {format_time(o.until)}, past {span} (until: end shows it to the end)"))
        why = check_overlay(o, (width, height), recipe.folder)
        if why is not None:
            key = o.kind if "cannot draw" in why else "style" if "font" in why else o.kind
            problems.append(o.where_of(key).problem(f"{what}: {why}"))
            continue
        if o.region is not None:
            r = o.region
            if r.x + r.width > width or r.y + r.height > height:
                problems.append(o.where_of(o.kind).problem(
                    f"{what}: region {r.width}x{r.height} at {r.x},{r.y} reaches outside {name}"))
            continue
        place = layout_overlay(o, (width, height), recipe.folder)
        if place.x < 0 or place.y < 0 or place.x + place.width > width or place.y + place.height > height:
            key = "position" if "position" in dict(o.wheres) else o.kind
            problems.append(o.where_of(key).problem(
                f"{what}: its {place.width}x{place.height} picture at {place.x},{place.y} reaches outside {name}"))
    return problems
# --- end of overlays ----------------------------------------------------------------------------
