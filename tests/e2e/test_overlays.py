"""Issue 30: overlays on a clip (callouts, boxes, spotlights, keys, images) and redaction, checked
by decoding what castkit wrote (PyAV, Pillow) and comparing pixels with the capture's own.

Redaction is measured as high-frequency energy (each pixel's squared difference from the mean
of its 3x3 neighbourhood, averaged over the picture): the capture is flat but for a secret line
of text in the region, so the text is all the energy there is; a redacted output keeps under
5% of what the same recipe without the redaction shows, in every frame the redaction covers,
frames of a camera move and a held (variable-rate) picture included."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import media
from helpers import system_ffmpeg, WHEEL_FFMPEG

pytestmark = pytest.mark.e2e

W, H = 320, 180
BACKGROUND = (60, 70, 80)
FONT = Path(__file__).parents[2] / "castkit" / "titles" / "fonts" / "DejaVuSans.ttf"
SECRET = {"x": 16, "y": 96, "width": 200, "height": 24}
REDACT_AT = 0.5
MAX_ENERGY_SHARE = 0.05


def still_capture(out: Path, picture: Image.Image, held: bool = False) -> Path:
    """A 2 s H.264 capture of ``picture`` at 10 fps; ``held``: frames 1-9 left out, so the first
    picture is held for a second (a recorder's variable rate)."""
    png = out.with_suffix(".png")
    picture.save(png)
    vf = "format=yuv420p" + (",select='not(between(n\\,1\\,9))'" if held else "")
    return media.make(WHEEL_FFMPEG, out, "-loop", "1", "-framerate", "10", "-t", "2", "-i", str(png),
                      "-vf", vf, "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "veryfast", "-crf", "10")


def secret_picture() -> Image.Image:
    picture = Image.new("RGB", (W, H), BACKGROUND)
    pen = ImageDraw.Draw(picture)
    font = ImageFont.truetype(str(FONT), 15)
    pen.text((SECRET["x"] + 4, SECRET["y"] + 3), "sk-9f8e7d6c5b4a", font=font, fill=(245, 245, 245))
    return picture


def high_frequencies(luma: np.ndarray) -> np.ndarray:
    """Each pixel's squared difference from the mean of its 3x3 neighbourhood."""
    a = luma.astype(np.float64)
    local = sum(np.roll(np.roll(a, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    found = (a - local) ** 2
    found[[0, -1], :] = found[:, [0, -1]] = 0
    return found


def secret_box(plain: np.ndarray) -> tuple[slice, slice]:
    """Where the secret is in a frame of the cast without redaction (wherever the camera has
    put it): the box round its text's high frequencies. It lies inside the redacted region,
    whose edge (a step from the blurred patch to the background) is no trace of the text."""
    ys, xs = np.where(high_frequencies(plain) > 30)
    return slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)


def energy_share(plain: np.ndarray, redacted: np.ndarray) -> tuple[float, float]:
    """The secret's high-frequency energy in the plain frame, and the share of it left in the
    redacted one, both over the secret's box."""
    ys, xs = secret_box(plain)
    # The maps of a little more than the box (the 3x3 neighbourhood), for speed.
    around = slice(max(0, ys.start - 2), ys.stop + 2), slice(max(0, xs.start - 2), xs.stop + 2)
    inner = slice(ys.start - around[0].start, ys.stop - around[0].start), \
        slice(xs.start - around[1].start, xs.stop - around[1].start)
    source = float(high_frequencies(plain[around])[inner].mean())
    return source, float(high_frequencies(redacted[around])[inner].mean()) / source


def video_lumas(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(float(f.time), f.to_ndarray(format="gray")) for f in c.decode(video=0)]


def image_lumas(path: Path) -> list[np.ndarray]:
    frames = []
    with Image.open(path) as image:
        for n in range(getattr(image, "n_frames", 1)):
            image.seek(n)
            frames.append(np.asarray(image.convert("L")))
    return frames


RECIPE = """\
    loudness: off
    outputs:
      - build/cast.mp4
      - build/cast.dv
      - build/cast.webm
      - {path: build/cast.gif, width: 320, fps: 10}
      - {path: build/poster.png, at: 1.2}
    segments:
      - clip: take.mp4
        zoom:
          - {at: 0.7, to: {x: 0, y: 36, width: 256, height: 144}, ease: 0.8}
        overlays:
          - text: Copy the token
            at: 0.1
            until: 0.4
"""
REDACTION = (f"      - redact: {{x: {SECRET['x']}, y: {SECRET['y']}, width: {SECRET['width']}, "
             f"height: {SECRET['height']}}}\n        at: {REDACT_AT}\n        until: end\n")


@pytest.fixture(scope="module")
def secret_casts(tmp_path_factory) -> dict[str, Path]:
    """The same recipe built with and without its redaction (folders ``redacted``, ``plain``),
    by the wheel's ffmpeg (9: its boxblur takes a smaller radius than 5.1's)."""
    with using_ffmpeg(WHEEL_FFMPEG):
        yield from _secret_casts(tmp_path_factory)


@contextlib.contextmanager
def using_ffmpeg(path: str):
    before = os.environ.get("CASTKIT_FFMPEG")
    os.environ["CASTKIT_FFMPEG"] = path
    try:
        yield
    finally:
        if before is None:
            del os.environ["CASTKIT_FFMPEG"]
        else:
            os.environ["CASTKIT_FFMPEG"] = before


def build_recipe(root: Path, name: str, text: str, ffmpeg: str = WHEEL_FFMPEG) -> None:
    """``text`` (indented as in the test) as ``root/name``, built with ``ffmpeg``."""
    from castkit.cli import main

    (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    with using_ffmpeg(ffmpeg):
        assert main(["build", "-q", str(root / name)]) == 0


def _secret_casts(tmp_path_factory):
    from castkit.cli import main

    root = tmp_path_factory.mktemp("redaction")
    take = still_capture(root / "take.mp4", secret_picture(), held=True)
    folders = {}
    # The redaction from 0.5 s (on the grid of the cast's rate: the held first picture must
    # not slip into it), and from the capture's start (no grid needed: every picture is in it).
    whole = REDACTION.replace(f"at: {REDACT_AT}", "at: 0")
    for name, extra in (("plain", ""), ("redacted", REDACTION), ("redacted-from-0", whole)):
        folder = root / name
        folder.mkdir()
        os.link(take, folder / "take.mp4")
        (folder / "cast.yaml").write_text(textwrap.dedent(RECIPE) + extra, encoding="utf-8")
        assert main(["build", "-q", str(folder / "cast.yaml")]) == 0
        assert main(["preview", "-q", str(folder / "cast.yaml"), "-o", str(folder / "board.png")]) == 0
        folders[name] = folder
    yield folders


@pytest.mark.parametrize("name", ["cast.mp4", "cast.dv", "cast.webm"])
def test_redaction_holds_in_every_video_frame_it_covers(secret_casts, name):
    plain = video_lumas(secret_casts["plain"] / "build" / name)
    redacted = video_lumas(secret_casts["redacted"] / "build" / name)
    assert len(plain) == len(redacted)
    from_start = video_lumas(secret_casts["redacted-from-0"] / "build" / name)
    for (t, a), (_, b) in zip(plain, from_start):
        if 0.05 < t < 0.45:  # the recipe's callout shows (0.1-0.4 s), its text in both casts
            continue
        assert energy_share(a, b)[1] < MAX_ENERGY_SHARE, f"{name} at {t:.2f} s (redacted from 0)"
    covered = [(t, a, b) for (t, a), (_, b) in zip(plain, redacted) if t >= REDACT_AT]
    moving = [t for t, _, _ in covered if 0.7 < t < 1.5]
    assert len(covered) >= len(plain) * 0.7 and moving  # the camera's move is among them
    for t, a, b in covered:
        source, share = energy_share(a, b)
        assert source > 30, f"{name} at {t:.2f} s: the plain cast shows no text to redact"
        assert share < MAX_ENERGY_SHARE, f"{name} at {t:.2f} s: {share:.1%}"
    # Before the redaction, the text is there in both: the redaction has a time.
    t, a, b = next((t, a, b) for (t, a), (_, b) in zip(plain, redacted) if t < REDACT_AT - 0.1)
    assert energy_share(a, b)[1] > 0.8


@pytest.mark.parametrize("name", ["cast.gif", "poster.png"])
def test_redaction_holds_in_images(secret_casts, name):
    plain = image_lumas(secret_casts["plain"] / "build" / name)
    redacted = image_lumas(secret_casts["redacted"] / "build" / name)
    # An animation holds each distinct picture once: compare the last ones (after the move).
    for a, b in ([(plain[-1], redacted[-1])] if len(plain) > 1 else zip(plain, redacted)):
        source, share = energy_share(a, b)
        assert source > 100 and share < MAX_ENERGY_SHARE, f"{name}: {share:.1%}"


def test_redaction_holds_in_the_storyboard(secret_casts):
    def tile(path: Path) -> np.ndarray:
        """The clip's tile: the rows and columns mostly of the capture's background colour
        (the board's captions are not)."""
        rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
        mask = np.abs(rgb - BACKGROUND).sum(axis=2) < 12
        rows = np.where(mask.sum(axis=1) > 0.5 * mask.sum(axis=1).max())[0]
        cols = np.where(mask.sum(axis=0) > 0.5 * mask.sum(axis=0).max())[0]
        return np.asarray(Image.open(path).convert("L"))[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]

    plain, redacted = tile(secret_casts["plain"] / "board.png"), tile(secret_casts["redacted"] / "board.png")
    assert plain.shape == redacted.shape
    source, share = energy_share(plain, redacted)
    assert source > 100 and share < MAX_ENERGY_SHARE, f"{share:.1%}"


def test_export_of_a_redacted_clip_is_refused(secret_casts, cli):
    folder = secret_casts["redacted"]
    result = cli("export", folder / "cast.yaml", "-o", folder / "edit.mlt")
    assert result.code == 2
    assert "cast.yaml:" in result.err and "take.mp4" in result.err and "unredacted" in result.err
    assert not (folder / "edit.mlt").exists()
    plain = secret_casts["plain"]
    # Shotcut's and Kdenlive's projects hold the overlays (test_export_effects); an EDL says so.
    result = cli("export", plain / "cast.yaml", "-o", plain / "edit.mlt")
    assert result.code == 0 and "overlays" not in result.err and "watermark" in (plain / "edit.mlt").read_text()
    result = cli("export", plain / "cast.yaml", "-o", plain / "edit.edl")
    assert result.code == 0 and "overlays (text) are not exported" in result.err


# --- what each overlay draws -------------------------------------------------------------------
FLAT = (120, 160, 200)
LOGO = (230, 20, 20)


@pytest.fixture(scope="module")
def drawn_cast(tmp_path_factory) -> tuple[Path, Path]:
    """Built by Debian's ffmpeg where the machine has one (the redaction tests use the wheel's)."""
    with using_ffmpeg(system_ffmpeg() or WHEEL_FFMPEG):
        yield _drawn_cast(tmp_path_factory)


def _drawn_cast(tmp_path_factory) -> tuple[Path, Path]:
    from castkit.cli import main

    root = tmp_path_factory.mktemp("overlays")
    still_capture(root / "take.mp4", Image.new("RGB", (W, H), FLAT))
    Image.new("RGBA", (40, 40), (*LOGO, 128)).save(root / "logo.png")
    (root / "cast.yaml").write_text(textwrap.dedent("""\
        loudness: off
        outputs: [build/cast.mp4]
        segments:
          - clip: take.mp4
            overlays:
              - text: "Click Install"
                at: 0.3
                until: 0.9
                position: {x: 20, y: 20}
                style: {background: "#ffe066", color: "#111111", size: 16}
              - box: {x: 150, y: 100, width: 60, height: 30}
                at: 0.3
                duration: 0.6
                style: {color: "#ff3b30"}
              - spotlight: {x: 100, y: 60, width: 80, height: 50}
                at: 1.1
                until: 1.7
              - keys: Ctrl+Shift+T
                at: 1.1
                until: 1.7
              - image: logo.png
                position: {x: 270, y: 10}
                at: 0
                until: end
                fade: 0
        """), encoding="utf-8")
    assert main(["build", "-q", str(root / "cast.yaml")]) == 0
    return root / "build" / "cast.mp4", root


def rgb_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as c:
        frames = [(abs(float(f.time) - t), f.to_ndarray(format="rgb24").astype(int)) for f in c.decode(video=0)]
    return min(frames, key=lambda item: item[0])[1]


def near(pixel, colour, tolerance=14) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel) - np.asarray(colour)) <= tolerance))


def test_callout_and_box_show_in_their_time_only(drawn_cast):
    cast, _ = drawn_cast
    before, during, after = rgb_at(cast, 0.1), rgb_at(cast, 0.6), rgb_at(cast, 1.0)
    callout = (24, 23)  # inside the callout's box, in its padding (no text)
    # Opaque while shown: #ffe066 through BT.709 4:2:0 H.264, read back as PyAV converts it,
    # within 12 a channel (at 80% alpha over this capture it measured 27 off in red).
    assert near(during[callout[1], callout[0]], (0xff, 0xe0, 0x66), 12)
    assert near(before[callout[1], callout[0]], FLAT) and near(after[callout[1], callout[0]], FLAT)
    assert (during[22:48, 28:120].sum(axis=2) < 300).sum() > 40  # its dark text on the yellow
    # The box: a red frame round the region, the region itself untouched.
    line = max((during[115, x] for x in range(145, 151)), key=lambda p: p[0] - p[1])  # the left side
    assert line[0] > line[1] + 80 and line[0] > line[2] + 60, line
    assert near(during[115, 180], FLAT)
    assert near(before[115, 147], FLAT) and near(after[115, 147], FLAT)


def test_spotlight_dims_outside_and_keeps_inside(drawn_cast):
    cast, _ = drawn_cast
    plain, lit = rgb_at(cast, 0.1), rgb_at(cast, 1.4)
    inside = (slice(70, 100), slice(110, 170))
    outside = (slice(20, 50), slice(200, 250))
    assert np.abs(lit[inside] - plain[inside]).mean() < 4
    assert lit[outside].mean() <= 0.6 * plain[outside].mean()


def test_keycaps_at_the_bottom(drawn_cast):
    cast, _ = drawn_cast
    lit = rgb_at(cast, 1.4)
    band = lit[130:176, 80:240]  # the bottom centre (dimmed by the spotlight too)
    chip = np.abs(band - (0x2b, 0x2d, 0x31)).sum(axis=2) < 40
    ink = band.min(axis=2) > 200  # white key names
    assert chip.sum() > 400 and ink.sum() > 30
    assert (np.abs(rgb_at(cast, 0.6)[140:176, 80:240] - FLAT).sum(axis=2) < 30).all()


def test_logo_is_alpha_blended(drawn_cast):
    cast, _ = drawn_cast
    frame = rgb_at(cast, 0.6)
    expected = [(a + b) / 2 for a, b in zip(LOGO, FLAT)]
    assert near(frame[30, 290], expected, 16), frame[30, 290]
    assert near(frame[30, 260], FLAT)


def test_dry_run_lists_the_overlays_and_their_look_is_in_the_cache_key(drawn_cast, cli, monkeypatch):
    _, root = drawn_cast
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    recipe = root / "cast.yaml"
    # --no-cache: every command listed, whichever ffmpeg made the fixture's cast (the system's,
    # or the wheel's on a machine without one: then its segment is in the cache already).
    first = cli("build", recipe, "--dry-run", "--force", "--no-cache")
    assert first.code == 0
    assert "# overlay: text 'Click Install' 0.3-0.9 s at " in first.out
    assert "# overlay: redact" not in first.out and "# overlay: keys 'Ctrl+Shift+T' 1.1-1.7 s" in first.out
    original = recipe.read_text(encoding="utf-8")
    recipe.write_text(original.replace("Click Install", "Click Remove"), encoding="utf-8")
    try:
        second = cli("build", recipe, "--dry-run", "--force", "--no-cache")
    finally:
        recipe.write_text(original, encoding="utf-8")
    segment = re.compile(r"segment-[0-9a-f]+\.mp4")
    assert set(segment.findall(first.out)).isdisjoint(segment.findall(second.out))


def test_styled_frame_insets_the_picture_in_web_outputs_not_dv(drawn_cast):
    _, root = drawn_cast
    build_recipe(root, "framed.yaml", """\
        loudness: off
        frame: {background: "#2d3250", padding: 0.1, radius: 120}
        outputs: [build/framed.mp4, build/framed.dv]
        segments:
          - clip: take.mp4
            duration: 0.5
        """)
    frame = rgb_at(root / "build" / "framed.mp4", 0.2)
    background = (0x2d, 0x32, 0x50)
    for y, x in ((2, 2), (2, W - 3), (H - 3, 2), (H - 3, W - 3), (10, W // 2), (H // 2, 8)):
        assert near(frame[y, x], background, 10), (y, x, frame[y, x])
    assert near(frame[H // 2, W // 2], FLAT)
    # Rounded: the window's very corner shows the background, a few pixels in the capture.
    assert near(frame[19, 33], background, 24) and near(frame[26, 42], FLAT)  # radius 20 px here
    dv = rgb_at(root / "build" / "framed.dv", 0.2)  # DV ignores the recipe's frame
    assert near(dv[288, 4], FLAT, 20) and near(dv[288, 360], FLAT, 20)


CAMERA = (0, 200, 90)  # the test camera's colour (RGB)


def test_webcam_corner_in_its_place_size_and_shape_with_its_sound(drawn_cast):
    _, root = drawn_cast
    media.make(WHEEL_FFMPEG, root / "face.mp4", "-f", "lavfi", "-i", "color=c=0x00c85a:s=160x120:r=15:d=2",
               "-f", "lavfi", "-i", "sine=f=330:r=48000:d=2", "-c:v", "libx264", "-preset", "veryfast",
               "-c:a", "aac", "-shortest")
    build_recipe(root, "webcam.yaml", """\
        loudness: off
        webcam: {clip: face.mp4, size: 0.4}
        outputs: [build/webcam.mp4]
        segments:
          - clip: take.mp4
            duration: 1
        """)
    cast = root / "build" / "webcam.mp4"
    frame = rgb_at(cast, 0.5)
    # 0.4 of 180 lines: a 72 px circle, 6 px (1/30 of the height) from the bottom right corner.
    x0, y0, side = W - 6 - 72, H - 6 - 72, 72
    assert near(frame[y0 + side // 2, x0 + side // 2], CAMERA, 20)
    assert near(frame[y0 + 3, x0 + side // 2], CAMERA, 30) and near(frame[y0 + side // 2, x0 + 3], CAMERA, 30)
    for y, x in ((y0 + 2, x0 + 2), (y0 + 2, x0 + side - 3), (y0 + side - 3, x0 + 2)):  # a circle's corners
        assert near(frame[y, x], FLAT), (y, x, frame[y, x])
    assert near(frame[y0 - 4, x0 + side // 2], FLAT) and near(frame[y0 + side // 2, x0 - 4], FLAT)
    with av.open(str(cast)) as c:  # the capture is silent: the camera's sound is the narration
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    assert np.sqrt(np.mean(sound.astype(np.float64) ** 2)) > 0.05


def camera_box(frame: np.ndarray) -> tuple[int, int, int, int, int]:
    """Left, top, right, bottom and area of the test camera's colour in a frame."""
    found = np.abs(frame - CAMERA).sum(axis=2) < 60
    ys, xs = np.where(found)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()), int(found.sum())


def test_webcam_layouts_change_over_time_eased(drawn_cast, cli, monkeypatch):
    """A circle in the corner until 0.6 s, then eased over 0.8 s to the whole frame: before,
    the corner; after, every pixel the camera's; during, a box between the two growing from
    its corner, every edge moving one way. In chunks of 0.5 s: the change goes on across them."""
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "0.5")

    _, root = drawn_cast
    media.make(WHEEL_FFMPEG, root / "face-silent.mp4", "-f", "lavfi", "-i", "color=c=0x00c85a:s=160x120:r=15:d=2",
               "-c:v", "libx264", "-preset", "veryfast")
    build_recipe(root, "layouts.yaml", """\
        loudness: off
        webcam:
          - {clip: face-silent.mp4, size: 0.4}
          - {at: 0.6, ease: 0.8, position: full}
        outputs: [build/layouts.mp4]
        segments:
          - clip: take.mp4
        """, system_ffmpeg() or WHEEL_FFMPEG)
    with av.open(str(root / "build" / "layouts.mp4")) as c:
        frames = [(float(f.time), f.to_ndarray(format="rgb24").astype(int)) for f in c.decode(video=0)]
    corner = (W - 6 - 72, H - 6 - 72, W - 6 - 1, H - 6 - 1)  # 0.4 of 180 lines, 6 px in
    for t, frame in frames:
        left, top, right, bottom, area = camera_box(frame)
        if t <= 0.6:
            assert (left, top, right, bottom) == corner and area < 72 * 72, (t, left, top, right, bottom)
        elif t >= 1.4:
            assert area == W * H, (t, area)
    moving = [camera_box(frame) for t, frame in frames if 0.6 < t < 1.4]
    assert len(moving) >= 20  # 30 fps: every frame of the ease its own place
    lefts, tops, areas = [m[0] for m in moving], [m[1] for m in moving], [m[4] for m in moving]
    assert all(a >= b for a, b in zip(lefts, lefts[1:])) and all(a >= b for a, b in zip(tops, tops[1:]))
    assert all(a < b for a, b in zip(areas, areas[1:]))  # growing on every frame
    assert all(m[2] >= corner[2] and m[3] >= corner[3] for m in moving)  # from its corner
    assert corner[0] > lefts[len(lefts) // 2] > 0 and 72 * 72 < areas[len(areas) // 2] < W * H
    # Eased: slow at both ends, fastest in the middle (smoothstep).
    steps = [a - b for a, b in zip(lefts, lefts[1:])]
    assert max(steps[:3]) < max(steps) and max(steps[-3:]) < max(steps)
    # --dry-run names each change, and the layouts are in the segment's cache key.
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    recipe = root / "layouts.yaml"
    first = cli("build", recipe, "--dry-run", "--force", "--no-cache")
    assert first.code == 0 and "# webcam: 0.6-1.4 s to 320x180+0+0" in first.out, first.out
    original = recipe.read_text(encoding="utf-8")
    recipe.write_text(original.replace("at: 0.6", "at: 0.7"), encoding="utf-8")
    try:
        second = cli("build", recipe, "--dry-run", "--force", "--no-cache")
    finally:
        recipe.write_text(original, encoding="utf-8")
    segment = re.compile(r"segment-[0-9a-f]+\.mp4")
    # The chunks the change is in are new; the first (0-0.5 s, before it) is the same.
    before, after = set(segment.findall(first.out)), set(segment.findall(second.out))
    assert len(before) == 4 and len(before - after) >= 2 and len(before & after) >= 1


def test_a_chunk_deep_in_the_clip_seeks_the_webcam_and_shows_the_same_frames(tmp_path, cli, monkeypatch):
    """A 4 s clip in chunks of 1 s: the later chunks seek the camera (a keyframe every 0.5 s)
    as they seek the capture, instead of decoding it from its start, and show the very camera
    frames of a build in one piece: its grey level is its frame's number."""
    media.make(WHEEL_FFMPEG, tmp_path / "take.mp4", "-f", "lavfi", "-i", f"color=c=0x78a0c8:s={W}x{H}:r=10:d=4",
               "-c:v", "libx264", "-preset", "veryfast", "-g", "5")
    media.make(WHEEL_FFMPEG, tmp_path / "counter.mp4", "-f", "lavfi", "-i", "color=c=black:s=160x120:r=10:d=4",
               "-vf", "geq=lum='20+5*N':cb=128:cr=128,format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
               "-crf", "10", "-g", "5")
    recipe = """\
        loudness: off
        webcam: {clip: counter.mp4, size: 0.4, shape: square}
        outputs: [build/NAME.mp4]
        segments:
          - clip: take.mp4
        """
    build_recipe(tmp_path, "whole.yaml", recipe.replace("NAME", "whole"))
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "1")
    build_recipe(tmp_path, "chunked.yaml", recipe.replace("NAME", "chunked"))
    monkeypatch.setenv("CASTKIT_FFMPEG", WHEEL_FFMPEG)
    dry = cli("build", tmp_path / "chunked.yaml", "--dry-run", "--no-cache")
    seeks = re.findall(r"-ss (\d+) -threads 1 -i \S*counter\.mp4", dry.out)
    assert dry.code == 0 and seeks == ["1", "2"], seeks  # chunks 3 and 4; 1 and 2 start too early

    def levels(name: str) -> list[float]:
        x0, y0, side = W - 6 - 72, H - 6 - 72, 72  # 0.4 of 180 lines, 6 px from the corner
        with av.open(str(tmp_path / "build" / f"{name}.mp4")) as c:
            return [float(f.to_ndarray(format="gray")[y0 + 16:y0 + side - 16, x0 + 16:x0 + side - 16].mean())
                    for f in c.decode(video=0)]
    whole, chunked = levels("whole"), levels("chunked")
    assert len(whole) == len(chunked) == 120
    assert max(whole) - min(whole) > 150  # the counter runs through the clip
    # A camera frame more or less is a step of 5 levels (about 6 in full range).
    assert all(abs(a - b) < 2.5 for a, b in zip(whole, chunked)), [(n, a, b) for n, (a, b)
                                                                    in enumerate(zip(whole, chunked)) if abs(a - b) >= 2.5]


def logo_shown(folder: Path, rate: int, seconds: float, clip: str) -> list[bool]:
    """Build a cast of ``take.mp4`` (an even blue-grey capture at ``rate``) with the ``clip``
    keys given (YAML lines, indented for the clip), where ``logo.png`` is a 40 px square of
    LOGO; whether each frame of the MP4 shows the logo at (40, 40)."""
    media.make(WHEEL_FFMPEG, folder / "take.mp4", "-f", "lavfi", "-i",
               f"color=c=0x78a0c8:s={W}x{H}:r={rate}:d={seconds}", "-c:v", "libx264", "-preset", "veryfast")
    Image.new("RGBA", (40, 40), (*LOGO, 255)).save(folder / "logo.png")
    build_recipe(folder, "cast.yaml", "loudness: off\noutputs: [build/cast.mp4]\nsegments:\n  - clip: take.mp4\n"
                 + textwrap.indent(textwrap.dedent(clip), "    "))
    with av.open(str(folder / "build" / "cast.mp4")) as c:
        return [near(f.to_ndarray(format="rgb24").astype(int)[40, 40], LOGO, 30) for f in c.decode(video=0)]


@pytest.mark.parametrize("chunk", ["0", "1"])
def test_an_overlay_without_a_fade_shows_to_its_last_frame(tmp_path, monkeypatch, chunk):
    """An overlay's layer ends with its own last frame (``eof_action=pass``): the one at its end
    time must not come early. At 30 fps an end at 2.47 s shows it on frame 74 (2.467 s), not
    75; a PNG's own clock (1/25 s) would have put its last frame at 2.44 s, before frame 74."""
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", chunk)  # 1: the end in a chunk shifted by 2 s
    shown = logo_shown(tmp_path, 30, 4, """\
        overlays:
          - image: logo.png
            position: {x: 20, y: 20}
            at: 0.5
            until: 2.47
            fade: 0
        """)
    assert len(shown) == 120
    assert [n for n, s in enumerate(shown) if s] == list(range(15, 75))  # 0.5 s to 2.467 s


def test_an_overlay_held_before_a_zoom_and_after_it_again_is_drawn_both_times(tmp_path):
    """The camera zooms in and back out to the whole picture while a logo is shown: the whole
    picture's view holds twice. Seen before the fix: castkit built the same layer twice, and
    ffmpeg-python refused the graph (an internal error, even for --dry-run)."""
    shown = logo_shown(tmp_path, 25, 2, """\
        overlays:
          - {image: logo.png, position: {x: 20, y: 20}, at: 0.2, until: end, fade: 0}
        zoom:
          - {at: 0.5, to: {x: 160, y: 90, width: 160, height: 90}, ease: 0.3}
          - {at: 1.2, to: full, ease: 0.3}
        """)
    assert len(shown) == 60  # 2 s at the web masters' 30 fps
    for t in (0.3, 1.7, 1.95):  # the whole picture, before the zoom and after it again
        assert shown[round(t * 30)], t
    assert not shown[30], "zoomed away from the logo at 1 s"


def text_sharpness(frame: np.ndarray) -> float:
    """High-frequency energy of a dark text on a light box, per unit of its contrast: what a
    blur (a picture resampled larger) takes away."""
    luma = frame.astype(np.float64)
    contrast = float(np.percentile(luma, 95) - np.percentile(luma, 5))
    return float(high_frequencies(luma).mean()) / contrast ** 2


def test_overlays_are_drawn_at_the_outputs_resolution_sharp_under_a_zoom(drawn_cast):
    """A callout under the camera's 2x zoom: drawn for the output at twice the capture's size,
    its text as sharp as the same callout drawn at that size outright (Pillow, the test's own),
    where one drawn on the capture and enlarged with it keeps under half of that."""
    _, root = drawn_cast
    build_recipe(root, "sharp.yaml", """\
        loudness: off
        outputs: [build/sharp.mp4]
        segments:
          - clip: take.mp4
            zoom:
              - {at: 0, to: {x: 0, y: 0, width: 160, height: 90}, ease: 0.1}
            overlays:
              - text: "Sharp 0123 Install"
                at: 0.4
                until: end
                fade: 0
                position: {x: 10, y: 10}
                style: {size: 12, background: "#ffffff", color: "#000000"}
        """)
    frame = rgb_at(root / "build" / "sharp.mp4", 1.0).mean(axis=2)
    # The callout's text at 2x: from (20, 20), about 28 px high; inside its padding, its text.
    found = np.where(frame[20:80, 20:300] < 60)  # black text (the shadow is lighter)
    text = frame[20 + found[0].min() - 2:20 + found[0].max() + 3, 20 + found[1].min() - 2:20 + found[1].max() + 3]
    reference = Image.new("L", (400, 60), 255)
    ImageDraw.Draw(reference).text((4, 4), "Sharp 0123 Install", font=ImageFont.truetype(str(FONT), 24), fill=0)
    ref = np.asarray(reference, dtype=np.float64)
    ys, xs = np.where(ref < 60)
    ref = ref[ys.min() - 2:ys.max() + 3, xs.min() - 2:xs.max() + 3]
    assert abs(text.shape[1] - ref.shape[1]) <= 8, (text.shape, ref.shape)  # the same text, the same size
    share = text_sharpness(text) / text_sharpness(ref)
    print(f"sharpness share {share:.3f}")
    assert share > 0.6, f"{share:.2f} of the sharpness of text drawn at that size"


def test_an_overlay_drawn_for_the_output_follows_a_camera_move(drawn_cast, monkeypatch):
    """The camera glides from the whole picture to a 2x view of 80,45-240,135 while a callout
    at 120,70 shows: it stays on its place of the capture, frame by frame (its left edge at
    (120 - view's left) x zoom), and grows with the zoom. Encoded in chunks of 0.5 s (as a
    long clip is, ``plan.chunks``): the callout and the move go on across them."""
    monkeypatch.setenv("CASTKIT_CHUNK_SECONDS", "0.5")
    _, root = drawn_cast
    build_recipe(root, "follow.yaml", """\
        loudness: off
        outputs: [build/follow.mp4]
        segments:
          - clip: take.mp4
            zoom:
              - {at: 0.5, to: {x: 80, y: 45, width: 160, height: 90}, ease: 0.8}
            overlays:
              - text: "Follow me"
                at: 0.2
                until: end
                position: {x: 120, y: 70}
                style: {size: 12}
        """)
    boxes = []
    with av.open(str(root / "build" / "follow.mp4")) as c:
        for f in c.decode(video=0):
            found = np.abs(f.to_ndarray(format="rgb24").astype(int) - (0xff, 0xe0, 0x66)).sum(axis=2) < 60
            ys, xs = np.where(found)
            if 0.45 < f.time < 1.75:  # shown, faded in and not yet fading out
                boxes.append((float(f.time), int(xs.min()), int(ys.min()), int(xs.max() - xs.min())))
    before = [b for b in boxes if b[0] <= 0.5]
    after = [b for b in boxes if b[0] >= 1.3]
    moving = [b for b in boxes if 0.5 < b[0] < 1.3]
    assert {b[1:3] for b in before} == {(120, 70)} and {b[1:3] for b in after} == {(80, 50)}
    width = before[0][3]
    assert all(abs(b[3] - 2 * width) <= 2 for b in after)
    lefts, widths = [b[1] for b in moving], [b[3] for b in moving]
    assert len(moving) >= 20 and all(a >= b for a, b in zip(lefts, lefts[1:]))
    assert all(a <= b for a, b in zip(widths, widths[1:])) and width < widths[len(widths) // 2] < 2 * width


# --- what the overlays cost (issue 30's benchmark: at most 1.3x the clip without) ---------------
FFMPEGS = [pytest.param(p, id=name) for name, p in (("system", system_ffmpeg()), ("wheel", WHEEL_FFMPEG)) if p]


@pytest.fixture(scope="module")
def busy_recipe(tmp_path_factory) -> Path:
    """A clip with every kind of overlay, a redaction from its start and a webcam corner (a
    saturated red camera, untagged: BT.601, as a webcam's picture usually is)."""
    root = tmp_path_factory.mktemp("busy")
    still_capture(root / "take.mp4", Image.new("RGB", (W, H), FLAT))
    Image.new("RGBA", (40, 40), (*LOGO, 128)).save(root / "logo.png")
    media.make(WHEEL_FFMPEG, root / "face.mp4", "-f", "lavfi", "-i", f"color=c=0x{BUSY_CAMERA_HEX}:s=160x120:r=15:d=1",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "10")
    (root / "cast.yaml").write_text(textwrap.dedent("""\
        loudness: off
        webcam: {clip: face.mp4, size: 0.4}
        outputs: [build/cast.mp4]
        segments:
          - clip: take.mp4
            duration: 1
            overlays:
              - text: "Click Install"
                at: 0.2
                until: 0.6
                position: {x: 20, y: 20}
              - box: {x: 150, y: 100, width: 60, height: 30}
                at: 0.2
                duration: 0.4
              - spotlight: {x: 100, y: 60, width: 80, height: 50}
                at: 0.5
                until: 0.9
              - keys: Ctrl+T
                at: 0.5
                until: 0.9
              - image: logo.png
                position: top-right
                at: 0
                until: end
              - redact: {x: 16, y: 96, width: 200, height: 24}
                at: 0
                until: end
        """), encoding="utf-8")
    return root / "cast.yaml"


BUSY_CAMERA_HEX = "dc2828"  # RGB (220, 40, 40): read as BT.709, its BT.601 YUV is 20-40 off a channel


@pytest.mark.parametrize("ffmpeg", FFMPEGS)
def test_overlays_convert_no_whole_frame_and_the_webcam_keeps_its_colour(busy_recipe, cli, monkeypatch, tmp_path,
                                                                         ffmpeg):
    """Each overlay, the redaction and the webcam take the frame in its own 4:2:0 layout: ffmpeg
    inserts no converter of the whole frame (with ``format=auto`` it converted every frame to
    YUVA and back once per overlay, shown or not: the most of what overlays cost). The camera
    is scaled in its own matrix (BT.601) and converted to the output's (BT.709) after, on the
    small picture: its red reads back as red, within what H.264 4:2:0 keeps."""
    monkeypatch.setenv("CASTKIT_FFMPEG", ffmpeg)
    built = cli("build", "-q", "--force", busy_recipe)
    assert built.code == 0, built.err
    frame = rgb_at(busy_recipe.parent / "build" / "cast.mp4", 0.5)
    x0, y0, side = W - 6 - 72, H - 6 - 72, 72  # 0.4 of 180 lines, 1/30 of the height in
    centre = frame[y0 + side // 2 - 4:y0 + side // 2 + 4, x0 + side // 2 - 4:x0 + side // 2 + 4].reshape(-1, 3)
    assert near(centre.mean(axis=0), (220, 40, 40), 8), centre.mean(axis=0)

    listed = cli("build", busy_recipe, "--dry-run", "--no-cache", "--force")
    assert listed.code == 0, listed.err
    argv = shlex.split(next(x for x in listed.out.splitlines() if "-filter_complex" in x))
    argv[argv.index("-loglevel") + 1] = "debug"
    argv[-1] = str(tmp_path / "segment.mp4")
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.count("Parsed_overlay_") and "auto_scale" in run.stderr  # small layers may be converted
    whole = re.findall(rf"\[auto_scale_\d+ @ \S+\] w:{W} h:{H} fmt:\S+ .*-> w:{W} h:{H} .*", run.stderr)
    assert whole == [], whole


def test_a_one_frame_clip_with_a_redaction_is_built_or_refused_never_cached_empty(tmp_path, ffmpeg_bin, cli):
    """A one-frame clip with an overlay: ffmpeg 9 builds it; ffmpeg 5.1's fps filter gets no
    frame after the overlay, and ffmpeg still succeeds, leaving the picture stream out of the
    segment. That segment was cached, and every build after it failed at the join ("Stream
    map '0:v:0' matches no streams", from a fault campaign); now the job fails, saying so, and
    nothing is kept."""
    media.make(WHEEL_FFMPEG, tmp_path / "one.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15:duration=1",
               "-frames:v", "1", "-c:v", "libx264")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("output: out.mp4\nsegments:\n  - clip: one.mp4\n    overlays:\n"
                      "      - redact: {x: 0, y: 0, width: 120, height: 40}\n        at: 0\n        until: end\n")
    result = cli("build", recipe, "-q")
    if result.code == 0:
        with av.open(str(tmp_path / "out.mp4")) as container:
            assert container.streams.video and sum(1 for _ in container.decode(video=0)) >= 1
        return
    assert result.code == 1 and "wrote no picture of the 2 frames asked" in result.err, result.err
    assert not list((tmp_path / ".castkit-cache").glob("segment-*")) and not (tmp_path / "out.mp4").exists()


def test_text_the_font_cannot_draw_exits_2_naming_it(tmp_path, cli):
    """A callout and keycaps in a font without those characters: one line each, at their
    place in the recipe, instead of boxes drawn on the cast."""
    still_capture(tmp_path / "take.mp4", Image.new("RGB", (320, 240), (40, 40, 40)))
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("output: cast.mp4\nsegments:\n  - clip: take.mp4\n    overlays:\n"
                      "      - {text: \"Done \u2705\", at: 0, until: 1}\n"
                      "      - {keys: \"\u2318+\u65e5\", at: 0, until: 1}\n", encoding="utf-8")
    result = cli("build", str(recipe), "--dry-run")
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 2 and "cast.yaml:5:" in lines[0] and "cast.yaml:6:" in lines[1], lines
    assert "cannot draw '\u2705'" in lines[0] and "'\u65e5'" in lines[1]
