"""Joining raw DV by bytes, and rebuilding a cast by patching only what changed.

A raw ``.dv`` file is a sequence of self-contained frames of a fixed size (144000 bytes in PAL,
120000 in NTSC), each carrying its own sound, so the cast is the byte concatenation of its
segments: the kernel copies it (``copy_file_range``), no frame passes through Python, and
libdv, MLT and ffmpeg read it as one stream. Each segment's frames carry timecodes from zero;
after each copy, ``media.dvtc.retime`` rewrites those of the frames copied (their subcode and VAUX
blocks only) to count on from the cast's start.

Because sizes are fixed, a segment re-encoded at the same length occupies the same byte range
of the cast. When castkit finds the cast it wrote last time untouched (same size, inode and
modification time as recorded in its manifest) and the segment layout unchanged, or changed
only after most of the cast (a clip's end moved, its chunks before the end kept), it moves the
cast to a hidden temporary name, overwrites only the changed ranges, and moves it back:
a one-title edit of a ten-minute cast writes a few megabytes instead of two gigabytes, and at no
moment does a half-patched file carry the cast's name. When most of the cast is its previous
bytes shifted (a clip's start moved, its chunks after the start kept), those bytes are moved
inside the cast's own file to their new place (``Move``) and the new parts written around them.

A full join does not wait for the last segment: ``open_sink`` gives the runner a ``CastWriter``
that copies each segment into its byte range of the cast's temporary file while ffmpeg is still
writing it (whole frames are final once written: the dv muxer never goes back), so when the
last encode ends only its last moments remain to copy.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

from castkit.base.files import partial_path, remove_stale_partials, start_write_back, write_error
from castkit.base.stops import stops_deferred
from castkit.cache.records import untouched, read_manifest, write_record
from castkit.cache.written import block_digest, hashed_while_written, record_patched, whole_blocks, will_be_recorded
from castkit.errors import Interrupted, WorkError
from castkit.media.dvtc import retime
from castkit.base.jobs import InProcessJob


_CHUNK = 64 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    path: Path
    key: str
    size: int
    frame: int  # bytes per frame: a part is copied in whole frames until it is complete
    skip: int = 0  # bytes of lead frames at the file's start, not part of the cast (NTSC sound)
    tail: int = 0  # bytes of frames at the file's end, not part of the cast (a transition's)


@dataclass(frozen=True)
class ByteJoinJob(InProcessJob):
    """Write ``output`` as the concatenation of ``parts`` (raw DV segments)."""

    label: str
    parts: tuple[Part, ...]
    output: Path
    manifest: Path
    frames: int

    def shell(self) -> str:
        if any(p.tail for p in self.parts):
            return "{ " + "; ".join(f"tail -c +{p.skip + 1} {shlex.quote(str(p.path))} | head -c {p.size}"
                                   for p in self.parts) + "; } > " + shlex.quote(str(self.output))
        if not any(p.skip for p in self.parts):
            return shlex.join(["cat", *(str(p.path) for p in self.parts)]) + " > " + shlex.quote(str(self.output))
        return "{ " + "; ".join(shlex.join(["tail", "-c", f"+{p.skip + 1}", str(p.path)])
                               for p in self.parts) + "; } > " + shlex.quote(str(self.output))

    def render(self) -> str:
        """Do the join; returns what was done: "joined", "patched N segments" or "up to date"."""
        remove_stale_partials(self.output)  # what a killed run left beside the cast
        previous = read_manifest(self.manifest)
        changed = self._changed(previous)
        if changed is None:
            writer = CastWriter(self)
            return writer.finish()
        moved = self._moved(previous)
        if not changed and moved is None and not self._relaid(previous):
            return "up to date"
        # A stop (Ctrl-C, SIGTERM) waits for the patch, so that the cast and its records agree
        # (the previous cast stays whole meanwhile, whatever stops castkit): a patch copies the
        # cast within the disk (seconds for ten minutes of PAL), so the stop comes soon.
        with stops_deferred() as stopped:
            before = self.output.stat()
            rewritten = self._patch(changed, moved)
            self._record()
            # What castkit wrote (cache.written): only the blocks the patch touched hashed again.
            record_patched(self.manifest.parent, self.output, before, rewritten)
        if stopped:
            raise Interrupted(f"stopped; {self.output} was patched first and is complete")
        done = [f"patched {len(changed)} segment{'s' if len(changed) != 1 else ''}"] if changed else []
        if moved is not None:
            done.append(f"moved {moved.size // moved.frame} frames")
        return ", ".join(done) or "cut to length"

    def reads(self) -> tuple[Path, ...]:
        """The segments this join will copy: all for a full join, the changed ones for a
        patch, none for a cast that is up to date."""
        changed = self._changed(read_manifest(self.manifest))
        indices = range(len(self.parts)) if changed is None else changed
        return tuple(self.parts[i].path for i in indices)

    def open_sink(self) -> CastWriter | None:
        """For a full join, the cast's temporary file, ready to take segments while they are
        encoded; None when the cast castkit wrote last time is to be patched or is up to date
        (a patch writes little, and must not touch the cast before every segment is ready)."""
        return CastWriter(self) if self._changed(read_manifest(self.manifest)) is None else None

    def _changed(self, previous: dict | None) -> list[int] | None:
        """The parts that differ from the cast castkit wrote last time (``previous``: its
        manifest), if that cast is there, untouched, and laid out the same; None if the cast
        must be joined afresh."""
        if previous is None or not untouched(self.output, previous):
            return None
        old = previous["parts"]
        if previous.get("skips", []) != [p.skip for p in self.parts if p.skip]:
            return None
        if [size for _, size in old] == [p.size for p in self.parts]:
            return [i for i, (part, (key, _)) in enumerate(zip(self.parts, old)) if part.key != key]
        # Another layout (a clip's end moved: its last chunks changed, those before it did
        # not): the parts before the first difference keep their bytes and places, the rest is
        # written anew and the cast cut to its new length. Only while that keeps most of the
        # cast: otherwise a fresh join, which copies while the segments are encoded, is sooner.
        if any(p.skip for p in self.parts):
            return None
        kept = _kept(self.parts, old)
        run = range(kept.new, kept.new + kept.count)
        if 2 * sum(p.size for i, p in enumerate(self.parts) if i < kept.same or i in run) \
                < sum(p.size for p in self.parts):
            return None
        return [i for i in range(kept.same, len(self.parts)) if i not in run]

    def _relaid(self, previous: dict) -> bool:
        """Whether the parts' sizes differ from the previous cast's (a patch then at least cuts
        the cast to its new length: a clip's end moved back onto a chunk's edge drops the last
        chunk and changes no other)."""
        return [size for _, size in previous["parts"]] != [p.size for p in self.parts]

    def _moved(self, previous: dict) -> Move | None:
        """For a patch: where the run of parts it keeps (a clip's start moved: its chunks
        after the start unchanged) was in the previous cast and where it goes. None when it
        stays in place (or there is none)."""
        old = previous["parts"]
        kept = _kept(self.parts, old)
        if not kept.count:
            return None
        source = sum(size for _, size in old[:kept.old])
        target = sum(p.size for p in self.parts[:kept.new])
        size = sum(p.size for p in self.parts[kept.new:kept.new + kept.count])
        return Move(source, target, size, self.parts[0].frame) if source != target else None

    def _patch(self, changed: list[int], moved: Move | None = None) -> list[tuple[int, int]]:
        """Patch the cast: a new file of the previous cast's bytes that stay (copied by the
        kernel, to where they go) and the changed parts, given the cast's name once whole.
        Until then the previous cast keeps its name and its bytes: a stop of any kind (a
        SIGKILL, a full disk) leaves it as it was. Returns the byte ranges [start, end) that
        differ from the previous cast's."""
        offsets = [0]
        for part in self.parts:
            offsets.append(offsets[-1] + part.size)
        run = range(0)
        if moved is not None:
            first = offsets.index(moved.target)
            run = range(first, first + next(n for n in range(len(self.parts) - first + 1)
                                            if offsets[first + n] - moved.target == moved.size))
        with contextlib.ExitStack() as stack:
            # Every new part opened and measured first: one gone or short (a cache cleaned
            # meanwhile) fails the build, not the previous cast.
            sources = {}
            for i in changed:
                src = stack.enter_context(open(self.parts[i].path, "rb"))
                if os.fstat(src.fileno()).st_size != self.parts[i].skip + self.parts[i].size + self.parts[i].tail:
                    raise OSError(errno.EIO, "a cached segment changed size", str(self.parts[i].path))
                sources[i] = src
            previous = stack.enter_context(open(self.output, "rb"))
            # The previous cast's bytes: each part that stays where it was, the moved run
            # (a clip's start moved) from where it was; as few copies as there are runs.
            pieces: list[list[int]] = []  # [target, source, size]
            for i, part in enumerate(self.parts):
                if i in sources:
                    continue
                source = offsets[i] + (moved.source - moved.target if i in run else 0)
                if pieces and pieces[-1][0] + pieces[-1][2] == offsets[i] and pieces[-1][1] + pieces[-1][2] == source:
                    pieces[-1][2] += part.size
                else:
                    pieces.append([offsets[i], source, part.size])
            temp = partial_path(self.output)
            try:
                with open(temp, "w+b") as out:  # read too: the timecode is rewritten through a mapping
                    os.ftruncate(out.fileno(), offsets[-1])
                    for target, source, size in pieces:
                        _copy(previous.fileno(), out.fileno(), size, target, source, name=self.output)
                        # To disk while the rest is copied, not all at the rename (base.files).
                        start_write_back(out.fileno(), target, target + size)
                    if moved is not None:  # its frames count their timecode on from their new place
                        moved.retime(out.fileno())
                    for i, src in sources.items():
                        _copy(src.fileno(), out.fileno(), self.parts[i].size, offsets[i],
                              self.parts[i].skip, name=self.parts[i].path)
                        _continue_timecode(out.fileno(), self.parts[i], offsets[i], self.parts[i].size,
                                           self.parts[i].skip)
                os.replace(temp, self.output)
            except BaseException:
                temp.unlink(missing_ok=True)  # the new cast only; the previous one is as it was
                raise
        return [(offsets[i], offsets[i + 1]) for i in changed] + (
            [(moved.target, moved.target + moved.size)] if moved is not None else [])

    def _record(self) -> None:
        st = self.output.stat()
        data = {
            "output": str(self.output.resolve()),
            "stat": [st.st_size, st.st_ino, st.st_mtime_ns],
            "parts": [[p.key, p.size] for p in self.parts],
        }
        if any(p.skip for p in self.parts):
            data["skips"] = [p.skip for p in self.parts if p.skip]

        write_record(self.manifest, json.dumps(data), "the next build joins the cast afresh")


@dataclass(frozen=True)
class _Kept:
    """What a patch keeps of the previous cast: its first ``same`` parts where they are, and
    the ``count`` parts from new part ``new`` on, which were its parts from ``old`` on."""

    same: int
    new: int
    old: int
    count: int


def _kept(parts: tuple[Part, ...], old: list) -> _Kept:
    """The parts at the start of the cast that are the previous cast's (the same segment and
    size, in the same place), then the longest run of the others that was a run of the
    previous cast's (a clip's start moved: its chunks after the first, up to an end that a fade
    changed, are the same), by bytes."""
    same = 0
    for part, (key, size) in zip(parts, old):
        if part.key != key or part.size != size:
            break
        same += 1
    best, best_bytes = _Kept(same, same, same, 0), 0
    for i in range(same, len(parts)):
        for j in range(same, len(old)):
            n, length = 0, 0
            while (i + n < len(parts) and j + n < len(old) and parts[i + n].key == old[j + n][0]
                   and parts[i + n].size == old[j + n][1]):
                length += parts[i + n].size
                n += 1
            if length > best_bytes:
                best, best_bytes = _Kept(same, i, j, n), length
    return best


@dataclass(frozen=True)
class Move:
    """A patch's move of ``size`` bytes of the previous cast from ``source`` to ``target``
    (a clip's start moved), copied into the patched cast by the kernel; the frames moved count
    their timecode on from their new place.

    Why not join afresh from the cache: the moved frames' bytes are the previous cast's, which
    castkit vouched for when it wrote it (the cast is untouched: same size, inode and time), so
    no cached chunk is hashed. (The cast was once patched inside its own file, which spared a
    second copy of it, but a SIGKILL or a full disk mid-patch then left no cast at all.)"""

    source: int
    target: int
    size: int
    frame: int

    def retime(self, fd: int) -> None:
        """The moved frames, now at ``target`` in ``fd``, counting their timecode on from there."""
        if self.frame in (144000, 120000):
            retime(fd, self.target, self.size // self.frame, self.target // self.frame, self.frame)


class CastWriter:
    """A full join in progress: the cast under a temporary name beside it, each part copied into
    its byte range as soon as (and as far as) it is written. ``finish`` copies what is left and
    gives the cast its name; ``abort`` stops and removes the temporary file.

    Nothing that goes wrong with the cast itself (a full disk, a cached segment gone) stops the
    encodes feeding it: they go on into the cache, for the next run, and ``finish`` reports the
    first such error once they are done.
    """

    def __init__(self, job: ByteJoinJob) -> None:
        self.job = job
        self._offsets = []
        self._where: dict[Path, list[int]] = {}  # a part's file -> the parts it fills
        offset = 0
        for i, part in enumerate(job.parts):
            self._offsets.append(offset)
            self._where.setdefault(part.path, []).append(i)
            offset += part.size
        self._copied = [0] * len(job.parts)
        # The cast's whole blocks of the written record (``cache.written``), hashed as soon as
        # every byte of one is copied and retimed (final), while the encodes go on.
        self._digests: dict[int, str] = {}
        self._hashed = will_be_recorded(job.output)  # not for a build that records nothing
        self._hashing = threading.Lock()
        self._written_back = 0  # the cast's first bytes whose write to disk has been started
        self._filler: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        # Last, so that nothing can fail between reserving the name and handing it over.
        self.temp = partial_path(job.output)

    def feed(self, path: Path, written: Path, available: int) -> bool:
        """``written`` holds the first ``available`` bytes of the part ``path`` (a segment
        being encoded, or finished): copy the whole frames not yet copied, into every range of
        the cast that part fills. Files are opened per call, so no descriptor outlives a stop.
        Whether ``path`` is a part of this cast."""
        wanted = self._where.get(path)
        if not wanted or self._error is not None or self._stop.is_set():
            return bool(wanted)
        grew = False
        try:
            with open(written, "rb") as src, open(self.temp, "r+b") as out:
                for i in wanted:
                    part = self.job.parts[i]
                    upto = min(available - part.skip, part.size)
                    upto -= upto % part.frame if upto < part.size else 0
                    if upto > self._copied[i]:
                        start = self._copied[i]
                        _copy(src.fileno(), out.fileno(), upto - start, self._offsets[i] + start,
                              part.skip + start, self._stop, name=path)
                        if self._stop.is_set():
                            return True
                        _continue_timecode(out.fileno(), part, self._offsets[i] + start, upto - start,
                                           part.skip + start)
                        self._copied[i] = upto
                        grew = True
                self._hash_final_blocks(out.fileno())
                if grew:  # to disk while the encodes go on, not at the rename (see the function)
                    self._written_back = start_write_back(out.fileno(), self._written_back, self._final())
        except OSError as exc:
            self._error = self._error or write_error(self.job.output, exc)
        return True

    def _final(self) -> int:
        """How many of the cast's first bytes are final: copied (and retimed), each part
        before them whole."""
        final = 0
        for offset, copied, part in zip(self._offsets, self._copied, self.job.parts):
            final = offset + copied
            if copied < part.size:
                break
        return final

    def _hash_final_blocks(self, fd: int) -> None:
        """Hash the whole blocks of the cast that lie wholly before its first byte not yet
        copied (each hashed once, by whichever feed gets there first)."""
        if not self._hashed or not self._hashing.acquire(blocking=False):
            return  # another feed is hashing: it or the next one takes these blocks
        try:
            index, final = len(self._digests), self._final()
            while index < whole_blocks(final) and not self._stop.is_set():
                self._digests[index] = block_digest(fd, index)
                index += 1
        finally:
            self._hashing.release()

    def prefill(self, produced: set[Path]) -> None:
        """Copy the parts no job of this run produces (segments from the cache) in the
        background, while the others are encoded."""
        ready = {path: self.job.parts[i[0]].skip + self.job.parts[i[0]].size
                 for path, i in self._where.items() if path not in produced}
        if ready:
            self._filler = threading.Thread(target=self._fill, args=(ready,), daemon=True)
            self._filler.start()

    def _fill(self, ready: dict[Path, int]) -> None:
        try:
            for path, size in ready.items():
                self.feed(path, path, size)
        except BaseException as exc:  # noqa: BLE001 - handed to finish(), in the main thread
            self._error = self._error or exc

    def finish(self) -> str:
        try:
            if self._filler is not None:
                self._filler.join()
            for part, copied in zip(self.job.parts, self._copied):
                if copied < part.size:
                    self.feed(part.path, part.path, part.skip + part.size)
            if self._error is not None:
                raise self._error
            if self._copied != [part.size for part in self.job.parts]:  # stopped meanwhile
                raise WorkError(f"{self.job.output}: the join was stopped before the end")
            os.replace(self.temp, self.job.output)
            hashed_while_written(self.job.output, self._digests)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError):
                raise write_error(self.job.output, exc) from None
            raise
        self.job._record()
        return "joined"

    def abort(self) -> None:
        """Remove the temporary file, then stop copying into it (within one chunk): a second
        Ctrl-C during the wait leaves nothing behind."""
        self.temp.unlink(missing_ok=True)
        self._stop.set()
        if self._filler is not None and self._filler is not threading.current_thread():
            self._filler.join()


def _continue_timecode(fd: int, part: Part, offset: int, size: int, source: int) -> None:
    """The DV frames just copied to ``offset`` of the cast from ``source`` of their segment:
    their timecode and recording time counted on from the cast's start, not the segment's (see
    ``media.dvtc``). Frames at the same place in the cast as in their segment (the first
    segment, or a cast of one) already count so: ffmpeg's dv muxer counts from its file's first
    frame as ``retime`` does (tests/e2e/test_timecode_dv.py reads them), and they are left as
    they are."""
    if offset == source:
        return
    if part.frame in (144000, 120000):
        retime(fd, offset, size // part.frame, offset // part.frame, part.frame)


def _copy(src: int, dst: int, size: int, dst_offset: int, src_offset: int = 0,
          stop: threading.Event | None = None, name: Path | None = None) -> None:
    """Copy ``size`` bytes of ``src`` (the file ``name``) from ``src_offset`` to ``dst`` at
    ``dst_offset``, inside the kernel; given up between chunks once ``stop`` is set.

    copy_file_range first (a reflink on filesystems that share blocks); sendfile where the two
    files are on different filesystems (the cache on disk, the cast on a USB stick); a bounded
    buffer only where the kernel offers neither (not Linux).
    """
    ways = ["copy_file_range", "sendfile", "buffer"]
    done = 0
    while done < size:
        if stop is not None and stop.is_set():
            return
        count = min(_CHUNK, size - done)
        try:
            if ways[0] == "copy_file_range":
                n = os.copy_file_range(src, dst, count, src_offset + done, dst_offset + done)
            elif ways[0] == "sendfile":
                os.lseek(dst, dst_offset + done, os.SEEK_SET)
                n = os.sendfile(dst, src, src_offset + done, count)
            else:
                block = os.pread(src, min(count, 1024 * 1024), src_offset + done)
                n = os.pwrite(dst, block, dst_offset + done) if block else 0
        except (AttributeError, OSError):
            if len(ways) == 1:
                raise
            ways.pop(0)  # not on this system, or not across these filesystems: the next way
            continue
        if n == 0:
            raise _ended_early(size - done, name)
        done += n


class _EndedEarly(OSError):
    pass


def _ended_early(missing: int, name: Path | None) -> OSError:
    return _EndedEarly(errno.EIO, f"segment ended {missing} bytes early", None if name is None else str(name))
