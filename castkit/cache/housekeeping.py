"""Keeping a cache folder tidy: ``clean`` (everything castkit wrote there), ``prune`` (what no
cast is made of), the leftovers of runs that were killed, and the ``CACHEDIR.TAG`` that tells
backup tools to skip it. Only castkit's own file names (``names``) are ever touched."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from castkit.base.files import stale_partials, write_atomically
from castkit.cache.records import read_uses
from castkit.cache.written import recorded_output
from castkit.cache.names import CACHE_MAX_ENV, CACHED, CACHED_TEMP, record_name, SEAL_SUFFIX
from castkit.errors import UsageError, WorkError


# https://bford.info/cachedir/: backup tools skip a folder with this file (and regenerable DV).
_TAG = "CACHEDIR.TAG"
_TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
             "# castkit's segment cache: everything here is made again when needed.\n")


def mark_cache(folder: Path) -> None:
    tag = folder / _TAG
    if not tag.exists():
        try:
            write_atomically(tag, lambda temp: temp.write_text(_TAG_TEXT, encoding="ascii"))
        except WorkError:
            pass  # a nicety for backup tools, never a reason to fail a build


def _cached_files(folder: Path, temps: bool = False) -> list[os.DirEntry]:
    """castkit's files in a cache folder (``temps``: also the temporary files of writes in
    progress, or cut short by a crash)."""
    def ours(name: str) -> bool:
        return bool(CACHED.fullmatch(name) or (temps and CACHED_TEMP.fullmatch(name)))

    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if ours(e.name) and e.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise UsageError(f"{folder}: not a cache folder") from None
    except OSError as exc:
        raise WorkError(f"{folder}: cannot read the cache ({exc.strerror})") from None


def _remove(entries: list[os.DirEntry]) -> tuple[int, int]:
    """Remove ``entries``; how many files and bytes went."""
    files = size = 0
    for entry in entries:
        try:
            bytes_ = entry.stat(follow_symlinks=False).st_size
            os.unlink(entry.path)
        except FileNotFoundError:
            continue  # gone meanwhile
        except OSError as exc:
            raise WorkError(f"{entry.path}: cannot remove ({exc.strerror})") from None
        files, size = files + 1, size + bytes_
    return files, size


def clean_cache(folder: Path) -> tuple[int, int]:
    """Remove everything castkit cached in ``folder`` (and the folder, if nothing else is in
    it); how many files and bytes went."""
    removed = _remove(_cached_files(folder, temps=True))
    tag = folder / _TAG
    try:
        if tag.read_text(encoding="ascii") == _TAG_TEXT:
            tag.unlink()
        folder.rmdir()
    except (OSError, ValueError):
        pass  # missing, or something that is not castkit's is in there: leave it
    return removed


def _unused(folder: Path) -> list[os.DirEntry]:
    """castkit's files in ``folder`` that no cast built from it is made from. A cast counts
    while its file exists or its build has not finished; the files of one deleted by hand are
    unused."""
    entries = _cached_files(folder)
    keep: set[str] = set()
    digests = {e.name.split("-", 1)[1] for e in entries if e.name.startswith(("uses-", "cast-"))}
    for digest in digests:
        output, uses, pending = read_uses(folder / record_name("uses", digest.removesuffix(".json")))
        if output is None:  # no record, or an unreadable one: the cast's manifest, if any
            output, uses, pending = read_uses(folder / record_name("cast", digest.removesuffix(".json")), legacy=True)
        if output is not None and (pending or os.path.exists(output)):
            keep.update(uses)
    keep.update([name + SEAL_SUFFIX for name in keep])  # a segment's seal goes with it
    # What castkit wrote to an output still there: without it, the next build would need
    # --force to replace that output.
    for entry in entries:
        if entry.name.startswith("written-"):
            output = recorded_output(Path(entry.path))
            if output is not None and os.path.exists(output):
                keep.add(entry.name)
    return [e for e in entries if e.name not in keep]


def prune_cache(folder: Path) -> tuple[int, int]:
    """Remove the cached files that no cast built from ``folder`` is made from (superseded
    takes, old title texts, the segments of a cast deleted since); how many files and bytes
    went. Temporary files go only when the run that made them is dead (killed): a running
    build's are left alone."""
    removed = _remove(_unused(folder))
    gone = remove_dead_temps(folder)
    return removed[0] + gone[0], removed[1] + gone[1]


def remove_dead_temps(folder: Path) -> tuple[int, int]:
    """Remove the temporary files in the cache ``folder`` whose writer is dead (a build killed
    with ``kill -9`` while it encoded); a running build's are left alone. Every build does
    this: a killed run's half-written segment may be one no later build writes again."""
    stale = set()
    for entry in _cached_files(folder, temps=True):
        match = CACHED_TEMP.fullmatch(entry.name)
        if match:
            stale.update(stale_partials(folder / match[1], concat_list=False))
    return _remove([e for e in _cached_files(folder, temps=True) if Path(e.path) in stale])


def unused_cache_bytes(folder: Path) -> int:
    """Bytes of the cached files in ``folder`` that prune would remove."""
    total = 0
    for entry in _unused(folder):
        try:
            total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            pass  # gone meanwhile
    return total


# The cache's size when CACHE_MAX_ENV does not say: this, or a tenth of the free disk, whichever
# is smaller (a few edits of a long take leave gigabytes of superseded DV segments).
DEFAULT_CACHE_MAX = 2 * 1024**3
FREE_SHARE = 10  # a tenth
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SIZE = re.compile(r"\s*(\d{1,15})\s*([kmg]?)i?b?\s*", re.I)


def cache_cap(folder: Path) -> int:
    """The most bytes the cache ``folder`` may hold after a build: ``CASTKIT_CACHE_MAX`` (``500M``,
    ``2G``, ``1048576``), else DEFAULT_CACHE_MAX or a tenth of the disk's free space."""
    text = os.environ.get(CACHE_MAX_ENV)
    if text:
        match = _SIZE.fullmatch(text)
        if not match:
            raise UsageError(f"{CACHE_MAX_ENV}={text[:40]!r}: give a size in bytes, or with K, M or G "
                             "(like 500M or 2G)")
        return int(match[1]) * _UNITS[match[2].lower()]
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return DEFAULT_CACHE_MAX
    return min(DEFAULT_CACHE_MAX, free // FREE_SHARE)


def keep_under(folder: Path, cap: int) -> tuple[int, int]:
    """Remove what no cast is made of (``prune``'s files), oldest first, until castkit's files in
    ``folder`` weigh at most ``cap`` bytes; how many files and bytes went. What a cast is made of,
    or a running build makes, is never removed, even over the cap."""
    def size(entry: os.DirEntry) -> int:
        try:
            return entry.stat(follow_symlinks=False).st_size
        except OSError:
            return 0

    total = sum(size(e) for e in _cached_files(folder))
    if total <= cap:
        return 0, 0
    # A segment and its seal go together, at the segment's age.
    groups: dict[str, list[os.DirEntry]] = {}
    for entry in _unused(folder):
        groups.setdefault(entry.name.removesuffix(SEAL_SUFFIX), []).append(entry)

    def age(group: list[os.DirEntry]) -> int:
        try:
            return min(e.stat(follow_symlinks=False).st_mtime_ns for e in group)
        except OSError:
            return 0

    files = removed = 0
    for group in sorted(groups.values(), key=age):
        if total - removed <= cap:
            break
        gone = _remove(group)
        files, removed = files + gone[0], removed + gone[1]
    return files, removed
