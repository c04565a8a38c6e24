"""An ffmpeg that hangs (``run.stall``): stopped once neither its progress nor its CPU time
moves, its job run again once; a second hang fails the build (exit 1) and leaves nothing
behind. An ffmpeg that is busy without progress, or progresses without CPU, is left alone.

The hangs themselves are ffmpeg 9.0's (a race among its threads, 4 in 146 runs of a webcam
segment here); these tests play them with a stand-in that reports once and then sleeps."""

from __future__ import annotations

import os
import pickle
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
# A job's ffmpeg that hangs as ffmpeg 9.0 does: the same progress report every half second, no
# CPU (the shell's own; the sleeps are other processes).
HANG = "while :; do printf 'frame=0\\ntotal_size=48\\nout_time_us=0\\nprogress=continue\\n'; sleep 0.5; done\n"
LIMIT = 3.0  # seconds, for STALL_SECONDS: above a cold ffmpeg's start on a loaded machine


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(stall, "STALL_SECONDS", LIMIT)


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
    assert listing(tmp_path) == ["cast.mp4", "cast.yaml", "fakebin", "fakebin/ffmpeg", "hung", "take.mp4"]


def test_an_ffmpeg_that_hangs_twice_fails_the_build_and_leaves_nothing(quick, take, tmp_path, monkeypatch, cli):
    ffmpeg_script(tmp_path, monkeypatch, QUERIES + f'echo run >> "{tmp_path}/runs"\n' + HANG)
    result = cli("build", tmp_path / "cast.yaml", "--no-cache")
    assert result.code == 1
    assert "ffmpeg hung while" in result.err and "it used no CPU for 3 s" in result.err
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
    before = cpu_seconds(os.getpid())
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    after = cpu_seconds(os.getpid())
    assert before is not None and 0.2 <= after - before <= 1.0


# A raw DV job's first ffmpeg (its distinct pictures) that works for more than twice the limit
# (the CPU of its own process, no progress) before the stand-in's made-up picture: its second
# one waits for it, idle. (A shell's own loop: a child's CPU is not its parent's.)
SLOW_PICTURES = ('case "$*" in *"[f=framecrc]pipe:"*)\n'
                 '  read t0 _ < /proc/uptime; t0=${t0%.*}\n'
                 '  while :; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done\n'
                 '    read t _ < /proc/uptime; [ $((${t%.*} - t0)) -gt ' + str(int(2 * LIMIT)) + ' ] && break; done;;\n'
                 'esac\n')


def test_a_dv_jobs_fed_ffmpeg_that_hangs_fails_the_build_in_time(quick, take, tmp_path, monkeypatch, cli):
    """A raw DV job's own ffmpeg, fed the pictures the first one encodes: idle while it waits
    for them, which is no hang (the first works for twice the limit), but a hang once they are
    all there."""
    ffmpeg_script(tmp_path, monkeypatch, QUERIES + f'echo run >> "{tmp_path}/runs"\n' + HANG,
                  fake_pictures=True, first=SLOW_PICTURES)
    (tmp_path / "cast.yaml").write_text("loudness: off\noutputs: [cast.dv]\nsegments:\n  - clip: take.mp4\n")
    started = time.monotonic()
    result = cli("build", tmp_path / "cast.yaml", "--no-cache")
    took = time.monotonic() - started
    assert result.code == 1 and "ffmpeg hung while" in result.err, result.err
    # Stopped once (a hang where no cast took bytes of it runs again, and hangs again) ...
    assert result.err.count("ffmpeg hung while") == 2
    # ... each time after the first one's work and the limit: not while it waited.
    assert 2 * (2 * LIMIT + LIMIT) <= took < 90
    assert listing(tmp_path) == ["cast.yaml", "fakebin", "fakebin/ffmpeg", "runs", "take.mp4"]


def test_the_hang_survives_the_trip_from_a_farm_worker():
    from castkit.errors import FfmpegStalled

    hung = pickle.loads(pickle.dumps(FfmpegStalled("an encode", 30, "[h264] broken")))
    assert isinstance(hung, FfmpegStalled) and str(hung).endswith("was stopped\n[h264] broken")
    assert hung.exit_status == 1


def test_a_farm_workers_hung_ffmpeg_raises_for_dask_to_run_it_again(quick, tmp_path):
    """On a worker (``run.farm.remote_encode``, called here as Dask calls it): a hang raises,
    which Dask retries as any task that raised, and the temporary file goes."""
    from castkit.errors import FfmpegStalled
    from castkit.run.farm import remote_encode

    hang = tmp_path / "ffmpeg"
    hang.write_text('#!/bin/sh\nfor last; do :; done\n: > "${last#file:}"\nexec sleep 60\n')
    hang.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(FfmpegStalled, match="no CPU for 3 s"):
        remote_encode((str(hang), "-i", "x", "file:/unused"), str(tmp_path / "segment.dv"), ())
    assert time.monotonic() - started < 15
    assert listing(tmp_path) == ["ffmpeg"]
