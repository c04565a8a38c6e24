#!/usr/bin/env python3
"""A fault campaign against castkit's command line (issue 32), for a bounded time.

Three kinds of round, drawn at random until ``--seconds`` have passed:

* mutation: a valid recipe with one to three random mutations (a key dropped, a value made
  hostile: zero, negative, huge, a control character, a lone surrogate, a device, a FIFO, the
  recipe itself, a source as the output...), run through ``build --dry-run``, ``build``,
  ``export`` or ``preview``;
* stop: a real build (or a batch of two) stopped by SIGINT, SIGTERM or SIGKILL at a random
  moment;
* share: two or three builds at once on one cache, with ``cache prune`` run in a loop beside
  them.

After every round the invariants are checked:

* the exit status is 0, 1, 2 or 130 (or the SIGKILL the round sent), never anything else, and
  every run ends within its time limit (no hang);
* stderr holds no Python traceback and no "internal error";
* the sources (captures, captions, recipes) keep their bytes;
* every output is absent, holds its old bytes, or is complete (the same frame count as a
  reference build; a DV cast the same bytes); no file that is not hidden looks like an output
  without being one (a partial file under a finished name);
* builds sharing a cache all succeed (exit 0) and are complete.

Only the command line is used (``python -m castkit``), so the campaign runs against any
version. Exit status: 0 when every invariant held, 1 otherwise (each violation printed, with
the round's seed so that it can be replayed with ``--seed``).

    python benchmarks/fault_campaign.py --seconds 600 [--seed N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

PY = sys.executable
RUN_TIMEOUT = 90  # seconds any one castkit run may take on the campaign's tiny media
ALLOWED = {0, 1, 2, 130}


def ffmpeg_binary() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        return shutil.which("ffmpeg") or "ffmpeg"


FFMPEG = ffmpeg_binary()


# --- media -------------------------------------------------------------------------------------


def make(out: Path, *args: str) -> Path:
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args,
                    str(out)], check=True, timeout=120)
    return out


def make_media(folder: Path) -> None:
    """Tiny sources: a 2 s take with a tone, a 3 s take with a pause in its sound, captions."""
    folder.mkdir(parents=True, exist_ok=True)
    make(folder / "take.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest")
    make(folder / "pause.mkv", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=3",
         "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=3,"
         "volume=enable='between(t,0.6,2.2)':volume=0",
         "-c:v", "ffv1", "-c:a", "flac", "-shortest")
    (folder / "cues.srt").write_text(
        "1\n00:00:00,200 --> 00:00:01,000\nHello there\n\n"
        "2\n00:00:01,100 --> 00:00:01,900\nSecond cue\n", encoding="utf-8")


# --- recipes -----------------------------------------------------------------------------------


BASE = {
    "output": "out/cast.dv",
    "loudness": "off",
    "segments": [
        {"title": "Intro", "subtitle": "a campaign", "duration": "0.4", "fade_in": "0.1"},
        {"clip": "take.mp4", "start": "0.2", "end": "1.6", "captions": "cues.srt",
         "chapter": "Take"},
        {"clip": "pause.mkv", "pauses": {"action": "cut", "screen": "any"}},
        {"title": "The end", "duration": "0.3"},
    ],
}

HOSTILE_VALUES = [
    "0", "-1", "0.001", "1e9", "99999999999999999999", "nan", "inf", "", "~", "null", "[]", "{}",
    '"\\ud800"', '"\\udfff tail"', '"bell\\a"', '"\\e[31mred"', '"a\\nb"', '"tab\\there"',
    '"\\x7f"', '"\\u0085"', "/dev/zero", "/dev/null", "fifo.srt", "cast.yaml", "take.mp4",
    "out/../out/cast.dv", "out/cast.dv", "../escape.dv", "http://example.com/a.mp4",
    "no-such-file.mp4", "*anchor", "&a x", "'quoted'", "0:00:00.01", "23:59:59", "2x", "x0.5",
    "cut", "4", "0.04", "-16", "off", "0:01", "1:00:00:00",
]
KEYS = ["duration", "start", "end", "speed", "fade_in", "fade_out", "title", "subtitle",
        "chapter", "captions", "clip", "audio", "pauses", "crop", "background", "color"]


def dump(value, indent: int = 0) -> str:
    """A tiny YAML writer that keeps hostile scalars exactly as written (not re-quoted)."""
    pad = "  " * indent
    if isinstance(value, dict):
        return "".join(f"{pad}{k}:\n{dump(v, indent + 1)}" if isinstance(v, (dict, list)) and v
                       else f"{pad}{k}: {scalar(v)}\n" for k, v in value.items())
    if isinstance(value, list):
        out = ""
        for item in value:
            body = dump(item, indent + 1).lstrip() if isinstance(item, (dict, list)) else scalar(item) + "\n"
            out += f"{pad}- {body}"
        return out
    return f"{pad}{scalar(value)}\n"


def scalar(value) -> str:
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return str(value)


def mutate(rng: random.Random) -> dict:
    import copy

    recipe = copy.deepcopy(BASE)
    for _ in range(rng.randint(1, 3)):
        seg = rng.choice(recipe["segments"])
        what = rng.random()
        if what < 0.55:
            seg[rng.choice(KEYS)] = rng.choice(HOSTILE_VALUES)
        elif what < 0.7 and seg:
            seg.pop(rng.choice(list(seg)))
        elif what < 0.8:
            recipe["output"] = rng.choice(["out/cast.mp4", "out/cast.webm", "take.mp4",
                                           "cues.srt", "out/cast.avi", "cast.yaml",
                                           "out/c.dv", rng.choice(HOSTILE_VALUES)])
        elif what < 0.9:
            recipe["outputs"] = rng.choice([
                "[out/a.mp4, {path: out/../out/a.mp4, height: 120}]",
                "[{path: out/a.mp4, fps: 1}]", "[out/a.webm, out/a.mp4, out/a.dv]",
                "[{path: out/a.mp4, height: 64}]"])
            recipe.pop("output", None)
        else:
            recipe["segments"].append(rng.choice([
                {"title": rng.choice(HOSTILE_VALUES)},
                {"clip": "take.mp4", "duration": "0.04", "speed": "4"},
                {"clip": rng.choice(HOSTILE_VALUES)}]))
    return recipe


# --- invariants ----------------------------------------------------------------------------------


@dataclass
class Campaign:
    root: Path
    rng: random.Random
    violations: list[str] = field(default_factory=list)
    rounds: dict[str, int] = field(default_factory=dict)
    reference: dict[str, int] = field(default_factory=dict)  # output name -> frames
    reference_bytes: dict[str, str] = field(default_factory=dict)  # DV output -> sha256

    def fail(self, what: str) -> None:
        self.violations.append(what)
        print(f"VIOLATION: {what}", file=sys.stderr, flush=True)

    def run(self, args: list[str], cwd: Path, env: dict | None = None,
            timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess | None:
        try:
            return subprocess.run([PY, "-m", "castkit", *args], cwd=cwd, capture_output=True,
                                  text=True, errors="replace", timeout=timeout,
                                  stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        except subprocess.TimeoutExpired:
            self.fail(f"castkit {' '.join(args)} in {cwd}: still running after {timeout} s")
            return None

    def check_result(self, what: str, status: int, stderr: str, sent: int | None = None) -> None:
        allowed = ALLOWED | ({-signal.SIGKILL} if sent == signal.SIGKILL else set())
        if status not in allowed:
            self.fail(f"{what}: exit status {status}\n{stderr[-2000:]}")
        if "Traceback" in stderr or "internal error" in stderr:
            self.fail(f"{what}: a traceback or internal error\n{stderr[-3000:]}")

    def frames(self, path: Path) -> int | None:
        """Frames of a media file by ffmpeg's own count (None: not decodable)."""
        proc = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                               "-map", "0:v:0", "-f", "null", "-"], capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            return None
        import re

        found = re.findall(r"frame=\s*(\d+)", proc.stderr)
        if found:
            return int(found[-1])
        proc = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0",
                               "-f", "null", "-"], capture_output=True, text=True, timeout=120)
        found = re.findall(r"frame=\s*(\d+)", proc.stderr)
        return int(found[-1]) if found else None

    def check_outputs(self, what: str, folder: Path, old: dict[str, str]) -> None:
        """Every visible file in ``folder`` is an old file untouched, or a complete output."""
        if not folder.exists():
            return
        for path in folder.iterdir():
            if path.name.startswith("."):
                continue  # a temporary name: never taken for a finished file
            digest = sha256(path)
            if old.get(path.name) == digest:
                continue
            if path.name not in self.reference:
                self.fail(f"{what}: {path.name} appeared, which no build writes")
                continue
            if path.name in self.reference_bytes:
                if digest != self.reference_bytes[path.name]:
                    self.fail(f"{what}: {path.name} differs from the reference build")
                continue
            if path.suffix in (".srt", ".vtt", ".txt"):
                continue  # small sidecars are written whole (checked by name above)
            frames = self.frames(path)
            if frames != self.reference[path.name]:
                self.fail(f"{what}: {path.name} has {frames} frames, not {self.reference[path.name]}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sources_of(folder: Path) -> dict[Path, str]:
    return {p: sha256(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
            and p.suffix in (".mp4", ".mkv", ".srt", ".yaml")}


# --- rounds ------------------------------------------------------------------------------------


STOP_RECIPES = {
    "dv.yaml": """
        output: out/dv.dv
        loudness: off
        segments:
          - {title: Intro, duration: 0.4}
          - {clip: take.mp4, start: 0.2, captions: cues.srt, chapter: Take}
          - {clip: pause.mkv, pauses: {action: cut, screen: any}}
    """,
    "web.yaml": """
        outputs: [out/web.mp4, out/web.webm, {path: out/small.mp4, height: 64}]
        segments:
          - {title: Intro, duration: 0.4}
          - {clip: take.mp4, captions: cues.srt, chapter: Take}
    """,
    "avi.yaml": """
        outputs: [out/avi.avi, out/avi.dv]
        loudness: -20
        segments:
          - {clip: take.mp4, speed: 2}
          - {title: Outro, duration: 0.3}
    """,
}


def write_stop_recipes(folder: Path) -> None:
    for name, text in STOP_RECIPES.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def prepare(campaign: Campaign) -> Path:
    """The media, the recipes of the stop and share rounds, and a reference build of each."""
    base = campaign.root / "base"
    make_media(base)
    write_stop_recipes(base)
    ref = campaign.root / "reference"
    shutil.copytree(base, ref, symlinks=True)
    result = campaign.run(["build", "-q", *STOP_RECIPES], ref, timeout=600)
    if result is None or result.returncode != 0:
        raise SystemExit(f"the reference build failed:\n{result.stderr if result else ''}")
    for path in (ref / "out").iterdir():
        campaign.reference[path.name] = (campaign.frames(path) or 0) if path.suffix not in (
            ".srt", ".vtt", ".txt") else 0
        if path.suffix == ".dv":
            campaign.reference_bytes[path.name] = sha256(path)
    return base


def fresh(campaign: Campaign, base: Path, name: str) -> Path:
    folder = campaign.root / name
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(base, folder, symlinks=True)
    return folder


def mutation_round(campaign: Campaign, base: Path, n: int) -> None:
    folder = fresh(campaign, base, "mutation")
    os.mkfifo(folder / "fifo.srt")  # a recipe naming it must not hang castkit
    text = dump(mutate(campaign.rng))
    (folder / "cast.yaml").write_text(text, encoding="utf-8")
    before = sources_of(folder)
    command = campaign.rng.choice([["build", "--dry-run"], ["build", "-q"], ["build", "-q", "--force"],
                                   ["export", "-o", "out/edit.mlt"], ["export", "-o", "out/edit.edl"],
                                   ["export", "-o", "out/edit.otio"], ["preview", "-q"]])
    result = campaign.run([*command, "cast.yaml"], folder)
    what = f"mutation round {n} ({' '.join(command)}):\n{text}"
    if result is not None:
        campaign.check_result(what, result.returncode, result.stderr)
    for path, digest in before.items():
        if path.name != "cast.yaml" and (not path.exists() or sha256(path) != digest):
            campaign.fail(f"{what}: the source {path.name} was changed")


def stop_round(campaign: Campaign, base: Path, n: int) -> None:
    folder = campaign.root / "stop"
    if not folder.exists():
        shutil.copytree(base, folder, symlinks=True)
    rng = campaign.rng
    recipes = rng.sample(sorted(STOP_RECIPES), rng.choice([1, 2]))
    out = folder / "out"
    old = {p.name: sha256(p) for p in out.iterdir() if not p.name.startswith(".")} if out.exists() else {}
    before = sources_of(folder)
    sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
    args = ["build", "-q", "--force", *recipes]
    if rng.random() < 0.3:
        args.insert(2, "--no-cache")
    proc = subprocess.Popen([PY, "-m", "castkit", *args], cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace",
                            stdin=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.2, 6))
    sent = None
    if proc.poll() is None:
        proc.send_signal(sig)
        sent = sig
    try:
        _, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        campaign.fail(f"stop round {n}: castkit {' '.join(args)} still running {RUN_TIMEOUT} s "
                      f"after {signal.Signals(sig).name}")
        return
    what = f"stop round {n} (castkit {' '.join(args)}, {signal.Signals(sig).name if sent else 'no signal'})"
    campaign.check_result(what, proc.returncode, err, sent)
    if sent in (signal.SIGINT, signal.SIGTERM) and proc.returncode not in (0, 1, 2, 130):
        campaign.fail(f"{what}: exit {proc.returncode} after a stop")
    campaign.check_outputs(what, out, old)
    for path, digest in before.items():
        if sha256(path) != digest:
            campaign.fail(f"{what}: the source {path.name} was changed")


def share_round(campaign: Campaign, base: Path, n: int) -> None:
    rng = campaign.rng
    folder = fresh(campaign, base, "share")
    cache = folder / "shared-cache"
    env = {"CASTKIT_CACHE_DIR": str(cache)}
    count = rng.choice([2, 3])
    runs = []
    for k in range(count):
        sub = folder / f"b{k}"
        sub.mkdir()
        for name in ("take.mp4", "pause.mkv", "cues.srt", *STOP_RECIPES):
            shutil.copy(folder / name, sub / name)
        recipes = rng.sample(sorted(STOP_RECIPES), rng.choice([1, 2]))
        runs.append((sub, recipes, subprocess.Popen(
            [PY, "-m", "castkit", "build", "-q", *recipes], cwd=sub, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, errors="replace", stdin=subprocess.DEVNULL,
            env={**os.environ, **env})))
    prunes = 0
    while any(p.poll() is None for _, _, p in runs):
        result = campaign.run(["cache", "prune"], folder, env)
        prunes += 1
        if result is not None:
            campaign.check_result(f"share round {n}: cache prune", result.returncode, result.stderr)
        time.sleep(rng.uniform(0, 0.5))
    for sub, recipes, proc in runs:
        _, err = proc.communicate(timeout=RUN_TIMEOUT)
        what = f"share round {n} ({count} builds, {prunes} prunes): castkit build {' '.join(recipes)}"
        campaign.check_result(what, proc.returncode, err)
        if proc.returncode != 0:
            campaign.fail(f"{what}: exit {proc.returncode} on a shared cache\n{err[-2000:]}")
        campaign.check_outputs(what, sub / "out", {})


ROUNDS = {"mutation": mutation_round, "stop": stop_round, "share": share_round}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="stop starting rounds after this long")
    parser.add_argument("--seed", type=int, default=None, help="the random seed (default: new)")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    parser.add_argument("--rounds", default="mutation,stop,share",
                        help="which kinds of round (comma-separated)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    kinds = [k.strip() for k in args.rounds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in ROUNDS]
    if unknown:
        parser.error(f"unknown rounds: {', '.join(unknown)}")
    started = time.monotonic()
    root = args.keep or Path(tempfile.mkdtemp(prefix="castkit-campaign-"))
    root.mkdir(parents=True, exist_ok=True)
    campaign = Campaign(root, random.Random(seed))
    print(f"fault campaign: seed {seed}, {args.seconds:g} s, in {root}", flush=True)
    try:
        base = prepare(campaign)
        n = 0
        while time.monotonic() - started < args.seconds:
            n += 1
            kind = kinds[(n - 1) % len(kinds)] if n <= len(kinds) else campaign.rng.choice(kinds)
            ROUNDS[kind](campaign, base, n)
            campaign.rounds[kind] = campaign.rounds.get(kind, 0) + 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(campaign.rounds.items()))
    print(f"{sum(campaign.rounds.values())} rounds ({summary}) in "
          f"{time.monotonic() - started:.0f} s; {len(campaign.violations)} violations; seed {seed}")
    return 1 if campaign.violations else 0


if __name__ == "__main__":
    sys.exit(main())
