#!/usr/bin/env python3
"""Pauses (issue 15): finding the pauses of a take against converting it.

    python benchmarks/bench_pauses.py [--minutes 10] [--work DIR] [--repeat N]

The take: --minutes of 1280x720 Theora at 15 fps, a screen that changes in stretches and holds
still in others (no frames stored, as a recorder writes), 48 kHz mono Vorbis of a tone that
stops for 3 s in every 10 (planted pauses). Made once with castkit's ffmpeg, kept in --work.

Measured in one run, interleaved, best of --repeat; wall and CPU time of the child processes
(resource.getrusage(RUSAGE_CHILDREN)):

- convert: ``castkit convert`` of the take to PAL DV (what a build of the clip costs);
- plain: ``ffmpeg -i take -target pal-dv -fps_mode cfr -af aresample=async=1`` (plain
  ffmpeg's conversion, the same run's yardstick; without the two options the dv muxer stops
  at the first hold: "Insufficient audio data");
- analysis: ``plan.pauses.analyse`` of the whole take, screen: still (sound levels and freezedetect);
- analysis (screen: any): the sound alone.

Target (issue 15): analysis <= 0.25x convert.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from _common import measure  # noqa: E402


def make_take(ffmpeg: str, out: Path, minutes: float) -> None:
    seconds = minutes * 60
    # A moving test pattern held still for 4 s in every 10 (frames dropped), a tone silent for
    # 3 s inside each still stretch.
    video = f"testsrc2=size=1280x720:rate=15:duration={seconds}"
    drop = "between(mod(t,10),5.5,9.5)"
    audio = (f"sine=f=220:r=48000:d={seconds},volume='if(between(mod(t,10),6,9),0,1)':eval=frame")
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
                    "-vf", f"format=yuv420p,select='not({drop})+eq(n,0)'", "-fps_mode", "vfr",
                    "-c:v", "libtheora", "-q:v", "5", "-c:a", "libvorbis", "-ac", "1", str(out)],
                   check=True)


def main() -> None:
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.plan.pauses import analyse
    from castkit.plan.encode import Trim
    from castkit.media.probe import probe

    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "castkit-bench-pauses")
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    ffmpeg = find_ffmpeg()
    args.work.mkdir(parents=True, exist_ok=True)
    take = args.work / f"take-{args.minutes:g}min.ogv"
    if not take.exists():
        print(f"making a {args.minutes:g}-minute take in {take} ...", flush=True)
        make_take(ffmpeg.path, take, args.minutes)
    info = probe(take, ffmpeg)
    dv = args.work / "take.dv"
    plain = args.work / "plain.dv"
    castkit = [sys.executable, "-m", "castkit"]
    env = {**os.environ, "CASTKIT_FFMPEG": ffmpeg.path}

    runs = {
        "convert (castkit)": lambda: subprocess.run(
            [*castkit, "convert", str(take), "-o", str(dv), "--force"], check=True, env=env,
            stdout=subprocess.DEVNULL),
        "convert (plain ffmpeg -target pal-dv)": lambda: subprocess.run(
            [ffmpeg.path, "-v", "error", "-y", "-i", str(take), "-target", "pal-dv",
             "-fps_mode", "cfr", "-af", "aresample=async=1", str(plain)],
            check=True),
        "analysis, screen: still": lambda: analyse(info, Trim(), None, Fraction(1), "still", ffmpeg, None),
        "analysis, screen: any": lambda: analyse(info, Trim(), None, Fraction(1), "any", ffmpeg, None),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for name, fn in runs.items():
            wall, cpu = measure(fn)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu)
    base_wall, base_cpu = best["convert (castkit)"]
    plain_wall, plain_cpu = best["convert (plain ffmpeg -target pal-dv)"]
    print(f"take: {take.name}, {float(info.duration):.0f} s, ffmpeg {ffmpeg.version}, {os.cpu_count()} cores")
    print(f"{'':40} {'wall s':>8} {'CPU s':>8} {'x convert':>10} {'x plain':>8}")
    for name, (wall, cpu) in best.items():
        print(f"{name:40} {wall:8.2f} {cpu:8.2f} {wall / base_wall:9.2f}x {wall / plain_wall:7.2f}x"
              f"   (CPU {cpu / base_cpu:.2f}x convert)")
    print(f"analysis target: <= 0.25x convert; wall {best['analysis, screen: still'][0] / base_wall:.2f}x")


if __name__ == "__main__":
    main()
