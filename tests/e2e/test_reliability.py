"""Reliability (issue 11): castkit's children die with it, a killed run's debris is cleaned by
the next one, a recipe is never its own output, outputs stay out of the cache, a source's
declared length is checked against what decodes, and every odd input gets one clear line.

Each test checks a promise listed in SECURITY.md and says how it was seen failing before the
fix. Outputs are read by PyAV (tests/readers.py), never by castkit.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import pytest

import media
from helpers import WHEEL_FFMPEG, ffmpeg_script, listing
from test_hardening import (
    PY,
    castkit_process,
    debris,
    frames_in,
    no_traceback,
    processes_mentioning,
    write_recipe,
)

from castkit.base import files as _files
from castkit.media.ffmpeg import dies_with_castkit, find_ffmpeg, run_query
from castkit.run.runner import DryRunRunner


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """20 s of small Theora: a few seconds of encoding, long enough to be caught mid-way."""
    root = tmp_path_factory.mktemp("reliability-media")
    return media.theora(WHEEL_FFMPEG, root / "long.ogv", "160x120", 15, 20.0)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reliability-tiny")
    return media.theora(WHEEL_FFMPEG, root / "tiny.ogv", "160x120", 15, 1.0, voice=(22050, 1, 1.0))


def dead_pid() -> int:
    """The id of a process that has just ended (and so is not alive)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# --- 4. ffmpeg dies with castkit; the next run removes what a killed run left -----------------


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    pytest.fail(what)


def test_ffmpeg_dies_with_a_killed_castkit_and_the_next_build_cleans_up(tmp_path, long_clip, cli, wheel_ffmpeg):
    """Seen failing before the fix: after ``kill -9`` of castkit, its ffmpeg went on encoding
    for seconds (to the end of the clip) under a hidden ``.partial`` name, and the next build
    left that file and the cast's own ``.partial`` beside the output for good."""
    shutil.copy(long_clip, tmp_path / "long.ogv")
    recipe = write_recipe(tmp_path, "output: build/cast.dv\nsegments:\n  - clip: long.ogv\n")
    proc = castkit_process("build", recipe.name, cwd=tmp_path, env={"CASTKIT_FFMPEG": WHEEL_FFMPEG})
    try:
        partial = wait_for(
            lambda: next((p for p in (tmp_path / ".castkit-cache").glob(".segment-*.partial")
                          if processes_mentioning(p.name)), None),
            60, "no ffmpeg writing a temporary segment appeared")
    finally:
        proc.kill()  # SIGKILL: castkit cannot clean anything up
        proc.communicate()
    killed_at = time.monotonic()
    wait_for(lambda: not processes_mentioning(str(tmp_path)), 2,
             f"ffmpeg outlived castkit: {processes_mentioning(str(tmp_path))}")
    assert time.monotonic() - killed_at < 2
    assert partial.exists() and debris(tmp_path), "the kill left temporary files (the scenario)"
    # The next run writing the same outputs removes them, and its cast is whole.
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    assert frames_in(tmp_path / "build" / "cast.dv") == 500
    assert debris(tmp_path) == []


needs_setpriv = pytest.mark.skipif(not shutil.which("setpriv") or not sys.platform.startswith("linux"),
                                   reason="children die with castkit through util-linux's setpriv")


@needs_setpriv
def test_a_child_whose_castkit_is_already_gone_does_not_start(tmp_path):
    """The kill can come between the fork and the kernel's promise to signal the child: then
    the child must not start the command at all (the promise would never be kept)."""
    marker = tmp_path / "ran"
    argv = dies_with_castkit([shutil.which("touch"), str(marker)])
    assert argv[-2:] == [shutil.which("touch"), str(marker)] and len(argv) > 2
    # Started by another parent than this process (the one whose pid it was made for).
    proxy = subprocess.run([sys.executable, "-c", "import subprocess, sys; "
                            "sys.exit(subprocess.run(sys.argv[1:]).returncode)", *argv])
    assert proxy.returncode == 137 and not marker.exists()
    assert subprocess.run(argv).returncode == 0 and marker.exists()  # by its castkit: it runs


def test_a_missing_binary_fails_as_it_would_alone(tmp_path):
    missing = str(tmp_path / "no-ffmpeg")
    assert dies_with_castkit([missing, "-version"]) == [missing, "-version"]
    with pytest.raises(FileNotFoundError):
        subprocess.run(dies_with_castkit([missing]))


def test_no_python_runs_in_a_child_before_ffmpeg(tmp_path, wheel_ffmpeg):
    """Seen failing before the fix (a ``preexec_fn`` made the children die with castkit): the
    forked child ran Python's after-fork clean-up, which ran the finalizers of other threads'
    thread-locals there. PyAV 18.1.1's scaler context, held so by the test process, then
    waited for threads the child did not have, and every ffmpeg castkit started hung."""
    marker = tmp_path / "finalized"

    class Finalized:
        def __del__(self):
            with open(marker, "a") as out:
                out.write(f"{os.getpid()}\n")

    local, held, done = threading.local(), threading.Event(), threading.Event()

    def hold():
        local.value = Finalized()
        held.set()
        done.wait()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    held.wait()
    try:
        assert run_query(find_ffmpeg(), ["-version"]).returncode == 0
    finally:
        done.set()
        thread.join()
    # Only this process's own finalizer ran, when the thread ended: none in a child.
    assert marker.read_text().split() == [str(os.getpid())]


def test_threads_building_graphs_at_once_each_get_the_whole_ffmpeg_module():
    """Seen failing before the fix (castkit serve's first frame, beside its player copies):
    ffmpeg-python is imported on first use, and a second thread took the module half-made
    ("partially initialized module 'ffmpeg' has no attribute 'input'"), in 19 of 20 runs of
    this test's script."""
    script = ("import threading\n"
              "from castkit.media.ffmpeg import ffmpeg_module\n"
              "failed = []\n"
              "def use():\n"
              "    try:\n"
              "        ffmpeg_module().input\n"
              "    except Exception as exc:\n"
              "        failed.append(exc)\n"
              "threads = [threading.Thread(target=use) for _ in range(8)]\n"
              "[t.start() for t in threads]\n"
              "[t.join() for t in threads]\n"
              "print(len(failed))\n")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True) for _ in range(10)]
    assert [(r.returncode, r.stdout.strip()) for r in runs] == [(0, "0")] * 10, [r.stderr[-300:] for r in runs]


def test_stale_partials_are_only_castkits_files_of_dead_writers(tmp_path):
    """Seen failing before the fix: ``stale_partials`` did not exist, and nothing ever removed
    a killed run's temporary files. Only exact castkit names of dead writers are stale."""
    out = tmp_path / "cast.dv"
    dead, me = dead_pid(), os.getpid()
    names = {
        f".cast.dv.{dead}-abcdefgh.partial": True,  # a killed run's temporary cast
        ".cast.dv.concat.txt": True,  # its join list, no live writer left
        f".cast.dv.{me}-abcd_fgh.partial": False,  # ours: alive
        f".cast.dv.{dead}-abcdefgh.partial.pictures": True,  # a killed encode's distinct pictures
        f".cast.dv.{me}-abcd_fgh.partial.pictures": False,
        f".cast.dv.{dead}-abcdefgh.partial.map": False,
        f".cast.dv.{dead}-abcdefgh.partial.bak": False,  # not castkit's exact pattern
        f".cast.dv.{dead}-abcdefg.partial": False,
        ".cast.dv.abcdefgh.partial": False,  # old-style name: no writer to ask about
        f".other.dv.{dead}-abcdefgh.partial": False,  # another output's
        f"cast.dv.{dead}-abcdefgh.partial": False,
        f".cast.dv.{dead}-ABCDEFGH.partial": False,
        f".cast.dv.{dead}.ffmetadata": True,  # a killed web join's chapters and captions
        f".cast.dv.{dead}.srt": True,
        f".cast.dv.{dead}.vtt": True,
        f".cast.dv.{me}.srt": False,
        f".cast.dv.{dead}.ass": False,
    }
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / f".cast.dv.{dead}-zzzzzzzz.partial").symlink_to(tmp_path / "elsewhere")
    (tmp_path / f".cast.dv.{dead}-yyyyyyyy.partial").mkdir()
    stale = {p.name for p in _files.stale_partials(out)}
    # The join list stays while a live castkit (this one) writes the output.
    assert stale == {n for n, s in names.items() if s} - {".cast.dv.concat.txt"}
    (tmp_path / f".cast.dv.{me}-abcd_fgh.partial").unlink()
    (tmp_path / f".cast.dv.{me}-abcd_fgh.partial.pictures").unlink()
    (tmp_path / f".cast.dv.{me}.srt").unlink()
    assert {p.name for p in _files.stale_partials(out)} == {n for n, s in names.items() if s}
    removed = _files.remove_stale_partials(out)
    assert {p.name for p in removed} == {n for n, s in names.items() if s}
    left = set(listing(tmp_path))
    assert not any(n in left for n, s in names.items() if s)
    assert f".cast.dv.{dead}-zzzzzzzz.partial" in left and f".cast.dv.{dead}-yyyyyyyy.partial" in left


def test_temporary_names_carry_the_writers_pid(tmp_path):
    temp = _files.partial_path(tmp_path / "cast.dv")
    assert temp.name.startswith(f".cast.dv.{os.getpid()}-") and temp.name.endswith(".partial")
    assert _files.stale_partials(tmp_path / "cast.dv") == []


# --- 6. a recipe is never its own output --------------------------------------------------------


RECIPE_TEXT = "output: cast.dv\nsegments:\n  - title: Hello\n    duration: 0.2\n"


@pytest.mark.parametrize("how", ["output: in the recipe", "-o", "-o another name of it", "-o recipe.yaml"])
def test_a_recipe_is_never_overwritten_by_its_own_output(tmp_path, wheel_ffmpeg, cli, how):
    """Seen failing before the fix: a recipe named ``cast.dv`` saying ``output: cast.dv`` (or
    built with ``-o cast.dv``), with ``--force``, was replaced by the cast it described: exit
    0, the recipe gone. (``-o recipe.yaml`` was already refused, for its suffix.)"""
    name = "recipe.yaml" if how == "-o recipe.yaml" else "cast.dv"
    recipe = write_recipe(tmp_path, RECIPE_TEXT, name=name)
    (tmp_path / "alias").mkdir()
    before = recipe.read_bytes()
    args = {"output: in the recipe": [], "-o": ["-o", recipe],
            "-o another name of it": ["-o", tmp_path / "alias" / ".." / "cast.dv"],
            "-o recipe.yaml": ["-o", recipe]}[how]
    for extra in ([], ["--dry-run"]):
        result = cli("build", recipe, *args, "--force", "-q", *extra)
        assert result.code == 2, result.err
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], result.err
        assert "source" in lines[0] or "unknown output type" in lines[0], lines[0]
        no_traceback(result.err)
        assert recipe.read_bytes() == before
    assert sorted(listing(tmp_path)) == ["alias", name]


def test_a_storyboard_never_overwrites_its_recipe(tmp_path, wheel_ffmpeg, cli):
    """Seen failing before the fix: ``castkit preview board.png -o board.png --force`` (a
    recipe may have any name) drew the storyboard over the recipe."""
    recipe = write_recipe(tmp_path, RECIPE_TEXT, name="board.png")
    result = cli("preview", recipe, "-o", recipe, "--force", "-q")
    assert result.code == 2 and "board.png" in result.err and "source" in result.err, result.err
    assert recipe.read_text() == RECIPE_TEXT


def test_a_stopped_storyboard_leaves_every_board_as_it_was(tmp_path, wheel_ffmpeg, capsys):
    """A storyboard of several boards stopped after its first was drawn: all of them are the
    last run's, no temporary file is left, and the stop says no storyboard was written (a fault
    campaign saw the first board replaced, the others old, and the stop naming the temporary
    tiles as what was written). A shorter recipe's storyboard then names the board it no longer
    has, and keeps it."""
    from castkit.commands.preview import preview, TILES_PER_BOARD
    from castkit.errors import Interrupted
    from castkit.run.runner import FfmpegRunner

    def recipe(word: str, count: int) -> Path:
        titles = "".join(f"  - title: {word} {k}\n    duration: 1\n" for k in range(count))
        return write_recipe(tmp_path, f"output: cast.dv\nsegments:\n{titles}")

    first = preview(recipe("Old", TILES_PER_BOARD + 1), force=True)
    assert [p.name for p in first] == ["cast-board.png", "cast-board-2.png"]
    before = {p: p.read_bytes() for p in first}

    class StopOnTheSecondBoard(FfmpegRunner):
        calls = 0

        def run(self, plan):
            StopOnTheSecondBoard.calls += 1
            if StopOnTheSecondBoard.calls == 2:
                raise Interrupted("stopped")
            return super().run(plan)

    with pytest.raises(Interrupted) as stopped:
        preview(recipe("New", TILES_PER_BOARD + 1), force=True, runner=StopOnTheSecondBoard())
    assert "no storyboard was written" in str(stopped.value) and "tile" not in str(stopped.value)
    assert {p: p.read_bytes() for p in first} == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    capsys.readouterr()
    assert preview(recipe("Short", 2), force=True) == first[:1]
    assert first[0].read_bytes() != before[first[0]] and first[1].read_bytes() == before[first[1]]
    assert "cast-board-2.png is from a longer storyboard" in capsys.readouterr().err


# --- 7. no output inside the cache folder -------------------------------------------------------


def test_check_not_in_cache(tmp_path):
    """Seen failing before the fix: there was no such check (ImportError), and ``convert -o
    .castkit-cache/x.dv`` wrote into the folder that ``cache clean`` empties."""
    from castkit.cache.folders import check_not_in_cache
    from castkit.errors import UsageError

    cache = tmp_path / ".castkit-cache"
    cache.mkdir()
    (tmp_path / "link").symlink_to(cache)
    for inside in (cache / "x.dv", cache / "sub" / "x.dv", tmp_path / "link" / "x.dv",
                   tmp_path / "other" / ".." / ".castkit-cache" / "x.dv", cache):
        with pytest.raises(UsageError) as caught:
            check_not_in_cache(inside, cache)
        assert str(inside) in str(caught.value) and "cache" in str(caught.value)
        assert caught.value.exit_status == 2 and "\n" not in str(caught.value)
    for outside in (tmp_path / "x.dv", tmp_path / ".castkit-cache2" / "x.dv", tmp_path / "build" / "x.dv"):
        check_not_in_cache(outside, cache)
    check_not_in_cache(cache / "x.dv", tmp_path / "loop")  # a cache folder that is not there yet
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(UsageError):
        check_not_in_cache(tmp_path / "loop" / "x.dv", tmp_path / "loop")


@pytest.mark.parametrize("command", ["convert", "title"])
@pytest.mark.parametrize("where", ["beside a recipe", "CASTKIT_CACHE_DIR"])
def test_convert_and_title_refuse_an_output_in_the_cache(tmp_path, tiny_clip, wheel_ffmpeg, cli, monkeypatch, command, where):
    """Seen failing before the fix: exit 0, the output written into the cache folder (and
    deleted by the next ``castkit cache clean``)."""
    cache = tmp_path / ".castkit-cache" if where == "beside a recipe" else tmp_path / "my-cache"
    if where == "CASTKIT_CACHE_DIR":
        monkeypatch.setenv("CASTKIT_CACHE_DIR", str(cache))
    cache.mkdir()
    out = cache / ("x.dv" if command == "convert" else "x.png")
    args = ["convert", tiny_clip, "-o", out] if command == "convert" else ["title", "Hi", "-o", out]
    result = cli(*args, "-q")
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "x." in lines[0] and "cache" in lines[0], result.err
    assert list(cache.iterdir()) == []


def test_build_refuses_an_output_in_the_cache(tmp_path, wheel_ffmpeg, cli):
    recipe = write_recipe(tmp_path, RECIPE_TEXT)
    result = cli("build", recipe, "-o", tmp_path / ".castkit-cache" / "x.dv", "-q")
    assert result.code == 2, result.err
    assert "cache" in result.err and "x.dv" in result.err and len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / ".castkit-cache" / "x.dv").exists()


def test_export_refuses_a_project_in_the_cache(tmp_path, wheel_ffmpeg, cli):
    """Seen failing before the fix: exit 0, the project written where ``cache clean`` empties."""
    recipe = write_recipe(tmp_path, RECIPE_TEXT)
    (tmp_path / ".castkit-cache").mkdir(exist_ok=True)
    result = cli("export", recipe, "-o", tmp_path / ".castkit-cache" / "e.kdenlive")
    assert result.code == 2, result.err
    assert "cache" in result.err and "e.kdenlive" in result.err and len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / ".castkit-cache" / "e.kdenlive").exists()


# --- 10. symbolic link loops and 5000-digit numbers: one clear line, not "internal error" ----------


LOOP_RECIPES = {
    "clip": ("segments:\n  - clip: loop.ogv\n", "cast.yaml:2:"),
    "voice-over": ("segments:\n  - clip: tiny.ogv\n    audio: loop.ogv\n", "cast.yaml:3:"),
    "output": ("output: loop.dv\nsegments:\n  - title: x\n", "cast.yaml:1:"),
    "font": ("title_style:\n  font: loop.ttf\nsegments:\n  - title: x\n", "cast.yaml:2:"),
    "background": ("segments:\n  - title: x\n    background: ./loop.png\n", "cast.yaml:3:"),
    "5000-digit start": ("segments:\n  - clip: tiny.ogv\n    start: " + "1" * 5000 + "\n", "cast.yaml:3:"),
    "5000-digit duration": ("segments:\n  - title: x\n    duration: 0." + "1" * 5000 + "\n", "cast.yaml:3:"),
}


def make_loops(folder: Path) -> None:
    for name in ("loop.ogv", "loop.dv", "loop.ttf", "loop.png"):
        (folder / name).symlink_to(name)


@pytest.mark.parametrize("case", LOOP_RECIPES, ids=list(LOOP_RECIPES))
def test_loops_and_huge_numbers_in_a_recipe_are_recipe_errors(tmp_path, tiny_clip, wheel_ffmpeg, cli, case):
    """Seen failing before the fix: exit 1, ``internal error: RuntimeError: Symlink loop from
    ...`` (``Path.resolve``), or ``internal error: ValueError: Exceeds the limit (4300 digits)
    for integer string conversion``."""
    text, where = LOOP_RECIPES[case]
    shutil.copy(tiny_clip, tmp_path / "tiny.ogv")
    make_loops(tmp_path)
    recipe = write_recipe(tmp_path, text)
    for extra in (["--dry-run"], ["-q"]):
        result = cli("build", recipe, *extra)
        assert result.code == 2, result.err
        no_traceback(result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"castkit: error: {recipe}:") and where in lines[0], result.err
        assert "loop" in lines[0] or "characters" in lines[0], lines[0]
        assert len(lines[0]) < 300, "the 5000 digits are not echoed"


@pytest.mark.parametrize("case", ["convert INPUT", "convert -o", "title -o", "title --font",
                                  "title --background", "probe", "build -o", "title --duration"])
def test_loops_and_huge_numbers_on_the_command_line_are_usage_errors(tmp_path, tiny_clip, wheel_ffmpeg, cli, case):
    """Seen failing before the fix: ``internal error`` (exit 1) for all but ``probe`` (which said
    "no such file"), and ``castkit title hi -o loop.dv`` silently replaced the link."""
    make_loops(tmp_path)
    loop = tmp_path / "loop.dv"
    recipe = write_recipe(tmp_path, RECIPE_TEXT)
    args = {
        "convert INPUT": ["convert", tmp_path / "loop.ogv", "-o", tmp_path / "x.dv"],
        "convert -o": ["convert", tiny_clip, "-o", loop],
        "title -o": ["title", "Hi", "-o", loop],
        "title --font": ["title", "Hi", "--font", tmp_path / "loop.ttf", "-o", tmp_path / "t.png"],
        "title --background": ["title", "Hi", "--background", tmp_path / "loop.png", "-o", tmp_path / "t.png"],
        "probe": ["probe", tmp_path / "loop.ogv"],
        "build -o": ["build", recipe, "-o", loop],
        "title --duration": ["title", "Hi", "--duration", "1" * 5000, "-o", tmp_path / "t.dv"],
    }[case]
    result = cli(*args, "-q") if case != "probe" else cli(*args)
    assert result.code == 2, result.err
    no_traceback(result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300, result.err
    assert ("loop" in lines[0] and "symbolic link" in lines[0]) or "characters" in lines[0], lines[0]
    assert loop.is_symlink() and sorted(listing(tmp_path)) == sorted(
        ["cast.yaml", "loop.dv", "loop.ogv", "loop.png", "loop.ttf"])


# --- 8, 9. a declared length is checked; a capture without one is measured --------------------------


def _patch_matroska_duration(data: bytes, seconds: float) -> bytes:
    """The EBML Duration element (ID 0x4489, an 8-byte float in TimecodeScale units, ms)
    overwritten with ``seconds``."""
    at = data.find(b"\x44\x89\x88")
    assert 0 < at < 4096, "Duration element not found in the header"
    return data[:at + 3] + struct.pack(">d", seconds * 1000) + data[at + 11:]


def _killed_matroska(path: Path) -> Path:
    """A Matroska file whose writer was killed (-9) before it could close it: no Duration in its
    header, no index, a cluster cut off."""
    proc = subprocess.Popen([WHEEL_FFMPEG, "-v", "error", "-re", "-f", "lavfi", "-i",
                             "testsrc2=size=160x120:rate=15:duration=30", "-c:v", "mpeg4",
                             "-flush_packets", "1", "-y", str(path)])
    try:
        wait_for(lambda: path.exists() and path.stat().st_size > 60_000, 20, "ffmpeg wrote nothing")
    finally:
        proc.kill()
        proc.wait()
    return path


@pytest.fixture(scope="module")
def doubtful(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("doubtful-lengths")
    src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=3"]
    files = {}
    piped = root / "piped.mkv"  # a live or crashed recorder's Matroska: no Duration at all
    with open(piped, "wb") as f:
        subprocess.run([WHEEL_FFMPEG, "-v", "error", *src, "-c:v", "mpeg4", "-f", "matroska", "pipe:1"],
                       stdout=f, check=True)
    files["matroska written to a pipe"] = piped
    files["matroska killed before it was closed"] = _killed_matroska(root / "killed.mkv")
    whole = media.make(WHEEL_FFMPEG, root / "whole.mkv", *src, "-c:v", "mpeg4")
    huge = root / "claims-300000s.mkv"
    huge.write_bytes(_patch_matroska_duration(whole.read_bytes(), 300_000))
    files["matroska claiming 300000 s"] = huge
    full = media.theora(WHEEL_FFMPEG, root / "full.ogv", "320x240", 15, 4.0, voice=(44100, 1, 4.0))
    cut = root / "cut-97.ogv"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 97 // 100])
    files["ogg cut at 97%"] = cut
    return files


def decodable_seconds(path: Path) -> float:
    """From the first frame to the end of the last, as PyAV decodes the file."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        rate = float(stream.guessed_rate or stream.average_rate)
        times = [f.time for f in c.decode(video=0) if f.time is not None]
    return max(times) + 1 / rate - min(times)


@pytest.mark.parametrize("case", ["matroska written to a pipe", "matroska killed before it was closed",
                                  "matroska claiming 300000 s",
                                  "ogg cut at 97%"])
def test_a_doubtful_length_is_measured_and_the_capture_converted_as_far_as_it_decodes(
        tmp_path, doubtful, ffmpeg_bin, cli, case):
    """Seen failing before the fix: the piped and killed files were refused with exit 2
    ("has no duration"), though ffmpeg decodes them; the Matroska claiming 300000 s was probed
    as 83:20:00 and converted toward 1 TB of DV (frozen on its last frame after 3 s). The Ogg
    cut at 97% converted correctly here before too (its length comes from its last page)."""
    source = doubtful[case]
    before = source.read_bytes()
    probed = cli("probe", source, "--json")
    assert probed.code == 0, probed.err
    seconds = json.loads(probed.out)[0]["duration"]
    expected = decodable_seconds(source)
    assert abs(seconds - expected) < 0.1, (seconds, expected)
    out = tmp_path / "out.dv"
    result = cli("convert", source, "-o", out, "-q")
    assert result.code == 0, result.err
    no_traceback(result.err)
    if case != "ogg cut at 97%":
        assert "warning" in result.err and source.name in result.err and "measured" in result.err, result.err
    assert abs(frames_in(out) - expected * 25) <= 1.5, (frames_in(out), expected)
    assert source.read_bytes() == before


def test_a_length_estimated_from_the_bit_rate_is_measured(tmp_path, ffmpeg_bin, cli):
    """Item 8: a VBR MP3 without its Xing header (as a recorder writing to a pipe leaves it):
    ffmpeg guesses its length from the first frames' bit rate (here 1 s of silence, then 2 s
    of noise at many times the rate), 1.4 s too long. castkit measures it and uses what
    decodes (PyAV's count of the decoded samples), with a warning naming the file."""
    voice = tmp_path / "voice.mp3"
    subprocess.run([WHEEL_FFMPEG, "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono:d=1",
                    "-f", "lavfi", "-i", "anoisesrc=r=44100:d=2:a=0.5", "-filter_complex",
                    "[0][1]concat=n=2:v=0:a=1", "-c:a", "libmp3lame", "-q:a", "2", "-write_xing", "0",
                    str(voice)], check=True)
    said = subprocess.run([ffmpeg_bin, "-hide_banner", "-i", str(voice)], capture_output=True,
                          text=True).stderr
    assert "Estimating duration from bitrate" in said, said
    with av.open(str(voice)) as c:
        decoded = sum(frame.samples for frame in c.decode(audio=0)) / 44100
        estimate = float(c.duration / av.time_base)
    assert estimate - decoded > 1, (estimate, decoded)  # the case this test is about
    probed = cli("probe", voice, "--json")
    assert probed.code == 0, probed.err
    seconds = json.loads(probed.out)[0]["duration"]
    assert abs(seconds - decoded) < 0.05, (seconds, decoded)
    assert "warning" in probed.err and voice.name in probed.err and "estimated" in probed.err, probed.err


def test_a_healthy_capture_is_not_measured(tmp_path, tiny_clip, wheel_ffmpeg, cli, monkeypatch):
    """The normal path stays cheap: one ffmpeg run to probe, none to measure."""
    from castkit.media import probe as _probe

    calls = []
    real = _probe.run_query
    monkeypatch.setattr(_probe, "run_query", lambda ff, args, **kw: calls.append(args) or real(ff, args, **kw))
    result = cli("probe", tiny_clip)
    assert result.code == 0 and "warning" not in result.err, result.err
    assert len(calls) == 1


# --- 11. a huge background image: bounded memory, a clear refusal ---------------------------------


def test_a_huge_background_image_is_refused_in_bounded_memory(tmp_path, wheel_ffmpeg):
    """Seen failing before the fix: a 13370x13370 PNG of a few kB drew its card at 1.1 GB of
    memory per card, and Python printed Pillow's raw ``DecompressionBombWarning``."""
    from PIL import Image

    big = tmp_path / "big.png"
    Image.new("1", (13370, 13370)).save(big)  # 1 bit per pixel: 22 MB here, a few kB on disk
    assert big.stat().st_size < 100_000
    # The peak of this process's own memory (VmHWM: ru_maxrss would include pytest's, which
    # Linux carries across the exec).
    probe = (
        "import re, sys\n"
        "from castkit.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read())[1]\n"
        "print(int(peak) // 1024, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([PY, "-c", probe, "title", "Hello", "--background", str(big), "-o", "card.png"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    *lines, peak = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "big.png" in lines[0] and "megapixels" in lines[0], done.stderr
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr
    assert int(peak) < 300, f"{peak} MiB"
    assert not (tmp_path / "card.png").exists()


# --- 12. messages that say what happened, briefly ------------------------------------------------


def test_a_stop_while_probing_says_what_was_being_done(tmp_path, tiny_clip, monkeypatch):
    """Seen failing before the fix: Ctrl-C while ffmpeg was opening a source printed only
    ``castkit: error: stopped``."""
    mark = tmp_path / "probing"
    fake = ffmpeg_script(tmp_path, monkeypatch, (
        f'case " $* " in *" -v trace "*) touch "{mark}"; exec sleep 30;; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'
    ))
    shutil.copy(tiny_clip, tmp_path / "take.ogv")
    proc = castkit_process("convert", "take.ogv", "-o", "out.dv", cwd=tmp_path,
                           env={"CASTKIT_FFMPEG": str(fake), "REAL_FFMPEG": WHEEL_FFMPEG})
    try:
        wait_for(mark.exists, 30, "castkit never probed")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    err = err.decode()
    assert proc.returncode == 130, err
    no_traceback(err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "stopped while" in lines[0] and "take.ogv" in lines[0], err
    assert not (tmp_path / "out.dv").exists()


def test_huge_values_are_named_not_echoed(tmp_path, tiny_clip, wheel_ffmpeg, cli):
    """Seen failing before the fix: a 5000-digit crop or speed, target or key was printed back
    whole, a 5100-character message."""
    shutil.copy(tiny_clip, tmp_path / "tiny.ogv")
    digits = "1" * 5000
    recipe = write_recipe(tmp_path, (
        f"target: {'p' * 5000}\n"
        "segments:\n"
        "  - clip: tiny.ogv\n"
        f"    crop: {{x: {digits}, y: 0, width: 1, height: 1}}\n"
        f"    speed: {digits}\n"
        f"  - title: x\n    {'k' * 900}: 1\n"
    ))
    result = cli("build", recipe, "--dry-run")
    assert result.code == 2, result.err
    no_traceback(result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 4, result.err[:2000]
    for line in lines:
        assert len(line) < 350 and "\u2026" in line, line[:400]
    result = cli("build", recipe, "-j", digits)
    assert result.code == 2 and len(result.err) < 400, result.err[:500]


def test_a_plain_long_list_is_named_as_too_many_segments(tmp_path, wheel_ffmpeg, cli):
    """Seen failing before the fix: 20000 titles with a duration each were reported as
    "expands to more than 100000 values (anchors and aliases?)" in a recipe with no alias."""
    recipe = write_recipe(tmp_path, "segments:\n" + "  - title: x\n    duration: 1\n" * 20_000)
    result = cli("build", recipe, "--dry-run")
    assert result.code == 2
    assert "cast.yaml:2:" in result.err and "more than 10000 segments" in result.err, result.err
    assert "alias" not in result.err
    flat = write_recipe(tmp_path, "segments:\n  - title: x\n    subtitle: [" + ", ".join(["1"] * 100_001) + "]\n",
                        name="flat.yaml")
    result = cli("build", flat, "--dry-run")
    assert result.code == 2 and "more than 100000 values" in result.err and "alias" not in result.err, result.err


def test_title_may_still_write_a_card_into_the_cache(tmp_path, wheel_ffmpeg, cli):
    """What ``build --dry-run`` prints makes its title cards with ``castkit title -o
    .castkit-cache/card-KEY.png``: a cache entry's own name is not refused."""
    out = tmp_path / ".castkit-cache" / ("card-" + "0" * 24 + ".png")
    result = cli("title", "Hi", "-o", out, "-q")
    assert result.code == 0 and out.exists(), result.err


# --- 11.1 a damaged cache entry is never served ---------------------------------------------------


DAMAGE_RECIPE = """\
output: cast.{suffix}
loudness: off
segments:
  - title: One
    duration: 0.4
  - clip: tiny.ogv
  - title: {second}
    duration: 0.4
"""


def _segments(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / ".castkit-cache").glob("segment-*") if not p.name.endswith(".sum"))


def _flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix", ["dv", "avi", "mp4"])
@pytest.mark.parametrize("damage", ["one bit flipped", "replaced by another segment of its size"])
def test_a_damaged_cache_entry_is_encoded_again_not_served(tmp_path, tiny_clip, wheel_ffmpeg, cli, suffix, damage):
    """Seen failing before the fix: with one bit flipped in a cached segment (same size), or a
    segment copied over another of the same size, the next build used it: exit 0 and a cast
    that differs from a clean build (only the size, or the MP4 box structure, was checked)."""
    shutil.copy(tiny_clip, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, DAMAGE_RECIPE.format(suffix=suffix, second="Two"))
    cast = tmp_path / f"cast.{suffix}"
    assert cli("build", recipe, "-q").code == 0
    clean = cast.read_bytes()
    segments = _segments(tmp_path)
    if suffix == "mp4":
        victim, other = segments[:2]  # a whole MP4 in place of another: its boxes add up
    else:  # the two titles: the same length, so the same size
        victim, other = [p for p in segments if p.stat().st_size == 10 * 144000]
    size = victim.stat().st_size
    if damage == "one bit flipped":
        _flip_a_bit(victim)
    else:
        shutil.copy(other, victim)
    same_size = victim.stat().st_size == size
    cast.unlink()
    cast.with_name(cast.stem + ".chapters.txt").unlink(missing_ok=True)  # an MP4's, an output too
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    if same_size:  # another size is simply not the cached segment (encoded again, no word)
        assert victim.name in result.err and "damaged" in result.err, result.err
    assert cast.read_bytes() == clean, "a damaged segment went into the cast"
    # ... and it was encoded again: the next build serves it without a word.
    cast.unlink()
    cast.with_name(cast.stem + ".chapters.txt").unlink(missing_ok=True)  # an MP4's, an output too
    result = cli("build", recipe, "-q")
    assert result.code == 0 and "damaged" not in result.err, result.err
    assert cast.read_bytes() == clean


def test_a_damaged_gained_copy_is_made_again_not_served(tmp_path, tiny_clip, wheel_ffmpeg, cli):
    """With loudness on (the default), a DV cast is made of gained copies of its segments: a
    damaged one is made again before a join reads it, like a damaged raw segment."""
    shutil.copy(tiny_clip, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, DAMAGE_RECIPE.format(suffix="dv", second="Two").replace(
        "loudness: off", "loudness: -16"))
    cast = tmp_path / "cast.dv"
    assert cli("build", recipe, "-q").code == 0
    clean = cast.read_bytes()
    titles = [p for p in _segments(tmp_path) if p.stat().st_size == 10 * 144000]
    assert len(titles) == 4  # two raw titles and their gained copies
    for victim in titles:
        _flip_a_bit(victim)
    cast.unlink()
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    assert all(victim.name in result.err for victim in titles), result.err
    assert cast.read_bytes() == clean, "a damaged segment went into the cast"


def test_a_damaged_entry_is_never_patched_into_a_cast(tmp_path, tiny_clip, wheel_ffmpeg, cli):
    """A raw DV rebuild patches the changed segments into the previous cast: they are checked
    too. Seen failing before the fix: going back to an earlier title whose cached segment had a
    bit flipped patched the damaged bytes in (exit 0, 'patched 1 segment')."""
    shutil.copy(tiny_clip, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, DAMAGE_RECIPE.format(suffix="dv", second="Two"))
    cast = tmp_path / "cast.dv"
    assert cli("build", recipe, "-q").code == 0
    clean, first = cast.read_bytes(), set(_segments(tmp_path))
    recipe.write_text(DAMAGE_RECIPE.format(suffix="dv", second="Three"))
    assert cli("build", recipe, "-q", "--force").code == 0
    assert cast.read_bytes() != clean
    record = next((tmp_path / ".castkit-cache").glob("uses-*.json"))
    (old_title,) = [p for p in first if p.name not in json.loads(record.read_text())["uses"]]
    _flip_a_bit(old_title)
    recipe.write_text(DAMAGE_RECIPE.format(suffix="dv", second="Two"))
    result = cli("build", recipe, "-q", "--force")
    assert result.code == 0, result.err
    assert old_title.name in result.err and "damaged" in result.err, result.err
    assert cast.read_bytes() == clean


def test_a_segment_without_its_seal_is_not_used(tmp_path, tiny_clip, wheel_ffmpeg, cli):
    """A segment whose seal is missing (a run killed between the two renames, a cache from
    before seals) is encoded again; the seal is what makes an entry part of the cache."""
    shutil.copy(tiny_clip, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, DAMAGE_RECIPE.format(suffix="dv", second="Two"))
    assert cli("build", recipe, "-q").code == 0
    clean = (tmp_path / "cast.dv").read_bytes()
    seals = sorted((tmp_path / ".castkit-cache").glob("segment-*.dv.sum"))
    assert len(seals) == 3
    seals[0].unlink()
    (tmp_path / "cast.dv").unlink()
    from castkit.builder.build import build

    planned = build(recipe, runner=DryRunRunner(open(os.devnull, "w")))
    assert [cached for *_, cached in planned.segments].count(False) == 1
    assert cli("build", recipe, "-q").code == 0
    assert (tmp_path / "cast.dv").read_bytes() == clean and seals[0].exists()


# --- 11.3 a stop during a patch rebuild keeps a whole cast -----------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_during_a_patch_keeps_a_whole_cast(tmp_path, tiny_clip, wheel_ffmpeg, cli, monkeypatch, signum, ctrl_c):
    """Seen failing before the fix: a Ctrl-C or SIGTERM while the changed segment was copied
    into the previous cast (moved to a hidden name for the patch) removed that file: no cast
    at all, and the message said "no output was written"."""
    from castkit.outputs import join as _join

    for folder in ("clean", "patched"):
        write_recipe(tmp_path / folder, DAMAGE_RECIPE.format(suffix="dv", second="Two"))
        shutil.copy(tiny_clip, tmp_path / folder / "tiny.ogv")
    clean, patched = tmp_path / "clean" / "cast.yaml", tmp_path / "patched" / "cast.yaml"
    clean.write_text(DAMAGE_RECIPE.format(suffix="dv", second="Three"))
    assert cli("build", clean, "-q").code == 0
    wanted = (tmp_path / "clean" / "cast.dv").read_bytes()
    assert cli("build", patched, "-q").code == 0
    previous = (tmp_path / "patched" / "cast.dv").read_bytes()
    patched.write_text(DAMAGE_RECIPE.format(suffix="dv", second="Three"))
    real_copy, stops = _join._copy, []

    def copy_and_stop(*args, **kwargs):
        if not stops:
            stops.append(signum)
            os.kill(os.getpid(), signum)  # the stop arrives while the patch is copying
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(_join, "_copy", copy_and_stop)
    result = cli("build", patched, "-q", "--force")
    assert stops, "the patch never ran"
    assert result.code == 130, result.err
    no_traceback(result.err)
    cast = tmp_path / "patched" / "cast.dv"
    assert cast.exists(), "the stop lost the previous cast"
    assert cast.read_bytes() in (previous, wanted)
    assert "no output was written" not in result.err or cast.read_bytes() == previous, result.err
    assert debris(tmp_path) == []
    monkeypatch.setattr(_join, "_copy", real_copy)
    assert cli("build", patched, "-q", "--force").code == 0
    assert cast.read_bytes() == wanted


# --- 11.5 concurrent builds of one output each have their own join list --------------------------


@pytest.mark.parametrize("suffix", ["avi", "mp4"])
def test_concurrent_builds_of_one_output_do_not_share_a_join_list(tmp_path, wheel_ffmpeg, suffix):
    """Seen failing before the fix: four ``--force`` builds of one ``.avi`` at once all wrote,
    read and removed ``.cast.avi.concat.txt``: in 7 of 10 rounds one failed (its list removed
    under its ffmpeg, or read half-written). The same held for ``.mp4``/``.webm`` joins."""
    recipe = write_recipe(tmp_path, f"output: cast.{suffix}\nsegments:\n  - title: One\n    duration: 0.2\n"
                                    "  - title: Two\n    duration: 0.2\n")
    env = {"CASTKIT_FFMPEG": WHEEL_FFMPEG}
    first = castkit_process("build", recipe.name, "-q", cwd=tmp_path, env=env)
    assert first.wait(timeout=60) == 0, first.communicate()[1]  # the segments, cached once
    with av.open(str(tmp_path / f"cast.{suffix}")) as c:
        frames = sum(1 for _ in c.decode(video=0))
    for _ in range(3):
        procs = [castkit_process("build", recipe.name, "-q", "--force", cwd=tmp_path, env=env) for _ in range(4)]
        results = [(p.wait(timeout=60), p.communicate()[1].decode()) for p in procs]
        assert all(code == 0 for code, _ in results), results
    assert debris(tmp_path) == []
    with av.open(str(tmp_path / f"cast.{suffix}")) as c:
        assert sum(1 for _ in c.decode(video=0)) == frames


def test_a_join_list_carries_its_runs_pid_and_a_dead_runs_list_is_stale(tmp_path):
    dead = dead_pid()
    out = tmp_path / "cast.avi"
    assert _files.concat_list_path(out).name == f".cast.avi.{os.getpid()}.concat.txt"
    (tmp_path / f".cast.avi.{dead}.concat.txt").write_text("x")
    _files.concat_list_path(out).write_text("x")
    assert [p.name for p in _files.stale_partials(out)] == [f".cast.avi.{dead}.concat.txt"]


# --- 11.2 a source that changes during its encode never poisons the cache ------------------------


def test_a_source_changed_while_it_is_encoded_is_not_cached(tmp_path, long_clip, wheel_ffmpeg, cli, monkeypatch):
    """Seen failing before the fix: a capture truncated while ffmpeg read it gave exit 0 and a
    segment of frozen frames (333 here), cached under the identity the file had *before* the
    encode; with the original restored (same size and mtime) the next build served the bad
    segment. The identity is now taken again after the encode."""
    source = tmp_path / "long.ogv"
    shutil.copy(long_clip, source)
    original, stat_ = source.read_bytes(), source.stat()
    recipe = write_recipe(tmp_path, "output: cast.dv\nsegments:\n  - clip: long.ogv\n")
    # ffmpeg's encode of the capture starts after the capture has lost its second half.
    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -version "*|*" -v trace "*) exec "$REAL_FFMPEG" "$@";; esac\n'
        f'case " $* " in *segment-*) truncate -s {len(original) // 2} {shlex.quote(str(source))};; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'
    ))
    result = cli("build", recipe, "-q")
    assert result.code == 1, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "long.ogv: changed while it was being read; build again" in lines[0], result.err
    assert not (tmp_path / "cast.dv").exists()
    # The capture as it was, to the nanosecond: the next build encodes it whole.
    source.write_bytes(original)
    os.utime(source, ns=(stat_.st_atime_ns, stat_.st_mtime_ns))
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    with av.open(str(tmp_path / "cast.dv")) as c:
        lumas = [f.to_ndarray()[0].mean() for f in c.decode(video=0)]
    assert len(lumas) == 500
    # 15 fps in 25: 2 of every 5 frames repeat the one before; a held last frame repeats all.
    frozen = sum(1 for a, b in zip(lumas[250:], lumas[251:]) if a == b)
    assert frozen <= 110, f"{frozen} frozen frames in the second half: the truncated encode was served"
    assert debris(tmp_path) == []


# --- 11.10 an unreadable record is as if there were none ------------------------------------------


MANGLED_PARTS = {"a part without its size": [[1]], "a number for a part": [5], "a list of names": ["ab"],
                 "a size that is text": [["segment", "big"]], "an object": {"a": 1}, "true as a size": [["x", True]]}


@pytest.mark.parametrize("parts", MANGLED_PARTS, ids=list(MANGLED_PARTS))
def test_a_mangled_cast_manifest_is_treated_as_absent(tmp_path, wheel_ffmpeg, cli, parts):
    """Seen failing before the fix: a cast manifest (``cast-*.json``) that still matched the
    cast on disk but whose parts were malformed (``[[1]]``, ``[5]``) made every later
    ``--force`` build fail with "internal error", until the cache was removed by hand."""
    recipe = write_recipe(tmp_path, RECIPE_TEXT)
    assert cli("build", recipe, "-q").code == 0
    clean = (tmp_path / "cast.dv").read_bytes()
    (manifest,) = (tmp_path / ".castkit-cache").glob("cast-*.json")
    data = json.loads(manifest.read_text())
    data["parts"] = MANGLED_PARTS[parts]
    manifest.write_text(json.dumps(data))
    for _ in range(2):
        result = cli("build", recipe, "-q", "--force")
        assert result.code == 0, result.err
        no_traceback(result.err)
        assert (tmp_path / "cast.dv").read_bytes() == clean
    for record in ("[1]", '{"output": 5, "uses": 3, "pending": true}', '{"uses": [1, {"a": 2}]}', "\xff"):
        for path in (tmp_path / ".castkit-cache").glob("*-*.json"):
            path.write_text(record)
        for command in (["build", recipe, "-q", "--force"], ["cache", "prune", recipe]):
            result = cli(*command)
            assert result.code == 0, (record, command, result.err)
            no_traceback(result.err)
    assert (tmp_path / "cast.dv").read_bytes() == clean


# --- 11.12 a read-only cache: a fully cached build still builds ------------------------------------


def test_a_read_only_cache_still_gives_a_fully_cached_cast(tmp_path, tiny_clip, wheel_ffmpeg, cli, monkeypatch):
    """Seen failing before the fix: with every segment cached, a build into a read-only cache
    failed (exit 1) on writing its records of use, although the cast needs nothing written
    there. (Tests run as root, where chmod cannot make a folder read-only: the cache's
    temporary files are refused as a read-only filesystem refuses them.)"""
    import errno
    import tempfile

    shutil.copy(tiny_clip, tmp_path / "tiny.ogv")
    recipe = write_recipe(tmp_path, DAMAGE_RECIPE.format(suffix="dv", second="Two"))
    assert cli("build", recipe, "-q").code == 0
    cast = tmp_path / "cast.dv"
    clean = cast.read_bytes()
    cache = tmp_path / ".castkit-cache"
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    real = tempfile.mkstemp

    def read_only_cache(*args, **kwargs):
        if Path(kwargs.get("dir", "")).resolve() == cache.resolve():
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only_cache)
    for how in (["--force"], []):  # a cast up to date, then one joined afresh from the cache
        if not how:
            cast.unlink()
        result = cli("build", recipe, "-q", *how)
        assert result.code == 0, result.err
        notes = result.err.strip().splitlines()
        assert len(notes) == 1 and "note:" in notes[0] and "Read-only file system" in notes[0], result.err
        assert cast.read_bytes() == clean
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == before
    # What does need the cache (a segment to encode) fails in one clear line naming it.
    recipe.write_text(DAMAGE_RECIPE.format(suffix="dv", second="Three"))
    result = cli("build", recipe, "-q", "--force")
    assert result.code == 1, result.err
    errors = [line for line in result.err.splitlines() if "error:" in line]
    assert len(errors) == 1 and ".castkit-cache" in errors[0] and "Read-only file system" in errors[0], result.err
    assert cast.read_bytes() == clean


# --- 11. randomized faults: whatever stops a build, the user keeps a whole cast ---------------------


FAULT_SEED = 11
FAULT_ROUNDS = 12
FAULT_TITLES = ["One", "Uno", "Eins"]


def test_random_stops_never_leave_a_partial_cast_nor_a_process_nor_debris(tmp_path, tiny_clip, wheel_ffmpeg, cli):
    """Builds and patch rebuilds (a title edited between rounds) of a small cast, run as
    ``python -m castkit``, stopped at a random moment by ``kill -9``, SIGINT or SIGTERM. After
    each round the cast is absent, the previous one or the new one, byte for byte; no castkit
    or ffmpeg is left; after one more build nothing temporary is left, beside the cast or in
    the cache, and the cast is that of a clean build. Seen failing before the fixes of this
    issue: a stop during a patch left no cast; a killed run's temporary segment stayed in the
    cache for good."""
    import random

    references = {}
    for title in FAULT_TITLES:
        folder = tmp_path / f"reference-{title}"
        folder.mkdir()
        shutil.copy(tiny_clip, folder / "tiny.ogv")
        recipe = write_recipe(folder, DAMAGE_RECIPE.format(suffix="dv", second=title))
        assert cli("build", recipe, "-q").code == 0
        references[title] = (folder / "cast.dv").read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(tiny_clip, work / "tiny.ogv")
    cast = work / "cast.dv"
    rng = random.Random(FAULT_SEED)
    signals = [signal.SIGKILL, signal.SIGINT, signal.SIGTERM]
    title = FAULT_TITLES[0]
    for round_ in range(FAULT_ROUNDS):
        title = rng.choice(FAULT_TITLES)
        signum = rng.choice(signals)
        delay = rng.uniform(0.3, 1.2)  # python's start, probing, encoding, joining or patching
        where = f"seed {FAULT_SEED}, round {round_}: {signum.name} after {delay:.2f} s, title {title}"
        write_recipe(work, DAMAGE_RECIPE.format(suffix="dv", second=title))
        previous = cast.read_bytes() if cast.exists() else None
        proc = castkit_process("build", "cast.yaml", "-q", "--force", cwd=work,
                               env={"CASTKIT_FFMPEG": WHEEL_FFMPEG})
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        assert "Traceback" not in err.decode() and "internal error" not in err.decode(), (where, err)
        now = cast.read_bytes() if cast.exists() else None
        assert now is None or now in (previous, references[title]), f"{where}: a partial cast"
        wait_for(lambda: not processes_mentioning(str(work)), 3,
                 f"{where}: left running: {processes_mentioning(str(work))}")
    result = cli("build", work / "cast.yaml", "-q", "--force")
    assert result.code == 0, result.err
    assert cast.read_bytes() == references[title], f"seed {FAULT_SEED}: not the clean build's cast"
    assert debris(work) == [], f"seed {FAULT_SEED}"
