"""What castkit wrote: for each output it made (a cast, a caption or chapter file, a storyboard,
an editor's project), a record in the cache folder of its path, size, modification time, inode
and SHA-256 (``written-KEY.json``, KEY from the output's resolved path).

An existing file at an output's path is castkit's to replace, without ``--force``, only if it is
byte for byte what castkit last wrote there: the same stat as recorded (nothing has written to it
since: any write moves its change time), or failing that the same size and hash (a copy put back
from a backup). Anything else (a file castkit never wrote, or one edited, replaced or truncated
since) still needs ``--force``, and the message says which of the two it is.

Hashing costs one read of each output after it is written (about 1 s per GB, from the page
cache); an output that was not rewritten (a DV cast up to date) keeps its record unhashed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from castkit.cache.records import manifest_path, write_record
from castkit.cache.seals import digest
from castkit.base.files import stat_identity

_ALGORITHM = "sha256"
NOT_WRITTEN = "castkit did not write it"
CHANGED = "changed since castkit wrote it"


def written_path(cache: Path, output: Path) -> Path:
    """Where the cache folder ``cache`` records what castkit last wrote to ``output``."""
    return manifest_path(cache, output, "written")


def _stat(st: os.stat_result) -> list[int]:
    return list(stat_identity(st))  # as JSON keeps it


def _read(cache: Path, output: Path) -> dict | None:
    try:
        data = json.loads(written_path(cache, output).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if (not isinstance(data, dict) or data.get("output") != str(output.resolve())
            or not isinstance(data.get("stat"), list) or not isinstance(data.get(_ALGORITHM), str)):
        return None
    return data


def why_not_replaceable(cache: Path, output: Path) -> str | None:
    """None if the existing ``output`` is what castkit last wrote there (castkit may replace
    it); else why not, for a message that ends "; use --force to replace it"."""
    record = _read(cache, output)
    if record is None:
        return NOT_WRITTEN
    try:
        st = output.stat()
    except OSError:
        return None  # gone meanwhile: nothing to lose
    if record["stat"] == _stat(st):
        return None
    if record["stat"][0] != st.st_size:
        return CHANGED
    try:
        same = digest(output) == record[_ALGORITHM]
    except OSError:
        same = False
    return None if same else CHANGED


def record_written(cache: Path, output: Path) -> None:
    """Remember that castkit has just written ``output`` (best effort, as every record)."""
    try:
        st = output.stat()
    except OSError:
        return  # not written after all (a batch that stopped): nothing to vouch for
    previous = _read(cache, output)
    if previous is not None and previous["stat"] == _stat(st):
        return  # not rewritten (a DV cast up to date): its record stands
    try:
        content = digest(output)
        after = output.stat()
    except OSError:
        return
    if _stat(after) != _stat(st):
        return  # changed while it was hashed: not vouched for
    data = {"output": str(output.resolve()), "stat": _stat(st), _ALGORITHM: content}
    try:  # a preview or an export may come before any build made the folder
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # the record's write says so
    write_record(written_path(cache, output), json.dumps(data),
                 f"the next run needs --force to replace {output.name}")


def recorded_output(path: Path) -> str | None:
    """The output a written record names (for prune: a record of a file still there is kept)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["output"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
