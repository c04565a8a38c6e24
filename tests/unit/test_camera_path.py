"""Issue 31: the camera's pure planning (ease, fitting, path, ffmpeg expressions, problems)."""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest

import castkit.plan.camera as c
from castkit.recipe.model import Crop, DEFAULT_EASE, Move

FR = c.Frame(1920, 1080, F(16, 9))


def mv(at, to=None, ease=DEFAULT_EASE) -> Move:
    return Move(F(at), to, F(ease))


def test_ease_ends_and_symmetry():
    assert c.ease(0) == 0 and c.ease(1) == 1 and c.ease(-3) == 0 and c.ease(7) == 1
    assert c.ease(0.5) == pytest.approx(0.5)
    for u in (0.1, 0.3, 0.45):
        assert c.ease(u) + c.ease(1 - u) == pytest.approx(1)
    # no jump in speed at either end: the slope near the ends tends to zero
    h = 1e-4
    assert c.ease(h) / h < 1e-3 and (1 - c.ease(1 - h)) / h < 1e-3
    # monotonic
    xs = [c.ease(i / 100) for i in range(101)]
    assert all(b > a for a, b in zip(xs, xs[1:]))


def test_fit_grows_to_aspect_around_centre():
    r = FR.fit(c.Region(900, 500, 100, 100))
    assert (r.x, r.y, r.width, r.height) == (861, 500, 178, 100)  # on whole pixels: 177.8 wide
    r = FR.fit(c.Region(900, 500, 320, 90))  # wider than 16:9: grows in height
    assert (r.x, r.y, r.width, r.height) == (900, 455, 320, 180)


def test_fit_keeps_inside():
    r = FR.fit(c.Region(1800, 1000, 120, 80))  # grown past the corner: moved back in
    assert r.inside(1920, 1080) and r.x + r.width == pytest.approx(1920) and r.y + r.height == pytest.approx(1080)
    r = FR.fit(c.Region(0, 0, 1920, 1000))  # grown taller than the picture: the largest view
    assert (r.x, r.y, r.width, r.height) == pytest.approx((0, 0, 1920, 1080))


def test_fit_vertical_and_pixel_shape():
    tall = c.Frame(1920, 1080, F(9, 16))
    r = tall.full()
    assert (r.x, r.y, r.width, r.height) == (656, 0, 608, 1080)  # 607.5 wide, to whole pixels
    r = tall.fit(c.Region(1500, 100, 800, 100))  # wider than the largest 9:16 view
    assert r.inside(1920, 1080) and r.width == 608 and r.x + r.width == 1920
    # a picture of non-square pixels (sar 2): a 16:9 view is 8:9 in its pixels
    wide_px = c.Frame(960, 1080, F(16, 9), sar=F(2))
    assert wide_px.full().width == pytest.approx(960) and wide_px.full().height == pytest.approx(1080)


def test_path_holds_between_moves_and_arrives():
    to = Crop(960, 540, 640, 360)
    p = c.plan_path(FR, [mv(F(2), to, F(1, 2)), mv(F(6), None)])
    full = FR.full()
    for t in (0, 1.99, 2.0):
        assert _eq(p.view_at(t), full)
    for t in (2.5, 4, 5.99, 6.0):
        assert _eq(p.view_at(t), to)
    for t in (6.8, 100):
        assert _eq(p.view_at(t), full)
    assert p.zoom_at(3) == pytest.approx(3)


def test_zoom_follows_the_ease_and_stays_inside():
    to = Crop(1500, 800, 320, 180)  # near a corner: the straight line must stay inside
    p = c.plan_path(FR, [mv(F(1), to, F(2))])
    ts = [1 + i / 50 for i in range(101)]
    zooms = [p.zoom_at(t) for t in ts]
    assert all(b > a for a, b in zip(zooms, zooms[1:]))  # monotonic, no stall
    for t, z in zip(ts, zooms):
        assert math.log(z) / math.log(6) == pytest.approx(c.ease((t - 1) / 2))
        assert p.view_at(t).inside(1920, 1080)
        cx, cy = p.view_at(t).centre
        s = c.ease((t - 1) / 2)
        assert (cx, cy) == pytest.approx((960 + (1660 - 960) * s, 540 + (890 - 540) * s))


def _table_value(expression: str, n: int) -> float:
    """ffmpeg's value of a nested ``if(lt(in,K),A,REST)`` expression for ``in`` = n, read here
    with a tiny parser of its own."""
    while expression.startswith("if(lt(in,"):
        k, rest = expression[len("if(lt(in,"):].split("),", 1)
        value, rest = rest.split(",", 1)
        if n < int(k):
            return float(value)
        expression = rest[:-1]
    return float(expression)


def test_perspective_tables_are_the_path():
    """Each frame's corners are its view's, in the box's scaled pixels."""
    to = Crop(100, 50, 640, 360)
    p = c.plan_path(FR, [mv(F(1), to, F(2)), mv(F(4), Crop(1000, 600, 900, 400), F(1, 2))])
    times = [0, 1, 1.3, 2, 2.9, 3.5, 4.2, 4.5, 9]
    box = c.Region(40, 20, 1600, 900)
    o = p.perspective_options(times, box, (800, 450))
    assert o["x0"] == o["x2"] and o["x1"] == o["x3"] and o["y0"] == o["y1"] and o["y2"] == o["y3"]
    for j, t in enumerate(times):
        v = p.view_at(t)
        left, top = (v.x - 40) / 2 + v.width / 2 / 2 / 800 - 0.5, (v.y - 20) / 2 + v.height / 2 / 2 / 450 - 0.5
        got = [_table_value(o[k], j + 1) for k in ("x0", "y0", "x1", "y2")]
        assert got == pytest.approx([left, top, left + v.width / 2, top + v.height / 2], abs=1e-4)
    assert _table_value(o["x0"], 99) == _table_value(o["x0"], len(times))


def test_perspective_corners_pixel_centres():
    p = c.plan_path(FR, [])
    o = p.perspective_options([0])
    # the full view is the identity: output pixel x samples source pixel x
    assert [float(o[k]) for k in ("x0", "y0", "x3", "y3")] == pytest.approx([0, 0, 1920, 1080], abs=1e-4)
    p = c.plan_path(FR, [mv(F(0), Crop(480, 270, 960, 540), F(1))])
    # 2x: output pixel 0's centre (0.5 out) is source 480.25: index 479.75
    assert float(p.perspective_options([5])["x0"]) == pytest.approx(480 + 0.25 - 0.5)


def test_pieces_hold_on_whole_pixels_and_move_between():
    p = c.plan_path(FR, [mv(F(2), Crop(0, 0, 960, 540), F(1)), mv(F(5), None, F(1))])
    # 25 fps from frame 0: the first move runs over 2 < t < 3 (frames 51-74), the second
    # over 5 < t < 6 (frames 126-149).
    runs = p.pieces(0, 200, F(1, 25))
    assert [(a, b) for a, b, _ in runs] == [(0, 51), (51, 75), (75, 126), (126, 150), (150, 200)]
    assert [v is None for _, _, v in runs] == [False, True, False, True, False]
    assert _eq(runs[0][2], FR.full()) and _eq(runs[2][2], c.Region(0, 0, 960, 540))
    # A slice of the same frames: the same runs, cut at its edges.
    assert [(a + 60, b + 60, v) for a, b, v in p.pieces(60, 80, F(1, 25))] == \
        [(60, 75, None), (75, 126, runs[2][2]), (126, 140, None)]
    # At double speed a frame is 2/25 s of the capture.
    assert p.pieces(0, 100, F(2, 25))[1][:2] == (26, 38)

def test_fit_problems_all_reported():
    moves = [mv(F(1, 2), Crop(0, 0, 4000, 10)), mv(F(2), Crop(1900, 0, 21, 10)),
             mv(F(3), Crop(1899, 1070, 21, 10))]
    found = c.fit_problems(moves, FR, (F(1), F(3)))
    assert sorted((i, k) for i, k, _ in found) == [(0, "at"), (0, "to"), (1, "to"), (2, "at")]


def test_regions_of_a_cropped_capture():
    fr = c.Frame(960, 540, F(16, 9), origin=(100, 50))
    p = c.plan_path(fr, [mv(F(1), Crop(100, 50, 480, 270), F(1))])
    assert _eq(p.view_at(5), Crop(0, 0, 480, 270))
    assert p.listing() == "camera: 1-2 s to 480x270+100+50 (2x)"


def _eq(a, b):
    return all(abs(p - q) < 1e-6 for p, q in zip((a.x, a.y, a.width, a.height), (b.x, b.y, b.width, b.height)))


def test_web_frames_of_an_aspect():
    from castkit.media.raster import web_raster
    hd = [(1920, 1080, F(1), F(30))]
    tall = web_raster(hd, aspect=F(9, 16))
    assert (tall.width, tall.height, tall.reframe) == (1080, 1920, True)
    assert (web_raster(hd, aspect=F(1)).width, web_raster(hd, aspect=F(1)).height) == (1080, 1080)
    assert (web_raster(hd, aspect=F(4, 5)).width, web_raster(hd, aspect=F(4, 5)).height) == (1080, 1350)
    assert (web_raster(hd, height=1280, aspect=F(9, 16)).width, web_raster(hd, height=1280, aspect=F(9, 16)).height) == (720, 1280)
    assert web_raster(hd).reframe is False and (web_raster(hd).width, web_raster(hd).height) == (1920, 1080)


def test_follow_plan_dead_zone_look_ahead_and_zoom_out():
    """A synthetic change grid (64x36 cells over 1920x1080, 5 a second): typing moving along a
    line at A for 3 s, nothing for 3 s, then at B far away."""
    import numpy as np
    from castkit.plan.activity import Activity, plan_follow, RATE
    from castkit.recipe.model import FollowSpec

    changes = np.zeros((12 * RATE, 36, 64), np.float32)
    for k in range(1 * RATE, 4 * RATE):  # A: row 7, columns 6.. moving right one cell a frame in 3
        changes[k, 7, 6 + (k - RATE) // 3] = 40
    for k in range(7 * RATE, 10 * RATE):  # B: row 28, columns 44..
        changes[k, 28, 44 + (k - 7 * RATE) // 3] = 40
    moves = plan_follow(Activity(changes, F(0), 1920, 1080), FollowSpec())
    assert [m.to is None for m in moves] == [False, True, False, True]
    a, out, b, end = moves
    assert a.at < 1 and 4 <= out.at <= 5 and b.at < 7 and end.at >= 10  # ahead of the typing
    for move, cells in ((a, (6, 7, 11, 7)), (b, (44, 28, 49, 28))):
        x0, y0, x1, y1 = cells[0] * 30, cells[1] * 30, (cells[2] + 1) * 30, (cells[3] + 1) * 30
        r = move.to
        assert r.x <= x0 and r.y <= y0 and x1 <= r.x + r.width and y1 <= r.y + r.height
        assert r.width == 960 and r.height == 540  # max 2: no closer
    assert plan_follow(Activity(np.zeros((50, 36, 64), np.float32), F(0), 1920, 1080), FollowSpec()) == ()


def test_follow_inside_a_crop_sees_only_what_the_crop_shows():
    """Typing at A (top left) and B (bottom right) in turn; a crop of the bottom right half:
    A is not in the cast, so the camera does not move for it, and B is followed inside it."""
    import numpy as np
    from castkit.plan.activity import Activity, plan_follow, RATE
    from castkit.recipe.model import FollowSpec

    changes = np.zeros((12 * RATE, 36, 64), np.float32)
    for k in range(1 * RATE, 4 * RATE):  # A: row 3, columns 2..
        changes[k, 3, 2 + (k - RATE) // 3] = 40
    for k in range(7 * RATE, 10 * RATE):  # B: row 28, columns 44..
        changes[k, 28, 44 + (k - 7 * RATE) // 3] = 40
    crop = Crop(960, 540, 960, 540)
    moves = plan_follow(Activity(changes, F(0), 1920, 1080), FollowSpec(), crop)
    assert [m.to is None for m in moves] == [False, True], moves
    to_b = moves[0]
    assert 4 < to_b.at < 7, "not for A, which the crop leaves out"
    r = to_b.to
    assert r.x >= 960 and r.y >= 540 and r.x + r.width <= 1920 and r.y + r.height <= 1080
    assert r.x <= 44 * 30 and (49 + 1) * 30 <= r.x + r.width and r.y <= 28 * 30 <= r.y + r.height - 30
    # Activity on both sides of the crop's edge: only what shows inside it is framed.
    edge = np.zeros((6 * RATE, 36, 64), np.float32)
    edge[RATE:4 * RATE, 20, 10] = 40  # left of the crop
    edge[RATE:4 * RATE, 20, 40] = 40  # inside it
    [move, *_] = plan_follow(Activity(edge, F(0), 1920, 1080), FollowSpec(), crop)
    assert move.to.x >= 960 and move.to.width <= 480, move


def test_a_move_starting_just_before_a_frame_has_that_frame():
    """0.6 is 0.59999... as a float: the frame at 3/5 s is inside the move, and its box found."""
    p = c.plan_path(FR, [mv(F(0.6), Crop(0, 0, 960, 540), F(1))])
    runs = p.pieces(0, 20, F(1, 5))
    assert runs[1][:2] == (3, 9) and runs[1][2] is None  # 0.6 < t < 1.6000...1
    assert p.step_at(F(3, 5)) == p.steps[0]
    box, closest = p.views_box([float(F(k, 5)) for k in range(3, 9)])
    assert (box.x, box.y, box.width, box.height) == (0, 0, 1920, 1080) and closest == pytest.approx(960)
    box, closest = p.views_box([1.4])  # nearly arrived: a box round the view, 3 pixels wider
    v = p.view_at(1.4)
    x0, y0 = math.floor(v.x) - 3, math.floor(v.y) - 3
    assert (box.x, box.y) == (x0, y0) and box.x + box.width == math.ceil(v.x + v.width) + 3
    assert closest == pytest.approx(v.width)
