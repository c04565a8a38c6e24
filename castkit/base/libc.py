"""Functions of the C library that Python's standard library does not offer (Linux)."""

from __future__ import annotations

import sys


def libc_function(name: str, *argtypes: str):
    """libc's ``name``, returning an int, its arguments typed by ctypes' names (``"c_int"``);
    None where there is no such function (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        call = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    call.restype = ctypes.c_int
    call.argtypes = [getattr(ctypes, kind) for kind in argtypes]
    return call
