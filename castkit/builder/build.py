"""``castkit build`` of one recipe: read and check it, make sure every output may be written,
plan it (``builder.plan``) and run the plan, keeping the cache's records of what each cast is
made of."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Sequence

from castkit.base.files import check_output
from castkit.builder.indexes import readings
from castkit.builder.plan import BuildPlan, plan_build, sidecar_paths
from castkit.cache.folders import check_not_in_cache
from castkit.cache.housekeeping import cache_cap, keep_under, mark_cache, remove_dead_temps
from castkit.cache.records import record_uses, unwritable_caches
from castkit.cache.written import record_written, unrecorded, why_not_replaceable
from castkit.cache.names import CACHE_NAME
from castkit.cache.keys import cache_dir
from castkit.base.progress import say
from castkit.errors import UsageError, WorkError
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.media.formats import CAST_SUFFIXES
from castkit.plan.check import check_recipe
from castkit.recipe.model import OutputSpec
from castkit.recipe.reader import read_recipe
from castkit.run.runner import FfmpegRunner, Runner


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
    """Build every cast a recipe describes. Returns the plan it ran (or printed)."""
    unwritable_caches.clear()  # the note on a read-only cache: once per build
    prepared = prepare_build(recipe_path, output, force=force, dry_run=dry_run,
                             use_cache=use_cache, ffmpeg=ffmpeg)
    started = time.time_ns()
    try:
        prepared.begin()
        try:
            (runner or FfmpegRunner(workers=workers)).run(prepared.planned.plan)
        except BaseException:
            # The outputs finished before the failure (the DV cast when the web join failed)
            # are castkit's all the same: the rerun replaces them without --force.
            prepared.record_written(since=started)
            raise
        prepared.done()
        return prepared.planned
    finally:
        prepared.cleanup()


@dataclass(frozen=True)
class PreparedBuild:
    """A recipe read, checked and planned, its cache folder ready: what ``build`` runs, and
    what a batch (``builder.batch``) merges with other recipes' into one plan."""

    planned: BuildPlan
    recording: bool  # the cache's uses records are kept (a cached, real build)
    temp_work: Path | None  # a --no-cache build's own folder, removed afterwards
    # Every file the build writes beside the recipe (casts, captions, chapter lists) and the
    # cache folder that remembers them as castkit's (``cache.written``); none for --dry-run.
    writes: tuple[Path, ...] = ()
    records: Path | None = None

    def begin(self) -> None:
        if self.recording:
            # Until the build has succeeded, what it makes and what the casts were made of are
            # kept by prune: a build running, failed or killed loses no finished segment.
            for cast in self.planned.casts:
                record_uses(self.planned.cache, cast.output, cast.uses, pending=True)

    def done(self) -> None:
        if self.recording:
            for cast in self.planned.casts:
                record_uses(self.planned.cache, cast.output, cast.uses)
        self.record_written()
        if self.recording:
            # The cache keeps itself under its size: what no cast uses goes, oldest first.
            try:
                keep_under(self.planned.cache, cache_cap(self.planned.cache))
            except WorkError as exc:
                say("note", f"{exc}; the cache was not trimmed to its size")

    def record_written(self, since: int | None = None) -> None:
        """Record the files this build wrote as castkit's (``since``: only those written from
        that time on, for a build that failed part of the way)."""
        if self.records is None:
            return
        for path in self.writes:
            if since is not None:
                try:
                    if path.stat().st_mtime_ns < since:
                        continue
                except OSError:
                    continue
            record_written(self.records, path)

    def cleanup(self) -> None:
        if self.records is None:
            unrecorded(self.writes, keep=False)
        if self.temp_work is not None:
            shutil.rmtree(self.temp_work, ignore_errors=True)


def prepare_build(
    recipe_path: Path | str,
    output: Path | str | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    use_cache: bool = True,
    ffmpeg: Ffmpeg | None = None,
    others: Sequence[Path] = (),
) -> PreparedBuild:
    """Read, check and plan one recipe (raising its user or work error); nothing encoded.
    ``others``: the files the other recipes of a batch read, which this one may not write
    either, with --force or without."""
    recipe, problems = read_recipe(recipe_path)
    if output is not None:  # -o: this one file instead of the recipe's outputs
        recipe = replace(recipe, outputs=(OutputSpec(Path(output)),))
        if recipe.outputs[0].is_image and recipe.outputs[0].kind is None:
            raise UsageError(f"{output}: a still needs 'at:' (a poster) or 'every:' (a sprite "
                             "sheet): name it in the recipe's outputs")
    ffmpeg = ffmpeg or find_ffmpeg()
    indexes = readings(recipe, ffmpeg)
    checked = check_recipe(recipe, ffmpeg, problems)
    for path, reading in indexes.items():
        reading.join()
        checked.indexes.setdefault(path, reading.index)
    records = cache_dir(recipe)  # where castkit remembers what it wrote, --no-cache or not
    mine = partial(why_not_replaceable, records)
    inputs = [*recipe.sources(), *others]  # in a batch, no recipe's output is any recipe's input
    writes: list[Path] = []
    for spec in recipe.outputs:
        check_output(spec.path, inputs, force or dry_run, CAST_SUFFIXES, mine)
        check_not_in_cache(spec.path, records)
        writes.append(spec.path)
        for sidecar in sidecar_paths(recipe, spec):
            check_output(sidecar, inputs, force or dry_run, (sidecar.suffix,), mine)
            check_not_in_cache(sidecar, records)
            writes.append(sidecar)
    if use_cache and not dry_run:
        cache_cap(records)  # a CASTKIT_CACHE_MAX that means nothing is said before any work
    temp_work = None
    if use_cache or dry_run:
        work = cache_dir(recipe)
    else:
        work = Path(tempfile.mkdtemp(prefix=".castkit-build-", dir=_writable_parent(recipe.output)))
        temp_work = work
    try:
        if not dry_run:
            made = not work.exists()
            try:
                work.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkError(f"{work}: cannot create the segment cache ({exc.strerror})") from None
            if use_cache and (made or work.name == CACHE_NAME):
                # Only a folder that is castkit's alone: CASTKIT_CACHE_DIR may name one of the
                # user's, and backup tools skip a tagged folder whole.
                mark_cache(work)
            if use_cache:
                try:
                    remove_dead_temps(work)
                except WorkError:
                    pass  # a cache that cannot be read or cleaned: what follows will say so
        planned = plan_build(checked, ffmpeg, work, use_cache=use_cache)
    except BaseException:
        if temp_work is not None:
            shutil.rmtree(temp_work, ignore_errors=True)
        raise
    # --no-cache makes no cache folder; where there is one, what the build writes is recorded.
    keeps_records = not dry_run and (use_cache or records.is_dir())
    if not keeps_records and not dry_run:
        unrecorded(writes)  # nothing to hash while the casts are written
    return PreparedBuild(planned, use_cache and not dry_run, temp_work,
                         tuple(dict.fromkeys(writes)), records if keeps_records else None)


def _writable_parent(output: Path) -> Path:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkError(f"{output.parent}: cannot create the output folder ({exc.strerror})") from None
    return output.parent
