"""`castkit export` of transitions, the music bed and overlays (issues 25 and 30) to the MLT
(Shotcut) and Kdenlive projects, rendered by melt (the editors' own engine) and read back
with PyAV and numpy: the render's length is the cast's, a crossfade's frames are blends, a
wipe's are the two pictures side by side, the music steps down under the narration by the
duck, a callout's colour is inside its box only while it is shown."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG
from readers import channels, have

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not have("melt"), reason="melt not installed")]

SUFFIXES = [".mlt", ".kdenlive"]
WIDTH, HEIGHT = 720, 576  # PAL DV, the projects' profile


def write(folder: Path, text: str) -> Path:
    path = folder / "cast.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def clip(folder: Path, name: str, colour: str, seconds: float, sound: str) -> Path:
    return media.make(WHEEL_FFMPEG, folder / name, "-f", "lavfi", "-i",
                      f"color=c={colour}:size=320x180:rate=25:duration={seconds}", "-f", "lavfi", "-i", sound,
                      "-t", str(seconds), "-c:v", "libtheora", "-q:v", "8", "-c:a", "libvorbis")


def export_and_render(cli, recipe: Path, suffix: str) -> Path:
    edit = recipe.parent / "edits" / f"cast{suffix}"
    result = cli("export", recipe, "-o", edit, "--force")
    assert result.code == 0, result.err
    out = recipe.parent / f"render-{suffix[1:]}.dv"
    subprocess.run(["melt", "-quiet", str(edit), "-consumer", f"avformat:{out}", "real_time=0"],
                   check=True, capture_output=True, timeout=120)
    return out


def pictures(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24").astype(int) for frame in container.decode(video=0)]


# --- transitions --------------------------------------------------------------------------------
BLUE, RED, GREEN = np.array([32, 64, 192]), np.array([192, 64, 32]), np.array([32, 192, 64])


@pytest.fixture(scope="module")
def transitions(tmp_path_factory, wheel_ffmpeg_module):
    folder = tmp_path_factory.mktemp("export-transitions")
    for name, colour, hz in (("blue", "0x2040c0", 440), ("red", "0xc04020", 660), ("green", "0x20c040", 880)):
        clip(folder, f"{name}.ogv", colour, 2, f"sine=frequency={hz}:sample_rate=48000:duration=2")
    recipe = write(folder, """
        output: build/cast.dv
        loudness: off
        segments:
          - clip: blue.ogv
          - clip: red.ogv
            transition: {type: crossfade, duration: 0.4}
          - clip: green.ogv
            transition: {type: wipe, duration: 0.4}
    """)
    from castkit.cli import main
    assert main(["build", "-q", str(recipe)]) == 0
    return recipe


@pytest.fixture(scope="module")
def wheel_ffmpeg_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
        yield WHEEL_FFMPEG


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_crossfade_and_a_wipe_render_as_castkit_casts_them(transitions, suffix, cli, wheel_ffmpeg):
    cast = pictures(transitions.parent / "build" / "cast.dv")
    frames = pictures(export_and_render(cli, transitions, suffix))
    # 50 + 50 + 50 frames less the two overlaps of 10: the cast's length, exactly.
    assert len(cast) == 130 and len(frames) == len(cast)
    middle = (HEIGHT // 2, WIDTH // 2)
    assert np.abs(frames[20][middle] - BLUE).max() < 16 and np.abs(frames[65][middle] - RED).max() < 16
    assert np.abs(frames[120][middle] - GREEN).max() < 16
    # The crossfade (frames 40-49): blends moving from blue to red, as the cast's frames do.
    reds = [frames[k][middle][0] for k in range(38, 52)]
    assert all(b >= a - 2 for a, b in zip(reds, reds[1:])), reds
    for k in (43, 45, 47):
        for theirs in (frames[k][middle], cast[k][middle]):
            share = (theirs[0] - BLUE[0]) / (RED[0] - BLUE[0])  # how far from blue to red
            assert 0.15 < share < 0.85, (k, theirs)
            assert abs(theirs[2] - (BLUE[2] + share * (RED[2] - BLUE[2]))) < 16  # a blend, not a third colour
    # The wipe (frames 80-89): the two pictures side by side, the incoming one from the right.
    left, right = frames[85][HEIGHT // 2, 40], frames[85][HEIGHT // 2, WIDTH - 40]
    assert np.abs(left - RED).max() < 16 and np.abs(right - GREEN).max() < 16, (left, right)


# --- the music bed ------------------------------------------------------------------------------
MUSIC_HZ, VOICE_HZ = 220, 440


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export-music")
    # The narration: a tone from 2 s to 4 s of a 6 s take (the speech castkit ducks under).
    clip(folder, "talk.ogv", "0x808080", 6,
         f"sine=frequency={VOICE_HZ}:sample_rate=48000:duration=6,volume='between(t,2,4)':eval=frame")
    media.make(WHEEL_FFMPEG, folder / "bed.ogg", "-f", "lavfi", "-i",
               f"sine=frequency={MUSIC_HZ}:sample_rate=48000:duration=2.5", "-c:a", "libvorbis")
    return write(folder, """
        output: build/cast.dv
        music: {file: bed.ogg, level: -24, duck: -12}
        segments:
          - clip: talk.ogv
    """)


def amplitude(sound: np.ndarray, start: float, end: float, hz: int) -> float:
    """The amplitude of the ``hz`` tone in [start, end) s: the median over windows of 0.1 s
    (a whole number of cycles of either tone: the other is orthogonal to it there; the
    median leaves out the window where the looped music file starts again, out of phase)."""
    found = []
    for a in np.arange(start, end - 0.099, 0.1):
        chunk = sound[int(a * 48000):int(a * 48000) + 4800]
        t = np.arange(len(chunk)) / 48000
        found.append(2 * np.hypot((chunk * np.sin(2 * np.pi * hz * t)).mean(),
                                  (chunk * np.cos(2 * np.pi * hz * t)).mean()))
    return float(np.median(found))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_music_bed_is_ducked_under_the_narration(music, suffix, cli, wheel_ffmpeg):
    with av.open(str(export_and_render(cli, music, suffix))) as container:
        sound = np.concatenate([channels(frame)[0] for frame in container.decode(audio=0)]) / 32768.0
    assert abs(len(sound) / 48000 - 6) < 0.05
    free = amplitude(sound, 0.5, 1.5, MUSIC_HZ)  # nobody speaks
    under = amplitude(sound, 2.3, 3.7, MUSIC_HZ)  # under the narration, past the attack
    after = amplitude(sound, 4.8, 5.8, MUSIC_HZ)  # released again, in the music's third round
    assert amplitude(sound, 2.3, 3.7, VOICE_HZ) > 0.05  # the narration is there
    assert abs(20 * np.log10(under / free) - (-12)) < 2, (free, under)
    assert abs(20 * np.log10(after / free)) < 1, (free, after)
    # Its level where nobody speaks: -24 LUFS (a stereo sine's loudness, K-weighting about 0 dB
    # at 220 Hz).
    assert abs(-0.691 + 20 * np.log10(free) - (-24)) < 2, free


# --- overlays -----------------------------------------------------------------------------------
CALLOUT = np.array([255, 224, 102])  # #ffe066
CROP = (20, 10, 240, 135)  # x, y, width, height of the 320x180 capture


@pytest.fixture(scope="module")
def callout(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export-overlays")
    clip(folder, "flat.ogv", "0x4060a0", 3, "anullsrc=r=48000:cl=stereo")
    return write(folder, """
        output: build/cast.dv
        segments:
          - clip: flat.ogv
            crop: {x: 20, y: 10, width: 240, height: 135}
            overlays:
              - text: "Go"
                at: 1.0
                until: 2.0
                fade: 0
                position: {x: 60, y: 40}
                style: {background: "#ffe066", color: "#111111", size: 20}
    """)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_callout_shows_in_its_box_only_while_shown(callout, suffix, cli, wheel_ffmpeg):
    frames = pictures(export_and_render(cli, callout, suffix))
    assert len(frames) == 75
    # The callout's box (its top left at 60, 40 of the capture; castkit's own layout for its
    # size), through the crop and the scaling to the 720x576 frame.
    from castkit.recipe.reader import read_recipe
    from castkit.titles.overlays import layout
    recipe, _ = read_recipe(callout)
    box = layout(recipe.segments[0].overlays[0], (320, 180))
    sx, sy = WIDTH / CROP[2], HEIGHT / CROP[3]
    x0, y0 = (box.x - CROP[0]) * sx, (box.y - CROP[1]) * sy
    x1, y1 = x0 + box.width * sx, y0 + box.height * sy

    def coloured(frame: np.ndarray) -> np.ndarray:
        return np.abs(frame - CALLOUT).max(axis=2) < 24

    for k in (28, 37, 47):  # 1.12 s, 1.48 s, 1.88 s: shown
        ys, xs = np.nonzero(coloured(frames[k]))
        assert len(xs) > 0.5 * (x1 - x0) * (y1 - y0), k
        assert xs.min() >= x0 - 6 and xs.max() <= x1 + 6 and ys.min() >= y0 - 6 and ys.max() <= y1 + 6, k
    for k in (10, 22, 53, 70):  # before and after: the capture's own colour there
        assert not coloured(frames[k]).any(), k
        assert np.abs(frames[k][int(y0) + 4, int(x0) + 4] - [64, 96, 160]).max() < 16
