#!/usr/bin/env python3
"""Continuous DV timecode (issue 12): what rewriting the time packs of a cast costs, against
ffmpeg copying the same cast (``ffmpeg -i cast -c copy``), measured in the same run.

    python benchmarks/bench_timecode.py [--minutes N] [--work DIR]

A raw PAL cast of N minutes (default 10: 15000 frames, 2.2 GB) is made by repeating a 2 s
encode; ``media.dvtc.retime`` rewrites every frame's packs (what a raw DV join does while it copies),
and ``retime_avi`` the frames of the same cast in AVI (what an AVI join does after ffmpeg's
copy). CPU time (of this process for castkit's rewrite, of the child for ffmpeg) beside wall.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from castkit.media.dvtc import retime, retime_avi  # noqa: E402
from castkit.media.ffmpeg import find_ffmpeg  # noqa: E402


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.perf_counter() - wall, time.process_time() - cpu,
            after.ru_utime + after.ru_stime - child.ru_utime - child.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    ffmpeg = find_ffmpeg().path
    work = args.work or Path(tempfile.mkdtemp(prefix="castkit-bench-tc-"))
    work.mkdir(parents=True, exist_ok=True)
    one = work / "one.dv"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=720x576:r=25:d=2",
                    "-f", "lavfi", "-i", "sine=r=48000", "-t", "2", "-ac", "2", "-target", "pal-dv",
                    "-map_metadata", "-1", str(one)], check=True)
    data = one.read_bytes()
    copies = max(1, round(args.minutes * 60 / 2))
    cast = work / "cast.dv"
    with open(cast, "wb") as f:
        for _ in range(copies):
            f.write(data)
    frames = copies * 50
    avi = work / "cast.avi"

    def copy():
        subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "dv", "-i", str(cast), "-c", "copy",
                        "-f", "avi", str(avi)], check=True)

    def rewrite():
        fd = os.open(cast, os.O_RDWR)
        try:
            for k in range(copies):
                retime(fd, k * len(data), 50, k * 50, 144000)
        finally:
            os.close(fd)

    def rewrite_avi():
        fd = os.open(avi, os.O_RDWR)
        try:
            assert retime_avi(fd, 144000) == frames
        finally:
            os.close(fd)

    print(f"{frames} PAL frames ({cast.stat().st_size / 1e9:.1f} GB), ffmpeg {ffmpeg}")
    rows = [("ffmpeg -c copy to AVI", timed(copy)), ("retime (raw DV)", timed(rewrite)),
            ("retime_avi", timed(rewrite_avi))]
    base = rows[0][1][0]
    for name, (wall, cpu, child) in rows:
        print(f"{name:24} wall {wall:6.2f} s ({wall / base:4.2f}x the copy)   "
              f"CPU castkit {cpu:5.2f} s, ffmpeg {max(child, 0):5.2f} s")
    for path in (cast, avi, one):
        path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
