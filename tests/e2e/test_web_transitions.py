"""Issue 25, transitions in the web masters and images: each neighbour's overlapped frames are
a short window of their own, the overlap an ``xfade`` of the two windows encoded as a segment,
and the cast the stream copy of the rest. Read back with PyAV and the wheel's ffmpeg."""

from __future__ import annotations

import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import media
from castkit.builder.build import build
from helpers import counting_runner, sha256, WHEEL_FFMPEG
from readers import read_web
from test_transitions import write_recipe

pytestmark = pytest.mark.e2e


CAST = """
    outputs: [build/cast.mp4, build/cast.gif]
    loudness: off
    segments:
      - title: Dark
        duration: 2
        background: "#101010"
        chapter: false
      - clip: bright.ogv
        transition: {{type: crossfade, duration: {seconds}}}
      - title: End
        duration: 1
        background: "#101010"
        chapter: false
        transition: dip
"""


def lumas(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.to_ndarray(format="gray").mean()) for frame in container.decode(video=0)]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2)))


def test_a_crossfade_in_the_mp4_and_the_gif_blends_its_neighbours_and_the_cast_is_shorter_by_the_overlaps(
        tmp_path, bright, ffmpeg_bin):
    (tmp_path / "bright.ogv").symlink_to(bright)
    planned = build(write_recipe(tmp_path, CAST.format(seconds=0.6)))
    # The web frame runs at 30 fps: 60 + 60 + 30 frames, less 18 (0.6 s) and 15 (0.5 s).
    assert planned.frames == 60 + 60 + 30 - 18 - 15 == 117
    mp4 = read_web(tmp_path / "build" / "cast.mp4")
    assert len(mp4.times) == 117 and mp4.times == [Fraction(n, 30) for n in range(117)]
    seen = lumas(tmp_path / "build" / "cast.mp4")
    dark, light = np.median(seen[:35]), np.median(seen[65:85])
    assert light - dark > 150
    overlap = seen[42:60]  # the title's last 18 frames crossing into the clip's first 18
    assert seen[41] == pytest.approx(dark, abs=2) and seen[60] == pytest.approx(light, abs=2)
    assert all(dark + 2 < v < light - 2 for v in overlap[1:-1])
    assert all(b > a for a, b in zip(overlap, overlap[1:])), "moving from one to the other"
    dip = seen[87:102]  # the clip dipping through black into the end card
    assert min(dip) < dark - 5 and dip[0] > light - 40
    # The sound: as long as the picture (the container's word, and the decoded samples less the
    # AAC's padding), the tone rising through the crossfade out of the silent title.
    assert mp4.audio_seconds == mp4.video_seconds == Fraction(117, 30)
    assert 0 <= len(mp4.pcm) - 117 * 1600 < 1024
    thirds = [rms(mp4.pcm[int((1.4 + k * 0.2) * 48000):int((1.6 + k * 0.2) * 48000)]) for k in range(3)]
    assert rms(mp4.pcm[:int(1.3 * 48000)]) < 1e-3 and thirds[0] < thirds[1] < thirds[2]
    assert rms(mp4.pcm[int(2.2 * 48000):int(3.2 * 48000)]) == pytest.approx(thirds[2] * 1.3, rel=0.4)
    with av.open(str(tmp_path / "build" / "cast.mp4")) as container:  # one continuous stream
        dts = [p.dts for p in container.demux(video=0) if p.dts is not None]
    assert all(b > a for a, b in zip(dts, dts[1:]))
    # The GIF: 15 fps, 30 + 30 + 15 frames less 9 and 8 (7.5 rounded to even), each distinct
    # picture once; the crossfade's pictures between the two sides, brighter and brighter.
    with av.open(str(tmp_path / "build" / "cast.gif")) as container:
        gif = [(float(f.to_ndarray(format="gray").mean()), f.time) for f in container.decode(video=0)]
    assert planned.casts[1].frames == 30 + 30 + 15 - 9 - 8
    blend = [luma for luma, time in gif if 1.4 < time < 2.0]
    assert len(blend) == 8 and all(b > a for a, b in zip(blend, blend[1:]))
    assert gif[0][0] < blend[0] and blend[-1] < max(luma for luma, _ in gif)


def test_changing_only_a_transition_s_duration_re_encodes_the_windows_at_the_join(
        tmp_path, bright, wheel_ffmpeg, monkeypatch, cli):
    """With 1 s chunks the clip is in 4 windows (18 + 12 + 15 + 15 frames: the crossfade's
    0.6 s, the rest of the first chunk, the second chunk less the dip's 0.5 s, the dip's), the
    title in 3 (30 + 12 + 18: the rest is cut again a whole second before the join). A new
    duration encodes the windows at the join (the title's last second in two, the clip's first
    chunk in two), the overlap and the join; not the title's first second, the clip's other
    chunks nor the dip."""
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "1")
    (tmp_path / "bright.ogv").symlink_to(bright)
    recipe = write_recipe(tmp_path, CAST.format(seconds=0.6).replace(", build/cast.gif", ""))
    first = counting_runner()
    build(recipe, runner=first)
    assert len(first.ran) == 12 and "segment 2: clip bright.ogv chunk 4/4" in first.ran
    recipe.write_text(recipe.read_text().replace("duration: 0.6", "duration: 0.4"))
    again = counting_runner()
    planned = build(recipe, runner=again, force=True)
    assert sorted(again.ran) == sorted([
        "segment 1: title 'Dark' slice 2/3", "segment 1: title 'Dark' slice 3/3",
        "segment 2: clip bright.ogv chunk 1/4", "segment 2: clip bright.ogv chunk 2/4",
        "segment 2: crossfade from segment 1", "join 3 segments"])
    assert planned.frames == 150 - 12 - 15 and len(lumas(tmp_path / "build" / "cast.mp4")) == 123
    fresh = tmp_path / "fresh.mp4"
    build(recipe, output=fresh, use_cache=False)
    assert sha256(fresh) == sha256(tmp_path / "build" / "cast.mp4")
    # --dry-run lists the overlap's command: the two lossless windows through xfade.
    shown = cli("build", recipe, "--dry-run", "--no-cache").out
    overlap = shown[shown.index("# segment 2: crossfade from segment 1\n"):].split("\n")[1]
    assert "xfade=duration=0.4:offset=0:transition=fade" in overlap and overlap.count("-f mov") == 2
    assert shown.count("-qp 0") == 4  # the four windows the two overlaps read


def test_a_clip_cut_by_its_pauses_crosses_over_in_an_mp4_and_a_faded_one_is_refused(tmp_path, wheel_ffmpeg, cli):
    """A clip of kept parts (its 2 s pause cut) is cut in windows of its kept parts: the
    crossfade into it takes its first 18 frames, the dip out of it its last 15."""
    media.make(WHEEL_FFMPEG, tmp_path / "paused.ogv", "-f", "lavfi", "-i",
               "color=c=0xC8C8C8:size=320x180:rate=25:duration=5", "-f", "lavfi", "-i",
               "aevalsrc='0.3*sin(2*PI*440*t)*(lt(t\\,1.5)+gt(t\\,3.5))':s=48000:d=5",
               "-c:v", "libtheora", "-q:v", "8", "-c:a", "libvorbis")
    text = CAST.format(seconds=0.6).replace("bright.ogv", "paused.ogv\n        pauses: cut").replace(
        "outputs: [build/cast.mp4, build/cast.gif]", "output: build/cast.mp4")
    without = "\n".join(line for line in text.split("\n") if "transition:" not in line)
    cuts = build(write_recipe(tmp_path, without), output=tmp_path / "cuts.mp4")
    planned = build(write_recipe(tmp_path, text))
    assert planned.frames == cuts.frames - 18 - 15 and cuts.frames > 150
    seen = lumas(tmp_path / "build" / "cast.mp4")
    assert len(seen) == planned.frames
    overlap = seen[42:60]
    assert all(b > a for a, b in zip(overlap, overlap[1:])) and seen[60] - seen[41] > 150
    mp4 = read_web(tmp_path / "build" / "cast.mp4")
    assert mp4.audio_seconds == mp4.video_seconds == Fraction(planned.frames, 30)
    assert 0 <= len(mp4.pcm) - planned.frames * 1600 < 1024

    faded = write_recipe(tmp_path, """
        outputs: [build/cast.dv, build/cast.webm]
        segments:
          - title: Start
          - clip: paused.ogv
            pauses: cut
            fade_out: 0.5
            transition: crossfade
    """)
    result = cli("build", faded)
    assert result.code == 2
    assert result.err.strip().endswith(
        "cast.yaml:7:17: segment 2: a transition next to a faded clip with pauses:, transcript: or "
        "fillers: (segment 2) is made in .dv, .avi casts only; cast.webm would need it")
    assert not (tmp_path / "build" / "cast.dv").exists()


# --- the music bed and burned captions in an MP4 ----------------------------------------------------

MUSIC_HZ = 1000


def sound_of(path: Path) -> np.ndarray:
    raw = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                          "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def loudness(path: Path, start: float, end: float) -> float:
    out = subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
                          "-af", f"atrim={start}:{end},ebur128", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    return float(re.search(r"I:\s+(-?[0-9.]+) LUFS", out[out.rfind("Summary:"):])[1])


def test_music_and_burned_captions_in_an_mp4_with_a_transition(tmp_path, wheel_ffmpeg):
    """The music bed (the mix's filter script, an input after the others) under burned captions
    (a filter, no input of their own) in one join; a crossfade before the captioned clip moves
    its captions by the overlap, as the chapters and the soft tracks."""
    media.make(WHEEL_FFMPEG, tmp_path / "black.ogv", "-f", "lavfi", "-i",
               "color=black:size=320x180:rate=25:duration=3", "-c:v", "libtheora")
    media.make(WHEEL_FFMPEG, tmp_path / "bed.flac", "-f", "lavfi", "-i",
               f"sine=frequency={MUSIC_HZ}:sample_rate=48000:duration=1.5", "-af", "volume=0.5")
    (tmp_path / "black.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHELLO THERE\n")
    recipe = write_recipe(tmp_path, """
        outputs: [build/cast.mp4]
        loudness: off
        burn: true
        music: {file: bed.flac, level: -24, duck: off}
        segments:
          - title: Intro
            duration: 2
            background: black
          - clip: black.ogv
            captions: black.srt
            transition: {type: crossfade, duration: 0.5}
    """)
    planned = build(recipe)
    cast = tmp_path / "build" / "cast.mp4"
    assert planned.frames == 60 + 90 - 15
    # The caption lies at 1-2 s of the clip, which starts at 1.5 s of the cast: 2.5-3.5 s.
    srt = (tmp_path / "build" / "cast.srt").read_text()
    assert "00:00:02,500 --> 00:00:03,500" in srt

    def bottom(n: int) -> float:  # the brightest pixel of the lower third of frame n
        return float(np.max(frame_gray[n][130:, :]))

    with av.open(str(cast)) as container:
        assert len(container.streams.subtitles) == 0
        frame_gray = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frame_gray) == 135
    assert bottom(90) > 200  # 3.0 s: white letters
    assert bottom(60) < 40 and bottom(120) < 40  # 2.0 and 4.0 s: none
    # The music at its level all along (nobody speaks): -24 LUFS, its tone in every second.
    sound = sound_of(cast)
    assert abs(len(sound) - 135 * 1600) < 1024
    assert loudness(cast, 0.5, 4.0) == pytest.approx(-24, abs=2)
    spectrum = np.abs(np.fft.rfft(sound[48000:96000]))
    assert np.argmax(spectrum) == MUSIC_HZ
