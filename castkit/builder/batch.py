"""``castkit build A.yaml B.yaml ...``: several recipes as one plan, and what became of each.

Each recipe is read, checked and planned as ``build`` does (``prepare_build``); a recipe that
cannot be (a mistake in it, a missing source, an output that exists) is reported and left out,
and the others go on. The plans are then merged stage by stage into one: one pool of encodes,
longest first, one progress display. Recipes with the same cache folder plan the same segment
under the same cache name (the key is everything that determines its bytes), so a segment that
several casts share (the course's intro card) is one job; recipes with different cache folders
share nothing.

A failure while the merged plan runs (ffmpeg failed on one capture, a full disk) costs only the
casts that need what failed: the runner keeps going with every job that does not (its
``keep_going``), and each recipe is reported built or not with its own cause. A stop (Ctrl-C)
stops the whole batch; casts already joined stay.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from castkit.base.jobs import Plan
from castkit.builder.build import prepare_build, PreparedBuild
from castkit.builder.plan import BuildPlan
from castkit.cache.records import unwritable_caches
from castkit.errors import CastkitError, Interrupted, UsageError, UserError
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.publish.loudness import LoudnessStep
from castkit.recipe.reader import read_recipe
from castkit.run.runner import FfmpegRunner, Runner


@dataclass(frozen=True)
class Outcome:
    """One recipe of a batch: the plan it was built from, or the error that kept it out."""

    recipe: Path
    planned: BuildPlan | None = None  # with an error too: planned, but failed while running
    error: CastkitError | None = None

    @property
    def ok(self) -> bool:
        return self.planned is not None and self.error is None


@dataclass(frozen=True)
class BatchResult:
    outcomes: tuple[Outcome, ...]
    # What stopped the run of the merged plan (ffmpeg failed, a full disk); the recipes it
    # kept from being built have it as their error.
    run_error: CastkitError | None = None

    @property
    def exit_status(self) -> int:
        """0: every recipe built; 2: the only failures were the user's (recipe, input, usage:
        fix and run again); 1: ffmpeg or the system failed somewhere."""
        errors = [o.error for o in self.outcomes if o.error is not None]
        if not errors:
            return 0
        return 2 if all(isinstance(e, UserError) for e in errors) else 1


def one_line(recipe: Path, error: CastkitError) -> str:
    """An error about one recipe on one line, naming the recipe: a recipe's many problems are
    its first and a count (``castkit build RECIPE`` shows them all)."""
    lines = str(error).splitlines() or [type(error).__name__]
    text = lines[0]
    if len(lines) > 1:
        text += f" (and {len(lines) - 1} more line{'s' if len(lines) > 2 else ''}; " \
                f"`castkit build {recipe}` shows all)"
    if not text.startswith(str(recipe)):
        text = f"{recipe}: {text}"
    return text


def merge(plans: Sequence[Plan]) -> Plan:
    """One plan of several: every plan's encodes in one stage (each segment once, by its
    cache file), then the loudness gains, then every join and sidecar file. Each plan's last
    stage is its joins (``plan_build`` always ends so); the gains are the jobs that measure
    the cast's sound first."""
    encodes: dict[Path, object] = {}
    gains: dict[Path, object] = {}
    finals: list = []
    for plan in plans:
        if not plan.stages:
            continue
        *work, last = plan.stages
        for stage in work:
            for job in stage:
                gain = any(isinstance(step, LoudnessStep) for step in getattr(job, "prepare", ()))
                (gains if gain else encodes).setdefault(job.output, job)
        for job in last:
            # "join 3 segments" says nothing among several casts: name the cast.
            if dataclasses.is_dataclass(job) and job.output.name not in job.label:
                job = dataclasses.replace(job, label=f"{job.label} into {job.output.name}")
            finals.append(job)
    # Longest first across recipes, as within one (``builder.plan._cost`` without the source size,
    # which a job does not carry: the web frame's weight is the part that dominates).
    # A transition's overlap is made from encoded segments (plan.transitions): after them.
    made = set(encodes)
    after = {out: job for out, job in encodes.items() if made & set(getattr(job, "inputs", ()))}
    ordered = sorted((job for out, job in encodes.items() if out not in after), key=lambda job: -_weight(job))
    return Plan(tuple(stage for stage in (tuple(ordered), tuple(after.values()), tuple(gains.values()),
                                          tuple(finals))
                      if stage))


def _weight(job) -> float:
    profile = getattr(job, "profile", None)
    if profile is None or profile.segment_suffix == ".dv":
        return float(job.frames)
    raster = profile.raster
    return job.frames * 4 * raster.width * raster.height / (720 * 576)


def build_many(
    recipes: Sequence[Path],
    *,
    force: bool = False,
    dry_run: bool = False,
    use_cache: bool = True,
    runner: Runner | None = None,
    ffmpeg: Ffmpeg | None = None,
) -> BatchResult:
    """Build every recipe's casts as one plan. A recipe that cannot be planned is an outcome
    with its error; a failure while running stops the run (as in ``build``) and is the
    ``run_error``, and the error of each recipe whose casts it kept from being written."""
    unwritable_caches.clear()
    ffmpeg = ffmpeg or find_ffmpeg()
    outcomes: list[Outcome] = []
    prepared: list[tuple[int, PreparedBuild]] = []
    claimed: dict[str, Path] = {}  # an output's real path -> the recipe that writes it
    # No recipe's output may be any recipe's input, with --force too: each recipe's outputs
    # are checked against the sources of the whole batch, not its own alone.
    sources = _batch_sources(recipes)
    try:
        for recipe in recipes:
            try:
                ready = prepare_build(recipe, force=force, dry_run=dry_run, use_cache=use_cache,
                                      ffmpeg=ffmpeg, others=sources)
            except Interrupted:
                raise
            except CastkitError as error:
                outcomes.append(Outcome(recipe, error=error))
                continue
            # Every file the recipe writes beside the cache: its casts and their captions and
            # chapters lists (cast.mp4 and cast.dv of two recipes would share cast.srt).
            written = [job.output for job in ready.planned.plan.stages[-1]] if ready.planned.plan.stages else []
            clash = None
            for path in written:
                where = os.path.realpath(path)
                if where in claimed:
                    clash = UsageError(f"{path}: also an output of {claimed[where]}; "
                                       f"this recipe is left out")
                    break
            if clash is not None:
                ready.cleanup()
                outcomes.append(Outcome(recipe, error=clash))
                continue
            for path in written:
                claimed[os.path.realpath(path)] = recipe
            prepared.append((len(outcomes), ready))
            outcomes.append(Outcome(recipe, planned=ready.planned))
        if prepared:
            for _, ready in prepared:
                ready.begin()
            started = time.time_ns()
            runner = runner or FfmpegRunner()
            if hasattr(runner, "keep_going"):
                runner.keep_going = True
            try:
                runner.run(merge([ready.planned.plan for _, ready in prepared]))
            except Interrupted:
                raise
            except CastkitError as error:
                # The casts that needed what failed are not built (the cache keeps what was
                # encoded: a rerun resumes); the others were made (a runner that does not
                # keep going stopped them all: those whose join had finished are there).
                failures = getattr(runner, "failures", {})
                for index, ready in prepared:
                    why = next((failures[cast.output] for cast in ready.planned.casts
                                if cast.output in failures), None)
                    if why is None and not failures and not _written_since(ready.planned, started):
                        why = error
                    if why is None:
                        ready.done()
                    else:
                        outcomes[index] = Outcome(outcomes[index].recipe, ready.planned, why)
                return BatchResult(tuple(outcomes), run_error=error)
            for _, ready in prepared:
                ready.done()
        return BatchResult(tuple(outcomes))
    finally:
        for _, ready in prepared:
            ready.cleanup()


def _batch_sources(recipes: Sequence[Path]) -> list[Path]:
    """Every file that any of ``recipes`` reads, the recipes themselves included (a recipe
    that cannot be read names none: it is reported when it is prepared)."""
    found: list[Path] = []
    for recipe in recipes:
        found.append(Path(recipe))
        try:
            found += read_recipe(recipe)[0].sources()
        except CastkitError:
            continue
    return list(dict.fromkeys(found))


def _written_since(planned: BuildPlan, started: int) -> bool:
    try:
        return all(cast.output.stat().st_mtime_ns >= started for cast in planned.casts)
    except OSError:
        return False
