"""Batch builds (several recipes as one plan) and the Dask farm (issue 18).

The farm tests start a real scheduler and two worker *processes* (``dask scheduler`` and
``dask worker --no-nanny`` as subprocesses), build on them and compare the bytes with local
builds of the same recipes made in another folder (another cache). They skip when Dask is not
installed (``pip install 'castkit[farm]'``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import WHEEL_FFMPEG, fake_ffmpeg, ffmpeg_script, listing, write_recipe
from readers import decode
import media

pytestmark = pytest.mark.e2e

DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")


def _recipe(folder: Path, name: str, text: str) -> Path:
    path = write_recipe(folder, text)
    return path.rename(folder / name)


def _three_recipes(folder: Path, capture: Path, long: bool = False) -> list[Path]:
    """Three recipes in one folder (one cache) sharing their intro card; one also makes an
    MP4 so a web segment travels too."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(capture, folder / "cap.ogv")
    lengths = (3, 3.5, 4) if long else (1, 1.5, 2)
    recipes = []
    for n, length in enumerate(lengths, 1):
        outputs = f"output: out/cast{n}.dv" if n != 3 or long else \
            "outputs: [out/cast3.dv, out/cast3.mp4]"
        recipes.append(_recipe(folder, f"cast{n}.yaml", f"""
            {outputs}
            segments:
              - title: "Course intro"
                duration: 1
              - clip: cap.ogv
                start: {n * 0.25}
                duration: {length}
              - title: "Part {n}"
                duration: 0.5
        """))
    return recipes


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    """160x120, 3 s, variable rate, with a short mono voice-over."""
    from helpers import WHEEL_FFMPEG

    return media.theora(WHEEL_FFMPEG, tmp_path_factory.mktemp("farm-media") / "cap.ogv",
                        "160x120", 15, 3.0, voice=(22050, 1, 2.0), drop="between(t,1.0,1.6)")


@pytest.fixture(scope="module")
def long_capture(tmp_path_factory) -> Path:
    from helpers import WHEEL_FFMPEG

    return media.theora(WHEEL_FFMPEG, tmp_path_factory.mktemp("farm-media-long") / "cap.ogv",
                        "160x120", 15, 9.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler and two single-threaded worker processes on this machine."""

    def __init__(self, workers: int = 2, allowed_failures: int | None = None) -> None:
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        env = dict(os.environ)
        if allowed_failures is not None:  # deaths of workers running a task before it fails
            env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = str(allowed_failures)
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
        self.workers = [subprocess.Popen(
            [DASK, "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1"], **quiet) for _ in range(workers)]
        import distributed

        with distributed.Client(self.address, timeout="20s") as client:
            client.wait_for_workers(workers, timeout=30)

    def tasks_run(self) -> set[str]:
        """The castkit tasks the scheduler ran lately (so a test knows the work went there)."""
        import distributed

        def keys(dask_scheduler):
            return sorted({str(t[0]) for t in dask_scheduler.transition_log
                           if str(t[0]).startswith("castkit-") and t[2] == "memory"})

        with distributed.Client(self.address, timeout="10s") as client:
            return set(client.run_on_scheduler(keys))

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed")
    if DASK is None:
        pytest.skip("no `dask` command")
    c = Cluster()
    yield c
    c.stop()


@pytest.fixture(autouse=True)
def _no_cache_env(monkeypatch):
    monkeypatch.delenv("CASTKIT_CACHE_DIR", raising=False)
    monkeypatch.delenv("CASTKIT_SCHEDULER", raising=False)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "out").iterdir())}


def test_farm_builds_are_byte_identical_to_local_builds(cluster, capture, tmp_path, cli, wheel_ffmpeg):
    local = _three_recipes(tmp_path / "local", capture)
    farm = _three_recipes(tmp_path / "farm", capture)
    assert cli("build", "-q", *local).code == 0
    before = cluster.tasks_run()
    result = cli("build", "-q", "--scheduler", cluster.address, *farm)
    assert result.code == 0, result.err
    # Two shared intro encodes would be one per cache: 3 clips + intro + 3 part cards + the
    # MP4's own intro, clip and card, all sent to the cluster.
    assert len(cluster.tasks_run() - before) == 10
    mine, theirs = _outputs(tmp_path / "local"), _outputs(tmp_path / "farm")
    assert sorted(mine) == ["cast1.dv", "cast2.dv", "cast3.chapters.txt", "cast3.dv", "cast3.mp4"]
    assert mine == theirs  # same bytes
    # ... and what they hold: 1 s + the clip + 0.5 s at 25 fps.
    for n, length in enumerate((1, 1.5, 2), 1):
        assert decode(tmp_path / "farm" / "out" / f"cast{n}.dv").frames == 25 + round(length * 25) + 12
    # Nothing temporary is left beside the casts or in the cache.
    assert not [n for n in listing(tmp_path / "farm") if n.endswith(".partial")]


def test_failure_on_a_worker_fails_the_build_with_ffmpegs_message(cluster, capture, tmp_path, monkeypatch, cli):
    fake_ffmpeg(tmp_path, monkeypatch, 'echo "castkit-test: encoder exploded" >&2; exit 1')
    recipes = _three_recipes(tmp_path / "cast", capture)
    result = cli("build", "--scheduler", cluster.address, recipes[0])
    assert result.code == 1
    assert "encoder exploded" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "cast" / "out").exists() or not list((tmp_path / "cast" / "out").iterdir())
    # A card a worker was still drawing when the build stopped is finished (and its temporary
    # file renamed) by that worker soon after; no segment, whole or partial, stays.
    cache = tmp_path / "cast" / ".castkit-cache"
    deadline = time.monotonic() + 10
    while [n for n in listing(cache) if n.endswith(".partial")] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [n for n in listing(cache) if n.endswith((".dv", ".partial"))]


@pytest.mark.parametrize("allowed_failures", [None, 0], ids=["dask-retries", "no-retry"])
def test_a_worker_killed_mid_build_leaves_no_partial_cast(long_capture, tmp_path, wheel_ffmpeg,
                                                          allowed_failures):
    pytest.importorskip("distributed")
    import psutil

    if DASK is None:
        pytest.skip("no `dask` command")
    recipes = _three_recipes(tmp_path / "cast", long_capture, long=True)
    c = Cluster(allowed_failures=allowed_failures)
    try:
        build = subprocess.Popen(
            [sys.executable, "-m", "castkit", "build", "-q", "--scheduler", c.address, *recipes],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "CASTKIT_FFMPEG": wheel_ffmpeg})
        victim = c.workers[0]
        deadline = time.monotonic() + 30
        encoding: list = []
        while time.monotonic() < deadline and not encoding:
            encoding = [p for p in psutil.Process(victim.pid).children() if "ffmpeg" in p.name()]
            time.sleep(0.05)
        assert encoding, "the worker never started an ffmpeg"
        os.kill(victim.pid, signal.SIGKILL)  # mid-encode
        out, err = build.communicate(timeout=120)
        # Its ffmpeg died with it (PR_SET_PDEATHSIG), writing nothing on.
        time.sleep(0.5)
        assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in encoding)
    finally:
        if build.poll() is None:
            build.kill()
        c.stop()
    assert "Traceback" not in err
    assert build.returncode in (0, 1), err
    out_dir = tmp_path / "cast" / "out"
    names = sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []
    assert not [n for n in names if n.startswith(".")], names  # no temporary cast left
    if allowed_failures is None:  # Dask ran the job again on the other worker
        assert build.returncode == 0, err
    if build.returncode == 0:  # every cast complete
        assert names == ["cast1.dv", "cast2.dv", "cast3.dv"]
    else:  # the job failed for good: said in words, exit 1
        assert build.returncode == 1
        assert "failed on the cluster (the Dask workers running it died); nothing was kept" in err
    for name in names:  # whatever is there is complete
        n = int(name[4])
        assert decode(out_dir / name).frames == 25 + round((2.5 + n / 2) * 25) + 12
    # Every sealed cache entry holds the bytes of its seal; the dead worker's temporary file,
    # if any, has a hidden .partial name, which the next build removes.
    from castkit.cache.seals import intact, sealed

    cache = tmp_path / "cast" / ".castkit-cache"
    for entry in cache.glob("segment-*.dv"):
        if sealed(entry):
            assert intact(entry)


def test_batch_reports_a_broken_recipe_and_builds_the_others(capture, tmp_path, cli, wheel_ffmpeg):
    good = _three_recipes(tmp_path, capture)[:2]
    broken = _recipe(tmp_path, "broken.yaml", """
        output: out/broken.dv
        segments:
          - title: "Course intro"
          - clip: missing.ogv
    """)
    result = cli("build", good[0], broken, good[1])
    assert result.code == 2  # only a recipe error failed
    errors = [line for line in result.err.splitlines() if line.startswith("castkit: error:")]
    assert any(line.startswith(f"castkit: error: {broken}:5:") and "missing.ogv" in line
               for line in errors), result.err
    assert errors[-1] == f"castkit: error: 2 of 3 recipes built; failed: {broken}"
    assert "Traceback" not in result.err
    for n, length in ((1, 1), (2, 1.5)):
        assert decode(tmp_path / "out" / f"cast{n}.dv").frames == 25 + round(length * 25) + 12
    assert not (tmp_path / "out" / "broken.dv").exists()


def test_batch_encodes_a_shared_segment_once(capture, tmp_path, cli, wheel_ffmpeg):
    recipes = _three_recipes(tmp_path, capture)
    result = cli("build", "--dry-run", *recipes)
    assert result.code == 0, result.err
    # One intro card for the three DV casts (one cache), one for the MP4: each encoded once.
    lines = result.out.splitlines()
    assert lines.count("# segment 1: title 'Course intro'") == 1
    assert lines.count("# segment 1: title 'Course intro' (MP4)") == 1
    # Longest first: the 2 s clip of cast3 before the 1 s one of cast1.
    encodes = [line for line in result.out.splitlines() if line.startswith("# segment 2")]
    assert encodes.index("# segment 2: clip cap.ogv (DV)") < encodes.index("# segment 2: clip cap.ogv")


def test_batch_refuses_one_output_for_several_recipes(capture, tmp_path, cli):
    recipes = _three_recipes(tmp_path, capture)[:2]
    result = cli("build", "-o", tmp_path / "x.dv", *recipes)
    assert result.code == 2 and "several recipes" in result.err
    assert not (tmp_path / "x.dv").exists()


def test_unreachable_scheduler_is_one_line_and_quick(capture, tmp_path, cli, wheel_ffmpeg):
    pytest.importorskip("distributed")
    recipe = _three_recipes(tmp_path, capture)[0]
    started = time.monotonic()
    result = cli("build", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", recipe)
    assert time.monotonic() - started < 15
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0], result.err
    assert not (tmp_path / "out").exists()


def test_scheduler_without_dask_says_what_to_install(capture, tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    recipe = _three_recipes(tmp_path, capture)[0]
    monkeypatch.setenv("CASTKIT_SCHEDULER", "tcp://127.0.0.1:8786")
    result = cli("build", recipe)
    assert result.code == 2
    assert result.err.strip() == "castkit: error: --scheduler needs Dask: pip install 'castkit[farm]'"


def test_batch_stopped_by_ffmpeg_reports_every_recipe_and_exits_1(capture, tmp_path, cli, monkeypatch):
    good = _three_recipes(tmp_path, capture)[:2]
    broken = _recipe(tmp_path, "broken.yaml", """
        output: out/broken.dv
        segments:
          - clip: missing.ogv
    """)
    fake_ffmpeg(tmp_path, monkeypatch, 'echo "castkit-test: encoder exploded" >&2; exit 1')
    result = cli("build", "-j", "1", good[0], broken, good[1])
    assert result.code == 1  # ffmpeg failed: not only the user's mistakes
    assert "Traceback" not in result.err
    for recipe in good:
        assert re.search(rf"castkit: error: {re.escape(str(recipe))}: not built: ffmpeg failed \(1\) while ",
                         result.err), result.err
    assert f"castkit: error: {broken}:" in result.err
    assert "encoder exploded" in result.err  # ffmpeg's own words
    failed = ", ".join(str(p) for p in (good[0], broken, good[1]))
    assert result.err.rstrip().endswith(f"0 of 3 recipes built; failed: {failed}")
    assert not (tmp_path / "out").exists() or not [p for p in (tmp_path / "out").iterdir()]


def test_malformed_scheduler_address_is_a_usage_error(capture, tmp_path, cli):
    recipe = _three_recipes(tmp_path, capture)[0]
    result = cli("build", "--scheduler", "http://farm", recipe)
    assert result.code == 2
    assert result.err.strip() == ("castkit: error: --scheduler: 'http://farm' is not a Dask "
                                  "scheduler address like tcp://HOST:8786")


def test_batch_keeps_going_past_a_cast_that_ffmpeg_cannot_make(capture, tmp_path, cli, monkeypatch):
    """One recipe's capture makes ffmpeg fail: the other casts are still made, whole (decoded
    frame counts), the failed one is not there and is reported with ffmpeg's words; exit 1.
    Seen before: the first failure stopped every job, and no cast of the batch was made."""
    good = _three_recipes(tmp_path, capture)[:2]
    shutil.copy(capture, tmp_path / "doomed.ogv")
    doomed = _recipe(tmp_path, "doomed.yaml", """
        output: out/doomed.dv
        segments:
          - title: "Course intro"
            duration: 1
          - clip: doomed.ogv
    """)
    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *doomed.ogv*" -f dv "*|*doomed.ogv*" -f mp4 "*)\n'
        '  echo "castkit-test: cannot encode this capture" >&2; exit 1;;\n'
        'esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'))
    result = cli("build", doomed, *good)
    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    assert f"castkit: error: {doomed}: not built: ffmpeg failed (1) while " in result.err, result.err
    assert "cannot encode this capture" in result.err
    assert result.err.rstrip().endswith(f"2 of 3 recipes built; failed: {doomed}"), result.err
    assert not (tmp_path / "out" / "doomed.dv").exists()
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    for n, recipe in enumerate(good, 1):  # each as built alone, encoded afresh
        alone = tmp_path / f"alone{n}.dv"
        assert cli("build", recipe, "-o", alone, "--no-cache", "-q").code == 0
        made = tmp_path / "out" / f"cast{n}.dv"
        assert made.read_bytes() == alone.read_bytes()
        assert decode(made).frames == decode(alone).frames > 50
