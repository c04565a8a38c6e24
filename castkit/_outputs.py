"""Where castkit may write: the rules that keep a user's files safe, checked before any work."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ._target import DV_SUFFIXES
from .errors import UsageError


def same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name one file (links and ``..`` included), existing or not."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output(
    output: Path, inputs: Iterable[Path], force: bool, suffixes: Iterable[str] = DV_SUFFIXES
) -> None:
    """UsageError unless ``output`` may be written: a known suffix, not an input, not existing
    (unless ``force``), not a folder."""
    suffixes = tuple(suffixes)
    if output.suffix.lower() not in suffixes:
        raise UsageError(
            f"{output}: unknown output type {output.suffix or '(no suffix)'!r}; "
            f"use {', '.join(suffixes)}"
        )
    if "\n" in str(output) or "\r" in str(output):
        raise UsageError(f"{str(output)!r}: a line break in a file name is not supported")
    for source in inputs:
        if same_file(output, source):
            raise UsageError(f"{output}: is one of the inputs; castkit never overwrites a source")
    if output.is_dir():
        raise UsageError(f"{output}: is a folder; name a file")
    if output.exists() and not force:
        raise UsageError(f"{output}: already exists; use --force to replace it")
