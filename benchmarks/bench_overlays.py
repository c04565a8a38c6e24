#!/usr/bin/env python3
"""Overlays, redaction and a webcam corner (issue 30) against the same clip without them.

    python benchmarks/bench_overlays.py [--seconds 60] [--work DIR] [--repeat N] [--output cast.mp4]
                                        [--against CHECKOUT ...] [--face]

The take: --seconds of 1920x1080 H.264 at 15 fps, a dark terminal where lines of text (boxes)
appear one after another (a screen recording: few pictures change); the camera: the same length
of 640x480 at 30 fps with a 330 Hz voice (a webcam with its microphone). Both made once with
castkit's ffmpeg, kept in --work.

Measured in one run, interleaved, best of --repeat (every run listed too); wall and CPU time of the
child processes, of ``castkit build --no-cache --force`` to --output (an MP4 at the take's 1080p by
default), with the ffmpeg castkit finds ($CASTKIT_FFMPEG, pinned for every build) and the same
encoder settings for both recipes, which differ only in the overlays and the camera:

- plain: the clip alone;
- overlays: the clip with five overlays (a callout, a box, a spotlight, keycaps, a logo), a
  redaction of a terminal line for the whole clip, and a webcam corner (circle);
- face (``--face``): the same with a face-like camera (a still wall, a swaying head, a
  sensor's noise) instead of ``testsrc2``, whose every pixel moves in every frame.

Target (issue 30): overlays <= 1.3x plain, wall and CPU.

--against CHECKOUT (a folder holding another castkit, e.g. ``git worktree add /tmp/old main``):
the same builds with that castkit too, interleaved with this one's, each checkout's ratio to its
own plain build (a change measured before and after in one run, under the same load).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import measure, pin_ffmpeg, ROOT  # noqa: E402


def make_take(ffmpeg: str, out: Path, seconds: float) -> None:
    lines = [f"drawbox=x=40:y={60 + 40 * (k % 24)}:w={300 + 37 * (k % 31)}:h=24:color=0xd0d0d0:t=fill:"
             f"enable='gte(t,{seconds * k / 48:.2f})'" for k in range(48)]
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c=0x1e1e1e:s=1920x1080:r=15:d={seconds}", "-vf", ",".join(lines),
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", str(out)], check=True)


# The cameras: ``testsrc2`` (every pixel moves, every frame: the worst case for x264), and a
# face-like one: a head (a disc) that sways before a still wall, with a sensor's noise in
# every pixel of every frame, as a webcam in a room films.
CAMERAS = {
    "testsrc2": "testsrc2=s=640x480:r=30:d={s}",
    "face": ("color=c=0x6e6a66:s=640x480:r=30:d={s},format=yuv420p,"
             "geq=lum='if(lt(hypot(X-320-40*sin(T*0.9),(Y-250-12*sin(T*1.7))*0.8),120),"
             "150+20*sin(X/30),80+Y/16)':cb=120:cr=136,noise=alls=4:allf=t"),
}


def make_camera(ffmpeg: str, out: Path, seconds: float, kind: str = "testsrc2") -> None:
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", CAMERAS[kind].format(s=seconds),
                    "-f", "lavfi", "-i", f"sine=f=330:r=48000:d={seconds}", "-c:v", "libx264",
                    "-preset", "veryfast", "-c:a", "aac", "-shortest", str(out)], check=True)


def overlays(seconds: float) -> str:
    s = seconds
    return f"""\
    overlays:
      - text: "Click Install"
        at: {s * 0.1:.2f}
        until: {s * 0.3:.2f}
        position: {{x: 1200, y: 300}}
      - box: {{x: 300, y: 200, width: 400, height: 100}}
        at: {s * 0.2:.2f}
        duration: {s * 0.2:.2f}
      - spotlight: {{x: 300, y: 200, width: 600, height: 300}}
        at: {s * 0.5:.2f}
        until: {s * 0.7:.2f}
      - keys: Ctrl+Shift+T
        at: {s * 0.4:.2f}
        duration: {s * 0.1:.2f}
      - image: logo.png
        position: top-right
        at: 0
        until: end
      - redact: {{x: 40, y: 420, width: 1200, height: 40}}
        at: 0
        until: end
    webcam: {{clip: camera.mp4, size: 0.25}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--output", default="cast.mp4")
    parser.add_argument("--against", type=Path, action="append", default=[],
                        help="another castkit checkout, measured in the same run")
    parser.add_argument("--face", action="store_true",
                        help="also the overlays with a face-like camera (a still wall, a swaying head, noise)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="castkit-bench-overlays-"))
    ffmpeg = pin_ffmpeg(work)
    take, camera = work / f"take-{args.seconds:g}.mp4", work / f"camera-{args.seconds:g}.mp4"
    face = work / f"face-{args.seconds:g}.mp4"
    if not take.exists():
        make_take(ffmpeg, take, args.seconds)
    if not camera.exists():
        make_camera(ffmpeg, camera, args.seconds)
    if args.face and not face.exists():
        make_camera(ffmpeg, face, args.seconds, "face")
    from PIL import Image

    Image.new("RGBA", (160, 160), (230, 60, 60, 160)).save(work / "logo.png")
    recipes = {}
    variants = [("plain", ""), ("overlays", overlays(args.seconds).replace("camera.mp4", camera.name))]
    if args.face:
        variants.append(("face", overlays(args.seconds).replace("camera.mp4", face.name)))
    for name, extra in variants:
        recipe = work / f"{name}.yaml"
        recipe.write_text(f"loudness: off\noutputs: [{name}-{args.output}]\nsegments:\n"
                          f"  - clip: {take.name}\n{extra}", encoding="utf-8")
        recipes[name] = recipe
    checkouts = {"this": ROOT, **{str(c): c.resolve() for c in args.against}}
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.repeat):
        for label, checkout in checkouts.items():
            for name, recipe in recipes.items():
                # Run from the checkout: ``python -m castkit`` imports the castkit there.
                runs.setdefault((label, name), []).append(measure(lambda: subprocess.run(
                    [sys.executable, "-m", "castkit", "build", str(recipe), "--no-cache", "--force", "-q"],
                    check=True, cwd=checkout)))
    print(f"load after: {os.getloadavg()[0]:.1f}")
    for label in checkouts:
        print(f"castkit: {label}")
        def best(name: str) -> tuple[float, float]:  # each the least disturbed run's
            return min(w for w, _ in runs[(label, name)]), min(c for _, c in runs[(label, name)])
        plain_wall, plain_cpu = best("plain")
        for name in recipes:
            wall, cpu = best(name)
            every = "  ".join(f"{w:.1f}/{c:.1f}" for w, c in runs[(label, name)])
            print(f"  {name:9s} wall {wall:6.1f} s ({wall / plain_wall:.2f}x)   cpu {cpu:6.1f} s "
                  f"({cpu / plain_cpu:.2f}x)   runs wall/cpu: {every}")


if __name__ == "__main__":
    main()
