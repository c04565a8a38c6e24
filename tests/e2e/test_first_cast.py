"""A new user's first cast (issue 29): rebuilds without --force where castkit wrote the file,
voice-overs that land where the build puts them, exports that play as the build does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG, sha256, write_recipe
from readers import have

pytestmark = pytest.mark.e2e


def _copy(media: Path, folder: Path, name: str) -> Path:
    target = folder / name
    shutil.copyfile(media, target)
    return target


def tone(folder: Path, name: str, silence: float, seconds: float, total: float | None = None,
         hz: int = 440) -> Path:
    """A WAV voice: ``silence`` s of nothing, then a tone of ``seconds``, padded to ``total``."""
    out = folder / name
    chain = f"sine=frequency={hz}:sample_rate=48000:duration={seconds},volume=0.5"
    if silence:
        chain += f",adelay={int(silence * 1000)}:all=1"
    if total:
        chain += f",apad=whole_dur={total}"
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", chain, "-ac", "1", str(out)], check=True, timeout=60)
    return out


def pcm(path: Path) -> np.ndarray:
    """The decoded sound, mono, 48 kHz, as floats from -1 to 1 (ffmpeg, not castkit)."""
    done = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(path),
                           "-vn", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
                          check=True, capture_output=True, timeout=120)
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float64) / 32768


def onsets(sound: np.ndarray, quiet_before: float = 0.2) -> list[float]:
    """Seconds where a tone starts after at least ``quiet_before`` s of quiet (10 ms windows)."""
    window = 480
    rms = np.sqrt(np.mean(sound[: len(sound) // window * window].reshape(-1, window) ** 2, axis=1))
    loud = rms > 0.01  # the tones are at RMS 0.044 (a sine at 1/8, halved)
    found, quiet_run = [], int(quiet_before * 100)
    run = quiet_run  # the start counts as after quiet
    for n, is_loud in enumerate(loud):
        if is_loud and run >= quiet_run:
            found.append(n * window / 48000)
        run = 0 if is_loud else run + 1
    return found


def frames_of_dv(path: Path, standard_frame: int = 144000) -> int:
    return path.stat().st_size // standard_frame


# --- 1. outputs castkit made are castkit's to replace -----------------------------------------

RECIPE = """\
outputs: [build/cast.dv, {{path: build/cast.mp4, height: 120}}]
segments:
  - title: "{title}"
    duration: 1
  - clip: silent.ogv
    duration: 1
    chapter: The clip
"""


def test_a_rebuild_replaces_what_castkit_wrote_and_nothing_else(tmp_path, cli, media_files, wheel_ffmpeg):
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    recipe = write_recipe(tmp_path, RECIPE.format(title="First"))
    build = tmp_path / "build"
    first = cli("build", recipe, "-q")
    assert first.code == 0, first.err
    outputs = [build / "cast.dv", build / "cast.mp4", build / "cast.chapters.txt"]
    before = {p.name: sha256(p) for p in outputs}

    again = cli("build", recipe, "-q")  # no --force: these are castkit's own files
    assert again.code == 0, again.err
    assert {p.name: sha256(p) for p in outputs} == before
    fresh = cli("build", recipe, "-q", "--no-cache")  # encoded afresh, written again: the same
    assert fresh.code == 0, fresh.err
    assert {p.name: sha256(p) for p in outputs} == before

    # An edited recipe: replaced, no --force.
    recipe.write_text(recipe.read_text().replace("First", "Second"))
    edited = cli("build", recipe, "-q")
    assert edited.code == 0, edited.err
    assert sha256(build / "cast.dv") != before["cast.dv"]

    # A file the author changed by hand: refused, named, kept.
    (build / "cast.mp4").write_bytes(b"my own notes")
    refused = cli("build", recipe, "-q")
    assert refused.code == 2, refused.err
    assert "build/cast.mp4" in refused.err and "changed since castkit wrote it" in refused.err
    assert "--force" in refused.err and refused.err.count("\n") == 1, refused.err
    assert (build / "cast.mp4").read_bytes() == b"my own notes"

    # The same for a side file (the chapter list).
    assert cli("build", recipe, "-q", "--force").code == 0
    (build / "cast.chapters.txt").write_text("0:00 mine\n")
    refused = cli("build", recipe, "-q")
    assert refused.code == 2 and "cast.chapters.txt" in refused.err, refused.err
    assert (build / "cast.chapters.txt").read_text() == "0:00 mine\n"
    assert cli("build", recipe, "-q", "--force").code == 0

    # A file castkit never wrote at an output's path.
    theirs = build / "other.dv"
    theirs.write_bytes(b"someone else's")
    refused = cli("build", recipe, "-q", "-o", theirs)
    assert refused.code == 2 and "other.dv" in refused.err and "castkit did not write it" in refused.err
    assert theirs.read_bytes() == b"someone else's"

    # Replaced by another file of the same bytes (a copy back from a backup): still castkit's.
    copy = tmp_path / "backup.dv"
    shutil.copyfile(build / "cast.dv", copy)
    os.replace(copy, build / "cast.dv")
    assert cli("build", recipe, "-q").code == 0


def test_preview_and_export_replace_their_own_files(tmp_path, cli, media_files, wheel_ffmpeg):
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    recipe = write_recipe(tmp_path, RECIPE.format(title="First"))
    board = tmp_path / "board.png"
    assert cli("preview", recipe, "-q", "-o", board).code == 0
    again = cli("preview", recipe, "-q", "-o", board)
    assert again.code == 0, again.err
    board.write_bytes(b"a drawing of mine")
    refused = cli("preview", recipe, "-q", "-o", board)
    assert refused.code == 2 and "board.png" in refused.err and "changed since" in refused.err
    assert board.read_bytes() == b"a drawing of mine"

    edit = tmp_path / "cast.mlt"
    assert cli("export", recipe, "-q", "-o", edit).code == 0
    recipe.write_text(recipe.read_text().replace("First", "Second"))
    again = cli("export", recipe, "-q", "-o", edit)
    assert again.code == 0, again.err
    assert "Second" in edit.read_text()
    edit.write_text(edit.read_text() + "<!-- my edit -->")
    refused = cli("export", recipe, "-q", "-o", edit)
    assert refused.code == 2 and "cast.mlt" in refused.err and "changed since" in refused.err


def test_watch_never_replaces_a_file_castkit_did_not_write(tmp_path, media_files):
    """Issue 32, D8: the author points the output of a watched recipe at a file castkit never
    wrote; the watch says so and leaves it. Its own output it replaces with no --force, and
    Ctrl-C ends it with `castkit: stopped` (no "error"), status 130."""
    import queue
    import signal
    import sys
    import threading
    import time

    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    text = "output: build/{name}\nsegments:\n  - title: {title}\n    duration: 1\n"
    recipe = tmp_path / "cast.yaml"
    recipe.write_text(text.format(name="draft.dv", title="One"))
    (tmp_path / "build").mkdir()
    final = tmp_path / "build" / "final.dv"
    final.write_bytes(b"the author's own final cut")

    def save(body: str) -> None:  # as an editor saves: a new file renamed over the old one
        temp = tmp_path / ".cast.yaml.swp"
        temp.write_text(body)
        os.replace(temp, recipe)

    proc = subprocess.Popen([sys.executable, "-m", "castkit", "build", "cast.yaml", "--watch", "-q"],
                            cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "CASTKIT_FFMPEG": WHEEL_FFMPEG})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in proc.stderr],
                     daemon=True).start()
    seen: list[str] = []

    def wait_for(needle: str) -> str:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} in {seen}")

    try:
        wait_for("wrote build/draft.dv")
        wait_for("watching")
        save(text.format(name="final.dv", title="One"))
        error = wait_for("error:")
        assert "final.dv" in error and "castkit did not write it" in error and "--force" in error
        assert final.read_bytes() == b"the author's own final cut"
        draft = sha256(tmp_path / "build" / "draft.dv")
        save(text.format(name="draft.dv", title="Two"))
        wait_for("wrote build/draft.dv")
        assert sha256(tmp_path / "build" / "draft.dv") != draft
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    time.sleep(0.2)
    while not lines.empty():
        seen.append(lines.get())
    assert code == 130
    assert seen[-1] == "castkit: stopped", seen


# --- 2. voice-overs that land right ------------------------------------------------------------


def test_pauses_cut_the_silence_after_a_short_voice(tmp_path, cli, media_files, wheel_ffmpeg):
    """A 2 s voice on 6 s of picture: the padding after it is a pause, and cut."""
    clip = tmp_path / "take.ogv"
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=25:duration=6", "-c:v", "libtheora", str(clip)],
                   check=True, timeout=60)
    tone(tmp_path, "voice.wav", 0, 2)
    recipe = write_recipe(tmp_path, """
        output: build/cast.dv
        segments:
          - clip: take.ogv
            audio: voice.wav
            pauses: {action: cut, screen: any}
    """)
    result = cli("build", recipe)
    assert result.code == 0, result.err
    seconds = frames_of_dv(tmp_path / "build" / "cast.dv") / 25
    # The voice, a margin after it and one before the clip's end, each margin rounded to
    # whole frames inwards (one frame at most each): 2.56 s here, 6 s before.
    assert 2 <= seconds <= 2 + 2 * 0.25 + 2 / 25, (seconds, result.err)
    assert "pauses cut 3.4 s of 6.0 s" in result.err, result.err


def test_a_voice_longer_than_its_clip_warns_with_the_seconds_lost(tmp_path, cli, media_files, wheel_ffmpeg):
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    tone(tmp_path, "long.wav", 0, 3.5)
    recipe = write_recipe(tmp_path, """
        output: build/cast.dv
        segments:
          - clip: silent.ogv
            duration: 1
            audio: long.wav
    """)
    for args in (("--dry-run",), ("-q",)):
        result = cli("build", recipe, *args)
        assert result.code == 0, result.err
        warnings = [line for line in result.err.splitlines() if line.startswith("castkit: warning:")]
        assert len(warnings) == 1, result.err
        assert "long.wav" in warnings[0] and "2.5 s" in warnings[0], warnings


def test_one_narration_split_across_two_clips(tmp_path, cli, media_files, wheel_ffmpeg):
    """``audio: {file, from}``: the second clip plays the voice from 1.5 s; the tone that starts
    at 2.0 s in the voice is heard 0.5 s into that clip. No warning: nothing is lost."""
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    tone(tmp_path, "narration.wav", 0.3, 0.5, total=2.0)  # a tone at 0.3-0.8 s
    tone(tmp_path, "second.wav", 0, 0.1)
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                    "-i", str(tmp_path / "narration.wav"), "-f", "lavfi", "-i",
                    "sine=frequency=660:sample_rate=48000:duration=0.5,volume=0.5,"
                    "adelay=500:all=1,apad=whole_dur=1.5",
                    "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", "-ac", "1",
                    str(tmp_path / "both.wav")], check=True, timeout=60)
    # both.wav: tones at 0.3 s and 2.5 s, 3.5 s long.
    recipe = write_recipe(tmp_path, """
        output: build/cast.dv
        segments:
          - clip: silent.ogv
            duration: 2
            audio: both.wav
          - clip: silent.ogv
            duration: 1.5
            audio: {file: both.wav, from: 2}
    """)
    result = cli("build", recipe)
    assert result.code == 0, result.err
    assert "warning" not in result.err, result.err
    found = onsets(pcm(tmp_path / "build" / "cast.dv"))
    assert len(found) == 2, found
    assert abs(found[0] - 0.3) < 0.02 and abs(found[1] - (2 + 0.5)) < 0.02, found


def test_audio_from_past_the_voice_is_refused(tmp_path, cli, media_files, wheel_ffmpeg):
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    tone(tmp_path, "short.wav", 0, 1)
    recipe = write_recipe(tmp_path, """
        segments:
          - clip: silent.ogv
            audio: {file: short.wav, from: 3}
    """)
    result = cli("build", recipe, "--dry-run")
    assert result.code == 2 and "cast.yaml:4:36:" in result.err and "short.wav" in result.err, result.err


# --- 3. exports that play as the build does ----------------------------------------------------


@pytest.mark.skipif(not have("melt"), reason="melt not installed")
@pytest.mark.parametrize("suffix", [".mlt", ".kdenlive"])
def test_melt_plays_each_voice_at_the_casts_time(suffix, tmp_path, cli, wheel_ffmpeg):
    clip = tmp_path / "screen.mp4"
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=25:duration=4", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(clip)], check=True, timeout=60)
    tone(tmp_path, "one.wav", 0.2, 0.6)  # 0.8 s long, on a 2 s clip
    tone(tmp_path, "two.wav", 0.4, 1.0, total=1.6)
    recipe = write_recipe(tmp_path, """
        output: build/cast.dv
        segments:
          - clip: screen.mp4
            duration: 2
            audio: one.wav
          - clip: screen.mp4
            start: 2
            duration: 1.2
            audio: two.wav
          - clip: screen.mp4
            duration: 1
            audio: one.wav
    """)
    assert cli("build", recipe, "-q").code == 0
    edit = tmp_path / f"cast{suffix}"
    result = cli("export", recipe, "-q", "-o", edit)
    assert result.code == 0, result.err
    render = tmp_path / "render.dv"
    subprocess.run(["melt", str(edit), "-consumer", f"avformat:{render}", "real_time=0"],
                   check=True, capture_output=True, timeout=600)
    mine, theirs = onsets(pcm(tmp_path / "build" / "cast.dv")), onsets(pcm(render))
    assert len(mine) == 3, mine
    assert len(theirs) == len(mine) and all(abs(a - b) < 0.1 for a, b in zip(mine, theirs)), (mine, theirs)


# --- 4. chapters under the author's control ----------------------------------------------------

CHAPTERS = """\
outputs: [{{path: build/cast.mp4, height: 120}}, {{path: build/cast-small.webm, height: 120}}]
{top}segments:
  - title: "Checking a project from the terminal, step by step"
    duration: 1
  - title: "Not a chapter"
    duration: 1
    {optout}
  - clip: silent.ogv
    duration: 1
    chapter: "Installing the dependencies of the whole project"
"""


def _chapters(path: Path) -> list[str]:
    import av

    with av.open(str(path)) as container:
        return [c["metadata"]["title"] for c in container.chapters()]


def test_titles_can_opt_out_of_chapters_and_the_warning_says_so_once(tmp_path, cli, media_files, wheel_ffmpeg):
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    recipe = write_recipe(tmp_path, CHAPTERS.format(top="", optout="chapter: false"))
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    assert _chapters(tmp_path / "build" / "cast.mp4") == [
        "Checking a project from the terminal, step by step",
        "Installing the dependencies of the whole project"]
    warnings = [line for line in result.err.splitlines() if "YouTube" in line]
    assert len(warnings) == 1, result.err  # two web outputs, one cast: one warning
    assert "Checking a project from the terminal, step by step" in warnings[0]
    assert "Installing the dependencies of the whole project" in warnings[0]


def test_chapters_off(tmp_path, cli, media_files, wheel_ffmpeg):
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    recipe = write_recipe(tmp_path, CHAPTERS.format(top="chapters: off\n", optout=""))
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    assert _chapters(tmp_path / "build" / "cast.mp4") == []
    assert not (tmp_path / "build" / "cast.chapters.txt").exists()
    assert not (tmp_path / "build" / "cast-small.chapters.txt").exists()
    assert "YouTube" not in result.err


# --- 6. housekeeping ---------------------------------------------------------------------------


def test_the_cache_keeps_under_its_cap_across_ten_edits(tmp_path, cli, media_files, wheel_ffmpeg, monkeypatch):
    """Each edit of the title leaves a superseded 1 s DV segment (3.6 MB); with a cap of 12 MB
    the oldest unused go after each build, and the cast always builds from what is left."""
    monkeypatch.setenv("CASTKIT_CACHE_MAX", "12M")
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    recipe = write_recipe(tmp_path, RECIPE.format(title="Take 0").replace(
        "outputs: [build/cast.dv, {path: build/cast.mp4, height: 120}]", "output: build/cast.dv"))
    cache = tmp_path / ".castkit-cache"
    for n in range(10):
        recipe.write_text(recipe.read_text().replace(f"Take {n - 1}" if n else "Take 0", f"Take {n}"))
        result = cli("build", recipe, "-q")
        assert result.code == 0, result.err
        size = sum(p.stat().st_size for p in cache.iterdir() if p.is_file())
        assert size <= 12 * 1024 * 1024, (n, size)
    # The cast is made of what the cache kept: a rebuild encodes nothing.
    dry = cli("build", recipe, "--dry-run")
    assert "castkit title" not in dry.out and "-i" not in dry.out, dry.out


@pytest.mark.parametrize("text, size", [("3M", 3 * 1024**2), ("3m", 3 * 1024**2), ("2G", 2 * 1024**3),
                                        ("512K", 512 * 1024), ("1000", 1000), (" 5 MB ", 5 * 1024**2)])
def test_cache_max_is_read_with_its_units(monkeypatch, tmp_path, text, size):
    from castkit.cache.housekeeping import cache_cap

    monkeypatch.setenv("CASTKIT_CACHE_MAX", text)
    assert cache_cap(tmp_path) == size


def test_a_cache_max_that_means_nothing_is_a_usage_error(monkeypatch, tmp_path, cli, media_files, wheel_ffmpeg):
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    recipe = write_recipe(tmp_path, "segments:\n  - clip: silent.ogv\n")
    monkeypatch.setenv("CASTKIT_CACHE_MAX", "lots")
    result = cli("build", recipe, "-q")
    assert result.code == 2 and "CASTKIT_CACHE_MAX" in result.err and not (tmp_path / "build").exists()


def test_plurals(tmp_path, cli, wheel_ffmpeg):
    result = cli("title", "One", "--duration", "0.04", "-o", tmp_path / "one.dv")
    assert result.code == 0, result.err
    assert "(1 frame," in result.err, result.err


def test_otio_audio_clips_are_as_long_as_their_sound(tmp_path, cli, media_files, wheel_ffmpeg):
    otio = pytest.importorskip("opentimelineio")
    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    tone(tmp_path, "one.wav", 0, 0.6)
    tone(tmp_path, "two.wav", 0, 3)
    recipe = write_recipe(tmp_path, """
        segments:
          - clip: silent.ogv
            audio: one.wav
          - clip: silent.ogv
            audio: {file: two.wav, from: 0.5}
    """)
    edit = tmp_path / "cast.otio"
    assert cli("export", recipe, "-q", "-o", edit).code == 0
    track = otio.adapters.read_from_file(str(edit)).tracks[1]
    got = [(type(item).__name__, item.range_in_parent().start_time.to_frames(),
            item.source_range.start_time.to_frames(), item.duration().to_frames()) for item in track]
    # one.wav: 15 frames of its sound, then a gap to the clip's end (50 frames); two.wav from
    # frame 12 (0.5 s), the whole clip.
    assert got == [("Clip", 0, 0, 15), ("Gap", 15, 0, 35), ("Clip", 50, 12, 50)], got


def test_a_web_only_storyboard_has_the_web_masters_frame(tmp_path, cli, media_files, wheel_ffmpeg):
    from PIL import Image

    _copy(media_files.silent_1080, tmp_path, "silent.ogv")  # 1920x1080
    recipe = write_recipe(tmp_path, """
        output: build/cast.mp4
        segments:
          - clip: silent.ogv
            duration: 1
    """)
    board = tmp_path / "board.png"
    result = cli("preview", recipe, "-q", "-o", board)
    assert result.code == 0, result.err
    with Image.open(board) as image:
        # One 320-pixel tile of a 16:9 frame (180 high, not DV 4:3's 240), no letterbox bars.
        assert image.size == (16 + 320 + 16, 16 + 180 + 46 + 16), image.size
        tile = np.asarray(image.convert("L"))[16:196, 16:336]
        assert tile[:8].max() > 30 and tile[86:94].max() > 30  # picture, not black bars


# --- 5. a first-cast path ----------------------------------------------------------------------


def recording(folder: Path, name: str = "take.mkv") -> Path:
    """A 12 s screen recording whose picture shows its time: brightness 20 + 30 x the time in
    quarter seconds, held from 6 s on (a still screen); a tone until 6 s, then silence."""
    out = folder / name
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "color=c=black:s=320x240:r=10:d=12,format=yuv420p,"
                                         "geq=lum='20+30*min(floor(4*T)/4\\,6)':cb=128:cr=128",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6,apad=whole_dur=12",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libvorbis", "-shortest", str(out)],
                   check=True, timeout=60)
    return out


def test_init_writes_a_recipe_that_builds_and_a_contact_sheet_whose_times_match(tmp_path, cli, wheel_ffmpeg):
    from PIL import Image

    take = recording(tmp_path)
    recipe = tmp_path / "cast.yaml"
    result = cli("init", take, "-o", recipe)
    assert result.code == 0, result.err
    sheet = tmp_path / "take.sheet.png"
    with Image.open(sheet) as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    # Tiles 240x180, 4 px apart, 6 across: a frame every second, 0 to 12 s.
    def tile(k: int) -> np.ndarray:
        x, y = 4 + (k % 6) * 244, 4 + (k // 6) * 184
        return rgb[y:y + 180, x:x + 240]

    # Each tile the frame shown at its time (before, the last of the half second around it:
    # the tile labelled 0:05 showed 5.4 s).
    for k in range(12):
        luma = tile(k)[70:110, 20:80].mean()  # clear of the time, the marks and their words
        expected = (20 + 30 * min(k, 6) - 16) * 255 / 219
        assert abs(luma - expected) < 6, (k, luma, expected)
    still_bar, silent_bar = (lambda k: tile(k)[3:10, 20:60].mean(axis=(0, 1)),
                             lambda k: tile(k)[-10:-3, 20:60].mean(axis=(0, 1)))
    for k in (8, 9, 10):  # still and silent from 6 s: a blue bar on top, an orange one below
        assert still_bar(k)[2] > 150 and still_bar(k)[0] < 100, (k, still_bar(k))
        assert silent_bar(k)[0] > 180 and silent_bar(k)[2] < 80, (k, silent_bar(k))
    for k in (1, 2, 3):
        assert abs(still_bar(k)[2] - still_bar(k)[0]) < 10 and abs(silent_bar(k)[0] - silent_bar(k)[2]) < 10

    text = recipe.read_text()
    assert "clip: take.mkv" in text and "take.sheet.png" in text
    built = cli("build", recipe, "-q")  # as written, no edit
    assert built.code == 0, built.err
    assert (tmp_path / "build" / "cast.dv").stat().st_size == (4 + 12 + 3) * 25 * 144000
    assert (tmp_path / "build" / "cast.mp4").exists()
    # Asked again: the recipe is the author's now; the sheets are castkit's to replace.
    again = cli("init", take, "-o", recipe)
    assert again.code == 2 and "cast.yaml: already exists" in again.err
    assert cli("init", take, "-o", tmp_path / "other.yaml", "-q").code == 0
    # From another folder too: the sheet's record is beside the sheet, not the recipe.
    elsewhere = cli("init", take, "-o", tmp_path / "sub" / "deeper" / "c.yaml", "-q")
    assert elsewhere.code == 0, elsewhere.err


def test_init_writes_names_its_recipe_reads_back(tmp_path, cli, wheel_ffmpeg, monkeypatch):
    """A capture named "~x.mkv" is written "./~x.mkv" (the reader takes a leading ~ for a home
    folder) and the recipe plans as it is; a tab in a name, which a recipe's paths cannot hold,
    is refused in one line (a fault campaign: init wrote recipes its own reader rejected)."""
    monkeypatch.chdir(tmp_path)
    recording(tmp_path, "~x.mkv")
    assert cli("init", "~x.mkv", "-o", "cast.yaml", "-q").code == 0
    assert "clip: \"./~x.mkv\"" in (tmp_path / "cast.yaml").read_text()
    planned = cli("build", "cast.yaml", "--dry-run")
    assert planned.code == 0, planned.err
    recording(tmp_path, "a\tb.mkv")
    refused = cli("init", "a\tb.mkv", "-o", "tab.yaml")
    assert refused.code == 2 and "a tab in a file name" in refused.err, refused.err
    assert len(refused.err.strip().splitlines()) == 1 and not (tmp_path / "tab.yaml").exists()


def test_init_of_a_capture_smaller_than_a_web_frame_writes_a_recipe_that_builds(tmp_path, cli, wheel_ffmpeg,
                                                                                 monkeypatch):
    """Seen failing before the fix (a fault campaign): init of a 2x2 capture wrote an MP4
    output at the capture's size, which the recipe's own check refused (a web frame needs 64
    pixels a side). The MP4 is now written at 360 lines, said in a comment."""
    monkeypatch.chdir(tmp_path)
    media.make(WHEEL_FFMPEG, tmp_path / "tiny.mp4", "-f", "lavfi", "-i", "testsrc=size=2x2:rate=10:duration=1",
               "-pix_fmt", "yuv444p", "-c:v", "libx264")
    assert cli("init", "tiny.mp4", "-o", "cast.yaml", "-q").code == 0
    text = (tmp_path / "cast.yaml").read_text()
    assert "{path: build/cast.mp4, height: 360}" in text
    assert "# start: 0:00.00 " in text  # a start hint inside the 1 s capture (it said 0:05)
    built = cli("build", "cast.yaml", "-q")
    assert built.code == 0, built.err
    with av.open(str(tmp_path / "build" / "cast.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (360, 360)


def test_help_recipe_names_every_key_of_the_schema(cli):
    from castkit.recipe.schema import recipe_schema

    result = cli("help", "recipe")
    assert result.code == 0
    lines = result.out.splitlines()
    keys = {line.split()[0] for line in lines if line.startswith("  ")}
    schema = recipe_schema()
    wanted = set(schema["properties"])
    for definition in schema["$defs"].values():
        for option in [definition, *definition.get("anyOf", [])]:
            wanted |= set(option.get("properties", {}))
    assert wanted and wanted <= keys, wanted - keys
    assert all(len(line.split(None, 1)) == 2 for line in lines if line.startswith("  ")), "a line each"


def test_what_a_failed_build_finished_is_castkits_to_replace(tmp_path, cli, media_files, monkeypatch):
    """The web join fails: its chapter list is not left behind (issue 32, D4: a cast's sidecar
    files only with their cast), and the rerun builds everything without --force."""
    from helpers import ffmpeg_script

    _copy(media_files.silent_1080, tmp_path, "silent.ogv")
    recipe = write_recipe(tmp_path, RECIPE.format(title="First"))
    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *cast.mp4*) sleep 2; echo "the join failed" >&2; exit 1;; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'))
    failed = cli("build", recipe, "-q")
    assert failed.code == 1 and "the join failed" in failed.err, failed.err
    assert not (tmp_path / "build").exists() or not list((tmp_path / "build").iterdir()), failed.err
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    again = cli("build", recipe, "-q")
    assert again.code == 0, again.err
    assert (tmp_path / "build" / "cast.mp4").exists() and (tmp_path / "build" / "cast.dv").exists()


def test_messages_name_files_by_their_normalised_path(tmp_path, cli, monkeypatch, wheel_ffmpeg):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipes").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "demo.dv").write_text("mine")
    (tmp_path / "recipes" / "demo.yaml").write_text(
        "output: ../build/demo.dv\nsegments:\n  - clip: ../captures/missing.ogv\n  - title: A\n")
    missing = cli("build", "recipes/demo.yaml", "-q")
    assert missing.code == 2 and ": captures/missing.ogv: no such file" in missing.err, missing.err
    (tmp_path / "recipes" / "demo.yaml").write_text("output: ../build/demo.dv\nsegments:\n  - title: A\n")
    exists = cli("build", "recipes/demo.yaml", "-q")
    assert exists.code == 2 and exists.err.startswith("castkit: error: build/demo.dv: castkit did not"), exists.err
    assert ".." not in missing.err + exists.err
