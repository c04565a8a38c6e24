"""``castkit serve``: the API the page uses, its safety rules, the recipe file as the only truth
(changed only where the page changed it, never over an edit made elsewhere), frames equal to
the cast's, and the page itself driven in a real headless Chromium."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG
from readers import psnr

RECIPE = """\
# a cast made in the page
outputs: [build/cast.dv]   # DV: the page frames clips as the cast does

segments:
  - title: "Hello"   # the intro
    subtitle: 'from serve'
    duration: 2

  - clip: take.ogv
    start: 1
    end: 4.5  # trim
"""


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def call(self, method: str, path: str, body: object = None, token: str | None = "default",
             headers: dict | None = None) -> tuple[int, dict | bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"Host": f"127.0.0.1:{self.port}"}
        if token == "default":
            token = self.token
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn.request(method, path, body=data, headers=sent)
        res = conn.getresponse()
        raw = res.read()
        conn.close()
        kind = res.getheader("Content-Type", "")
        return res.status, (json.loads(raw) if raw and kind.startswith("application/json") else raw)


@contextlib.contextmanager
def serving(recipe: Path):
    """castkit serve's session and server on ``recipe``, on a free port of 127.0.0.1."""
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.serve.server import make_server
    from castkit.serve.session import Session

    session = Session(recipe, find_ffmpeg())
    server = make_server(recipe, session, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield Client(server.server_address[1], server.token), server
    finally:
        server.shutdown()
        session.close()
        server.server_close()


@pytest.fixture
def served(tmp_path, wheel_ffmpeg):
    media.theora(WHEEL_FFMPEG, tmp_path / "take.ogv", "320x240", 15, 6.0, voice=(48000, 2, 6.0))
    recipe = tmp_path / "cast.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    with serving(recipe) as (client, server):
        yield recipe, client, server


def served_luma(jpeg: bytes, folder: Path) -> np.ndarray:
    (folder / "f.jpg").write_bytes(jpeg)
    with av.open(str(folder / "f.jpg")) as c:
        return next(c.decode(video=0)).reformat(format="gray").to_ndarray()


def test_the_recipe_as_the_page_sees_it(served):
    recipe, client, _ = served
    status, state = client.call("GET", "/api/recipe")
    assert status == 200 and state["errors"] == []
    title, clip = state["segments"]
    assert (title["kind"], title["title"], title["subtitle"], title["duration"]) == ("title", "Hello", "from serve", 2.0)
    assert (clip["kind"], clip["source"], clip["start"], clip["end"], clip["capture_duration"]) == ("clip", "take.ogv", 1.0, 4.5, 6.0)
    assert (clip["cast_start"], clip["length"]) == (2.0, 3.52)  # 88 PAL frames


@pytest.mark.parametrize("how", ["no token", "wrong token", "token in the query"])
def test_every_request_needs_the_token(served, how):
    _, client, _ = served
    if how == "no token":
        status, body = client.call("GET", "/api/recipe", token=None)
    elif how == "wrong token":
        status, body = client.call("GET", "/api/recipe", token="x" + client.token)
    else:
        status, body = client.call("GET", f"/api/recipe?token={client.token}", token=None)
        assert status == 200
        return
    assert status == 403 and "token" in body["error"]


def test_another_host_name_is_refused(served):
    """A page of another site whose name resolves here (DNS rebinding) gets nothing."""
    _, client, _ = served
    status, _ = client.call("GET", "/api/recipe", headers={"Host": f"evil.example:{client.port}"})
    assert status == 403


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Content-Type": "text/plain"},
                                     {"Content-Type": "application/x-www-form-urlencoded"}])
def test_cross_origin_and_form_writes_are_refused(served, headers):
    recipe, client, _ = served
    before = recipe.read_bytes()
    status, _ = client.call("PATCH", "/api/segments/2", {"end": 4}, headers=headers)
    assert status in (403, 415)
    assert recipe.read_bytes() == before


@pytest.mark.parametrize("path", ["/api/frame/..%2f..%2fetc%2fpasswd", "/api/output/../../cast.yaml",
                                  "/etc/passwd", "/api/proxy/1", "/api/output/0", "/api/frame/9",
                                  "/cast.yaml", "/take.ogv", "/api/frames/1"])
def test_no_file_is_served_by_a_path_from_the_request(served, path):
    _, client, _ = served
    status, body = client.call("GET", path)
    assert status == 404, (path, status)
    assert isinstance(body, dict) and "error" in body


def test_setting_the_end_changes_only_that_value(served):
    recipe, client, _ = served
    _, state = client.call("GET", "/api/recipe")
    status, new = client.call("PATCH", "/api/segments/2", {"end": 3.2, "version": state["version"]})
    assert status == 200, new
    assert recipe.read_text() == RECIPE.replace("end: 4.5  # trim", "end: 3.2  # trim")
    assert new["segments"][1]["end"] == 3.2 and new["version"] != state["version"]


def test_a_missing_key_is_added_beside_the_others(served):
    recipe, client, _ = served
    recipe.write_text(RECIPE.replace("    start: 1\n", ""))
    _, state = client.call("GET", "/api/recipe")
    status, _ = client.call("PATCH", "/api/segments/2", {"start": 0.5, "version": state["version"]})
    assert status == 200
    assert recipe.read_text() == RECIPE.replace("    start: 1\n", "").replace("end: 4.5  # trim\n", "end: 4.5  # trim\n    start: 0.5\n")


def test_a_title_edited_in_place(served):
    recipe, client, _ = served
    _, state = client.call("GET", "/api/recipe")
    status, _ = client.call("PATCH", "/api/segments/1", {"title": 'Say "hi"', "subtitle": None,
                                                         "version": state["version"]})
    assert status == 200
    assert recipe.read_text() == RECIPE.replace('title: "Hello"', 'title: "Say \\"hi\\""').replace("    subtitle: 'from serve'\n", "")


def test_a_change_castkit_refuses_is_not_saved(served):
    recipe, client, _ = served
    before = recipe.read_bytes()
    _, state = client.call("GET", "/api/recipe")
    status, body = client.call("PATCH", "/api/segments/2", {"end": 40, "version": state["version"]})
    assert status == 422
    assert any("cast.yaml:11:10" in e and "past the end of take.ogv" in e for e in body["errors"]), body
    assert recipe.read_bytes() == before
    status, body = client.call("PATCH", "/api/segments/2", {"crop": 4, "version": state["version"]})
    assert status == 422 and recipe.read_bytes() == before


def test_an_edit_made_elsewhere_is_never_overwritten(served):
    recipe, client, _ = served
    _, state = client.call("GET", "/api/recipe")
    elsewhere = RECIPE.replace("duration: 2", "duration: 3  # changed in a text editor")
    recipe.write_text(elsewhere)
    status, body = client.call("PATCH", "/api/segments/2", {"end": 3, "version": state["version"]})
    assert status == 409 and "changed on disk" in body["error"]
    assert recipe.read_text() == elsewhere


def test_the_page_follows_a_capture_deleted_and_put_back(served):
    """The recipe unchanged, its capture moved away: the page says so at the clip's line (and
    serves no frame of it); put back, the clip is there again and can be edited."""
    recipe, client, _ = served
    take = recipe.parent / "take.ogv"
    aside = take.rename(recipe.parent / "aside.ogv")
    status, state = client.call("GET", "/api/recipe")
    assert status == 200 and any("take.ogv" in e for e in state["errors"]), state
    status, _ = client.call("GET", "/api/frame/2?t=1.5")
    assert status != 200 and status != 500
    aside.rename(take)
    status, state = client.call("GET", "/api/recipe")
    assert status == 200 and state["errors"] == [], state
    status, _ = client.call("PATCH", "/api/segments/2", {"end": 3, "version": state["version"]})
    assert status == 200 and "end: 3" in recipe.read_text()


def test_segments_are_reordered_with_their_lines(served):
    recipe, client, _ = served
    _, state = client.call("GET", "/api/recipe")
    status, new = client.call("POST", "/api/move", {"from": 2, "to": 1, "version": state["version"]})
    assert status == 200
    head, title, clip = RECIPE.split("  - ")
    # Each segment's lines move whole (the blank line after the title goes with it).
    assert recipe.read_text() == head + "  - " + clip + "  - " + title
    assert [s["kind"] for s in new["segments"]] == ["clip", "title"]


def test_a_change_names_the_version_it_was_made_on(served):
    recipe, client, _ = served
    before = recipe.read_bytes()
    status, body = client.call("PATCH", "/api/segments/2", {"end": 3})
    assert status == 400 and "version" in body["error"]
    status, _ = client.call("POST", "/api/move", {"from": 1, "to": 2})
    assert status == 400 and recipe.read_bytes() == before


def test_a_saved_change_keeps_the_files_mode_and_link(served):
    """A private recipe stays private; a recipe linked from elsewhere is changed where the link
    leads, and stays a link."""
    recipe, client, _ = served
    real = recipe.parent / "repo" / "cast.yaml"
    real.parent.mkdir()
    real.write_text(RECIPE)
    real.chmod(0o600)
    recipe.unlink()
    recipe.symlink_to(real)
    _, state = client.call("GET", "/api/recipe")
    status, _ = client.call("PATCH", "/api/segments/2", {"end": 3, "version": state["version"]})
    assert status == 200
    assert recipe.is_symlink() and real.read_text() == RECIPE.replace("end: 4.5", "end: 3")
    assert real.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("t", ["1e-30000000", "-1", "nan", "1/3", "9" * 40])
def test_a_time_is_plain_seconds(served, t):
    _, client, _ = served
    start = time.monotonic()
    status, body = client.call("GET", f"/api/frame/2?t={t}")
    assert status == 422 and "seconds" in body["errors"][0]
    assert time.monotonic() - start < 5


def test_every_address_bound_still_refuses_other_names(tmp_path, wheel_ffmpeg):
    """Bound to 0.0.0.0 (the author's choice), the server answers to address literals and its
    own names, never to a name another site's DNS could point here."""
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.serve.server import make_server
    from castkit.serve.session import Session

    recipe = tmp_path / "cast.yaml"
    recipe.write_text('segments:\n  - title: "Hi"\n')
    session = Session(recipe, find_ffmpeg())
    server = make_server(recipe, session, "0.0.0.0", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        client = Client(server.server_address[1], server.token)
        port = client.port
        for host, status in [(f"evil.example:{port}", 403), (f"127.0.0.1:{port}", 200),
                             (f"10.1.2.3:{port}", 200), ("127.0.0.1:1", 403), (f"localhost:{port}", 200)]:
            assert client.call("GET", "/api/recipe", headers={"Host": host})[0] == status, host
        assert client.call("HEAD", "/api/recipe", token=None)[0] == 403
    finally:
        server.shutdown()
        session.close()
        server.server_close()


def test_build_from_the_page_twice_and_fetch_the_cast(served):
    """Build runs castkit build (its progress and end as events), again without --force on the
    cast it wrote, and the cast is then served by its index."""
    recipe, client, server = served
    events = server.session.subscribe()

    def built() -> dict:
        status, body = client.call("POST", "/api/build", {})
        assert status == 202, body
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            kind, data = events.get(timeout=120)
            if kind == "build" and data["status"] in ("done", "failed"):
                return data
        raise AssertionError("no end of the build")

    assert built() == {"status": "done", "outputs": ["cast.dv"]}
    assert built()["status"] == "done"
    status, cast = client.call("GET", "/api/output/0")
    assert status == 200 and cast == (recipe.parent / "build" / "cast.dv").read_bytes()
    assert len(cast) == (50 + 88) * 144000  # 2 s of title and 3.52 s of clip, PAL DV


def test_frame_times_are_the_captures(served):
    _, client, _ = served
    status, body = client.call("GET", "/api/frames/2")
    assert status == 200
    times = body["times"]
    assert len(times) == 90 and times[0] == 0 and abs(times[1] - 1 / 15) < 1e-6


def test_a_served_frame_is_the_casts_frame(served):
    """The page's frame at a time of the capture is the DV cast's frame there (scaled to
    square pixels): above 30 dB, the two differing by DV's and JPEG's compression only; the
    cast's frame three steps later (testsrc2's pattern moves) measures at least 8 dB less."""
    recipe, client, _ = served
    from castkit.builder.build import build

    build(recipe, force=True)
    at = Fraction(3)  # capture time; the clip starts at 1 s, after a 2 s title: cast 4 s
    status, jpeg = client.call("GET", f"/api/frame/2?t={float(at)}")
    assert status == 200 and jpeg[:2] == b"\xff\xd8"
    (Path(recipe.parent) / "f.jpg").write_bytes(jpeg)
    with av.open(str(recipe.parent / "f.jpg")) as c:
        served_luma = next(c.decode(video=0)).reformat(format="gray").to_ndarray()

    def cast_luma(index: int) -> np.ndarray:
        with av.open(str(recipe.parent / "build" / "cast.dv")) as c:
            for n, frame in enumerate(c.decode(video=0)):
                if n == index:
                    return frame.reformat(width=768, height=576, format="gray").to_ndarray()
        raise AssertionError("no such frame")

    cast_frame = 50 + 50  # 2 s of title, then (3 - 1) s into the clip, at 25 fps
    assert served_luma.shape == (576, 768)
    assert psnr(served_luma, cast_luma(cast_frame)) > 30
    assert psnr(served_luma, cast_luma(cast_frame + 3)) < psnr(served_luma, cast_luma(cast_frame)) - 8


def test_the_proxy_plays_the_captures_time(served):
    _, client, _ = served
    deadline = time.monotonic() + 60
    while True:
        status, body = client.call("GET", "/api/proxy/2")
        if status == 200 or time.monotonic() > deadline:
            break
        assert status == 202 and body["status"] in ("queued", "making")
        time.sleep(0.2)
    assert status == 200
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"proxy-{os.getpid()}.mp4"
    path.write_bytes(body)
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.height == 240
            pts = [float(f.time) for f in c.decode(video=0)]
        assert len(pts) == 90 and abs(pts[45] - 3.0) < 1e-3  # the capture's own timestamps
    finally:
        path.unlink()
    # players seek with byte ranges
    status, part = client.call("GET", "/api/proxy/2", headers={"Range": "bytes=100-199"})
    assert status == 206 and len(part) == 100 and part == body[100:200]


def test_serve_answers_while_its_proxies_are_still_made(tmp_path, wheel_ffmpeg):
    """The page and the recipe answer at once: the proxy of a long capture is made in the
    background (its status is queued or making meanwhile). How fast: benchmarks/bench_serve.py."""
    media.theora(WHEEL_FFMPEG, tmp_path / "long.ogv", "640x360", 10, 120.0)
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("segments:\n  - clip: long.ogv\n")
    proc = subprocess.Popen([sys.executable, "-m", "castkit", "serve", str(recipe), "--no-open", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("castkit: serving "), line + proc.stderr.read()
        url = line.split(" at ", 1)[1].strip()
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        client = Client(port, token)
        status, page = client.call("GET", "/")
        assert status == 200 and b"<title>castkit</title>" in page
        status, state = client.call("GET", "/api/recipe")
        assert status == 200 and state["segments"][0]["proxy"] in ("queued", "making")
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.strip().endswith("castkit: stopped"), err
    assert "Traceback" not in err


# -- the page in a real browser -------------------------------------------------------------

def _browser():
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip("selenium is not installed (pip install '.[test]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no Chromium and chromedriver here (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1366,768"):
        options.add_argument(arg)
    options.binary_location = chromium
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))


def _wait(predicate, what: str, seconds: float = 30, explain=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} {explain()}")


def _click_tile(browser, n: int) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            return browser.find_elements(By.CSS_SELECTOR, ".tile")[n].click()
        except StaleElementReferenceException:  # the strip redrawn after a save
            time.sleep(0.2)
    raise AssertionError("the tiles kept changing under the test")


def _type(browser, field: str, text: str) -> None:
    """Type into a field of the page, found again if the page redrew it meanwhile (it redraws
    after every save)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            element = _wait(lambda: browser.find_elements(By.ID, field), field)[0]
            element.clear()
            element.send_keys(text)
            return
        except StaleElementReferenceException:
            time.sleep(0.2)
    raise AssertionError(f"{field} kept changing under the test")


def test_the_page_sets_a_cut_and_edits_a_title(served, tmp_path):
    from selenium.webdriver.common.by import By

    recipe, client, _ = served
    browser = _browser()
    try:
        browser.get(f"http://127.0.0.1:{client.port}/?token={client.token}")
        tiles = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".tile"), "the tiles")
        assert len(tiles) == 2
        _click_tile(browser, 1)
        # The page puts the playhead on the trim's start once the player has the capture.
        _wait(lambda: browser.execute_script(
            'const v = document.getElementById("video"); return v && v.readyState >= 2 && !v.seeking '
            '&& Math.abs(v.currentTime - 1) < 1e-3 && document.getElementById("t-frame").textContent.endsWith("/ 90")'),
              "the player", 90)
        # Seek to 2.51 s of the capture; the cut lands on the picture boundary nearest (2.533 s).
        browser.execute_script('document.getElementById("video").currentTime = 2.51')
        _wait(lambda: browser.execute_script('return !document.getElementById("video").seeking'), "the seek")
        playhead = browser.execute_script('return document.getElementById("video").currentTime')
        assert abs(playhead - 2.51) < 1e-3
        browser.find_element(By.TAG_NAME, "body").send_keys("o")
        _wait(lambda: "end: 4.5" not in recipe.read_text(), "the recipe to change",
              explain=lambda: browser.execute_script(
                  'return document.getElementById("status").textContent + " | " + document.getElementById("errors").textContent'))
        # The picture on screen at 2.51 s (the 38th, shown from 37/15 s) is the last one kept:
        # the cut falls where the next one begins, 38/15 s.
        assert recipe.read_text() == RECIPE.replace("end: 4.5  # trim", "end: 2.533333  # trim")
        browser.save_screenshot(str(tmp_path / "page.png"))

        # The title, edited in place.
        _click_tile(browser, 0)
        _type(browser, "edit-title", "Welcome\n")
        _wait(lambda: 'title: "Welcome"' in recipe.read_text(), "the title in the recipe")
        _wait(lambda: "Welcome" in browser.execute_script('return document.querySelector(".tile").textContent'),
              "the page to reload")
        # A change castkit refuses: shown, not saved.
        before = recipe.read_bytes()
        _type(browser, "edit-duration", "0\n")
        shown = _wait(lambda: browser.execute_script(
            'const e = document.getElementById("errors"); return e.style.display === "block" && e.textContent'),
            "the error in the page")
        assert "cast.yaml:7:15" in shown
        assert recipe.read_bytes() == before
    finally:
        browser.quit()


def test_the_players_copy_of_a_redacted_clip_hides_the_region(tmp_path, wheel_ffmpeg):
    """The page's player gets a copy of the capture in which a clip's redaction is done, in
    every picture (issue 30): the region keeps under 5% of the capture's high-frequency energy
    there (the secret's text), the rest of the picture is the capture's."""
    from PIL import Image, ImageDraw, ImageFont

    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.serve.server import make_server
    from castkit.serve.session import Session

    picture = Image.new("RGB", (320, 180), (60, 70, 80))
    font = ImageFont.truetype(str(Path(__file__).parents[2] / "castkit/titles/fonts/DejaVuSans.ttf"), 15)
    pen = ImageDraw.Draw(picture)
    pen.text((20, 99), "sk-9f8e7d6c5b4a", font=font, fill=(245, 245, 245))
    pen.text((20, 30), "visible text", font=font, fill=(245, 245, 245))
    picture.save(tmp_path / "take.png")
    media.make(WHEEL_FFMPEG, tmp_path / "take.mp4", "-loop", "1", "-framerate", "10", "-t", "2", "-i",
               str(tmp_path / "take.png"), "-vf", "format=yuv420p", "-c:v", "libx264", "-crf", "10")
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("outputs: [build/cast.mp4]\nsegments:\n  - clip: take.mp4\n    start: 1\n"
                      "    overlays:\n      - redact: {x: 16, y: 96, width: 200, height: 24}\n"
                      "        at: 1.5\n        until: end\n", encoding="utf-8")
    session = Session(recipe, find_ffmpeg())
    server = make_server(recipe, session, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        client = Client(server.server_address[1], server.token)
        deadline = time.monotonic() + 60
        while True:
            status, body = client.call("GET", "/api/proxy/1")
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200
    finally:
        server.shutdown()
        session.close()
        server.server_close()
    (tmp_path / "proxy.mp4").write_bytes(body)

    def energy(luma: np.ndarray) -> float:
        a = luma.astype(np.float64)
        local = sum(np.roll(np.roll(a, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
        return float(((a - local) ** 2)[1:-1, 1:-1].mean())

    source = np.asarray(picture.convert("L"))
    secret, other = (slice(98, 118), slice(20, 150)), (slice(29, 49), slice(20, 120))
    with av.open(str(tmp_path / "proxy.mp4")) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    assert len(frames) == 20  # every picture of the capture, its trim's outside and before `at` too
    for luma in frames:
        assert energy(luma[secret]) < 0.05 * energy(source[secret])
        assert energy(luma[other]) > 0.5 * energy(source[other])  # the rest is the capture


def test_a_served_frame_of_a_followed_clip_shows_the_camera(tmp_path, wheel_ffmpeg):
    """Seen failing before the fix: with ``zoom: follow`` the page showed the whole capture
    where the cast was zoomed in on the typing (the analysis ran for builds only). The
    served frame is the cast's (above 30 dB), its typed line magnified at least 1.5x."""
    from castkit.builder.build import build

    # A line typed at (300, 300) of a dark 1080p screen, one key every 0.2 s from 0.5 s to 4.5 s.
    keys = [f"drawbox=x={300 + 18 * i}:y=300:w=14:h=24:color=white:t=fill:enable='gte(t,{0.5 + 0.2 * i:.1f})'"
            for i in range(20)]
    media.make(WHEEL_FFMPEG, tmp_path / "take.ogv", "-f", "lavfi", "-i",
               f"color=black:size=1920x1080:rate=10:duration=6,format=yuv420p,{','.join(keys)}",
               "-c:v", "libtheora", "-q:v", "6")
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("outputs: [build/cast.dv]\nsegments:\n  - clip: take.ogv\n    zoom: follow\n",
                      encoding="utf-8")
    build(recipe, force=True)
    with serving(recipe) as (client, _):
        status, jpeg = client.call("GET", "/api/frame/1?t=4.0")
    assert status == 200 and jpeg[:2] == b"\xff\xd8"
    served = served_luma(jpeg, tmp_path)
    with av.open(str(tmp_path / "build" / "cast.dv")) as c:
        cast = next(f for n, f in enumerate(c.decode(video=0)) if n == 100)  # 4 s at 25 fps
        cast = cast.reformat(width=768, height=576, format="gray").to_ndarray()
    assert served.shape == (576, 768)
    assert psnr(served, cast) > 30
    cols = np.flatnonzero((served > 128).any(axis=0))
    typed = 18 * 17 + 14  # the keys typed by 4.0 s, in capture pixels
    unzoomed = typed * 768 / 1920  # the whole 16:9 capture, letterboxed: its width fills the card
    assert cols.size and (cols[-1] + 1 - cols[0]) >= 1.5 * unzoomed, (cols[:1], cols[-1:], unzoomed)


def test_no_frame_outside_a_clip_shows_what_a_redaction_hides(tmp_path, wheel_ffmpeg):
    """Seen failing before the fix (a fault campaign): a frame asked for outside the clip's
    trim showed the redacted region in the clear, as did a frame of another clip of the same
    capture at a time the redaction covers. Outside a clip's trim every redaction of the
    capture hides its region, as in the player's copy; inside, the frame is the cast's."""
    media.make(WHEEL_FFMPEG, tmp_path / "take.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=6",
               "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast")
    recipe = tmp_path / "cast.yaml"
    recipe.write_text("outputs: [build/cast.mp4]\nsegments:\n"
                      "  - clip: take.mp4\n    start: 1\n    end: 4\n    overlays:\n"
                      "      - {redact: {x: 0, y: 0, width: 160, height: 120}, mode: fill, at: 1, until: end}\n"
                      "  - clip: take.mp4\n    end: 1\n", encoding="utf-8")
    with serving(recipe) as (client, _):
        def region_spread(segment: int, t: float) -> float:
            status, jpeg = client.call("GET", f"/api/frame/{segment}?t={t}")
            assert status == 200, (segment, t, jpeg)
            luma = served_luma(jpeg, tmp_path)
            h, w = luma.shape  # the region: the capture's top-left quarter, as framed in the card
            return float(luma[int(h * 0.15):int(h * 0.45), int(w * 0.1):int(w * 0.4)].std())

        hidden = [region_spread(1, t) for t in (0.5, 2.0, 4.5, 5.5)] + [region_spread(2, t) for t in (2.0, 5.0)]
        assert max(hidden) < 4, hidden
        assert region_spread(2, 0.5) > 20  # the second clip's own moment: shown, as in the cast
