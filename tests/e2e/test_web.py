"""Web masters (MP4, WebM) beside the DV cast: decoded by PyAV, never by castkit's own code."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import av
import pytest
from PIL import Image, ImageDraw, ImageFont

import media
from helpers import WHEEL_FFMPEG, listing, sha256, write_recipe
from readers import decode, luma_at, mp4_boxes, psnr, read_web

pytestmark = pytest.mark.e2e

FONT = Path(__file__).resolve().parents[2] / "castkit" / "titles" / "fonts" / "DejaVuSans.ttf"


@pytest.fixture(scope="module")
def web_media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("web-media")
    return {
        # A continuous 440 Hz tone under a variable-rate picture: cut in two and joined again,
        # it must run on without a gap or a click.
        "tone": media.theora(WHEEL_FFMPEG, root / "tone.ogv", "320x240", 15, 3.0,
                             voice=(48000, 2, 3.0), drop="between(t,1.0,1.8)"),
        "small": media.theora(WHEEL_FFMPEG, root / "small.ogv", "256x160", 10, 1.0),
    }


@pytest.fixture
def folder(tmp_path, web_media) -> Path:
    for name, path in web_media.items():
        os.link(path, tmp_path / path.name)
    return tmp_path


THREE = """
    outputs:
      - build/cast.dv
      - build/cast.mp4
      - path: build/cast.webm
    segments:
      - title: "Web masters"
        duration: 1
      - clip: tone.ogv
        end: 1.5
      - clip: tone.ogv
        start: 1.5
      - clip: small.ogv
        duration: 0.5
"""
# round(d x 30) per segment: 30 + 45 + 45 + 15; DV at 25 fps: 25 + 38 (37.5, to even) + 38 + 12 (12.5)
WEB_FRAMES = 30 + 45 + 45 + 15
DV_FRAMES = 25 + 38 + 38 + 12


def constant_rate(times: list[Fraction], fps: int) -> bool:
    steps = {round(float(b - a) * fps * 1000) for a, b in zip(times, times[1:])}
    return steps == {1000}


def test_one_recipe_makes_dv_mp4_and_webm(folder, ffmpeg_bin, cli):
    recipe = write_recipe(folder, THREE)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    build = folder / "build"
    # The title starts a chapter: the web masters' YouTube list lies beside them (test_publish).
    assert sorted(p.name for p in build.iterdir()) == [
        "cast.chapters.txt", "cast.dv", "cast.mp4", "cast.webm"]

    dv = decode(build / "cast.dv")
    assert (dv.width, dv.height, dv.frames) == (720, 576, DV_FRAMES)

    mp4 = read_web(build / "cast.mp4")
    # The largest capture is 320x240, square pixels: the web frame, at 30 fps (captures are slower).
    assert (mp4.codec, mp4.profile, mp4.pix_fmt) == ("h264", "High", "yuv420p")
    assert (mp4.width, mp4.height) == (320, 240) and mp4.sar in (None, Fraction(1))
    assert len(mp4.times) == WEB_FRAMES and constant_rate(mp4.times, 30)
    assert (mp4.audio_codec, mp4.audio_rate, mp4.audio_channels) == ("aac", 48000, 2)
    # The container says the sound lasts as long as the picture; decoded AAC may carry up to one
    # frame (1024 samples) of encoder padding past it.
    assert mp4.audio_seconds == mp4.video_seconds == Fraction(WEB_FRAMES, 30)
    assert 0 <= len(mp4.pcm) - WEB_FRAMES * 1600 < 1024
    boxes = mp4_boxes(build / "cast.mp4")
    assert boxes.index("moov") < boxes.index("mdat"), boxes

    webm = read_web(build / "cast.webm")
    assert (webm.container, webm.codec, webm.pix_fmt) in {("matroska,webm", c, "yuv420p") for c in ("libdav1d", "av1", "libaom-av1")}
    assert (webm.width, webm.height) == (320, 240) and len(webm.times) == WEB_FRAMES
    assert (webm.audio_codec, webm.audio_rate, webm.audio_channels) == ("opus", 48000, 2)
    assert len(webm.pcm) == WEB_FRAMES * 1600  # Opus's padding is signalled and dropped
    # Tagged BT.709, limited range, all four, in both (seen before the fix: with ffmpeg 9 the
    # primaries and transfer were unknown, in the very bitstream).
    for name in ("cast.mp4", "cast.webm"):
        with av.open(str(build / name)) as c:
            video = c.streams.video[0].codec_context
            assert (video.color_primaries, video.color_trc, video.colorspace, video.color_range) == (1, 1, 1, 1), name


def test_a_tone_runs_across_a_join_without_gap_or_click(folder, wheel_ffmpeg, cli):
    """The two halves of one continuous tone, joined in the MP4: at the join (1.0 + 1.5 s)
    every millisecond has sound and the waveform is the sine it was, not a step or a hole
    (separately encoded AAC segments leave about 29 ms of silence at each join)."""
    recipe = write_recipe(folder, THREE.replace("      - build/cast.dv\n", "").replace(
        "      - path: build/cast.webm\n", ""))
    assert cli("build", recipe, "-q").code == 0
    pcm = read_web(folder / "build" / "cast.mp4").pcm
    assert 0 <= len(pcm) - WEB_FRAMES * 1600 < 1024, "the sound is longer than the picture: joins gapped"
    # The tone plays from 1.0 s (after the title) to 4.0 s: every millisecond of it has sound.
    ms = pcm[48000:4 * 48000].reshape(-1, 48)
    rms = np.sqrt((ms ** 2).mean(axis=1))
    quiet = np.flatnonzero(rms < 0.6 * np.median(rms))
    assert len(quiet) == 0, f"gaps in the tone at {[round(1 + q / 1000, 3) for q in quiet[:5]]} s"
    join = round(2.5 * 48000)
    window = pcm[join - 960: join + 960]
    t = np.arange(len(window)) / 48000
    basis = np.stack([np.sin(2 * np.pi * 440 * t), np.cos(2 * np.pi * 440 * t)], axis=1)
    fit, *_ = np.linalg.lstsq(basis, window, rcond=None)
    residual = window - basis @ fit
    amplitude = np.hypot(*fit)
    # One sine through the whole 40 ms: a phase jump or a click would leave a residual of the
    # order of the amplitude; AAC at 160 kbps leaves well under 5% of it.
    assert amplitude > 0.05 and np.sqrt((residual ** 2).mean()) < 0.05 * amplitude


def test_height_and_fps_shape_the_web_frame(folder, wheel_ffmpeg, cli):
    recipe = write_recipe(folder, """
        outputs:
          - {path: build/small.mp4, height: 120, fps: 24}
        segments:
          - title: "Small"
            duration: 0.5
          - clip: tone.ogv
            duration: 1
    """)
    assert cli("build", recipe, "-q").code == 0
    mp4 = read_web(folder / "build" / "small.mp4")
    assert (mp4.width, mp4.height) == (160, 120)
    assert len(mp4.times) == 12 + 24 and constant_rate(mp4.times, 24)
    assert mp4.audio_seconds == Fraction(36, 24)


def test_a_title_edit_reencodes_that_segment_once_per_output(folder, wheel_ffmpeg):
    from castkit.builder.build import build
    from castkit.run.runner import FfmpegRunner

    class Counting(FfmpegRunner):
        ran: list[str] = []

        def run(self, plan):
            self.ran = [job.label for job in plan.jobs]
            super().run(plan)

    recipe = write_recipe(folder, THREE)
    build(recipe)
    before = {name: sha256(folder / "build" / name) for name in ("cast.mp4", "cast.webm")}
    recipe.write_text(recipe.read_text().replace('"Web masters"', '"Web masters, edited"'))
    again = Counting()
    build(recipe, runner=again, force=True)
    encodes = sorted(label for label in again.ran if not label.startswith(("join", "chapters of")))
    assert encodes == [f"segment 1: title 'Web masters, edited' ({kind})" for kind in ("DV", "MP4", "WEBM")]
    assert sum(label.startswith("join") for label in again.ran) == 3
    after = {name: sha256(folder / "build" / name) for name in ("cast.mp4", "cast.webm")}
    assert all(before[name] != after[name] for name in before)
    nothing = Counting()
    build(recipe, runner=nothing, force=True)
    assert not [label for label in nothing.ran if not label.startswith(("join", "chapters of"))]


def test_a_title_card_is_drawn_at_the_web_resolution(tmp_path, wheel_ffmpeg, cli):
    """A 1080p title is drawn at 1920x1080, not the DV card scaled up: its frame matches the
    card drawn at that size far better than the upscaled 768x576 card."""
    from castkit.recipe.style import TitleStyle
    from castkit.titles.cards import render_card

    out = tmp_path / "title.mp4"
    assert cli("title", "Sharp letters", "--subtitle", "at 1080p", "--duration", "0.2", "-o", out, "-q").code == 0
    web = read_web(out)
    assert (web.width, web.height, len(web.times)) == (1920, 1080, 6)
    frame = luma_at(out, 3)
    style = TitleStyle()
    direct = np.asarray(render_card("Sharp letters", "at 1080p", style, (1920, 1080)).convert("L"))
    upscaled = np.asarray(render_card("Sharp letters", "at 1080p", style, (768, 576))
                          .resize((1920, 1080), Image.BICUBIC).convert("L"))
    # Luma from BT.709 video vs Pillow's BT.601 grey: compare shapes, not absolute levels.
    def norm(a):
        a = a.astype(np.float64)
        return (a - a.mean()) / a.std() * 40 + 128

    assert psnr(norm(frame), norm(direct)) > psnr(norm(frame), norm(upscaled)) + 3


def terminal_capture(path: Path) -> Path:
    """A 1920x1080 "terminal": 40 lines of small light text on black, held for a second,
    stored losslessly (FFV1) so the reference frame is exactly what a recorder saw."""
    image = Image.new("L", (1920, 1080), 16)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 18)
    for line in range(40):
        draw.text((20, 12 + line * 26), f"$ make -j2 target-{line:02d}  # compiling src/module_{line * 7}.c -O2 -Wall", font=font, fill=230)
    still = path.with_suffix(".png")
    image.save(still)
    subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "5",
                    "-i", str(still), "-t", "1", "-vf", "format=yuv420p", "-c:v", "ffv1", str(path)], check=True)
    return path


def test_terminal_text_stays_sharp_in_the_mp4(tmp_path, wheel_ffmpeg, cli):
    """Screen text through the whole chain (scaler, x264 at castkit's settings) against the
    capture's own frame. Measured here (wheel ffmpeg, luma PSNR of this frame): castkit 45.8 dB;
    plain x264 at CRF 30 39.5 dB (ringing around every letter); text blurred by a 0.5 px Gaussian
    34.0 dB. 42 dB tells castkit's sharp text from either."""
    capture = terminal_capture(tmp_path / "term.mkv")
    out = tmp_path / "term.mp4"
    assert cli("convert", capture, "-o", out, "-q").code == 0
    web = read_web(out)
    assert (web.width, web.height) == (1920, 1080)
    assert psnr(luma_at(out, 15), luma_at(capture, 2)) > 42


def test_convert_and_title_write_web_files(tmp_path, web_media, wheel_ffmpeg, cli):
    out = tmp_path / "tone.webm"
    result = cli("convert", web_media["tone"], "-o", out)
    assert result.code == 0 and "WebM AV1 320x240 30 fps" in result.err, result.err
    assert "warning" not in result.err, "SVT-AV1's own log lines are not damage in the input"
    webm = read_web(out)
    assert (webm.width, webm.height, len(webm.times)) == (320, 240, 90)
    assert len(webm.pcm) == 90 * 1600
    card = tmp_path / "card.webm"
    assert cli("title", "Hi", "--size", "640x360", "--duration", "0.5", "-o", card, "-q").code == 0
    assert (read_web(card).width, read_web(card).height, len(read_web(card).times)) == (640, 360, 15)
    assert listing(tmp_path) == ["card.webm", "tone.webm"]


def test_dry_run_prints_the_web_commands(folder, wheel_ffmpeg, cli):
    recipe = write_recipe(folder, THREE)
    result = cli("build", recipe, "--dry-run")
    assert result.code == 0, result.err
    assert "libx264" in result.out and "libsvtav1" in result.out and "dvvideo" in result.out
    assert "-c:v copy" in result.out or "-vcodec copy" in result.out
    assert not (folder / "build").exists()


@pytest.mark.parametrize("text, message", [
    ("output: a.dv\noutputs: [b.mp4]\n", "give 'output' or 'outputs', not both"),
    ("outputs:\n  - {path: a.dv, fps: 30}\n",
     "fps applies to .mp4, .webm, .gif, an animated .webp, .apng, not to .dv; DV's frame is set by target"),
    ("outputs:\n  - {path: a.mp4, height: 721}\n", "height must be even"),
    ("outputs:\n  - {path: a.mp4, fps: 61}\n", "fps must be a whole number from 1 to 60"),
    ("outputs:\n  - a.mkv\n", "must end in .dv, .avi, .mp4, .webm"),
    ("outputs:\n  - a.mp4\n  - a.mp4\n", "named twice"),
    ("outputs: []\n", "outputs must be a list"),
])
def test_outputs_mistakes(tmp_path, wheel_ffmpeg, cli, text, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(text + "segments:\n  - title: x\n")
    result = cli("build", recipe)
    assert result.code == 2 and message in result.err and "r.yaml:" in result.err, result.err


@pytest.mark.parametrize("rate, title", [(30, "0.07"), (1, "2")])
def test_a_segment_of_one_or_two_frames_keeps_the_video_as_long_as_the_sound(tmp_path, cli, wheel_ffmpeg,
                                                                              rate, title):
    """Seen failing before the fix (a fault campaign): x264 writes a segment of 1 or 2 frames
    without its B-frames' decode delay, the next segment's first decode time fell before its
    last, and the muxer squeezed them: at 30 fps after a 2-frame title the video track read
    2.10 s against the sound's 2.17 s; at 1 fps 3 s against 5. Every picture is in the cast,
    one a frame, and the track lasts what its pictures show."""
    media.make(WHEEL_FFMPEG, tmp_path / "take.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4",
               "-f", "lavfi", "-i", "sine=d=4", "-shortest", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac")
    write_recipe(tmp_path, f"""
        outputs: [{{path: cast.mp4, fps: {rate}}}]
        loudness: off
        chapters: off
        segments:
          - title: A
            duration: {title}
          - clip: take.mp4
            end: 3
    """)
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    frames = round((Fraction(title) + 3) * rate)
    with av.open(str(tmp_path / "cast.mp4")) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        shown = [frame.pts * video.time_base for frame in container.decode(video=0)]
        video_length = video.duration * video.time_base
        sound_length = sound.duration * sound.time_base
    assert shown == [Fraction(n, rate) for n in range(frames)]
    assert video_length == Fraction(frames, rate)
    assert abs(sound_length - video_length) < Fraction(1, 100), (float(sound_length), float(video_length))
