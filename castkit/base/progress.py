"""Progress on stderr: a redrawn bar on a terminal, a line per finished job otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from castkit.base.timecode import format_time


def say(kind: str, message: str, stream: TextIO | None = None) -> None:
    """``castkit: error: first line`` (or warning), further lines indented: how castkit speaks."""
    stream = stream if stream is not None else sys.stderr
    lines = message.splitlines() or [""]
    stream.write(f"castkit: {kind}: {lines[0]}\n")
    for line in lines[1:]:
        stream.write("  " + line + "\n")
    stream.flush()


def counted(count: int, noun: str) -> str:
    """``1 frame``, ``2 frames``: a count and its noun (plural with an s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts frames done across jobs. ``mode``: "bar", "lines" or "quiet"."""

    def __init__(self, stream: TextIO | None = None, mode: str | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.mode = mode or ("bar" if is_terminal(self.stream) else "lines")
        self._lock = threading.Lock()
        self._done: dict[str, int] = {}
        self._total = 0
        self._jobs_total = 0
        self._jobs_done = 0
        self._started = time.monotonic()
        self._last_draw = 0.0

    @classmethod
    def quiet(cls) -> Progress:
        return cls(mode="quiet")

    def begin(self, total_frames: int, jobs: int) -> None:
        with self._lock:
            self._total += total_frames
            self._jobs_total += jobs

    def update(self, key: str, frames: int) -> None:
        with self._lock:
            self._done[key] = frames
            now = time.monotonic()
            if self.mode == "bar" and now - self._last_draw >= 0.1:
                self._last_draw = now
                self._draw()

    def finished(self, key: str, label: str, frames: int, note: str = "") -> None:
        with self._lock:
            self._done[key] = frames
            self._jobs_done += 1
            if self.mode == "lines" and self._jobs_total > 1:
                what = note or counted(frames, "frame")
                self.stream.write(f"castkit: [{self._jobs_done}/{self._jobs_total}] {label}: {what}\n")
                self.stream.flush()
            elif self.mode == "bar":
                self._draw()

    def counts(self) -> dict[str, int]:
        """Frames done and due, jobs done and planned: what a display other than this one
        (``castkit serve``'s page) shows."""
        with self._lock:
            return {"done": sum(self._done.values()), "total": self._total,
                    "jobs_done": self._jobs_done, "jobs": self._jobs_total}

    def close(self) -> None:
        with self._lock:
            if self.mode == "bar":
                self.stream.write("\r\x1b[K")
                self.stream.flush()

    def _draw(self) -> None:
        done = sum(self._done.values())
        total = max(self._total, 1)
        fraction = min(done / total, 1.0)
        width = 28
        filled = int(fraction * width)
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.monotonic() - self._started
        eta = ""
        if 0 < fraction < 1 and elapsed > 0.5:
            eta = f"  {format_time(elapsed / fraction - elapsed).split('.')[0]} left"
        jobs = f"  {self._jobs_done}/{self._jobs_total} jobs" if self._jobs_total > 1 else ""
        self.stream.write(
            f"\r\x1b[K[{bar}] {fraction:4.0%}  {done}/{self._total} frames{jobs}{eta}"
        )
        self.stream.flush()
