"""Issue 31: camera moves (``zoom:``), checked by decoding the casts and comparing their frames
with references made independently: the capture's own decoded picture, cropped to the expected
region and scaled by PIL (Lanczos, fractional box)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import media
from helpers import WHEEL_FFMPEG, write_recipe

pytestmark = pytest.mark.e2e

W, H = 384, 216  # the capture: 16:9, small
# A grey texture (no chroma, so that BT.601 and BT.709 give it the same luma), smooth enough to
# survive the encoders and with gradients everywhere, so that a shift of a fraction of a pixel
# shows (Lucas-Kanade, below).
TEXTURE = ("128+45*sin(X/5.3)*sin(Y/4.1)+35*sin((X+1.7*Y)/9.7)+20*sin((2.3*X-Y)/3.1)")
# PSNR of a frame against its reference. What a correct frame measures (MP4 at CRF 20 of this
# texture): 42-46 dB; the wrong region (one of the regions 2 px off, or the whole capture
# instead of a 2x region) measures below 25 dB, so 35 dB leaves a wide margin on both sides.
MIN_PSNR = 35.0


def ease(u: float) -> float:
    """The issue's ease-in-out, written out again here (smoothstep)."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


@pytest.fixture(scope="module")
def texture(tmp_path_factory) -> Path:
    """8 s of a still texture, every frame a keyframe (all decode to the same picture)."""
    root = tmp_path_factory.mktemp("camera")
    return media.make(
        WHEEL_FFMPEG, root / "texture.ogv", "-f", "lavfi", "-i",
        f"color=gray:size={W}x{H}:rate=25:duration=8,format=yuv420p,geq=lum='{TEXTURE}':cb=128:cr=128",
        "-c:v", "libtheora", "-q:v", "10", "-g", "1",
    )


def source_luma(path: Path) -> Image.Image:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return Image.fromarray(frame.to_ndarray(format="yuv420p")[:frame.height].copy(), "L")


def lumas(path: Path) -> tuple[np.ndarray, float]:
    with av.open(str(path)) as c:
        rate = float(c.streams.video[0].guessed_rate)
        planes = [f.to_ndarray(format="yuv420p")[:f.height].astype(np.float64) for f in c.decode(video=0)]
    return np.array(planes), rate


def reference(src: Image.Image, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    x, y, w, h = box
    return np.asarray(src.resize(size, Image.LANCZOS, box=(x, y, x + w, y + h))).astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray, border: int = 4) -> float:
    # Without the outermost pixels: the filters differ in how they treat the picture's edge.
    a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return 10 * math.log10(255 ** 2 / max(np.mean((a - b) ** 2), 1e-9))


def shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """How far the picture moved from ``a`` to ``b`` (x, y pixels): one Lucas-Kanade step over
    the whole frame, exact to a few hundredths of a pixel for shifts below one pixel."""
    a, b = a[8:-8, 8:-8], b[8:-8, 8:-8]
    m = (a + b) / 2
    gx = (m[1:-1, 2:] - m[1:-1, :-2]) / 2
    gy = (m[2:, 1:-1] - m[:-2, 1:-1]) / 2
    it = (b - a)[1:-1, 1:-1]
    A = np.array([[np.sum(gx * gx), np.sum(gx * gy)], [np.sum(gx * gy), np.sum(gy * gy)]])
    dx, dy = np.linalg.solve(A, -np.array([np.sum(gx * it), np.sum(gy * it)]))
    return float(dx), float(dy)


def build(tmp_path: Path, cli, texture: Path, zoom: str, output: str = "cast.mp4", extra: str = "",
          top: str = "") -> Path:
    (tmp_path / "texture.ogv").symlink_to(texture)
    write_recipe(tmp_path, f"output: {output}\n{top}segments:\n  - clip: texture.ogv\n"
                 + textwrap.indent(textwrap.dedent(extra).strip("\n") + "\n", "    ") * bool(extra.strip())
                 + "    zoom:\n" + textwrap.indent(textwrap.dedent(zoom).strip("\n"), "      ") + "\n")
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    return tmp_path / output


def test_a_move_shows_the_region_after_it_and_the_whole_capture_before(tmp_path, texture, ffmpeg_bin, cli):
    out = build(tmp_path, cli, texture, """
        - at: 1
          to: {x: 200, y: 20, width: 120, height: 90}
          ease: 0.5
        - at: 3
          to: full
    """)
    frames, rate = lumas(out)
    assert frames.shape[1:] == (H, W) and rate == 30 and len(frames) == 240
    src = source_luma(texture)
    whole = reference(src, (0, 0, W, H), (W, H))
    # The region grown to 16:9 around its centre (260, 65): 160x90.
    region = reference(src, (180, 20, 160, 90), (W, H))
    for k in (0, 15, 29, 30):  # up to and at the move's start (frame 30 is 1.0 s)
        assert psnr(frames[k], whole) > MIN_PSNR, k
    for k in (45, 60, 89, 90):  # arrived at 1.5 s, held until 3.0 s
        assert psnr(frames[k], region) > MIN_PSNR, k
        assert psnr(frames[k], whole) < 25, k
    for k in (114, 150, 239):  # back from 3.8 s (the default ease: 0.8 s)
        assert psnr(frames[k], whole) > MIN_PSNR, k
    # 2 px off is another picture: the margin above is real.
    assert psnr(frames[60], reference(src, (182, 20, 160, 90), (W, H))) < 30


# The output at the capture's size magnifies the moving views (they are filmed at their own
# pixels, then scaled up); at half its size it shrinks them (filmed at the output's size).
@pytest.mark.parametrize("output", ["cast.mp4", "{path: cast.mp4, height: 108}"])
def test_the_zoom_grows_smoothly_along_the_ease(tmp_path, texture, wheel_ffmpeg, cli, output):
    """A 2x zoom into the centre over 1 s: each frame's zoom, measured by finding the centred
    region that matches it best, grows on every frame and follows the ease curve."""
    build(tmp_path, cli, texture, """
        - at: 1
          to: {x: 96, y: 54, width: 192, height: 108}
          ease: 1
    """, output=output)
    frames, rate = lumas(tmp_path / "cast.mp4")
    src = source_luma(texture)
    size = frames.shape[2], frames.shape[1]
    assert size == ((W, H) if output == "cast.mp4" else (W // 2, H // 2))

    def match(frame: np.ndarray, zoom: float) -> float:
        w, h = W / zoom, H / zoom
        return psnr(frame, reference(src, ((W - w) / 2, (H - h) / 2, w, h), size))

    measured = []
    for k in range(30, 61):  # 1.0 s to 2.0 s
        coarse = max(np.arange(1, 2.04, 0.02), key=lambda z: match(frames[k], z))
        fine = max(np.arange(max(1, coarse - 0.02), coarse + 0.0201, 0.001), key=lambda z: match(frames[k], z))
        assert match(frames[k], fine) > MIN_PSNR, k
        measured.append(float(fine))
    steps = np.diff(measured)
    assert all(steps[1:-1] > 0), f"the zoom stalls: {measured}"
    for k, z in zip(range(30, 61), measured):
        assert math.log(z) / math.log(2) == pytest.approx(ease((k / rate - 1) / 1), abs=0.01), k
    # The speed of the zoom rises and falls with the ease: no jump at either end.
    assert steps[0] < steps.max() / 4 and steps[-1] < steps.max() / 4


def test_a_slow_pan_moves_every_frame_by_a_fraction_of_a_pixel(tmp_path, texture, ffmpeg_bin, cli):
    """20 source pixels over 4 s at 2x (the issue's numbers): 40 pixels of this output in 120
    frames. Whole-pixel stepping (zoompan, crop) shows still frames and steps of 2 px."""
    out = build(tmp_path, cli, texture, """
        - at: 0
          to: {x: 80, y: 54, width: 192, height: 108}
          ease: 0.04
        - at: 1
          to: {x: 100, y: 54, width: 192, height: 108}
          ease: 4
    """)
    frames, rate = lumas(out)
    moved = [shift(frames[k], frames[k + 1]) for k in range(30, 150)]
    dx = -np.array([m[0] for m in moved])  # the picture moves left as the view pans right
    assert dx.sum() == pytest.approx(40, abs=1.5)
    assert max(abs(m[1]) for m in moved) < 0.05
    middle = dx[30:90]
    mean = middle.mean()
    assert all(middle > mean / 4), f"still frames in the middle of the pan: {np.round(middle, 3)}"
    assert middle.max() < 1, "fractions of a pixel"
    assert middle.max() < 4 * mean
    # It follows the ease: each frame's displacement is the eased path's, to a few hundredths.
    path = [40 * ease((k / rate - 1) / 4) for k in range(30, 151)]
    # (x264 leaves the slowest frames at either end of the pan a few hundredths behind.)
    assert np.allclose(dx, np.diff(path), atol=0.1)


@pytest.mark.parametrize("output,top", [("cast.dv", "aspect: 16:9\n"), ("cast.webm", "")])
def test_dv_and_webm_show_the_region(tmp_path, texture, wheel_ffmpeg, cli, output, top):
    out = build(tmp_path, cli, texture, """
        - at: 0.5
          to: {x: 200, y: 20, width: 160, height: 90}
          ease: 0.5
    """, output=output, top=top)
    frames, rate = lumas(out)
    size = (frames.shape[2], frames.shape[1])
    src = source_luma(texture)
    k = int(2 * rate)
    got = frames[k]
    # DV: 720x576 of a 16:9 picture (non-square pixels): the reference is scaled to that frame.
    assert psnr(got, reference(src, (200, 20, 160, 90), size)) > (33 if output.endswith(".dv") else MIN_PSNR)
    assert psnr(frames[0], reference(src, (0, 0, W, H), size)) > (33 if output.endswith(".dv") else MIN_PSNR)


def test_the_camera_moves_inside_the_crop_at_capture_time_with_speed_and_fades(tmp_path, texture, ffmpeg_bin, cli):
    """Regions are in the capture's pixels inside its crop; ``at`` is capture time, so at
    speed 2 a move at 3 s happens 1 s into a clip that starts at 1 s."""
    out = build(tmp_path, cli, texture, """
        - at: 3
          to: {x: 150, y: 60, width: 64, height: 36}
          ease: 0.5
    """, extra="""
        start: 1
        speed: 2
        crop: {x: 64, y: 36, width: 256, height: 144}
        fade_out: 0.4
    """)
    frames, rate = lumas(out)
    assert len(frames) == round(7 / 2 * 30)
    src = source_luma(texture)
    cropped = reference(src, (64, 36, 256, 144), (W, H))
    region = reference(src, (150, 60, 64, 36), (W, H))
    assert psnr(frames[25], cropped) > MIN_PSNR  # 1 + 2 x 25/30 = 2.67 s of the capture
    assert psnr(frames[30], cropped) > MIN_PSNR  # 3.0 s: the move starts
    assert psnr(frames[38], region) > MIN_PSNR  # 3.53 s: arrived (0.5 s of capture time)
    assert psnr(frames[80], region) > MIN_PSNR
    assert frames[-1].mean() < 20  # faded to black


def test_moves_are_part_of_the_segments_key(tmp_path, texture, wheel_ffmpeg, cli):
    out = build(tmp_path, cli, texture, "- {at: 1, to: {x: 0, y: 0, width: 192, height: 108}}")
    first = lumas(out)[0][60]
    recipe = tmp_path / "cast.yaml"
    recipe.write_text(recipe.read_text().replace("x: 0,", "x: 192,"))
    assert cli("build", recipe, "-q", "--force").code == 0
    second = lumas(out)[0][60]
    src = source_luma(texture)
    assert psnr(first, reference(src, (0, 0, 192, 108), (W, H))) > MIN_PSNR
    assert psnr(second, reference(src, (192, 0, 192, 108), (W, H))) > MIN_PSNR


def test_dry_run_shows_the_moves(tmp_path, texture, wheel_ffmpeg, cli):
    (tmp_path / "texture.ogv").symlink_to(texture)
    write_recipe(tmp_path, """
        output: cast.mp4
        segments:
          - clip: texture.ogv
            zoom:
              - {at: 1, to: {x: 200, y: 20, width: 120, height: 90}, ease: 0.5}
              - {at: 3, to: full}
    """)
    result = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert result.code == 0, result.err
    assert "camera: 1-1.5 s to 160x90+180+20 (2.4x)" in result.out
    assert "camera: 3-3.8 s to full" in result.out
    assert "perspective=" in result.out
    # The camera's scales slice their pictures over the cores (swscale's threads): same bytes.
    scales = re.findall(r"scale=[^\[;']*", result.out)
    assert scales and all("threads=0" in scale for scale in scales), scales
    assert not (tmp_path / "cast.mp4").exists()


BAD = """
output: cast.mp4
segments:
  - clip: texture.ogv
    zoom:
      - {at: 0.5, to: {x: 300, y: 0, width: 40, height: 20}}
      - {at: 7, to: full}
      - {at: 2, to: full, ease: 3}
      - {at: 3, to: middle}
      - {at: 4, to: {x: 0, y: 0, width: 0, height: 5}, ease: -1}
      - {at: 5, to: full, speed: 2}
      - {at: 5.5, to: FULL, ease: 1}
"""


def test_bad_moves_are_reported_at_once_with_their_places(tmp_path, cli):
    (tmp_path / "cast.yaml").write_text(BAD.lstrip("\n"))
    result = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert result.code == 2
    assert "Traceback" not in result.err
    lines = [line.split("cast.yaml:", 1)[1] for line in result.err.splitlines() if "cast.yaml:" in line]
    assert lines == [
        "7:14: segment 1: zoom 3: moves must be in time order: at 2 s is not after the move before it (at 7 s)",
        "8:21: segment 1: zoom 4: to must be full or a region {x, y, width, height} in the capture's pixels",
        "9:41: segment 1: zoom 5: to.width must be more than zero",
        "9:62: segment 1: zoom 5: ease: a time cannot be negative",
        "10:9: segment 1: zoom 6: ease 0.8 s is longer than the 0.5 s to the next move",
        "10:27: segment 1: zoom 6: unknown key 'speed'; known keys: at, to, ease",
    ]


@pytest.mark.parametrize("zoom,message", [
    ("full", "3:25: segment 1: zoom must be a list of moves"),
    ("[]", "3:25: segment 1: zoom must be a list of moves"),
    ("[{to: full}]", "3:26: segment 1: zoom 1 needs 'at'"),
    ("[{at: 1}]", "3:26: segment 1: zoom 1 needs 'to'"),
    ("[{at: 1, to: full, ease: 0}]", "3:50: segment 1: zoom 1: ease must be more than zero"),
    ("[{at: 1, to: {x: 1, y: 1, width: 5}}]", "3:38: segment 1: zoom 1: to needs 'height'"),
    ("[{at: 2, to: full}, {at: 2, to: full}]", "3:50: segment 1: zoom 2: moves must be in time order"),
])
def test_each_bad_zoom_names_its_place(tmp_path, cli, zoom, message):
    (tmp_path / "cast.yaml").write_text(f"output: cast.mp4\nsegments:\n  - {{clip: a.ogv, zoom: {zoom}}}\n")
    result = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert result.code == 2 and "Traceback" not in result.err
    assert "cast.yaml:" + message in result.err, result.err


BAD_AGAINST_CAPTURE = """
output: cast.mp4
segments:
  - clip: texture.ogv
    end: 6
    crop: {x: 0, y: 0, width: 320, height: 216}
    zoom:
      - {at: 0.5, to: {x: 300, y: 0, width: 40, height: 20}}
      - {at: 7, to: full}
"""


def test_regions_outside_the_picture_and_times_outside_the_trim_exit_2(tmp_path, texture, wheel_ffmpeg, cli):
    (tmp_path / "texture.ogv").symlink_to(texture)
    (tmp_path / "cast.yaml").write_text(BAD_AGAINST_CAPTURE.lstrip("\n"))
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 2, result.err
    lines = [line.split("cast.yaml:", 1)[1] for line in result.err.splitlines() if "cast.yaml:" in line]
    assert lines == [
        "7:23: zoom 1: region 40x20 at 300,0 reaches outside the cropped 320x216 picture at 0,0",
        "8:14: zoom 2: at 7 s is outside the clip's 0-6 s",
    ]


@pytest.fixture(scope="module")
def spoken_texture(tmp_path_factory) -> Path:
    """The texture with a voice at 0-2 s and 5-8 s, silent between: a pause to cut."""
    root = tmp_path_factory.mktemp("camera-voice")
    return media.make(
        WHEEL_FFMPEG, root / "spoken.ogv", "-f", "lavfi", "-i",
        f"color=gray:size={W}x{H}:rate=25:duration=8,format=yuv420p,geq=lum='{TEXTURE}':cb=128:cr=128",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8",
        "-af", "volume=enable='between(t,2,5)':volume=0",
        "-c:v", "libtheora", "-q:v", "10", "-g", "1", "-c:a", "libvorbis",
    )


def test_the_camera_keeps_capture_time_across_a_cut_pause(tmp_path, spoken_texture, wheel_ffmpeg, cli):
    (tmp_path / "spoken.ogv").symlink_to(spoken_texture)
    write_recipe(tmp_path, """
        output: cast.mp4
        segments:
          - clip: spoken.ogv
            pauses: {action: cut, margin: 0.25}
            zoom:
              - {at: 1, to: {x: 0, y: 0, width: 192, height: 108}, ease: 0.5}
              - {at: 5.5, to: {x: 192, y: 108, width: 192, height: 108}, ease: 0.5}
    """)
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    frames, rate = lumas(tmp_path / "cast.mp4")
    # Kept: 0-2.25 s and 4.75-8 s of the capture (2.5 s cut), so 5.5 s is 3.0 s of the cast.
    assert len(frames) == pytest.approx(5.5 * rate, abs=2)
    src = source_luma(spoken_texture)
    a = reference(src, (0, 0, 192, 108), (W, H))
    b = reference(src, (192, 108, 192, 108), (W, H))
    whole = reference(src, (0, 0, W, H), (W, H))
    assert psnr(frames[int(0.5 * rate)], whole) > MIN_PSNR
    for t in (1.6, 2.2, 2.3, 2.9):  # A from 1.5 s, held over the cut (2.25 -> 4.75 s)
        assert psnr(frames[int(t * rate)], a) > MIN_PSNR, t
    for t in (3.6, 5.4):  # B from 6.0 s of the capture: 3.5 s of the cast
        assert psnr(frames[int(t * rate)], b) > MIN_PSNR, t


def test_slices_show_the_frames_of_the_whole_segment(tmp_path, texture, wheel_ffmpeg):
    """A DV segment encoded in slices (long captures, side by side) is the very frames of its
    unsliced encode, a move crossing the joins included: the path is a function of time."""
    from castkit.media.dv import DvTarget
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.media.probe import probe
    from castkit.outputs.profiles import make_profile
    from castkit.plan.encode import Effects, Trim, clip_job
    from castkit.recipe.model import Crop, Move
    from helpers import run_job

    ffmpeg = find_ffmpeg()
    info = probe(texture, ffmpeg)
    profile = make_profile(Path("cast.dv"), DvTarget(aspect="16:9"))
    fx = Effects(zoom=(Move(1, Crop(100, 50, 192, 108), 2), Move(4, None, 1)), fade_out=1)
    trim = Trim(0.5, 7)

    def frames_of(window, name):
        job = clip_job(info, profile, tmp_path / name, ffmpeg, trim=trim, effects=fx, window=window)
        with av.open(str(run_job(job))) as c:
            return [f.to_ndarray().tobytes() for f in c.decode(video=0)]

    whole = frames_of(None, "whole.dv")
    assert len(whole) == 175
    sliced = frames_of((0, 40), "a.dv") + frames_of((40, 110), "b.dv") + frames_of((110, 175), "c.dv")
    assert len(sliced) == 175
    assert [k for k in range(175) if sliced[k] != whole[k]] == []
    # The move (1-3 s of the capture: frames 13-62 of the segment) crosses the first join.
    assert len(set(whole[13:63])) == 50, "a different picture on every frame of the move"


@pytest.mark.parametrize("aspect,size", [("9:16", (216, 384)), ("1:1", (216, 216)), ("4:5", (216, 270))])
def test_a_vertical_or_square_output_reframes_each_clip(tmp_path, texture, wheel_ffmpeg, cli, aspect, size):
    """The frame is the cast's web height by the aspect (216 high captures: 216 wide); a clip
    without moves shows the centre of its capture, a title is drawn at that size."""
    (tmp_path / "texture.ogv").symlink_to(texture)
    write_recipe(tmp_path, f"""
        outputs:
          - {{path: short.mp4, aspect: "{aspect}"}}
        segments:
          - title: Vertical
            duration: 1
          - clip: texture.ogv
            duration: 2
    """)
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    frames, rate = lumas(tmp_path / "short.mp4")
    assert (frames.shape[2], frames.shape[1]) == size
    assert len(frames) == 3 * rate
    w = round(H * size[0] / size[1])  # held views are on whole pixels
    centre = reference(source_luma(texture), (round((W - w) / 2), 0, w, H), size)
    assert psnr(frames[int(2 * rate)], centre) > MIN_PSNR
    assert psnr(frames[int(2 * rate)], reference(source_luma(texture), (0, 0, W, H), size)) < 25


def test_a_vertical_output_fits_the_moves_to_its_aspect(tmp_path, texture, wheel_ffmpeg, cli):
    """A region near the top left is grown to 9:16 around its centre and kept inside: a
    60x60 region at 20,20 becomes 60x106.7 at 20,0."""
    (tmp_path / "texture.ogv").symlink_to(texture)
    write_recipe(tmp_path, """
        outputs: [cast.mp4, {path: short.mp4, aspect: "9:16"}]
        segments:
          - clip: texture.ogv
            duration: 3
            zoom:
              - {at: 1, to: {x: 20, y: 20, width: 60, height: 60}, ease: 0.5}
    """)
    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    src = source_luma(texture)
    tall, rate = lumas(tmp_path / "short.mp4")
    assert tall.shape[1:] == (384, 216)
    assert psnr(tall[int(2 * rate)], reference(src, (20, 0, 60, 60 * 16 / 9), (216, 384))) > MIN_PSNR
    wide, rate = lumas(tmp_path / "cast.mp4")  # the same move in the 16:9 cast: 106.7x60 at 0,20
    assert psnr(wide[int(2 * rate)], reference(src, (0, 20, 60 * 16 / 9, 60), (W, H))) > MIN_PSNR


def test_an_aspect_is_for_web_outputs(tmp_path, cli):
    (tmp_path / "cast.yaml").write_text('outputs: [{path: cast.dv, aspect: "9:16"}]\nsegments:\n  - title: A\n')
    result = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert result.code == 2
    # At the key itself, by the table that says which output takes which key (recipe.model.KIND_KEYS).
    assert "cast.yaml:1:27: outputs[1]: aspect applies to .mp4, .webm, not to .dv" in result.err, result.err


# `zoom: follow`: a 1920x1080 screen where someone types at A (a line from 200,200, 1-4 s),
# nothing happens for 2.5 s, then types at B (a line from 1300,850, 6.5-9.5 s); each character a
# 14x24 box, 18 px apart, every 0.2 s, and the text stays.
TYPED = {"A": (200, 200, 1.0, 4.0), "B": (1300, 850, 6.5, 9.5)}


def _typing_filter() -> str:
    boxes = []
    for x0, y0, begin, end in TYPED.values():
        for i in range(int(round((end - begin) / 0.2))):
            boxes.append(f"drawbox=x={x0 + 18 * i}:y={y0}:w=14:h=24:color=white:t=fill:"
                         f"enable='gte(t,{begin + 0.2 * i:.1f})'")
    return ",".join(boxes)


def _typed_box(name: str) -> tuple[int, int, int, int]:
    x0, y0, begin, end = TYPED[name]
    return x0, y0, x0 + 18 * (int(round((end - begin) / 0.2)) - 1) + 14, y0 + 24


@pytest.fixture(scope="module")
def typing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("camera-typing")
    return media.make(
        WHEEL_FFMPEG, root / "typing.ogv", "-f", "lavfi", "-i",
        f"color=black:size=1920x1080:rate=10:duration=12,format=yuv420p,{_typing_filter()}",
        "-c:v", "libtheora", "-q:v", "6",
    )


def _moves(out: str) -> list[tuple[float, float, tuple[float, float, float, float] | None, float]]:
    """(start, end, region or None for full, zoom) of each `camera:` line of a --dry-run."""
    found = []
    for line in out.splitlines():
        line = line.lstrip("# ").strip()
        if not line.startswith("camera:"):
            continue
        times, _, view = line[len("camera: "):].partition(" s to ")
        a, b = (float(v) for v in times.split("-"))
        if view == "full":
            found.append((a, b, None, 1.0))
        else:
            size, _, zoom = view.partition(" (")
            w, rest = size.split("x", 1)
            h, x, y = rest.split("+")
            found.append((a, b, (float(x), float(y), float(w), float(h)), float(zoom.rstrip("x)"))))
    return found


def _bright_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero((frame > 128).any(axis=1))
    cols = np.flatnonzero((frame > 128).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def test_follow_magnifies_each_typed_place_and_zooms_out_between(tmp_path, typing, wheel_ffmpeg, cli):
    (tmp_path / "typing.ogv").symlink_to(typing)
    write_recipe(tmp_path, """
        outputs:
          - {path: cast.mp4, height: 360, fps: 10}
          - {path: short.mp4, aspect: "9:16", fps: 10}
        segments:
          - clip: typing.ogv
            zoom: follow
    """)
    dry = cli("build", tmp_path / "cast.yaml", "--dry-run")
    assert dry.code == 0, dry.err
    # The 16:9 output's segment: the block of camera lines whose regions are 16:9.
    blocks = [_moves(block) for block in dry.out.split("# segment")]
    moves = next(m for m in blocks if m and all(abs(r[2] / r[3] - 16 / 9) < 0.01 for _, _, r, _ in m if r))
    ax0, ay0, ax1, ay1 = _typed_box("A")
    bx0, by0, bx1, by1 = _typed_box("B")

    def holding(t: float):
        """The view held at t (None: full), and whether a move runs then."""
        view, moving = None, False
        for a, b, region, _ in moves:
            if a <= t:
                view, moving = region, t < b
        return view, moving

    def shows(view, box) -> bool:
        x, y, w, h = view
        return x <= box[0] and y <= box[1] and box[2] <= x + w and box[3] <= y + h

    # A: magnified at least 1.5x, whole in view, and no move while its line is typed.
    for t in (1.8, 2.5, 3.2, 3.9):
        view, moving = holding(t)
        assert view is not None and not moving, (t, moves)
        assert shows(view, (ax0, ay0, ax1, ay1)) and 1920 / view[2] >= 1.5, (t, moves)
    # Between A and B, far apart: the whole picture at some moment.
    assert any(region is None and 4.0 <= a <= 7.5 for a, _, region, _ in moves), moves
    # B likewise.
    for t in (8.0, 8.8, 9.5):
        view, moving = holding(t)
        assert view is not None and not moving, (t, moves)
        assert shows(view, (bx0, by0, bx1, by1)) and 1920 / view[2] >= 1.5, (t, moves)

    result = cli("build", tmp_path / "cast.yaml", "-q")
    assert result.code == 0, result.err
    wide, rate = lumas(tmp_path / "cast.mp4")
    assert wide.shape[1:] == (360, 640)
    x0, y0, x1, y1 = _bright_box(wide[int(3.5 * rate)])
    assert (x1 - x0) >= 1.5 * (ax1 - ax0) / 3, "A magnified 1.5x at least (360p: a third of 1080)"
    assert x0 > 0 and y0 > 0 and x1 < 640 and y1 < 360, "A whole inside the frame"
    tall, rate = lumas(tmp_path / "short.mp4")
    assert tall.shape[1:] == (1920, 1080)
    for t, box in ((3.5, (ax0, ay0, ax1, ay1)), (9.0, (bx0, by0, bx1, by1))):
        x0, y0, x1, y1 = _bright_box(tall[int(t * rate)])
        assert x0 > 0 and y0 > 0 and x1 < 1080 and y1 < 1920, f"the typed place in view at {t} s"


EXPORTED = """
    output: cast.dv
    aspect: "16:9"
    segments:
      - title: Intro
        duration: 1
      - clip: texture.ogv
        start: 1
        duration: 3
        crop: {x: 32, y: 18, width: 320, height: 180}
        zoom: [{at: 2, to: {x: 150, y: 60, width: 128, height: 72}, ease: 0.5}]
"""


@pytest.mark.skipif(shutil.which("melt") is None, reason="melt not installed")
@pytest.mark.parametrize("suffix", [".mlt", ".kdenlive"])
def test_an_editor_renders_the_exported_moves(tmp_path, texture, wheel_ffmpeg, cli, suffix):
    """melt plays the project's camera as castkit films it: the whole (cropped) picture before
    the move, the region after it, and between them the same frames as castkit's DV cast."""
    (tmp_path / "texture.ogv").symlink_to(texture)
    write_recipe(tmp_path, EXPORTED)
    result = cli("export", tmp_path / "cast.yaml", "-o", tmp_path / f"edit{suffix}")
    assert result.code == 0, result.err
    assert "camera" not in result.err
    render = tmp_path / "render.dv"
    subprocess.run(["melt", str(tmp_path / f"edit{suffix}"), "-consumer", f"avformat:{render}", "real_time=0"],
                   check=True, capture_output=True, timeout=300)
    theirs, rate = lumas(render)
    assert len(theirs) == 100 and rate == 25
    assert cli("build", tmp_path / "cast.yaml", "-q").code == 0
    mine, _ = lumas(tmp_path / "cast.dv")
    size = (720, 576)
    src = source_luma(texture)
    whole = reference(src, (32, 18, 320, 180), size)
    region = reference(src, (150, 60, 128, 72), size)
    # The clip starts at frame 25 (after the title) with the capture's 1.0 s; the move runs
    # from the capture's 2.0 s to 2.5 s: frames 50 to 62 of the cast.
    for k in (26, 40, 49):
        assert psnr(theirs[k], whole) > 30 > psnr(theirs[k], region), k
    for k in (63, 80, 99):
        assert psnr(theirs[k], region) > 30 > psnr(theirs[k], whole), k
    for k in range(50, 63):
        assert psnr(theirs[k], mine[k]) > 30, k


@pytest.mark.parametrize("suffix", [".edl", ".smil"])
def test_an_export_without_camera_moves_says_so(tmp_path, texture, wheel_ffmpeg, cli, suffix):
    (tmp_path / "texture.ogv").symlink_to(texture)
    write_recipe(tmp_path, EXPORTED)
    result = cli("export", tmp_path / "cast.yaml", "-o", tmp_path / f"edit{suffix}")
    assert result.code == 0, result.err
    assert "has no camera moves; segment 2 is listed without it" in result.err


def test_otio_keeps_the_moves_in_its_castkit_metadata(tmp_path, texture, wheel_ffmpeg, cli):
    otio = pytest.importorskip("opentimelineio")
    (tmp_path / "texture.ogv").symlink_to(texture)
    write_recipe(tmp_path, EXPORTED)
    result = cli("export", tmp_path / "cast.yaml", "-o", tmp_path / "edit.otio")
    assert result.code == 0, result.err
    assert "OTIO has no camera moves; segment 2 keeps it only in its castkit metadata" in result.err
    clip = otio.adapters.read_from_file(str(tmp_path / "edit.otio")).tracks[0][1]
    # The region grown to 16:9 (already) and kept in the capture's pixels, with its times.
    assert [dict(move) for move in clip.metadata["castkit"]["camera"]] == [
        {"start": 2.0, "end": 2.5, "x": 150, "y": 60, "width": 128, "height": 72}]


def test_many_moves_fit_in_one_ffmpeg_command(tmp_path, texture, wheel_ffmpeg, cli):
    """Each move adds a few pieces to the segment's filter graph, not a term to every piece:
    before, 12 moves wrote a 570 kB argument and the kernel refused to start ffmpeg."""
    moves = "\n".join(f"- {{at: {0.3 * i:.1f}, to: {'full' if i % 2 else '{x: 10, y: 10, width: 192, height: 108}'}, "
                      "ease: 0.2}" for i in range(1, 26))
    out = build(tmp_path, cli, texture, moves)
    frames, rate = lumas(out)
    assert len(frames) == 240
    src = source_luma(texture)
    # The 24th move (7.2 s) arrives at the region at 7.4 s, the 25th (7.5 s) back at full at 7.7 s.
    assert psnr(frames[int(7.45 * rate)], reference(src, (10, 10, 192, 108), (W, H))) > MIN_PSNR
    assert psnr(frames[int(7.85 * rate)], reference(src, (0, 0, W, H), (W, H))) > MIN_PSNR


def test_a_filter_graph_too_long_for_an_argument_reaches_ffmpeg_as_a_file(tmp_path, texture, ffmpeg_bin,
                                                                          cli, monkeypatch):
    """Linux takes no argument over 128 kB: a longer graph goes to ffmpeg in a file, read with
    the option each ffmpeg knows (5.1 and 9.0 have none in common), and the file goes after."""
    import castkit.media.ffmpeg as ffmpeg_module
    import tempfile

    zoom = "- {at: 1, to: {x: 10, y: 10, width: 192, height: 108}, ease: 0.5}\n- {at: 3, to: full}"
    for name in ("inline", "file"):
        (tmp_path / name).mkdir()
    inline, _ = lumas(build(tmp_path / "inline", cli, texture, zoom))
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(graphs))
    monkeypatch.setattr(ffmpeg_module, "LONG_GRAPH", 200)  # every segment's graph is longer
    options = []
    real = ffmpeg_module.graph_file_option
    monkeypatch.setattr(ffmpeg_module, "graph_file_option", lambda v: options.append(real(v)) or options[-1])
    from_file, _ = lumas(build(tmp_path / "file", cli, texture, zoom))
    assert options and set(options) <= {"-/filter_complex", "-filter_complex_script"}
    assert len(from_file) == len(inline) == 240
    assert np.array_equal(from_file, inline)
    assert list(graphs.iterdir()) == []


@pytest.fixture(scope="module", params=[10, 30])
def blinking(tmp_path_factory, request) -> Path:
    """4 s at 10 fps (slower than the casts: each held view scales the capture's own pictures)
    or 30 fps (faster: the repeats are found by comparing) of a still grey picture whose only
    changes are two pixels wide, at its left edge and in its bottom right corner: where
    mpdecimate's blocks do not reach unless the picture is padded. Lossless (FFV1), so that the
    changes stay two pixels wide."""
    root = tmp_path_factory.mktemp("camera-blinking")
    rate = request.param
    return media.make(
        WHEEL_FFMPEG, root / f"blinking{rate}.mkv", "-f", "lavfi", "-i",
        f"color=gray:size={W}x{H}:rate={rate}:duration=4,format=yuv420p,"
        f"drawbox=x=0:y=40:w=2:h=8:color=white:t=fill:enable='lt(mod(n,{rate // 5 * 2}),{rate // 5})',"
        f"drawbox=x={W - 2}:y={H - 2}:w=2:h=2:color=black:t=fill:enable='lt(mod(n,{rate // 10 * 6}),{rate // 10 * 3})'",
        "-c:v", "ffv1",
    )


def test_held_views_scale_each_distinct_picture_once_and_give_the_same_frames(tmp_path, blinking, wheel_ffmpeg):
    """A held view scales each distinct picture once (the capture's own pictures where it is
    slower than the cast, else the repeats dropped by comparing them first) and repeats them
    after its scale: the very frames of scaling every frame, changes at the view's edges
    included."""
    import dataclasses

    from castkit.media.dv import DvTarget
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.media.probe import probe
    from castkit.outputs.profiles import make_profile
    from castkit.plan.encode import Effects, clip_job
    from castkit.recipe.model import Crop, Move
    from helpers import commands, run_job

    ffmpeg = find_ffmpeg()
    info = probe(blinking, ffmpeg)
    assert info.video.pix_fmt == "yuv420p"
    profile = make_profile(Path("cast.dv"), DvTarget(aspect="16:9"))
    # Held at the top left corner (1-2 s), then at the bottom right one, at odd offsets.
    fx = Effects(zoom=(Move(0.5, Crop(0, 0, 192, 108), 0.5), Move(2, Crop(191, 107, 193, 109), 0.5)))

    def frames_of(media_info, name):
        job = clip_job(media_info, profile, tmp_path / name, ffmpeg, effects=fx)
        graph = next(a for a in commands(job) if "perspective" in a)
        with av.open(str(run_job(job))) as c:
            return (graph.count("interleave"), graph.count("mpdecimate")), \
                [f.to_ndarray().tobytes() for f in c.decode(video=0)]

    ways, once = frames_of(info, "once.dv")
    unknown = dataclasses.replace(info, video=dataclasses.replace(info.video, pix_fmt=None))
    plain, every = frames_of(unknown, "every.dv")
    # Three held views (full, top left, bottom right), and the DV encode's own comparison.
    assert ways == ((3, 1) if info.video.fps < 25 else (0, 4))
    assert plain == (0, 1)
    assert len(once) == len(every) == 100
    assert [k for k in range(100) if once[k] != every[k]] == []
    # The blinking shows in both held corners: the comparison saw changes two pixels wide.
    assert len(set(once[26:49])) > 1 and len(set(once[64:100])) > 1


def test_the_storyboard_shows_the_camera_s_view(tmp_path, wheel_ffmpeg, cli):
    """A tile shows the clip as the cast frames it at that moment: zoomed where a move has
    zoomed (a fault campaign found the whole capture in the tile, unzoomed)."""
    from PIL import Image

    media.make(WHEEL_FFMPEG, tmp_path / "take.mkv", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15:duration=2",
               "-c:v", "ffv1")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("output: out.mp4\nsegments:\n  - clip: take.mkv\n    zoom:\n"
                      "      - {at: 0, to: {x: 0, y: 0, width: 160, height: 120}, ease: 0.4}\n")
    board = tmp_path / "board.png"
    result = cli("preview", recipe, "-q", "-o", board)
    assert result.code == 0, result.err
    with Image.open(board) as image:
        tile = np.asarray(image.convert("RGB"))[16:16 + 240, 16:16 + 320].astype(float)
    with av.open(str(tmp_path / "take.mkv")) as container:  # the middle frame, 1.0 s
        source = [f for _, f in zip(range(16), container.decode(video=0))][-1].to_image()
    zoomed = np.asarray(source.crop((0, 0, 160, 120)).resize((320, 240), Image.LANCZOS)).astype(float)
    whole = np.asarray(source).astype(float)
    assert np.abs(tile - zoomed).mean() < np.abs(tile - whole).mean() / 3, (
        np.abs(tile - zoomed).mean(), np.abs(tile - whole).mean())
