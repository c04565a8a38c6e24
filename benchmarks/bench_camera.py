#!/usr/bin/env python3
"""Camera moves (issue 31): a segment with moves against the same segment without, and the
activity analysis of ``zoom: follow`` against a convert of the same take.

    python benchmarks/bench_camera.py [--seconds 60] [--work DIR] [--repeat N] [--output cast.dv]
                                      [--pattern typing|moving]

The take: --seconds of 1920x1080 Theora at 15 fps: ``typing``, a still dark screen where boxes
appear (typing) at two places in turn, which castkit converts for almost nothing (few distinct
pictures); or ``moving``, ffmpeg's testsrc2 (every frame changes). Made once with castkit's
ffmpeg, kept in --work.

Measured in one run, interleaved, best of --repeat; wall and CPU time of the child processes:

- plain: ``castkit build`` of a recipe with the clip alone (no cache), to --output (PAL DV by
  default: its encode is the cheapest, so the camera's share is the largest);
- moves: the same with five moves, the view zoomed in for 60% of the clip (2x and 3x, a pan);
- convert: ``castkit convert`` of the take to PAL DV;
- activity: the activity analysis of the whole take alone, as ``zoom: follow`` runs it (a take
  of 20 s or more in parts side by side, one a core);
- pauses: the pauses analysis of the take with ``screen: still`` (its sound from a voice-over
  with gaps, so that the take and its convert stay silent);
- both: the pauses analysis that measures the activity too, from the same decoded picture (what
  a clip with both ``pauses:`` and ``zoom: follow`` runs).

Targets (issue 31): moves <= 1.3x plain; activity <= 0.25x convert. The activity's share of
``both`` (both less pauses) is printed against convert too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from _common import ffmpeg_path, measure, ROOT  # noqa: E402

# The moves, at fractions of the take's length (in 60 s: 3, 12, 24, 30 and 48 s).
MOVES = ((0.05, "{x: 0, y: 0, width: 960, height: 540}", 1), (0.2, "{x: 480, y: 270, width: 960, height: 540}", 3),
         (0.4, "full", 0.8), (0.5, "{x: 1100, y: 700, width: 640, height: 360}", 1), (0.8, "full", 0.8))


def zoom(seconds: float) -> str:
    return "    zoom:\n" + "".join(f"      - {{at: {round(at * seconds, 2)}, to: {to}, ease: {ease}}}\n"
                                   for at, to, ease in MOVES)


def make_take(ffmpeg: str, out: Path, seconds: float, pattern: str) -> None:
    if pattern == "moving":
        subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size=1920x1080:rate=15:duration={seconds},format=yuv420p",
                        "-c:v", "libtheora", "-q:v", "6", str(out)], check=True)
        return
    boxes = []
    for n, (x0, y0, start) in enumerate(((200, 200, 2.0), (1300, 850, seconds / 2))):
        for i in range(40):
            t = start + 0.25 * i
            boxes.append(f"drawbox=x={x0 + 18 * (i % 30)}:y={y0 + 30 * (i // 30)}:w=14:h=24:"
                         f"color=white:t=fill:enable='gte(t,{t:.2f})'")
    video = f"color=0x202020:size=1920x1080:rate=15:duration={seconds},format=yuv420p," + ",".join(boxes)
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", video,
                    "-c:v", "libtheora", "-q:v", "6", str(out)], check=True)


def recipe(folder: Path, name: str, output: str, extra: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"loudness: off\noutput: {name}-{output}\nsegments:\n  - clip: take.ogv\n{extra}")
    return path


def main() -> None:
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.media.probe import probe
    from castkit.media.ffmpeg import run_reading
    from castkit.plan.activity import activity_chain, measure_activity
    from castkit.plan.encode import Trim
    from castkit.plan.pauses import analysis_command

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--output", default="cast.dv")
    parser.add_argument("--pattern", choices=("typing", "moving"), default="typing")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="castkit-bench-camera-"))
    work.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_path()
    take = work / "take.ogv"
    if not take.exists():
        print(f"making {args.seconds:g} s of 1080p take in {take} ...", flush=True)
        make_take(ffmpeg, take, args.seconds, args.pattern)
    voice = work / "voice.flac"
    if not voice.exists():  # a tone that stops for 2 s every 10 s
        subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"sine=frequency=330:duration={args.seconds}:sample_rate=48000",
                        "-af", "volume=enable='lt(mod(t,10),2)':volume=0", str(voice)], check=True)
    plain = recipe(work, "plain", args.output, "")
    moves = recipe(work, "moves", args.output, zoom(args.seconds))
    castkit = [sys.executable, "-m", "castkit"]
    ff = find_ffmpeg()
    info, voice_info = probe(take, ff), probe(voice, ff, need_video=False)
    whole = Trim(Fraction(0), None)

    def analysis(argv: list[str]):
        return lambda: run_reading(argv, take, "analysing")

    def build(path: Path):
        return lambda: subprocess.run([*castkit, "build", str(path), "--no-cache", "--force", "-q"],
                                      check=True, cwd=ROOT)

    runs = {
        "plain": build(plain),
        "moves": build(moves),
        "convert": lambda: subprocess.run([*castkit, "convert", str(take), "-o", str(work / "convert.dv"),
                                           "--force", "-q"], check=True, cwd=ROOT),
        "activity": lambda: measure_activity(info, whole, ff),  # as a build runs it (in parts)
        "pauses": analysis(analysis_command(info, whole, voice_info, Fraction(1), "still", ff)),
        "both": analysis(analysis_command(info, whole, voice_info, Fraction(1), "still", ff,
                                          picture_chain=activity_chain(info, whole))),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for name, fn in runs.items():
            wall, cpu = measure(fn)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu)
    print(f"ffmpeg {ffmpeg}; take {args.seconds:g} s 1920x1080 15 fps ({args.pattern}); output {args.output}")
    for name, (wall, cpu) in best.items():
        print(f"  {name:9s} {wall:7.2f} s wall {cpu:7.2f} s CPU")
    m, p = best["moves"], best["plain"]
    a, c = best["activity"], best["convert"]
    print(f"moves / plain: {m[0] / p[0]:.2f}x wall, {m[1] / p[1]:.2f}x CPU (target <= 1.3x)")
    print(f"activity / convert: {a[0] / c[0]:.2f}x wall, {a[1] / c[1]:.2f}x CPU (target <= 0.25x)")
    b, q = best["both"], best["pauses"]
    print(f"both / (pauses + activity): {b[0] / (q[0] + a[0]):.2f}x wall, {b[1] / (q[1] + a[1]):.2f}x CPU")
    print(f"(both - pauses) / convert: {(b[0] - q[0]) / c[0]:.2f}x wall, {(b[1] - q[1]) / c[1]:.2f}x CPU")


if __name__ == "__main__":
    main()
