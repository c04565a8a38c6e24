"""The fault campaign of issue 32: each defect it found, reproduced through the command line
(castkit run as a subprocess, as a user runs it) and checked with independent readers.

Every test here failed before its fix. Media are tiny and made here by ffmpeg's own sources.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import av
import imageio_ffmpeg
import pytest

pytestmark = pytest.mark.e2e

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
PY = sys.executable
CAMPAIGN = Path(__file__).resolve().parents[2] / "benchmarks" / "fault_campaign.py"


# --- helpers ----------------------------------------------------------------------------------


def castkit(*args, cwd: Path, timeout: float = 120, env: dict | None = None,
            memory: int | None = None) -> subprocess.CompletedProcess:
    """``castkit ARGS`` as a user runs it; ``memory``: an address-space limit in bytes."""
    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([PY, "-m", "castkit", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, errors="replace", timeout=timeout, env={**os.environ, **(env or {})},
                          preexec_fn=limit, stdin=subprocess.DEVNULL)


# Runs castkit from a small Python of its own and reports castkit's peak resident set. Measured
# straight from pytest, the peak was pytest's: a forked child's peak starts from its parent's
# resident set (Linux keeps the old one's at exec), and pytest's reached 430 MB late in the suite.
_LAUNCHER = """
import os, resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (3_000_000_000, 3_000_000_000))
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss * 1024))
code = os.waitstatus_to_exitcode(status)
if code < 0:
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def measured(args, cwd: Path, timeout: float = 120) -> tuple[subprocess.CompletedProcess, int]:
    """``castkit ARGS`` and its peak memory (bytes of resident set), killed after ``timeout``
    seconds (then its status is -9) or past 3 GB."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        proc = subprocess.Popen([PY, "-c", _LAUNCHER, peak.name, PY, "-m", "castkit", *map(str, args)],
                                cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        texts = [f.read().decode("utf-8", "replace") for f in (out, err)]
        written = peak.read()
    return subprocess.CompletedProcess(args, proc.returncode, *texts), int(written or 0)


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr


def recipe(folder: Path, text: str, name: str = "cast.yaml") -> Path:
    path = folder / name
    text = textwrap.dedent(text).lstrip("\n")
    if "loudness:" not in text:  # last, so that line numbers are the text's own
        text += "loudness: off\n"
    path.write_text(text, encoding="utf-8")
    return path


def make(out: Path, *args: str) -> Path:
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args,
                    str(out)], check=True, timeout=120)
    return out


def capture(out: Path, size: str = "160x120", seconds: float = 2, sound: str = "sine") -> Path:
    """A small capture at 25 fps with a sine (or digitally silent: ``sound="silence"``) track."""
    audio = ("sine=frequency=440:sample_rate=48000" if sound == "sine"
             else "anullsrc=r=48000:cl=stereo")
    return make(out, "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
                "-f", "lavfi", "-t", str(seconds), "-i", audio,
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-shortest")


def odd_capture(out: Path, size: str) -> Path:
    """A capture of any size, odd ones too (PNG pictures in Matroska keep RGB)."""
    return make(out, "-f", "lavfi", "-i", f"color=c=gray:size={size}:rate=25:duration=1",
                "-c:v", "png", "-pix_fmt", "rgb24")


def frames_of(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if ".castkit-cache" not in p.parts}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return capture(tmp_path_factory.mktemp("media") / "take.mp4")


@pytest.fixture
def here(tmp_path, clip) -> Path:
    (tmp_path / "take.mp4").symlink_to(clip)
    return tmp_path


# --- D15: a batch never writes over any of its recipes' sources --------------------------------


def test_d15_batch_output_is_another_recipes_source(here):
    """b.yaml's output is a.yaml's capture: even with --force, b is refused and the capture
    keeps its bytes (the check was per recipe, not per batch)."""
    victim = capture(here / "victim.mp4")
    before = victim.read_bytes()
    recipe(here, """
        output: a.dv
        segments:
          - clip: victim.mp4
    """, "a.yaml")
    recipe(here, """
        output: victim.mp4
        segments:
          - title: Overwrites a's capture
            duration: 0.2
    """, "b.yaml")
    result = castkit("build", "--force", "-q", "a.yaml", "b.yaml", cwd=here)
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert victim.read_bytes() == before
    assert "b.yaml" in result.stderr and "victim.mp4" in result.stderr
    assert (here / "a.dv").exists()  # the innocent recipe is built


# --- D3: captions are a regular file of bounded size --------------------------------------------


@pytest.mark.parametrize("kind", ["device", "fifo", "sparse"])
def test_d3_captions_never_a_device_fifo_or_huge_file(here, kind):
    if kind == "device":
        captions = "/dev/zero"
    elif kind == "fifo":
        os.mkfifo(here / "cues.srt")
        captions = "cues.srt"
    else:
        with open(here / "cues.srt", "wb") as f:
            f.truncate(1 << 30)  # 1 GiB, sparse
        captions = "cues.srt"
    recipe(here, f"""
        output: cast.dv
        segments:
          - clip: take.mp4
            captions: {captions}
    """)
    started = time.monotonic()
    result, peak = measured(["build", "--dry-run", "cast.yaml"], here, timeout=30)
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started < 20
    assert peak < 400_000_000
    assert "cast.yaml:4:" in result.stderr and "captions" in result.stderr


# --- D9: --watch stops on the first SIGINT or SIGTERM --------------------------------------------


def slow_ffmpeg(folder: Path, seconds: float, when: str = "*") -> Path:
    """A stand-in ffmpeg that sleeps ``seconds`` before an encode whose arguments match the
    shell pattern ``when``, then runs the real one."""
    script = folder / "bin" / "ffmpeg"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case " $* " in *" -version "*) exec "{FFMPEG}" "$@";; esac
        case " $* " in {when}) trap 'kill $!; exit 143' TERM INT; sleep {seconds} & wait $!;; esac
        exec "{FFMPEG}" "$@"
    """))
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_d9_watch_stops_on_the_first_signal(here, sig):
    fake = slow_ffmpeg(here, 30, "*-progress*")
    recipe(here, """
        output: cast.dv
        segments:
          - clip: take.mp4
    """)
    proc = subprocess.Popen([PY, "-m", "castkit", "build", "--watch", "cast.yaml"], cwd=here,
                            env={**os.environ, "CASTKIT_FFMPEG": str(fake)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # the build is sleeping in its encode
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "watching" not in err.split("stopped")[-1]


# --- D1: a segment shorter than one frame is a recipe error, in build and export ---------------


@pytest.fixture(scope="module")
def silent_take(tmp_path_factory) -> Path:
    return capture(tmp_path_factory.mktemp("silent") / "silent.mp4", sound="silence")


@pytest.mark.parametrize("case", ["pauses", "speed", "fps"])
@pytest.mark.parametrize("command", ["build", "export"])
def test_d1_zero_frame_segments_are_recipe_errors(here, silent_take, case, command):
    (here / "silent.mp4").symlink_to(silent_take)
    text = {
        "pauses": """
            output: cast.dv
            segments:
              - clip: silent.mp4
                pauses: {action: cut, margin: 0, screen: any}
        """,
        "speed": """
            output: cast.dv
            segments:
              - clip: take.mp4
                duration: 0.04
                speed: 4
        """,
        "fps": """
            outputs: [{path: cast.mp4, fps: 1}]
            segments:
              - title: Short
                duration: 0.5
        """,
    }[case]
    recipe(here, text)
    args = ["build", "-q", "cast.yaml"] if command == "build" else ["export", "cast.yaml", "-o", "cast.mlt"]
    result = castkit(*args, cwd=here)
    no_traceback(result)
    if command == "export" and case == "pauses":
        # Pauses are not exported (the clip is whole): nothing short, a correct project.
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2, result.stderr
    assert "cast.yaml:" in result.stderr
    assert not (here / "cast.dv").exists() and not (here / "cast.mp4").exists()
    assert not (here / "cast.mlt").exists()


# --- D7, D5, D6: text from the recipe ----------------------------------------------------------


@pytest.mark.parametrize("text", ['"\\ud800"', '"Bell\\a"', '"\\e[31mred"', '"nul\\x7f"'])
@pytest.mark.parametrize("command", ["build --dry-run", "export .mlt", "export .kdenlive",
                                     "export .edl", "export .otio", "export .smil"])
def test_d7_d5_bad_characters_in_a_title_are_recipe_errors(here, text, command):
    recipe(here, f"""
        output: cast.dv
        segments:
          - title: {text}
            duration: 0.2
          - clip: take.mp4
            chapter: Part one
    """)
    verb, what = command.split()
    args = ["build", "--dry-run", "cast.yaml"] if verb == "build" else ["export", "cast.yaml", "-o", f"cast{what}"]
    result = castkit(*args, cwd=here)
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "cast.yaml:3:" in result.stderr, result.stderr


@pytest.mark.parametrize("field", ["title", "subtitle", "chapter"])
def test_d7_lone_surrogate_anywhere(here, field):
    seg = {"title": '- title: "a\\udc80b"', "subtitle": '- {title: A, subtitle: "\\ud83d"}',
           "chapter": '- {clip: take.mp4, chapter: "x\\udfff"}'}[field]
    recipe(here, f"output: cast.dv\nsegments:\n  {seg}\n")
    result = castkit("build", "--dry-run", "cast.yaml", cwd=here)
    no_traceback(result)
    assert result.returncode == 2 and "cast.yaml:3:" in result.stderr, result.stderr


HOSTILE = 'Tom & Jerry <b>\\"quoted\\"</b>\\tx\\nline two\\n\\n003  AX003    V     C        00:00:00:00 00:00:01:00 00:00:00:00 00:00:01:00'


def test_d5_exports_are_well_formed_and_hold_the_text(here):
    recipe(here, f"""
        output: cast.dv
        segments:
          - title: "{HOSTILE}"
            duration: 0.2
          - clip: take.mp4
    """)
    for suffix in (".mlt", ".kdenlive", ".smil"):
        result = castkit("export", "cast.yaml", "-o", f"cast{suffix}", cwd=here)
        no_traceback(result)
        assert result.returncode == 0, result.stderr
        root = ET.parse(here / f"cast{suffix}").getroot()  # a real XML parser
        texts = [v for el in root.iter() for v in (el.text or "", *el.attrib.values())]
        if suffix != ".smil":  # Kino's SMIL names files only
            assert any("Tom & Jerry <b>" in t for t in texts), suffix
    result = castkit("export", "cast.yaml", "-o", "cast.otio", cwd=here)
    assert result.returncode == 0, result.stderr
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(here / "cast.otio"))
    assert timeline.tracks[0][0].name.startswith("Tom & Jerry")


def test_d6_a_title_cannot_forge_an_edl_event(here):
    recipe(here, f"""
        output: cast.dv
        segments:
          - title: "{HOSTILE}"
            duration: 0.2
          - clip: take.mp4
    """)
    result = castkit("export", "cast.yaml", "-o", "cast.edl", cwd=here)
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    lines = (here / "cast.edl").read_text().splitlines()
    events = [line for line in lines if line[:3].isdigit()]
    assert [e[:3] for e in events] == ["001", "002"], lines
    names = [line for line in lines if line.startswith("* FROM CLIP NAME:")]
    assert len(names) == 2 and names[0].startswith("* FROM CLIP NAME: Tom & Jerry"), lines
    # Every line is an event, a comment, a header, an M2 line or empty.
    for line in lines:
        assert (not line or line[:3].isdigit() or line.startswith(("* ", "TITLE:", "FCM:", "M2"))), line


# --- D13: one file named twice ----------------------------------------------------------------


def test_d13_one_output_by_two_names(here):
    recipe(here, """
        outputs: [out/c.mp4, {path: out/../out/c.mp4, height: 120}]
        segments:
          - title: Twice
            duration: 0.2
    """)
    result = castkit("build", "-q", "cast.yaml", cwd=here)
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "cast.yaml:1:" in result.stderr
    assert not (here / "out" / "c.mp4").exists()


# --- D2: fades against the length pauses leave -------------------------------------------------


@pytest.fixture(scope="module")
def gappy_take(tmp_path_factory) -> Path:
    """4 s: sound for 0.5 s, digital silence for 3 s, sound for 0.5 s."""
    out = tmp_path_factory.mktemp("gappy") / "gappy.mp4"
    return make(out, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
                "-f", "lavfi", "-i",
                "sine=frequency=440:sample_rate=48000:duration=4,"
                "volume=enable='between(t,0.5,3.5)':volume=0",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-shortest")


def test_d2_fades_checked_against_the_length_after_pauses(here, gappy_take):
    (here / "gappy.mp4").symlink_to(gappy_take)
    recipe(here, """
        output: cast.dv
        segments:
          - clip: gappy.mp4
            pauses: {action: cut, screen: any}
            fade_in: 1.5
            fade_out: 2
    """)
    result = castkit("build", "-q", "cast.yaml", cwd=here)
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "cast.yaml:5:" in result.stderr and "fades" in result.stderr  # at fade_in
    assert not (here / "cast.dv").exists()


# --- D4: an over-long caption cue is caught at check time ---------------------------------------


def test_d4_overlong_caption_cue_is_refused_before_encoding(here):
    (here / "cues.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\n" + "x" * 70_000 + "\n")
    recipe(here, """
        outputs: [cast.mp4]
        segments:
          - clip: take.mp4
            captions: cues.srt
    """)
    result = castkit("build", "-q", "cast.yaml", cwd=here)
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "cast.yaml:4:" in result.stderr and "cues.srt" in result.stderr
    assert files_in(here) == {"take.mp4", "cues.srt", "cast.yaml"}


# --- D14: web masters of captures too small (or thin) for the encoders --------------------------


@pytest.mark.parametrize("size", ["2x2", "1x9", "4000x1"])
@pytest.mark.parametrize("suffix", [".webm", ".mp4"])
def test_d14_bad_capture_sizes_are_caught_at_check_time(here, size, suffix):
    odd_capture(here / "odd.mkv", size)
    recipe(here, f"""
        outputs: [cast{suffix}]
        segments:
          - title: Hello
            duration: 0.2
          - clip: odd.mkv
    """)
    result = castkit("build", "-q", "cast.yaml", cwd=here)
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "cast.yaml:" in result.stderr
    cache = here / ".castkit-cache"
    assert not cache.exists() or not list(cache.glob("segment-*")), "encoded before the error"


# --- D16: preview of a long recipe in bounded memory -------------------------------------------


def test_d16_preview_of_many_segments_is_paged_in_bounded_memory(here):
    count = 300  # one board of them was 30 megapixels; 10,000 filled memory
    segments = "".join(f"  - {{title: 'Card {n}', duration: 0.04}}\n" for n in range(count))
    recipe(here, f"output: cast.dv\nsegments:\n{segments}")
    result, peak = measured(["preview", "cast.yaml", "-o", "board.png"], here, timeout=600)
    no_traceback(result)
    assert peak < 400_000_000
    assert result.returncode == 0, result.stderr
    from PIL import Image

    pages = sorted(here.glob("board*.png"))
    assert len(pages) > 1
    for page in pages:
        with Image.open(page) as im:
            assert im.width * im.height < 20_000_000


# --- D11: an address that is not a Dask scheduler ----------------------------------------------


def _serve(answer: bytes | None) -> tuple[socket.socket, threading.Event]:
    """A TCP server on a free local port that accepts and either says nothing (``None``) or
    writes ``answer`` (and closes) to whatever it reads."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()
    held = []

    def run() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            if answer is not None:
                try:
                    conn.settimeout(2)
                    conn.recv(65536)
                except OSError:
                    pass
                try:
                    conn.sendall(answer)
                    conn.close()
                except OSError:
                    pass
        for conn in held:
            conn.close()
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server, stop


@pytest.mark.parametrize("answer", [None, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                                    b"SSH-2.0-OpenSSH_9.2\r\n"], ids=["silent", "http", "ssh"])
def test_d11_scheduler_address_that_is_not_dask(here, answer):
    pytest.importorskip("distributed")
    server, stop = _serve(answer)
    port = server.getsockname()[1]
    recipe(here, """
        output: cast.dv
        segments:
          - title: Farm
            duration: 0.2
    """)
    try:
        started = time.monotonic()
        result = castkit("build", "-q", "--scheduler", f"tcp://127.0.0.1:{port}", "cast.yaml",
                         cwd=here, timeout=60)
        took = time.monotonic() - started
    finally:
        stop.set()
    no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr
    assert took < 9, took  # 5 s to say so, and Python's start


# --- D12: the scheduler dies mid-build ---------------------------------------------------------


def test_d12_scheduler_killed_mid_build_is_exit_1_in_one_line(here, tmp_path_factory):
    pytest.importorskip("distributed")
    import shutil

    dask = shutil.which("dask", path=str(Path(PY).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("no `dask` command")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    fake = slow_ffmpeg(here, 20, "*.partial*")  # the workers' encodes last
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 env={**os.environ, "CASTKIT_FFMPEG": str(fake)})
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)
    worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                               "--no-dashboard", "--host", "127.0.0.1"], **quiet)
    recipe(here, """
        output: cast.dv
        segments:
          - title: Farm
            duration: 0.2
          - clip: take.mp4
    """)
    try:
        import distributed

        with distributed.Client(address, timeout="20s") as client:
            client.wait_for_workers(1, timeout=30)
        build = subprocess.Popen([PY, "-m", "castkit", "build", "-q", "--scheduler", address,
                                  "cast.yaml"], cwd=here, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "CASTKIT_FFMPEG": str(fake)})
        time.sleep(6)  # connected, the encodes sleeping on the worker
        scheduler.send_signal(signal.SIGKILL)
        _, err = build.communicate(timeout=90)
    finally:
        for proc in (worker, scheduler):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if build.poll() is None:
            build.kill()
            build.communicate()
    assert "Traceback" not in err, err
    assert build.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and address in lines[0], err
    assert not (here / "cast.dv").exists()


# --- D10: concurrent builds on one cold cache share cards and segments -------------------------


def test_d10_concurrent_builds_on_a_cold_shared_cache(here):
    for n in range(2):
        recipe(here, f"""
            output: out/cast{n}.dv
            segments:
              - title: Course intro
                subtitle: shared by both
                duration: 0.4
              - title: Part {n}
                duration: 0.2
        """, f"cast{n}.yaml")
    failures = []
    for round_ in range(6):
        cache = here / f"cache{round_}"
        env = {**os.environ, "CASTKIT_CACHE_DIR": str(cache)}
        procs = [subprocess.Popen([PY, "-m", "castkit", "build", "-q", "--force", f"cast{n}.yaml"],
                                  cwd=here, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for n in range(2)]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                failures.append(err)
    assert not failures, failures


# --- D17: a stop during the joins says what was written ----------------------------------------


def test_d17_stop_during_the_joins_says_what_was_written(here):
    # The join of cast.mp4 sleeps; cast.webm's is done by then.
    fake = slow_ffmpeg(here, 30, "*concat*cast.mp4*")
    recipe(here, """
        outputs: [cast.webm, cast.mp4]
        segments:
          - clip: take.mp4
            chapter: One
            captions: cues.srt
    """)
    (here / "cues.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    proc = subprocess.Popen([PY, "-m", "castkit", "build", "-q", "cast.yaml"], cwd=here,
                            env={**os.environ, "CASTKIT_FFMPEG": str(fake)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (here / "cast.webm").exists():
            time.sleep(0.1)
        assert (here / "cast.webm").exists()
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    written = sorted(p.name for p in here.iterdir() if p.name.startswith("cast.") and p.name != "cast.yaml")
    assert "cast.mp4" not in written
    assert frames_of(here / "cast.webm") == 60  # 2 s at 30 fps
    assert "no output was written" not in err
    for name in written:
        assert name in err, (name, err)


# --- the campaign, in a short form ------------------------------------------------------------


def test_fault_campaign_short_form(tmp_path):
    """benchmarks/fault_campaign.py for 25 s: recipe mutations, builds stopped at random
    moments, builds sharing a cache with prunes; every invariant holds (its exit status 0).
    CASTKIT_CAMPAIGN_SEED replays a seed it printed."""
    seed = os.environ.get("CASTKIT_CAMPAIGN_SEED", "32")
    result = subprocess.run([PY, str(CAMPAIGN), "--seconds", "25", "--seed", seed,
                             "--keep", str(tmp_path / "campaign")],
                            capture_output=True, text=True, errors="replace", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 violations" in result.stdout


def test_d4_a_cast_whose_join_fails_leaves_no_sidecar_files(here):
    """In a batch, a cast whose join failed left its .srt/.vtt beside nothing, and the rerun
    refused them as existing files; now sidecars are written after their cast, if it is."""
    fake = here / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case " $* " in *concat*bad.mp4*) echo "join refused" >&2; exit 1;; esac
        exec "{FFMPEG}" "$@"
    """))
    fake.chmod(0o755)
    (here / "cues.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    for name in ("good", "bad"):
        recipe(here, f"""
            outputs: [{name}.mp4]
            segments:
              - clip: take.mp4
                captions: cues.srt
                chapter: One
        """, f"{name}.yaml")
    result = castkit("build", "-q", "good.yaml", "bad.yaml", cwd=here,
                     env={"CASTKIT_FFMPEG": str(fake)})
    no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert (here / "good.mp4").exists() and (here / "good.srt").exists()
    assert not [p.name for p in here.glob("bad.*") if p.name != "bad.yaml"], result.stderr
    result = castkit("build", "-q", "bad.yaml", cwd=here)  # the rerun, the real ffmpeg
    assert result.returncode == 0, result.stderr
