#!/usr/bin/env python3
"""Deep trims (issue 12): a 30 s trim at 9:00 of a 10-minute capture, castkit vs plain ffmpeg;
and a 60 s segment encoded whole vs as 2 slices side by side.

    python benchmarks/bench_trim.py [--work DIR] [--repeat N]

The capture: 10 minutes of 1024x768 Theora at 15 fps with holds (no frames for 4 s in every
30, as a screen recorder writes), a keyframe every 64 stored frames (libtheora's default), a
22 kHz mono Vorbis voice: 30 s encoded, copied 20 times end to end. Made once with castkit's ffmpeg and kept in --work (default: a
folder in the system's temporary folder, reused between runs).

Figures, measured in one run, interleaved, best of --repeat, wall and CPU time of the child
processes (resource.getrusage(RUSAGE_CHILDREN)):

- plain: ``ffmpeg -ss 540 -i capture -t 30 -target pal-dv`` (fast, and not frame-exact);
- castkit build --no-cache of a recipe with that one trimmed clip, as the build planner
  plans it today;
- castkit seeking: the same clip job with the capture's keyframe index
  (``media.seek.read_index`` + ``clip_job(index=...)``, what the planner runs once wired), the
  index read included and also shown on its own.
- slicing: the first 60 s as one job, and as two ``clip_job(window=...)`` slices run at once.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from _common import measure, own_memory, run  # noqa: E402

RECIPE = """\
target: pal-dv
loudness: {loudness}   # off: plain ffmpeg does not normalise either
output: trimmed{suffix}.dv
segments:
  - clip: capture-10min.ogv
    start: "9:00"
    duration: 30
"""


def make_capture(ff: str, path: Path) -> None:
    if path.exists():
        return
    print(f"making {path.name} (once; about a minute)...", flush=True)
    # 30 s encoded (libtheora runs at about real time at this size here), then copied 20 times
    # end to end by the concat demuxer: the packets, keyframes and holds of a 10-minute capture.
    part = path.with_suffix(".30s.ogv")
    run([ff, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=1024x768:r=15:d=30",
         "-f", "lavfi", "-i", "sine=f=330:r=22050:d=30",
         "-vf", "select='not(between(t,20,24))+eq(n,0)'", "-fps_mode", "vfr",
         "-c:v", "libtheora", "-q:v", "6", "-c:a", "libvorbis", "-ac", "1", "-q:a", "2", str(part)])
    listing = path.with_suffix(".txt")
    listing.write_text("ffconcat version 1.0\n" + f"file '{part.name}'\n" * 20)
    temp = path.with_suffix(".partial.ogv")
    run([ff, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(temp)])
    temp.rename(path)


def run_jobs(*jobs) -> None:
    """Jobs side by side, as castkit's runner runs them (a raw DV job is two ffmpegs and a feed
    of its distinct pictures, castkit.media.pictures)."""
    from castkit.base.jobs import Plan
    from castkit.run.runner import FfmpegRunner

    FfmpegRunner(workers=len(jobs)).run(Plan((tuple(jobs),)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "castkit-bench-trim")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-slices", action="store_true", help="skip the slicing figures")
    parser.add_argument("--no-cast", action="store_true", help="skip the 8-minute cast")
    args = parser.parse_args()
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.plan.encode import Trim, clip_job
    from castkit.outputs.dv import DvProfile
    from castkit.media.probe import probe
    from castkit.media.seek import read_index
    from castkit.media.dv import DvTarget

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    ffmpeg = find_ffmpeg()
    os.environ["CASTKIT_FFMPEG"] = ffmpeg.path
    print(f"ffmpeg: {ffmpeg.path} ({ffmpeg.version})\nwork:   {work}\ncores:  {os.cpu_count()}")
    capture = work / "capture-10min.ogv"
    make_capture(ffmpeg.path, capture)
    recipe = work / "trim.yaml"
    recipe.write_text(RECIPE.format(loudness="off", suffix=""))
    loud_recipe = work / "trim-loud.yaml"
    loud_recipe.write_text(RECIPE.format(loudness=-16, suffix="-loud"))
    info = probe(capture, ffmpeg)
    target = DvTarget()

    # A capture with holds needs a constant rate and resampled sound for the dv muxer, which
    # otherwise stops at the first hold ("Insufficient audio data").
    plain_options = ["-fps_mode", "cfr", "-af", "aresample=async=1:first_pts=0", "-target", "pal-dv"]

    def plain() -> None:
        run([ffmpeg.path, "-v", "error", "-y", "-ss", "540", "-i", str(capture), "-t", "30",
             *plain_options, str(work / "plain.dv")])

    def castkit_build() -> None:
        run([sys.executable, "-m", "castkit", "build", str(recipe), "--no-cache", "--force", "-q"], cwd=work)

    def castkit_build_loud() -> None:
        run([sys.executable, "-m", "castkit", "build", str(loud_recipe), "--no-cache", "--force", "-q"], cwd=work)

    def index_only() -> None:
        read_index(capture, ffmpeg)

    def castkit_seek() -> None:
        index = read_index(capture, ffmpeg)
        job = clip_job(info, DvProfile(target), work / "seek.dv", ffmpeg, trim=Trim(Fraction(540), Fraction(30)),
                       index=index)
        assert "-ss" in job.pictures.head, job.note
        run_jobs(job)

    runs = {"plain ffmpeg -ss 540 -t 30 -target pal-dv": plain,
            "castkit build --no-cache": castkit_build,
            "  the same with loudness -16 (the default)": castkit_build_loud,
            "castkit clip job with keyframe index": castkit_seek,
            "  of which: reading the keyframe index": index_only}
    best = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(args.repeat):
        for name, fn in runs.items():
            wall, cpu = measure(fn)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    base_wall, base_cpu = best["plain ffmpeg -ss 540 -t 30 -target pal-dv"]
    print("\n30 s trim at 9:00 of a 10-minute 1024x768 capture")
    for name, (wall, cpu) in best.items():
        print(f"{name:<44} wall {wall:6.2f} s ({wall / base_wall:5.2f}x)   cpu {cpu:6.2f} s ({cpu / base_cpu:5.2f}x)")
    # Compared in chunks: a whole read would count in castkit's memory figure below (a forked
    # child's peak resident size starts from its parent's).
    same = filecmp.cmp(work / "seek.dv", work / "trimmed.dv", shallow=False)  # loudness off
    print(f"seeking job's output byte-identical to the build's: {'yes' if same else 'NO'}")

    if not args.no_cast:
        long_recipe = work / "long.yaml"
        long_recipe.write_text("loudness: off\noutput: build/long.dv\nsegments:\n"
                               "  - clip: capture-10min.ogv\n    duration: 480\n")

        def plain_long() -> None:
            run([ffmpeg.path, "-v", "error", "-y", "-i", str(capture), "-t", "480",
                 *plain_options, str(work / "plain-long.dv")])

        def castkit_long() -> None:
            run([sys.executable, "-m", "castkit", "build", str(long_recipe), "--no-cache", "--force", "-q"], cwd=work)

        pair = {"plain ffmpeg -t 480 -target pal-dv": plain_long, "castkit build --no-cache (sliced)": castkit_long}
        got = {name: (float("inf"), float("inf")) for name in pair}
        for _ in range(args.repeat):
            for name, fn in pair.items():
                wall, cpu = measure(fn)
                got[name] = (min(got[name][0], wall), min(got[name][1], cpu))
        base_wall, base_cpu = got["plain ffmpeg -t 480 -target pal-dv"]
        print("\nAn 8-minute 1024x768 capture made into a cast, cold (target <= 0.75x)")
        for name, (wall, cpu) in got.items():
            print(f"{name:<44} wall {wall:6.2f} s ({wall / base_wall:5.2f}x)   cpu {cpu:6.2f} s ({cpu / base_cpu:5.2f}x)")
        print(f"castkit's own peak memory (its Python process): trim {own_memory(recipe, work) / 1024:.1f} MiB, "
              f"8-minute cast {own_memory(long_recipe, work) / 1024:.1f} MiB")

    if args.no_slices:
        return 0
    index = read_index(capture, ffmpeg)
    trim = Trim(Fraction(0), Fraction(60))

    def whole() -> None:
        run_jobs(clip_job(info, DvProfile(target), work / "whole.dv", ffmpeg, trim=trim, index=index))

    def sliced() -> None:
        run_jobs(*[clip_job(info, DvProfile(target), work / f"slice{i}.dv", ffmpeg, trim=trim, index=index, window=w)
                   for i, w in enumerate([(0, 750), (750, 1500)])])

    timing = {"whole": (float("inf"),) * 2, "2 slices": (float("inf"),) * 2}
    for _ in range(args.repeat):
        for name, fn in (("whole", whole), ("2 slices", sliced)):
            wall, cpu = measure(fn)
            timing[name] = (min(timing[name][0], wall), min(timing[name][1], cpu))
    print("\n60 s 1024x768 segment (1500 PAL frames)")
    for name, (wall, cpu) in timing.items():
        print(f"{name:<12} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    print(f"2 slices / whole: wall {timing['2 slices'][0] / timing['whole'][0]:.2f}x, "
          f"cpu {timing['2 slices'][1] / timing['whole'][1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
