"""README's "Your first cast", run as written: its commands on a generated recording."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import WHEEL_FFMPEG

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
RECORDER = "# your recorder"  # the one command a test cannot run: it makes a recording instead


def first_cast() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Your first cast\n")
    return text[start + 1: text.index("\n## ", start + 1)]


def blocks(section: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def test_your_first_cast_is_short_and_comes_after_the_set_up():
    text = README.read_text(encoding="utf-8")
    assert text.index("## Set up") < text.index("## Your first cast") < text.index("## Reference")
    assert len(first_cast().splitlines()) < 120


def test_the_commands_of_your_first_cast_work_as_written(tmp_path):
    env = {**os.environ, "CASTKIT_FFMPEG": WHEEL_FFMPEG}
    ran = []
    for language, body in blocks(first_cast()):
        if language == "yaml":  # the recipe as the author edits it
            assert body.startswith("# cast.yaml\n")
            (tmp_path / "cast.yaml").write_text(body, encoding="utf-8")
            ran.append("edit cast.yaml")
            continue
        assert language == "sh"
        for line in body.splitlines():
            if RECORDER in line:
                record(tmp_path, shlex.split(line, comments=True)[-1])  # the file it records
                ran.append("record")
                continue
            argv = shlex.split(line, comments=True)
            assert argv[0] == "castkit", line
            done = subprocess.run([sys.executable, "-m", "castkit", *argv[1:]], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, (line, done.stderr)
            ran.append(argv[1])
    assert ran == ["record", "init", "edit cast.yaml", "preview", "build", "export"], ran
    assert (tmp_path / "take.sheet.png").is_file() and (tmp_path / "build" / "cast-board.png").is_file()
    for name in ("cast.dv", "cast.mp4", "cast.chapters.txt"):
        assert (tmp_path / "build" / name).is_file(), name
    assert (tmp_path / "cast.kdenlive").is_file()
    # A rebuild after an edit replaces castkit's own files, with no --force.
    recipe = tmp_path / "cast.yaml"
    recipe.write_text(recipe.read_text().replace("Installing the tools", "Installing the tool"))
    again = subprocess.run([sys.executable, "-m", "castkit", "build", "cast.yaml", "-q"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr


def record(folder: Path, name: str) -> None:
    """A 14 s screen recording with speech-like sound and its pauses, and a voice-over."""
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=640x400:rate=15:duration=14",
                    "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=14,"
                                         "volume='lt(mod(t\\,4)\\,2)':eval=frame",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libvorbis",
                    "-shortest", str(folder / name)], check=True, timeout=60)
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=220:sample_rate=48000:duration=3", str(folder / "voice.wav")],
                   check=True, timeout=60)
