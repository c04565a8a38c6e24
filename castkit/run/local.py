"""Running ffmpeg here, as castkit's own child: the ``LocalExecutor``, and what the runner and
the farm's workers share for it (the environment ffmpeg runs in, feeding its stdin, draining
its stderr, stopping it, and telling a source that changed while it was read).

The protocols say what an executor is (``Executor``), what it may ask of the runner that
hands it a job (``JobRunner``), and what a join fed while its segments grow is (``Sink``).
"""

from __future__ import annotations

import collections
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from castkit.base.files import partial_path, path_identity
from castkit.base.jobs import Job
from castkit.cache.names import SEGMENT
from castkit.errors import WorkError


class Executor(Protocol):
    """What runs one job's work for ``FfmpegRunner`` (see ``run.farm``): ``encode`` returns
    the temporary file, beside ``job.output``, that now holds the job's complete output (by
    ffmpeg's word); the runner checks, seals and renames it. ``slots``: jobs it runs at once
    (None: one per local core)."""

    slots: int | None

    def encode(self, job: Job, runner: JobRunner, sink: Sink | None) -> Path: ...


class JobRunner(Protocol):
    """What an executor may ask of the runner that hands it a job (``run.runner.FfmpegRunner``):
    run a job's ffmpeg here with progress and the sink fed, report what a successful ffmpeg
    said of damage, its progress display, and whether the run is stopping."""

    progress: Any
    stopping: threading.Event

    def run_ffmpeg(self, job: Job, original: Job, sink: Sink | None = None) -> None: ...

    def report_damage(self, label: str, stderr: str) -> None: ...


class Sink(Protocol):
    """The work of a plan's last job when it can begin before the jobs it needs end (the byte
    join of a raw DV cast, see ``outputs.join``). Told first which files the earlier jobs will
    produce (it may take the others at once), it is then fed each of them as it grows;
    ``finish`` completes it, ``abort`` undoes it."""

    def prefill(self, produced: set[Path]) -> None: ...

    def feed(self, output: Path, written: Path, available: int) -> bool: ...  # whether it is a part

    def finish(self) -> str: ...

    def abort(self) -> None: ...


def identities(paths: Sequence[Path]) -> list[tuple | None]:
    return [path_identity(path) for path in paths]


def check_unchanged(paths: Sequence[Path], before: list[tuple | None]) -> None:
    """A source written to while ffmpeg read it (a capture still being recorded, truncated,
    copied over) gives an output of neither version, which the cache would keep under the
    identity the file had before: refuse it. ctime and inode catch a change that restores
    the size and modification time."""
    for path, then in zip(paths, before):
        if path_identity(path) != then:
            raise WorkError(f"{path}: changed while it was being read; build again")


def is_cache_segment(output: Path) -> bool:
    """Whether ``output`` is a segment of the cache (sealed once written)."""
    return SEGMENT.fullmatch(output.name) is not None


def remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# SVT-AV1 writes its own banner and notes to stderr whatever ffmpeg's -loglevel: keep it to
# errors, so that what castkit shows of ffmpeg's stderr is only damage worth a warning.
def ffmpeg_env() -> dict[str, str]:
    return {**os.environ, "SVT_LOG": os.environ.get("SVT_LOG", "1")}


def feed_stdin(feed: Callable[[int], None], stdin, failed: list[BaseException]) -> None:
    """A thread's work: ``feed`` an ffmpeg's stdin, then close it (its end of input). What
    goes wrong is kept for the runner, which reports it after ffmpeg's own status."""
    try:
        feed(stdin.fileno())
    except BaseException as exc:  # noqa: BLE001 - handed to _process, in the job's thread
        failed.append(exc)
    finally:
        try:
            stdin.close()
        except OSError:  # ffmpeg gone (stopped, or failed): its status says why
            pass


def drain(stream, tail: collections.deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", "replace").rstrip())


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class LocalExecutor:
    """ffmpeg as castkit's own child, with live progress and the raw DV join fed while it
    writes (``JobRunner.run_ffmpeg``)."""

    slots: int | None = None

    def encode(self, job: Job, runner: JobRunner, sink: Sink | None) -> Path:
        for step in job.prepare:  # a title's card, drawn just before its encode
            step.render()
        temp = partial_path(job.output)
        try:
            before = identities(job.inputs)
            runner.run_ffmpeg(job.with_output(temp), job, sink)
            check_unchanged(job.inputs, before)
        except BaseException:
            remove_quietly(temp)
            raise
        return temp
