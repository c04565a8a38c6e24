"""The ffmpeg binary castkit talks to, and the one place that uses ffmpeg-python.

Resolution order: ``CASTKIT_FFMPEG``, then ``ffmpeg`` on PATH, then the binary shipped in the
``imageio-ffmpeg`` wheel, so ``pip install castkit`` alone gives a working tool.

ffmpeg-python 0.2.0 (2019, unmaintained) is used only to build graphs and compile them to argv;
castkit runs the processes itself. Its traps, all avoided here: kwargs come out in sorted order
(so option order is never relied on), list values are not repeated, tuple values break on Python
3.10+, and its ``probe()`` needs an ffprobe binary the wheel does not have (see ``media.probe``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from castkit.base.files import write_atomically
from castkit.errors import FfmpegNotFound, WorkError


ENV_VAR = "CASTKIT_FFMPEG"
MIN_VERSION = (5, 1)
INSTALL_HINT = (
    "install castkit with pip (its imageio-ffmpeg dependency ships ffmpeg), "
    f"install ffmpeg >= {MIN_VERSION[0]}.{MIN_VERSION[1]} on PATH, "
    f"or point {ENV_VAR} at an ffmpeg binary"
)

# Local files only: the demuxers a capture, a voice-over, a still or castkit's own concat list
# may use. Playlists (hls), remote protocols and the like are refused, so a hostile file named
# .ogv cannot make ffmpeg read /etc/passwd or fetch a URL into the video.
SAFE_FORMATS = (
    "ogg", "matroska", "webm", "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "avi", "dv", "flv",
    "asf", "mpeg", "mpegts", "mpegvideo", "h264", "hevc", "m4v", "wav", "w64", "aiff", "mp3",
    "flac", "aac", "ac3", "caf", "au", "amr", "wv", "ape", "tta", "ivf", "yuv4mpegpipe",
    "nut", "gif", "webp_pipe", "image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "tiff_pipe",
    "gxf", "mxf", "rm",
)
SAFE_PROTOCOLS = ("file",)


@dataclass(frozen=True)
class Ffmpeg:
    """A usable ffmpeg: where it is, how it was found, and which version it says it is."""

    path: str
    found_by: str
    version: str

    @property
    def version_tuple(self) -> tuple[int, int] | None:
        """(major, minor) of a release; None for a git snapshot ("N-12345-g...")."""
        match = re.match(r"n?(\d+)\.(\d+)", self.version)
        return (int(match[1]), int(match[2])) if match else None


def _version_of(path: str) -> str:
    """What ``path -version`` says, from the answer remembered for that very file if there is
    one (``_remembered_version``), else asked and remembered."""
    before = _binary_identity(path)
    known = _remembered_version(before)
    if known is not None:
        return known
    version = _ask_version(path)
    if before is not None and before == _binary_identity(path):
        _remember_version(path, before, version)
    return version


# Each castkit run asked its ffmpeg's version: an ffmpeg started and its libraries loaded, about
# 0.05-0.07 s of CPU (a tenth of a deep trim's overhead over plain ffmpeg). The answer is kept per
# user ($XDG_CACHE_HOME/castkit/ffmpeg-versions, one small file per binary), keyed by the binary's
# real path and identity (size, modification and change times, inode, device: a replaced or
# upgraded binary is another file), and sealed by a SHA-256 of its content: an entry that does
# not parse, whose seal or key does not match, is never trusted (the version is asked again and
# the entry written again). Scripts (``#!``) are never remembered: what they run may change
# while they do not. Nothing is remembered where the folder cannot be written.
VERSIONS_FOLDER = ("castkit", "ffmpeg-versions")
_VERSION = re.compile(r"\S{1,200}")


def _versions_folder() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        home = os.environ.get("HOME")
        if not home or not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base, *VERSIONS_FOLDER)


def _binary_identity(path: str) -> tuple[str, list[int]] | None:
    """The real path and identity of an ffmpeg binary named by a path (not a bare command name,
    which PATH resolves); None for a script or a file that cannot be read."""
    if os.sep not in path:
        return None
    try:
        real = os.path.realpath(path)
        with open(real, "rb") as binary:
            if binary.read(2) == b"#!":
                return None
            st = os.fstat(binary.fileno())
    except (OSError, ValueError):
        return None
    return real, [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _version_entry(real: str) -> Path | None:
    folder = _versions_folder()
    if folder is None:
        return None
    return folder / (hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".json")


def _seal(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _remembered_version(identity: tuple[str, list[int]] | None) -> str | None:
    entry = _version_entry(identity[0]) if identity is not None else None
    if entry is None:
        return None
    try:
        with open(entry, "rb") as f:
            data = json.loads(f.read(4096))
        record = {k: data[k] for k in ("path", "identity", "version")}
        if (data.get("seal") != _seal(record) or [record["path"], record["identity"]] != list(identity)
                or not isinstance(record["version"], str) or not _VERSION.fullmatch(record["version"])):
            return None
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return record["version"]


def _remember_version(path: str, identity: tuple[str, list[int]], version: str) -> None:
    entry = _version_entry(identity[0])
    if entry is None or not _VERSION.fullmatch(version):
        return
    record = {"path": identity[0], "identity": identity[1], "version": version}
    text = json.dumps({**record, "seal": _seal(record)})
    try:  # whole or not at all, whoever else writes it meanwhile
        write_atomically(entry, lambda temp: temp.write_text(text, encoding="utf-8"))
    except WorkError:
        pass  # not remembered: asked again next time


def _ask_version(path: str) -> str:
    out = subprocess.run(
        [path, "-hide_banner", "-version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=True,
    ).stdout.decode("utf-8", "replace")
    match = re.match(r"ffmpeg version (\S+)", out)
    if not match:
        raise ValueError("does not say it is ffmpeg")
    return match[1]


def _candidates(env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The ffmpegs to try, in order, each found only once those before it failed: the wheel's
    module is imported only then (about 0.025 s, on the way to a deep trim's first ffmpeg)."""
    if env.get(ENV_VAR):
        # An explicit choice is never silently replaced by another binary.
        yield env[ENV_VAR], ENV_VAR
        return
    on_path = shutil.which("ffmpeg", path=env.get("PATH"))
    if on_path:
        yield on_path, "PATH"
    try:
        import imageio_ffmpeg

        wheel = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - missing wheel or binary: just not a candidate
        return
    yield wheel, "imageio-ffmpeg"


def find_ffmpeg(env: dict[str, str] | None = None) -> Ffmpeg:
    """The ffmpeg to use, or FfmpegNotFound naming everything that was tried."""
    env = dict(os.environ if env is None else env)
    with _FINDING:  # one -version query per binary, even while find_ffmpeg_soon's runs
        return _find_cached(tuple(sorted(env.items())))


_FINDING = threading.Lock()


def find_ffmpeg_soon() -> None:
    """Start finding the ffmpeg (its ``-version`` query, an ffmpeg started and its libraries
    loaded: about 0.1 s) in a thread, while castkit imports the rest of itself; the next
    ``find_ffmpeg`` takes its answer, or raises its error."""
    def find() -> None:
        with contextlib.suppress(FfmpegNotFound):  # said by the find_ffmpeg that needs it
            find_ffmpeg()

    threading.Thread(target=find, name="find-ffmpeg", daemon=True).start()


@functools.lru_cache(maxsize=8)
def _find_cached(env_items: tuple[tuple[str, str], ...]) -> Ffmpeg:
    env = dict(env_items)
    tried = []
    for path, how in _candidates(env):
        try:
            version = _version_of(path)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            tried.append(f"{path} ({how}): {why_not_usable(exc)}")
            continue
        ffmpeg = Ffmpeg(path, how, version)
        vt = ffmpeg.version_tuple
        if vt is not None and vt < MIN_VERSION:
            tried.append(f"{path} ({how}): version {version} is older than 5.1")
            continue
        return ffmpeg
    if not tried:
        tried.append("no ffmpeg on PATH and the imageio-ffmpeg wheel is not installed")
    raise FfmpegNotFound("no usable ffmpeg found; tried: " + "; ".join(tried) + ". " + INSTALL_HINT)


def graph_file_option(version: tuple[int, int] | None) -> str:
    """The option that reads a filter graph from a file: ``-/filter_complex`` from ffmpeg 7 on
    (9.0 knows no other), ``-filter_complex_script`` before it (5.1 knows no other)."""
    return "-/filter_complex" if version is None or version >= (7, 0) else "-filter_complex_script"


# The longest filter graph passed as an argument. Linux takes no single argument longer than
# 128 kB (MAX_ARG_STRLEN): a longer graph (a clip with dozens of camera moves or overlays, a
# long paused clip) would not even start ffmpeg ("Argument list too long").
LONG_GRAPH = 64 * 1024


@functools.lru_cache(maxsize=8)
def _version_tuple(path: str) -> tuple[int, int] | None:
    return Ffmpeg(path, "", _version_of(path)).version_tuple


@contextlib.contextmanager
def short_arguments(argv: Sequence[str]) -> Iterator[list[str]]:
    """``argv`` with each filter graph longer than LONG_GRAPH written to a file that ffmpeg
    reads instead (``graph_file_option``), the files removed when the block ends. The job, its
    cache key and ``--dry-run`` keep the graph itself; only the process gets the file."""
    argv = list(argv)
    files: list[str] = []
    try:
        for i in range(1, len(argv) - 1):
            if argv[i] == "-filter_complex" and len(argv[i + 1]) > LONG_GRAPH:
                fd, name = tempfile.mkstemp(prefix="castkit-graph-", suffix=".txt")
                files.append(name)
                with os.fdopen(fd, "w", encoding="utf-8") as graph:
                    graph.write(argv[i + 1])
                argv[i], argv[i + 1] = graph_file_option(_version_tuple(argv[0])), name
        yield argv
    finally:
        for name in files:
            try:
                os.unlink(name)
            except OSError:
                pass


def why_not_usable(exc: BaseException) -> str:
    """Why a binary (ffmpeg, gifsicle) that was run to ask its version cannot be used."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "not executable"
    if isinstance(exc, subprocess.CalledProcessError):
        return f"exited with status {exc.returncode}"
    return str(exc) or type(exc).__name__


def safe_input_options() -> dict[str, str]:
    """Input options that keep ffmpeg to local files and to the demuxers castkit expects."""
    return {
        "protocol_whitelist": ",".join(SAFE_PROTOCOLS),
        "format_whitelist": ",".join(SAFE_FORMATS),
    }


def safe_input_args() -> list[str]:
    """``safe_input_options`` as command-line arguments, for an input that is written by hand."""
    return [arg for key, value in safe_input_options().items() for arg in (f"-{key}", value)]


def ffmpeg_module() -> Any:
    """ffmpeg-python, imported on first use.

    ffmpeg-python imports the ``future`` package's ``past.builtins``; importing it lazily keeps
    ``import castkit`` cheap and keeps that import out of commands that do not build graphs.

    It is imported with the current folder off ``sys.path``: castkit is run in folders of media
    that other people sent, and a ``ffmpeg.py``, ``past/`` or ``test.py`` there (the pattern of
    CVE-2025-50817 in ``future``) must never be imported as code in place of the real packages.
    """
    # One thread imports it, the others wait: the module is in sys.modules from the start of
    # its import, and a second thread (castkit serve's requests, its player copies) that took
    # it from there met a half-made module ("partially initialized module 'ffmpeg'").
    with _IMPORTING_FFMPEG:
        if "ffmpeg" in sys.modules:  # no search; waits for an import begun elsewhere
            return importlib.import_module("ffmpeg")
        cwd = os.getcwd()
        saved = list(sys.path)
        sys.path[:] = [p for p in saved if p not in ("", ".") and os.path.abspath(p) != cwd]
        try:
            return importlib.import_module("ffmpeg")  # deliberately lazy, see above
        finally:
            sys.path[:] = saved


_IMPORTING_FFMPEG = threading.Lock()


def compile_argv(stream: Any, ffmpeg: Ffmpeg, global_args: Sequence[str] = ()) -> list[str]:
    """argv for an ffmpeg-python output node, with castkit's standard global options."""
    # Global options first, where a reader of the command looks for them. -y: the runner
    # writes to a temporary name it has just reserved (an empty file).
    cmd = [ffmpeg.path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *global_args]
    return _with_input_offsets(stream, stream.compile(cmd=cmd))


# The attribute of an ffmpeg-python input node that holds what puts its reads on its capture's
# clock (``media.origins.open_capture``): on the node object itself, as ffmpeg-python's nodes
# compare equal by their arguments alone (the same file probed again, with another ffmpeg or
# after it was replaced, is another capture).
INPUT_OFFSET = "castkit_origins"


def _with_input_offsets(stream: Any, argv: list[str]) -> list[str]:
    """``argv`` (compiled from the ffmpeg-python output ``stream``) with an ``-itsoffset``
    before the ``-i`` of each input that needs one for the streams this command reads of it
    (``media.origins``: "v", "a", or None where the input is mapped whole)."""
    from ffmpeg.dag import topo_sort
    from ffmpeg.nodes import InputNode, get_stream_spec_nodes

    nodes, outgoing = topo_sort(get_stream_spec_nodes(stream))
    offsets: dict[int, str] = {}
    for number, node in enumerate(n for n in nodes if isinstance(n, InputNode)):
        origins = getattr(node, INPUT_OFFSET, None)
        if origins is None:
            continue
        kinds = {selector for edges in outgoing.get(node, {}).values() for (_, _, selector) in edges}
        offset = origins.offset_arg(kinds, node.kwargs.get("ss", 0))
        if offset:
            offsets[number] = offset
    if not offsets:
        return argv
    out, number = [], 0
    for arg in argv:
        if arg == "-i":  # the inputs' in the order ffmpeg-python wrote them
            if number in offsets:
                out += ["-itsoffset", offsets[number]]
            number += 1
        out.append(arg)
    return out


def run_query(ffmpeg: Ffmpeg, args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a short ffmpeg command whose output castkit reads (probe, doctor), capturing both."""
    return subprocess.run(
        dies_with_castkit([ffmpeg.path, "-hide_banner", "-nostdin", *args]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
    )


def stream_query(ffmpeg: Ffmpeg, args: Sequence[str], lines: Callable[[str], None],
                 timeout: float = 60) -> tuple[int, bytes]:
    """Run a query whose long output castkit reads (a keyframe index), handing ``lines`` each
    piece of whole lines of its stdout as it comes, so that the reading keeps pace with ffmpeg
    instead of starting when it ends. Returns its exit status and its stderr; raises
    ``subprocess.TimeoutExpired`` (ffmpeg killed) as ``run_query`` does, and OSError."""
    argv = [ffmpeg.path, "-hide_banner", "-nostdin", *args]
    proc = subprocess.Popen(dies_with_castkit(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    said: list[bytes] = []
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    reader = threading.Thread(target=lambda: said.append(proc.stderr.read()), daemon=True)
    timer = threading.Timer(timeout, expire)
    try:
        reader.start()
        timer.start()
        pending = b""
        while chunk := proc.stdout.read1(1 << 16):
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            if cut:
                lines(pending[:cut].decode("ascii", "replace"))
                pending = pending[cut:]
        if pending:
            lines(pending.decode("ascii", "replace"))
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if reader.ident is not None:  # started
            reader.join(5)
        proc.stdout.close()
        proc.stderr.close()
    if expired.is_set():
        raise subprocess.TimeoutExpired(argv, timeout)
    if not said:  # its stderr not read to the end: what it said is not known
        raise subprocess.SubprocessError(f"{ffmpeg.path}: its stderr could not be read")
    return proc.returncode, said[0]


def dies_with_castkit(argv: Sequence[str]) -> list[str]:
    """``argv`` (an ffmpeg's, absolute path first) so started that it dies with castkit, where
    the system can say so (Linux with util-linux's ``setpriv``); ``argv`` itself elsewhere.

    castkit stops its ffmpegs itself on every way out it sees (Ctrl-C, SIGTERM, errors); after
    ``kill -9`` of castkit nothing in castkit runs any more, and an ffmpeg would encode on to
    the end, alone. ``setpriv --pdeathsig KILL`` asks the kernel to SIGKILL the child when the
    castkit thread that started it ends (castkit waits for each ffmpeg in the thread that
    started it); then a shell checks its parent: if castkit died before the request, the
    signal will never come, and the child ends instead of starting ffmpeg.

    Not a ``preexec_fn``: Python code in the forked child of a threaded process runs Python's
    after-fork clean-up, which frees the other threads' thread-locals there, and a library's
    object among them may wait for threads the child does not have (PyAV 18.1.1's scaler
    context did: every child hung before exec). Without one, Python starts the child with
    ``vfork`` and runs nothing of its own in it.
    """
    argv = list(argv)
    prefix = _death_signal_prefix()
    if not prefix or not os.access(argv[0], os.X_OK):  # a missing binary fails as it would alone
        return argv
    setpriv, shell = prefix
    check = f'[ "$PPID" = {os.getpid()} ] && exec "$@"; exit 137'
    return [setpriv, "--pdeathsig", "KILL", "--", shell, "-c", check, "castkit", *argv]


@functools.cache
def _death_signal_prefix() -> tuple[str, str] | tuple[()]:
    """``setpriv`` and ``sh``, once found to work together here (util-linux 2.33 or later for
    ``--pdeathsig``); empty where not (then children do not die with a killed castkit)."""
    if not sys.platform.startswith("linux"):
        return ()
    setpriv, shell = shutil.which("setpriv"), shutil.which("sh")
    if setpriv is None or shell is None:
        return ()
    try:
        done = subprocess.run([setpriv, "--pdeathsig", "KILL", "--", shell, "-c", "exit 0"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()
    return (setpriv, shell) if done.returncode == 0 else ()


def stderr_tail(text: str | bytes, lines: int = 12) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_reading(argv: Sequence[str], path: Path, doing: str) -> subprocess.CompletedProcess:
    """An ffmpeg that reads ``path`` for castkit to look at what it prints (the pauses, the
    activity, a contact sheet's marks), its output captured as bytes and dying with castkit.
    A failure is a WorkError naming the file and what castkit was ``doing`` ("finding the
    pauses"), with the tail of ffmpeg's stderr."""
    try:
        done = subprocess.run(dies_with_castkit(argv), stdin=subprocess.DEVNULL, capture_output=True)
    except OSError as exc:
        raise WorkError(f"{path}: cannot run ffmpeg for {doing} ({exc.strerror})") from None
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", "replace")
        raise WorkError(f"{path}: ffmpeg failed while {doing}:\n{stderr_tail(text)}")
    return done
