#!/usr/bin/env python3
"""Build a reference cast with castkit and with a plain sequential ffmpeg script; print ratios.

    python benchmarks/bench_build.py [--work DIR] [--repeat N]

The reference cast (issue 7): a minute-long 1024x768 Theora capture with a voice-over, a
30 s 1280x800 silent capture, three title cards, PAL DV 4:3. Measured in the same run, with
the same ffmpeg (castkit's: $CASTKIT_FFMPEG, PATH, or the imageio-ffmpeg wheel):

- hand script: what a careful person writes without castkit: one ffmpeg command per segment
  (the same scaler and audio handling as castkit, so both make the same picture), run one after
  the other, then a concat-demuxer stream copy. It has no cache: an edit re-runs it all.
- castkit cold (empty cache), after editing one title's text, and with nothing changed.
- castkit's own peak memory (its Python process, not ffmpeg's) for the reference cast and for
  one four times as long: it must stay flat.

Machines are noisy: each figure is the best of --repeat runs, and only ratios within one run
are meaningful.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import ffmpeg_path, own_memory, run

RECIPE = """\
target: pal-dv
loudness: {loudness}
output: build/reference.dv
segments:
  - title: "{title}"
    subtitle: "castkit benchmark"
    duration: 4
  - clip: capture-1024x768.ogv
  - title: "Second take"
    duration: 3
  - clip: capture-1280x800.ogv
  - title: "Thanks for watching"
    duration: 4
"""


def make_media(ff: str, work: Path) -> None:
    """Screen-like content: a busy test pattern (worst case for the encoders)."""
    one, two = work / "capture-1024x768.ogv", work / "capture-1280x800.ogv"
    if not one.exists():
        run([ff, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1024x768:r=15:d=60",
             "-f", "lavfi", "-i", "sine=f=330:r=22050:d=55", "-c:v", "libtheora", "-q:v", "6",
             "-c:a", "libvorbis", "-ac", "1", str(one)])
    if not two.exists():
        run([ff, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=1280x800:r=15:d=30",
             "-c:v", "libtheora", "-q:v", "6", str(two)])


def castkit(*args: str, cwd: Path) -> None:
    run([sys.executable, "-m", "castkit", *args], cwd=cwd)


def hand_script(ff: str, work: Path) -> Path:
    """The plain script: cards are drawn beforehand (a person would export them from an
    image editor), then every segment is encoded and joined, one command after another."""
    for name, text, sub in (("card1", None, "castkit benchmark"), ("card2", "Second take", None),
                            ("card3", "Thanks for watching", None)):
        if text is None:
            text = _title(work)
        argv = ["title", text, "-o", str(work / f"{name}.png"), "--force", "-q"]
        if sub:
            argv += ["--subtitle", sub]
        castkit(*argv, cwd=work)
    out = work / "hand"
    out.mkdir(exist_ok=True)
    title = ("-vf scale=720:576:flags=lanczos,setsar=16/15,format=yuv420p "
             "-c:v dvvideo -c:a pcm_s16le -ar 48000 -ac 2 -f dv")
    script = textwrap.dedent(f"""\
        set -e
        FF={ff}
        cd {work}
        $FF -v error -y -loop 1 -framerate 25 -t 4 -i card1.png -f lavfi -t 4 -i anullsrc=r=48000:cl=stereo {title} hand/1.dv
        $FF -v error -y -i capture-1024x768.ogv -vf fps=25,scale=720:576:flags=lanczos,setsar=16/15,format=yuv420p -af aresample=48000:async=1:first_pts=0,apad -t 60 -c:v dvvideo -c:a pcm_s16le -ar 48000 -ac 2 -f dv hand/2.dv
        $FF -v error -y -loop 1 -framerate 25 -t 3 -i card2.png -f lavfi -t 3 -i anullsrc=r=48000:cl=stereo {title} hand/3.dv
        $FF -v error -y -i capture-1280x800.ogv -f lavfi -t 30 -i anullsrc=r=48000:cl=stereo -vf fps=25,scale=720:480:flags=lanczos,pad=720:576:0:48,setsar=16/15,format=yuv420p -t 30 -c:v dvvideo -c:a pcm_s16le -ar 48000 -ac 2 -f dv hand/4.dv
        $FF -v error -y -loop 1 -framerate 25 -t 4 -i card3.png -f lavfi -t 4 -i anullsrc=r=48000:cl=stereo {title} hand/5.dv
        printf "file '%s'\\n" 1.dv 2.dv 3.dv 4.dv 5.dv > hand/list.txt
        $FF -v error -y -f concat -safe 0 -i hand/list.txt -c copy hand/reference.dv
        """)
    path = work / "hand.sh"
    path.write_text(script)
    return path


def _title(work: Path) -> str:
    marker = work / "title.txt"
    return marker.read_text() if marker.exists() else "Reference cast"


LOUDNESS = "off"  # the hand script's work; --loudness -16 for castkit's default


def write_recipe(work: Path, title: str, name: str = "reference.yaml", body: str = RECIPE) -> Path:
    (work / "title.txt").write_text(title)
    path = work / name
    path.write_text(body.format(title=title, loudness=LOUDNESS))
    return path


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def timed_together(fns, repeat: int) -> list[float]:
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="working folder (kept); default: a temporary one")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best kept (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--loudness", default="off",
                        help="the recipe's loudness: off (default; the hand script normalises "
                             "nothing) or a level such as -16 (castkit's default)")
    args = parser.parse_args()
    global LOUDNESS
    LOUDNESS = args.loudness
    work = args.work or Path(tempfile.mkdtemp(prefix="castkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ff = ffmpeg_path()
    os.environ["CASTKIT_FFMPEG"] = ff
    os.environ.pop("CASTKIT_CACHE_DIR", None)
    print(f"ffmpeg: {ff}\nwork:   {work}\ncores:  {os.cpu_count()}")
    make_media(ff, work)
    recipe = write_recipe(work, "Reference cast")
    cache = work / ".castkit-cache"
    output = work / "build" / "reference.dv"

    script = hand_script(ff, work)

    def cold(*extra: str) -> None:
        shutil.rmtree(cache, ignore_errors=True)
        castkit("build", str(recipe), "--force", "-q", *extra, cwd=work)

    # Interleaved, so that a slow spell of the machine hits both sides alike.
    hand_cold, castkit_cold, castkit_cold_j1 = timed_together(
        [lambda: run(["bash", str(script)]), cold, lambda: cold("-j", "1")], args.repeat)

    edits = iter(range(1000))

    def edit():
        write_recipe(work, f"Reference cast, take {next(edits)}")
        castkit("build", str(recipe), "--force", "-q", cwd=work)

    castkit("build", str(recipe), "--force", "-q", cwd=work)
    castkit_edit = timed(edit, args.repeat)
    script = hand_script(ff, work)  # the edited card; a plain script re-runs everything
    hand_edit = timed(lambda: run(["bash", str(script)]), 1)

    before = sha(output)
    castkit_unchanged = timed(lambda: castkit("build", str(recipe), "--force", "-q", cwd=work), args.repeat)
    identical = sha(output) == before

    long_body = RECIPE.replace("segments:\n", "segments:\n" + "  - clip: capture-1024x768.ogv\n" * 3)
    long_recipe = write_recipe(work, "Reference cast", "long.yaml", long_body.replace(
        "build/reference.dv", "build/long.dv"))
    mem_ref = own_memory(recipe, work)
    mem_long = own_memory(long_recipe, work)
    seconds_ref = 4 + 60 + 3 + 30 + 4
    seconds_long = seconds_ref + 180

    rows = [
        ("hand script, sequential ffmpeg", hand_cold, ""),
        ("castkit build, cold", castkit_cold, f"{castkit_cold / hand_cold:.2f}x hand script (target <= 0.9)"),
        ("castkit build, cold, -j 1", castkit_cold_j1, f"{castkit_cold_j1 / hand_cold:.2f}x hand script"),
        ("castkit build, one title edited", castkit_edit,
         f"{castkit_edit / castkit_cold:.3f}x cold (target <= 0.3); hand script: {hand_edit:.2f} s"),
        ("castkit build, nothing changed", castkit_unchanged,
         f"{castkit_unchanged / castkit_cold:.3f}x cold (target <= 0.05 or < 1 s); "
         f"byte-identical: {'yes' if identical else 'NO'}"),
    ]
    print()
    for name, seconds, note in rows:
        print(f"{name:<34} {seconds:7.2f} s   {note}")
    print(f"{'castkit peak memory (own process)':<34} {mem_ref / 1024:7.1f} MiB for {seconds_ref} s of cast, "
          f"{mem_long / 1024:.1f} MiB for {seconds_long} s")
    if args.json:
        print(json.dumps({
            "hand_cold": hand_cold, "castkit_cold": castkit_cold, "castkit_cold_j1": castkit_cold_j1,
            "castkit_edit": castkit_edit, "hand_edit": hand_edit, "castkit_unchanged": castkit_unchanged,
            "identical": identical, "peak_kib": mem_ref, "peak_kib_long": mem_long,
        }))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
