"""An ffmpeg that has stopped working is stopped, so that no build waits for it for ever.

ffmpeg 7 and later run each input, decoder, filter graph, encoder and muxer in a thread of its
own, and they can deadlock: with ffmpeg 9.0 (the one the imageio-ffmpeg wheel ships), the
20 s chunk of a 1080p clip with overlays and a webcam corner hung in 4 of 146 runs here (every
thread waiting on another; a 60 s build of three such chunks in 1 of 12). Such a process uses
no CPU at all (measured: 0.00 s over 20 s, three hangs) and still writes a progress report
every half second, with the same numbers; asked to stop, it does.

A process counts as hung when for ``STALL_SECONDS`` neither its progress (frames, bytes or time
written) nor its CPU time moves, and none of its threads is seen waiting on a disk. A long
decode before a deep trim's first frame uses CPU; a process held up by a slow disk or a
network share (MP4's faststart rewrite, a write the kernel throttles) waits in the kernel's
uninterruptible sleep, where a deadlocked one waits on its own locks. Only on systems that tell
a process's CPU time and its threads' states (Linux's /proc); elsewhere nothing is watched.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Callable

STALL_SECONDS = 30.0
CHECK_EVERY = 2.0
# Less CPU than a working ffmpeg spends in a fraction of a second; more than a hung one does in
# ``STALL_SECONDS`` (its main thread only wakes to report: nothing, in 10 ms ticks).
IDLE_CPU = 0.1
# The progress report's figures that move while ffmpeg works (not fps or speed, which change
# with the clock alone).
_MOVING = ("frame=", "total_size=", "out_time_us=")


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system, all threads) a process has used; None where not known."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


def on_disk(pid: int) -> bool:
    """Whether one of a process's threads is in uninterruptible sleep (state D: waiting on a
    disk or a network file system)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] == b"D":
                    return True
        except (OSError, IndexError):
            continue
    return False


try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, OSError, ValueError):
    _TICKS = 100


class Watchdog(threading.Thread):
    """Watches one ffmpeg (``saw`` is given each line of its progress report) and stops it
    once it has hung (``stalled``)."""

    def __init__(self, proc: subprocess.Popen, stall: float | None = None,
                 waiting: Callable[[], bool] | None = None) -> None:
        super().__init__(name=f"watch {proc.pid}", daemon=True)
        self.proc = proc
        self.waiting = waiting or (lambda: False)  # it waits for another process: not hung
        self.stall = STALL_SECONDS if stall is None else stall
        self.stalled = False
        self._moved = time.monotonic()
        self._figures: dict[str, str] = {}
        self._over = threading.Event()

    def saw(self, line: str) -> None:
        for key in _MOVING:
            if line.startswith(key):
                if self._figures.get(key) != line:
                    self._figures[key] = line
                    self._moved = time.monotonic()
                return

    def run(self) -> None:
        used = cpu_seconds(self.proc.pid)
        if used is None:
            return  # nothing to tell a hung process from a busy one by
        while not self._over.wait(min(CHECK_EVERY, self.stall / 4)):
            if self.proc.poll() is not None:
                return
            now = cpu_seconds(self.proc.pid)
            if now is None:
                return
            if now - used >= IDLE_CPU or self.waiting() or on_disk(self.proc.pid):
                used, self._moved = now, time.monotonic()
            elif time.monotonic() - self._moved >= self.stall:
                self.stalled = True
                # Killed, not asked to finish: what it wrote is not kept, and a finished
                # container must not make it look complete.
                self.proc.kill()
                return

    def stop(self) -> None:
        self._over.set()
