"""Running plans: the seam between castkit's pure plans and the processes that do the work.

``FfmpegRunner`` runs each job's ffmpeg with its output under a temporary name in the output's
own folder and renames it only when ffmpeg succeeded, so a failed or interrupted run leaves no
file that looks finished. ``DryRunRunner`` prints the shell commands instead. Tests replace
either with anything that has a ``run(plan)`` method.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Protocol, Sequence, TextIO

from ._ffmpeg import stderr_tail
from ._plan import Job, Plan
from ._progress import Progress
from .errors import FfmpegFailed, Interrupted, WorkError

PARTIAL_SUFFIX = ".partial"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; a finished output gets the mode any new file of the user's gets.
_FILE_MODE = 0o666 & ~_umask()


class Runner(Protocol):
    def run(self, plan: Plan) -> None: ...


class DryRunRunner:
    """Prints every job as copy-pastable shell, in order; runs nothing."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout

    def run(self, plan: Plan) -> None:
        for job in plan.jobs:
            self.stream.write(f"# {job.label}\n{job.shell()}\n")
        self.stream.flush()


def partial_path(output: Path) -> Path:
    """A fresh, reserved temporary name beside ``output`` (same filesystem: rename is atomic)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{output.name}.", suffix=PARTIAL_SUFFIX, dir=output.parent
    )
    os.close(fd)
    os.chmod(name, _FILE_MODE)
    return Path(name)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class FfmpegRunner:
    """Runs a plan's stages in order and each stage's jobs ``workers`` at a time."""

    def __init__(
        self,
        progress: Progress | None = None,
        workers: int = 1,
        on_done: Callable[[Job], None] | None = None,
    ) -> None:
        self.progress = progress or Progress.quiet()
        self.workers = max(1, workers)
        self.on_done = on_done
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def run(self, plan: Plan) -> None:
        jobs = plan.jobs
        self.progress.begin(sum(job.frames for job in jobs), len(jobs))
        try:
            for stage in plan.stages:
                self._run_stage(stage)
        except KeyboardInterrupt:
            raise Interrupted("stopped; no output was written") from None
        finally:
            self.progress.close()

    def _run_stage(self, stage: Sequence[Job]) -> None:
        if self.workers == 1 or len(stage) == 1:
            for job in stage:
                self._run_job(job)
            return
        pool = ThreadPoolExecutor(max_workers=min(self.workers, len(stage)))
        futures = [pool.submit(self._run_job, job) for job in stage]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
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

    def _run_job(self, job: Job) -> None:
        if self._stopping.is_set():
            return
        if hasattr(job, "render"):  # done in-process: a title card, a byte join
            note = job.render()
            self.progress.finished(str(id(job)), job.label, job.frames, note or "drawn")
            return
        for path, text in job.writes:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        try:
            temp = partial_path(job.output)
        except OSError as exc:
            raise WorkError(f"{job.output.parent}: cannot write here ({exc.strerror})") from None
        try:
            self._ffmpeg(job.with_output(temp), job)
            os.replace(temp, job.output)
        except BaseException:
            _remove(temp)
            raise
        finally:
            for path, _ in job.writes:
                _remove(path)
        self.progress.finished(str(id(job)), job.label, job.frames)
        if self.on_done:
            self.on_done(job)

    def _ffmpeg(self, job: Job, original: Job) -> None:
        argv = [job.argv[0], "-progress", "pipe:1", "-nostats", *job.argv[1:]]
        tail: collections.deque[str] = collections.deque(maxlen=40)
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                # Its own process group: a Ctrl-C reaches castkit, which stops ffmpeg itself
                # after it has decided what to clean up.
                start_new_session=True,
            )
        except OSError as exc:
            raise WorkError(f"cannot start {argv[0]}: {exc.strerror}") from None
        with self._lock:
            self._procs.add(proc)
        reader = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
        reader.start()
        key = str(id(original))
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("ascii", "replace").strip()
                if line.startswith("frame="):
                    try:
                        self.progress.update(key, int(line[6:]))
                    except ValueError:
                        pass
            proc.wait()
        except BaseException:
            _kill(proc)
            raise
        finally:
            reader.join(timeout=5)
            with self._lock:
                self._procs.discard(proc)
        if self._stopping.is_set() and proc.returncode != 0:
            raise Interrupted("stopped")
        if proc.returncode != 0:
            why = "was killed" if proc.returncode < 0 else ""
            raise FfmpegFailed(
                original.label + (f" (ffmpeg {why})" if why else ""),
                proc.returncode,
                stderr_tail("\n".join(tail)),
            )


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


def install_sigterm_handler() -> None:
    """Turn SIGTERM into the same orderly stop as Ctrl-C (children stopped, temps removed)."""

    def _handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _handler)

