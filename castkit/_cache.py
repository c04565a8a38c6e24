"""The segment cache: one module owns the store (keys, entries, records, clean, prune).

A cache folder holds castkit's files by exact name only (a cache folder may be any folder the
user points ``CASTKIT_CACHE_DIR`` at): ``segment-KEY.dv|mp4`` (an encoded segment of one output
profile), ``card-KEY.png`` (a title card), ``cast-KEY.json`` (what a raw DV cast was joined from,
for patching), ``uses-KEY.json`` (which files a cast is made from, for prune),
``loudness-KEY.af`` (the filter a cast's measured sound leads to) and ``pauses-KEY.json`` (a
take's silent and still stretches). A key is a hash of everything that determines the file's
bytes.

Every segment is sealed when it is made: ``segment-KEY.dv.sum`` records its size and SHA-256,
hashed right after ffmpeg finished (the file is still in the page cache). A segment without a
readable seal, or whose size differs from it, is not in the cache (``sealed``: a stat and a read
of 90 bytes); one that a cast is about to be made from is hashed again first (``intact``), and a
damaged one is encoded again instead of being served. (SHA-256 rather than BLAKE2b: with the
SHA extensions of current CPUs it hashes about twice as fast here, 0.8 against 0.4 GB/s.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterable

from ._join import manifest_path, read_manifest
from ._outputs import CACHE_DIR_ENV, CACHE_FOLDER_NAME
from ._progress import say
from ._plan import FORMAT_VERSION
from ._recipe import Recipe, TitleSegment, style_files
from ._pictures import PICTURES_SUFFIX
from ._runner import CONCAT_SUFFIX, PARTIAL_SUFFIX, stale_partials, write_atomically
from .errors import UsageError, WorkError

# Where the cache is: _outputs knows (it keeps outputs out of it).
CACHE_ENV, CACHE_NAME = CACHE_DIR_ENV, CACHE_FOLDER_NAME


def cache_dir(recipe: Recipe) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else recipe.folder / CACHE_NAME


def file_identity(path: Path) -> list:
    """What makes a source 'the same file' to the cache: where it is, its size and mtime."""
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def key(*parts: object) -> str:
    blob = json.dumps([FORMAT_VERSION, *parts], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def card_key(seg: TitleSegment, size: tuple[int, int]) -> str:
    """A title card's key: its text, its style (and the style's files), its size."""
    style = seg.style
    files = [file_identity(p) for p in style_files(style)]
    return key("card", seg.title, seg.subtitle, style.background, style.color,
                str(style.font), files, size)


# What castkit writes in a cache folder, by exact name (a cache folder may be any folder the
# user points CASTKIT_CACHE_DIR at; nothing else in it is castkit's): segments, title cards,
# the manifest of each cast and the record of what it is made from, and their temporary files.
_CACHED = re.compile(r"(segment-[0-9a-f]{24}\.(?:dv|mp4)(?:\.sum)?|card-[0-9a-f]{24}\.png"
                     r"|(cast|uses|pauses)-[0-9a-f]{24}\.json|loudness-[0-9a-f]{24}\.af)")
# Temporary files: ``.NAME.PID-XXXXXXXX.partial`` (castkit before 0.2: no PID) with the files
# of its distinct pictures (``_pictures``), and the loudness measurement's join list
# ``.NAME.PID.concat.txt``.
_CACHED_TEMP = re.compile(r"\.(" + _CACHED.pattern + r")\.(?:(?:[0-9]{1,10}-)?[a-z0-9_]{8}"
                          + re.escape(PARTIAL_SUFFIX)
                          + f"(?:{re.escape(PICTURES_SUFFIX)})?"
                          + r"|[0-9]{1,10}" + re.escape(CONCAT_SUFFIX) + ")")
# https://bford.info/cachedir/: backup tools skip a folder with this file (and regenerable DV).
_TAG = "CACHEDIR.TAG"
_TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
             "# castkit's segment cache: everything here is made again when needed.\n")


SEGMENT = re.compile(r"segment-[0-9a-f]{24}\.(?:dv|mp4)")
_SEAL_SUFFIX = ".sum"
_SEAL_ALGORITHM = "sha256"


def seal_path(entry: Path) -> Path:
    return entry.with_name(entry.name + _SEAL_SUFFIX)


def digest(path: Path) -> str:
    """The content hash of a cache entry (the seal's algorithm)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, _SEAL_ALGORITHM).hexdigest()


def seal(entry: Path, hexdigest: str, size: int) -> None:
    """Record what ``entry`` holds, once it has its name (a segment without a seal is not used:
    a run killed between the two leaves a segment that is simply encoded again)."""
    text = f"{_SEAL_ALGORITHM} {hexdigest} {size}\n"
    write_atomically(seal_path(entry), lambda temp: temp.write_text(text, encoding="ascii"))


def _read_seal(entry: Path) -> tuple[str, int] | None:
    try:
        with open(seal_path(entry), "rb") as f:
            algorithm, hexdigest, size = f.read(200).decode("ascii").split()
        if algorithm != _SEAL_ALGORITHM or not re.fullmatch(r"[0-9a-f]{64}", hexdigest):
            return None
        return hexdigest, int(size)
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def sealed(entry: Path, size: int | None = None) -> bool:
    """True if ``entry`` has a readable seal recording its present size (and ``size``, if given).
    Cheap: one stat and one small read; the bytes themselves are checked by ``intact``."""
    record = _read_seal(entry)
    try:
        actual = entry.stat().st_size
    except OSError:
        return False
    return record is not None and record[1] == actual and (size is None or size == actual)


def intact(entry: Path) -> bool:
    """True if ``entry`` holds exactly the bytes its seal records (one read of the file)."""
    record = _read_seal(entry)
    if record is None:
        return False
    try:
        return entry.stat().st_size == record[1] and digest(entry) == record[0]
    except OSError:
        return False


def discard(entry: Path) -> None:
    """Remove a damaged entry and its seal, if the cache may be written (best effort)."""
    for path in (entry, seal_path(entry)):
        try:
            path.unlink()
        except OSError:
            pass


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
        return bool(_CACHED.fullmatch(name) or (temps and _CACHED_TEMP.fullmatch(name)))

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


def record_uses(work: Path, output: Path, files: Iterable[Path], pending: bool = False) -> None:
    """Remember which cache files the cast ``output`` is made from (for prune); ``pending``:
    a build about to run, whose record keeps also what the cast was made of before."""
    path = manifest_path(work, output, "uses")
    uses = {p.name for p in files}
    if pending:
        uses |= set(_read_record(path)[1])
    data = {"output": str(output.resolve()), "uses": sorted(uses), "pending": pending}
    write_record(path, json.dumps(data), "`castkit cache prune` may remove what this cast is made of")


_unwritable: set[Path] = set()  # cache folders whose records could not be written (noted once)


def write_record(path: Path, text: str, consequence: str) -> None:
    """Write a record (a cast's manifest, its uses): best effort. A build whose segments are
    all cached needs to write nothing else in the cache, so a read-only one (a shared cache, a
    mounted backup) does not fail it: one note says what could not be written and what follows."""
    try:
        write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))
    except WorkError as exc:
        if path.parent not in _unwritable:
            _unwritable.add(path.parent)
            say("note", f"{exc}; the cache's records are not kept: {consequence}")


def _read_record(path: Path, legacy: bool = False) -> tuple[str | None, list[str], bool]:
    """A uses record: the cast's path, the cache files it is made of, whether its build is
    pending. ``legacy``: a cast manifest of castkit before uses records, read as one (its
    segments; its cards are redrawn if ever needed). Unreadable: nothing."""
    try:
        if legacy:
            data = read_manifest(path)
            uses = [str(name) for name, _ in data["parts"]] if data else []
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            uses = [str(name) for name in data["uses"]]
        return str(data["output"]), uses + [path.name], data.get("pending") is True
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None, [], False


def _unused(folder: Path) -> list[os.DirEntry]:
    """castkit's files in ``folder`` that no cast built from it is made from. A cast counts
    while its file exists or its build has not finished; the files of one deleted by hand are
    unused."""
    entries = _cached_files(folder)
    keep: set[str] = set()
    digests = {e.name.split("-", 1)[1] for e in entries if e.name.startswith(("uses-", "cast-"))}
    for digest in digests:
        output, uses, pending = _read_record(folder / f"uses-{digest}")
        if output is None:  # no record, or an unreadable one: the cast's manifest, if any
            output, uses, pending = _read_record(folder / f"cast-{digest}", legacy=True)
        if output is not None and (pending or os.path.exists(output)):
            keep.update(uses)
    keep.update([name + _SEAL_SUFFIX for name in keep])  # a segment's seal goes with it
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
        match = _CACHED_TEMP.fullmatch(entry.name)
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
