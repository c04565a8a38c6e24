from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import media  # noqa: E402

WHEEL_FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _system_ffmpeg() -> str | None:
    """Debian's ffmpeg (5.1 on Debian 12) when the machine has one: castkit must agree with it."""
    path = shutil.which("ffmpeg")
    if not path or os.path.realpath(path) == os.path.realpath(WHEEL_FFMPEG):
        return None
    out = subprocess.run([path, "-version"], capture_output=True, text=True).stdout
    match = re.match(r"ffmpeg version n?(\d+)\.(\d+)", out)
    if match and (int(match[1]), int(match[2])) >= (5, 1):
        return path
    return None


FFMPEGS = [pytest.param(WHEEL_FFMPEG, id="wheel-ffmpeg")]
if _system_ffmpeg():
    FFMPEGS.append(pytest.param(_system_ffmpeg(), id="system-ffmpeg"))


@pytest.fixture(params=FFMPEGS)
def ffmpeg_bin(request, monkeypatch) -> str:
    """Each end-to-end test runs once per ffmpeg on the machine."""
    monkeypatch.setenv("CASTKIT_FFMPEG", request.param)
    return request.param


@pytest.fixture
def wheel_ffmpeg(monkeypatch) -> str:
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    return WHEEL_FFMPEG


class Media:
    """Test captures, made once per session with the wheel's ffmpeg (castkit's own is not used)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[str, Path] = {}

    def _get(self, name: str, maker) -> Path:
        if name not in self._made:
            self._made[name] = maker(self.root / name)
        return self._made[name]

    @property
    def voice_1366(self) -> Path:
        """1366x768 Theora at 15 fps, variable rate (a 1.2 s hold), 22 kHz mono Vorbis voice
        that stops 1.5 s before the picture: the capture of issue 2."""
        return self._get("voice-1366x768.ogv", lambda p: media.theora(
            WHEEL_FFMPEG, p, "1366x768", 15, 4.0, voice=(22050, 1, 2.5), drop="between(t,1.5,2.7)"))

    @property
    def silent_1080(self) -> Path:
        return self._get("silent-1920x1080.ogv", lambda p: media.theora(
            WHEEL_FFMPEG, p, "1920x1080", 15, 2.0))

    @property
    def odd_12fps_long_voice(self) -> Path:
        """1022x766 at 12 fps with a 48 kHz stereo voice-over longer than the picture."""
        return self._get("odd-1022x766-12fps.ogv", lambda p: media.theora(
            WHEEL_FFMPEG, p, "1022x766", 12, 2.0, voice=(48000, 2, 3.0)))

    @property
    def circle_1610(self) -> Path:
        """A disc on a 16:10 screen: it must stay round, with bars above and below."""
        return self._get("circle-1280x800.ogv", lambda p: media.theora(
            WHEEL_FFMPEG, p, "1280x800", 10, 1.0, pattern="circle"))

    @property
    def circle_portrait(self) -> Path:
        """A disc on a tall 600x800 window capture: bars left and right."""
        return self._get("circle-600x800.ogv", lambda p: media.theora(
            WHEEL_FFMPEG, p, "600x800", 10, 1.0, pattern="circle"))

    @property
    def luma_vfr(self) -> Path:
        """Frames numbered by brightness, 15 fps, no frames between 2.0 and 4.5 s (a long hold
        across the trim points tests use), 9.6 s long."""
        return self._get("luma-vfr.ogv", lambda p: media.theora(
            WHEEL_FFMPEG, p, "320x240", 15, 9.6, pattern="luma", drop="between(t,2.0,4.5)"))


@pytest.fixture(scope="session")
def media_files(tmp_path_factory) -> Media:
    return Media(tmp_path_factory.mktemp("media"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run ``castkit ARGS`` in-process; returns exit status, stdout and stderr."""
    from castkit.cli import main

    def run(*args: str | Path) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def write_recipe(folder: Path, text: str) -> Path:
    """``cast.yaml`` in ``folder``, for tests of the joins and the cache: loudness
    (tests/test_publish.py) is off unless the text sets it, so a DV cast is its raw segments'
    bytes and no gain or measurement joins the plan."""
    path = folder / "cast.yaml"
    text = textwrap.dedent(text).lstrip("\n")
    if "loudness:" not in text:
        text = "loudness: off\n" + text
    path.write_text(text, encoding="utf-8")
    return path


def run_job(job) -> Path:
    """Run one planned job as castkit runs it: into a temporary name, renamed when complete,
    and a raw DV encode's distinct pictures first, fed to its ffmpeg (castkit._pictures)."""
    from castkit._plan import Plan
    from castkit._runner import FfmpegRunner

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


# A stand-in's answer to a raw DV job's first ffmpeg (its distinct pictures, castkit._pictures):
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


def ffmpeg_script(tmp_path: Path, monkeypatch, body: str, fake_pictures: bool = False) -> Path:
    """Make CASTKIT_FFMPEG a shell script (``body``) standing in for ffmpeg; ``$REAL_FFMPEG``
    is the wheel's real one, for what the script passes through. ``fake_pictures``: a stand-in
    that writes made-up outputs answers a raw DV job's first ffmpeg with made-up pictures."""
    fake = tmp_path / "fakebin" / "ffmpeg"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("#!/bin/sh\n" + (_PICTURE_PASS if fake_pictures else "") + body)
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
