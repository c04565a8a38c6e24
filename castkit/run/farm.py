"""Where a job's ffmpeg runs: the seam between ``FfmpegRunner`` and the machines doing the work.

``LocalExecutor`` runs ffmpeg as a child of castkit (what castkit always did). ``DaskExecutor``
sends encodes (segments, slices, their title cards) to the workers of a Dask distributed
cluster: castkit must not grow a queue of its own, and Dask already schedules, retries and
notices dead workers. Either way the runner keeps what makes an output trustworthy: it checks
the temporary file (sources unchanged, complete length), hashes and seals it and renames it
itself, on the client. A worker only ever writes a temporary name of its own
(``.NAME.<worker pid>-XXXXXXXX.partial``), so a dead worker's half-written file never carries
a segment's name, and an attempt Dask runs again after a worker died writes a fresh name.

Dask is imported only when a ``DaskExecutor`` is made: castkit imports and works without it.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from castkit.base.files import partial_path
from castkit.base.jobs import file_url, Job
from castkit.errors import echo, FfmpegFailed, FfmpegStalled, Interrupted, UsageError, WorkError
from castkit.media.ffmpeg import dies_with_castkit, short_arguments, stderr_tail
from castkit.media.pictures import Pictures, run_job as run_pictures
from castkit.run.local import (
    check_unchanged, feed_stdin, ffmpeg_env, identities, is_cache_segment, JobRunner,
    LocalExecutor, remove_quietly, Sink,
)
from castkit.run.stall import Watchdog


SCHEDULER_ENV = "CASTKIT_SCHEDULER"
# An unreachable scheduler is said within this many seconds, not after Dask's 30 s default.
CONNECT_TIMEOUT = 5.0
# Attempts after the first when the task itself raised (ffmpeg could not be started on that
# worker, a transient filesystem error). A worker that died is Dask's to reschedule, up to its
# `distributed.scheduler.allowed-failures` (3 by default), then the job fails: KilledWorker.
RETRIES = 2
# tcp://HOST:PORT (the scheme Dask's other transports use too), or HOST:PORT meaning tcp.
_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}")
INSTALL_HINT = "--scheduler needs Dask: pip install 'castkit[farm]'"


@dataclass(frozen=True)
class RemoteResult:
    """What a worker reports of one encode: ffmpeg's status, its stderr's tail, and the
    temporary file it wrote (removed by the worker when ffmpeg failed)."""

    returncode: int
    tail: str
    temp: str


def remote_encode(argv: tuple[str, ...], output: str, prepare: tuple[Any, ...],
                  pictures: Pictures | None = None) -> RemoteResult:
    """Run on a Dask worker: draw the job's card, run ffmpeg into a fresh temporary name beside
    ``output`` (the worker's pid in it), report. A non-zero ffmpeg is a result, not an
    exception, so that Dask does not run a deterministic failure again; an exception (no
    ffmpeg at that path on this worker) is retried elsewhere. ``pictures``: the job's
    distinct pictures first, fed to its ffmpeg here as castkit does locally (``media.pictures``)."""
    for step in prepare:
        step.render()
    target = Path(output)
    temp = partial_path(target)
    tail: collections.deque[str] = collections.deque(maxlen=40)
    command = [*argv[:-1], file_url(temp)]
    try:
        if pictures is None:
            code = _run_here(command, tail)
        else:
            code = _run_pictures_here(pictures, temp, command, tail)
    except BaseException:
        remove_quietly(temp)
        raise
    if code != 0:
        remove_quietly(temp)
    return RemoteResult(code, "\n".join(tail), str(temp))


class _Exited(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _run_pictures_here(pictures: Pictures, temp: Path, command: list[str],
                       tail: collections.deque[str]) -> int:
    """A raw DV job's two ffmpegs on the worker, side by side (``media.pictures.run_job``)."""
    def first(argv: list[str], fds: tuple[int, ...], started: Callable) -> None:
        code = _run_here(argv, tail, pass_fds=fds, started=started)
        if code:
            raise _Exited(code)

    def second(feed: Callable[[int], None], started: Callable, waiting: Callable[[], bool]) -> None:
        code = _run_here(command, tail, feed=feed, started=started, waiting=waiting)
        if code:
            raise _Exited(code)

    try:
        run_pictures(pictures, temp, first, second)
    except _Exited as exited:
        return exited.code
    return 0


def _run_here(argv: list[str], tail: collections.deque[str],
              feed: Callable[[int], None] | None = None, pass_fds: tuple[int, ...] = (),
              started: Callable | None = None, waiting: Callable[[], bool] | None = None) -> int:
    """One ffmpeg on the worker, its stderr kept in ``tail`` (its stdin written by ``feed`` in
    a thread, ``pass_fds`` inherited, ``started`` told of it); its exit status. A long filter
    graph reaches ffmpeg as a file (``media.ffmpeg.short_arguments``). One that hangs
    (``run.stall``, by its CPU time alone: no progress is read here) raises FfmpegStalled,
    which Dask runs again, as any task that raised."""
    with short_arguments(argv) as short:
        return _run_process(short, tail, feed, pass_fds, started, waiting)


def _run_process(argv: list[str], tail: collections.deque[str], feed: Callable[[int], None] | None,
                 pass_fds: tuple[int, ...], started: Callable | None,
                 waiting: Callable[[], bool] | None = None) -> int:
    proc = subprocess.Popen(
        # ffmpeg dies with the worker: a killed worker leaves no ffmpeg writing on.
        dies_with_castkit([argv[0], "-nostats", *argv[1:]]), stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=ffmpeg_env(),
        pass_fds=pass_fds,
    )
    if started is not None:
        started(proc)
    failed: list[BaseException] = []
    writer = None
    watchdog = Watchdog(proc, waiting=waiting)
    watchdog.start()
    try:
        if feed is not None:
            writer = threading.Thread(target=feed_stdin, args=(feed, proc.stdin, failed), daemon=True)
            writer.start()
        assert proc.stderr is not None
        for raw in proc.stderr:
            tail.append(raw.decode("utf-8", "replace").rstrip())
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        watchdog.stop()
        if writer is not None:
            writer.join(timeout=5)
    if watchdog.stalled:
        raise FfmpegStalled("an encode on a farm worker", watchdog.stall, stderr_tail("\n".join(tail)))
    if failed and proc.returncode == 0:
        tail.append(f"castkit: feeding ffmpeg failed ({failed[0]})")
        return 1
    return proc.returncode


class DaskExecutor:
    """Encodes on a Dask distributed cluster; everything else (joins, loudness steps, sidecar
    files) stays local. The runner's pool holds one thread per cluster slot, each waiting on
    one Dask future, so the plan's longest-first order is the order jobs reach the scheduler."""

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT) -> None:
        if not _ADDRESS.fullmatch(address):
            # Checked here: Dask's own refusal of a malformed address leaves a half-made
            # client whose finaliser prints a traceback at exit, 10 s later.
            raise UsageError(f"--scheduler: {echo(address)} is not a Dask scheduler address "
                             f"like tcp://HOST:8786")
        try:
            import distributed
        except ImportError:
            raise UsageError(INSTALL_HINT) from None
        # Dask logs its reconnects and shutdowns (with tracebacks, when the scheduler dies) at
        # warning and error level, on loggers its configuration set up one by one; castkit
        # speaks for itself.
        for name in ["distributed", *logging.root.manager.loggerDict]:
            if name == "distributed" or name.startswith("distributed."):
                logging.getLogger(name).setLevel(logging.CRITICAL)
        self.address = address
        self._distributed = distributed
        # Dask's client waits long (and past its timeout) on a port that accepts and says
        # nothing, and reads an HTTP answer's first bytes as a frame length (a MemoryError):
        # what is there is asked first, within the timeout.
        greet(address, timeout)
        try:
            self.client = distributed.Client(address, timeout=f"{timeout}s",
                                             set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, and what Dask raises
            raise WorkError(f"{address}: cannot reach the Dask scheduler "
                            f"({_reason(exc)}); is `dask scheduler` running there?") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            self.close()
            raise WorkError(f"{address}: the Dask scheduler has no workers "
                            f"(start some with `dask worker {address}`)") from None
        self.slots = max(1, sum(self.client.nthreads().values()))

    def takes(self, job: Job) -> bool:
        """Only encodes of cache segments go out (their inputs and outputs on the shared
        filesystem); a job with other in-process steps (a loudness measurement) stays here."""

        return (not job.in_process and not job.writes and is_cache_segment(job.output)
                and all(step.portable for step in job.prepare))

    def encode(self, job: Job, runner: JobRunner, sink: Sink | None) -> Path:
        if not self.takes(job):
            return LocalExecutor().encode(job, runner, sink)
        cards = {step.output for step in job.prepare}
        watched = [path for path in job.inputs if path not in cards]  # cards are drawn remotely
        before = identities(watched)
        future = self.client.submit(remote_encode, tuple(job.argv), str(job.output), job.prepare,
                                    job.pictures, pure=False, retries=RETRIES, key=f"castkit-{job.output.name}-{os.urandom(4).hex()}")
        # Waited for by a callback, not by future.result(timeout=...): a short timeout there
        # races in distributed's sync() (a CancelledError leaves it returning an unbound
        # result: UnboundLocalError, seen under load). Short waits, so a stop is seen soon.
        finished = threading.Event()
        future.add_done_callback(lambda _: finished.set())
        try:
            while not finished.wait(0.2):
                if runner.stopping.is_set():
                    raise Interrupted("stopped")
            result: RemoteResult = future.result()
        except (Interrupted, KeyboardInterrupt):
            future.cancel()
            raise
        except self._distributed.client.FutureCancelledError:
            if runner.stopping.is_set():
                raise Interrupted("stopped") from None
            # Not cancelled by castkit: the scheduler is gone (killed, its machine down), and
            # with it every task it held.
            raise WorkError(f"{self.address}: the Dask scheduler went away during "
                            f"{job.label}; nothing was kept") from None
        except Exception as exc:  # noqa: BLE001 - a task that failed for good on the cluster
            killed = type(exc).__name__ == "KilledWorker"
            why = ("the Dask workers running it died" if killed
                   else f"{type(exc).__name__}: {exc}")
            raise WorkError(f"{job.label}: failed on the cluster ({why}); nothing was kept") from None
        temp = Path(result.temp)
        if result.returncode != 0:
            raise FfmpegFailed(job.label, result.returncode, stderr_tail(result.tail))
        try:
            check_unchanged(watched, before)
        except BaseException:
            remove_quietly(temp)
            raise
        runner.report_damage(job.label, result.tail)
        runner.progress.update(str(id(job)), job.frames)
        return temp

    def close(self) -> None:
        try:
            self.client.close(timeout=2)
        except Exception:  # noqa: BLE001 - closing a client to a dead scheduler
            pass

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A Dask scheduler's first words are a frame of a few hundred bytes (its handshake), announced
# by an 8-byte little-endian length.
_GREETING_MAX = 1 << 20


def greet(address: str, timeout: float) -> None:
    """WorkError (one line, naming ``address``) unless what listens at a ``tcp://`` address
    greets as a Dask scheduler does, within ``timeout`` seconds: at once, with the length of
    its handshake. Other transports are left to Dask."""
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    deadline = time.monotonic() + timeout
    head = b""
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            while len(head) < 8:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except (TimeoutError, socket.timeout):
        raise WorkError(f"{address}: says nothing within {timeout:g} s, where a Dask scheduler "
                        f"greets at once; is this the scheduler's address?") from None
    except (OSError, ValueError) as exc:
        raise WorkError(f"{address}: cannot reach the Dask scheduler "
                        f"({_reason(exc)}); is `dask scheduler` running there?") from None
    if len(head) == 8 and 0 < struct.unpack("<Q", head)[0] <= _GREETING_MAX:
        return
    said = head.split(b"\r")[0].split(b"\n")[0].decode("ascii", "replace")
    what = "a web server" if head.startswith(b"HTTP") else (f"{said!r}" if said.isprintable() and said else "something else")
    raise WorkError(f"{address}: answers as {what}, not as a Dask scheduler; is this the "
                    f"scheduler's address?")


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def executor_for(address: str | None) -> DaskExecutor | None:
    """The executor ``--scheduler`` (or ``$CASTKIT_SCHEDULER``) asks for; None: local."""
    address = address or os.environ.get(SCHEDULER_ENV) or None
    return DaskExecutor(address) if address else None
