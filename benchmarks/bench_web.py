#!/usr/bin/env python3
"""A cold DV + MP4 build with castkit against a hand-written ffmpeg script making the same files.

    python benchmarks/bench_web.py [--work DIR] [--repeat N]

Reference cast: a 30 s 1280x720 screen-like capture with a voice-over, a 10 s 1024x768 silent
capture and two title cards, as PAL DV and as an MP4 master at 1280x720, 30 fps. Measured in one
run with the same ffmpeg (castkit's: $CASTKIT_FFMPEG, PATH, or the imageio-ffmpeg wheel):

- hand script: one ffmpeg command per segment and per format (the same filters and encoder
  settings as castkit, so both make the same pictures), one after the other, then per format a
  concat-demuxer join (DV: stream copy; MP4: video copied, the sound encoded once, as it must be
  for gapless joins). No cache: an edit re-runs it all.
- castkit cold (empty cache), and the rebuild after editing one title's text: with
  ``loudness: off`` (the script's work exactly) and with the default ``loudness: -16`` (the
  cast's sound measured, and the gain put into every DV segment and the MP4's sound, which the
  script does not do).

Wall time is the best of --repeat interleaved runs; CPU time (user + system of the ffmpeg
children) is beside it. Only ratios within one run mean anything on a noisy machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

from _common import ffmpeg_path, measure, run

RECIPE = """\
target: pal-dv
loudness: {loudness}
outputs:
  - build/reference.dv
  - build/reference.mp4
segments:
  - title: "{title}"
    duration: 4
  - clip: capture-1280x720.ogv
  - title: "Second take"
    duration: 3
  - clip: capture-1024x768.ogv
"""
X264 = "-c:v libx264 -profile:v high -preset medium -crf 20 -bf 2 -g 150 -pix_fmt yuv420p " \
       "-color_primaries bt709 -color_trc bt709 -colorspace bt709 -color_range tv"


def make_media(ff: str, work: Path) -> None:
    """Screen-like content: a still slide with a moving block and a running counter."""
    one, two = work / "capture-1280x720.ogv", work / "capture-1024x768.ogv"
    if not one.exists():
        run([ff, "-v", "error", "-y", "-f", "lavfi", "-i",
             "testsrc=s=1280x720:r=15:d=30,drawbox=x='mod(t*40,1100)':y=600:w=120:h=60:c=orange:t=fill",
             "-f", "lavfi", "-i", "sine=f=330:r=22050:d=28", "-c:v", "libtheora", "-q:v", "7",
             "-c:a", "libvorbis", "-ac", "1", str(one)])
    if not two.exists():
        run([ff, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=1024x768:r=15:d=10",
             "-c:v", "libtheora", "-q:v", "7", str(two)])


def castkit(*args: str, cwd: Path) -> None:
    run([sys.executable, "-m", "castkit", *args], cwd=cwd)


def hand_script(ff: str, work: Path, title: str) -> Path:
    """Cards are drawn beforehand (a person exports them from an image editor)."""
    for name, text, size in (("card1", title, "768x576"), ("card2", "Second take", "768x576"),
                             ("web1", title, "1280x720"), ("web2", "Second take", "1280x720")):
        castkit("title", text, "--size", size, "-o", str(work / f"{name}.png"), "--force", "-q", cwd=work)
    (work / "hand").mkdir(exist_ok=True)
    dv = "-c:v dvvideo -c:a pcm_s16le -ar 48000 -ac 2 -f dv"
    # s16 in every segment, as castkit has it: the concat demuxer decodes all the sound with
    # the first segment's ALAC parameters (mixed s16/s32 gave ALAC decoding errors).
    web = f"{X264} -c:a alac -sample_fmt s16p -ar 48000 -ac 2 -f mp4"
    dvs = "scale=720:576:flags=lanczos:out_color_matrix=bt601:out_range=tv,setsar=16/15,format=yuv420p"
    silence = "-f lavfi -i anullsrc=r=48000:cl=stereo"
    voice = "-af aresample=48000:async=1:first_pts=0,apad"
    script = textwrap.dedent(f"""\
        set -e
        FF={ff}
        cd {work}
        $FF -v error -y -loop 1 -framerate 25 -i card1.png {silence} -vf {dvs} -t 4 {dv} hand/1.dv
        $FF -v error -y -i capture-1280x720.ogv -vf fps=25,scale=720:404:flags=lanczos:out_color_matrix=bt601:out_range=tv,pad=720:576:0:86,setsar=16/15,format=yuv420p {voice} -t 30 {dv} hand/2.dv
        $FF -v error -y -loop 1 -framerate 25 -i card2.png {silence} -vf {dvs} -t 3 {dv} hand/3.dv
        $FF -v error -y -i capture-1024x768.ogv {silence} -vf fps=25,{dvs} -t 10 {dv} hand/4.dv
        $FF -v error -y -loop 1 -framerate 30 -i web1.png {silence} -vf scale=1280:720:out_color_matrix=bt709:out_range=tv,format=yuv420p -t 4 {web} hand/1.mp4
        $FF -v error -y -i capture-1280x720.ogv -vf fps=30,scale=1280:720:flags=lanczos:out_color_matrix=bt709:out_range=tv,setsar=1,format=yuv420p {voice} -t 30 {web} hand/2.mp4
        $FF -v error -y -loop 1 -framerate 30 -i web2.png {silence} -vf scale=1280:720:out_color_matrix=bt709:out_range=tv,format=yuv420p -t 3 {web} hand/3.mp4
        $FF -v error -y -i capture-1024x768.ogv {silence} -vf fps=30,scale=960:720:flags=lanczos:out_color_matrix=bt709:out_range=tv,pad=1280:720:160:0,setsar=1,format=yuv420p -t 10 {web} hand/4.mp4
        printf "file '%s'\\n" 1.dv 2.dv 3.dv 4.dv > hand/dv.txt
        printf "file '%s'\\n" 1.mp4 2.mp4 3.mp4 4.mp4 > hand/mp4.txt
        $FF -v error -y -f concat -safe 0 -i hand/dv.txt -c copy hand/reference.dv
        $FF -v error -y -f concat -safe 0 -i hand/mp4.txt -c:v copy -c:a aac -b:a 160k -movflags +faststart hand/reference.mp4
        """)
    path = work / "hand.sh"
    path.write_text(script)
    return path


def write_recipe(work: Path, title: str, loudness: str = "-16") -> Path:
    path = work / f"reference-{'off' if loudness == 'off' else 'on'}.yaml"
    path.write_text(RECIPE.format(title=title, loudness=loudness))
    return path


def best(fns, repeat: int) -> list[tuple[float, float]]:
    """Interleaved runs, so that a slow spell of the machine hits every side alike."""
    found = [(float("inf"), 0.0)] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            found[i] = min(found[i], measure(fn))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="working folder (kept); default: a temporary one")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best kept (default 3)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="castkit-bench-web-"))
    work.mkdir(parents=True, exist_ok=True)
    ff = ffmpeg_path()
    os.environ["CASTKIT_FFMPEG"] = ff
    os.environ.pop("CASTKIT_CACHE_DIR", None)
    print(f"ffmpeg: {ff}\nwork:   {work}\ncores:  {os.cpu_count()}")
    make_media(ff, work)
    recipes = {"off": write_recipe(work, "Reference cast", "off"), "-16": write_recipe(work, "Reference cast")}
    script = hand_script(ff, work, "Reference cast")
    cache = work / ".castkit-cache"

    def cold(loudness: str):
        def build() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            castkit("build", str(recipes[loudness]), "--force", "-q", cwd=work)
        return build

    edits = iter(range(1000))

    def edit(loudness: str):
        def build() -> None:
            write_recipe(work, f"Reference cast, take {next(edits)}", loudness)
            castkit("build", str(recipes[loudness]), "--force", "-q", cwd=work)
        return build

    hand, *colds = best([lambda: run(["bash", str(script)]), cold("off"), cold("-16")], args.repeat)
    # Each edit is measured after a cold build of its own recipe (the cache then holds it).
    rows = []
    for loudness, (cold_s, cold_cpu) in zip(("off", "-16"), colds):
        cold(loudness)()
        (edit_s, edit_cpu), = best([edit(loudness)], args.repeat)
        rows.append((loudness, cold_s, cold_cpu, edit_s, edit_cpu))
    print()
    print(f"{'hand script, sequential ffmpeg':<40} {hand[0]:7.2f} s wall {hand[1]:7.2f} s CPU")
    for loudness, cold_s, cold_cpu, edit_s, edit_cpu in rows:
        print(f"{'castkit build, cold, loudness ' + loudness:<40} {cold_s:7.2f} s wall {cold_cpu:7.2f} s CPU   "
              f"{cold_s / hand[0]:.2f}x the script (target <= 0.9)")
        print(f"{'castkit build, title edited, loudness ' + loudness:<40} {edit_s:7.2f} s wall {edit_cpu:7.2f} s CPU   "
              f"{edit_s / cold_s:.3f}x cold (target <= 0.3)")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
