"""Issue 25, sound: a clip's gain, the music bed ducked under the narration, read back from the
outputs by the wheel ffmpeg and numpy (castkit's own code measures nothing here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG

pytestmark = pytest.mark.e2e
RATE = 48000


def write_recipe(folder: Path, text: str) -> Path:
    path = folder / "cast.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def samples(path: Path) -> np.ndarray:
    """The sound of a file, mono, float, 48 kHz, as the wheel ffmpeg decodes it."""
    raw = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                          "-map", "0:a:0", "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's sound, as the wheel ffmpeg measures it."""
    out = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
                          "-af", "ebur128=peak=true", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    summary = out[out.rfind("Summary:"):]
    return (float(re.search(r"I:\s+(-?[0-9.]+) LUFS", summary)[1]),
            float(re.search(r"Peak:\s+(-?[0-9.]+|-inf) dBFS", summary)[1]))


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sound-media")
    return media.theora(WHEEL_FFMPEG, root / "tone.ogv", "320x180", 15, 2.0, voice=(48000, 2, 2.0))


def test_a_clip_gain_lowers_that_clip_alone_through_the_loudness_step(tmp_path, tone, wheel_ffmpeg, cli):
    (tmp_path / "tone.ogv").symlink_to(tone)
    recipe = write_recipe(tmp_path, """
        outputs: [build/cast.dv, build/cast.mp4]
        segments:
          - clip: tone.ogv
          - clip: tone.ogv
            gain: -6
    """)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    for name in ("cast.dv", "cast.mp4"):
        sound = samples(tmp_path / "build" / name)
        assert abs(len(sound) - 4 * RATE) < 2048, name
        # The middle of each clip, away from the joins and the AAC's edges.
        first, second = sound[int(0.4 * RATE):int(1.6 * RATE)], sound[int(2.4 * RATE):int(3.6 * RATE)]
        assert rms_db(first) - rms_db(second) == pytest.approx(6, abs=0.2), name
    integrated, peak = ebur128(tmp_path / "build" / "cast.mp4")
    assert integrated == pytest.approx(-16, abs=1) and peak <= -1


# --- music ------------------------------------------------------------------------------------

MUSIC_HZ = 1000  # the bed: a steady tone, told from the 300 Hz voice by frequency
WINDOW = 480  # 10 ms at 48 kHz: 100 Hz bins, the tone in bin 10 and the voice in bin 3


def tone_levels(sound: np.ndarray) -> np.ndarray:
    """The bed's level (dB) in each 10 ms window: its bin of a Hann-windowed FFT."""
    count = len(sound) // WINDOW
    frames = sound[:count * WINDOW].reshape(count, WINDOW) * np.hanning(WINDOW)
    return 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)[:, MUSIC_HZ * WINDOW // RATE]) + 1e-9)


def stretch_loudness(path: Path, start: float, end: float) -> float:
    out = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
                          "-af", f"atrim={start}:{end},ebur128", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    return float(re.search(r"I:\s+(-?[0-9.]+) LUFS", out[out.rfind("Summary:"):])[1])


# Two phrases (a 300 Hz voice with 50 ms ramps): 1.0-2.5 s and 4.0-5.0 s of a 6 s take.
SPEECH = ("0.3*sin(2*PI*300*t)*(clip((t-1)/0.05\\,0\\,1)*clip((2.5-t)/0.05\\,0\\,1)"
          "+clip((t-4)/0.05\\,0\\,1)*clip((5-t)/0.05\\,0\\,1))")


@pytest.fixture(scope="module")
def music_media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("music-media")
    take = media.make(WHEEL_FFMPEG, root / "take.mkv", "-f", "lavfi", "-i", "color=gray:size=320x180:rate=15:duration=6",
                      "-f", "lavfi", "-i", f"aevalsrc=exprs='{SPEECH}':s=48000:d=6:c=stereo",
                      "-c:v", "libtheora", "-c:a", "flac", "-shortest")
    # 1.5 s of a loud tone (about -9 LUFS): castkit sets its level and loops it.
    bed = media.make(WHEEL_FFMPEG, root / "bed.flac", "-f", "lavfi", "-i",
                     f"sine=frequency={MUSIC_HZ}:sample_rate=44100:duration=1.5", "-af", "volume=0.5")
    return {"take": take, "bed": bed}


MUSIC = """
    outputs: [build/cast.dv, build/cast.mp4]
    music:
      file: bed.flac
      level: -24
      duck: -12
    segments:
      - title: Music alone
        duration: 2
      - clip: take.mkv
"""


def test_music_is_ducked_under_the_narration_at_its_level_and_the_mix_meets_the_target(
        tmp_path, music_media, ffmpeg_bin, cli):
    for path in music_media.values():
        (tmp_path / path.name).symlink_to(path)
    recipe = write_recipe(tmp_path, MUSIC)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    dv = tmp_path / "build" / "cast.dv"
    levels = tone_levels(samples(dv))
    assert len(levels) == 800  # 8 s
    free = np.median(levels[20:180])  # the title: music alone
    under = np.median(levels[330:430])  # 3.3-4.3 s: inside the first phrase (cast time)
    between = np.median(levels[510:570])  # 5.1-5.7 s: the pause between the phrases
    assert under - free == pytest.approx(-12, abs=2)
    assert between - free == pytest.approx(0, abs=1)
    # No step: the envelope moves at most 0.6 dB in 10 ms (12 dB over 0.2 s), the tone's own
    # window-to-window wobble aside.
    assert np.max(np.abs(np.diff(levels[5:-5]))) <= 1.5
    # Where it ducks: down from 0.2 s before speech starts (3.0 s), up 0.5 s after it ends.
    assert np.median(levels[270:278]) - free == pytest.approx(0, abs=1)  # 2.7-2.78 s: not yet
    assert levels[300] - free == pytest.approx(-12, abs=2)
    assert levels[455] - free < -6  # 4.55 s: still rising after the phrase ended at 4.5 s
    assert stretch_loudness(dv, 0.1, 1.9) == pytest.approx(-24, abs=2)
    for name in ("cast.dv", "cast.mp4"):
        integrated, peak = ebur128(tmp_path / "build" / name)
        assert integrated == pytest.approx(-16, abs=1) and peak <= -1, name
    # A damaged bed or mix is made again, never mixed in: the same casts as before.
    made = {name: (tmp_path / "build" / name).read_bytes() for name in ("cast.dv", "cast.mp4")}
    cache = tmp_path / ".castkit-cache"
    for damaged in (*cache.glob("music-*.flac"), *cache.glob("music-*.fc")):
        data = bytearray(damaged.read_bytes())
        data[len(data) // 2] ^= 0x55
        damaged.write_bytes(bytes(data))
    assert cli("build", recipe, "-q", "--force").code == 0
    for name, data in made.items():
        assert (tmp_path / "build" / name).read_bytes() == data, name


# --- denoise ----------------------------------------------------------------------------------

def espeak() -> str:
    found = shutil.which("espeak-ng")
    if not found:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return found


@pytest.fixture(scope="module")
def noisy_take(tmp_path_factory) -> Path:
    """1.5 s of room, a spoken sentence (espeak-ng, about 3 s), 1.5 s of room: the room is pink
    noise at about -48 dBFS and a mains hum (50, 150, 250 Hz) at about -46 dBFS."""
    root = tmp_path_factory.mktemp("denoise-media")
    speech = root / "speech.wav"
    subprocess.run([espeak(), "-w", str(speech), "Hello there. This is a test of the noise reduction."],
                   check=True, capture_output=True)
    return media.make(
        WHEEL_FFMPEG, root / "noisy.mkv", "-f", "lavfi", "-i", "color=gray:size=320x180:rate=15:duration=6",
        "-i", str(speech), "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.02:r=48000:d=6:seed=1",
        "-f", "lavfi", "-i", "aevalsrc=exprs='0.006*sin(2*PI*50*t)+0.004*sin(2*PI*150*t)"
                             "+0.002*sin(2*PI*250*t)':s=48000:d=6",
        "-filter_complex", "[1:a]aresample=48000,adelay=1500,apad=whole_len=288000[s];"
                           "[s][2:a][3:a]amix=inputs=3:normalize=0:duration=first[a]",
        "-map", "0:v", "-map", "[a]", "-c:v", "libtheora", "-c:a", "flac", "-shortest")


def test_denoise_takes_the_room_down_at_least_10_db_and_leaves_the_voice(tmp_path, noisy_take, ffmpeg_bin, cli):
    (tmp_path / "noisy.mkv").symlink_to(noisy_take)
    recipe = write_recipe(tmp_path, """
        output: build/cast.dv
        loudness: off
        segments:
          - clip: noisy.mkv
          - clip: noisy.mkv
            denoise: on
    """)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    sound = samples(tmp_path / "build" / "cast.dv")
    before, after = sound[:6 * RATE], sound[6 * RATE:12 * RATE]

    def room(x):  # both pauses, away from the speech's edges
        return rms_db(np.concatenate([x[int(0.1 * RATE):int(1.3 * RATE)], x[int(5.0 * RATE):int(5.9 * RATE)]]))

    def voice(x):
        return rms_db(x[int(1.6 * RATE):int(4.4 * RATE)])

    assert room(before) == pytest.approx(-45, abs=3)
    assert room(after) <= room(before) - 10
    assert voice(after) == pytest.approx(voice(before), abs=2)
    # In time: the cleaned voice where the voice was, to a few samples (afftdn's own output is
    # 25 ms late; that was heard as sound behind the picture).
    spoken = slice(int(1.6 * RATE), int(4.4 * RATE))
    assert abs(lag(before[spoken], after[spoken])) <= 2


def lag(x: np.ndarray, y: np.ndarray) -> int:
    """How many samples ``y`` is behind ``x`` (the peak of their cross-correlation)."""
    n = len(x) + len(y)
    c = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    k = int(np.argmax(c))
    return k if k < n // 2 else k - n


def test_a_music_file_without_sound_and_a_level_out_of_range_are_said_at_their_lines(tmp_path, tone, cli):
    (tmp_path / "tone.ogv").symlink_to(tone)
    media.make(WHEEL_FFMPEG, tmp_path / "silent.ogv", "-f", "lavfi", "-i",
               "color=gray:size=320x180:rate=15:duration=1", "-c:v", "libtheora")
    recipe = write_recipe(tmp_path, """
        output: build/cast.dv
        music:
          file: [tone.ogv, silent.ogv, missing.ogg]
          level: -60
        segments:
          - clip: tone.ogv
            gain: 30
    """)
    result = cli("build", recipe)
    assert result.code == 2 and "Traceback" not in result.err
    lines = [line.strip().removeprefix("castkit: error: ") for line in result.err.splitlines()]
    assert [line.split(": ", 1)[0].rsplit("cast.yaml:", 1)[1] for line in lines] == ["3:20", "3:32", "4:10", "7:11"]
    assert "music silent.ogv: has no sound to play as music" in lines[0]
    assert "music missing.ogg:" in lines[1]
    assert "music: level must be a number of LUFS from -50 to -10, not '-60'" in lines[2]
    assert not (tmp_path / "build").exists()
