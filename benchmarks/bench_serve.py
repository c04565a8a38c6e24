"""How soon `castkit serve` shows its page on a recipe with a 10-minute capture (target: under
2 s; the capture's proxy is made in the background meanwhile), against how long plain ffmpeg
takes to read the capture's header (`ffmpeg -i`), measured in the same run.

    python benchmarks/bench_serve.py [--runs 3]

Reports, per run, the wall time from starting `castkit serve` to the page and the recipe's
state (`GET /`, `GET /api/recipe`) answered, and the time for the first frame of the clip.
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ffmpeg_path, run


def get(port: int, token: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Host": f"127.0.0.1:{port}"})
    res = conn.getresponse()
    res.read()
    conn.close()
    return res.status


def one_run(recipe: Path) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "castkit", "serve", str(recipe), "--no-open", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().split(" at ", 1)[1].strip()
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        assert get(port, token, "/") == 200 and get(port, token, "/api/recipe") == 200
        page = time.perf_counter() - start
        assert get(port, token, "/api/frame/1?t=300") == 200
        frame = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return page, frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ffmpeg = ffmpeg_path()
    with tempfile.TemporaryDirectory(prefix="castkit-bench-serve-") as work:
        folder = Path(work)
        capture = folder / "take.ogv"
        run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=10:duration=600",
             "-f", "lavfi", "-i", "sine=f=300:d=600", "-c:v", "libtheora", "-q:v", "5",
             "-c:a", "libvorbis", str(capture)])
        recipe = folder / "cast.yaml"
        recipe.write_text("segments:\n  - title: A long take\n  - clip: take.ogv\n    start: 60\n    end: 540\n")
        for n in range(args.runs):
            t = time.perf_counter()
            subprocess.run([ffmpeg, "-hide_banner", "-i", str(capture)], capture_output=True)
            header = time.perf_counter() - t
            page, frame = one_run(recipe)
            print(f"run {n + 1}: page and recipe answered {page:.2f} s after start "
                  f"(ffmpeg -i alone: {header:.2f} s); a frame at 5:00: {frame:.2f} s")


if __name__ == "__main__":
    main()
