"""Stops: Ctrl-C and SIGTERM end castkit in order (children stopped, temporary files removed),
and are held back for the few lines that start and register a child process, or that patch a
cast in place, so that a stop never leaves an ffmpeg nobody knows of or a half-patched cast."""

from __future__ import annotations

import contextlib
import signal
import threading


# Signals that arrived while the main thread was starting and registering an ffmpeg; see
# signals_held. Touched only in the main thread (Python runs signal handlers there).
_held: list[int] = []
_holding = 0


def _stop_handler(signum, frame):  # noqa: ARG001
    if _holding:
        _held.append(signum)
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def signals_held():
    """Hold back Ctrl-C and SIGTERM (with the handler below installed) while a child is being
    started and registered: raised between Popen's return and the registration, the stop
    would leave an ffmpeg that nobody knows about. The stop happens right after, in full."""
    global _holding
    if threading.current_thread() is not threading.main_thread():
        yield  # signals interrupt the main thread only; it stops the registered children
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _held:
            _held.clear()
            raise KeyboardInterrupt


@contextlib.contextmanager
def stops_deferred():
    """Hold back Ctrl-C and SIGTERM for a short step that must not be cut in half (patching
    the previous cast in place of itself); yields a list that, on the way out, says whether a
    stop came meanwhile: the caller then stops, saying what it completed."""
    global _holding
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came  # signals interrupt the main thread only
        return
    _holding += 1
    try:
        yield came
    finally:
        _holding -= 1
        if not _holding and _held:
            came.extend(_held)
            _held.clear()


def install_sigterm_handler() -> None:
    """Turn SIGTERM into the same orderly stop as Ctrl-C (children stopped, temps removed),
    and let both wait for the few lines that start and register a child."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_handler)
        current = signal.getsignal(signal.SIGINT)
        # Python's default, or castkit's own until it had started (``castkit.__main__``); a
        # handler someone else installed (a test harness) is left alone.
        if current is signal.default_int_handler or getattr(current, "castkit_early", False):
            signal.signal(signal.SIGINT, _stop_handler)
