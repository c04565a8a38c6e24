"""Issue 31: ``zoom: follow``'s activity measured in the pauses analysis' run where a clip has
both (one decode of the take, not two), and kept in the cache: checked against the two runs
made apart, by counting the ffmpeg runs a build makes, and by decoding the cast."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG, write_recipe
from castkit.media.ffmpeg import Ffmpeg, run_reading
from castkit.media.probe import probe
from castkit.plan import activity as activity_module
from castkit.plan import pauses as pauses_module
from castkit.plan.activity import activity_chain, activity_command, activity_in
from castkit.plan.encode import Trim
from castkit.plan.pauses import analysis_command, parse

pytestmark = pytest.mark.e2e

W, H = 640, 360
# Typing at A (1-3 s) and at B (5-7 s), far apart; silence and a still screen from 3 to 5 s:
# a pause there, which `action: cut` cuts (less its margins).
TYPED = {"A": (40, 40, 1.0, 3.0), "B": (420, 290, 5.0, 7.0)}
CHAR_W, CHAR_H, STEP = 6, 10, 8


def _typing_filter() -> str:
    boxes = []
    for x0, y0, begin, end in TYPED.values():
        for i in range(round((end - begin) / 0.2)):
            boxes.append(f"drawbox=x={x0 + STEP * i}:y={y0}:w={CHAR_W}:h={CHAR_H}:color=white:t=fill:"
                         f"enable='gte(t,{begin + 0.2 * i:.1f})'")
    return ",".join(boxes)


def _typed_box(name: str) -> tuple[int, int, int, int]:
    x0, y0, begin, end = TYPED[name]
    return x0, y0, x0 + STEP * (round((end - begin) / 0.2) - 1) + CHAR_W, y0 + CHAR_H


@pytest.fixture(scope="module")
def typed(tmp_path_factory) -> Path:
    """8 s of typing at 640x360, 10 fps, with a tone that stops while the screen is still."""
    root = tmp_path_factory.mktemp("activity")
    return media.make(
        WHEEL_FFMPEG, root / "typed.ogv",
        "-f", "lavfi", "-i", f"color=black:size={W}x{H}:rate=10:duration=8,format=yuv420p,{_typing_filter()}",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=8:sample_rate=48000",
        "-af", "volume=enable='between(t,3,5)':volume=0",
        # Every frame a keyframe: the still screen decodes to the same picture throughout.
        "-c:v", "libtheora", "-q:v", "6", "-g", "1", "-c:a", "libvorbis",
    )


def _version(path: str) -> Ffmpeg:
    return Ffmpeg(path, "test", "9.0.2" if path == WHEEL_FFMPEG else "5.1")


def test_the_pauses_run_splits_the_decoded_picture_for_the_activity(typed):
    ffmpeg = _version(WHEEL_FFMPEG)
    info = probe(typed, ffmpeg)
    trim = Trim(Fraction(1), Fraction(6))
    chain = activity_chain(info, trim)
    assert chain == ("fps=5:start_time=0,trim=start=1:end=7,scale=320:-2:flags=area,format=gray,"
                     "tblend=all_mode=difference,scale=64:36:flags=area")
    argv = analysis_command(info, trim, None, Fraction(1), "still", ffmpeg, picture_chain=chain)
    sound = ("[0:a]aresample=48000:async=1:first_pts=0:min_hard_comp=0.01,"
             "atrim=start_sample=48000:end_sample=336000,asetpts=PTS-STARTPTS,apad=whole_len=288000,"
             "asetnsamples=n=960:p=0,astats=metadata=1:reset=1:measure_perchannel=none:"
             "measure_overall=RMS_level,ametadata=mode=print:key=lavfi.astats.Overall.RMS_level[a]")
    still = ("[still]scale=w='min(320,iw)':h=-2:flags=bilinear,fps=10,trim=start=1:end=7,"
             "freezedetect=n=0.00001:d=0.1[v]")
    assert argv[argv.index("-filter_complex") + 1] == ";".join(
        [sound, "[0:v]split=2[still][other]", still, f"[other]{chain}[picture]"])
    assert argv[argv.index("-filter_complex") + 2:] == [
        "-map", "[a]", "-map", "[v]", "-f", "null", "-",
        "-map", "[picture]", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    # `screen: any` measures only the sound for the pauses: the picture goes to the grid alone.
    argv = analysis_command(info, trim, None, Fraction(1), "any", ffmpeg, picture_chain=chain)
    assert argv[argv.index("-filter_complex") + 1] == f"{sound};[0:v]{chain}[picture]"
    assert "-vn" not in argv and "-skip_loop_filter" in argv


@pytest.mark.parametrize("screen", ["still", "any"])
def test_one_run_measures_what_two_runs_measure(typed, ffmpeg_bin, screen):
    ffmpeg = _version(ffmpeg_bin)
    info = probe(typed, ffmpeg)
    trim = Trim(Fraction(1, 2), Fraction(7))
    chain = activity_chain(info, trim)
    both = run_reading(analysis_command(info, trim, None, Fraction(1), screen, ffmpeg, picture_chain=chain),
                       typed, "both")
    pauses_alone = run_reading(analysis_command(info, trim, None, Fraction(1), screen, ffmpeg), typed, "pauses")
    activity_alone = run_reading(activity_command(info, trim, ffmpeg), typed, "activity")
    grid = activity_in(both.stdout, info, trim)
    assert grid.changes.shape == (34, 36, 64), "the changes between 7 s of frames at 5 a second, 64x36 cells"
    assert both.stdout == activity_alone.stdout
    assert grid.changes.max() > 10, "the typing shows in the grid"
    length = Fraction(7)
    combined = parse(both.stderr.decode(), length, screen == "still", trim.start)
    alone = parse(pauses_alone.stderr.decode(), length, screen == "still", trim.start)
    assert combined == alone
    assert len(combined.levels) == 350, "7 s of 20 ms windows"
    if screen == "still":
        # Still from the last typed character (2.8 s of the capture) to the first at B (5 s).
        assert all(any(a <= t <= b for a, b in combined.stills) for t in np.arange(2.4, 4.4, 0.05))


def test_a_trimmed_part_has_the_changes_of_the_whole_take_at_the_same_times(typed, ffmpeg_bin):
    """Each grid once, at its time: a part trimmed from 1 s has the whole take's changes from
    its sixth on (the take's frames 5 and 6 are 1.0 and 1.2 s), none repeated to fill the time
    before the trim."""
    ffmpeg = _version(ffmpeg_bin)
    info = probe(typed, ffmpeg)

    def changes(trim: Trim) -> np.ndarray:
        return activity_in(run_reading(activity_command(info, trim, ffmpeg), typed, "activity").stdout,
                           info, trim).changes

    whole, part = changes(Trim(Fraction(0), Fraction(8))), changes(Trim(Fraction(1), Fraction(6)))
    assert len(whole) == 39 and len(part) == 29
    assert np.array_equal(part, whole[5:34])
    # The first typed character (at 1.0 s) is the change from frame 4 (0.8 s) to frame 5.
    assert whole[:4].max() == 0 and whole[4].max() > 100


def test_a_picture_that_starts_late_has_its_changes_at_its_own_times(typed, ffmpeg_bin, tmp_path):
    """A recorder may start the picture after the sound: castkit shows the picture at its file
    times (the encode repeats its first frame back to 0), so its grid counts from 0 too."""
    late = media.make(WHEEL_FFMPEG, tmp_path / "late.mkv", "-itsoffset", "2", "-i", str(typed), "-i", str(typed),
                      "-map", "0:v", "-map", "1:a", "-c", "copy")
    ffmpeg = _version(ffmpeg_bin)
    info, late_info = probe(typed, ffmpeg), probe(late, ffmpeg)

    def changes(source, path: Path) -> np.ndarray:
        trim = Trim(Fraction(0), Fraction(8))
        return activity_in(run_reading(activity_command(source, trim, ffmpeg), path, "activity").stdout,
                           source, trim).changes

    on_time, shifted = changes(info, typed), changes(late_info, late)
    assert len(shifted) == len(on_time) == 39
    assert shifted[:10].max() == 0, "nothing changes before the picture starts"
    assert np.array_equal(shifted[10:], on_time[:29]), "each change 2 s (10 grids) later"


def _moves(out: str) -> list[str]:
    return [line.lstrip("# ").strip() for line in out.splitlines() if "camera:" in line]


def _runs(monkeypatch) -> list[str]:
    """What each analysis ffmpeg the build starts is doing."""
    runs: list[str] = []

    def counted(argv, path, doing):
        runs.append(doing)
        return run_reading(argv, path, doing)

    monkeypatch.setattr(pauses_module, "run_reading", counted)
    monkeypatch.setattr(activity_module, "run_reading", counted)
    return runs


RECIPE = """
    outputs:
      - {path: cast.mp4, height: 180, fps: 10}
    segments:
      - clip: typed.ogv
        PAUSES
        zoom: {follow: activity, max: MAX}
"""
PAUSES = "pauses: {screen: still, action: cut, margin: 0.25}"


def _recipe(folder: Path, max_zoom: str = "2", pauses: str = PAUSES) -> None:
    write_recipe(folder, RECIPE.replace("MAX", max_zoom).replace("PAUSES", pauses))


def test_a_clip_with_pauses_and_follow_decodes_its_take_once_and_keeps_both(tmp_path, typed, wheel_ffmpeg,
                                                                          cli, monkeypatch):
    (tmp_path / "typed.ogv").symlink_to(typed)
    _recipe(tmp_path)
    runs = _runs(monkeypatch)
    dry = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert dry.code == 0, dry.err
    assert runs == ["finding the pauses and the activity"], "one run for both"
    assert "segment 1: finding the pauses and the activity of typed.ogv (0:08.00)" in dry.err, dry.err
    moves = _moves(dry.out)
    assert moves, dry.out

    # The same moves as the activity measured alone (a clip without pauses, another cache).
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "typed.ogv").symlink_to(typed)
    _recipe(alone, pauses="speed: 1")
    runs.clear()
    result = cli("build", alone / "cast.yaml", "--dry-run")
    assert result.code == 0, result.err
    assert runs == ["finding the activity"]
    assert _moves(result.out) == moves

    # The cast: the pause cut, each typed place magnified and whole in view.
    runs.clear()
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    assert runs == ["finding the pauses and the activity"]
    with av.open(str(tmp_path / "cast.mp4")) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    # The pause, 3-5 s less its margins, rounded inwards to whole frames: 3.3-4.7 s cut.
    assert len(frames) == 66
    for t, name in ((2.8, "A"), (6.8 - 1.4, "B")):  # B's 6.8 s is 5.4 s of the cast
        frame = frames[round(t * 10)]
        rows = np.flatnonzero((frame > 128).any(axis=1))
        cols = np.flatnonzero((frame > 128).any(axis=0))
        x0, _, x1, _ = _typed_box(name)
        shown = (cols[-1] + 1 - cols[0]) / ((x1 - x0) * 320 / W)
        assert shown >= 1.5, f"{name} magnified {shown:.2f}x at {t} s of the cast"
        assert cols[0] > 0 and rows[0] > 0 and cols[-1] < 319 and rows[-1] < 179, f"{name} whole in view"

    # Kept: a rebuild, and a change of what is planned from the measurement, decode nothing.
    runs.clear()
    _recipe(tmp_path, "1.6")
    again = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert again.code == 0, again.err
    assert runs == [] and "finding" not in again.err, again.err
    assert _moves(again.out) != moves, "planned again with the new max"

    # A damaged activity entry is measured again, never planned from.
    [entry] = (tmp_path / ".castkit-cache").glob("activity-*.json")
    data = json.loads(entry.read_text())
    grid = bytearray(data["grid"].encode())
    grid[len(grid) // 2] = ord("A") if grid[len(grid) // 2] != ord("A") else ord("B")
    entry.write_text(json.dumps({"grid": grid.decode()}))
    damaged = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert damaged.code == 0, damaged.err
    assert runs == ["finding the activity"], "the pauses are still cached; the activity measured again"
    assert _moves(damaged.out) == _moves(again.out)


def test_a_trimmed_clip_is_followed_at_the_capture_s_times(tmp_path, typed, wheel_ffmpeg, cli):
    """A clip trimmed from 4 s (after A, the screen still) is followed on the capture's clock:
    to B before B's typing at 5 s, and back to the whole picture when the whole take's camera
    goes back (each grid at its time; they were late by the trim's start)."""
    (tmp_path / "typed.ogv").symlink_to(typed)
    _recipe(tmp_path, pauses="speed: 1")
    whole = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert whole.code == 0, whole.err
    _recipe(tmp_path, pauses="start: 4")
    trimmed = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert trimmed.code == 0, trimmed.err
    moves = _moves(trimmed.out)
    assert len(moves) == 2, trimmed.out  # to B, and back to the whole picture after it
    assert moves[1] == _moves(whole.out)[-1]
    start = float(moves[0].split()[1].split("-")[0])
    assert 4 <= start < 5, f"{moves[0]}: B is typed from 5 s; the camera looks ahead, never late"


def test_an_export_measures_the_activity_alone(tmp_path, typed, wheel_ffmpeg, cli, monkeypatch):
    """An export keeps the clip whole (its pauses are not exported): it measures only what its
    camera needs."""
    (tmp_path / "typed.ogv").symlink_to(typed)
    _recipe(tmp_path)
    runs = _runs(monkeypatch)
    result = cli("export", tmp_path / "cast.yaml", "-o", tmp_path / "edit.mlt")
    assert result.code == 0, result.err
    assert runs == ["finding the activity"]


def _long_take(root: Path, codec: str) -> Path:
    """12 s of typing at 320x180, 10 fps, keyframes every 3 s, and a hold (no picture stored
    from 5.5 to 7.5 s, as a recorder writes a still screen) across a part's start."""
    keys = ",".join(f"drawbox=x={8 + 5 * (i % 60)}:y={20 + 12 * (i // 60)}:w=4:h=8:color=white:t=fill:"
                    f"enable='gte(t,{0.2 * i:.1f})'" for i in range(60))
    video = (["-c:v", "libtheora", "-q:v", "6", "-g", "30"] if codec == "theora"
             else ["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-bf", "2"])
    return media.make(WHEEL_FFMPEG, root / f"long.{'ogv' if codec == 'theora' else 'mp4'}", "-f", "lavfi", "-i",
                      f"color=black:size=320x180:rate=10:duration=12,format=yuv420p,{keys},"
                      "select='not(between(t\\,5.5\\,7.5))'", "-fps_mode", "vfr", *video)


def _counting_runs(monkeypatch) -> list[list[str]]:
    runs: list[list[str]] = []

    def counted(argv, path, doing):
        runs.append(list(argv))
        return run_reading(argv, path, doing)

    monkeypatch.setattr(activity_module, "run_reading", counted)
    return runs


@pytest.mark.parametrize("codec", ["theora", "h264"])
def test_the_analysis_in_parts_writes_the_whole_runs_grids(tmp_path, monkeypatch, codec):
    """A long take is analysed in parts side by side, each decoding from a keyframe: the
    bytes are the whole run's, a hold across a part's start and a trim deep in the take too."""
    ffmpeg = _version(WHEEL_FFMPEG)
    info = probe(_long_take(tmp_path, codec), ffmpeg)
    monkeypatch.setattr(activity_module, "SPLIT_SECONDS", 2)
    monkeypatch.setattr(activity_module.os, "cpu_count", lambda: 4)
    runs = _counting_runs(monkeypatch)
    for trim in (Trim(Fraction(0), None), Trim(Fraction(13, 10), Fraction(9))):
        parts = activity_module.analysis_parts(info, trim)
        assert len(parts) == 4 and parts[0].seek is None and all(p.seek is not None for p in parts[1:])
        whole = run_reading(activity_command(info, trim, ffmpeg), info.path, "measuring").stdout
        runs.clear()
        assert activity_module.measure_activity(info, trim, ffmpeg) == whole
        assert len(runs) == 4  # the parts, each taken: no whole run after them


def test_a_part_whose_seek_landed_late_is_not_used(tmp_path, monkeypatch):
    """A part whose decode starts after the frame before its start (a demuxer that seeks
    late) says so by its first grid's time: the take is analysed in one run instead, and the
    grids are the whole run's."""
    ffmpeg = _version(WHEEL_FFMPEG)
    info = probe(_long_take(tmp_path, "h264"), ffmpeg)
    trim = Trim(Fraction(0), None)
    whole = run_reading(activity_command(info, trim, ffmpeg), info.path, "measuring").stdout
    monkeypatch.setattr(activity_module, "SPLIT_SECONDS", 2)
    monkeypatch.setattr(activity_module.os, "cpu_count", lambda: 2)
    made = activity_module.part_command

    def late(info, part, ffmpeg):  # an exact seek 1 s after the part's start: its frames begin there
        if part.seek is None:
            return made(info, part, ffmpeg)
        argv = made(info, replace(part, seek=int(part.start) + 1), ffmpeg)
        argv.remove("-noaccurate_seek")
        return argv

    monkeypatch.setattr(activity_module, "part_command", late)
    runs = _counting_runs(monkeypatch)
    assert activity_module.measure_activity(info, trim, ffmpeg) == whole
    assert len(runs) == 3 and runs[-1] == activity_command(info, trim, ffmpeg)
