"""Running plans: the seam between castkit's pure plans and the processes that do the work.

``FfmpegRunner`` runs each job's ffmpeg with its output under a temporary name in the output's
own folder and renames it only when ffmpeg succeeded, so a failed or interrupted run leaves no
file that looks finished. ``DryRunRunner`` prints the shell commands instead. Tests replace
either with anything that has a ``run(plan)`` method.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shlex
import subprocess
import sys
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Protocol, Sequence, TextIO

from castkit.base.files import publish_once, remove_stale_partials, write_error
from castkit.base.jobs import Job, Plan
from castkit.base.progress import Progress, say
from castkit.base.stops import signals_held
from castkit.cache.seals import digest, seal, sealed
from castkit.errors import CastkitError, FfmpegFailed, FfmpegStalled, Interrupted, WorkError
from castkit.media.ffmpeg import dies_with_castkit, short_arguments, stderr_tail
from castkit.media.pictures import run_job as run_pictures
from castkit.run.local import (
    drain, Executor, feed_stdin, ffmpeg_env, is_cache_segment, LocalExecutor, remove_quietly,
    Sink, stop_process,
)
from castkit.run.stall import Watchdog


def available_cores() -> int:
    """The cores castkit may use: those this process may run on (taskset, a cpuset), not
    every core the machine has. (A CPU quota, such as docker's --cpus, is not seen.)"""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Runner(Protocol):
    def run(self, plan: Plan) -> None: ...


class DryRunRunner:
    """Prints every job as copy-pastable shell, in order; runs nothing."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout

    def run(self, plan: Plan) -> None:
        made: set[Path] = set()
        for job in plan.jobs:
            folders = [job.output.parent] + [path.parent for path, _ in job.writes]
            new = [f for f in dict.fromkeys(folders) if f not in made]
            made.update(new)
            mkdir = shlex.join(["mkdir", "-p", *map(str, new)]) + "\n" if new else ""
            self.stream.write(f"# {job.label}\n{mkdir}{job.shell()}\n")
        self.stream.flush()


class _Sinks:
    """Every open sink of a plan, fed as one: each takes only the parts it is made of
    (``taken``: the outputs some sink has had bytes of)."""

    def __init__(self, sinks: list) -> None:
        self.sinks = sinks
        self.taken: set[Path] = set()

    def feed(self, output: Path, written: Path, available: int) -> None:
        took = [sink.feed(output, written, available) for _, sink in self.sinks]
        if any(took) and available > 0:
            self.taken.add(output)


def _check_complete(job: Job, written: Path) -> None:
    """ffmpeg said it succeeded: make sure the output holds every frame it should."""
    if job.size is None:
        return
    size = written.stat().st_size
    if size != job.size:
        frame = job.size // job.frames if job.frames else 1
        raise WorkError(
            f"{job.label}: ffmpeg wrote {size // frame} of {job.frames} frames "
            f"({size} bytes, not {job.size}); nothing was kept"
        )


def _warn_stderr(message: str) -> None:
    say("warning", message)


def _same_entry(entry: Path, job: Job, content: str, size: int) -> bool:
    """Whether the cache ``entry`` already there is the one ``job`` made (``content``: our
    file's digest, ``size`` its bytes): sealed, and of the size the job's encode has (where it
    is known); or not sealed yet but the very bytes. That is another build sharing the cache
    that named the same segment a moment ago and is about to seal it: replacing it then, after
    this check, could change the file under that build's join ("changed while it was being
    read": the likely cause of a one-off failure of two builds on a cold cache under load)."""
    if sealed(entry):
        return job.size is None or entry.stat().st_size == job.size
    return entry.stat().st_size == size and digest(entry) == content


class FfmpegRunner:
    """Runs a plan's stages in order and each stage's jobs ``workers`` at a time (default:
    one per available core).

    At the first job that fails, every job is stopped and its error raised; with
    ``keep_going`` (a batch of recipes) the jobs that do not need the failed one's output run
    on, those that do are not started, and ``failures`` maps each output not made to why: one
    recipe whose capture ffmpeg cannot encode does not cost the other casts."""

    def __init__(
        self,
        progress: Progress | None = None,
        workers: int | None = None,
        executor: "Executor | None" = None,
    ) -> None:

        self.progress = progress or Progress.quiet()
        # Where encodes run: here (ffmpeg as a child), or on a cluster (``run.farm``). The
        # pool below keeps as many jobs in flight as the executor has slots.
        self.executor = executor or LocalExecutor()
        self.workers = max(1, workers or self.executor.slots or available_cores())
        self.warn = _warn_stderr  # tests replace it to collect warnings
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.keep_going = False
        self.failures: dict[Path, CastkitError] = {}
        self._made: list[Path] = []  # outputs this run has put in place, in order
        self._seal = True  # seal cache segments (Plan.seal)

    def run(self, plan: Plan) -> None:
        self.failures = {}
        self._made = []
        self._seal = plan.seal
        jobs = plan.jobs
        self.progress.begin(sum(job.frames for job in jobs), len(jobs))
        stages, sinks = plan.stages, []
        sink = _Sinks(sinks)
        # Last-stage jobs that read another's output (a cast's captions and chapters list need
        # the cast) run after the rest of it: a cast whose join failed gets no sidecar files,
        # which a rerun would find in its way.
        late: tuple[Job, ...] = ()
        if stages:
            finals = {job.output for job in stages[-1]}
            late = tuple(job for job in stages[-1] if finals & (set(job.reads()) - {job.output}))
            if late:
                first = tuple(job for job in stages[-1] if job not in late)
                stages = (*stages[:-1], first) if first else stages[:-1]
        try:
            if len(stages) > 1:
                # Last-stage jobs that can begin early (the byte join of a raw DV cast) take
                # the segments while they are encoded; the others run after the encodes.
                rest = []
                for job in stages[-1]:
                    with signals_held():  # a stop right after the cast's temp file is made
                        opened = job.open_sink()
                    if opened is None:
                        rest.append(job)
                    else:
                        sinks.append((job, opened))
                if sinks:
                    stages = (*stages[:-1], tuple(rest)) if rest else stages[:-1]
                    produced = {job.output for stage in stages for job in stage}
                    for _, opened in sinks:
                        opened.prefill(produced)
            for stage in stages:
                self._run_stage(stage, sink if sinks else None)
            while sinks:
                last, opened = sinks[0]
                if self._lacks_input(last):
                    opened.abort()
                    sinks.pop(0)
                    continue
                try:
                    note = opened.finish()
                except (CastkitError, OSError) as error:
                    if not self.keep_going:
                        raise
                    # This cast only (its disk full, say): the others go on.
                    self.failures[last.output] = (error if isinstance(error, CastkitError)
                                                  else write_error(last.output, error))
                    sinks.pop(0)
                    continue
                sinks.pop(0)
                self._made_one(last.output)
                self.progress.finished(str(id(last)), last.label, last.frames, note)
            if late:
                self._run_stage(late)
            if self.failures:
                raise next(iter(self.failures.values()))
        except BaseException as exc:
            for _, opened in sinks:
                opened.abort()
            # A stop as such (Ctrl-C, or a job's "stopped") is said with what it left; a job's
            # own account of it (a patched cast, complete) stands as it is.
            if isinstance(exc, KeyboardInterrupt) or (isinstance(exc, Interrupted)
                                                      and str(exc) == "stopped"):
                raise Interrupted(self._stopped(plan)) from None
            raise
        finally:
            self.progress.close()

    def _made_one(self, output: Path) -> None:
        with self._lock:
            self._made.append(output)

    def _stopped(self, plan: Plan) -> str:
        """What a stop left: the casts and sidecar files of the last stage (the joins) that were
        complete and in place before it, or none. Segments in the cache are not named: they
        are no one's output, and the next build uses them."""
        finals = {job.output for job in plan.stages[-1]} if plan.stages else set()
        with self._lock:
            made = [path for path in dict.fromkeys(self._made) if path in finals]
        if not made:
            return "stopped; no output was written"
        return ("stopped; written complete before the stop: " + ", ".join(str(p) for p in made)
                + "; no other output was written")

    def _lacks_input(self, job: Job) -> bool:
        """With ``keep_going``: whether ``job`` needs an output that was not made (recorded as
        its own failure, for what needs it in turn)."""
        if not self.failures:
            return False
        needs = set(job.reads())  # a loudness measurement's: every segment of the cast
        missing = [path for path in needs if path in self.failures]
        if missing:
            self.failures[job.output] = self.failures[missing[0]]
        return bool(missing)

    def _run_or_record(self, job: Job, sink: Sink | None = None) -> None:
        """``_run_job``, but with ``keep_going`` a job that fails (or cannot start for want of
        an input) is recorded in ``failures`` instead of stopping the others."""
        if not self.keep_going:
            return self._run_job(job, sink)
        if self._lacks_input(job):
            return None
        try:
            self._run_job(job, sink)
        except Interrupted:
            raise
        except CastkitError as error:
            self.failures[job.output] = error

    def _run_stage(self, stage: Sequence[Job], sink: Sink | None = None) -> None:
        if self.workers == 1 or len(stage) == 1:
            for job in stage:
                self._run_or_record(job, sink)
            return
        pool = ThreadPoolExecutor(max_workers=min(self.workers, len(stage)))
        futures = [pool.submit(self._run_or_record, job, sink) for job in stage]
        try:
            pending = set(futures)
            while pending:
                # Short waits, not one long one: the kernel may hand Ctrl-C or SIGTERM to a
                # worker thread, and Python's handler then runs only when the main thread
                # runs Python code again; a blocked wait would delay the stop to the end of
                # the stage, with every ffmpeg still encoding.
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                failed = [f for f in done if f.exception() is not None]
                if failed:
                    self._stop_all()
                    wait(futures)
                    raise failed[0].exception()  # type: ignore[misc]
        except BaseException:
            self._stop_all()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        """Stop every job of the run (from another thread): their ffmpegs are terminated and
        the run ends as interrupted, leaving nothing partial."""
        self._stop_all()

    def _stop_all(self) -> None:
        self.stopping.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()

    def _run_job(self, job: Job, sink: Sink | None = None) -> None:
        if self.stopping.is_set():
            return
        if job.in_process:  # no ffmpeg: the byte join of a raw DV cast, a sidecar file
            try:
                note = job.render()
            except OSError as exc:  # a full or read-only disk: the system failed (exit 1)
                raise write_error(job.output, exc) from None
            self._made_one(job.output)
            self.progress.finished(str(id(job)), job.label, job.frames, note or "done")
            return
        temp: Path | None = None
        try:
            # Everything this job puts on disk (its concat list, its temporary output) is
            # removed on every way out, an interruption included: only the renamed, finished
            # output may stay. What a killed run left for this output goes first.
            remove_stale_partials(job.output)
            for path, text in job.writes:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            # The executor draws the job's card (if any) and runs its ffmpeg into a temporary
            # name beside the output; what follows (checks, seal, rename) is always done here.
            try:
                temp = self.executor.encode(job, self, sink)
            except FfmpegStalled as hung:
                # A race among ffmpeg's threads (``run.stall``): the same encode runs through
                # the next time. Not once a cast being joined took bytes of its output.
                if self.stopping.is_set() or (isinstance(sink, _Sinks) and job.output in sink.taken):
                    raise
                self._warn_apart(f"{str(hung).splitlines()[0]}; running it again")
                temp = self.executor.encode(job, self, sink)
            _check_complete(job, temp)
            for step in job.finish:  # e.g. an AVI cast's DV timecode, counted on across segments
                step.apply(temp)
            sealing = self._seal and is_cache_segment(job.output)
            # Hashed now, while the file is still in the page cache; sealed once it has its name.
            content = digest(temp) if sealing else None
            if content is None:
                os.replace(temp, job.output)
            else:
                size = temp.stat().st_size
                placed = publish_once(temp, job.output, lambda entry: _same_entry(entry, job, content, size))
                # Not placed: another build sharing the cache made this very segment meanwhile,
                # and it stays (a join of that build may be reading it); ours is gone. Sealed
                # here too if that build has not yet: the same bytes, the same seal.
                if placed or not sealed(job.output):
                    seal(job.output, content, size)
            temp = None
            if sink is not None:
                sink.feed(job.output, job.output, job.output.stat().st_size)
        except OSError as exc:
            raise write_error(job.output, exc) from None
        finally:
            if temp is not None:
                remove_quietly(temp)
            for path, _ in job.writes:
                remove_quietly(path)
        self._made_one(job.output)
        self.progress.finished(str(id(job)), job.label, job.frames)

    def run_ffmpeg(self, job: Job, original: Job, sink: Sink | None = None) -> None:
        """Run ``job`` (``original`` writing to a temporary name): its ffmpeg, or for a job with
        distinct pictures (``media.pictures``) the ffmpeg that encodes them and then the job's own,
        fed by castkit; the files between the two go with the job, however it ends."""
        pictures = job.pictures
        if pictures is None:
            return self._process(job.argv, original, sink, job.output)

        def first(argv: list[str], fds: tuple[int, ...], started: Callable) -> None:
            self._process(argv, original, progress=pictures.frames_done, pass_fds=fds,
                          started=started)

        def second(feed: Callable[[int], None], started: Callable, waiting: Callable[[], bool]) -> None:
            self._process(job.argv, original, sink, job.output, feed=feed,
                          progress=_no_progress, started=started, waiting=waiting)

        run_pictures(pictures, job.output, first, second)

    def _process(self, argv: Sequence[str], original: Job, sink: Sink | None = None,
                 written: Path | None = None, feed: Callable[[int], None] | None = None,
                 progress: Callable[[str], int | None] | None = None,
                 pass_fds: tuple[int, ...] = (), started: Callable | None = None,
                 waiting: Callable[[], bool] | None = None) -> None:
        """One ffmpeg of ``original``'s: its progress reported (``progress`` reads a line of
        ``-progress``; by default its frame count), the file it is ``written`` to fed to the
        ``sink`` as it grows, (``feed``) its stdin written by a thread of castkit's, the file
        descriptors ``pass_fds`` inherited, and ``started`` told of the process; stopped if it
        hangs (``run.stall``; not while ``waiting()`` says it waits for another process)."""
        argv = [argv[0], "-progress", "pipe:1", "-nostats", *argv[1:]]
        tail: collections.deque[str] = collections.deque(maxlen=40)
        proc: subprocess.Popen | None = None
        readers: list[threading.Thread] = []
        fed: list[BaseException] = []
        key = str(id(original))
        progress = progress or _frame_count
        counted: int | None = None  # the frames ffmpeg last said it wrote (its own count only)
        files = contextlib.ExitStack()  # a long filter graph given to ffmpeg as a file (media.ffmpeg)
        watchdog: Watchdog | None = None
        short = files.enter_context(short_arguments(argv))
        try:
            # From the moment ffmpeg exists, every way out (Ctrl-C and SIGTERM included) goes
            # through stop_process: no ffmpeg outlives castkit.
            with signals_held():
                try:
                    proc = subprocess.Popen(
                        # It dies with castkit, even after a kill -9 of castkit.
                        dies_with_castkit(short), stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        # Its own process group: a Ctrl-C reaches castkit, which stops ffmpeg
                        # itself after it has decided what to clean up.
                        start_new_session=True,
                        env=ffmpeg_env(), pass_fds=pass_fds,
                    )
                except OSError as exc:
                    raise WorkError(f"cannot start {argv[0]}: {exc.strerror}") from None
                with self._lock:
                    self._procs.add(proc)
                    stopping = self.stopping.is_set()
            if started is not None:
                started(proc)
            if stopping:  # _stop_all ran between this job's start and its Popen
                proc.terminate()
            reader = threading.Thread(target=drain, args=(proc.stderr, tail), daemon=True)
            reader.start()
            readers.append(reader)  # only once started: a stop in between must not join it
            if feed is not None:
                assert proc.stdin is not None
                writer = threading.Thread(target=feed_stdin, args=(feed, proc.stdin, fed), daemon=True)
                writer.start()
                readers.append(writer)
            watchdog = Watchdog(proc, waiting=waiting)
            watchdog.start()
            readers.append(watchdog)
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("ascii", "replace").strip()
                watchdog.saw(line)
                done = progress(line)
                if done is not None:
                    self.progress.update(key, done)
                    counted = done if progress is _frame_count else None
                elif line.startswith("progress=") and sink is not None and written is not None:
                    # What ffmpeg has written so far goes into the cast while it encodes on.
                    sink.feed(original.output, written, written.stat().st_size)
            proc.wait()
        except BaseException:
            if proc is not None:
                stop_process(proc)
            raise
        finally:
            if watchdog is not None:
                watchdog.stop()
            for reader in readers:
                reader.join(timeout=5)
            with self._lock:
                self._procs.discard(proc)
            files.close()
        if self.stopping.is_set() and proc.returncode != 0:
            raise Interrupted("stopped")
        if watchdog is not None and watchdog.stalled:
            raise FfmpegStalled(original.label, watchdog.stall, stderr_tail("\n".join(tail)))
        if fed and not isinstance(fed[0], CastkitError):
            raise WorkError(f"{original.label}: feeding ffmpeg failed ({fed[0]})")
        if proc.returncode != 0:
            raise FfmpegFailed(original.label, proc.returncode, stderr_tail("\n".join(tail)))
        if fed:
            raise fed[0]
        said = "\n".join(tail)
        if counted == 0 and original.frames > 0:
            # A picture stream that got no frame: ffmpeg succeeds, and 5.1 leaves the stream
            # out of the file (a one-frame clip with overlays: its fps filter had nothing to
            # repeat). Kept, it was cached and every later build failed at the join.
            raise WorkError("\n".join(filter(None, (f"{original.label}: ffmpeg wrote no picture of the "
                                                    f"{original.frames} frames asked; nothing was kept",
                                                    stderr_tail(said)))))
        self.report_damage(original.label, said)

    def report_damage(self, label: str, stderr: str) -> None:
        """What a successful ffmpeg said on stderr, as a warning. castkit runs ffmpeg at
        -loglevel error, where a clean input gets no comment: what it said while still
        succeeding is damage it worked around (a capture cut short, a corrupt page), the
        output holds what could be decoded, and the user must know."""
        said = stderr_tail(stderr, lines=6)
        if said:
            self._warn_apart(
                f"{label}: ffmpeg reported damage in the input (cut short or "
                f"corrupt?); the output holds what could be decoded:\n{said}"
            )

    def _warn_apart(self, message: str) -> None:
        """A warning, on a line of its own while the progress bar is drawn."""
        if self.progress.mode == "bar":
            self.progress.stream.write("\r\x1b[K")
        self.warn(message)


def _frame_count(line: str) -> int | None:
    if line.startswith("frame="):
        try:
            return int(line[6:])
        except ValueError:
            return None
    return None


def _no_progress(line: str) -> None:  # noqa: ARG001 - a fed ffmpeg copies what was counted
    return None
