"""Issue 14, ready to publish: chapters, loudness and captions, read back by independent
readers (PyAV, the wheel ffmpeg's own filters, pysubs2)."""

from __future__ import annotations

import os
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import pytest

import media
from conftest import WHEEL_FFMPEG

pytestmark = pytest.mark.e2e


def write_recipe(folder: Path, text: str) -> Path:
    path = folder / "cast.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def publish_media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("publish-media")
    return {
        "tone": media.theora(WHEEL_FFMPEG, root / "tone.ogv", "320x240", 15, 3.0,
                             voice=(48000, 2, 3.0)),
    }


@pytest.fixture
def folder(tmp_path, publish_media) -> Path:
    for path in publish_media.values():
        os.link(path, tmp_path / path.name)
    return tmp_path


CHAPTERS = """
    outputs: [build/cast.mp4, build/cast.webm]
    loudness: off
    segments:
      - title: "Intro = start; #1 \\\\ done"
        duration: 1
      - clip: tone.ogv
        end: 1.5
        chapter: The tone
      - clip: tone.ogv
        start: 1.5
      - title: End
        duration: 0.5
"""


def test_titles_and_clips_start_chapters_in_mp4_and_webm(folder, ffmpeg_bin, cli):
    recipe = write_recipe(folder, CHAPTERS)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    build = folder / "build"
    # At 30 fps: the title 30 frames, the clip's halves 45 + 45, the end title 15.
    expected = [(Fraction(0), "Intro = start; #1 \\ done"), (Fraction(1), "The tone"),
                (Fraction(4), "End")]
    for name in ("cast.mp4", "cast.webm"):
        with av.open(str(build / name)) as container:
            got = [(Fraction(c["start"]) * c["time_base"], c["metadata"]["title"])
                   for c in container.chapters()]
            ends = [Fraction(c["end"]) * c["time_base"] for c in container.chapters()]
        assert got == expected, name
        assert ends == [1, 4, Fraction(9, 2)], name
    assert (build / "cast.chapters.txt").read_text() == (
        "0:00 Intro = start; #1 \\ done\n0:01 The tone\n0:04 End\n")
    # Fewer than three chapters of 10 s: YouTube would ignore them, and castkit says so once.
    warnings = [line for line in result.err.splitlines() if "YouTube" in line]
    assert len(warnings) == 1 and warnings[0].startswith("castkit: warning: "), result.err
    # The list is an output like the casts: not replaced without --force.
    (build / "cast.mp4").unlink()
    (build / "cast.webm").unlink()
    again = cli("build", recipe, "-q")
    assert again.code == 2 and "cast.chapters.txt: already exists" in again.err, again.err
