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
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Protocol, Sequence, TextIO

from ._ffmpeg import dies_with_castkit, stderr_tail
from ._pictures import PICTURES_SUFFIX
from ._pictures import run_job as run_pictures
from ._plan import Job, Plan
from ._progress import Progress, say
from .errors import CastkitError, FfmpegFailed, Interrupted, WorkError

PARTIAL_SUFFIX = ".partial"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; a finished output gets the mode any new file of the user's gets.
_FILE_MODE = 0o666 & ~_umask()


def available_cores() -> int:
    """The cores castkit may use: those this process may run on (taskset, a cpuset), not
    every core the machine has. (A CPU quota, such as docker's --cpus, is not seen.)"""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Runner(Protocol):
    def run(self, plan: Plan) -> None: ...


class Executor(Protocol):
    """What runs one job's work for ``FfmpegRunner`` (see ``_executor``): ``encode`` returns
    the temporary file, beside ``job.output``, that now holds the job's complete output (by
    ffmpeg's word); the runner checks, seals and renames it. ``slots``: jobs it runs at once
    (None: one per local core)."""

    slots: int | None

    def encode(self, job: Job, runner: "FfmpegRunner", sink: "Sink | None") -> Path: ...


class Sink(Protocol):
    """The work of a plan's last job when it can begin before the jobs it needs end (the byte
    join of a raw DV cast, see ``_join``). Told first which files the earlier jobs will
    produce (it may take the others at once), it is then fed each of them as it grows;
    ``finish`` completes it, ``abort`` undoes it."""

    def prefill(self, produced: set[Path]) -> None: ...

    def feed(self, output: Path, written: Path, available: int) -> None: ...

    def finish(self) -> str: ...

    def abort(self) -> None: ...


class DryRunRunner:
    """Prints every job as copy-pastable shell, in order; runs nothing."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout

    def run(self, plan: Plan) -> None:
        made: set[Path] = set()
        for job in plan.jobs:
            folders = [job.output.parent] + [path.parent for path, _ in getattr(job, "writes", ())]
            new = [f for f in dict.fromkeys(folders) if f not in made]
            made.update(new)
            mkdir = shlex.join(["mkdir", "-p", *map(str, new)]) + "\n" if new else ""
            self.stream.write(f"# {job.label}\n{mkdir}{job.shell()}\n")
        self.stream.flush()


class _Sinks:
    """Every open sink of a plan, fed as one: each takes only the parts it is made of."""

    def __init__(self, sinks: list) -> None:
        self.sinks = sinks

    def feed(self, output: Path, written: Path, available: int) -> None:
        for _, sink in self.sinks:
            sink.feed(output, written, available)


def partial_path(output: Path) -> Path:
    """A fresh, reserved temporary name beside ``output`` (same filesystem: rename is atomic):
    ``.NAME.<pid>-XXXXXXXX.partial``, the creator's process id in it so that a later run can
    tell a temporary file whose writer was killed (``kill -9``, a power cut) from one being
    written; the stale ones of ``output`` are removed here (see ``stale_partials``).

    A folder that cannot be made or written (a file in the way, a read-only or full disk) is a
    WorkError naming the folder: the system failed, not the user's command (exit 1).
    """
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise WorkError(
            f"{output.parent}: cannot create this folder: a file of that name is in the way"
        ) from None
    except OSError as exc:
        raise WorkError(f"{output.parent}: cannot create this folder ({exc.strerror})") from None
    remove_stale_partials(output, concat_list=False)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{output.name}.{os.getpid()}-", suffix=PARTIAL_SUFFIX, dir=output.parent
        )
    except OSError as exc:
        raise WorkError(f"{output.parent}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    os.chmod(name, _FILE_MODE)
    return Path(name)


# The temporary names partial_path gives (mkstemp's 8 random characters are [a-z0-9_]), and the
# join list of a cast. Nothing else beside an output is ever treated as castkit's debris.
CONCAT_SUFFIX = ".concat.txt"
# The small files a join reads besides its list (chapters, captions), one set per run.
RUN_FILE_SUFFIXES = (CONCAT_SUFFIX, ".ffmetadata", ".srt", ".vtt")
# A temporary output may have the files of its distinct pictures beside it (``_pictures``).
_TEMP_TAIL = re.compile(r"\.(?P<pid>[0-9]{1,10})(?:-[a-z0-9_]{8}" + re.escape(PARTIAL_SUFFIX)
                        + f"(?:{re.escape(PICTURES_SUFFIX)})?"
                        + "|" + "|".join(map(re.escape, RUN_FILE_SUFFIXES)) + ")")


def concat_list_path(output: Path) -> Path:
    """The join list of ``output`` for this run: ``.NAME.<pid>.concat.txt``. Two builds of one
    output at once each have their own (with one fixed name, one removed or rewrote the list
    the other's ffmpeg was reading); a killed run's is stale once its pid is gone. A plan names
    it, so what ``--dry-run`` prints is the same list under the same name."""
    return run_file_path(output, CONCAT_SUFFIX)


def run_file_path(output: Path, suffix: str) -> Path:
    """A file this run writes beside ``output`` for ffmpeg to read (``RUN_FILE_SUFFIXES``):
    ``.NAME.<pid>SUFFIX``, removed when the job ends, and by the next build if a kill -9
    left it."""
    if suffix not in RUN_FILE_SUFFIXES:
        raise ValueError(f"{suffix}: not a run file")
    return output.parent / f".{output.name}.{os.getpid()}{suffix}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's live process (or no way to tell): never touch its file
    return True


def stale_partials(output: Path, concat_list: bool = True) -> list[Path]:
    """The leftovers of runs that wrote ``output`` and were killed before they could clean up:
    its temporary files whose creating process is gone, and (``concat_list``) its join list
    ``.NAME.concat.txt`` when no live process is writing ``output``. Only regular files
    (never symlinks) with exactly these names; a temporary file of a live process (this one
    included) is never stale."""
    folder = output.parent
    prefix = f".{output.name}"
    stale: list[Path] = []
    live = False
    concat = None
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if not name.startswith(prefix):
                    continue
                rest = name[len(prefix):]
                if rest == CONCAT_SUFFIX:
                    concat = entry
                    continue
                match = _TEMP_TAIL.fullmatch(rest)
                if match is None:
                    continue
                if _alive(int(match["pid"])):
                    live = True
                elif entry.is_file(follow_symlinks=False):
                    stale.append(folder / name)
    except OSError:
        return []
    if concat_list and concat is not None and not live and concat.is_file(follow_symlinks=False):
        stale.append(folder / concat.name)
    return sorted(stale)


def remove_stale_partials(output: Path, concat_list: bool = True) -> list[Path]:
    """Remove what ``stale_partials`` finds; returns the files removed (a file that cannot be
    removed, or that vanished meanwhile, is left to the next run)."""
    removed = []
    for path in stale_partials(output, concat_list):
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def write_atomically(output: Path, write: Callable[[Path], object]) -> None:
    """``write(temp)`` to a reserved name beside ``output``, then rename it to ``output``; on
    any failure the temporary file goes and ``output`` is as it was."""
    temp = partial_path(output)
    try:
        write(temp)
        os.replace(temp, output)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full or read-only disk: one line, exit 1
            raise write_error(output, exc) from None
        raise


def write_error(output: Path, exc: OSError) -> WorkError:
    """An OSError met while producing ``output`` (a full disk, a vanished segment) as a
    one-line WorkError naming the file it is about, instead of a traceback."""
    where = exc.filename or output
    return WorkError(f"{where}: {exc.strerror or exc} (while writing {output.name})")


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


def _identity(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _identities(paths: Sequence[Path]) -> list[tuple | None]:
    return [_identity(path) for path in paths]


def _check_unchanged(paths: Sequence[Path], before: list[tuple | None]) -> None:
    """A source written to while ffmpeg read it (a capture still being recorded, truncated,
    copied over) gives an output of neither version, which the cache would keep under the
    identity the file had before: refuse it. ctime and inode catch a change that restores
    the size and modification time."""
    for path, then in zip(paths, before):
        if _identity(path) != then:
            raise WorkError(f"{path}: changed while it was being read; build again")


def _cache_entry(output: Path):
    """The cache module if ``output`` is a segment of the cache (to be sealed), else None."""
    from . import _cache  # _cache builds on this module

    return _cache if _cache.SEGMENT.fullmatch(output.name) else None


def _warn_stderr(message: str) -> None:
    say("warning", message)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


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
        from ._executor import LocalExecutor  # it builds on this module

        self.progress = progress or Progress.quiet()
        # Where encodes run: here (ffmpeg as a child), or on a cluster (``_executor``). The
        # pool below keeps as many jobs in flight as the executor has slots.
        self.executor = executor or LocalExecutor()
        self.workers = max(1, workers or self.executor.slots or available_cores())
        self.warn = _warn_stderr  # tests replace it to collect warnings
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.keep_going = False
        self.failures: dict[Path, CastkitError] = {}

    def run(self, plan: Plan) -> None:
        self.failures = {}
        jobs = plan.jobs
        self.progress.begin(sum(job.frames for job in jobs), len(jobs))
        stages, sinks = plan.stages, []
        sink = _Sinks(sinks)
        try:
            if len(stages) > 1:
                # Last-stage jobs that can begin early (the byte join of a raw DV cast) take
                # the segments while they are encoded; the others run after the encodes.
                rest = []
                for job in stages[-1]:
                    opened = None
                    if hasattr(job, "open_sink"):
                        with _signals_held():  # a stop right after the cast's temp file is made
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
                self.progress.finished(str(id(last)), last.label, last.frames, note)
            if self.failures:
                raise next(iter(self.failures.values()))
        except BaseException as exc:
            for _, opened in sinks:
                opened.abort()
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("stopped; no output was written") from None
            raise
        finally:
            self.progress.close()

    def _lacks_input(self, job: Job) -> bool:
        """With ``keep_going``: whether ``job`` needs an output that was not made (recorded as
        its own failure, for what needs it in turn)."""
        if not self.failures:
            return False
        needs = set(getattr(job, "inputs", ())) | {part.path for part in getattr(job, "parts", ())}
        for step in getattr(job, "prepare", ()):  # a loudness measurement reads every segment
            needs |= set(getattr(step, "parts", ()))
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

    def _stop_all(self) -> None:
        self._stopping.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()

    def _run_job(self, job: Job, sink: Sink | None = None) -> None:
        if self._stopping.is_set():
            return
        if hasattr(job, "render"):  # done in-process, no ffmpeg: the byte join of a raw DV cast
            try:
                note = job.render()
            except OSError as exc:  # a full or read-only disk: the system failed (exit 1)
                raise write_error(job.output, exc) from None
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
            temp = self.executor.encode(job, self, sink)
            _check_complete(job, temp)
            for step in job.finish:  # e.g. an AVI cast's DV timecode, counted on across segments
                step.apply(temp)
            sealing = _cache_entry(job.output)
            # Hashed now, while the file is still in the page cache; sealed once it has its name.
            content = sealing.digest(temp) if sealing else None
            os.replace(temp, job.output)
            temp = None
            if sealing:
                sealing.seal(job.output, content, job.output.stat().st_size)
            if sink is not None:
                sink.feed(job.output, job.output, job.output.stat().st_size)
        except OSError as exc:
            raise write_error(job.output, exc) from None
        finally:
            if temp is not None:
                _remove(temp)
            for path, _ in job.writes:
                _remove(path)
        self.progress.finished(str(id(job)), job.label, job.frames)

    def _ffmpeg(self, job: Job, original: Job, sink: Sink | None = None) -> None:
        """Run ``job`` (``original`` writing to a temporary name): its ffmpeg, or for a job with
        distinct pictures (``_pictures``) the ffmpeg that encodes them and then the job's own,
        fed by castkit; the files between the two go with the job, however it ends."""
        pictures = job.pictures
        if pictures is None:
            return self._process(job.argv, original, sink, job.output)

        def first(argv: list[str], fds: tuple[int, ...], started: Callable) -> None:
            self._process(argv, original, progress=pictures.frames_done, pass_fds=fds,
                          started=started)

        def second(feed: Callable[[int], None], started: Callable) -> None:
            self._process(job.argv, original, sink, job.output, feed=feed,
                          progress=_no_progress, started=started)

        run_pictures(pictures, job.output, first, second)

    def _process(self, argv: Sequence[str], original: Job, sink: Sink | None = None,
                 written: Path | None = None, feed: Callable[[int], None] | None = None,
                 progress: Callable[[str], int | None] | None = None,
                 pass_fds: tuple[int, ...] = (), started: Callable | None = None) -> None:
        """One ffmpeg of ``original``'s: its progress reported (``progress`` reads a line of
        ``-progress``; by default its frame count), the file it is ``written`` to fed to the
        ``sink`` as it grows, (``feed``) its stdin written by a thread of castkit's, the file
        descriptors ``pass_fds`` inherited, and ``started`` told of the process."""
        argv = [argv[0], "-progress", "pipe:1", "-nostats", *argv[1:]]
        tail: collections.deque[str] = collections.deque(maxlen=40)
        proc: subprocess.Popen | None = None
        readers: list[threading.Thread] = []
        fed: list[BaseException] = []
        key = str(id(original))
        progress = progress or _frame_count
        try:
            # From the moment ffmpeg exists, every way out (Ctrl-C and SIGTERM included) goes
            # through _kill: no ffmpeg outlives castkit.
            with _signals_held():
                try:
                    proc = subprocess.Popen(
                        argv, stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        # Its own process group: a Ctrl-C reaches castkit, which stops ffmpeg
                        # itself after it has decided what to clean up.
                        start_new_session=True,
                        # ... and dies with castkit, even after a kill -9 of castkit.
                        preexec_fn=dies_with_castkit(),
                        env=_ffmpeg_env(), pass_fds=pass_fds,
                    )
                except OSError as exc:
                    raise WorkError(f"cannot start {argv[0]}: {exc.strerror}") from None
                with self._lock:
                    self._procs.add(proc)
                    stopping = self._stopping.is_set()
            if started is not None:
                started(proc)
            if stopping:  # _stop_all ran between this job's start and its Popen
                proc.terminate()
            drain = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
            drain.start()
            readers.append(drain)  # only once started: a stop in between must not join it
            if feed is not None:
                assert proc.stdin is not None
                writer = threading.Thread(target=_feed, args=(feed, proc.stdin, fed), daemon=True)
                writer.start()
                readers.append(writer)
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("ascii", "replace").strip()
                done = progress(line)
                if done is not None:
                    self.progress.update(key, done)
                elif line.startswith("progress=") and sink is not None and written is not None:
                    # What ffmpeg has written so far goes into the cast while it encodes on.
                    sink.feed(original.output, written, written.stat().st_size)
            proc.wait()
        except BaseException:
            if proc is not None:
                _kill(proc)
            raise
        finally:
            for reader in readers:
                reader.join(timeout=5)
            with self._lock:
                self._procs.discard(proc)
        if self._stopping.is_set() and proc.returncode != 0:
            raise Interrupted("stopped")
        if fed and not isinstance(fed[0], CastkitError):
            raise WorkError(f"{original.label}: feeding ffmpeg failed ({fed[0]})")
        if proc.returncode != 0:
            raise FfmpegFailed(original.label, proc.returncode, stderr_tail("\n".join(tail)))
        if fed:
            raise fed[0]
        self.report_damage(original.label, "\n".join(tail))

    def report_damage(self, label: str, stderr: str) -> None:
        """What a successful ffmpeg said on stderr, as a warning. castkit runs ffmpeg at
        -loglevel error, where a clean input gets no comment: what it said while still
        succeeding is damage it worked around (a capture cut short, a corrupt page), the
        output holds what could be decoded, and the user must know."""
        said = stderr_tail(stderr, lines=6)
        if said:
            if self.progress.mode == "bar":  # start the warning on a line of its own
                self.progress.stream.write("\r\x1b[K")
            self.warn(
                f"{label}: ffmpeg reported damage in the input (cut short or "
                f"corrupt?); the output holds what could be decoded:\n{said}"
            )


# SVT-AV1 writes its own banner and notes to stderr whatever ffmpeg's -loglevel: keep it to
# errors, so that what castkit shows of ffmpeg's stderr is only damage worth a warning.
def _ffmpeg_env() -> dict[str, str]:
    return {**os.environ, "SVT_LOG": os.environ.get("SVT_LOG", "1")}


def _frame_count(line: str) -> int | None:
    if line.startswith("frame="):
        try:
            return int(line[6:])
        except ValueError:
            return None
    return None


def _no_progress(line: str) -> None:  # noqa: ARG001 - a fed ffmpeg copies what was counted
    return None


def _feed(feed: Callable[[int], None], stdin, failed: list[BaseException]) -> None:
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


def _drain(stream, tail: collections.deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", "replace").rstrip())


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# Signals that arrived while the main thread was starting and registering an ffmpeg; see
# _signals_held. Touched only in the main thread (Python runs signal handlers there).
_held: list[int] = []
_holding = 0


def _stop_handler(signum, frame):  # noqa: ARG001
    if _holding:
        _held.append(signum)
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_held():
    """Hold back Ctrl-C and SIGTERM (with the handler below installed) while a child is being
    started and registered: raised between Popen's return and the registration, the stop
    would leave an ffmpeg that nobody knows about. The stop happens right after, in full."""
    global _holding
    if threading.current_thread() is not threading.main_thread():
        yield  # signals interrupt the main thread only; it stops the registered children
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _held:
            _held.clear()
            raise KeyboardInterrupt


@contextlib.contextmanager
def stops_deferred():
    """Hold back Ctrl-C and SIGTERM for a short step that must not be cut in half (patching
    the previous cast in place of itself); yields a list that, on the way out, says whether a
    stop came meanwhile: the caller then stops, saying what it completed."""
    global _holding
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came  # signals interrupt the main thread only
        return
    _holding += 1
    try:
        yield came
    finally:
        _holding -= 1
        if not _holding and _held:
            came.extend(_held)
            _held.clear()


def install_sigterm_handler() -> None:
    """Turn SIGTERM into the same orderly stop as Ctrl-C (children stopped, temps removed),
    and let both wait for the few lines that start and register a child."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_handler)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _stop_handler)

