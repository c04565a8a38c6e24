"""Checking a recipe against its sources before anything is encoded: every source opened,
every trim, crop, fade and title checked, all problems reported together."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterable

from castkit.base.files import same_file
from castkit.base.timecode import format_time
from castkit.errors import CastkitError, InputError, Problem, RecipeError
from castkit.media.ffmpeg import Ffmpeg
from castkit.media.probe import MediaInfo, probe
from castkit.media.seek import FrameIndex, MIN_SEEK, read_index
from castkit.plan.camera import fit_problems, Frame
from castkit.plan.pauses import PauseMemo
from castkit.plan.slices import SLICE_SECONDS
from castkit.publish.captions import CaptionsError, load
from castkit.recipe.model import ClipSegment, Recipe
from castkit.titles.cards import check_style, layout_card


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
    # Clips with ``zoom: follow``: their measured activity (plan.activity), filled at plan time.
    activity: dict = field(default_factory=dict)


def check_recipe(recipe: Recipe, ffmpeg: Ffmpeg, problems: Iterable[Problem] = ()) -> Checked:
    """Open every source, check every trim and style; RecipeError with all problems at once
    (``problems`` already found in the recipe's text included)."""
    problems = list(problems)
    probes: dict[Path, MediaInfo] = {}
    voices: dict[Path, MediaInfo] = {}
    seen: dict[tuple[Path, bool], MediaInfo | str] = {}

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
            if seg.captions is not None:
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
            if recipe.target.frames(seg.duration) < 1:
                problems.append(seg.where.problem(
                    f"the title lasts {float(seg.duration):g} s, less than one frame"))
            try:
                check_style(seg.style, recipe.folder)
                layout_card(seg.title, seg.subtitle, seg.style, recipe.target.display_size, recipe.folder)
            except CastkitError as exc:
                problems.append(seg.where.problem(f"title style: {exc}"))
    for spec in recipe.outputs:
        for source in recipe.sources():
            if same_file(spec.path, source):
                at = spec.where or recipe.segments[0].where
                problems.append(at.problem(f"output {_shown(recipe, spec.path)} would overwrite a source"))
    if problems:
        raise RecipeError(problems)
    return Checked(recipe, probes, voices)


def frame_index(checked: Checked, seg: ClipSegment, ffmpeg: Ffmpeg) -> FrameIndex | None:
    """The keyframe index of a clip whose encode seeks (a deep trim, or a segment long enough
    to be sliced: its slices seek), read once per build when a job needs it (not for an
    export or a preview); None for a clip decoded from the start."""
    deep = (seg.start / seg.speed > MIN_SEEK
            or seg.shown_seconds(checked.probes[seg.clip].duration) >= SLICE_SECONDS)
    if deep and seg.clip not in checked.indexes:
        checked.indexes[seg.clip] = read_index(seg.clip, ffmpeg)
    return checked.indexes.get(seg.clip)


def _shown(recipe: Recipe, path: Path) -> str:
    try:
        return str(path.relative_to(recipe.folder))
    except ValueError:
        return str(path)


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
    fades = seg.fades
    if fades.where is not None:
        shown = seg.shown_seconds(info.duration)
        if fades.fade_in + fades.fade_out > shown:
            problems.append(fades.where.problem(
                f"fades ({format_time(fades.fade_in + fades.fade_out)}) are longer than the "
                f"clip ({format_time(shown)})"))
    return problems
