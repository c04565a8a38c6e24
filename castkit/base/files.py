"""Where castkit may write: the rules that keep a user's files safe, checked before any work."""

from __future__ import annotations

import errno
import mmap
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from castkit.base.libc import libc_function
from castkit.errors import UsageError, WorkError


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
    return real_path(a) == real_path(b)


def check_output(
    output: Path, inputs: Iterable[Path], force: bool, suffixes: Iterable[str],
    replaceable: Callable[[Path], str | None] | None = None,
) -> None:
    """UsageError unless ``output`` may be written: a known suffix, not an input, not a folder,
    not existing unless ``force`` or castkit's to replace: ``replaceable(output)`` says why an
    existing file is not (None: it is what castkit wrote there, ``cache.written``)."""
    suffixes = tuple(suffixes)
    name = shown_path(output)
    if output.suffix.lower() not in suffixes:
        raise UsageError(
            f"{name}: unknown output type {output.suffix or '(no suffix)'!r}; "
            f"use {', '.join(suffixes)}"
        )
    if "\n" in str(output) or "\r" in str(output):
        raise UsageError(f"{str(output)!r}: a line break in a file name is not supported")
    if symlink_loop(output):
        raise UsageError(f"{name}: {LOOP}")
    for source in inputs:
        if same_file(output, source):
            raise UsageError(f"{name}: is one of the inputs; castkit never overwrites a source")
    if output.is_dir():
        raise UsageError(f"{name}: is a folder; name a file")
    if output.exists() and not force:
        why = replaceable(output) if replaceable is not None else "already exists"
        if why is not None:
            raise UsageError(f"{name}: {why}; use --force to replace it")


def shown_path(path: Path | str) -> str:
    """A path as messages show it: relative to here when below here, else absolute, never with
    ``..`` or ``.`` parts (``recipes/../build/demo.dv`` is ``build/demo.dv``)."""
    plain = os.path.normpath(os.path.abspath(path))
    try:
        relative = os.path.relpath(plain)
    except ValueError:
        return plain
    return relative if not relative.startswith("..") else plain


def real_path(path: Path) -> Path:
    """``path`` with links and ``..`` resolved as far as they resolve (a symlink loop stays as
    written, rather than raise)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


PICTURES_SUFFIX = ".pictures"
MAP_SUFFIX = ".map"


PARTIAL_SUFFIX = ".partial"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; a finished output gets the mode any new file of the user's gets.
_FILE_MODE = 0o666 & ~_umask()
PAGE = mmap.PAGESIZE


def partial_path(output: Path) -> Path:
    """A fresh, reserved temporary name beside ``output`` (same filesystem: rename is atomic):
    ``.NAME.<pid>-XXXXXXXX.partial``, the creator's process id in it so that a later run can
    tell a temporary file whose writer was killed (``kill -9``, a power cut) from one being
    written; the stale ones of ``output`` are removed here (see ``stale_partials``).

    A folder that cannot be made or written (a file in the way, a read-only or full disk) is a
    WorkError naming the folder: the system failed, not the user's command (exit 1).
    """
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise WorkError(
            f"{output.parent}: cannot create this folder: a file of that name is in the way"
        ) from None
    except OSError as exc:
        raise WorkError(f"{output.parent}: cannot create this folder ({exc.strerror})") from None
    remove_stale_partials(output, concat_list=False)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{output.name}.{os.getpid()}-", suffix=PARTIAL_SUFFIX, dir=output.parent
        )
    except OSError as exc:
        raise WorkError(f"{output.parent}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    os.chmod(name, _FILE_MODE)
    return Path(name)


# The temporary names partial_path gives (mkstemp's 8 random characters are [a-z0-9_]), and the
# join list of a cast. Nothing else beside an output is ever treated as castkit's debris.
CONCAT_SUFFIX = ".concat.txt"
# The small files a join reads besides its list (chapters, captions), one set per run.
RUN_FILE_SUFFIXES = (CONCAT_SUFFIX, ".ffmetadata", ".srt", ".vtt")
# A temporary output may have the files of its distinct pictures beside it (``media.pictures``).
_TEMP_TAIL = re.compile(r"\.(?P<pid>[0-9]{1,10})(?:-[a-z0-9_]{8}" + re.escape(PARTIAL_SUFFIX)
                        + f"(?:{re.escape(PICTURES_SUFFIX)})?"
                        + "|" + "|".join(map(re.escape, RUN_FILE_SUFFIXES)) + ")")


def concat_list_path(output: Path) -> Path:
    """The join list of ``output`` for this run: ``.NAME.<pid>.concat.txt``. Two builds of one
    output at once each have their own (with one fixed name, one removed or rewrote the list
    the other's ffmpeg was reading); a killed run's is stale once its pid is gone. A plan names
    it, so what ``--dry-run`` prints is the same list under the same name."""
    return run_file_path(output, CONCAT_SUFFIX)


def run_file_path(output: Path, suffix: str) -> Path:
    """A file this run writes beside ``output`` for ffmpeg to read (``RUN_FILE_SUFFIXES``):
    ``.NAME.<pid>SUFFIX``, removed when the job ends, and by the next build if a kill -9
    left it."""
    if suffix not in RUN_FILE_SUFFIXES:
        raise ValueError(f"{suffix}: not a run file")
    return output.parent / f".{output.name}.{os.getpid()}{suffix}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's live process (or no way to tell): never touch its file
    return True


def stale_partials(output: Path, concat_list: bool = True) -> list[Path]:
    """The leftovers of runs that wrote ``output`` and were killed before they could clean up:
    its temporary files whose creating process is gone, and (``concat_list``) its join list
    ``.NAME.concat.txt`` when no live process is writing ``output``. Only regular files
    (never symlinks) with exactly these names; a temporary file of a live process (this one
    included) is never stale."""
    folder = output.parent
    prefix = f".{output.name}"
    stale: list[Path] = []
    live = False
    concat = None
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if not name.startswith(prefix):
                    continue
                rest = name[len(prefix):]
                if rest == CONCAT_SUFFIX:
                    concat = entry
                    continue
                match = _TEMP_TAIL.fullmatch(rest)
                if match is None:
                    continue
                if _alive(int(match["pid"])):
                    live = True
                elif entry.is_file(follow_symlinks=False):
                    stale.append(folder / name)
    except OSError:
        return []
    if concat_list and concat is not None and not live and concat.is_file(follow_symlinks=False):
        stale.append(folder / concat.name)
    return sorted(stale)


def remove_stale_partials(output: Path, concat_list: bool = True) -> list[Path]:
    """Remove what ``stale_partials`` finds; returns the files removed (a file that cannot be
    removed, or that vanished meanwhile, is left to the next run)."""
    removed = []
    for path in stale_partials(output, concat_list):
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def write_atomically(output: Path, write: Callable[[Path], object],
                     place: Callable[[Path, Path], object] = os.replace) -> None:
    """``write(temp)`` to a reserved name beside ``output``, then ``place`` it there (rename
    it); on any failure the temporary file goes and ``output`` is as it was."""
    temp = partial_path(output)
    try:
        write(temp)
        place(temp, output)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full or read-only disk: one line, exit 1
            raise write_error(output, exc) from None
        raise


def publish_once(temp: Path, output: Path, keep: Callable[[Path], bool]) -> bool:
    """Give the finished ``temp`` the name ``output`` unless ``output`` is already there and
    ``keep(output)`` says it holds what ``temp`` does; True if ``temp`` went in. For the
    cache's entries, named by their content: builds sharing a cache make the same entry at
    once, and one that replaced the other's file (a new inode under the same name) made the
    other's ffmpeg, reading it, fail ("changed while it was being read"). A hard link puts
    ``temp`` in place only where nothing is (atomic; no window in which a reader finds none);
    where links are not supported, the entry is replaced as before."""
    try:
        os.link(temp, output)
    except FileExistsError:
        if keep(output):
            temp.unlink(missing_ok=True)
            return False
        os.replace(temp, output)  # a leftover no one vouches for (a killed run's, unsealed)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        os.replace(temp, output)
        return True
    temp.unlink(missing_ok=True)
    return True


def write_once(output: Path, write: Callable[[Path], object]) -> None:
    """``write_atomically`` for a file named by its content (a cache's title card): if another
    process put ``output`` in place meanwhile, that file stays, untouched, and ours goes."""
    write_atomically(output, write,
                     lambda temp, out: publish_once(temp, out, lambda existing: existing.stat().st_size > 0))


# sync_file_range(2)'s flag: start writing the range's dirty pages, wait for nothing.
_SYNC_FILE_RANGE_WRITE = 2


_SYNC_FILE_RANGE = libc_function("sync_file_range", "c_int", "c_int64", "c_int64", "c_uint")


def start_write_back(fd: int, start: int, end: int) -> int:
    """Start writing bytes ``start`` to ``end`` of the open file ``fd`` to disk, without waiting
    and keeping them cached (Linux; elsewhere nothing: the kernel writes them later); where
    the next call starts.

    ext4 writes a file's cached bytes out before it lets the file replace another by rename
    (``auto_da_alloc``: no empty file after a crash), so a large output written moments ago
    waits for that when it replaces an old one (a rebuilt 108 MB DV cast: 0.06-0.1 s after
    the last encode). Started while the output is written, little is left then. Only whole
    pages: the page that the next write continues stays out of the write-back."""
    end -= end % PAGE
    if end > start and _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, start, end - start, _SYNC_FILE_RANGE_WRITE)  # a failure only means "later"
    return max(start, end)


def write_error(output: Path, exc: OSError) -> WorkError:
    """An OSError met while producing ``output`` (a full disk, a vanished segment) as a
    one-line WorkError naming the file it is about, instead of a traceback."""
    where = exc.filename or output
    return WorkError(f"{where}: {exc.strerror or exc} (while writing {output.name})")


# --- reading the small files a recipe names -------------------------------------------------
# Only regular files, opened without blocking and read up to a limit: a FIFO would hang the
# read, a device (/dev/zero) or a huge sparse file would fill memory; each is refused in words.

# Text a person writes (a recipe, a captions file) is far smaller; a file past this is a
# mistake (a video named .srt) and is not read into memory.
MAX_TEXT_BYTES = 4 * 1024 * 1024


class FileRefused(ValueError):
    """Why a file cannot be read as asked, in words for a message after its name."""


class TooLarge(FileRefused):
    """A regular file past the limit."""


def file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (a named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def require_regular(path: Path) -> None:
    """FileRefused unless ``path`` (links followed) is a regular file; OSError if it cannot be
    looked at (missing, no permission)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise FileRefused(file_kind(mode))


def read_regular(path: Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes. Opened with
    O_NONBLOCK, so that a FIFO is refused rather than waited on; its kind and size are those
    of the file opened (fstat), not of a name that may change meanwhile. FileRefused for any
    other kind or a larger file; OSError as the system says (missing, no permission)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(file_kind(info.st_mode))
        if info.st_size > limit:
            raise TooLarge(f"is {info.st_size / 2**20:.0f} MiB; castkit reads text files "
                              f"of at most {limit // 2**20} MiB")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while read
            raise TooLarge(f"is larger than {limit // 2**20} MiB; castkit reads text files "
                              f"of at most {limit // 2**20} MiB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def stat_identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What tells one version of a file from another without reading it: size, modification and
    change times, inode and device (ctime and inode catch a change that restores the others)."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def path_identity(path: Path) -> tuple[int, int, int, int, int] | None:
    """``stat_identity`` of the file at ``path``; None if it cannot be read."""
    try:
        return stat_identity(os.stat(path))
    except OSError:
        return None
