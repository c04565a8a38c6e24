"""``castkit build``: recipe -> checked sources -> plan -> run.

Each segment is encoded once to a raw DV file in the segment cache, named by a key derived from everything that determines its bytes; the cast is
the join of those files (by bytes for .dv, a concat stream copy for .avi). A rebuild encodes
only the segments whose key changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable

from ._ffmpeg import Ffmpeg, find_ffmpeg
from ._join import ByteJoinJob, Part, manifest_path, read_manifest
from ._outputs import check_output, container, same_file
from ._plan import (
    FORMAT_VERSION, Effects, Job, Plan, Trim, clip_frames, clip_job, join_job,
    still_job,
)
from ._probe import MediaInfo, probe
from ._recipe import ClipSegment, Recipe, TitleSegment, read_recipe, style_files
from ._runner import PARTIAL_SUFFIX, FfmpegRunner, Runner, write_atomically
from ._target import DvTarget
from ._timecode import format_time
from ._titles import check_style, layout_card, render_card
from .errors import CastkitError, InputError, Problem, RecipeError, UsageError, WorkError

CACHE_ENV = "CASTKIT_CACHE_DIR"
CACHE_NAME = ".castkit-cache"
# A trim may end this far past a source's probed end: the probe's duration has six
# significant digits, and a frame at 30 fps is 33 ms.
_END_SLACK = Fraction(1, 1000)


@dataclass(frozen=True)
class CardJob:
    """Draw a title card to a PNG (Pillow; no ffmpeg), as the step before its title's encode.
    ``shell()`` is the castkit command that draws the same card."""

    label: str
    segment: TitleSegment
    target: DvTarget
    base: Path
    output: Path

    def render(self) -> None:
        image = render_card(
            self.segment.title, self.segment.subtitle, self.segment.style,
            self.target.display_size, self.base,
        )
        write_atomically(self.output, lambda temp: image.save(temp, format="PNG"))

    def shell(self) -> str:
        seg, style = self.segment, self.segment.style
        argv = ["castkit", "title", seg.title]
        if seg.subtitle:
            argv += ["--subtitle", seg.subtitle]
        argv += ["--standard", self.target.standard, "--aspect", self.target.aspect,
                 "--background", style.background, "--color", style.color]
        if style.font:
            argv += ["--font", str(style.font)]
        argv += ["--force", "-o", str(self.output)]
        return shlex.join(argv)


@dataclass(frozen=True)
class Checked:
    """A recipe whose sources have all been opened: what the planner needs."""

    recipe: Recipe
    probes: dict[Path, MediaInfo]  # captures
    voices: dict[Path, MediaInfo] = field(default_factory=dict)  # voice-overs


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
    for source in recipe.sources():
        if same_file(recipe.output, source):
            at = recipe.output_where or recipe.segments[0].where
            problems.append(at.problem(f"output {_shown(recipe, recipe.output)} would overwrite a source"))
    if problems:
        raise RecipeError(problems)
    return Checked(recipe, probes, voices)


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
    fades = seg.fades
    if fades.where is not None:
        shown = seg.shown_seconds(info.duration)
        if fades.fade_in + fades.fade_out > shown:
            problems.append(fades.where.problem(
                f"fades ({format_time(fades.fade_in + fades.fade_out)}) are longer than the "
                f"clip ({format_time(shown)})"))
    return problems


# --- planning ---------------------------------------------------------------------------------


def cache_dir(recipe: Recipe) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else recipe.folder / CACHE_NAME


def _file_identity(path: Path) -> list:
    """What makes a source 'the same file' to the cache: where it is, its size and mtime."""
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _key(*parts: object) -> str:
    blob = json.dumps([FORMAT_VERSION, *parts], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _card_key(seg: TitleSegment, target: DvTarget) -> str:
    style = seg.style
    files = [_file_identity(p) for p in style_files(style)]
    return _key("card", seg.title, seg.subtitle, style.background, style.color,
                str(style.font), files, target.display_size)


@dataclass(frozen=True)
class BuildPlan:
    plan: Plan
    output: Path
    frames: int
    segments: tuple[tuple[str, int, Path, bool], ...]  # (label, frames, file, cached)
    target: DvTarget = DvTarget()
    uses: frozenset[Path] = frozenset()  # the cache files the cast is made from

    @property
    def cache(self) -> Path:
        """The cache folder the cast is made from."""
        return next(iter(self.uses)).parent


def _card_path(seg: TitleSegment, target: DvTarget, work: Path) -> Path:
    return work / f"card-{_card_key(seg, target)}.png"


def _segment_maker(seg, label: str, checked: Checked, ffmpeg: Ffmpeg,
                   work: Path) -> tuple[int, Callable[..., Job], list]:
    """A segment's frames, a function from output path to its job, and what identifies the
    segment's inputs for the cache. ``make(out, stand_ins=True)`` names every file the job
    reads by a fixed stand-in: the job as the cache key sees it, the same however the recipe's
    folder is spelled (``sub/../``, a symlink); the files' identities are in the key apart."""
    target = checked.recipe.target
    if isinstance(seg, TitleSegment):
        frames = target.frames(seg.duration)
        card = _card_path(seg, target, work)
        fx = Effects(fade_in=seg.fades.fade_in, fade_out=seg.fades.fade_out)

        def still(out: Path, stand_ins: bool = False) -> Job:
            return still_job(Path("card.png") if stand_ins else card, target.display_size, frames,
                             target, out, ffmpeg, label=label, effects=fx)

        return frames, still, [_card_key(seg, target)]
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    fx = effects_of(seg, checked)

    def clip(out: Path, stand_ins: bool = False) -> Job:
        source, effects = info, fx
        if stand_ins:
            source = replace(info, path=Path("source"))
            if fx.voice is not None:
                effects = replace(fx, voice=replace(fx.voice, path=Path("voice")))
        return clip_job(source, target, out, ffmpeg, trim=trim, effects=effects, label=label)

    identity = [_file_identity(seg.clip)]
    if fx.voice is not None:
        identity.append(_file_identity(fx.voice.path))
    return clip_frames(info, trim, target, fx.speed), clip, identity


def plan_build(
    checked: Checked,
    ffmpeg: Ffmpeg,
    work: Path,
    output: Path,
    is_cached=lambda path, frames: False,
) -> BuildPlan:
    """The jobs that build ``output`` from ``checked``, skipping segments already in ``work``."""
    recipe = checked.recipe
    target = recipe.target
    encodes: list[Job] = []
    listing = []
    planned: set[Path] = set()
    uses = {manifest_path(work, output), manifest_path(work, output, "uses")}
    for index, seg in enumerate(recipe.segments, 1):
        label = f"segment {index}: {seg.label}"
        frames, make, identity = _segment_maker(seg, label, checked, ffmpeg, work)
        # The key holds what ffmpeg makes, not where it reads or writes.
        reference = make(Path("segment.dv"), stand_ins=True)
        key = _key("segment", reference.argv[1:], identity, ffmpeg.version)
        part = work / f"segment-{key}.dv"
        cached = is_cached(part, frames)
        card = _card_path(seg, target, work) if isinstance(seg, TitleSegment) else None
        uses.update(p for p in (part, card) if p is not None)
        if not cached and part not in planned:  # the same segment twice: encoded once
            planned.add(part)
            job = make(part)
            if card is not None and not is_cached(card, None):
                job = job.after(CardJob(f"card for segment {index}", seg, target, recipe.folder, card))
            encodes.append((_cost(seg, frames, checked.probes), job))
        listing.append((label, frames, part, cached))
    total = sum(item[1] for item in listing)
    if container(output) == "dv":
        join = ByteJoinJob(
            f"join {len(recipe.segments)} segments",
            tuple(Part(path, path.name, frames * target.frame_bytes, target.frame_bytes) for _, frames, path, _ in listing),
            output, manifest_path(work, output), total,
        )
    else:
        join = join_job(
            [part for _, _, part, _ in listing], output.parent / f".{output.name}.concat.txt", total, output, ffmpeg, target,
            container=container(output),
        )
    # Longest first: with N workers the build ends soonest when big jobs do not start last.
    encodes.sort(key=lambda item: -item[0])
    stages = tuple(stage for stage in (tuple(job for _, job in encodes), (join,)) if stage)
    return BuildPlan(Plan(stages), output, total, tuple(listing), target, frozenset(uses))


def _cost(seg, frames: int, probes: dict[Path, MediaInfo]) -> float:
    """A rough relative cost of encoding a segment: every frame is DV-encoded; a capture's
    frames are also decoded and scaled, in proportion to its size."""
    if isinstance(seg, TitleSegment):
        return float(frames)
    video = probes[seg.clip].video
    pixels = video.width * video.height if video else 0
    return frames * (1 + pixels / (720 * 576))


def effects_of(seg: ClipSegment, checked: Checked) -> Effects:
    return Effects(
        crop=seg.crop, speed=seg.speed, mute=seg.mute,
        voice=checked.voices[seg.audio] if seg.audio is not None and not seg.mute else None,
        fade_in=seg.fades.fade_in, fade_out=seg.fades.fade_out,
    )


def segment_is_complete(target: DvTarget):
    """A cached segment is used only if it has exactly the bytes ``frames`` DV frames take."""

    def check(path: Path, frames: int | None) -> bool:
        try:
            size = path.stat().st_size
        except OSError:
            return False
        if frames is None:  # a title card PNG: present and not empty
            return size > 0
        return size == frames * target.frame_bytes

    return check


def build(
    recipe_path: Path | str,
    output: Path | str | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    use_cache: bool = True,
    workers: int | None = None,
    runner: Runner | None = None,
    ffmpeg: Ffmpeg | None = None,
) -> BuildPlan:
    """Build the cast a recipe describes. Returns the plan it ran (or printed)."""
    recipe, problems = read_recipe(recipe_path)
    if output is not None:
        recipe = replace(recipe, output=Path(output), output_where=None)
    ffmpeg = ffmpeg or find_ffmpeg()
    checked = check_recipe(recipe, ffmpeg, problems)
    check_output(recipe.output, recipe.sources(), force or dry_run)
    temp_work = None
    if use_cache or dry_run:
        work = cache_dir(recipe)
    else:
        work = Path(tempfile.mkdtemp(prefix=".castkit-build-", dir=_writable_parent(recipe.output)))
        temp_work = work
    try:
        recording = use_cache and not dry_run
        if not dry_run:
            made = not work.exists()
            try:
                work.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkError(f"{work}: cannot create the segment cache ({exc.strerror})") from None
            if use_cache and (made or work.name == CACHE_NAME):
                # Only a folder that is castkit's alone: CASTKIT_CACHE_DIR may name one of the
                # user's, and backup tools skip a tagged folder whole.
                _mark_cache(work)
        planned = plan_build(
            checked, ffmpeg, work, recipe.output,
            is_cached=segment_is_complete(recipe.target) if use_cache else (lambda p, f: False),
        )
        if recording:
            # Until the build has succeeded, what it makes and what the cast was made of are
            # kept by prune: a build running, failed or killed loses no finished segment.
            _record_uses(work, planned, pending=True)
        (runner or FfmpegRunner(workers=workers)).run(planned.plan)
        if recording:
            _record_uses(work, planned)
        return planned
    finally:
        if temp_work is not None:
            shutil.rmtree(temp_work, ignore_errors=True)


def _writable_parent(output: Path) -> Path:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkError(f"{output.parent}: cannot create the output folder ({exc.strerror})") from None
    return output.parent


# What castkit writes in a cache folder, by exact name (a cache folder may be any folder the
# user points CASTKIT_CACHE_DIR at; nothing else in it is castkit's): segments, title cards,
# the manifest of each cast and the record of what it is made from, and their temporary files.
_CACHED = re.compile(r"(segment-[0-9a-f]{24}\.dv|card-[0-9a-f]{24}\.png|(cast|uses)-[0-9a-f]{24}\.json)")
_CACHED_TEMP = re.compile(r"\.(" + _CACHED.pattern + r")\.[a-z0-9_]{8}" + re.escape(PARTIAL_SUFFIX))
# https://bford.info/cachedir/: backup tools skip a folder with this file (and regenerable DV).
_TAG = "CACHEDIR.TAG"
_TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
             "# castkit's segment cache: everything here is made again when needed.\n")


def _mark_cache(folder: Path) -> None:
    tag = folder / _TAG
    if not tag.exists():
        try:
            write_atomically(tag, lambda temp: temp.write_text(_TAG_TEXT, encoding="ascii"))
        except WorkError:
            pass  # a nicety for backup tools, never a reason to fail a build


def _cached_files(folder: Path, temps: bool = False) -> list[os.DirEntry]:
    """castkit's files in a cache folder (``temps``: also the temporary files of writes in
    progress, or cut short by a crash)."""
    def ours(name: str) -> bool:
        return bool(_CACHED.fullmatch(name) or (temps and _CACHED_TEMP.fullmatch(name)))

    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if ours(e.name) and e.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise UsageError(f"{folder}: not a cache folder") from None
    except OSError as exc:
        raise WorkError(f"{folder}: cannot read the cache ({exc.strerror})") from None


def _remove(entries: list[os.DirEntry]) -> tuple[int, int]:
    """Remove ``entries``; how many files and bytes went."""
    files = size = 0
    for entry in entries:
        try:
            bytes_ = entry.stat(follow_symlinks=False).st_size
            os.unlink(entry.path)
        except FileNotFoundError:
            continue  # gone meanwhile
        except OSError as exc:
            raise WorkError(f"{entry.path}: cannot remove ({exc.strerror})") from None
        files, size = files + 1, size + bytes_
    return files, size


def clean_cache(folder: Path) -> tuple[int, int]:
    """Remove everything castkit cached in ``folder`` (and the folder, if nothing else is in
    it); how many files and bytes went."""
    removed = _remove(_cached_files(folder, temps=True))
    tag = folder / _TAG
    try:
        if tag.read_text(encoding="ascii") == _TAG_TEXT:
            tag.unlink()
        folder.rmdir()
    except (OSError, ValueError):
        pass  # missing, or something that is not castkit's is in there: leave it
    return removed


def _record_uses(work: Path, planned: BuildPlan, pending: bool = False) -> None:
    """Remember which cache files the cast just built is made from (for prune); ``pending``:
    a build about to run, whose record keeps also what the cast was made of before."""
    path = manifest_path(work, planned.output, "uses")
    uses = {p.name for p in planned.uses}
    if pending:
        uses |= set(_read_record(path)[1])
    data = {"output": str(planned.output.resolve()), "uses": sorted(uses), "pending": pending}
    write_atomically(path, lambda temp: temp.write_text(json.dumps(data), encoding="utf-8"))


def _read_record(path: Path, legacy: bool = False) -> tuple[str | None, list[str], bool]:
    """A uses record: the cast's path, the cache files it is made of, whether its build is
    pending. ``legacy``: a cast manifest of castkit before uses records, read as one (its
    segments; its cards are redrawn if ever needed). Unreadable: nothing."""
    try:
        if legacy:
            data = read_manifest(path)
            uses = [str(name) for name, _ in data["parts"]] if data else []
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            uses = [str(name) for name in data["uses"]]
        return str(data["output"]), uses + [path.name], data.get("pending") is True
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None, [], False


def _unused(folder: Path) -> list[os.DirEntry]:
    """castkit's files in ``folder`` that no cast built from it is made from. A cast counts
    while its file exists or its build has not finished; the files of one deleted by hand are
    unused."""
    entries = _cached_files(folder)
    keep: set[str] = set()
    digests = {e.name.split("-", 1)[1] for e in entries if e.name.startswith(("uses-", "cast-"))}
    for digest in digests:
        output, uses, pending = _read_record(folder / f"uses-{digest}")
        if output is None:  # no record, or an unreadable one: the cast's manifest, if any
            output, uses, pending = _read_record(folder / f"cast-{digest}", legacy=True)
        if output is not None and (pending or os.path.exists(output)):
            keep.update(uses)
    return [e for e in entries if e.name not in keep]


def prune_cache(folder: Path) -> tuple[int, int]:
    """Remove the cached files that no cast built from ``folder`` is made from (superseded
    takes, old title texts, the segments of a cast deleted since); how many files and bytes
    went. Temporary files are left alone: they may be a build's, running now."""
    return _remove(_unused(folder))


def unused_cache_bytes(folder: Path) -> int:
    """Bytes of the cached files in ``folder`` that prune would remove."""
    total = 0
    for entry in _unused(folder):
        try:
            total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            pass  # gone meanwhile
    return total
