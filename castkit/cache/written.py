"""What castkit wrote: for each output it made (a cast, a caption or chapter file, a storyboard,
an editor's project), a record in the cache folder of its path, size, modification time, inode
and SHA-256 (``written-KEY.json``, KEY from the output's resolved path).

An existing file at an output's path is castkit's to replace, without ``--force``, only if it is
byte for byte what castkit last wrote there: the same stat as recorded (nothing has written to it
since: any write moves its change time), or failing that the same size and hash (a copy put back
from a backup). Anything else (a file castkit never wrote, or one edited, replaced or truncated
since) still needs ``--force``, and the message says which of the two it is.

Hashing costs one read of each output after it is written (about 1 s per GB, from the page
cache); an output that was not rewritten (a DV cast up to date) keeps its record unhashed. The
hash is kept block by block (the SHA-256 of each 16 MiB, in order), so that a DV cast patched in
place (``outputs.join``: a clip's end moved) has only the blocks it rewrote hashed again
(``record_patched``); records of castkit before that hold one SHA-256 of the whole file, and
are still checked as such.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

from castkit.cache.records import manifest_path, write_record
from castkit.cache.seals import digest
from castkit.base.files import stat_identity

_ALGORITHM = "sha256"  # one digest of the whole file (records of castkit before blocks)
_BLOCKS = "sha256-blocks"  # the digest of each BLOCK bytes of the file, in order
BLOCK = 16 * 1024 * 1024
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
            or not isinstance(data.get("stat"), list)):
        return None
    blocks = data.get(_BLOCKS)
    if isinstance(blocks, list) and all(isinstance(b, str) for b in blocks):
        return data
    return data if isinstance(data.get(_ALGORITHM), str) and _BLOCKS not in data else None


def _block_digests(path: Path, known: dict[int, str] | None = None) -> list[str]:
    """The SHA-256 of each BLOCK bytes of ``path``; a block in ``known`` is taken from it, unread."""
    known = known or {}
    digests = []
    buffer = bytearray(BLOCK)
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        for i in range((size + BLOCK - 1) // BLOCK):
            if i in known:
                digests.append(known[i])
                continue
            view = memoryview(buffer)[:min(BLOCK, size - i * BLOCK)]
            got = 0
            while got < len(view):
                n = os.preadv(f.fileno(), [view[got:]], i * BLOCK + got)
                if n == 0:
                    raise OSError("file ended while it was hashed")
                got += n
            digests.append(hashlib.sha256(view).hexdigest())
    return digests


def _same_content(output: Path, record: dict) -> bool:
    if _BLOCKS in record:
        return _block_digests(output) == record[_BLOCKS]
    return digest(output) == record[_ALGORITHM]


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
        same = _same_content(output, record)
    except OSError:
        same = False
    return None if same else CHANGED


def record_written(cache: Path, output: Path) -> None:
    """Remember that castkit has just written ``output`` (best effort, as every record)."""
    known = _hashed.pop(str(output.resolve()), None)
    try:
        st = output.stat()
    except OSError:
        return  # not written after all (a batch that stopped): nothing to vouch for
    previous = _read(cache, output)
    if previous is not None and previous["stat"] == _stat(st):
        return  # not rewritten (a DV cast up to date): its record stands
    _hash_and_record(cache, output, st, known[1] if known is not None and known[0] == _stat(st) else None)


# Blocks of outputs hashed while they were written (``outputs.join.CastWriter``, while the
# segments are still encoded), by resolved path: their stat then and {block: digest}.
_hashed: dict[str, tuple[list[int], dict[int, str]]] = {}


def hashed_while_written(output: Path, digests: dict[int, str]) -> None:
    """``output``, just given its name, had its blocks ``digests`` (SHA-256 of bytes
    [i * BLOCK, (i + 1) * BLOCK)) hashed while it was written: ``record_written`` takes them,
    unread, if the file's stat is still the same, and hashes only the rest (a 30 s DV cast's
    108 MB cost a deep trim 0.1 s after its last encode)."""
    try:
        _hashed[str(output.resolve())] = (_stat(output.stat()), dict(digests))
    except OSError:
        pass
    while len(_hashed) > 16:  # a build that records nothing (no cache folder) leaves its own
        _hashed.pop(next(iter(_hashed)))


# Outputs of which no record will be kept (a --no-cache build beside no cache folder), by
# resolved path: their blocks are not hashed while they are written (the SHA-256 of a 30 s DV
# cast, 108 MB, was 0.09 s of a deep trim's CPU, for nothing).
_unrecorded: set[str] = set()


def unrecorded(outputs: Sequence[Path], keep: bool = True) -> None:
    """Say that no record of ``outputs`` will be kept by this build (``keep``), or no longer."""
    for output in outputs:
        try:
            key = str(output.resolve())
        except (OSError, RuntimeError):
            continue
        if keep:
            _unrecorded.add(key)
        else:
            _unrecorded.discard(key)


def will_be_recorded(output: Path) -> bool:
    """False if the build writing ``output`` keeps no record of it (``unrecorded``)."""
    try:
        return str(output.resolve()) not in _unrecorded
    except (OSError, RuntimeError):
        return True


def whole_blocks(size: int) -> int:
    """How many whole blocks the first ``size`` bytes of a file hold."""
    return size // BLOCK


def block_digest(fd: int, index: int) -> str:
    """The SHA-256 of block ``index`` (whole: BLOCK bytes) of the open file ``fd``."""
    data = os.pread(fd, BLOCK, index * BLOCK)
    if len(data) != BLOCK:
        raise OSError("file ended while it was hashed")
    return hashlib.sha256(data).hexdigest()


def _hash_and_record(cache: Path, output: Path, st: os.stat_result, known: dict[int, str] | None = None) -> None:
    try:
        blocks = _block_digests(output, known)
        after = output.stat()
    except OSError:
        return
    if _stat(after) != _stat(st):
        return  # changed while it was hashed: not vouched for
    data = {"output": str(output.resolve()), "stat": _stat(st), _BLOCKS: blocks}
    try:  # a preview or an export may come before any build made the folder
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # the record's write says so
    write_record(written_path(cache, output), json.dumps(data),
                 f"the next run needs --force to replace {output.name}")


def record_patched(cache: Path, output: Path, before: os.stat_result,
                   rewritten: Sequence[tuple[int, int]]) -> None:
    """``output`` was, as ``before``, what castkit last wrote (its record's stat), and castkit
    has since rewritten only the byte ranges ``rewritten`` [start, end) in place (and perhaps
    cut or grown the file): record it, hashing again only the blocks those ranges touch and the
    last ones (best effort: without such a record, ``record_written`` hashes it all)."""
    previous = _read(cache, output)
    if previous is None or previous["stat"] != _stat(before) or _BLOCKS not in previous:
        return
    try:
        st = output.stat()
    except OSError:
        return
    whole = min(before.st_size, st.st_size)  # blocks wholly below both ends can be the same
    known = {}
    for i, block in enumerate(previous[_BLOCKS]):
        lo, hi = i * BLOCK, (i + 1) * BLOCK
        if hi > whole:
            break
        if not any(start < hi and lo < end for start, end in rewritten):
            known[i] = block
    _hash_and_record(cache, output, st, known)


def recorded_output(path: Path) -> str | None:
    """The output a written record names (for prune: a record of a file still there is kept)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["output"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
