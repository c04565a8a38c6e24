#!/usr/bin/env python3
"""castkit's GIF of a terminal cast against a plain single-pass ffmpeg GIF, in one run.

    python benchmarks/bench_gif.py [--work DIR] [--repeat N] [--take clean|vp8|both]

The cast: a 30 s 1280x800 terminal take at 15 fps (a shell session typed at 12 characters a
second with two-second pauses after each command's output, a status bar; DejaVu Sans Mono),
made 800 pixels wide at 15 fps. Two takes of the same session:

- ``clean``: H.264 at CRF 16, a recorder set to high quality (what OBS or SimpleScreenRecorder
  make at their best settings);
- ``vp8``: VP8 at 1 Mbit/s, as GNOME's built-in recorder writes a screen: its compression noise
  changes every frame a little.

Against each take, in the same run with the same ffmpeg (castkit's):

- plain: ``ffmpeg -i TAKE -filter_complex "[0:v]fps=15,scale=800:-2:flags=lanczos,split[a][b];
  [a]palettegen[p];[b][p]paletteuse" plain.gif``: the single-pass palette that VHS uses, every
  frame written;
- castkit: ``castkit build --no-cache`` of a recipe with ``outputs: [{path: cast.gif, width:
  800}]`` (15 fps and 256 colours by default, optimised by gifsicle without loss), cold;
- castkit with ``--keys`` (default ``colors: 80, lossy: 60``: what the README suggests for a
  GIF in docs), the same way.

Sharpness: the PSNR (RGB, from the mean squared error over the 450 frames at 15 fps) of each GIF
against the take itself scaled to 800x500 with the same Lanczos scaler: the picture both
should show. Wall time is the best of --repeat interleaved runs, CPU time (user + system of
the child processes) beside it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ffmpeg_path, measure, run

FONT = Path(__file__).resolve().parent.parent / "castkit" / "titles" / "fonts"
SIZE, RATE, SECONDS, WIDTH, HEIGHT, GIF_FPS = "1280x800", 15, 30, 800, 500, 15
SESSION = [
    ("ls -l src/", ["total 24", "-rw-r--r-- 1 dev dev 2048 main.py", "-rw-r--r-- 1 dev dev  512 util.py",
                    "drwxr-xr-x 2 dev dev 4096 tests"]),
    ("python3 -m pytest -q tests/", ["........................  [100 pct]", "24 passed in 0.42s"]),
    ("git status --short", [" M src/main.py", "?? notes.txt"]),
    ("git commit -am 'Fix the parser'", ["[main 1a2b3c4] Fix the parser", " 1 file changed, 3 insertions(+)"]),
    ("echo done", ["done"]),
]
# A GIF for docs: fewer colours and gifsicle's lossy LZW, for under half the plain GIF's size.
DOCS_KEYS = "colors: 80, lossy: 60"
CHAR, LINE, CPS, PAUSE = 12, 26, 12.0, 2.0  # glyph advance and line at 20 px; typing speed


def _mono_font() -> str:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",):
        if Path(path).exists():
            return path
    return str(FONT / "DejaVuSans.ttf")  # castkit's own: not monospaced, but always there


def _text(line: str) -> str:
    return line.replace("'", "\u2019").replace(":", "\\:").replace("%", "")


def session_filter() -> str:
    """drawtext and drawbox filters typing SESSION: each command a character at a time (the rest
    of the line masked, a cursor after the typed part), its output at once, then a pause."""
    font = _mono_font()
    draw = f"drawtext=fontfile={font}:fontsize=20"
    out = ["drawbox=x=0:y=ih-28:w=iw:h=28:color=0x005f87:t=fill",
           f"{draw}:fontcolor=white:x=8:y=h-24:text='[0] 0\\:bash*'"]
    t, row, x0 = 0.8, 0, 16
    for command, lines in SESSION:
        y = 16 + row * LINE
        out.append(f"{draw}:fontcolor=0x5fd75f:x={x0}:y={y}:text='$ ':enable='gte(t,{t - 0.8:.3f})'")
        out.append(f"{draw}:fontcolor=0xe0e0e0:x={x0 + 2 * CHAR}:y={y}:text='{_text(command)}':"
                   f"enable='gte(t,{t:.3f})'")
        typed = len(command) / CPS
        for k in range(len(command) + 1):
            a = t + k / CPS
            b = t + (k + 1) / CPS if k < len(command) else t + typed + 0.6
            x = x0 + (2 + k) * CHAR
            out.append(f"drawbox=x={x}:y={y}:w=1000:h={LINE}:color=0x1e1e1e:t=fill:"
                       f"enable='between(t,{a:.3f},{b:.3f})'")
            out.append(f"drawbox=x={x}:y={y + 2}:w={CHAR}:h={LINE - 4}:color=0xc0c0c0:t=fill:"
                       f"enable='between(t,{a:.3f},{b:.3f})'")
        t += typed + 0.6
        row += 1
        for i, line in enumerate(lines):
            color = "0x87afff" if line.startswith("d") else "0xffd75f" if "passed" in line else "0xe0e0e0"
            out.append(f"{draw}:fontcolor={color}:x={x0}:y={16 + row * LINE}:text='{_text(line)}':"
                       f"enable='gte(t,{t + 0.05 * i:.3f})'")
            row += 1
        t += PAUSE + 0.8
    y = 16 + row * LINE
    out.append(f"{draw}:fontcolor=0x5fd75f:x={x0}:y={y}:text='$ ':enable='gte(t,{t - 0.8:.3f})'")
    out.append(f"drawbox=x={x0 + 2 * CHAR}:y={y + 2}:w={CHAR}:h={LINE - 4}:color=0xc0c0c0:t=fill:"
               f"enable='gte(t,{t - 0.8:.3f})'")
    return ",".join(out)


TAKES = {
    "clean": ("take-clean.mp4", ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", "-g", "150"]),
    "vp8": ("take-vp8.webm", ["-c:v", "libvpx", "-b:v", "1M", "-g", "150", "-deadline", "realtime",
                              "-cpu-used", "8"]),
}


def make_take(ff: str, work: Path, kind: str) -> Path:
    name, codec = TAKES[kind]
    take = work / name
    if not take.exists():
        script = work / "session.filter"
        script.write_text(session_filter(), encoding="utf-8")
        # The filter from a file: -filter_script up to ffmpeg 6, -/vf (read from a file) since 7.
        major = int(re.match(r"n?(\d+)", _version(ff)).group(1))
        script_option = "-/vf" if major >= 7 else "-filter_script:v"
        run([ff, "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x1e1e1e:s={SIZE}:r={RATE}:d={SECONDS}",
             script_option, str(script), *codec, str(take)])
    return take


def _version(ff: str) -> str:
    return subprocess.run([ff, "-version"], capture_output=True, text=True).stdout.split()[2]


def plain_gif(ff: str, take: Path, out: Path) -> None:
    run([ff, "-v", "error", "-y", "-i", str(take), "-filter_complex",
         f"[0:v]fps={GIF_FPS},scale={WIDTH}:-2:flags=lanczos,split[a][b];[a]palettegen[p];[b][p]paletteuse",
         str(out)])


def castkit_gif(take: Path, work: Path, keys: str = "") -> Path:
    """castkit's GIF of ``take``; ``keys``: more keys of the output (``colors: 80, lossy: 60``)."""
    name = f"castkit-{take.stem}" + ("-" + re.sub(r"[^0-9a-z]+", "-", keys).strip("-") if keys else "")
    recipe = work / f"{name}.yaml"
    more = f", {keys}" if keys else ""
    recipe.write_text(f"outputs:\n  - {{path: {name}.gif, width: {WIDTH}{more}}}\n"
                      f"segments:\n  - clip: {take.name}\n", encoding="utf-8")
    run([sys.executable, "-m", "castkit", "build", str(recipe), "--no-cache", "--force", "-q"],
        cwd=work, env=_env())
    return work / f"{name}.gif"


def _env() -> dict:
    import os

    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def psnr(ff: str, gif: Path, take: Path) -> float:
    """PSNR in dB of the GIF against the take scaled to the GIF's size (RGB, 15 fps)."""
    frames = SECONDS * GIF_FPS
    done = subprocess.run(
        [ff, "-v", "error", "-i", str(gif), "-i", str(take), "-lavfi",
         f"[0:v]fps={GIF_FPS},format=rgb24,trim=end_frame={frames}[a];"
         f"[1:v]fps={GIF_FPS},scale={WIDTH}:{HEIGHT}:flags=lanczos,format=rgb24,trim=end_frame={frames}[b];"
         "[a][b]psnr=stats_file=-", "-f", "null", "-"],
        check=True, capture_output=True, text=True)
    errors = [float(m) for m in re.findall(r"mse_avg:([\d.]+)", done.stdout)]
    mean = sum(errors) / len(errors)
    import math

    return 10 * math.log10(255 ** 2 / mean)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="keep the takes and GIFs here")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--take", choices=("clean", "vp8", "both"), default="both")
    parser.add_argument("--keys", default=DOCS_KEYS,
                        help=f"also castkit's GIF with these output keys (default: {DOCS_KEYS!r}; '' for none)")
    args = parser.parse_args()
    ff = ffmpeg_path()
    work = args.work or Path(tempfile.mkdtemp(prefix="castkit-bench-gif-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"ffmpeg {_version(ff)}; {SECONDS} s {SIZE} terminal take at {RATE} fps -> GIF {WIDTH} px, {GIF_FPS} fps")
    try:
        for kind in (("clean", "vp8") if args.take == "both" else (args.take,)):
            take = make_take(ff, work, kind)
            plain = work / f"plain-{take.stem}.gif"
            rows = ["plain", "castkit"] + ([f"castkit, {args.keys}"] if args.keys else [])
            times: dict[str, list[tuple[float, float]]] = {who: [] for who in rows}
            made: dict[str, Path] = {}
            for _ in range(args.repeat):  # interleaved
                times["plain"].append(measure(lambda: plain_gif(ff, take, plain)))
                made["plain"] = plain
                times["castkit"].append(measure(lambda: made.__setitem__("castkit", castkit_gif(take, work))))
                if args.keys:
                    times[rows[2]].append(measure(lambda: made.__setitem__(
                        rows[2], castkit_gif(take, work, args.keys))))
            sizes = {who: made[who].stat().st_size for who in made}
            print(f"\n{kind} take ({take.name}, {take.stat().st_size / 1e3:.0f} kB):")
            print("| | size | PSNR | wall | CPU |")
            print("|---|---|---|---|---|")
            for who in rows:
                wall = min(w for w, _ in times[who])
                cpu = min(c for _, c in times[who])
                ratio = f" ({sizes[who] / sizes['plain']:.2f}x)" if who != "plain" else ""
                print(f"| {who} | {sizes[who] / 1e3:.1f} kB{ratio} | {psnr(ff, made[who], take):.2f} dB "
                      f"| {wall:.2f} s | {cpu:.2f} s |")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
