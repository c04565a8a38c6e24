"""Fixtures of the whole suite. Shared helpers are in ``helpers.py``; generated captures in
``media.py``; independent readers of castkit's outputs in ``readers.py``. Tests under ``e2e/``
run ffmpeg and decode what castkit wrote (marked ``e2e``); those under ``unit/`` check plans,
recipes, the schema and pure functions."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import media  # noqa: E402
from helpers import WHEEL_FFMPEG, system_ffmpeg  # noqa: E402

FFMPEGS = [pytest.param(WHEEL_FFMPEG, id="wheel-ffmpeg")]
if system_ffmpeg():
    FFMPEGS.append(pytest.param(system_ffmpeg(), id="system-ffmpeg"))


def pytest_collection_modifyitems(items) -> None:
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        if e2e in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


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


@pytest.fixture
def ctrl_c():
    """SIGINT as a terminal's Ctrl-C finds it (Python's KeyboardInterrupt), for tests that
    send one in-process: a suite started in the background by a non-interactive shell
    inherits SIGINT ignored, which castkit, like any program, leaves so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def bright(tmp_path_factory) -> Path:
    """2 s of a bright, even picture (luma 200) with a 440 Hz tone: far from a dark, silent title
    card (the transitions' tests)."""
    root = tmp_path_factory.mktemp("transition-media")
    return media.make(WHEEL_FFMPEG, root / "bright.ogv", "-f", "lavfi", "-i",
                      "color=c=0xC8C8C8:size=320x180:rate=25:duration=2", "-f", "lavfi", "-i",
                      "sine=frequency=440:sample_rate=48000:duration=2",
                      "-c:v", "libtheora", "-q:v", "8", "-c:a", "libvorbis")
