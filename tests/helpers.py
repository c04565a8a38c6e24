"""Helpers the tests share (imported as ``from helpers import ...``; fixtures are in conftest):
the wheel's ffmpeg, recipes, running one job, hashes and listings, and stand-ins for ffmpeg."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import imageio_ffmpeg

WHEEL_FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def system_ffmpeg() -> str | None:
    """Debian's ffmpeg (5.1 on Debian 12) when the machine has one: castkit must agree with it."""
    path = shutil.which("ffmpeg")
    if not path or os.path.realpath(path) == os.path.realpath(WHEEL_FFMPEG):
        return None
    out = subprocess.run([path, "-version"], capture_output=True, text=True).stdout
    match = re.match(r"ffmpeg version n?(\d+)\.(\d+)", out)
    if match and (int(match[1]), int(match[2])) >= (5, 1):
        return path
    return None


def write_recipe(folder: Path, text: str) -> Path:
    """``cast.yaml`` in ``folder``, for tests of the joins and the cache: loudness
    (tests/e2e/test_publish.py) is off unless the text sets it, so a DV cast is its raw segments'
    bytes and no gain or measurement joins the plan."""
    path = folder / "cast.yaml"
    text = textwrap.dedent(text).lstrip("\n")
    if "loudness:" not in text:
        text = "loudness: off\n" + text
    path.write_text(text, encoding="utf-8")
    return path


def run_job(job) -> Path:
    """Run one planned job as castkit runs it: into a temporary name, renamed when complete,
    and a raw DV encode's distinct pictures first, fed to its ffmpeg (castkit.media.pictures)."""
    from castkit.base.jobs import Plan
    from castkit.run.runner import FfmpegRunner

    FfmpegRunner().run(Plan(((job,),)))
    return job.output


def commands(job) -> list[str]:
    """Every argument of every ffmpeg a job runs."""
    return [*(job.pictures.head if job.pictures else ()), *job.argv]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(folder: Path) -> list[str]:
    """Every file below ``folder``, hidden ones included: nothing partial may hide there."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# A stand-in's answer to a raw DV job's first ffmpeg (its distinct pictures, castkit.media.pictures):
# one black picture at frame 0, so that the job's own ffmpeg, which the stand-in plays, runs.
_PICTURE_PASS = r"""for last; do :; done
case "$last" in "'[f=dv]file:"*)
  pictures="${last#"'[f=dv]file:"}"; pictures="${pictures%%"'|"*}"
  listing="${last##*"[f=framecrc]pipe:"}"; listing="${listing%"'"}"
  case " $* " in *yuv411p*) size=120000;; *) size=144000;; esac
  head -c "$size" /dev/zero > "$pictures"
  printf '0, 0, 0, 1, %s, 0x0\n' "$size" > "/dev/fd/$listing"
  exit 0;;
esac
"""


def ffmpeg_script(tmp_path: Path, monkeypatch, body: str, fake_pictures: bool = False,
                  first: str = "") -> Path:
    """Make CASTKIT_FFMPEG a shell script (``body``) standing in for ffmpeg; ``$REAL_FFMPEG``
    is the wheel's real one, for what the script passes through. ``fake_pictures``: a stand-in
    that writes made-up outputs answers a raw DV job's first ffmpeg with made-up pictures
    (``first``: lines run before anything else, those pictures included)."""
    fake = tmp_path / "fakebin" / "ffmpeg"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("#!/bin/sh\n" + first + (_PICTURE_PASS if fake_pictures else "") + body)
    fake.chmod(0o755)
    monkeypatch.setenv("REAL_FFMPEG", WHEEL_FFMPEG)
    monkeypatch.setenv("CASTKIT_FFMPEG", str(fake))
    return fake


def fake_ffmpeg(tmp_path: Path, monkeypatch, action: str) -> None:
    """The real ffmpeg for queries (version, probe); for jobs, write part of the output and
    then ``action``, as a dying ffmpeg does."""
    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -version "*|*" -v trace "*) exec "$REAL_FFMPEG" "$@";; esac\n'
        "for last; do :; done\n"
        # Only an output file: a measurement's last argument is "-" (ffmpeg's stdout), which
        # written as a file would land in the folder pytest runs in.
        'case "$last" in file:*) head -c 300000 /dev/zero > "${last#file:}";; esac\n'
        f"{action}\n"
    ), fake_pictures=True)


def counting_runner():
    """A runner (the build's seam) that remembers the label of every job it runs, in ``ran``."""
    from castkit.run.runner import FfmpegRunner

    class CountingRunner(FfmpegRunner):
        def __init__(self):
            super().__init__()
            self.ran: list[str] = []

        def run(self, plan):
            self.ran += [job.label for job in plan.jobs]
            super().run(plan)

    return CountingRunner()
