"""``castkit convert`` end to end, checked by PyAV, libdv and melt (never by castkit itself)."""

from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import WHEEL_FFMPEG, fake_ffmpeg, listing, run_job, sha256
from readers import decode, frame_lumas, have, melt, playdv, shown_at

pytestmark = pytest.mark.e2e

PAL = dict(width=720, height=576, pix_fmt="yuv420p", rate=Fraction(25))
NTSC = dict(width=720, height=480, pix_fmt="yuv411p", rate=Fraction(30000, 1001))


def source_seconds(path: Path) -> Fraction:
    """The container's duration as PyAV (not castkit) reads it."""
    with av.open(str(path)) as c:
        return Fraction(c.duration, 1_000_000)


def expected_frames(path: Path, rate: Fraction) -> int:
    return round(source_seconds(path) * rate)


def assert_dv(d, *, width, height, pix_fmt, rate, sar, frames):
    assert (d.codec, d.width, d.height, d.pix_fmt) == ("dvvideo", width, height, pix_fmt)
    assert d.sar == sar
    assert d.rate == rate
    assert (d.audio_codec, d.audio_rate, d.audio_channels) == ("pcm_s16le", 48000, 2)
    assert d.frames == frames
    assert d.samples == round(frames * 48000 / rate), "audio must cover exactly the video"


def test_voice_over_capture_to_pal(tmp_path, media_files, ffmpeg_bin, cli):
    """Issue 2: 1366x768 Theora, 22 kHz mono voice shorter than the picture -> PAL DV."""
    src = media_files.voice_1366
    out = tmp_path / "cast.dv"
    result = cli("convert", src, "-o", out)
    assert result.code == 0, result.err
    frames = expected_frames(src, Fraction(25))
    assert frames == 100
    d = decode(out, keep=(50,))
    assert_dv(d, **PAL, sar=Fraction(16, 15), frames=frames)
    # The voice (2.5 s of sine) is heard from the first frame, then silence to the end.
    assert min(d.audio_rms[2:60]) > 1000
    assert max(d.audio_rms[66:]) == 0
    # 1366x768 is wider than 4:3: bars above and below, picture between.
    plane = d.stills[50]
    assert plane[:70].max() <= 20, "top bar is black"
    assert plane[-70:].max() <= 20, "bottom bar is black"
    assert plane[80:490].std() > 10, "the picture is in the middle"
    if have("melt"):
        m = melt(out)
        assert (m.length, m.width, m.height, m.sar, m.dar) == (100, 720, 576, Fraction(16, 15), Fraction(4, 3))
    if have("playdv"):
        lib = playdv(out, tmp_path, video=have("xvfb-run"))
        assert lib.aspect == "4:3"
        assert lib.audio_bytes == frames * 1920 * 4
        if have("xvfb-run"):
            assert lib.frames == frames


def test_silent_1080p_to_ntsc_widescreen(tmp_path, media_files, ffmpeg_bin, cli):
    src = media_files.silent_1080
    out = tmp_path / "wide.dv"
    result = cli("convert", src, "-o", out, "--standard", "ntsc", "--aspect", "16:9")
    assert result.code == 0, result.err
    frames = expected_frames(src, NTSC["rate"])
    d = decode(out, keep=(10,))
    assert_dv(d, **NTSC, sar=Fraction(32, 27), frames=frames)
    assert max(d.audio_rms) == 0, "a silent capture gets a silent track"
    # 16:9 into 16:9: the picture fills the frame, no bars.
    assert d.stills[10][:4].mean() > 30 and d.stills[10][-4:].mean() > 30
    if have("melt"):
        m = melt(out)
        assert (m.length, m.dar, m.sar) == (frames, Fraction(16, 9), Fraction(32, 27))
    if have("playdv"):
        lib = playdv(out, tmp_path, video=False)
        assert lib.aspect == "16:9"
        assert lib.audio_bytes == round(frames * 48000 / NTSC["rate"]) * 4


def _disc_shape(plane: np.ndarray, sar: Fraction) -> tuple[float, int, int]:
    """Displayed width/height ratio of the bright disc, and the first/last picture rows."""
    bright = plane > 128
    rows = np.flatnonzero(bright.any(axis=1))
    cols = np.flatnonzero(bright.any(axis=0))
    shown_w = (cols[-1] - cols[0] + 1) * float(sar)
    shown_h = rows[-1] - rows[0] + 1
    return shown_w / shown_h, rows[0], rows[-1]


@pytest.mark.parametrize(
    "standard,aspect,sar",
    [("pal", "4:3", Fraction(16, 15)), ("ntsc", "4:3", Fraction(8, 9)), ("pal", "16:9", Fraction(64, 45))],
)
def test_circle_stays_round_on_a_16_10_capture(tmp_path, media_files, wheel_ffmpeg, cli, standard, aspect, sar):
    out = tmp_path / "circle.dv"
    result = cli("convert", media_files.circle_1610, "-o", out, "--standard", standard, "--aspect", aspect)
    assert result.code == 0, result.err
    d = decode(out, keep=(5,))
    assert d.sar == sar
    ratio, _, _ = _disc_shape(d.stills[5], sar)
    assert ratio == pytest.approx(1.0, abs=0.03), "a circle must stay a circle"
    plane = d.stills[5]
    if aspect == "4:3":  # 16:10 is wider than 4:3: letterboxed
        assert plane[:20].max() <= 20 and plane[-20:].max() <= 20
    else:  # 16:10 is narrower than 16:9: pillarboxed
        assert plane[:, :20].max() <= 20 and plane[:, -20:].max() <= 20


def test_tall_window_is_pillarboxed(tmp_path, media_files, wheel_ffmpeg, cli):
    out = tmp_path / "tall.dv"
    assert cli("convert", media_files.circle_portrait, "-o", out).code == 0
    d = decode(out, keep=(3,))
    ratio, _, _ = _disc_shape(d.stills[3], d.sar)
    assert ratio == pytest.approx(1.0, abs=0.03)
    plane = d.stills[3]
    assert plane[:, :150].max() <= 20 and plane[:, -150:].max() <= 20


def test_avi_output_and_long_voice_is_cut(tmp_path, media_files, ffmpeg_bin, cli):
    """Odd size, 12 fps, a voice-over longer than the picture, DV in AVI (type 2)."""
    src = media_files.odd_12fps_long_voice
    out = tmp_path / "odd.avi"
    assert cli("convert", src, "-o", out).code == 0
    d = decode(out)
    assert d.container == "avi"
    # The container lasts as long as its longest stream (the voice): the picture is held.
    frames = expected_frames(src, Fraction(25))
    assert_dv(d, **PAL, sar=Fraction(16, 15), frames=frames)
    assert min(d.audio_rms[1:-1]) > 1000
    if have("melt"):
        assert melt(out).length == frames


def test_variable_rate_capture_holds_frames_like_a_player(tmp_path, media_files, ffmpeg_bin, cli):
    """Each DV frame shows the source frame on screen at that moment (to the nearest frame,
    as ffmpeg's fps filter rounds), holds included, with either ffmpeg."""
    src = media_files.luma_vfr
    out = tmp_path / "vfr.dv"
    assert cli("convert", src, "-o", out).code == 0
    shown = frame_lumas(src)
    d = decode(out)
    assert d.frames == expected_frames(src, Fraction(25)) == 240
    for k, luma in enumerate(d.lumas):
        expected = shown_at(shown, k)
        # Scaled and DV-compressed, so a little off; neighbouring frames differ by 4.
        assert abs(luma - expected) < 1.6, f"frame {k} ({k / 25:.2f} s)"


@pytest.mark.parametrize("name, start, length, ntsc, frames", [
    ("luma_vfr", 3, 4, False, 100),  # variable rate, a trim starting inside a 2.5 s hold
    ("odd_12fps_long_voice", 0, None, False, 75),  # 12 fps, odd size, a voice outlasting it
    ("voice_1366", 0, None, True, 80),  # NTSC 16:9, cropped, 1.5x faster, faded in and out
])
def test_scaling_before_or_after_the_rate_change_gives_the_same_bytes(
        tmp_path, media_files, ffmpeg_bin, monkeypatch, name, start, length, ntsc, frames):
    """castkit scales a slow capture's pictures before the rate conversion repeats them (less
    work); that must be an optimisation only: the same DV bytes as the plain order."""

    from castkit.plan import encode as _plan
    from castkit.recipe.model import Crop
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.media.probe import probe
    from castkit.outputs.dv import DvProfile
    from castkit.media.dv import DvTarget

    ffmpeg = find_ffmpeg()
    info = probe(getattr(media_files, name), ffmpeg)
    trim = _plan.Trim(Fraction(start), None if length is None else Fraction(length))
    target, effects = DvTarget(), _plan.Effects()
    if ntsc:
        target = DvTarget("ntsc", "16:9")
        effects = _plan.Effects(crop=Crop(100, 40, 1000, 700), speed=Fraction(3, 2),
                                fade_in=Fraction(1, 2), fade_out=Fraction(1, 2))
    outs = {}
    for first in (True, False):
        monkeypatch.setattr(_plan, "_scale_before_rate", lambda *_, first=first: first)
        out = tmp_path / f"scaled-first-{first}.dv"
        job = _plan.clip_job(info, DvProfile(target), out, ffmpeg, trim=trim, effects=effects)
        graph = job.pictures.head[job.pictures.head.index("-filter_complex") + 1]
        assert (graph.index("scale=") < graph.index("fps=")) == first
        run_job(job)
        outs[first] = out
    assert sha256(outs[True]) == sha256(outs[False])
    d = decode(outs[True])
    if ntsc:
        assert_dv(d, **NTSC, sar=Fraction(32, 27), frames=frames)
        assert d.lumas[0] < 20 and d.lumas[-1] < 20, "faded from and to black"
    else:
        assert_dv(d, **PAL, sar=Fraction(16, 15), frames=frames)


def test_default_output_is_beside_the_input(tmp_path, media_files, wheel_ffmpeg, cli):
    src = tmp_path / "take one.ogv"
    shutil.copy(media_files.silent_1080, src)
    assert cli("convert", src, "-q").code == 0
    assert (tmp_path / "take one.dv").exists()


# --- safety: nothing lost, nothing partial ---------------------------------------------------


def test_existing_output_needs_force(tmp_path, media_files, wheel_ffmpeg, cli):
    out = tmp_path / "keep.dv"
    out.write_bytes(b"precious")
    result = cli("convert", media_files.silent_1080, "-o", out)
    assert result.code == 2
    assert "keep.dv" in result.err and "--force" in result.err
    assert out.read_bytes() == b"precious"
    assert cli("convert", media_files.silent_1080, "-o", out, "--force").code == 0
    assert decode(out).frames == 50
    assert listing(tmp_path) == ["keep.dv"]


def test_output_equal_to_input_is_refused_even_with_force(tmp_path, media_files, wheel_ffmpeg, cli):
    src = tmp_path / "capture.dv"
    shutil.copy(media_files.silent_1080, src)  # an .ogv named .dv: the name is what matters
    before = sha256(src)
    result = cli("convert", src, "-o", tmp_path / "." / "capture.dv", "--force")
    assert result.code == 2
    assert "capture.dv" in result.err and "input" in result.err
    assert sha256(src) == before


def _bad_inputs(tmp: Path, media_files) -> dict[str, Path]:
    empty = tmp / "empty.ogv"
    empty.write_bytes(b"")
    text = tmp / "notes.ogv"
    text.write_text("this is not a video\n" * 50)
    sound = tmp / "voice.ogg"
    import subprocess

    subprocess.run(
        [WHEEL_FFMPEG, "-loglevel", "error", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "libvorbis", str(sound)],
        check=True,
    )
    folder = tmp / "folder.ogv"
    folder.mkdir()
    return {
        "missing": tmp / "missing.ogv",
        "empty": empty,
        "not a video": text,
        "no video stream": sound,
        "a folder": folder,
    }


def test_bad_inputs_exit_2_naming_the_file(tmp_path, media_files, wheel_ffmpeg, cli):
    bad = _bad_inputs(tmp_path, media_files)
    before = listing(tmp_path)
    for what, path in bad.items():
        result = cli("convert", path, "-o", tmp_path / "out.dv")
        assert result.code == 2, what
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, (what, result.err)
        assert path.name in lines[0], what
        assert "Traceback" not in result.err
    assert listing(tmp_path) == before, "nothing written, nothing left behind"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_input(tmp_path, media_files, wheel_ffmpeg, cli):
    src = tmp_path / "locked.ogv"
    shutil.copy(media_files.silent_1080, src)
    src.chmod(0)
    result = cli("convert", src)
    assert result.code == 2 and "locked.ogv" in result.err


def test_ffmpeg_failing_midway_leaves_nothing(tmp_path, media_files, cli, monkeypatch):
    """ffmpeg dies after writing part of the output: exit 1, its stderr shown, no file."""
    fake_ffmpeg(tmp_path, monkeypatch, 'echo "Conversion failed: disk on fire" >&2; exit 1')
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = cli("convert", media_files.silent_1080, "-o", out_dir / "cast.dv")
    assert result.code == 1
    assert "disk on fire" in result.err
    assert "Traceback" not in result.err
    assert listing(out_dir) == []


def test_unknown_output_type_is_a_usage_error(tmp_path, media_files, wheel_ffmpeg, cli):
    result = cli("convert", media_files.silent_1080, "-o", tmp_path / "cast.mkv")
    assert result.code == 2 and "cast.mkv" in result.err
    assert listing(tmp_path) == []


def test_missing_output_folder_is_created(tmp_path, media_files, wheel_ffmpeg, cli):
    out = tmp_path / "build" / "casts" / "cast.dv"
    assert cli("convert", media_files.silent_1080, "-o", out, "-q").code == 0
    assert decode(out).frames == 50
