"""Records in the cache: what a raw DV cast was last joined from (its manifest, for patching it
in place) and which cache files each cast is made of (its uses, for ``cache prune``). Written
best effort: a read-only cache costs only a note."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

from castkit.base.files import write_atomically
from castkit.base.progress import say
from castkit.errors import WorkError
from castkit.cache.names import KEY_LENGTH, record_name


def record_uses(work: Path, output: Path, files: Iterable[Path], pending: bool = False) -> None:
    """Remember which cache files the cast ``output`` is made from (for prune); ``pending``:
    a build about to run, whose record keeps also what the cast was made of before."""
    path = manifest_path(work, output, "uses")
    uses = {p.name for p in files}
    if pending:
        uses |= set(read_uses(path)[1])
    data = {"output": str(output.resolve()), "uses": sorted(uses), "pending": pending}
    write_record(path, json.dumps(data), "`castkit cache prune` may remove what this cast is made of")


unwritable_caches: set[Path] = set()  # cache folders whose records could not be written (noted once)


def write_record(path: Path, text: str, consequence: str) -> None:
    """Write a record (a cast's manifest, its uses): best effort. A build whose segments are
    all cached needs to write nothing else in the cache, so a read-only one (a shared cache, a
    mounted backup) does not fail it: one note says what could not be written and what follows."""
    try:
        write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))
    except WorkError as exc:
        if path.parent not in unwritable_caches:
            unwritable_caches.add(path.parent)
            say("note", f"{exc}; the cache's records are not kept: {consequence}")


def read_uses(path: Path, legacy: bool = False) -> tuple[str | None, list[str], bool]:
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


def manifest_path(cache: Path, output: Path, kind: str = "cast") -> Path:
    """Where the cache remembers what it last wrote to ``output`` (``kind`` "uses": which
    cache files that cast is made from)."""
    digest = hashlib.sha256(os.fsencode(output.resolve())).hexdigest()[:KEY_LENGTH]  # any bytes a name has
    return cache / record_name(kind, digest)


def read_manifest(path: Path) -> dict | None:
    """A cast's manifest, or None for one missing or unreadable in any way (mangled by hand, a
    disk error, another version's): it is then as if there were none, and the cast is joined
    afresh (before, a well-formed file with malformed parts failed every build after it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("output"), str):
        return None
    parts, stat = data.get("parts"), data.get("stat")
    if not isinstance(parts, list) or not all(
        isinstance(part, list) and len(part) == 2 and isinstance(part[0], str) and _is_int(part[1])
        for part in parts
    ):
        return None
    if stat is not None and not (isinstance(stat, list) and len(stat) == 3 and all(map(_is_int, stat))):
        return None
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def untouched(output: Path, manifest: dict) -> bool:
    """The cast castkit wrote last time, unchanged and the cast's alone (patching a file with
    other hard links would change the user's copy of an earlier version too)."""
    try:
        st = output.stat()
    except OSError:
        return False
    return st.st_nlink == 1 and manifest.get("output") == str(output.resolve()) and manifest.get("stat") == [
        st.st_size, st.st_ino, st.st_mtime_ns,
    ]
