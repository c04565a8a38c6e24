"""Joining raw DV by bytes, and rebuilding a cast by patching only what changed.

A raw ``.dv`` file is a sequence of self-contained frames of a fixed size (144000 bytes in PAL,
120000 in NTSC), each carrying its own sound, so the cast is the byte concatenation of its
segments: the kernel copies it (``copy_file_range``), no frame passes through Python, and
libdv, MLT and ffmpeg read it as one stream (each segment's timecode restarts at zero, as
it does between takes on a tape).

Because sizes are fixed, a segment re-encoded at the same length occupies the same byte range
of the cast. When castkit finds the cast it wrote last time untouched (same size, inode and
modification time as recorded in its manifest) and the segment layout unchanged, it moves the
cast to a hidden temporary name, overwrites only the changed ranges, and moves it back:
a one-title edit of a ten-minute cast writes a few megabytes instead of two gigabytes, and at no
moment does a half-patched file carry the cast's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from ._runner import partial_path, write_atomically

_CHUNK = 64 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    path: Path
    key: str
    size: int


@dataclass(frozen=True)
class ByteJoinJob:
    """Write ``output`` as the concatenation of ``parts`` (raw DV segments)."""

    label: str
    parts: tuple[Part, ...]
    output: Path
    manifest: Path
    frames: int

    def shell(self) -> str:
        return shlex.join(["cat", *(str(p.path) for p in self.parts)]) + " > " + shlex.quote(str(self.output))

    def render(self) -> str:
        """Do the join; returns what was done: "joined", "patched N segments" or "up to date"."""
        previous = _read_manifest(self.manifest)
        layout = [[p.key, p.size] for p in self.parts]
        if previous is not None and _untouched(self.output, previous):
            old = previous["parts"]
            if [size for _, size in old] == [p.size for p in self.parts]:
                changed = [i for i, (part, (key, _)) in enumerate(zip(self.parts, old)) if part.key != key]
                if not changed:
                    return "up to date"
                self._patch(changed)
                self._record(layout)
                return f"patched {len(changed)} segment{'s' if len(changed) != 1 else ''}"
        self._join()
        self._record(layout)
        return "joined"

    def _join(self) -> None:
        def write(temp: Path) -> None:
            offset = 0
            with open(temp, "wb") as out:
                for part in self.parts:
                    with open(part.path, "rb") as src:
                        _copy(src.fileno(), out.fileno(), part.size, offset)
                    offset += part.size

        write_atomically(self.output, write)

    def _patch(self, changed: list[int]) -> None:
        temp = partial_path(self.output)
        os.replace(self.output, temp)  # from here on, no file carries the cast's name
        try:
            offsets = [0]
            for part in self.parts:
                offsets.append(offsets[-1] + part.size)
            with open(temp, "r+b") as out:
                for i in changed:
                    with open(self.parts[i].path, "rb") as src:
                        _copy(src.fileno(), out.fileno(), self.parts[i].size, offsets[i])
            os.replace(temp, self.output)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _record(self, layout: list) -> None:
        st = self.output.stat()
        data = {
            "output": str(self.output.resolve()),
            "stat": [st.st_size, st.st_ino, st.st_mtime_ns],
            "parts": layout,
        }
        write_atomically(self.manifest, lambda temp: temp.write_text(json.dumps(data), encoding="utf-8"))


def manifest_path(cache: Path, output: Path) -> Path:
    """Where the cache remembers what it last wrote to ``output``."""
    digest = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:24]
    return cache / f"cast-{digest}.json"


def _read_manifest(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("parts"), list):
        return None
    return data


def _untouched(output: Path, manifest: dict) -> bool:
    """The cast castkit wrote last time, unchanged and the cast's alone (patching a file with
    other hard links would change the user's copy of an earlier version too)."""
    try:
        st = output.stat()
    except OSError:
        return False
    return st.st_nlink == 1 and manifest.get("output") == str(output.resolve()) and manifest.get("stat") == [
        st.st_size, st.st_ino, st.st_mtime_ns,
    ]


def _copy(src: int, dst: int, size: int, dst_offset: int) -> None:
    """Copy ``size`` bytes of ``src`` to ``dst`` at ``dst_offset``, inside the kernel."""
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src, dst, min(_CHUNK, size - done), done, dst_offset + done)
            if n == 0:
                raise OSError(f"segment ended {size - done} bytes early")
            done += n
        return
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and "early" in str(exc):
            raise
    # Filesystems without copy_file_range: a bounded buffer, never a whole segment in memory.
    while done < size:
        block = os.pread(src, min(1024 * 1024, size - done), done)
        if not block:
            raise OSError(f"segment ended {size - done} bytes early")
        os.pwrite(dst, block, dst_offset + done)
        done += len(block)
