"""Issue 25, transitions: the overlap of two segments as a short DV segment of its own, its
neighbours the cache entries they were and cut by bytes at the join. Read back with PyAV,
the DV timecode packs and libdv where installed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

from castkit.builder.build import build
from helpers import counting_runner
from readers import have, melt, playdv
from test_timecode_dv import dv_frames, frames_of, packs, timecode

pytestmark = pytest.mark.e2e


def write_recipe(folder: Path, text: str) -> Path:
    path = folder / "cast.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


CAST = """
    output: build/cast.dv
    loudness: off
    segments:
      - title: Dark
        duration: 2
        background: "#101010"
      - clip: bright.ogv
        transition: {{type: crossfade, duration: {seconds}}}
      - title: End
        duration: 1
        background: "#101010"
        transition: dip
"""


def lumas(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.to_ndarray(format="gray").mean()) for frame in container.decode(video=0)]


def test_a_crossfade_blends_its_neighbours_the_cast_is_shorter_by_the_overlaps_and_its_timecode_runs_on(
        tmp_path, bright, ffmpeg_bin):
    (tmp_path / "bright.ogv").symlink_to(bright)
    recipe = CAST.format(seconds=0.6).replace("output: build/cast.dv", "outputs: [build/cast.dv, build/cast.avi]")
    planned = build(write_recipe(tmp_path, recipe))
    cast = tmp_path / "build" / "cast.dv"
    # 50 + 50 + 25 frames, less 15 (0.6 s) and 12 (the default 0.5 s, 12.5 rounded to even).
    assert planned.frames == 50 + 50 + 25 - 15 - 12 == 98
    seen = lumas(cast)
    assert len(seen) == 98 and cast.stat().st_size == 98 * 144000
    dark, light = np.median(seen[:30]), np.median(seen[55:75])
    assert light - dark > 100
    overlap = seen[35:50]  # the title's last 15 frames crossing into the clip's first 15
    assert seen[34] == pytest.approx(dark, abs=2) and seen[50] == pytest.approx(light, abs=2)
    assert all(dark < v < light for v in overlap[1:]) and overlap[0] == pytest.approx(dark, abs=2)
    assert all(b > a for a, b in zip(overlap, overlap[1:])), "moving from one to the other"
    # dip: down through black and up into the end card
    dip = seen[73:85]
    assert min(dip) < dark - 5 and dip[0] == pytest.approx(light, abs=25)
    for n, frame in enumerate(frames_of(cast, 144000)):
        seconds, ff = divmod(n, 25)
        assert {timecode(p) for p in packs(frame, 0x13)} == {(0, seconds // 60, seconds % 60, ff)}, n
    with av.open(str(cast)) as container:  # the sound: every frame's 1920 samples, no gap
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples == 98 * 1920
    if have("playdv"):
        assert playdv(cast, tmp_path, video=False).audio_bytes > 0
    if have("melt"):
        assert melt(cast).length == 98
    # The AVI: the same frames (cut by the concat demuxer's in and out points), byte for byte.
    assert dv_frames(tmp_path / "build" / "cast.avi", ffmpeg_bin).read_bytes() == cast.read_bytes()


@pytest.mark.parametrize("kind", ["crossfade", "dip", "wipe"])
def test_an_ntsc_cast_has_its_transitions(tmp_path, bright, ffmpeg_bin, kind):
    """NTSC DV's 4:1:1 pictures: xfade mixes them as 4:4:4, which the DV encoder refuses.
    Seen before the fix: every NTSC transition failed the build (exit 1)."""
    (tmp_path / "bright.ogv").symlink_to(bright)
    recipe = CAST.format(seconds=0.5).replace("output: build/cast.dv", "target: ntsc-dv\n    output: build/cast.dv")
    planned = build(write_recipe(tmp_path, recipe.replace("type: crossfade", f"type: {kind}")))
    cast = tmp_path / "build" / "cast.dv"
    # 60 + 60 + 30 frames at 30000/1001, less two overlaps of about 15 (0.5 s).
    seen = lumas(cast)
    assert planned.frames == len(seen) and cast.stat().st_size == len(seen) * 120000
    assert 60 + 60 + 30 - 2 * 16 <= len(seen) <= 60 + 60 + 30 - 2 * 14
    dark, light = np.median(seen[:30]), np.median(seen[70:90])
    assert light - dark > 100
    overlap = seen[45:61]  # the title's last frames crossing into the clip's first
    assert overlap[-1] - overlap[0] > 30, f"from the title to the clip: {overlap}"


def test_changing_only_a_transition_s_duration_encodes_its_overlap_alone(tmp_path, bright, wheel_ffmpeg):
    (tmp_path / "bright.ogv").symlink_to(bright)
    recipe = write_recipe(tmp_path, CAST.format(seconds=0.6))
    first = counting_runner()
    build(recipe, runner=first)
    assert sorted(first.ran) == sorted([
        "segment 1: title 'Dark'", "segment 2: clip bright.ogv", "segment 3: title 'End'",
        "segment 2: crossfade from segment 1", "segment 3: dip from segment 2", "join 3 segments"])
    recipe.write_text(recipe.read_text().replace("duration: 0.6", "duration: 0.4"))
    again = counting_runner()
    planned = build(recipe, runner=again, force=True)
    assert again.ran == ["segment 2: crossfade from segment 1", "join 3 segments"]
    assert planned.frames == 125 - 10 - 12 and len(lumas(tmp_path / "build" / "cast.dv")) == 103
    fresh = tmp_path / "fresh.dv"
    build(recipe, output=fresh, use_cache=False)
    assert fresh.read_bytes() == (tmp_path / "build" / "cast.dv").read_bytes()


def test_transitions_that_cannot_be_made_are_all_said_at_their_lines(tmp_path, bright, cli):
    (tmp_path / "bright.ogv").symlink_to(bright)
    recipe = write_recipe(tmp_path, """
        outputs: [build/cast.dv, build/cast.mp4]
        segments:
          - title: Short
            duration: 0.4
          - clip: bright.ogv
            transition: {type: wipe, duration: 0.5}
          - title: End
            transition: {type: slide, duration: 3}
          - title: Bad
            transition: {type: spin}
    """)
    result = cli("build", recipe)
    assert result.code == 2
    lines = [line.strip().removeprefix("castkit: error: ") for line in result.err.splitlines()]
    # The MP4 makes transitions too (test_web_transitions): nothing is said of it.
    assert [line.split(": ", 1)[0].rsplit("cast.yaml:", 1)[1] for line in lines] == [
        "6:40", "8:41", "10:24"]
    assert "segment 2: the transition (0:00.50) is longer than segment 1 (0:00.40)" in lines[0]
    assert "segment 3: the transition (0:03.00) is longer than segment 2" in lines[1]
    assert "transition.type must be crossfade, dip, wipe, slide, not 'spin'" in lines[2]
    assert not (tmp_path / "build").exists()


def test_the_storyboard_shows_each_transition_and_starts_the_tile_where_it_overlaps(tmp_path, bright, wheel_ffmpeg):
    from castkit.commands.preview import plan_tiles
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.plan.check import check_recipe
    from castkit.recipe.reader import load_recipe

    (tmp_path / "bright.ogv").symlink_to(bright)
    ffmpeg = find_ffmpeg()
    checked = check_recipe(load_recipe(write_recipe(tmp_path, CAST.format(seconds=0.6))), ffmpeg)
    tiles, _ = plan_tiles(checked, ffmpeg, tmp_path)
    assert [t.transition for t in tiles] == [None, "crossfade 0.6 s", "dip 0.5 s"]
    assert [float(t.start) for t in tiles] == [0, 1.4, 2.92]  # 50 - 15 frames; + 50 - 12


def test_a_transition_longer_than_the_edge_chunk_takes_the_chunk_beside_it(tmp_path, bright, ffmpeg_bin,
                                                                           monkeypatch):
    """With 1 s chunks, a clip from 0.3 s begins with a chunk of 0.7 s: a 0.8 s crossfade into it
    needs more, so that chunk is joined to the next; the cast is the one an unchunked build makes."""
    (tmp_path / "bright.ogv").symlink_to(bright)
    recipe = CAST.format(seconds=0.8).replace("      - clip: bright.ogv\n", "      - clip: bright.ogv\n        start: 0.3\n")
    write_recipe(tmp_path, recipe)
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "1")
    planned = build(tmp_path / "cast.yaml")
    # 50 + 42 (1.7 s: 42.5, rounded to even) + 25 frames, less 20 (0.8 s) and 12.
    assert planned.frames == 50 + 42 + 25 - 20 - 12
    chunked = lumas(tmp_path / "build" / "cast.dv")
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "0")
    build(tmp_path / "cast.yaml", force=True, use_cache=False)
    assert chunked == lumas(tmp_path / "build" / "cast.dv")
    assert len(chunked) == planned.frames
