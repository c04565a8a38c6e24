"""What every benchmark script here shares: castkit's ffmpeg, running a command, timing a run
(wall time and the CPU time of the processes it started), castkit's own peak memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # castkit from this checkout


def ffmpeg_path() -> str:
    """The ffmpeg castkit would use ($CASTKIT_FFMPEG, PATH, or the imageio-ffmpeg wheel)."""
    from castkit.media.ffmpeg import find_ffmpeg

    return find_ffmpeg().path


def pin_ffmpeg(work: Path) -> str:
    """Make ``work``, pin castkit's ffmpeg for the builds a benchmark starts ($CASTKIT_FFMPEG)
    and print what the figures depend on: the ffmpeg, the folder, the cores and their load."""
    work.mkdir(parents=True, exist_ok=True)
    ff = ffmpeg_path()
    os.environ["CASTKIT_FFMPEG"] = ff
    print(f"ffmpeg: {ff}\nwork:   {work}\ncores:  {os.cpu_count()}, load {os.getloadavg()[0]:.1f}", flush=True)
    return ff


def run(argv: list[str], **kw) -> None:
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, **kw)


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far, and of this process
    (where castkit runs in it: a benchmark calling castkit's runner feeds its ffmpegs)."""
    total = 0.0
    for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def measure(fn) -> tuple[float, float]:
    """Wall seconds of ``fn()`` and the CPU seconds it took, its child processes' included."""
    wall, cpu = time.perf_counter(), children_cpu()
    fn()
    return time.perf_counter() - wall, children_cpu() - cpu


def own_memory(recipe: Path, work: Path) -> int:
    """castkit's own peak resident KiB building ``recipe`` without a cache (its ffmpeg runs in
    child processes and is not counted)."""
    code = ("import resource, sys; from castkit.cli import main; "
            f"code = main(['build', {str(recipe)!r}, '--no-cache', '--force', '-q']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], cwd=work, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1])
