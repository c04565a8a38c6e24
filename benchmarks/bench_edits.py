#!/usr/bin/env python3
"""Edits cost what they change (issue 27): trim edits on a long take against a cold build, a
cold web build in chunks against one without, and a deep trim against plain ffmpeg.

    python benchmarks/bench_edits.py [--minutes 10] [--work DIR] [--outputs dv,mp4]
                                     [--only edits|chunks|trim ...] [--runs N]

The capture: --minutes of 1920x1080 Theora at 15 fps, a dark screen typed on (boxes appearing
at two places in turn) with holds (no frames for 4 s in every 30, as a screen recorder writes):
30 s encoded, copied end to end by the concat demuxer; and a 22 kHz mono Vorbis voice encoded
whole, as a recorder writes it (``take-steady.ogv``). Made once with castkit's ffmpeg and kept
in --work. The deep trim is measured on a second take too, ``take.ogv``, whose voice is the
30 s recordings' joined by stream copy with the pictures: its timestamps jump at every join,
where a seeked sound is not a full decode's, so castkit decodes that sound from the start
(``media.seek``), as its ``--dry-run`` says.

Measured in one run (the figures are ratios of that run: the machine is shared), wall time and
the CPU time of the child processes, ``loudness: off`` (plain ffmpeg does not normalise):

- for each output (.dv, .mp4): a cold build (empty cache) of a recipe whose clip keeps the
  middle 80% of the take (8 minutes of 10), then the same after moving its ``end:`` 5 s earlier,
  then after moving its ``start:`` 5 s later (each an incremental build). Target: each edit at
  most 0.15x the cold build;
- the .mp4 cold build again without chunks (CASTKIT_CHUNK_SECONDS=0). Target: chunks at most
  1.05x on 2 cores; the CPU time is shown too;
- a 30 s trim 60 s before the take's end (9:00 of 10 minutes), ``castkit build --no-cache`` to
  PAL DV, against ``ffmpeg -ss T -i take -t 30 -target pal-dv`` (not frame-exact). Target: at
  most 1.3x. Printed as the best of each, and as the median of the rounds' ratios (each round
  runs plain ffmpeg and castkit one after the other: a ratio that the load of a shared machine
  moves less).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _common import measure, pin_ffmpeg, run  # noqa: E402

CLIP = """\
target: pal-dv
loudness: off
output: {output}
segments:
  - clip: {take}
    start: {start}
    end: {end}
"""


def make_take(ff: str, path: Path, minutes: float) -> None:
    if path.exists():
        return
    print(f"making {path.name} ({minutes:g} minutes of 1080p, once)...", flush=True)
    boxes = []
    for x0, y0, start in ((200, 200, 1.0), (1300, 850, 15.0)):
        for i in range(48):
            t = start + 0.25 * i
            boxes.append(f"drawbox=x={x0 + 18 * (i % 24)}:y={y0 + 30 * (i // 24)}:w=14:h=24:"
                         f"color=white:t=fill:enable='gte(t,{t:.2f})'")
    video = "color=0x202020:size=1920x1080:rate=15:duration=30,format=yuv420p," + ",".join(boxes)
    part = path.with_suffix(".30s.ogv")
    run([ff, "-v", "error", "-y", "-f", "lavfi", "-i", video,
         "-f", "lavfi", "-i", "sine=f=330:r=22050:d=30",
         "-vf", "select='not(between(t,20,24))+eq(n,0)'", "-fps_mode", "vfr",
         "-c:v", "libtheora", "-q:v", "6", "-c:a", "libvorbis", "-ac", "1", "-q:a", "2", str(part)])
    listing = path.with_suffix(".txt")
    listing.write_text("ffconcat version 1.0\n" + f"file '{part.name}'\n" * round(minutes * 2))
    temp = path.with_suffix(".partial.ogv")
    run([ff, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(temp)])
    temp.rename(path)


def make_steady(ff: str, joined: Path, path: Path, minutes: float) -> None:
    """``joined``'s pictures (stream copy) with a voice encoded whole: one recording's sound."""
    if path.exists():
        return
    temp = path.with_suffix(".partial.ogv")
    run([ff, "-v", "error", "-y", "-i", str(joined), "-f", "lavfi", "-i", f"sine=f=330:r=22050:d={minutes * 60:g}",
         "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "libvorbis", "-ac", "1", "-q:a", "2", str(temp)])
    temp.rename(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "castkit-bench-edits")
    parser.add_argument("--outputs", default="dv,mp4")
    parser.add_argument("--only", choices=("edits", "chunks", "trim"), action="append",
                        help="run only this part (repeatable): the trim edits, the cold web build "
                             "with chunks against without, or the deep trim; default all")
    parser.add_argument("--runs", type=int, default=1,
                        help="measure the chunks and trim comparisons this many times, interleaved, "
                             "and report the best of each (the machine is shared)")
    args = parser.parse_args()
    work = args.work
    ff = pin_ffmpeg(work)
    # castkit's bytecode, as ``pip install`` leaves it: in a checkout run with
    # PYTHONDONTWRITEBYTECODE (as here) every build would compile castkit's source first,
    # about 0.15 s of CPU that an installed castkit does not pay.
    run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parent.parent / "castkit")])
    joined = work / "take.ogv"
    make_take(ff, joined, args.minutes)
    take = work / "take-steady.ogv"
    make_steady(ff, joined, take, args.minutes)
    length = args.minutes * 60
    start, end = round(length * 0.1), round(length * 0.9)
    castkit = [sys.executable, "-m", "castkit", "build"]
    recipe = work / "cast.yaml"

    def build(output: str, first: float, last: float, *flags: str, chunks: str | None = None,
              source: Path = take):
        def go() -> None:
            recipe.write_text(CLIP.format(output=output, take=source.name, start=first, end=last))
            env = dict(os.environ)
            if chunks is not None:
                env["CASTKIT_CHUNK_SECONDS"] = chunks
            run([*castkit, str(recipe), "--force", "-q", *flags], cwd=work, env=env)
        return go

    def line(name: str, got: tuple[float, float], base: tuple[float, float] | None = None) -> None:
        ratio = f"   {got[0] / base[0]:5.3f}x wall, {got[1] / base[1]:5.3f}x cpu" if base else ""
        print(f"{name:<52} wall {got[0]:7.2f} s   cpu {got[1]:7.2f} s{ratio}", flush=True)

    parts = set(args.only or ("edits", "chunks", "trim"))

    rounds: list[list[tuple[float, float]]] = []  # the last ``best``'s runs, a list per function

    def best(*fns) -> list[tuple[float, float]]:
        """Each of ``fns`` measured --runs times, interleaved; the best wall and best CPU of each
        (every run kept in ``rounds``, for ``paired``)."""
        times: list[list[tuple[float, float]]] = [[] for _ in fns]
        for _ in range(max(1, args.runs)):
            for got, fn in zip(times, fns):
                got.append(measure(fn))
        rounds[:] = times
        return [(min(w for w, _ in got), min(c for _, c in got)) for got in times]

    def paired(a: int, b: int) -> str:
        """The median of the ratios of run ``a`` to run ``b`` of ``best``, round by round: the
        two ran one after the other, so a load that comes and goes moves both (the best of
        each may come from different moments)."""
        pairs = list(zip(rounds[a], rounds[b]))
        wall = statistics.median(x[0] / y[0] for x, y in pairs)
        cpu = statistics.median(x[1] / y[1] for x, y in pairs)
        return f"{'':<52} median of {len(pairs)} rounds' ratios: {wall:5.3f}x wall, {cpu:5.3f}x cpu"

    print(f"\nclip {start}-{end} s of a {length:g} s 1920x1080 take")
    for suffix in args.outputs.split(","):
        output = f"cast.{suffix}"
        if "edits" in parts:
            shutil.rmtree(work / ".castkit-cache", ignore_errors=True)
            cold = measure(build(output, start, end))
            line(f".{suffix} cold build (chunks)", cold)
            line(f".{suffix} end: moved 5 s earlier", measure(build(output, start, end - 5)), cold)
            line(f".{suffix} start: moved 5 s later", measure(build(output, start + 5, end - 5)), cold)
        if suffix in ("mp4", "webm") and "chunks" in parts:
            whole, chunked = best(build(f"whole.{suffix}", start, end, "--no-cache", chunks="0"),
                                  build(output, start, end, "--no-cache"))
            line(f".{suffix} cold build without chunks (--no-cache)", whole)
            line(f".{suffix} cold build with chunks (--no-cache), against without", chunked, whole)

    if "trim" in parts:
        at = round(length - 60)

        def plain(source: Path):
            return lambda: run([ff, "-v", "error", "-y", "-ss", str(at), "-i", str(source), "-t", "30",
                                "-fps_mode", "cfr", "-af", "aresample=async=1:first_pts=0",
                                "-target", "pal-dv", str(work / "plain.dv")])
        plain_steady, trim, whole, plain_joined, trim_joined = best(
            plain(take),
            build("trim.dv", at, at + 30, "--no-cache"),
            build("trim0.dv", at, at + 30, "--no-cache", chunks="0"),
            plain(joined),
            build("trim-joined.dv", at, at + 30, "--no-cache", source=joined))
        print(f"\n30 s trim at {at} s")
        line(f"plain ffmpeg -ss {at} -i take -t 30 -target pal-dv", plain_steady)
        line("castkit build --no-cache (frame- and sample-exact)", trim, plain_steady)
        print(paired(1, 0))
        line("the same, CASTKIT_CHUNK_SECONDS=0", whole, plain_steady)
        line("plain ffmpeg, the take of joined recordings", plain_joined)
        line("castkit, the same (its sound decoded from the start)", trim_joined, plain_joined)
        print(paired(4, 3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
