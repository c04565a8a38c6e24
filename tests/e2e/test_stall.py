"""An ffmpeg that hangs (``run.stall``): stopped once neither its progress nor its CPU time
moves, its job run again once; a second hang fails the build (exit 1) and leaves nothing
behind. An ffmpeg that is busy without progress, or progresses without CPU, is left alone.

The hangs themselves are ffmpeg 9.0's (a race among its threads, 4 in 146 runs of a webcam
segment here); these tests play them with a stand-in that reports once and then sleeps."""

from __future__ import annotations

import subprocess
import sys
import time

import av
import pytest

import media
from castkit.run import stall
from castkit.run.stall import Watchdog, cpu_seconds
from helpers import WHEEL_FFMPEG, ffmpeg_script, listing

pytestmark = pytest.mark.e2e

QUERIES = 'case " $* " in *" -version "*|*" -v trace "*|*" framecrc "*) exec "$REAL_FFMPEG" "$@";; esac\n'
# A job's ffmpeg that reports one frame and then sleeps: no progress, no CPU (as a deadlock).
HANG = "printf 'frame=0\\nprogress=continue\\n'; exec sleep 60\n"


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(stall, "STALL_SECONDS", 1.0)


@pytest.fixture
def take(tmp_path):
    clip = media.h264(WHEEL_FFMPEG, tmp_path / "take.mp4", "160x120", 15, 2.0)
    (tmp_path / "cast.yaml").write_text("loudness: off\noutputs: [cast.mp4]\nsegments:\n  - clip: take.mp4\n")
    return clip


def frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_a_hung_ffmpeg_is_stopped_and_its_job_run_again(quick, take, tmp_path, monkeypatch, cli):
    ffmpeg_script(tmp_path, monkeypatch, QUERIES + (
        f'if [ ! -e "{tmp_path}/hung" ]; then : > "{tmp_path}/hung"; {HANG}fi\n'
        'exec "$REAL_FFMPEG" "$@"\n'))
    started = time.monotonic()
    result = cli("build", tmp_path / "cast.yaml", "--no-cache", "-q")
    assert result.code == 0, result.err
    assert time.monotonic() - started < 30
    assert "ffmpeg hung while" in result.err and "running it again" in result.err
    assert frames(tmp_path / "cast.mp4") == 60  # 2 s at the web master's 30 fps


def test_an_ffmpeg_that_hangs_twice_fails_the_build_and_leaves_nothing(quick, take, tmp_path, monkeypatch, cli):
    ffmpeg_script(tmp_path, monkeypatch, QUERIES + f'echo run >> "{tmp_path}/runs"\n' + HANG)
    result = cli("build", tmp_path / "cast.yaml", "--no-cache")
    assert result.code == 1
    assert "ffmpeg hung while" in result.err and "no progress and no CPU used for 1 s" in result.err
    assert "Traceback" not in result.err
    assert (tmp_path / "runs").read_text().count("run") == 2  # once, and once again
    assert listing(tmp_path) == ["cast.yaml", "fakebin", "fakebin/ffmpeg", "runs", "take.mp4"]


def test_a_busy_ffmpeg_without_progress_is_left_alone(quick, take, tmp_path, monkeypatch, cli):
    """A deep trim decoded from the start shows no frame for as long as it decodes."""
    ffmpeg_script(tmp_path, monkeypatch, QUERIES + (
        f'exec "{sys.executable}" -c "import os, sys, time\n'
        't = time.monotonic()\n'
        'while time.monotonic() - t < 3: pass\n'
        'os.execv(os.environ[\'REAL_FFMPEG\'], [\'ffmpeg\'] + sys.argv[1:])" "$@"\n'))
    result = cli("build", tmp_path / "cast.yaml", "--no-cache", "-q")
    assert result.code == 0 and "hung" not in result.err, result.err  # and so not run again
    assert frames(tmp_path / "cast.mp4") == 60


def test_a_slow_ffmpeg_that_progresses_is_left_alone(quick):
    """Waiting on a slow disk: hardly any CPU, but its frame count moves."""
    proc = subprocess.Popen(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo frame=$i; sleep 0.3; done"],
                            stdout=subprocess.PIPE, text=True)
    watchdog = Watchdog(proc)
    watchdog.start()
    for line in proc.stdout:
        watchdog.saw(line.strip())
    proc.wait()
    watchdog.stop()
    watchdog.join(5)
    assert proc.returncode == 0 and not watchdog.stalled


def test_the_watchdog_stops_a_process_that_does_nothing():
    proc = subprocess.Popen(["sleep", "30"])
    watchdog = Watchdog(proc, stall=0.5)
    started = time.monotonic()
    watchdog.start()
    proc.wait(10)
    assert watchdog.stalled and proc.returncode < 0
    assert time.monotonic() - started < 3


def test_cpu_time_is_read_from_the_system():
    before = cpu_seconds(subprocess.os.getpid())
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    after = cpu_seconds(subprocess.os.getpid())
    assert before is not None and 0.2 <= after - before <= 1.0


def test_a_dv_jobs_fed_ffmpeg_that_hangs_fails_the_build_in_time(quick, take, tmp_path, monkeypatch, cli):
    """A raw DV job's own ffmpeg, fed the pictures the first one encoded: waiting for them is no
    hang, but an idle one after the first has ended is."""
    ffmpeg_script(tmp_path, monkeypatch, QUERIES + f'echo run >> "{tmp_path}/runs"\n' + HANG,
                  fake_pictures=True)
    (tmp_path / "cast.yaml").write_text("loudness: off\noutputs: [cast.dv]\nsegments:\n  - clip: take.mp4\n")
    started = time.monotonic()
    result = cli("build", tmp_path / "cast.yaml", "--no-cache")
    assert result.code == 1 and "ffmpeg hung while" in result.err, result.err
    assert time.monotonic() - started < 30
    assert listing(tmp_path) == ["cast.yaml", "fakebin", "fakebin/ffmpeg", "runs", "take.mp4"]


def test_a_farm_workers_hung_ffmpeg_raises_for_dask_to_run_it_again(quick, tmp_path):
    """On a worker (``run.farm.remote_encode``, called here as Dask calls it): a hang raises,
    which Dask retries as any task that raised, and the temporary file goes."""
    from castkit.errors import FfmpegStalled
    from castkit.run.farm import remote_encode

    hang = tmp_path / "ffmpeg"
    hang.write_text('#!/bin/sh\nfor last; do :; done\n: > "${last#file:}"\nexec sleep 60\n')
    hang.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(FfmpegStalled, match="no CPU used for 1 s"):
        remote_encode((str(hang), "-i", "x", "file:/unused"), str(tmp_path / "segment.dv"), ())
    assert time.monotonic() - started < 10
    assert listing(tmp_path) == ["ffmpeg"]
