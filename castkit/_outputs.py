"""Where castkit may write: the rules that keep a user's files safe, checked before any work."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Iterable

from ._target import DV_SUFFIXES
from .errors import UsageError


LOOP = "is a symbolic link that loops (it leads back to itself, never to a file)"


def symlink_loop(path: Path) -> bool:
    """True if ``path`` (or a folder on its way) is a symbolic link loop (``ln -s loop loop``):
    it neither exists nor can be created, and ``Path.resolve`` raises on it."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:  # a NUL in the name
        return False
    return False


def same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name one file (links and ``..`` included), existing or not."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _real(a) == _real(b)


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
    if symlink_loop(output):
        raise UsageError(f"{output}: {LOOP}")
    for source in inputs:
        if same_file(output, source):
            raise UsageError(f"{output}: is one of the inputs; castkit never overwrites a source")
    if output.is_dir():
        raise UsageError(f"{output}: is a folder; name a file")
    if output.exists() and not force:
        raise UsageError(f"{output}: already exists; use --force to replace it")


# The segment cache's folder names (kept equal to _build's CACHE_NAME and CACHE_ENV; a test
# checks): where castkit's cache commands delete files, so never where an output goes.
CACHE_FOLDER_NAME = ".castkit-cache"
CACHE_DIR_ENV = "CASTKIT_CACHE_DIR"


def _real(path: Path) -> Path:
    """``path`` with links and ``..`` resolved as far as they resolve (a symlink loop stays as
    written, rather than raise)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def check_not_in_cache(output: Path, cache_folder: Path) -> None:
    """UsageError if ``output`` lies inside ``cache_folder`` (by any name: links and ``..``
    resolved): ``castkit cache clean`` and ``prune`` delete files there."""
    real, folder = _real(Path(output)), _real(Path(cache_folder))
    # castkit touches only the top of a cache folder (its exact names, never subfolders), but a
    # folder named .castkit-cache is castkit's alone, and `cache clean` may remove it whole.
    # CASTKIT_CACHE_DIR may name a folder of the user's (even "."): below it is theirs.
    owned = folder.name == CACHE_FOLDER_NAME and folder in real.parents
    if real == folder or real.parent == folder or owned:
        raise UsageError(
            f"{output}: is inside castkit's cache folder {cache_folder}, where 'castkit cache "
            "clean' and 'prune' delete files; write the output somewhere else"
        )


# A cache entry itself: what `build --dry-run` prints writes title cards into the cache with
# `castkit title -o .castkit-cache/card-<key>.png`, as the build does.
_CACHE_ENTRY = re.compile(r"(segment-[0-9a-f]{24}\.(?:dv|mp4)|card-[0-9a-f]{24}\.png)")


def default_cache_folders(output: Path) -> list[Path]:
    """The cache folders an output of ``convert`` or ``title`` (no recipe, so no one cache)
    must stay out of: ``$CASTKIT_CACHE_DIR``, and any folder named ``.castkit-cache`` on the
    output's way (the cache of some recipe beside it). None for a cache entry's own name (a
    card or segment that castkit's printed commands make)."""
    if _CACHE_ENTRY.fullmatch(Path(output).name):
        return []
    folders = []
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        folders.append(Path(env))
    real = _real(Path(output))
    folders += [p for p in (Path(os.path.abspath(output)).parent, *real.parents)
                if p.name == CACHE_FOLDER_NAME]
    return folders
