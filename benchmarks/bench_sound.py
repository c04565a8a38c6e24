#!/usr/bin/env python3
"""Sound (issue 25): a cold build with a music bed, its ducking and denoise, against the same
build without them, measured in the same run (target: at most 1.2x).

    python benchmarks/bench_sound.py [--seconds N] [--repeat R] [--work DIR]

The take: N seconds (default 60) of a 1280x720 screen at 15 fps (testsrc2) with a narration
(espeak-ng sentences, two-second pauses) over pink noise and a 50 Hz hum; the music: 20 s of
pink noise and a chord, looped. Both recipes make a PAL DV cast and an MP4 (a title, the take);
the second adds `music:` (level -26, duck -12) and `denoise: on`. Each build starts from an
empty cache (CASTKIT_CACHE_DIR), builds run alternately, the best of R is reported, with the
CPU time of castkit and its ffmpegs (wall times depend on what else the machine runs).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from castkit.media.ffmpeg import find_ffmpeg  # noqa: E402

SENTENCE = "Now we open the terminal and type the command. The build starts and prints its progress."


def make_media(work: Path, seconds: int, ffmpeg: str) -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("needs espeak-ng (apt-get install espeak-ng)")
    speech = work / "speech.wav"
    subprocess.run([espeak, "-w", str(speech), SENTENCE], check=True)
    # The sentence, then 2 s of room, over and over for the take's length.
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate=15:duration={seconds}",
                    "-stream_loop", "-1", "-i", str(speech),
                    "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.02:r=48000:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=50:sample_rate=48000:duration={seconds}",
                    "-filter_complex",
                    "[1:a]aresample=48000,apad=pad_dur=2,aloop=loop=-1:size=2e6[s];"
                    "[3:a]volume=0.01[h];[s][2:a][h]amix=inputs=3:normalize=0:duration=shortest[a]",
                    "-map", "0:v", "-map", "[a]", "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
                    "-c:a", "flac", str(work / "take.mkv")], check=True)
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                    "anoisesrc=color=pink:amplitude=0.1:r=44100:d=20", "-f", "lavfi", "-i",
                    "aevalsrc=exprs='0.1*sin(2*PI*220*t)+0.1*sin(2*PI*277*t)+0.1*sin(2*PI*330*t)':s=44100:d=20",
                    "-filter_complex", "amix=inputs=2", "-c:a", "libvorbis", str(work / "bed.ogg")], check=True)


PLAIN = """
    outputs: [build/{name}.dv, build/{name}.mp4]
    segments:
      - title: A build, narrated
        duration: 3
      - clip: take.mkv
"""
SOUND = """
    outputs: [build/{name}.dv, build/{name}.mp4]
    music: {{file: bed.ogg, level: -26, duck: -12, fade_in: 1, fade_out: 2}}
    denoise: on
    segments:
      - title: A build, narrated
        duration: 3
      - clip: take.mkv
"""


def cold_build(work: Path, name: str, text: str) -> tuple[float, float]:
    recipe = work / f"{name}.yaml"
    recipe.write_text(textwrap.dedent(text.format(name=name)).lstrip("\n"), encoding="utf-8")
    cache = work / f"cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(work / "build", ignore_errors=True)
    env = {**os.environ, "CASTKIT_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([sys.executable, "-m", "castkit", "build", str(recipe), "-q", "--force"],
                   check=True, env=env, cwd=work)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    ffmpeg = find_ffmpeg()
    work = args.work or Path(tempfile.mkdtemp(prefix="castkit-bench-sound-"))
    work.mkdir(parents=True, exist_ok=True)
    make_media(work, args.seconds, ffmpeg.path)
    plain, sound = [], []
    for _ in range(args.repeat):
        plain.append(cold_build(work, "plain", PLAIN))
        sound.append(cold_build(work, "sound", SOUND))
    (pw, pc), (sw, sc) = min(plain), min(sound)
    print(f"ffmpeg {ffmpeg.version}, a {args.seconds} s 1280x720 take + 3 s title, DV and MP4, "
          f"cold builds, best of {args.repeat}")
    print(f"  without sound work:          {pw:6.1f} s wall, {pc:6.1f} s CPU")
    print(f"  music + ducking + denoise:   {sw:6.1f} s wall, {sc:6.1f} s CPU")
    print(f"  ratio: {sw / pw:.2f}x wall, {sc / pc:.2f}x CPU (target: at most 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
