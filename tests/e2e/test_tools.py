"""castkit doctor, castkit probe, finding ffmpeg, and python -m castkit."""

from __future__ import annotations

import json
import os
from fractions import Fraction
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import WHEEL_FFMPEG, ffmpeg_script


def test_doctor_checks_every_ffmpeg_present(ffmpeg_bin, cli):
    result = cli("doctor")
    assert result.code == 0, result.out
    assert ffmpeg_bin in result.out and "CASTKIT_FFMPEG" in result.out
    assert "all good" in result.out and "MISSING" not in result.out


def test_doctor_names_what_an_ffmpeg_lacks(tmp_path, cli, monkeypatch):
    # A real ffmpeg, except that its encoder list has no DV encoder.
    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -encoders "*) "$REAL_FFMPEG" "$@" | grep -v dvvideo; exit 0;; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'
    ))
    result = cli("doctor")
    assert result.code == 1
    assert "MISSING dvvideo" in result.out


def test_doctor_says_which_image_parts_an_ffmpeg_lacks(tmp_path, cli, monkeypatch):
    # A real ffmpeg without palettegen: every output but the images works.
    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -filters "*) "$REAL_FFMPEG" "$@" | grep -v palettegen; exit 0;; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'
    ))
    result = cli("doctor")
    assert result.code == 0, result.out
    assert "images   MISSING palettegen: no image outputs" in result.out and "all good" in result.out


@pytest.mark.parametrize("broken", ["crash", "hang"])
def test_doctor_says_when_a_listing_crashes_or_hangs(broken, tmp_path, cli, monkeypatch):
    """An ffmpeg that answers -version but crashes (or hangs) on -filters: one line that says
    so, exit 1; before, a crash read as every filter MISSING, and a hang ended, after 60 s, in
    "internal error: TimeoutExpired" (a fault campaign)."""
    import castkit.commands.doctor as doctor

    act = "kill -SEGV $$" if broken == "crash" else "exec sleep 30"
    ffmpeg_script(tmp_path, monkeypatch, (
        f'case " $* " in *" -filters "*) {act};; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'
    ))
    real = doctor.run_query
    monkeypatch.setattr(doctor, "run_query", lambda ffmpeg, args: real(ffmpeg, args, timeout=1))
    result = cli("doctor")
    assert result.code == 1, result
    said = result.err.strip().splitlines()
    assert said and ("-filters was killed by signal 11" in said[0] if broken == "crash"
                     else "-filters did not answer in 1 s" in said[0]), result.err
    assert "internal error" not in result.err and "MISSING" not in result.out


def test_a_missing_ffmpeg_is_named_with_a_hint(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("CASTKIT_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    result = cli("doctor")
    assert result.code == 1
    assert "no-such-ffmpeg" in result.err and "imageio-ffmpeg" in result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


def test_without_ffmpeg_on_path_the_wheel_is_used(monkeypatch):
    from castkit.media.ffmpeg import find_ffmpeg

    monkeypatch.delenv("CASTKIT_FFMPEG", raising=False)
    found = find_ffmpeg({"PATH": "/nonexistent"})
    assert found.found_by == "imageio-ffmpeg" and found.path == WHEEL_FFMPEG


def test_probe_describes_and_reports_json(media_files, ffmpeg_bin, cli):
    src = media_files.voice_1366
    human = cli("probe", src)
    assert human.code == 0
    assert "theora, 1366x768" in human.out and "vorbis, 22050 Hz, mono" in human.out
    data = json.loads(cli("probe", src, "--json").out)[0]
    assert data["video"]["width"] == 1366 and data["audio"]["sample_rate"] == 22050
    assert data["duration"] == pytest.approx(4.0, abs=0.01)


def test_probe_of_several_files_reports_each_bad_one(tmp_path, media_files, wheel_ffmpeg, cli):
    result = cli("probe", media_files.silent_1080, tmp_path / "gone.ogv")
    assert result.code == 2
    assert "1920x1080" in result.out and "gone.ogv: no such file" in result.err


def test_python_m_castkit_runs_and_errors_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "castkit", "convert", str(tmp_path / "x.ogv")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("castkit: error: ") and "x.ogv" in done.stderr
    assert "Traceback" not in done.stderr
    usage = subprocess.run([sys.executable, "-m", "castkit", "convert"], capture_output=True, text=True)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert Path(tmp_path).exists()


def test_the_library_names_are_importable_from_the_package():
    import castkit

    assert callable(castkit.convert) and callable(castkit.build) and callable(castkit.make_title)
    assert castkit.DvTarget("ntsc", "16:9").sar == Fraction(32, 27)
    assert issubclass(castkit.RecipeError, castkit.CastkitError) and castkit.RecipeError.exit_status == 2
    with pytest.raises(AttributeError):
        castkit.no_such_name  # noqa: B018


def test_the_ffmpeg_version_is_remembered_per_binary_and_a_doubtful_entry_is_never_trusted(tmp_path, monkeypatch):
    import shutil

    import castkit.media.ffmpeg as media_ffmpeg

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # A real ffmpeg, through a link: asked once, remembered under its real path.
    (tmp_path / "bin").mkdir()
    link = tmp_path / "bin" / "ffmpeg"
    link.symlink_to(WHEEL_FFMPEG)
    real = subprocess.run([WHEEL_FFMPEG, "-version"], capture_output=True, text=True).stdout.split()[2]
    assert media_ffmpeg._version_of(str(link)) == real
    entries = list((tmp_path / "xdg" / "castkit" / "ffmpeg-versions").iterdir())
    assert len(entries) == 1 and json.loads(entries[0].read_text())["version"] == real
    # A binary that is no ffmpeg at all (asking it fails), with a remembered answer of its own
    # identity: the answer is used, and nothing asked.
    fake = tmp_path / "bin" / "not-ffmpeg"
    shutil.copy("/bin/true", fake)
    identity = media_ffmpeg._binary_identity(str(fake))
    media_ffmpeg._remember_version(str(fake), identity, "6.0-remembered")
    assert media_ffmpeg._version_of(str(fake)) == "6.0-remembered"
    entry = media_ffmpeg._version_entry(identity[0])
    good = entry.read_text()
    # Doubtful entries are asked again (and this binary says it is no ffmpeg): one edited
    # without its seal, one cut short, one of a binary changed since (its modification time).
    for damage in (lambda: entry.write_text(good.replace("6.0-remembered", "7.1-remembered")),
                   lambda: entry.write_text(good[:40]),
                   lambda: (entry.write_text(good), os.utime(fake, ns=(0, 0)))):
        damage()
        with pytest.raises(ValueError, match="does not say it is ffmpeg"):
            media_ffmpeg._version_of(str(fake))
    # Scripts are never remembered: what they run may change while they do not.
    script = ffmpeg_script(tmp_path, monkeypatch, 'exec "$REAL_FFMPEG" "$@"\n')
    assert media_ffmpeg._binary_identity(str(script)) is None
    assert media_ffmpeg._version_of(str(script)) == real
    assert len(list(entry.parent.iterdir())) == 2
