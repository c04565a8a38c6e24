"""Issue 5: crop, speed, fades, voice-over replacement and the storyboard, checked by decoding."""

from __future__ import annotations

import textwrap
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import media
from castkit.recipe.reader import load_recipe
from castkit.errors import RecipeError
from helpers import WHEEL_FFMPEG, listing
from readers import channels, decode, frame_lumas, shown_at

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("editing")
    marker = media.make(
        WHEEL_FFMPEG, root / "marker.ogv", "-f", "lavfi", "-i",
        "color=black:size=640x480:rate=15:duration=2,"
        "drawbox=x=400:y=300:w=60:h=45:color=white:t=fill,format=yuv420p",
        "-c:v", "libtheora", "-q:v", "7",
    )
    voiced = media.theora(WHEEL_FFMPEG, root / "voiced.ogv", "320x240", 15, 4.0,
                          voice=(44100, 1, 4.0), pattern="luma")
    silent = media.theora(WHEEL_FFMPEG, root / "silent.ogv", "320x240", 15, 3.0)
    voice = media.make(WHEEL_FFMPEG, root / "voice.wav", "-f", "lavfi", "-i",
                       "sine=frequency=880:sample_rate=22050:duration=1.5")
    return {"marker": marker, "voiced": voiced, "silent": silent, "voice": voice}


def recipe(folder: Path, body: str) -> Path:
    path = folder / "cast.yaml"
    path.write_text("output: cast.dv\nsegments:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n")
    return path


def dominant_hz(samples: np.ndarray, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def pcm(path: Path) -> np.ndarray:
    chunks = []
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            chunks.append(channels(frame).astype(float).mean(axis=0))
    return np.concatenate(chunks)


def test_crop_fills_the_frame_with_the_region(tmp_path, sources, ffmpeg_bin, cli):
    # The marker (400..460 x 300..345) inside a 4:3 region 380,280 120x90: scaled x6 in DV
    # pixels horizontally (720/120) and x6.4 vertically (576/90).
    path = recipe(tmp_path, f"""
        - clip: {sources['marker']}
          crop: {{x: 380, y: 280, width: 120, height: 90}}
    """)
    assert cli("build", path, "-q").code == 0
    d = decode(tmp_path / "cast.dv", keep=(10,))
    assert d.frames == 50
    bright = d.stills[10] > 128
    rows, cols = np.flatnonzero(bright.any(axis=1)), np.flatnonzero(bright.any(axis=0))
    assert abs(cols[0] - 120) <= 4 and abs(cols[-1] + 1 - 480) <= 4
    assert abs(rows[0] - 128) <= 4 and abs(rows[-1] + 1 - 416) <= 4


def test_speed_two_halves_the_length_and_keeps_the_pitch(tmp_path, sources, ffmpeg_bin, cli):
    path = recipe(tmp_path, f"""
        - clip: {sources['voiced']}
          start: 1
          speed: 2
    """)
    assert cli("build", path, "-q").code == 0
    out = tmp_path / "cast.dv"
    d = decode(out)
    assert d.frames == 38  # 3 s at 2x: 1.5 s = 37.5 frames, to even
    assert d.samples == 38 * 1920
    assert dominant_hz(pcm(out)[4800:-4800]) == pytest.approx(440, abs=15), "pitch kept"
    # Frame k shows the source at 1 + 2k/25 s: frame numbers in brightness, 15 fps.
    shown = frame_lumas(sources["voiced"])
    for k in range(38):
        # At 2x a source frame at t lands in slot round(t x 12.5) of the sped-up timeline,
        # and the trim starts at its slot 12 (1 s in: 12.5, to even).
        expected = shown_at(shown, 12 + k, rate=12.5)
        assert abs(d.lumas[k] - expected) < 2.5, k


def test_fades_start_from_black_and_ramp_the_sound(tmp_path, sources, ffmpeg_bin, cli):
    path = recipe(tmp_path, f"""
        - title: Fading
          duration: 2
          fade_in: 1
          background: white
          color: black
        - clip: {sources['voiced']}
          duration: 2
          fade_in: 0.5
          fade_out: 0.5
    """)
    assert cli("build", path, "-q").code == 0
    out = tmp_path / "cast.dv"
    d = decode(out)
    assert d.frames == 100
    assert d.lumas[0] < 20, "the title fades in from black"
    assert d.lumas[12] < d.lumas[24] and d.lumas[30] > 200, "then reaches its white card"
    assert d.lumas[50] < 17.5 and d.lumas[99] < 17.5, "the clip starts from black, ends black"
    assert d.lumas[97] > d.lumas[98] > d.lumas[99], "fading out"
    rms = d.audio_rms
    assert rms[50] < rms[55] < rms[62] and rms[62] > 1000, "sound ramps up"
    assert rms[99] < rms[90] and rms[99] < 0.2 * rms[70], "and down"


def test_replacement_voice_is_heard_where_the_capture_was_silent(tmp_path, sources, ffmpeg_bin, cli):
    path = recipe(tmp_path, f"""
        - clip: {sources['silent']}
          audio: {sources['voice']}
        - clip: {sources['voiced']}
          duration: 1
          audio: none
    """)
    assert cli("build", path, "-q").code == 0
    out = tmp_path / "cast.dv"
    d = decode(out)
    assert d.frames == 75 + 25
    assert d.samples == 100 * 1920, "the 1.5 s voice padded to the 3 s clip"
    assert min(d.audio_rms[1:36]) > 1000 and max(d.audio_rms[39:75]) == 0
    assert dominant_hz(pcm(out)[4800:60000]) == pytest.approx(880, abs=15)
    assert max(d.audio_rms[75:]) == 0, "audio: none silences the capture"


def test_storyboard_has_one_tile_per_segment(tmp_path, sources, wheel_ffmpeg, cli):
    path = recipe(tmp_path, f"""
        - title: One
          duration: 1
        - clip: {sources['marker']}
          crop: {{x: 380, y: 280, width: 120, height: 90}}
        - clip: {sources['voiced']}
          speed: 2
        - title: Two
          background: "#ff0000"
    """)
    before = listing(tmp_path)
    result = cli("preview", path, "-o", tmp_path / "board.png", "-q")
    assert result.code == 0, result.err
    # No cast encoded, nothing else written but the cache's record of the board (which lets
    # the next preview replace it without --force).
    new = [name for name in listing(tmp_path) if name not in before]
    assert [n for n in new if not n.startswith(".castkit-cache")] == ["board.png"], new
    assert all(n == ".castkit-cache" or n.startswith(".castkit-cache/written-") for n in new
               if n.startswith(".castkit-cache")), new
    with Image.open(tmp_path / "board.png") as im:
        board = np.asarray(im.convert("RGB")).astype(int)
    # Tiles are 320x240 at 16 px spacing on a dark board, four to a row.
    tiles = [board[16:256, 16 + i * 336: 336 + i * 336] for i in range(4)]
    # The 2x clip's tile is its middle frame: source frame 30 (2 s at 15 fps), whose
    # brightness is 16 + 4 x 30 in video levels, shown in full-range RGB.
    expected = (16 + 4 * 30 - 16) * 255 / 219
    assert abs(tiles[2].mean() - expected) < 4
    red = tiles[3]
    assert red[5, 5, 0] > 200 and red[5, 5, 1] < 40, "the last tile is the red title card"
    marker = tiles[1][:, :, 0] > 128
    cols = np.flatnonzero(marker.any(axis=0))
    assert abs(cols[0] - 120 * 320 / 720) <= 3, "the crop shows in the tile"
    assert board.shape[1] == 16 + 4 * 336


@pytest.mark.parametrize(
    "body,expected",
    [
        ("- clip: {c}\n  speed: 0\n", "3:12: segment 1: speed 0 is outside 0.25 to 4"),
        ("- clip: {c}\n  speed: 10\n", "3:12: segment 1: speed 10 is outside 0.25 to 4"),
        ("- clip: {c}\n  fade_in: -1\n", "3:14: segment 1: fade_in: a time cannot be negative"),
        ("- title: x\n  duration: 2\n  fade_out: 3\n", "4:15: segment 1: fades (0:03.00) are longer than the title"),
        ("- clip: {c}\n  crop: {{x: 0, y: 0, width: 0, height: 10}}\n", "3:31: segment 1: crop.width must be more than zero"),
        ("- clip: {c}\n  crop: {{x: 1, y: 2}}\n", "3:11: segment 1: crop needs 'width'"),
    ],
)
def test_bad_editing_values_are_recipe_errors(tmp_path, sources, body, expected):
    path = tmp_path / "cast.yaml"
    path.write_text("segments:\n" + textwrap.indent(body.format(c=sources["silent"]), "  "))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    found = [f"{p.line}:{p.column}: {p.message}" for p in info.value.problems]
    assert any(p.startswith(expected) for p in found), found


def test_errors_found_by_probing_come_with_lines_and_nothing_is_encoded(tmp_path, sources, wheel_ffmpeg, cli):
    path = recipe(tmp_path, f"""
        - clip: {sources['marker']}
          crop: {{x: 600, y: 0, width: 100, height: 100}}
        - clip: {sources['silent']}
          fade_in: 2
          fade_out: 2
        - clip: {sources['silent']}
          audio: missing-voice.wav
    """)
    result = cli("build", path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 3, result.err
    assert ":4:11: crop 100x100 at 600,0 reaches outside " in lines[0] and "marker.ogv (640x480)" in lines[0]
    assert ":6:14: fades (0:04.00) are longer than the clip (0:03.00)" in lines[1]
    assert ":9:12: audio missing-voice.wav: no such file" in lines[2]
    assert listing(tmp_path) == ["cast.yaml"]


def test_a_sound_file_used_as_a_clip_is_a_recipe_error(tmp_path, sources, wheel_ffmpeg, cli):
    path = recipe(tmp_path, f"""
        - clip: {sources['silent']}
          audio: {sources['voice']}
        - clip: {sources['voice']}
    """)
    result = cli("build", path)
    assert result.code == 2, result.err
    assert ":5:11: " in result.err and "voice.wav: has no video stream" in result.err
    assert "Traceback" not in result.err and "internal" not in result.err
