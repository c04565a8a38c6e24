"""`castkit build --watch` as a person runs it: a subprocess that rebuilds on save, prints
errors without stopping, and stops on Ctrl-C (SIGINT) with status 130 and no debris."""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import WHEEL_FFMPEG

pytestmark = pytest.mark.e2e

RECIPE = """\
output: build/cast.dv
segments:
  - title: "{title}"
    duration: 1
  - clip: silent.ogv
    duration: 1
"""


def save(path: Path, text: str) -> None:
    """As an editor saves: a new file renamed over the old one."""
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


class Watcher:
    def __init__(self, folder: Path) -> None:
        env = {**os.environ, "CASTKIT_FFMPEG": WHEEL_FFMPEG}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "castkit", "build", "cast.yaml", "--watch", "-q"],
            cwd=folder, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 120) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, f"castkit stopped: {self.seen}"
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in {self.seen}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_watch_rebuilds_on_save_survives_errors_and_stops_on_ctrl_c(tmp_path, media_files):
    (tmp_path / "silent.ogv").write_bytes(media_files.silent_1080.read_bytes())
    recipe = tmp_path / "cast.yaml"
    recipe.write_text(RECIPE.format(title="First take"), encoding="utf-8")
    cast = tmp_path / "build" / "cast.dv"
    w = Watcher(tmp_path)
    try:
        w.wait_for("wrote build/cast.dv")
        w.wait_for("watching")
        first = digest(cast)

        save(recipe, RECIPE.format(title="Second take"))
        w.wait_for("cast.yaml changed")
        w.wait_for("wrote build/cast.dv")
        assert digest(cast) != first
        second = digest(cast)

        # A mistake: the error, with its line and column, and the watch goes on.
        save(recipe, RECIPE.format(title="Third take").replace("duration: 1\n  - clip", "duraton: 1\n  - clip"))
        error = w.wait_for("error:")
        assert "cast.yaml:4:" in error and "duraton" in error
        assert digest(cast) == second, "a failed build leaves the cast as it was"
        save(recipe, RECIPE.format(title="Third take"))
        w.wait_for("wrote build/cast.dv")
        assert digest(cast) not in (first, second)
    finally:
        w.proc.send_signal(signal.SIGINT)
        try:
            code = w.proc.wait(timeout=60)
        finally:
            if w.proc.poll() is None:
                w.proc.kill()
    assert code == 130
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["cast.dv"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith((".partial", ".swp"))]
    assert leftovers == []
    cache = tmp_path / ".castkit-cache"
    if cache.exists():
        assert not [p.name for p in cache.iterdir() if "partial" in p.name]
