"""Issue 30: overlays read from a recipe (every problem at once, at its LINE:COL), in the schema,
in a clip's ffmpeg graph (exact argv), and the geometry of redaction."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest
import yaml

from castkit.media.ffmpeg import Ffmpeg
from castkit.media.probe import MediaInfo, VideoInfo
from castkit.media.raster import web_raster
from castkit.outputs.profiles import make_profile
from castkit.plan.encode import clip_job, Effects, Trim
from castkit.plan.overlays import blur_radius, camera_scaled, Drawn, overlay_layout, redacted_region
from castkit.recipe.model import Crop, FrameStyle, Overlay, OverlayStyle, Where
from castkit.recipe.reader import read_recipe
from castkit.recipe.schema import recipe_schema
from castkit.titles.overlays import frame_box, Placement

FFMPEG = Ffmpeg("ffmpeg", "test", "9.0.2")

ISSUE_EXAMPLE = """\
    segments:
      - clip: take.ogv
        overlays:
          - text: "Click Install"
            at: 2.0
            until: 5.0
            position: {x: 1200, y: 300}
            style: {background: "#ffe066", color: "#111111", size: 36}
          - box: {x: 300, y: 200, width: 400, height: 100}
            at: 1.0
            duration: 3
          - spotlight: {x: 300, y: 200, width: 400, height: 100}
            at: 6.0
            until: 9.0
          - redact: {x: 500, y: 600, width: 600, height: 50}
            at: 0
            until: end
            mode: pixelate
          - keys: "Ctrl+Shift+T"
            at: 4.0
            duration: 1.5
          - image: logo.png
            position: top-right
            at: 0
            until: end
            fade: 0
"""


def read(tmp_path: Path, text: str):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return read_recipe(path)


def test_the_issues_example_reads_as_written(tmp_path):
    recipe, problems = read(tmp_path, ISSUE_EXAMPLE)
    assert problems == []
    text, box, spot, redact, keys, image = recipe.segments[0].overlays
    assert (text.kind, text.text, text.at, text.until, text.position) == ("text", "Click Install", 2, 5, (1200, 300))
    assert text.style == OverlayStyle("#ffe066", "#111111", 36) and text.fade == Fraction(1, 5)
    assert (box.region, box.at, box.until) == (Crop(300, 200, 400, 100), 1, 4)
    assert (spot.kind, spot.until) == ("spotlight", 9)
    assert (redact.kind, redact.until, redact.mode, redact.redacts) == ("redact", None, "pixelate", True)
    assert (keys.text, keys.until) == ("Ctrl+Shift+T", Fraction(11, 2))
    assert (image.image, image.position, image.fade) == (tmp_path / "logo.png", "top-right", 0)
    assert image.image in recipe.sources()


def test_every_problem_of_every_overlay_at_once(tmp_path):
    _, problems = read(tmp_path, """\
        segments:
          - clip: take.ogv
            overlays:
              - text: ""
                at: 1
                until: 0.5
              - box: {x: 1, y: 2, width: 0, height: 3}
                text: hi
                at: 0
                duration: 1
              - redact: {x: 1, y: 2, width: 3, height: 4}
                at: 0
                fade: 1
                mode: smudge
              - image: logo.jpg
                position: middle
                at: 0
                until: end
              - keys: K
                at: 0
                until: 1
                duration: 1
    """)
    assert [str(p).split("recipe.yaml:")[1] for p in problems] == [
        "4:15: segment 1: overlay 1: text cannot be empty",
        "6:16: segment 1: overlay 1: until (0:00.50) must come after at (0:01.00)",
        "7:9: segment 1: overlay 2 needs exactly one of text, box, spotlight, redact, keys, image (has text, box)",
        "11:9: segment 1: overlay 3 needs 'until' (a time, or end) or 'duration'",
        "13:9: segment 1: overlay 3: a redaction does not fade (it hides the region in every frame it covers)",
        "14:15: segment 1: overlay 3: mode must be blur, pixelate, fill, not 'smudge'",
        "15:16: segment 1: overlay 4: image 'logo.jpg' must be a .png (with alpha)",
        "16:19: segment 1: overlay 4: position must be {x, y} or one of top-left, top, top-right, left, "
        "center, right, bottom-left, bottom, bottom-right, not 'middle'",
        "22:9: segment 1: overlay 5: give 'until' or 'duration', not both",
    ]


@pytest.mark.parametrize("overlay, valid", [
    ("{text: a, at: 0, until: end}", True),
    ("{redact: {x: 0, y: 0, width: 2, height: 2}, at: 0, duration: 1, mode: FILL}", True),
    ("{image: a.png, at: 0, until: 3, position: {x: 1, y: 2}}", True),
    ("{text: a, at: 0}", False),  # no until or duration
    ("{text: a, box: {x: 0, y: 0, width: 2, height: 2}, at: 0, until: 1}", False),  # two kinds
    ("{text: a, at: 0, until: 1, duration: 1}", False),
    ("{image: a.jpg, at: 0, until: 1}", False),
    ("{redact: {x: 0, y: 0, width: 2, height: 2}, at: 0, until: 1, mode: smear}", False),
    ("{text: a, at: 0, until: 1, position: middle}", False),
])
def test_schema_and_reader_agree_on_overlays(tmp_path, overlay, valid):
    text = f"segments:\n  - clip: a.ogv\n    overlays: [{overlay}]\n"
    _, problems = read(tmp_path, text)
    errors = list(jsonschema.Draft202012Validator(recipe_schema()).iter_errors(yaml.safe_load(text)))
    assert (problems == []) == valid
    assert (errors == []) == valid


def test_redaction_grows_to_even_pixels_inside_the_capture():
    assert redacted_region(Crop(5, 7, 10, 9), (320, 180)) == Crop(4, 6, 12, 10)
    assert redacted_region(Crop(310, 170, 9, 9), (319, 179)) == Crop(310, 170, 9, 9)
    # Radii: the most boxblur takes (less than half the side; ffmpeg 9 refuses half).
    assert blur_radius(Crop(0, 0, 600, 50)) == (24, 12)
    assert blur_radius(Crop(0, 0, 24, 200)) == (11, 5)


def capture(pix_fmt: str | None = "yuv420p") -> MediaInfo:
    return MediaInfo(Path("take.mp4"), "mov,mp4,m4a,3gp,3g2,mj2", Fraction(4),
                     VideoInfo("h264", 320, 180, Fraction(1), Fraction(10), pix_fmt=pix_fmt), None)


def test_a_redaction_and_a_callout_come_before_the_crop_on_a_grid_of_the_encodes_rate():
    where = Where("r.yaml", 1, 1)
    redact = Overlay("redact", Fraction(1), None, where, region=Crop(15, 96, 200, 24))
    callout = Overlay("text", Fraction(1, 2), Fraction(2), where, text="Hi")
    effects = Effects(
        crop=Crop(0, 0, 160, 90), speed=Fraction(2),
        overlays=(Drawn(redact, Fraction(1), Fraction(4), Placement(15, 96, 200, 24)),
                  Drawn(callout, Fraction(1, 2), Fraction(2), Placement(20, 30, 40, 20), Path("o.png"))))
    profile = make_profile(Path("cast.mp4"), None, web_raster([(320, 180, Fraction(1), Fraction(10))]))
    job = clip_job(capture(), profile, Path("seg.mp4"), FFMPEG, trim=Trim(Fraction(0), Fraction(4)), effects=effects)
    argv = list(job.argv)
    png = argv.index("file:o.png")  # an input of its own, read only as a PNG from a file
    assert argv[png - 7:png + 1] == ["-f", "image2", "-format_whitelist", argv[png - 4], "-protocol_whitelist",
                                     "file", "-i", "file:o.png"]
    graph = argv[argv.index("-filter_complex") + 1]
    # 30 fps / speed 2: the capture sampled at 15 a second; the region grown to even pixels
    # (14, 96, 202x24) and kept two grid frames (2/15 s) beyond its times. Each overlay takes
    # the capture's 4:2:0 as it is (format=yuv420: no conversion of the whole frame).
    assert graph.startswith(
        "[0:v]fps=fps=15[s0];[s0]split=2[s1][s2];[s2]crop=exact=1:h=24:w=202:x=14:y=96[s3];"
        "[s3]boxblur=chroma_power=3:chroma_radius=5:luma_power=3:luma_radius=11[s4];"
        "[s1][s4]overlay=enable=gte(t\\,0.8667)*lt(t\\,4.1333):format=yuv420:x=14:y=96[s5];"
        "[1:v]format=rgba[s6];[s6]settb=AVTB[s7];[s7]loop=loop=22:size=1:start=0[s8];"
        "[s8]setpts=if(lte(N\\,11)\\,0.5+N/50\\,1.8+(N-12)/50)/TB[s9];"
        "[s9]fade=alpha=1:d=0.2:st=0.5:type=in[s10];[s10]fade=alpha=1:d=0.2:st=1.8:type=out[s11];"
        "[s5][s11]overlay=enable=gte(t\\,0.5)*lt(t\\,2):eof_action=pass:format=yuv420:x=20:y=30[s12];"
        "[s12]crop=exact=1:h=90:w=160:x=0:y=0[s13];"), graph
    assert "overlay: redact (blur) 1-4 s at 200x24+15+96" in job.note
    assert "overlay: text 'Hi' 0.5-2 s at 40x20+20+30" in job.note


def test_the_overlay_filter_takes_the_main_picture_in_its_own_layout():
    assert [overlay_layout(p) for p in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "gbrp", "bgra")] == \
        ["yuv420", "yuv420", "yuv422", "yuv444", "gbrp", "rgb"]
    assert [overlay_layout(p) for p in ("yuv411p", "rgb24", "bgr0", None)] == ["auto"] * 4


def test_a_webcam_is_scaled_in_its_own_matrix_and_converted_after():
    from castkit.media.ffmpeg import ffmpeg_module

    target = web_raster([(320, 180, Fraction(1), Fraction(10))])
    dv_like = type("Target", (), {"matrix": "bt601"})()

    def chain(matrix, to):
        ff = ffmpeg_module()
        stream = camera_scaled(ff.input("cam.mp4").video, 64, 64, matrix, to)
        return ff.output(stream, "o.mp4").get_args()[3]
    scale = "scale=flags=lanczos:h=64:in_color_matrix={0}:out_color_matrix={0}:out_range=tv:w=64"
    assert chain(None, target) == "[0:v]" + scale.format("bt601") + "[s0];[s0]colormatrix=dst=bt709:src=bt601[s1]"
    assert chain("bt709", target) == "[0:v]" + scale.format("bt709") + "[s0]"
    assert chain("smpte170m", dv_like) == "[0:v]" + scale.format("smpte170m") + "[s0]"  # both BT.601
    assert chain("bt2020nc", target) == "[0:v]" + scale.format("bt2020") + "[s0];[s0]colormatrix=dst=bt709:src=bt2020[s1]"


def test_fill_and_no_fade():
    where = Where("r.yaml", 1, 1)
    fill = Overlay("redact", Fraction(0), None, where, region=Crop(10, 10, 20, 20), mode="fill")
    logo = Overlay("image", Fraction(0), None, where, image=Path("logo.png"), fade=Fraction(0))
    effects = Effects(overlays=(Drawn(fill, Fraction(0), Fraction(4), Placement(10, 10, 20, 20)),
                                Drawn(logo, Fraction(0), Fraction(4), Placement(5, 5, 8, 8), Path("l.png"))))
    profile = make_profile(Path("cast.mp4"), None, web_raster([(320, 180, Fraction(1), Fraction(10))]))
    job = clip_job(capture("rgb24"), profile, Path("seg.mp4"), FFMPEG, effects=effects)
    graph = list(job.argv)[list(job.argv).index("-filter_complex") + 1]
    # A redaction from the capture's start needs no grid (no picture before it to hold into
    # it): every picture before its end (two frames of the rate on) is filled. An RGB24
    # capture is in no layout of the overlay filter: it picks one (format=auto). Without a
    # fade the logo is two frames, at its start and its end, where its stream ends: a layer is
    # never held past its stream (LAYER_EOF); its times in microseconds, not a PNG's 1/25 s.
    assert graph.startswith(
        "[0:v]drawbox=color=black:enable=lt(t\\,4.0667):"
        "h=20:t=fill:w=20:x=10:y=10[s0];[1:v]format=rgba[s1];[s1]settb=AVTB[s2];"
        "[s2]loop=loop=1:size=1:start=0[s3];"
        "[s3]setpts=if(eq(N\\,0)\\,0\\,4)/TB[s4];"
        "[s0][s4]overlay=enable=gte(t\\,0)*lt(t\\,4):eof_action=pass:format=auto:x=5:y=5[s5];"), graph


@pytest.mark.parametrize("text, valid", [
    ("frame: {background: '#2d3250', padding: 0.06, radius: 16, shadow: true}\n", True),
    ("frame: {background: GRADIENT}\n", True),
    ("frame: {background: bg.png, shadow: off}\n", True),
    ("frame: {padding: 0.5}\n", False),
    ("frame: {radius: -1}\n", False),
    ("frame: {shadow: maybe}\n", False),
    ("frame: {border: 2}\n", False),
    ("outputs: [{path: a.dv, frame: {padding: 0.1}}]\n", True),
    ("outputs: [{path: a.gif, frame: {radius: 0}}]\n", True),
])
def test_schema_and_reader_agree_on_frames(tmp_path, text, valid):
    text += "segments:\n  - title: A\n"
    _, problems = read(tmp_path, text)
    errors = list(jsonschema.Draft202012Validator(recipe_schema()).iter_errors(yaml.safe_load(text)))
    assert (problems == []) == valid, problems
    assert (errors == []) == valid, errors


def test_a_dv_output_is_framed_only_when_it_asks(tmp_path):
    recipe, problems = read(tmp_path, """\
        frame: {padding: 0.1}
        outputs: [a.mp4, a.dv, {path: b.dv, frame: {radius: 4}}, {path: a.gif, width: 320}]
        segments:
          - title: A
    """)
    assert problems == []
    mp4, dv, framed_dv, gif = (recipe.frame_of(spec) for spec in recipe.outputs)
    assert mp4 == gif == FrameStyle(padding=Fraction(1, 10)) and dv is None
    assert framed_dv == FrameStyle(radius=4)


def test_frame_window_keeps_the_aspect_on_even_pixels():
    assert frame_box(FrameStyle(padding=Fraction(6, 100)), (1920, 1080)) == Placement(114, 64, 1690, 950)
    assert frame_box(FrameStyle(padding=Fraction(0)), (320, 180)) == Placement(0, 0, 320, 180)


@pytest.mark.parametrize("text, valid", [
    ("webcam: face.mp4\n", True),
    ("webcam: {clip: face.mp4, position: Bottom-Right, size: 0.25, shape: circle, offset: -1.5}\n", True),
    ("webcam: {clip: face.mp4, shape: hexagon}\n", False),
    ("webcam: {clip: face.mp4, size: 2}\n", False),
    ("webcam: {clip: face.mp4, position: top}\n", False),
    ("webcam: {position: top-left}\n", False),
    ("webcam: {clip: face.mp4, position: full}\n", True),
    # Layouts over time: the first names the clip (at 0 if at all), each later one an at.
    ("webcam: [{clip: face.mp4, at: 0, position: bottom-right}, {at: 30, position: full}]\n", True),
    ("webcam: [{clip: face.mp4}, {at: 2, size: 0.5, shape: square, ease: 1.5}, {at: 3.5}]\n", True),
    ("webcam: [{at: 0, position: bottom-right}]\n", False),  # no clip
    ("webcam: [{clip: face.mp4, at: 3}]\n", False),  # the first layout is the clip's start
    ("webcam: [{clip: face.mp4}, {position: full}]\n", False),  # a change needs at
    ("webcam: [{clip: face.mp4}, {at: 2, clip: b.mp4}]\n", False),  # one clip, the first's
    ("webcam: [{clip: face.mp4}, {at: 2, position: middle}]\n", False),
    ("webcam: []\n", False),
])
def test_schema_and_reader_agree_on_webcams(tmp_path, text, valid):
    text += "segments:\n  - title: A\n"
    _, problems = read(tmp_path, text)
    errors = list(jsonschema.Draft202012Validator(recipe_schema()).iter_errors(yaml.safe_load(text)))
    assert (problems == []) == valid, problems
    assert (errors == []) == valid, errors


@pytest.mark.parametrize("text, message", [
    ("[{clip: face.mp4}, {at: 3}, {at: 2}]", "webcam 3: layouts must be in time order: at 2 s is not after"),
    ("[{clip: face.mp4}, {at: 2, ease: 1.5}, {at: 3}]", "webcam 2: ease 1.5 s is longer than the 1 s to the next"),
    ("[{clip: face.mp4}, {at: 2}, {at: 2.5}]", "webcam 2: ease 0.8 s is longer than the 0.5 s to the next"),
])
def test_webcam_layouts_in_time_order_each_arriving_before_the_next(tmp_path, text, message):
    _, problems = read(tmp_path, f"webcam: {text}\nsegments:\n  - title: A\n")
    assert len(problems) == 1 and message in str(problems[0]) and ":1:" in str(problems[0]), problems


def test_webcam_layouts_keep_what_a_change_leaves_out(tmp_path):
    recipe, problems = read(tmp_path, """\
        webcam:
          - {clip: face.mp4, size: 0.3, shape: rounded, offset: 1}
          - {at: 2, position: top-left}
          - {at: 5, ease: 2, shape: square}
        segments:
          - title: A
    """)
    assert problems == []
    cam = recipe.webcam
    assert (cam.clip.name, cam.offset) == ("face.mp4", 1)
    assert cam.layouts() == (("bottom-right", Fraction(3, 10), "rounded"), ("top-left", Fraction(3, 10), "rounded"),
                             ("top-left", Fraction(3, 10), "square"))
    assert [(c.at, c.ease) for c in cam.changes] == [(2, Fraction(4, 5)), (5, 2)]


def test_a_clips_webcam_wins_over_the_recipes(tmp_path):
    recipe, problems = read(tmp_path, """\
        webcam: {clip: face.mp4, offset: 2}
        segments:
          - clip: a.mp4
          - clip: b.mp4
            webcam: {clip: other.mp4, shape: square}
          - title: T
    """)
    assert problems == []
    first, second = (recipe.webcam_of(seg) for seg in recipe.segments[:2])
    assert (first.clip.name, first.offset, first.shape) == ("face.mp4", 2, "circle")
    assert (second.clip.name, second.shape) == ("other.mp4", "square")
    assert {p.name for p in recipe.sources()} >= {"face.mp4", "other.mp4"}


def test_a_paused_clip_is_redacted_on_the_grid_of_its_slowest_part():
    from castkit.outputs.dv import DvProfile
    from castkit.plan.pauses import kept_parts
    from castkit.recipe.model import PauseSpec

    target = DvProfile().raster
    trim = Trim(Fraction(1), Fraction(8))
    kept = kept_parts([(Fraction(2), Fraction(5))], PauseSpec(Fraction(8)), trim, Fraction(8), target)
    assert sorted(p.rate for p in kept.parts) == [1, 1, 8]
    where = Where("r.yaml", 1, 1)
    redact = Overlay("redact", Fraction(0), None, where, region=Crop(10, 10, 20, 20), mode="fill")
    effects = Effects(overlays=(Drawn(redact, Fraction(1), Fraction(9), Placement(10, 10, 20, 20)),))
    from castkit.plan.pauses import paused_job

    job = paused_job(capture(), kept, DvProfile(), Path("seg.dv"), FFMPEG, trim, effects)
    graph = job.pictures.head[list(job.pictures.head).index("-filter_complex") + 1]
    # 25 fps: the parts played as recorded are sampled at 25 a second of the capture; the one
    # played 8x faster takes every 8th picture of the same grid. The redaction before the split.
    assert graph.startswith("[0:v]fps=fps=25[s0];[s0]drawbox=color=black:enable=gte(t\\,0.92)*lt(t\\,9.08):"
                            "h=20:t=fill:w=20:x=10:y=10[s1];[s1]split=3"), graph


def test_a_change_of_webcam_layout_is_eased_by_the_camera_curve_each_edge_one_way():
    from castkit.plan.camera import ease, frame_runs
    from castkit.plan.overlays import ease_frames, WebcamLook

    corner = WebcamLook(Placement(242, 102, 72, 72), Path("m.png"), "square", 0.5)
    full = WebcamLook(Placement(0, 0, 320, 180), None, "frame", 0.0)
    frames = ease_frames(corner, full, (Fraction(6, 10), Fraction(14, 10)), Fraction(1, 30),
                         Fraction(4, 3), Fraction(16, 9))
    assert [f.number for f in frames] == list(range(19, 42))  # strictly inside 0.6-1.4 s at 30 fps
    middle = frames[len(frames) // 2]  # frame 30, 1 s: half way in time, half way eased
    assert middle.number == 30 and ease(0.5) == 0.5
    assert middle.box.x == pytest.approx(121) and middle.box.x + middle.box.width == pytest.approx(317)
    assert middle.radius == pytest.approx(0.25)
    # The camera's part: a centred square of a 4:3 camera (3/4 of its width) to 16:9 (3/4 of its height).
    assert (frames[0].cut.width, frames[-1].cut.height) == (pytest.approx(0.75, abs=0.01), pytest.approx(0.75, abs=0.01))
    for a, b in zip(frames, frames[1:]):
        assert b.box.x < a.box.x and b.box.y < a.box.y and b.box.width > a.box.width
    # The frames of a stream, in runs: held at the first look, moving, held at the second.
    assert frame_runs([(Fraction(3, 5), Fraction(7, 5))], 0, 60, Fraction(1, 30)) == [(0, 19, 0, False), (19, 42, 0, True), (42, 60, 1, False)]
    assert frame_runs([(Fraction(3, 5), Fraction(7, 5))], 45, 15, Fraction(1, 30)) == [(0, 15, 1, False)]  # a chunk after it
