"""Everything castkit raises on purpose, and what each means to the person at the keyboard.

    CastkitError                 exit 1 unless a subclass says otherwise
    ├── UserError                exit 2: nothing was encoded; the user can fix it
    │   ├── UsageError           a bad command line (unknown standard, output exists, ...)
    │   ├── InputError           a source file castkit cannot use (missing, empty, not video)
    │   └── RecipeError          one or more problems in a recipe, each with file:line:col
    └── WorkError                exit 1: the machine or ffmpeg failed while working
        ├── FfmpegNotFound       no usable ffmpeg binary
        ├── FfmpegFailed         ffmpeg exited non-zero; carries the tail of its stderr
        └── FfmpegStalled        ffmpeg hung (no progress, no CPU) and castkit stopped it

The CLI prints ``str(error)`` and exits with ``error.exit_status``; it never shows a traceback
for any of these. The library never imports the CLI.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


def echo(value: object, limit: int = 60, quote: bool = True) -> str:
    """A value from the user, quoted for a message and cut to ``limit`` characters (with an
    ellipsis): a 5000-digit number is named, not printed back whole."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return repr(text) if quote else text


class CastkitError(Exception):
    """Base of every error castkit raises for a person to read."""

    exit_status = 1

    @property
    def message(self) -> str:
        return str(self)


class UserError(CastkitError):
    """The user can fix this; nothing was encoded."""

    exit_status = 2


class UsageError(UserError):
    """A bad command line or option value."""


class InputError(UserError):
    """A source file that castkit cannot use. The message names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class Problem:
    """One mistake in a recipe, at a 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class RecipeError(UserError):
    """Every problem found in a recipe, reported together, one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


class WorkError(CastkitError):
    """The machine or ffmpeg failed during work."""

    exit_status = 1


class FfmpegNotFound(WorkError):
    """No usable ffmpeg binary could be found."""


class FfmpegFailed(WorkError):
    """ffmpeg exited with an error; the message ends with the tail of its stderr."""

    def __init__(self, what: str, returncode: int, stderr_tail: str) -> None:
        self.what = what
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        detail = f"\n{stderr_tail.rstrip()}" if stderr_tail.strip() else ""
        if returncode < 0:  # a signal, not ffmpeg's own verdict: say which (OOM killer, kill -9)
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            head = f"ffmpeg was killed ({name}) during {what}; nothing was written"
        else:
            head = f"ffmpeg failed ({returncode}) while {what}"
        super().__init__(head + detail)


class FfmpegStalled(WorkError):
    """ffmpeg hung (``run.stall``) and castkit stopped it."""

    def __init__(self, what: str, seconds: float, stderr_tail: str = "") -> None:
        self.what, self.seconds, self.stderr_tail = what, seconds, stderr_tail
        detail = f"\n{stderr_tail.rstrip()}" if stderr_tail.strip() else ""
        super().__init__(f"ffmpeg hung while {what} (it used no CPU for {seconds:g} s, its threads "
                         f"waiting on each other) and was stopped{detail}")

    def __reduce__(self):  # raised on a farm worker, read back here
        return type(self), (self.what, self.seconds, self.stderr_tail)


class Interrupted(WorkError):
    """The user or the system stopped castkit (SIGINT/SIGTERM); exit 130 like a shell."""

    exit_status = 130
