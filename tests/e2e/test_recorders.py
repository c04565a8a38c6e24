"""Captures as real recorders write them (issue 17): sound with dropped packets, colour-tagged
WebM, NTSC casts of many segments, recordings killed before they were closed. Checked with
PyAV, never with castkit's own code."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG
from readers import channels, decodable_frames, decode, have, playdv

pytestmark = pytest.mark.e2e

CLICK_EVERY = 0.5  # seconds between the voice's clicks
CLICKS_SECONDS = 5.0


def dropped_sound(out: Path) -> Path:
    """A 5 s capture whose voice is a 2 kHz click every 0.5 s, with a 40-60 ms stretch of its
    audio packets dropped after every click (timestamps kept), as a recorder that cannot keep
    up writes it: the clicks must stay at 0, 0.5, 1.0 ... s, not run earlier and earlier."""
    voice = {".mkv": ["-c:a", "libopus", "-b:a", "96k"], ".mp4": ["-c:a", "aac"],
             ".ts": ["-c:a", "aac"]}[out.suffix]
    clicks = (f"aevalsrc='if(lt(mod(t\\,{CLICK_EVERY})\\,0.004)\\,0.8*sin(2*PI*2000*t)\\,0)'"
              f":s=48000:d={CLICKS_SECONDS},asetnsamples=960,"
              f"aselect='not(between(mod(t\\,{CLICK_EVERY})\\,0.2\\,0.25))'")
    return media.make(WHEEL_FFMPEG, out, "-f", "lavfi", "-i",
                      f"testsrc2=size=320x240:rate=15:duration={CLICKS_SECONDS}",
                      "-f", "lavfi", "-i", clicks, "-c:v", "libx264", "-preset", "veryfast",
                      *voice, "-ac", "2")


def onsets(path: Path, threshold: float = 0.2) -> list[float]:
    """Seconds at which each click starts, every decoded sample placed at its frame's
    timestamp (from the file's start): where the file's timestamps put the sound."""
    found: list[float] = []
    with av.open(str(path)) as container:
        start = container.start_time / 1e6 if container.start_time is not None else 0.0
        last = -10.0
        for frame in container.decode(audio=0):
            pcm = channels(frame).astype(np.float64)
            if np.issubdtype(frame.to_ndarray().dtype, np.integer):
                pcm /= 32768
            for i in np.flatnonzero(np.abs(pcm).max(axis=0) > threshold):
                t = float(frame.time) - start + i / frame.sample_rate
                if t - last > 0.1:
                    found.append(t)
                last = t
    return found


@pytest.fixture(scope="module")
def gappy(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gappy")
    return {ext: dropped_sound(root / f"gaps{ext}") for ext in (".mkv", ".mp4", ".ts")}


@pytest.mark.parametrize("ext", [".mkv", ".mp4", ".ts"])
def test_sound_with_dropped_packets_stays_on_its_timestamps(gappy, ext, tmp_path, ffmpeg_bin, cli):
    """Every click of the DV cast and of an MP4 web master starts within one frame of where
    the capture's timestamps put it. Before the fix (aresample's 0.1 s min_hard_comp) the
    gaps were not filled until 0.1 s had piled up: clicks 73 ms (MKV/Opus), 80 ms (MP4/AAC)
    and 59 ms (MPEG-TS) early in the DV, more than PAL's 40 ms frame."""
    source = gappy[ext]
    expected = onsets(source)
    assert len(expected) == round(CLICKS_SECONDS / CLICK_EVERY)
    # The capture really has gaps: played back to back, its clicks run early.
    with av.open(str(source)) as c:
        back_to_back = sum(f.samples for f in c.decode(audio=0)) / 48000
    assert back_to_back < CLICKS_SECONDS - 0.2
    for suffix, fps in ((".dv", 25), (".mp4", 30)):
        out = tmp_path / f"cast{suffix}"
        result = cli("convert", source, "-o", out, "-q")
        assert result.code == 0, result.err
        got = onsets(out)
        assert len(got) == len(expected), (suffix, got)
        late = [round((g - e) * 1000, 1) for g, e in zip(got, expected)]
        assert max(map(abs, late)) < 1000 / fps, (suffix, late)


# Colours of screen recorders' WebM: (name, colour made, codec, range tag).
TAGGED = [
    ("vp8-red-tv", "red", "libvpx", "tv"),  # GNOME's recorder: VP8 tagged bt709/tv
    ("vp9-red-tv", "red", "libvpx-vp9", "tv"),
    ("vp8-blue-pc", "0x3060C0", "libvpx", "pc"),
    ("vp9-blue-pc", "0x3060C0", "libvpx-vp9", "pc"),
]


def tagged_webm(out: Path, colour: str, codec: str, rng: str) -> Path:
    """A solid colour converted to YUV with the BT.709 matrix (limited or full range) and
    tagged so in the WebM."""
    return media.make(WHEEL_FFMPEG, out, "-f", "lavfi", "-i",
                      f"color={colour}:size=320x240:rate=15:duration=1",
                      "-vf", f"scale=out_color_matrix=bt709:out_range={rng},format=yuv420p",
                      "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
                      "-color_range", rng, "-c:v", codec)


def middle_rgb(path: Path, colorspace: str | None = None, color_range: str | None = None) -> np.ndarray:
    """RGB of the first frame's centre; decoded with the given matrix and range, or (None) with
    the frame's own tags."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        if colorspace:
            rgb = frame.reformat(format="rgb24", src_colorspace=colorspace,
                                 src_color_range=color_range).to_ndarray()
        else:
            rgb = frame.to_ndarray(format="rgb24")
    h, w, _ = rgb.shape
    return rgb[h // 2 - 8:h // 2 + 8, w // 2 - 8:w // 2 + 8].reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("name,colour,codec,rng", TAGGED, ids=[t[0] for t in TAGGED])
def test_bt709_tagged_webm_keeps_its_colours(name, colour, codec, rng, tmp_path, ffmpeg_bin, cli):
    """DV (decoded as BT.601, limited, as DV is) and an MP4 master (decoded by its own tags)
    show the colour of the source decoded as tagged (BT.709, its range). Before the fix VP8's
    frames reached the scaler untagged and read as BT.601 limited: red 230 in place of 251
    (DV 21 code values off), the full-range blue 7 off. VP9 carries its tags in the bitstream and
    its colours were right already (it is here so that they stay so); it failed only on
    ``castkit probe``, which did not show the tags."""
    source = tagged_webm(tmp_path / f"{name}.webm", colour, codec, rng)
    want = middle_rgb(source, "ITU709", "JPEG" if rng == "pc" else "MPEG")
    for suffix, matrix in ((".dv", "ITU601"), (".mp4", None)):
        out = tmp_path / f"{name}{suffix}"
        result = cli("convert", source, "-o", out, "-q")
        assert result.code == 0, result.err
        got = middle_rgb(out, matrix, "MPEG" if matrix else None)
        assert np.abs(got - want).max() <= 5, (suffix, got.round(1), want.round(1))
    probed = cli("probe", source)
    assert probed.code == 0 and "colour bt709" in probed.out, probed.out


BARS = ("red", "0x00C800", "blue", "0xFF8000")  # where BT.601 and BT.709 differ most


def bar_rgb(path: Path, colorspace: str | None = None) -> list[np.ndarray]:
    """RGB at the middle of each of the four bars of the first frame (decoded with the given
    matrix, limited range, or None: with the frame's own tags)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        rgb = (frame.reformat(format="rgb24", src_colorspace=colorspace, src_color_range="MPEG").to_ndarray()
               if colorspace else frame.to_ndarray(format="rgb24"))
    h, w, _ = rgb.shape
    return [rgb[h // 2 - 8:h // 2 + 8, (2 * k + 1) * w // 8 - 8:(2 * k + 1) * w // 8 + 8].reshape(-1, 3).mean(axis=0)
            for k in range(4)]


def test_an_untagged_capture_reaches_a_web_master_in_bt709_exactly(tmp_path, ffmpeg_bin, cli):
    """An untagged capture (read as BT.601, as ffmpeg reads one) in an MP4 master: its colours
    converted to BT.709 by ``colorspace`` before the fit to the frame (the scaler's own
    conversion went through RGB, 4x the scaling's CPU at 1080p), each bar within 2 levels of
    the capture's colour; the plan converts once, in the web master and not in the GIF (RGB:
    straight from the capture's YUV) or DV (BT.601 as the capture)."""
    source = media.make(WHEEL_FFMPEG, tmp_path / "bars.mkv", "-f", "lavfi", "-i",
                        "color=black:size=320x240:rate=15:duration=1", "-vf",
                        ",".join(f"drawbox=x={80 * k}:y=0:w=80:h=240:color={c}:t=fill" for k, c in enumerate(BARS))
                        + ",format=yuv420p", "-c:v", "ffv1")
    want = bar_rgb(source, "ITU601")
    out = tmp_path / "bars.mp4"
    result = cli("convert", source, "-o", out, "-q")
    assert result.code == 0, result.err
    for k, (got, colour) in enumerate(zip(bar_rgb(out), want)):
        assert np.abs(got - colour).max() <= 2, (BARS[k], got.round(1), colour.round(1))
    for suffix, conversions in ((".mp4", 1), (".gif", 0), (".dv", 0)):
        recipe = tmp_path / f"plan{suffix}.yaml"
        recipe.write_text(f"output: plan{suffix}\nsegments:\n  - clip: bars.mkv\n")
        planned = cli("build", recipe, "--dry-run")
        assert planned.code == 0, planned.err
        assert planned.out.count("]colorspace=") == conversions, (suffix, planned.out)  # the filter
        if conversions:
            assert "ispace=bt470bg" in planned.out and ":space=bt709" in planned.out, planned.out


@pytest.mark.parametrize("size,crop", [("333x251", None), ("320x240", "{x: 1, y: 1, width: 201, height: 151}")],
                         ids=["odd-capture", "odd-crop"])
def test_an_odd_sized_picture_is_converted_by_the_scaler(size, crop, tmp_path, ffmpeg_bin, cli):
    """``colorspace`` refuses a picture of odd width or height (in every pixel format): such
    a picture (a capture, or a crop) is converted by the scaler as before, and the master's
    colours are still the capture's (a fault campaign found exit 1: "Invalid odd size")."""
    media.make(WHEEL_FFMPEG, tmp_path / "odd.mkv", "-f", "lavfi", "-i", f"color=red:size={size}:rate=15:duration=1",
               "-vf", "format=yuv444p", "-c:v", "ffv1")
    recipe = tmp_path / "odd.yaml"
    recipe.write_text("output: odd.mp4\nsegments:\n  - clip: odd.mkv\n" + (f"    crop: {crop}\n" if crop else ""))
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    with av.open(str(tmp_path / "odd.mp4")) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    h, w, _ = rgb.shape
    centre = rgb[h // 2 - 8:h // 2 + 8, w // 2 - 8:w // 2 + 8].reshape(-1, 3).mean(axis=0)
    assert np.abs(centre - (255, 0, 0)).max() <= 4, centre


GREEN = (0, 200, 0)  # where BT.601 and BT.709 differ most (34 levels of red and green)


@pytest.mark.parametrize("kind", ["mjpeg-preview", "rgb-preview", "rgb-gif"])
def test_pictures_the_scaler_converts_keep_their_colours(kind, tmp_path, ffmpeg_bin, cli):
    """Pictures that ``colorspace`` does not take (a webcam's full-range MJPEG, an RGB
    capture) keep their colour in a storyboard tile and in a GIF, with both ffmpegs. A fault
    campaign found them 11-34 levels off with ffmpeg 5.1, whose scaler does not tag what it
    converts (the tile read the picture as its source's matrix) and resized an RGB capture for
    an RGB image through YUV with BT.601 in and BT.709 out."""
    from PIL import Image

    codec = (["-pix_fmt", "yuvj420p", "-c:v", "mjpeg", "-q:v", "1"] if kind.startswith("mjpeg")
             else ["-pix_fmt", "bgr0", "-c:v", "ffv1"])
    media.make(WHEEL_FFMPEG, tmp_path / "cam.mkv", "-f", "lavfi", "-i",
               "color=0x00C800:size=320x240:rate=15:duration=1", *codec)
    recipe = tmp_path / "r.yaml"
    if kind.endswith("gif"):
        recipe.write_text("outputs:\n  - {path: out.gif, width: 160}\nsegments:\n  - clip: cam.mkv\n")
        result = cli("build", recipe, "-q")
        picture = tmp_path / "out.gif"
    else:
        recipe.write_text("output: out.mp4\nsegments:\n  - clip: cam.mkv\n")
        picture = tmp_path / "board.png"
        result = cli("preview", recipe, "-q", "-o", picture)
    assert result.code == 0, result.err
    with Image.open(picture) as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    # The board's first tile starts 16 pixels in and is 320 wide; the GIF is the picture.
    x, y = (80, 60) if kind.endswith("gif") else (16 + 160, 16 + 90)
    centre = rgb[y - 4:y + 4, x - 4:x + 4].reshape(-1, 3).mean(axis=0)
    assert np.abs(centre - GREEN).max() <= 4, (kind, centre.round(1))


@pytest.mark.parametrize("suffix", [".mp4", ".dv"])
def test_a_10_bit_capture_cropped_at_an_odd_x_keeps_its_picture(suffix, tmp_path, ffmpeg_bin, cli):
    """ffmpeg's crop with exact=1 at an odd x garbles a 10-bit picture (blue came out white,
    both ffmpegs; a fault campaign): castkit makes a deeper capture's pictures 8-bit first."""
    media.make(WHEEL_FFMPEG, tmp_path / "deep.mkv", "-f", "lavfi", "-i", "color=blue:size=320x240:rate=15:duration=1",
               "-pix_fmt", "yuv420p10le", "-c:v", "ffv1")
    recipe = tmp_path / "deep.yaml"
    recipe.write_text(f"output: deep{suffix}\nsegments:\n  - clip: deep.mkv\n"
                      "    crop: {x: 81, y: 41, width: 159, height: 119}\n")
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    with av.open(str(tmp_path / f"deep{suffix}")) as container:
        frame = next(container.decode(video=0))
        rgb = (frame.reformat(format="rgb24", src_colorspace="ITU601", src_color_range="MPEG") if suffix == ".dv"
               else frame.reformat(format="rgb24")).to_ndarray()
    h, w, _ = rgb.shape
    centre = rgb[h // 2 - 8:h // 2 + 8, w // 2 - 8:w // 2 + 8].reshape(-1, 3).mean(axis=0)
    assert np.abs(centre - (0, 0, 255)).max() <= 6, centre


# SMPTE 314M: 48 kHz NTSC DV carries 8008 samples in every 5 frames, 1600 in the first.
NTSC_PATTERN = (1600, 1602, 1602, 1602, 1602)


def ntsc_samples(frames: int) -> int:
    """Samples in the first ``frames`` frames of one NTSC DV stream (one unsegmented encode)."""
    return sum(NTSC_PATTERN[i % 5] for i in range(frames))


NTSC_CLICK = 0.1  # seconds into each clip: where its voice's click starts


def click_capture(out: Path) -> Path:
    """A 1 s capture whose voice (PCM, sample-exact) is a square click from 0.1 s to 0.104 s."""
    return media.make(WHEEL_FFMPEG, out, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15:duration=1",
                      "-f", "lavfi", "-i",
                      f"aevalsrc='if(between(t\\,{NTSC_CLICK}\\,{NTSC_CLICK + 0.004})\\,0.8\\,0)':s=48000:d=1",
                      "-c:v", "libx264", "-preset", "veryfast", "-c:a", "pcm_s16le", "-ac", "2")


# (kind, seconds): 6, 12, 9, 7, 18, 6, 13 frames at 30000/1001, starting at frames
# 0, 6, 18, 27, 34, 52, 58: every phase of the 5-frame pattern.
NTSC_SEGMENTS = [("title", 0.2), ("clip", 0.4), ("title", 0.3), ("clip", 0.25), ("clip", 0.6),
                 ("title", 0.2), ("clip", 0.45)]


@pytest.mark.parametrize("loudness", ["off", "-16"])
def test_ntsc_sound_stays_sample_exact_across_joins(tmp_path, ffmpeg_bin, cli, loudness):
    """An NTSC cast of 7 titles and clips whose lengths are not multiples of 5 frames holds
    exactly the samples one unsegmented encode of its length holds, and each clip's click
    is at the sample where its segment starts in the cast, plus the click's own offset. Before
    the fix every segment restarted the dv muxer's 1600/1602 pattern: the cast was 6 samples
    short (113706 of 113712) and the clicks early by what the joins before them lost. With
    loudness on (the default), each segment's gained copy keeps its lead frames: before, the
    build failed ("wrote 13 of 12 frames")."""
    click_capture(tmp_path / "click.mkv")
    lines = ["target: ntsc-dv", "output: cast.dv", f"loudness: {loudness}", "segments:"]
    for kind, seconds in NTSC_SEGMENTS:
        if kind == "title":
            lines += [f'  - title: "{seconds} s"', f"    duration: {seconds}"]
        else:
            lines += ["  - clip: click.mkv", f"    duration: {seconds}"]
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    cast = decode(tmp_path / "cast.dv")
    lengths = [round(seconds * 30000 / 1001) for _, seconds in NTSC_SEGMENTS]
    assert cast.frames == sum(lengths) == 71
    assert cast.samples == ntsc_samples(cast.frames)
    if have("playdv"):  # libdv, Kino's decoder, reads the same sound
        assert playdv(tmp_path / "cast.dv", tmp_path, video=False).audio_bytes == 4 * cast.samples
    with av.open(str(tmp_path / "cast.dv")) as container:
        pcm = np.concatenate([channels(f) for f in container.decode(audio=0)], axis=1)
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)).max(axis=0) > 16000)
    found = [int(i) for n, i in enumerate(loud) if n == 0 or i - loud[n - 1] > 1000]
    starts = np.cumsum([0, *lengths])
    want = [ntsc_samples(int(starts[n])) + round(NTSC_CLICK * 48000)
            for n, (kind, _) in enumerate(NTSC_SEGMENTS) if kind == "clip"]
    assert found == want


def killed_recording(out: Path) -> Path:
    """A recording killed before it was closed: Matroska written to a pipe (no duration, no
    cues), cut off at 60% of its bytes, mid-cluster."""
    piped = out.with_suffix(".piped.mkv")
    with open(piped, "wb") as sink:
        subprocess.run([WHEEL_FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin",
                        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15:duration=4",
                        "-f", "lavfi", "-i", "sine=d=4:sample_rate=48000",
                        "-c:v", "libx264", "-preset", "veryfast", "-g", "15", "-c:a", "libopus",
                        "-f", "matroska", "pipe:1"], stdout=sink, check=True, timeout=120)
    data = piped.read_bytes()
    out.write_bytes(data[: len(data) * 6 // 10])
    return out


def test_killed_mkv_converts_with_its_frames(tmp_path, ffmpeg_bin, cli):
    """A Matroska capture without a duration, cut short, converts to as many DV frames as the
    pictures it holds last (first to last decoded picture, plus that one's 1/15 s), with
    sound in every frame. Fixed on main before this test (probe measures the length); it
    guards the fix with a capture as a killed recorder leaves it."""
    source = killed_recording(tmp_path / "killed.mkv")
    with av.open(str(source)) as container:
        assert container.duration is None  # really without a duration
        times = [float(f.time) for f in container.decode(video=0)]
    assert 2 < times[-1] < 3.5
    result = cli("convert", source, "-o", tmp_path / "killed.dv", "-q")
    assert result.code == 0, result.err
    cast = decode(tmp_path / "killed.dv")
    assert cast.frames == round((times[-1] - times[0] + 1 / 15) * 25)
    assert cast.samples == cast.frames * 1920
    assert len(set(round(lu, 2) for lu in cast.lumas)) > 10  # moving pictures, not one held frame


@pytest.mark.parametrize("target, size, rate, shown", [("pal-dv", "720x576", "25", "25 fps"),
                                                       ("ntsc-dv", "720x480", "30000/1001", "29.97 fps")])
def test_a_dv_recording_keeps_its_rate(tmp_path, ffmpeg_bin, cli, target, size, rate, shown):
    """A camcorder's (or Kino's) DV as a clip: ffmpeg 9 prints its time base as its rate
    ("60k fps, 25 tbr"); castkit reads the real rate, and a web cast of it is at the web
    masters' 30 fps (a capture at 60 fps or more would raise it to 60)."""
    dv = media.make(WHEEL_FFMPEG, tmp_path / "tape.dv", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate={rate}:duration=2", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000:duration=2", "-target", target)
    probed = cli("probe", dv)
    assert probed.code == 0 and shown in probed.out, probed.out
    (tmp_path / "cast.yaml").write_text("loudness: off\noutput: cast.mp4\nsegments:\n  - clip: tape.dv\n")
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    with av.open(str(dv)) as c:
        recorded = sum(1 for _ in c.decode(video=0))
    with av.open(str(tmp_path / "cast.mp4")) as c:
        assert c.streams.video[0].average_rate == 30
        assert sum(1 for _ in c.decode(video=0)) == round(recorded * 30 / Fraction(rate))


def test_transport_streams_joined_end_to_end_keep_both_recordings(tmp_path, ffmpeg_bin, cli):
    """`cat a.ts b.ts`: the second recording's timestamps start again. Its length is read
    through, not taken from the first and last timestamps (2 s, the first recording alone: the
    second was dropped without a word before the fix)."""
    def recording(name: str, flip: str) -> Path:
        return media.make(WHEEL_FFMPEG, tmp_path / name, "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2",
                          "-f", "lavfi", "-i", "sine=d=2", *(["-vf", flip] if flip else []),
                          "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "mp2")
    joined = tmp_path / "joined.ts"
    joined.write_bytes(recording("a.ts", "").read_bytes() + recording("b.ts", "hflip").read_bytes())
    result = cli("convert", joined, "-o", tmp_path / "out.mp4")
    assert result.code == 0, result.err
    with av.open(str(tmp_path / "out.mp4")) as c:
        frames = [f.to_ndarray(format="gray").astype(float) for f in c.decode(video=0)]
    assert len(frames) == 120  # 4 s at the web masters' 30 fps
    # 3 s into the cast is the second recording's 1 s: the first's 1 s, mirrored.
    assert np.mean(np.abs(frames[90] - frames[30][:, ::-1])) < 8
    assert np.mean(np.abs(frames[90] - frames[30])) > 20


def test_a_matroska_file_cut_short_after_its_header_keeps_what_decodes(tmp_path, ffmpeg_bin, cli):
    """A finished MKV cut short (a copy interrupted, a disk that filled): its header still says
    3 s. Seen before the fix: the cast ran to 3 s, the last picture frozen over what was lost.
    Now its length is what decodes."""
    whole = media.make(WHEEL_FFMPEG, tmp_path / "whole.mkv", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=3",
                       "-f", "lavfi", "-i", "sine=d=3", "-c:v", "libvpx", "-b:v", "300k", "-c:a", "libvorbis")
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 9 // 16])
    decodable = decodable_frames(cut)
    assert 20 < decodable < 80
    result = cli("convert", cut, "-o", tmp_path / "out.mp4")
    assert result.code == 0, result.err
    assert "ends before its header says" in result.err
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == decodable  # 30 fps, as the capture
