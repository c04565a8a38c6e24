#!/usr/bin/env python3
"""Transitions in a web master (issue 25): what a cold MP4 build with two crossfades costs
against the same build without them, and what a rebuild costs after changing only one
transition's duration or type.

    python benchmarks/bench_transitions.py [--seconds 60] [--work DIR]

The capture: --seconds of 1280x720 Theora at 15 fps (a dark screen with a box typed across it)
and a 22 kHz Vorbis tone, made once with castkit's ffmpeg and kept in --work; a 3 s title before
and after it, ``loudness: off``, chunks as in force (10 s by default). Measured in one run (the
figures are ratios of that run: the machine is shared), wall time and the CPU time of the child
processes. Expected: the cold build with transitions about the one without (the overlaps are a
few frames; the edge windows are lossless and short); a duration edit encodes the title, the
clip's edge chunk, two short windows and the overlap; a type edit the overlap alone. Both also
join the cast again (its pictures copied, its sound encoded once), shown on its own.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import measure, pin_ffmpeg, run  # noqa: E402

RECIPE = """\
loudness: off
output: cast.mp4
segments:
  - title: Before
    duration: 3
  - clip: take.ogv
{into}  - title: After
    duration: 3
{out}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "castkit-bench-transitions")
    args = parser.parse_args()
    work = args.work
    ff = pin_ffmpeg(work)
    take = work / "take.ogv"
    if not take.exists():
        video = (f"color=0x202020:size=1280x720:rate=15:duration={args.seconds},format=yuv420p,"
                 "drawbox=x='mod(t*40,1200)':y=300:w=40:h=60:color=white:t=fill")
        run([ff, "-v", "error", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i",
             f"sine=f=330:r=22050:d={args.seconds}", "-c:v", "libtheora", "-q:v", "6",
             "-c:a", "libvorbis", "-ac", "1", str(take)])
    recipe = work / "cast.yaml"

    def build(into: str, out: str, *flags: str):
        def go() -> None:
            recipe.write_text(RECIPE.format(
                into=f"    transition: {into}\n" if into else "", out=f"    transition: {out}\n" if out else ""))
            run([sys.executable, "-m", "castkit", "build", str(recipe), "--force", "-q", *flags], cwd=work)
        return go

    def line(name: str, got: tuple[float, float], base: tuple[float, float] | None = None) -> None:
        ratio = f"   {got[0] / base[0]:5.3f}x wall, {got[1] / base[1]:5.3f}x cpu" if base else ""
        print(f"{name:<52} wall {got[0]:7.2f} s   cpu {got[1]:7.2f} s{ratio}", flush=True)

    shutil.rmtree(work / ".castkit-cache", ignore_errors=True)
    plain = measure(build("", "", "--no-cache"))
    line("cold build, cuts (--no-cache)", plain)
    fade = "{type: crossfade, duration: 0.5}"
    cold = measure(build(fade, fade))
    line("cold build, two crossfades of 0.5 s", cold, plain)
    line("rebuild, nothing changed (--force: the join alone)", measure(build(fade, fade)), cold)
    line("the first crossfade now 0.8 s", measure(build("{type: crossfade, duration: 0.8}", fade)), cold)
    line("the first transition now a wipe of 0.8 s", measure(build("{type: wipe, duration: 0.8}", fade)), cold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
