#!/usr/bin/env python3
"""Many recipes as one batch against the same recipes built one after the other; the farm's
overhead per job on a local Dask cluster (issue 18).

    python benchmarks/bench_batch.py [--recipes N] [--seconds S] [--repeat R] [--no-farm]

A course: N recipes in one folder (one cache), each an intro card every recipe shares, its own
capture (640x480 Theora, S seconds, a different trim each) and its own closing card, PAL DV.
Measured with cold caches (a fresh folder per run), each the best of --repeat:

- sequential: `castkit build cast1.yaml`, then cast2, ... (what a shell loop does);
- batch: `castkit build cast1.yaml ... castN.yaml` (one plan, the intro encoded once);
- farm: the batch with --scheduler on a local cluster of 2 single-threaded worker processes;
- the farm's overhead per job: a recipe of 24 tiny title cards (0.2 s each, so the encode
  itself is short) built locally and on the farm: (farm wall - local wall) / 24.

CPU time is user+system of castkit and everything it waited for (ffmpeg), from getrusage;
for the farm, the workers' (and their ffmpegs') CPU time is added from psutil.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ffmpeg_path



def make_course(folder: Path, capture: Path, recipes: int, seconds: float) -> list[Path]:
    folder.mkdir(parents=True)
    shutil.copy(capture, folder / "capture.ogv")
    paths = []
    for n in range(1, recipes + 1):
        path = folder / f"cast{n}.yaml"
        path.write_text(
            "loudness: off\n"
            f"output: build/cast{n}.dv\n"
            "segments:\n"
            '  - title: "The course"\n    subtitle: "castkit benchmark"\n    duration: 3\n'
            f"  - clip: capture.ogv\n    start: {n * 0.1:.1f}\n    duration: {seconds - 1}\n"
            f'  - title: "Lesson {n}"\n    duration: 2\n',
            encoding="utf-8")
        paths.append(path)
    return paths


def tiny_recipe(folder: Path, cards: int = 24) -> Path:
    folder.mkdir(parents=True)
    path = folder / "tiny.yaml"
    body = "".join(f'  - title: "Card {n}"\n    duration: 0.2\n' for n in range(cards))
    path.write_text(f"loudness: off\noutput: build/tiny.dv\nsegments:\n{body}", encoding="utf-8")
    return path


def timed(argv: list[str], extra_cpu=None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    extra0 = extra_cpu() if extra_cpu else 0.0
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if extra_cpu:
        cpu += extra_cpu() - extra0
    return wall, cpu


def castkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "castkit", "build", "-q", *args]


class LocalCluster:
    """`dask scheduler` and two `dask worker --nthreads 1` processes, as a farm would run."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        dask = str(Path(sys.executable).parent / "dask")
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                        str(port), "--no-dashboard"], **quiet)]
        self.procs += [subprocess.Popen([dask, "worker", self.address, "--nthreads", "1",
                                         "--no-nanny", "--no-dashboard"], **quiet)
                       for _ in range(2)]
        import distributed

        with distributed.Client(self.address, timeout="20s") as client:
            client.wait_for_workers(2, timeout=30)

    def workers_cpu(self) -> float:
        import psutil

        total = 0.0
        for proc in self.procs[1:]:
            try:
                t = psutil.Process(proc.pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-farm", action="store_true")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()

    ffmpeg = ffmpeg_path()
    os.environ["CASTKIT_FFMPEG"] = ffmpeg
    os.environ.pop("CASTKIT_CACHE_DIR", None)
    os.environ.pop("CASTKIT_SCHEDULER", None)
    work = Path(tempfile.mkdtemp(prefix="castkit-bench-batch-", dir=args.work))
    capture = work / "capture.ogv"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x480:rate=15:duration={args.seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=22050:duration={args.seconds}",
                    "-c:v", "libtheora", "-q:v", "5", "-c:a", "libvorbis", "-ac", "1", str(capture)],
                   check=True)
    runs = iter(range(10**6))

    def course() -> list[Path]:
        return make_course(work / f"run{next(runs)}", capture, args.recipes, args.seconds)

    cluster = None
    if not args.no_farm:
        try:
            cluster = LocalCluster()
        except ImportError:
            print("no dask: pip install 'castkit[farm]' to measure the farm")
    results: dict[str, list[tuple[float, float]]] = {"sequential": [], "batch": [], "farm": []}
    tiny: dict[str, list[float]] = {"local": [], "farm": []}
    try:
        for _ in range(args.repeat):  # interleaved: the machine's noise hits each alike
            paths = course()
            walls = [timed(castkit(str(p))) for p in paths]
            results["sequential"].append((sum(w for w, _ in walls), sum(c for _, c in walls)))
            results["batch"].append(timed(castkit(*map(str, course()))))
            if cluster is not None:
                results["farm"].append(timed(castkit("--scheduler", cluster.address,
                                                     *map(str, course())), cluster.workers_cpu))
                # -j 2 locally: the farm has two slots
                tiny["local"].append(timed(castkit("-j", "2", str(tiny_recipe(work / f"tiny{next(runs)}"))))[0])
                tiny["farm"].append(timed(castkit("--scheduler", cluster.address,
                                                  str(tiny_recipe(work / f"tiny{next(runs)}"))))[0])
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    best = {k: min(v) for k, v in results.items() if v}
    seq = best["sequential"][0]
    print(f"{args.recipes} recipes, {args.seconds:g} s capture each (640x480 Theora -> PAL DV), "
          f"{os.cpu_count()} cores, best of {args.repeat}")
    print(f"{'':12} {'wall':>8} {'cpu':>8} {'vs sequential':>14}")
    for name, (wall, cpu) in best.items():
        print(f"{name:12} {wall:7.2f}s {cpu:7.2f}s {wall / seq:13.2f}x")
    if tiny["farm"]:
        local, farm = min(tiny["local"]), min(tiny["farm"])
        print(f"24 tiny title cards: local -j 2 {local:.2f}s, farm {farm:.2f}s: "
              f"overhead {(farm - local) / 24 * 1000:+.0f} ms per job (with 2 slots)")


if __name__ == "__main__":
    main()
