"""Hardening (issue 6): hostile and broken inputs, interruption, awkward paths, failures of the
machine, recipes from strangers, fuzzing, and CVE-2025-50817. Nothing lost, nothing leaked.

Each test checks a promise listed in SECURITY.md. Sources are hashed before and after every
end-to-end test here (the ``guard`` fixture); outputs are read by PyAV, never by castkit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import av
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import media
from castkit.builder.build import build
from castkit.run.runner import FfmpegRunner
from helpers import WHEEL_FFMPEG, fake_ffmpeg, listing, sha256
from readers import decodable_frames

PY = sys.executable
PAL_FRAME_BYTES = 144000
SECRET = b"castkit-test-secret-7f3a9c"


# --- helpers ----------------------------------------------------------------------------------


class Guard:
    """Remembers the bytes, size, mtime and mode of source files; ``check`` proves them intact."""

    def __init__(self) -> None:
        self.seen: dict[Path, tuple] = {}

    @staticmethod
    def _state(path: Path) -> tuple:
        st_ = path.stat()
        return sha256(path), st_.st_size, st_.st_mtime_ns, stat.S_IMODE(st_.st_mode)

    def add(self, *paths: Path) -> None:
        for path in paths:
            if path.is_file():
                self.seen[path] = self._state(path)

    def check(self) -> None:
        for path, before in self.seen.items():
            assert path.exists(), f"source {path} was removed"
            assert self._state(path) == before, f"source {path} was modified"


@pytest.fixture
def guard():
    """Every source an end-to-end test registers is hashed before and checked after."""
    g = Guard()
    yield g
    g.check()


def write_recipe(folder: Path, text: str, name: str = "cast.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def frames_in(path: Path) -> int:
    """Video frames in a DV file, counted by PyAV's demuxer (one packet per DV frame)."""
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


def debris(folder: Path) -> list[str]:
    """Temporary files castkit may never leave behind."""
    return [p for p in listing(folder) if p.endswith((".partial", ".partial.pictures")) or ".concat.txt" in p]


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (a /proc scan, no psutil)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmd:
            found.append(cmd.replace(b"\0", b" ").decode("utf-8", "replace"))
    return found


def no_traceback(err: str) -> None:
    assert "Traceback" not in err, err
    assert "internal error" not in err, err


def castkit_process(*args, cwd: Path, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [PY, "-m", "castkit", *map(str, args)], cwd=cwd, env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw,
    )


class Media:
    """Small captures for these tests, made once with the wheel's ffmpeg."""

    def __init__(self, root: Path) -> None:
        self.root = root
        ff = WHEEL_FFMPEG
        self.tiny = media.theora(ff, root / "tiny.ogv", "160x120", 15, 1.0, voice=(22050, 1, 1.0))
        # Long enough to be caught mid-encode (about two seconds of DV encoding on 2 cores).
        self.long = media.theora(ff, root / "long.ogv", "160x120", 15, 20.0)
        self.mid = media.theora(ff, root / "mid.ogv", "160x120", 15, 8.0)
        private = root / "private"
        private.mkdir()
        self.secret_text = private / "secret.txt"
        self.secret_text.write_bytes(SECRET + b"\n")
        # MPEG-TS: an extension and format that ffmpeg's HLS demuxer accepts for a segment.
        self.secret_video = media.make(ff, private / "secret.ts", "-f", "lavfi", "-i",
                                       "testsrc=size=160x120:rate=15:duration=1", "-c:v", "mpeg2video")
        full_ogv = media.theora(ff, root / "full.ogv", "320x240", 15, 4.0, voice=(44100, 1, 4.0))
        data = full_ogv.read_bytes()
        self.cut_ogv = root / "cut-short.ogv"
        self.cut_ogv.write_bytes(data[: len(data) // 2])
        full_mkv = media.make(ff, root / "full.mkv", "-f", "lavfi", "-i",
                              "testsrc2=size=320x240:rate=15:duration=4", "-c:v", "mpeg4")
        data = full_mkv.read_bytes()
        self.cut_mkv = root / "cut-short.mkv"
        self.cut_mkv.write_bytes(data[: len(data) // 2])
        full_mp4 = media.make(ff, root / "full.mp4", "-f", "lavfi", "-i",
                              "testsrc2=size=320x240:rate=15:duration=2", "-c:v", "mpeg4")
        data = full_mp4.read_bytes()
        self.cut_mp4 = root / "cut-short.mp4"  # the index (moov) is at the end: lost
        self.cut_mp4.write_bytes(data[: len(data) // 2])
        self.headers_only = media.make(ff, root / "headers-only.ogv", "-f", "lavfi", "-i",
                                       "testsrc2=size=320x240:rate=15", "-frames:v", "0",
                                       "-c:v", "libtheora")
        self.sound_only = media.make(ff, root / "sound.ogg", "-f", "lavfi", "-i", "sine=d=1",
                                     "-c:a", "libvorbis")
        self.no_frames = root / "no-frames.mkv"
        _video_stream_without_frames(self.no_frames)

    def all(self) -> list[Path]:
        return [p for p in self.root.rglob("*") if p.is_file()]


def _video_stream_without_frames(path: Path) -> None:
    """A Matroska file with a declared video stream that holds no packet, and 1 s of sound."""
    import numpy as np

    with av.open(str(path), "w") as c:
        v = c.add_stream("mpeg4", rate=15)
        v.width, v.height, v.pix_fmt = 320, 240, "yuv420p"
        a = c.add_stream("pcm_s16le", rate=48000)
        a.layout = "stereo"
        for i in range(50):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1920), dtype=np.int16), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = 48000, i * 960
            for packet in a.encode(frame):
                c.mux(packet)
        for packet in (*a.encode(None), *v.encode(None)):
            c.mux(packet)


@pytest.fixture(scope="session")
def hm(tmp_path_factory) -> Media:
    return Media(tmp_path_factory.mktemp("hardening-media"))


@pytest.fixture(autouse=True)
def session_media_untouched(request):
    """Whatever a test does, the shared test media are never modified."""
    if "hm" not in request.fixturenames:
        yield
        return
    hm = request.getfixturevalue("hm")
    g = Guard()
    g.add(*hm.all())
    yield
    g.check()


# --- hostile media ----------------------------------------------------------------------------


def hostile_files(folder: Path, hm: Media) -> dict[str, Path]:
    """Text files under a video's name that make ffmpeg open other files (the exfiltration
    trick): HLS playlists and concat scripts, pointing at /etc/passwd and at private files."""
    folder.mkdir(parents=True, exist_ok=True)
    rel_video = os.path.relpath(hm.secret_video, folder)
    # Below the folder, where the concat demuxer's own "safe" check lets a relative name pass.
    (folder / "private").mkdir(exist_ok=True)
    shutil.copy(hm.secret_video, folder / "private" / "secret.ts")
    texts = {
        "hls-passwd.ogv": "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
        "hls-secret.ogv": f"#EXTM3U\n#EXTINF:1.0,\nfile://{hm.secret_video}\n#EXTINF:1.0,\n{hm.secret_text}\n#EXT-X-ENDLIST\n",
        "hls-relative.ogv": f"\ufeff\n#EXTM3U\n#EXTINF:1.0,\n{rel_video}\n#EXT-X-ENDLIST\n",
        "concat-secret.ogv": "ffconcat version 1.0\nfile 'private/secret.ts'\n",
        "sdp-network.ogv": "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                           "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
    }
    made = {}
    for name, text in texts.items():
        made[name] = folder / name
        made[name].write_text(text, encoding="utf-8")
    return made


def assert_nothing_leaked(folder: Path, *texts: str) -> None:
    for text in texts:
        assert SECRET.decode() not in text and "root:x:0:0" not in text
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET not in data and b"root:x:0:0" not in data, path


@pytest.mark.parametrize("command", ["convert", "probe", "build"])
def test_hostile_playlists_and_scripts_are_refused(tmp_path, hm, ffmpeg_bin, cli, guard, command):
    work = tmp_path / "work"
    hostile = hostile_files(work, hm)
    guard.add(*hostile.values(), hm.secret_text, hm.secret_video)
    if command == "build":
        shutil.copy(hm.tiny, work / "tiny.ogv")
        guard.add(work / "tiny.ogv")
        recipe = write_recipe(work, "segments:\n" + "".join(f"  - clip: {n}\n" for n in hostile)
                              + "  - clip: tiny.ogv\n    audio: concat-secret.ogv\n")
        before = listing(tmp_path)
        result = cli("build", recipe, "-q")
        assert result.code == 2, result.err
        for line_no, name in enumerate(hostile, 2):  # every file, at its line
            assert f"cast.yaml:{line_no}:" in result.err and name in result.err
        assert f"cast.yaml:{len(hostile) + 3}:" in result.err  # as a voice-over too
    else:
        before = listing(tmp_path)
        for name, path in hostile.items():
            args = [path, "-o", work / "out.dv"] if command == "convert" else [path]
            result = cli(command, *args)
            assert result.code == 2, (name, result.err)
            assert name in result.err
            assert_nothing_leaked(tmp_path, result.out, result.err)
    no_traceback(result.err)
    if command == "build":  # what each file is, said at its line
        assert "HLS playlist" in result.err and "ffconcat script" in result.err
    assert listing(tmp_path) == before, "nothing written"
    assert_nothing_leaked(tmp_path, result.out, result.err)


def test_messages_say_what_a_hostile_file_is(tmp_path, hm, wheel_ffmpeg, cli):
    hostile = hostile_files(tmp_path, hm)
    said = {name: cli("probe", path).err for name, path in hostile.items()}
    assert "HLS playlist" in said["hls-passwd.ogv"] and "HLS playlist" in said["hls-relative.ogv"]
    assert "ffconcat script" in said["concat-secret.ogv"]
    assert "an SDP session description" in said["sdp-network.ogv"]


def test_the_encoder_itself_refuses_what_a_fooled_probe_let_through(tmp_path, hm, ffmpeg_bin, cli, monkeypatch, guard):
    """Defence in depth: even if the probe were fooled, ffmpeg's own allow-lists in every job
    refuse the playlist. (ffmpeg 5.1 follows an HLS playlist named .ogv when allowed to.)"""
    import castkit.commands.convert
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.media.probe import probe

    real = dataclasses.replace(probe(hm.tiny, find_ffmpeg()), audio=None)  # the secret is silent
    hostile = hostile_files(tmp_path / "work", hm)
    guard.add(*hostile.values())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name in ("hls-secret.ogv", "hls-relative.ogv", "concat-secret.ogv"):
        monkeypatch.setattr(castkit.commands.convert, "check_readable", lambda path: None)
        monkeypatch.setattr(castkit.commands.convert, "probe",
                            lambda path, ff, _i=real: dataclasses.replace(_i, path=Path(path)))
        result = cli("convert", hostile[name], "-o", out_dir / "out.dv")
        assert result.code == 1, (name, result.err)
        assert "ffmpeg failed" in result.err
        no_traceback(result.err)
        assert listing(out_dir) == []
        assert_nothing_leaked(tmp_path, result.out, result.err)


@pytest.mark.parametrize("url", [
    "http://example.com/take.ogv", "https://example.com/take.ogv", "file:///etc/passwd",
    "ftp://example.com/x.ogv", "rtmp://example.com/live",
])
def test_urls_are_refused(tmp_path, wheel_ffmpeg, cli, url):
    recipe = write_recipe(tmp_path, f"""
        output: build/cast.dv
        title_style:
          font: "{url}"
        segments:
          - clip: "{url}"
          - title: Hi
            background: "{url}"
    """)
    result = cli("build", recipe, "--dry-run")
    assert result.code == 2
    assert result.err.count("URL") == 3, result.err
    assert "cast.yaml:3:" in result.err and "cast.yaml:5:" in result.err and "cast.yaml:7:" in result.err
    for args in (["convert", url], ["probe", url], ["build", url], ["convert", tmp_path / "x.ogv", "-o", url]):
        result = cli(*args)
        assert result.code == 2, args
        assert "URL" in result.err and url in result.err
        no_traceback(result.err)
    assert listing(tmp_path) == ["cast.yaml"]


# --- broken media -----------------------------------------------------------------------------


def broken_files(folder: Path, hm: Media) -> dict[str, tuple[Path, str]]:
    """Broken sources and the words castkit's message must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.ogv"
    empty.write_bytes(b"")
    text = folder / "notes.ogv"
    text.write_text("meeting notes, not a video\n" * 40)
    noise = folder / "noise.ogv"
    noise.write_bytes(os.urandom(50_000))
    fifo = folder / "pipe.ogv"
    os.mkfifo(fifo)  # ffmpeg would wait on it forever
    device = folder / "zero.ogv"
    device.symlink_to("/dev/zero")  # endless
    folder_ = folder / "folder.ogv"
    folder_.mkdir()
    return {
        "empty": (empty, "empty"),
        "zero-length capture": (hm.headers_only, "before its first frame"),
        "not a video": (text, "not a media file"),
        "random bytes": (noise, "not a media file"),
        "video stream without frames": (hm.no_frames, "no frames"),
        "mp4 cut short": (hm.cut_mp4, "not a media file"),
        "sound only": (hm.sound_only, "no video stream"),
        "fifo": (fifo, "not a regular file"),
        "device": (device, "not a regular file"),
        "folder": (folder_, "folder"),
        "missing": (folder / "missing.ogv", "no such file"),
    }


def test_broken_media_is_refused_clearly(tmp_path, hm, ffmpeg_bin, cli, guard):
    work = tmp_path / "work"
    broken = broken_files(work, hm)
    guard.add(*(p for p, _ in broken.values() if p.is_file() and not p.is_symlink()))
    out = tmp_path / "out.dv"
    before = listing(tmp_path)
    for what, (path, words) in broken.items():
        result = cli("probe", path)
        if what in ("sound only", "video stream without frames"):  # media, but no picture
            assert result.code == 0 and "video      none" in result.out, (what, result.err)
        for command in ("convert", "probe"):
            args = [path, "-o", out] if command == "convert" else [path]
            result = cli(command, *args)
            if command == "probe" and what in ("sound only", "video stream without frames"):
                continue
            assert result.code == 2, (what, command, result.err)
            lines = result.err.strip().splitlines()
            assert len(lines) == 1, (what, result.err)
            assert path.name in lines[0] and words in lines[0], (what, lines[0])
            no_traceback(result.err)
    recipe = write_recipe(work, "segments:\n" + "".join(f"  - clip: {os.path.relpath(p, work)}\n"
                                                          for p, _ in broken.values()))
    before = listing(tmp_path)
    result = cli("build", recipe, "-o", out)
    assert result.code == 2
    no_traceback(result.err)
    for line_no, (what, (path, words)) in enumerate(broken.items(), 2):  # all at once, each at its line
        line = next(line for line in result.err.splitlines() if f"cast.yaml:{line_no}:" in line)
        assert path.name in line and words in line, (what, line)
    assert listing(tmp_path) == before, "nothing written"


def test_truncated_ogg_capture_keeps_what_is_decodable(tmp_path, hm, ffmpeg_bin, cli, guard):
    """Decision (SECURITY.md): a capture cut short is converted as far as it decodes. Ogg has
    no length header, so a cut Ogg simply is a shorter capture, exact to the frame."""
    guard.add(hm.cut_ogv)
    out = tmp_path / "cut.dv"
    result = cli("convert", hm.cut_ogv, "-o", out)
    assert result.code == 0, result.err
    with av.open(str(hm.cut_ogv)) as c:
        decodable = Fraction(c.duration, 1_000_000)
        assert 1 < decodable < 3  # the half of 4 s that survived
    assert frames_in(out) == round(decodable * 25)
    assert out.stat().st_size == frames_in(out) * PAL_FRAME_BYTES
    assert debris(tmp_path) == []


def test_truncated_matroska_capture_is_kept_with_a_warning(tmp_path, hm, ffmpeg_bin, cli, guard):
    """A cut Matroska file still declares its full length (4 s): castkit converts what decodes,
    as long as that lasts (before 2026-12-07 it held the last frame to the declared end, as if
    the screen had stood still), and warns, naming the file."""
    guard.add(hm.cut_mkv)
    out = tmp_path / "cut.dv"
    result = cli("convert", hm.cut_mkv, "-o", out)
    assert result.code == 0, result.err
    assert "warning" in result.err and "cut-short.mkv" in result.err
    assert "ends before its header says" in result.err and "ended prematurely" in result.err
    no_traceback(result.err)
    decodable = decodable_frames(hm.cut_mkv)
    assert 0 < decodable < 60
    assert frames_in(out) == round(decodable * 25 / 15)  # 15 fps to PAL's 25


def test_clean_captures_get_no_warning(tmp_path, hm, ffmpeg_bin, cli):
    result = cli("convert", hm.tiny, "-o", tmp_path / "tiny.dv")
    assert result.code == 0 and "warning" not in result.err, result.err


# --- interruption -----------------------------------------------------------------------------


def start_and_catch_encoding(args, cwd: Path, partial_glob: str, also_done: str | None = None,
                             ffmpeg: str = WHEEL_FFMPEG):
    """Start ``python -m castkit ARGS`` and return it while ffmpeg is writing a temporary file
    matching ``partial_glob`` (and, if given, once a finished file ``also_done`` exists)."""
    proc = castkit_process(*args, cwd=cwd, env={"CASTKIT_FFMPEG": ffmpeg, "REAL_FFMPEG": WHEEL_FFMPEG})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partials = list(cwd.glob(partial_glob))
        ready = also_done is None or any(cwd.glob(also_done))
        if ready and partials and processes_mentioning(partials[0].name):
            return proc, partials[0]
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"castkit finished before it could be interrupted: {err.decode()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("no temporary output appeared")


def assert_stopped_cleanly(proc: subprocess.Popen, sig: int, partial: Path, folder: Path) -> None:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    err = err.decode("utf-8", "replace")
    assert proc.returncode == 130, err
    assert "stopped" in err
    no_traceback(err)
    time.sleep(0.1)
    assert processes_mentioning(partial.name) == [], "ffmpeg left running"
    assert processes_mentioning(str(folder)) == []
    assert debris(folder) == []
    return err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_convert_leaves_nothing(tmp_path, hm, sig, cli, wheel_ffmpeg, guard):
    src = tmp_path / "long take.ogv"
    shutil.copy(hm.long, src)
    guard.add(src)
    proc, partial = start_and_catch_encoding(["convert", src.name, "-o", "out.dv"], tmp_path, ".out.dv.*.partial")
    assert_stopped_cleanly(proc, sig, partial, tmp_path)
    assert listing(tmp_path) == ["long take.ogv"], "no output, no temporary file"
    # The next run completes, and its output is whole.
    result = cli("convert", src, "-o", tmp_path / "out.dv", "-q")
    assert result.code == 0, result.err
    assert frames_in(tmp_path / "out.dv") == 500
    assert listing(tmp_path) == ["long take.ogv", "out.dv"]


class CountingRunner(FfmpegRunner):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.ran: list[str] = []  # the names of the files the jobs wrote

    def run(self, plan):
        self.ran += [job.output.name for job in plan.jobs]
        super().run(plan)


@pytest.mark.parametrize("sig,jobs", [(signal.SIGINT, "1"), (signal.SIGTERM, "2")], ids=["SIGINT-j1", "SIGTERM-j2"])
@pytest.mark.parametrize("suffix", ["avi", "dv"])
def test_interrupted_build_leaves_nothing_and_keeps_finished_segments(
        tmp_path, hm, sig, jobs, suffix, wheel_ffmpeg, guard, monkeypatch):
    # A .dv cast is assembled while its segments are encoded (its temporary file exists from
    # the start); an .avi one is joined at the end: neither may be left behind.
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "0")  # three segments, three encodes (not chunks)
    shutil.copy(hm.long, tmp_path / "long.ogv")
    shutil.copy(hm.mid, tmp_path / "mid.ogv")
    guard.add(tmp_path / "long.ogv", tmp_path / "mid.ogv")
    recipe = write_recipe(tmp_path, """
        output: build/cast.SUFFIX
        loudness: off  # the segment files counted are the raw ones
        segments:
          - title: Before the takes
            duration: 1
          - clip: long.ogv
          - clip: mid.ogv
    """.replace("SUFFIX", suffix))
    guard.add(recipe)
    # Caught while a segment is being encoded and another is finished, in whatever order
    # castkit schedules them. The long take's encodes start 3 s late, so that this moment is
    # seconds long, not the tens of milliseconds a fast encode leaves on a busy machine.
    slow = tmp_path / "fakebin" / "ffmpeg"
    slow.parent.mkdir()
    slow.write_text('#!/bin/sh\ncase " $* " in *long.ogv*-filter_complex*) sleep 3;; esac\n'
                    'exec "$REAL_FFMPEG" "$@"\n')
    slow.chmod(0o755)
    proc, partial = start_and_catch_encoding(
        ["build", recipe.name, "-j", jobs], tmp_path, ".castkit-cache/.segment-*.partial",
        also_done=".castkit-cache/segment-*.dv", ffmpeg=str(slow),
    )
    finished = {p.name for p in (tmp_path / ".castkit-cache").glob("segment-*.dv")}
    err = assert_stopped_cleanly(proc, sig, partial, tmp_path)
    assert not (tmp_path / "build" / f"cast.{suffix}").exists()
    cached = {p.name for p in (tmp_path / ".castkit-cache").glob("segment-*.dv")}
    assert finished <= cached and len(cached) < 3, (partial.name, finished, err)
    # The next run, the same command, encodes only what was not finished; the cast is whole.
    monkeypatch.chdir(tmp_path)
    again = CountingRunner()
    build(Path(recipe.name), runner=again)
    encoded = {name for name in again.ran if name.startswith("segment-")}
    assert encoded and not encoded & cached, "finished segments are reused"
    assert len(encoded) == 3 - len(cached) and again.ran[-1] == f"cast.{suffix}"
    assert frames_in(tmp_path / "build" / f"cast.{suffix}") == 25 + 500 + 200
    assert debris(tmp_path) == []


# --- awkward paths ----------------------------------------------------------------------------

AWKWARD = [
    "take 1.ogv",
    "it's \"quoted\".ogv",
    "ünïcødé ✓ 日本.ogv",
    "-starts with a dash.ogv",
    "$(touch PWNED) `touch PWNED2`.ogv",
    "semi;colon & pipe | star*.ogv",
    "back\\slash 100%d.ogv",
    "a:b.ogv",
]
AWKWARD_FOLDER = "we're \"here\" $(touch PWNED3) ü -x"


def assert_no_shell_ran(*folders: Path) -> None:
    for folder in folders:
        assert not list(folder.rglob("PWNED*")), "a file name was run as shell code"


def test_awkward_names_on_the_command_line(tmp_path, hm, wheel_ffmpeg, cli, monkeypatch, guard):
    monkeypatch.chdir(tmp_path)
    for name in AWKWARD:
        shutil.copy(hm.tiny, tmp_path / name)
        guard.add(tmp_path / name)
    # Relative names, a leading dash after "--", default output beside the input.
    for name in AWKWARD[:5]:
        result = cli("convert", "-q", "--", name)
        assert result.code == 0, (name, result.err)
        assert frames_in(tmp_path / (name[:-4] + ".dv")) == 25
    # Awkward output names, given with = so a dash cannot be an option.
    result = cli("convert", "-q", tmp_path / AWKWARD[5], "--output=-out 'x' $(touch PWNED).avi")
    assert result.code == 0, result.err
    assert frames_in(tmp_path / "-out 'x' $(touch PWNED).avi") == 25
    result = cli("probe", "--", *AWKWARD)
    assert result.code == 0, result.err
    assert all(name in result.out for name in AWKWARD)
    assert_no_shell_ran(tmp_path, Path.cwd())
    assert debris(tmp_path) == []


@pytest.mark.parametrize("suffix", [".avi", ".dv"])
def test_awkward_names_in_recipes_and_the_join_list(tmp_path, hm, wheel_ffmpeg, cli, guard, suffix):
    """In a folder with an awkward name, awkward clip names: the join (an ffconcat list for
    .avi) must quote every one of them; no name is ever run as shell code."""
    folder = tmp_path / AWKWARD_FOLDER
    folder.mkdir()
    for name in AWKWARD:
        shutil.copy(hm.tiny, folder / name)
        guard.add(folder / name)
    out_name = f"it's the \"cast\" $(touch PWNED4) ü{suffix}"
    segments = "".join(f"  - clip: {yaml.safe_dump(name).splitlines()[0]}\n" for name in AWKWARD)
    recipe = write_recipe(folder, f"output: {yaml.safe_dump(out_name).splitlines()[0]}\n"
                                  f"segments:\n  - title: \"It's $(touch PWNED5)\"\n    duration: 0.4\n{segments}")
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    assert frames_in(folder / out_name) == 10 + 25 * len(AWKWARD)
    assert_no_shell_ran(tmp_path)
    assert debris(tmp_path) == []


def test_dry_run_commands_are_copy_pastable_with_awkward_names(tmp_path, hm, wheel_ffmpeg, cli, guard):
    """What --dry-run prints, run by bash as printed, builds the same cast and runs no name."""
    folder = tmp_path / AWKWARD_FOLDER
    folder.mkdir()
    for name in AWKWARD[:4]:
        shutil.copy(hm.tiny, folder / name)
        guard.add(folder / name)
    segments = "".join(f"  - clip: {yaml.safe_dump(n).splitlines()[0]}\n" for n in AWKWARD[:4])
    recipe = write_recipe(folder, "output: \"out 'x' $(touch PWNED).avi\"\n"
                                  f"segments:\n  - title: \"It's $(touch PWNED5)\"\n    duration: 0.4\n{segments}")
    result = cli("build", recipe, "--dry-run")
    assert result.code == 0, result.err
    script = tmp_path / "dry-run.sh"
    script.write_text(result.out)
    # The printed commands write into the cache and output folders; they must exist.
    (folder / ".castkit-cache").mkdir()
    env = {**os.environ, "PATH": f"{Path(PY).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", str(script)], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert frames_in(folder / "out 'x' $(touch PWNED).avi") == 10 + 25 * 4
    assert_no_shell_ran(tmp_path)


def test_line_breaks_in_names_are_refused(tmp_path, hm, wheel_ffmpeg, cli, guard):
    bad = tmp_path / "two\nlines.ogv"
    shutil.copy(hm.tiny, bad)
    guard.add(bad)
    for args in (["convert", bad, "-o", tmp_path / "ok.dv"], ["convert", hm.tiny, "-o", tmp_path / "a\nb.dv"],
                 ["probe", bad], ["build", tmp_path / "a\nb.yaml"]):
        result = cli(*args)
        assert result.code == 2, args
        assert "line break" in result.err
        no_traceback(result.err)
    recipe = write_recipe(tmp_path, """
        output: "a\\nb.dv"
        segments:
          - clip: "two\\nlines.ogv"
    """)
    result = cli("build", recipe)
    assert result.code == 2
    assert "cast.yaml:1:" in result.err and "cast.yaml:3:" in result.err and "line break" in result.err
    assert sorted(listing(tmp_path)) == sorted(["cast.yaml", "two\nlines.ogv"])


def test_line_break_in_the_cache_folder_is_refused(tmp_path, hm, wheel_ffmpeg, cli, monkeypatch):
    shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, "output: out.avi\nsegments:\n  - clip: tiny.ogv\n")
    monkeypatch.setenv("CASTKIT_CACHE_DIR", str(tmp_path / "cache\nfolder"))
    result = cli("build", recipe, "--dry-run")
    assert result.code == 2 and "line break" in result.err, result.err


# --- sources are never modified ---------------------------------------------------------------


def test_no_command_ever_writes_to_a_source(tmp_path, hm, wheel_ffmpeg, cli, guard):
    """Outputs that are sources under another name (a hard link, a symlink, ../) are refused
    even with --force, for every command; sources keep their bytes, time and mode."""
    src = tmp_path / "capture.ogv"
    shutil.copy(hm.tiny, src)
    bg = tmp_path / "background.png"
    assert cli("title", "bg", "-o", bg, "-q").code == 0
    recipe = write_recipe(tmp_path, "output: build/cast.dv\nsegments:\n  - clip: capture.ogv\n"
                                    "  - title: T\n    duration: 0.2\n    background: background.png\n")
    os.link(src, tmp_path / "hard.dv")
    (tmp_path / "soft.dv").symlink_to(src)
    os.link(bg, tmp_path / "bg-hard.png")
    guard.add(src, bg, recipe, tmp_path / "hard.dv", tmp_path / "bg-hard.png")
    for args in (
        ["convert", src, "-o", tmp_path / "hard.dv", "--force"],
        ["convert", src, "-o", tmp_path / "soft.dv", "--force"],
        ["convert", tmp_path / "hard.dv", "-o", tmp_path / "sub" / ".." / "hard.dv", "--force"],
        ["build", recipe, "-o", tmp_path / "hard.dv", "--force"],
        ["title", "x", "--background", bg, "-o", tmp_path / "bg-hard.png", "--force"],
    ):
        result = cli(*args)
        assert result.code == 2, args
        assert "source" in result.err or "input" in result.err
    assert cli("build", recipe, "-q").code == 0
    assert cli("probe", src, "--json").code == 0


def test_a_rebuild_never_changes_another_name_of_the_previous_cast(tmp_path, wheel_ffmpeg, cli):
    """A user keeps version 1 of a cast as a hard link before rebuilding with --force: the
    rebuild must not write into that shared file (it may patch only a file that is the cast's
    alone)."""
    recipe = write_recipe(tmp_path, "output: cast.dv\nsegments:\n  - title: One\n    duration: 0.2\n"
                                    "  - title: Two\n    duration: 0.2\n")
    assert cli("build", recipe, "-q").code == 0
    os.link(tmp_path / "cast.dv", tmp_path / "cast-v1.dv")
    kept = sha256(tmp_path / "cast-v1.dv")
    recipe.write_text(recipe.read_text().replace("Two", "Deux"))
    assert cli("build", recipe, "-q", "--force").code == 0
    assert sha256(tmp_path / "cast.dv") != kept
    assert sha256(tmp_path / "cast-v1.dv") == kept, "the kept version was overwritten"


# --- failures of the machine ------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    """A real tiny filesystem, mounted for the test when the machine allows it (root with
    CAP_SYS_ADMIN); otherwise the test is skipped (its fault-injection twin still runs)."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True) if shutil.which("mount") else None
    if done is None or done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_read_only_output_folder_real(tmp_path, hm, wheel_ffmpeg, cli, guard):
    guard.add(hm.tiny)
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        for args in (["convert", hm.tiny, "-o", ro / "out.dv"], ["title", "T", "-o", ro / "t.png"],
                     ["title", "T", "--duration", "0.2", "-o", ro / "sub" / "t.dv"]):
            result = cli(*args)
            assert result.code == 1, (args, result.err)
            assert str(ro) in result.err and "Read-only" in result.err
            no_traceback(result.err)
        assert listing(ro) == []


def test_output_folder_that_cannot_be_made(tmp_path, hm, wheel_ffmpeg, cli, guard):
    """A file stands where the output folder should be (fault injection that works as root)."""
    blocker = tmp_path / "build"
    blocker.write_text("a file, not a folder")
    guard.add(blocker)
    recipe = write_recipe(tmp_path, "output: build/cast.dv\nsegments:\n  - title: T\n    duration: 0.2\n")
    for args in (["convert", hm.tiny, "-o", blocker / "out.dv"], ["title", "T", "-o", blocker / "t.png"],
                 ["title", "T", "--duration", "0.2", "-o", blocker / "t.dv"], ["build", recipe, "-q"]):
        result = cli(*args)
        assert result.code == 1, (args, result.err)
        assert "build" in result.err and "cannot" in result.err
        no_traceback(result.err)
    assert debris(tmp_path) == []


def test_full_disk_real(tmp_path, hm, wheel_ffmpeg, cli, monkeypatch, guard):
    guard.add(hm.tiny)
    with tmpfs(tmp_path / "full", "size=1m") as full:
        result = cli("convert", hm.tiny, "-o", full / "out.dv")  # 25 DV frames: 3.6 MB
        assert result.code == 1
        assert "No space left on device" in result.err and "ffmpeg failed" in result.err
        no_traceback(result.err)
        assert listing(full) == []
        with open(full / "filler", "wb", buffering=0) as f:  # fill it to the last byte
            with contextlib.suppress(OSError):
                while f.write(b"\0" * 65536):
                    pass
        result = cli("title", "T", "-o", full / "t.png")
        assert result.code == 1 and "t.png" in result.err and "No space left" in result.err
        no_traceback(result.err)
        # The segment cache on the full disk: the card cannot be drawn.
        shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
        recipe = write_recipe(tmp_path, "output: out.dv\nsegments:\n  - title: T\n    duration: 0.2\n  - clip: tiny.ogv\n")
        monkeypatch.setenv("CASTKIT_CACHE_DIR", str(full / "cache"))
        result = cli("build", recipe, "-q")
        assert result.code == 1 and "No space left" in result.err
        no_traceback(result.err)
        assert listing(full) == ["cache", "filler"]
    assert debris(tmp_path) == [] and not (tmp_path / "out.dv").exists()


def test_full_disk_injected(tmp_path, hm, cli, monkeypatch, guard):
    """The same promise where no tmpfs can be mounted: an ffmpeg that runs out of space, a
    Pillow that cannot write the card."""
    guard.add(hm.tiny)
    fake_ffmpeg(tmp_path, monkeypatch,
                'echo "[out#0/dv @ 0x1] Error writing trailer: No space left on device" >&2; exit 228')
    out = tmp_path / "out" / "cast.dv"
    out.parent.mkdir()
    out.write_bytes(b"the previous cast")
    result = cli("convert", hm.tiny, "-o", out, "--force")
    assert result.code == 1 and "No space left on device" in result.err
    no_traceback(result.err)
    assert out.read_bytes() == b"the previous cast", "a failed --force run keeps the old output"
    assert listing(out.parent) == ["cast.dv"]

    from PIL import Image

    def no_space(self, fp, *a, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Image.Image, "save", no_space)
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    result = cli("title", "T", "-o", tmp_path / "out" / "t.png")
    assert result.code == 1 and "No space left" in result.err and "t.png" in result.err
    no_traceback(result.err)
    shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, "output: out/cast.avi\nsegments:\n  - title: T\n    duration: 0.2\n")
    result = cli("build", recipe, "-q")
    assert result.code == 1 and "No space left" in result.err
    no_traceback(result.err)
    assert debris(tmp_path) == []


def test_ffmpeg_killed_mid_run(tmp_path, hm, cli, monkeypatch, guard):
    guard.add(hm.tiny)
    fake_ffmpeg(tmp_path, monkeypatch, "kill -KILL $$")
    out = tmp_path / "out" / "cast.dv"
    out.parent.mkdir()
    out.write_bytes(b"the previous cast")
    result = cli("convert", hm.tiny, "-o", out, "--force")
    assert result.code == 1, result.err
    assert "killed" in result.err and "SIGKILL" in result.err and "tiny.ogv" in result.err
    no_traceback(result.err)
    assert out.read_bytes() == b"the previous cast"
    assert listing(out.parent) == ["cast.dv"]
    shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, "output: out/new.avi\nsegments:\n  - clip: tiny.ogv\n  - clip: tiny.ogv\n    start: 0.5\n")
    result = cli("build", recipe, "-q", "-j", "2")
    assert result.code == 1 and "SIGKILL" in result.err
    no_traceback(result.err)
    assert listing(out.parent) == ["cast.dv"]
    assert debris(tmp_path) == []


def test_rename_failing_at_the_end(tmp_path, hm, wheel_ffmpeg, cli, monkeypatch, guard):
    """The last step (the atomic rename) fails: exit 1, the temporary file removed."""
    import castkit.run.runner

    guard.add(hm.tiny)

    def broken_replace(src, dst):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))

    monkeypatch.setattr(castkit.run.runner.os, "replace", broken_replace)
    result = cli("convert", hm.tiny, "-o", tmp_path / "out.dv")
    monkeypatch.undo()
    assert result.code == 1 and "out.dv" in result.err and "Input/output error" in result.err
    no_traceback(result.err)
    assert listing(tmp_path) == []


# --- recipes from strangers -------------------------------------------------------------------


def _bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\nsegments:\n  - title: *a9\n"


def _merge_bomb() -> str:
    lines = ["segments:", "  - &m0 {title: x}"]
    for i in range(1, 12):
        lines.append(f"  - &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 8) + "]}")
    return "\n".join(lines) + "\n"


STRANGE_RECIPES = {
    "alias bomb": (_bomb(), "expands to more than"),
    "merge-key bomb": (_merge_bomb(), "expands to more than"),
    "huge file": ("segments:\n  - title: x\n" + "# padding\n" * 120_000, "larger than"),
    "10000 nested lists": ("segments: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested too deeply"),
    "10000 nested maps": ("segments: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", "nested too deeply"),
    "10000 nested block lists": ("segments:\n  " + "- " * 10_000 + "x\n", "nested too deeply"),
    "20000 segments": ("segments:\n" + "  - title: x\n" * 20_000, "more than 10000 segments"),
    "absurd durations": ("segments:\n  - title: x\n    duration: 1e9\n  - title: y\n    duration: 1000000000\n"
                         "  - title: z\n    duration: 99999999999:00:00\n  - title: w\n    duration: .inf\n",
                         "longer than a day"),
    "absurd trims": ("segments:\n  - clip: tiny.ogv\n    start: 1000000000\n  - clip: tiny.ogv\n    end: 1e999\n",
                     "longer than a day"),
    "not UTF-8": ("segments:\n  - title: \udcff\n", "not UTF-8"),
    "a lone scalar": ("12", "mapping"),
}


@pytest.mark.parametrize("case", STRANGE_RECIPES, ids=list(STRANGE_RECIPES))
def test_recipes_from_strangers_fail_fast_and_clearly(tmp_path, hm, wheel_ffmpeg, cli, case):
    text, words = STRANGE_RECIPES[case]
    shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
    recipe = tmp_path / "stranger.yaml"
    recipe.write_bytes(text.encode("utf-8", "surrogateescape"))
    started = time.monotonic()
    result = cli("build", recipe, "--dry-run")
    elapsed = time.monotonic() - started
    assert result.code == 2, result.err[-500:]
    assert "stranger.yaml:" in result.err and words in result.err, result.err[-500:]
    no_traceback(result.err)
    assert len(result.err) < 5000, "a short message, not a dump"
    assert elapsed < 15, f"{case}: {elapsed:.1f} s"
    assert listing(tmp_path) == ["stranger.yaml", "tiny.ogv"]


@pytest.mark.parametrize("what", ["sparse 4 GiB file", "/dev/zero"])
def test_huge_recipes_are_refused_in_bounded_memory(tmp_path, what):
    if what == "/dev/zero":
        recipe = "/dev/zero"
    else:
        recipe = tmp_path / "huge.yaml"
        with open(recipe, "wb") as f:
            f.truncate(4 << 30)

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([PY, "-m", "castkit", "build", str(recipe), "--dry-run"], cwd=tmp_path,
                          capture_output=True, timeout=60, preexec_fn=limit_memory,
                          env={**os.environ, "CASTKIT_FFMPEG": WHEEL_FFMPEG})
    err = done.stderr.decode()
    assert done.returncode == 2, err[-500:]
    assert "larger than" in err or "regular file" in err
    no_traceback(err)


def test_title_shorter_than_a_frame_is_a_recipe_error(tmp_path, wheel_ffmpeg, cli):
    recipe = write_recipe(tmp_path, "segments:\n  - title: blink\n    duration: 0.001\n")
    result = cli("build", recipe, "--dry-run")
    assert result.code == 2 and "cast.yaml:2:" in result.err and "frame" in result.err, result.err


def test_unknown_user_folder_in_a_recipe_is_a_recipe_error(tmp_path, wheel_ffmpeg, cli):
    recipe = write_recipe(tmp_path, "output: ~nosuchuser0/cast.dv\nsegments:\n  - clip: ~0/x.ogv\n")
    result = cli("build", recipe, "--dry-run")
    assert result.code == 2 and "cast.yaml:1:" in result.err and "cast.yaml:3:" in result.err, result.err


def test_thousands_of_segments_are_checked_quickly_without_encoding(tmp_path, hm, wheel_ffmpeg, cli, guard):
    shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
    guard.add(tmp_path / "tiny.ogv")
    parts = []
    for i in range(1000):
        parts.append(f"  - title: Part {i}\n    duration: 0.5\n")
        parts.append(f"  - clip: tiny.ogv\n    start: {i % 5 / 10}\n    duration: 0.4\n")
    recipe = write_recipe(tmp_path, "output: cast.avi\nsegments:\n" + "".join(parts))
    started = time.monotonic()
    result = cli("build", recipe, "--dry-run")
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err[-500:]
    # 1000 different titles and 5 different trims of the clip: each distinct segment is
    # encoded once, and the join names all 2000 in order.
    assert result.out.count("# segment ") == 1005
    assert result.out.count("\nfile 'file:") == 2000
    assert elapsed < 60, f"{elapsed:.1f} s"
    assert listing(tmp_path) == ["cast.yaml", "tiny.ogv"], "a dry run writes nothing"


# --- fuzzing ----------------------------------------------------------------------------------

KEYS = ["version", "target", "aspect", "output", "title_style", "segments", "title", "subtitle",
        "duration", "background", "color", "font", "clip", "start", "end", "<<", "x"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["tiny.ogv", "missing.ogv", "../tiny.ogv", "/etc/passwd", "http://x/y.ogv",
                     "out.dv", "out.avi", "out.mp4", "pal-dv", "ntsc-dv", "16:9", "4:3", "1:20.5",
                     "0:00:00.5", "#ffffff", "navy", "nope", "", "\n", "-", "$(touch PWNED)",
                     0.001, 0.02, "0.019", "0:00.01", 86400, "86400.001", "1e9", 10**9, 0, -0.0,
                     "W" * 300, "word " * 200, "\n".join(["line"] * 60), "\u200b\u0301\u202e", "🎬" * 40]),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=25,
)
recipes = st.fixed_dictionaries(
    {},
    optional={
        "target": scalars, "aspect": scalars, "output": scalars, "title_style": structures,
        "segments": st.lists(st.one_of(
            st.fixed_dictionaries({"title": scalars}, optional={k: scalars for k in ("subtitle", "duration", "background", "color", "font")}),
            st.fixed_dictionaries({"clip": scalars}, optional={k: scalars for k in ("start", "end", "duration")}),
            structures,
        ), max_size=4),
        "version": scalars,
    },
)
VALID = textwrap.dedent("""
    target: pal-dv
    aspect: "4:3"
    output: build/out.avi
    title_style: &style
      background: "#1b2838"
      color: white
    segments:
      - title: "Hello"
        subtitle: "there"
        duration: 0.5
        <<: *style
      - clip: tiny.ogv
        start: 0.2
        end: "0:00.8"
      - clip: tiny.ogv
        duration: 0.3
""").lstrip()
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_N", 150)), deadline=None, derandomize=not os.environ.get("FUZZ_N"), database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def fuzz_env(tmp_path, hm, wheel_ffmpeg, monkeypatch):
    """A folder with a real capture; probing memoized and the runner replaced, so that fuzzing
    checks castkit's handling of its inputs, not ffmpeg's speed. Nothing is encoded."""
    import castkit.plan.check
    import castkit.commands.convert
    import castkit.media.probe
    import castkit.run.runner

    shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
    memo = {}
    real_probe = castkit.media.probe.probe

    def probe(path, ffmpeg, need_video=True):
        key = (str(path), need_video)
        if key not in memo:
            try:
                memo[key] = real_probe(path, ffmpeg, need_video)
            except Exception as exc:  # noqa: BLE001 - replayed below, exactly as raised
                memo[key] = exc
        if isinstance(memo[key], Exception):
            raise memo[key]
        return memo[key]

    for module in (castkit.plan.check, castkit.commands.convert, castkit.media.probe):
        monkeypatch.setattr(module, "probe", probe)

    class NoRunner:
        def __init__(self, *a, **kw):
            pass

        def run(self, plan):
            for job in plan.jobs:  # what a real run would need: every job can say its command
                job.shell()

    monkeypatch.setattr(castkit.run.runner, "FfmpegRunner", NoRunner)  # the CLI imports it when a command runs
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_main(capsys, args) -> tuple[int, str]:
    from castkit.cli import main

    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, err


def assert_clean_exit(code, err) -> None:
    assert code in (0, 1, 2), (code, err)
    no_traceback(err)
    if code:
        assert err.startswith(("castkit: error:", "castkit ", "usage:")), err


@FUZZ
@given(recipe=recipes)
def test_fuzz_recipe_structures(fuzz_env, capsys, recipe):
    path = fuzz_env / "fuzz.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    assert_clean_exit(*run_main(capsys, ["build", path, "--dry-run", "-q"]))


@FUZZ
@given(data=st.data())
def test_fuzz_recipe_text_mutations(fuzz_env, capsys, data):
    text = bytearray(VALID.encode())
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "swap"]))
        at = data.draw(st.integers(0, max(0, len(text) - 1)))
        if op == "insert":
            text[at:at] = data.draw(st.sampled_from([b":", b"-", b"[", b"{", b"&a", b"*a", b"!!python/object:os.system",
                                                     b"\n", b"  ", b"'", b'"', b"\xff", b"\x00", b"<<: *style\n", b"#"]))
        elif op == "delete" and text:
            del text[at:at + data.draw(st.integers(1, 20))]
        elif op == "replace" and text:
            text[at] = data.draw(st.integers(0, 255))
        elif op == "duplicate":
            lines = bytes(text).splitlines(keepends=True)
            if lines:
                i = data.draw(st.integers(0, len(lines) - 1))
                text = bytearray(b"".join(lines[:i + 1] + lines[i:]))
        else:
            lines = bytes(text).splitlines(keepends=True)
            if len(lines) > 1:
                i = data.draw(st.integers(0, len(lines) - 2))
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
                text = bytearray(b"".join(lines))
    path = fuzz_env / "fuzz.yaml"
    path.write_bytes(bytes(text))
    assert_clean_exit(*run_main(capsys, ["build", path, "--dry-run", "-q"]))
    assert not (fuzz_env / "build").exists()


WORDS = ["convert", "title", "build", "probe", "cache", "clean", "-o", "--output", "--standard",
         "--aspect", "--force", "-q", "--dry-run", "--no-cache", "-j", "--json", "--subtitle",
         "--duration", "--background", "--color", "--font", "--help", "--version", "--", "-",
         "pal", "ntsc", "secam", "4:3", "16:9", "0", "-1", "1e9", "99999", "0.001", "2", "abc",
         "tiny.ogv", "missing.ogv", "recipe.yaml", "out.dv", "out.avi", "out.png", "out.mp4",
         "tiny.ogv", ".", "/", "/dev/null", "http://x/y.ogv", "", "a\nb.dv", "ü ✓.dv",
         "-weird.dv", "#zzzzzz", "navy", "tiny.ogv"]


@FUZZ
@given(args=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=8))
def test_fuzz_command_lines(fuzz_env, capsys, args):
    (fuzz_env / "recipe.yaml").write_text(VALID)
    code, err = run_main(capsys, args)
    assert_clean_exit(code, err)
    assert (fuzz_env / "tiny.ogv").exists()


# --- CVE-2025-50817: the `future` package and a test.py in the current folder ----------------

HOSTILE_MODULES = {
    "test.py": "",  # what future's Py2 aliasing code imports (CVE-2025-50817)
    "ffmpeg.py": "", "yaml.py": "", "argparse.py": "",
    "past/__init__.py": "", "future/__init__.py": "", "PIL/__init__.py": "",
}


def plant_hostile_modules(folder: Path) -> Path:
    marker = folder / "EXECUTED"
    for name in HOSTILE_MODULES:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\n")
    return marker


def test_cve_2025_50817_no_code_from_the_current_folder(tmp_path, hm):
    """Finding: importing castkit and ffmpeg-python (and so `future`'s past.builtins) does not
    import `test` on Python 3; only future.moves.test does. Still, castkit runs in folders of
    media from strangers: `python -m castkit` (which puts the current folder on sys.path) must
    import nothing from there, and ffmpeg-python is imported with the current folder removed."""
    marker = plant_hostile_modules(tmp_path)
    shutil.copy(hm.tiny, tmp_path / "tiny.ogv")
    write_recipe(tmp_path, "segments:\n  - title: Hi\n    duration: 1\n  - clip: tiny.ogv\n", "r.yaml")
    env = {**os.environ, "CASTKIT_FFMPEG": WHEEL_FFMPEG}
    for args in (["build", "r.yaml", "--dry-run"], ["convert", "tiny.ogv", "-o", "out.dv", "-q"],
                 ["title", "Hi", "-o", "t.png"], ["probe", "tiny.ogv"]):
        done = subprocess.run([PY, "-m", "castkit", *args], cwd=tmp_path, env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        assert not marker.exists(), f"castkit {args[0]} ran {marker.read_text()}"
    # Imported as a library from a hostile folder: ffmpeg-python comes from site-packages and
    # `test` is never imported at all.
    code = ("import sys, castkit.media.ffmpeg as f; ff = f.ffmpeg_module(); "
            "import past.builtins, future.utils; "
            "print('test' in sys.modules, ff.__file__)")
    done = subprocess.run([PY, "-c", code], cwd=tmp_path, env=env, capture_output=True, timeout=60, text=True)
    assert done.returncode == 0, done.stderr
    imported_test, where = done.stdout.split()
    assert imported_test == "False" and "site-packages" in where
    assert not marker.exists(), marker.read_text()
