#!/usr/bin/env python3
"""Issue 31: what placing a moving camera view by fractions of a pixel costs a frame, with each
way ffmpeg offers, at PAL DV size and at 1080p, in every ffmpeg given.

    python benchmarks/bench_placement.py [--frames 200] [--ffmpeg PATH ...]

Each candidate filters --frames frames of a 1920x1080 testsrc2 picture to ``-f null``; its CPU
time (``-benchmark`` utime) and wall time less those of the same frames passed through, per
frame. Default ffmpegs: castkit's, and the imageio-ffmpeg wheel's if it is another.

- ``perspective`` (what ``plan.encode.film`` uses): the views' box cropped, scaled to the size
  shown (DV) or not (1080p: filmed at the box's own pixels, then scaled up), then cubic
  ``perspective`` evaluated per frame (``eval=frame``: a table of every pixel's position each
  frame) or once (``eval=init``: what a filter a frame would cost, without the branches);
- ``scale`` alone: whole-pixel crop, lanczos scale and crop, sizes fixed: the cost of placing
  by crops and a scale ratio if nothing else were needed (the lower bound of that way);
- ``scale`` re-initialised each frame: a frame's own ratio means a new swscale context a
  frame (``sendcmd`` changing the scale's width before every frame); with the crop's size
  and the scale's height also changed each frame (what placing a zooming view needs) it is
  initialised three times a frame;
- ``convolution``: a 7-tap row and column kernel (a fractional shift by convolution) after
  the scale, the residual shift done separately.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess

from _common import ffmpeg_path  # noqa: E402

SOURCE = "testsrc2=size=1920x1080:rate=25:duration={seconds},format=yuv420p"
CORNERS = "x0=0.3:y0=0.2:x1={r}:y1=0.2:x2=0.3:y2={b}:x3={r}:y3={b}:interpolation=cubic"
KERNEL = "-20 100 -300 800 500 -100 44"


def commands(frames: int, changes: str) -> str:
    """A ``sendcmd`` changing, before every frame, the scale's width (``w``) or the crop's
    size and the scale's size (``all``), so that every frame has a scale ratio of its own."""
    lines = []
    for n in range(1, frames):
        odd = 2 * (n % 2)
        if changes == "w":
            lines.append(f"{n} scale@s w {752 + odd}")
        else:
            lines.append(f"{n} crop@c w {1000 + odd}, crop@c h {560 + odd}, scale@s w {752 + odd}, "
                         f"scale@s h {608 + odd}")
    return "sendcmd=c='" + ";".join(lines) + "',"


def candidates(frames: int) -> dict[str, str]:
    dv = CORNERS.format(r=719.5, b=575.4)
    hd = CORNERS.format(r=965.5, b=545.4)
    conv = ",".join(f"convolution={':'.join(f'{p}m={KERNEL!r}:{p}rdiv=1/1024:{p}mode={mode}' for p in range(3))}"
                    for mode in ("row", "column")).replace('"', "'")
    return {
        "DV: crop, scale, perspective eval=frame": f"crop=966:546:477:267:exact=1,scale=720:576:flags=lanczos,"
                                                   f"perspective={dv}:eval=frame",
        "DV: crop, scale, perspective eval=init": f"crop=966:546:477:267:exact=1,scale=720:576:flags=lanczos,"
                                                  f"perspective={dv}:eval=init",
        "DV: crop, scale, crop (sizes fixed)": "crop=1000:560:478:268:exact=1,scale=752:608:flags=lanczos,"
                                               "crop=720:576:12:14:exact=1",
        "DV: the same, scale re-initialised each frame": "setpts=N/TB," + commands(frames, "w")
        + "crop@c=1000:560:478:268:exact=1,scale@s=752:608:flags=lanczos,crop=720:576:12:14:exact=1",
        "DV: the same, crop and scale sizes each frame": "setpts=N/TB," + commands(frames, "all")
        + "crop@c=1000:560:478:268:exact=1,scale@s=752:608:flags=lanczos,crop=720:576:12:14:exact=1",
        "DV: crop, scale, crop, convolution row+column": "crop=1000:560:478:268:exact=1,scale=752:608:flags=lanczos,"
                                                         "crop=720:576:12:14:exact=1," + conv,
        "1080p: crop, perspective eval=frame, scale up": f"crop=966:546:477:267:exact=1,perspective={hd}:eval=frame,"
                                                         "scale=1920:1080:flags=lanczos",
        "1080p: crop, scale up, crop (sizes fixed)": "crop=1000:560:478:268:exact=1,scale=1984:1112:flags=lanczos,"
                                                     "crop=1920:1080:12:14:exact=1",
    }


def timed(ffmpeg: str, frames: int, chain: str) -> tuple[float, float]:
    """(CPU, wall) seconds of ffmpeg filtering ``frames`` frames through ``chain``."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-benchmark", "-f", "lavfi",
            "-i", SOURCE.format(seconds=frames / 25 + 1),
            "-filter_complex", f"[0:v]trim=end_frame={frames},{chain}", "-f", "null", "-"]
    done = subprocess.run(argv, capture_output=True, text=True)
    found = re.search(r"utime=([0-9.]+)s.*rtime=([0-9.]+)s", done.stderr)
    if done.returncode or not found:
        raise SystemExit(f"{ffmpeg} failed on {chain[:200]}:\n{done.stderr[-1500:]}")
    return float(found.group(1)), float(found.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--ffmpeg", action="append")
    args = parser.parse_args()
    ffmpegs = args.ffmpeg
    if not ffmpegs:
        ffmpegs = [ffmpeg_path()]
        try:
            import imageio_ffmpeg

            wheel = imageio_ffmpeg.get_ffmpeg_exe()
            if os.path.realpath(wheel) != os.path.realpath(ffmpegs[0]):
                ffmpegs.append(wheel)
        except ImportError:
            pass
    print(f"{args.frames} frames of 1920x1080 testsrc2; cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    for ffmpeg in ffmpegs:
        version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
        print(f"\n{version}\n{'':48s} ms a frame: CPU   wall")
        base_cpu, base_wall = timed(ffmpeg, args.frames, "null")
        for name, chain in candidates(args.frames).items():
            cpu, wall = timed(ffmpeg, args.frames, chain)
            print(f"  {name:58s} {1000 * (cpu - base_cpu) / args.frames:6.2f} "
                  f"{1000 * (wall - base_wall) / args.frames:6.2f}", flush=True)
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
