"""Captures whose picture and sound start at different times stay in step in every output.

ffmpeg starts the clock of a read of an MPEG-TS (and, with ffmpeg 9, an Ogg) file at the start
of the streams that read takes; castkit reads a DV segment's picture and its sound in separate
ffmpegs. Before media.origins, a DV cast of an Ogg capture whose picture starts 0.52 s after
its sound showed the picture 0.52 s early with ffmpeg 9 (a transport stream's, with both
ffmpegs). Each capture here flashes white and beeps at the same moment of its own streams;
the streams are muxed apart, and the casts must keep the gap the capture has. Measured with
PyAV, from each file's start."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

import media
from helpers import WHEEL_FFMPEG, write_recipe
from readers import channels

pytestmark = pytest.mark.e2e

LATE = 0.52  # seconds one stream starts after the other
FLASH = 2.0  # seconds into each stream: the flash, and the beep


def _streams(folder: Path, picture: tuple[str, str], sound: tuple[str, str]) -> tuple[Path, Path]:
    """The flashing picture and the beeping sound, each in a file of its own (suffix, codec)."""
    video = media.make(WHEEL_FFMPEG, folder / f"picture.{picture[0]}", "-f", "lavfi", "-i",
                       f"color=black:s=160x120:r=25:d=5,drawbox=c=white:t=fill:enable='between(t,{FLASH},{FLASH + 0.2})'",
                       *picture[1].split())
    audio = media.make(WHEEL_FFMPEG, folder / f"sound.{sound[0]}", "-f", "lavfi", "-i",
                       f"sine=f=1000:r=48000:d=5,volume=enable='not(between(t,{FLASH},{FLASH + 0.2}))':volume=0",
                       *sound[1].split())
    return video, audio


CAPTURES = {
    # container, (picture's file, codec), (sound's file, codec), the stream that starts late
    "ogg-picture-late": ("ogv", ("ogv", "-c:v libtheora -q:v 5"), ("ogg", "-c:a libvorbis"), "picture"),
    "ogg-sound-late": ("ogv", ("ogv", "-c:v libtheora -q:v 5"), ("ogg", "-c:a libvorbis"), "sound"),
    "ts-picture-late": ("ts", ("mkv", "-c:v libx264 -preset veryfast -g 25"), ("mka", "-c:a mp2"), "picture"),
    # Matroska keeps one clock (media.origins.ONE_CLOCK): a canary for an ffmpeg that would not.
    "mkv-picture-late": ("mkv", ("mkv", "-c:v libx264 -preset veryfast -g 25"), ("mka", "-c:a libopus"), "picture"),
}


@pytest.fixture(scope="module", params=sorted(CAPTURES))
def capture(request, tmp_path_factory) -> Path:
    suffix, picture, sound, late = CAPTURES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    video, audio = _streams(folder, picture, sound)
    offset = ["-itsoffset", str(LATE)]
    return media.make(WHEEL_FFMPEG, folder / f"capture.{suffix}",
                      *(offset if late == "picture" else []), "-i", str(video),
                      *(offset if late == "sound" else []), "-i", str(audio),
                      "-map", "0:v", "-map", "1:a", "-c", "copy")


def flash_at(path: Path) -> float:
    """Seconds from the file's start to its first bright picture."""
    with av.open(str(path)) as c:
        start = (c.start_time or 0) / 1e6
        for frame in c.decode(video=0):
            if frame.to_ndarray(format="gray").mean() > 128:
                return float(frame.time) - start
    raise AssertionError(f"{path}: no flash")


def beep_at(path: Path) -> float:
    """Seconds from the file's start to the first loud sample."""
    with av.open(str(path)) as c:
        start = (c.start_time or 0) / 1e6
        for frame in c.decode(audio=0):
            pcm = channels(frame).astype(np.float64)
            if np.issubdtype(frame.to_ndarray().dtype, np.integer):
                pcm /= 32768
            loud = np.flatnonzero(np.abs(pcm).max(axis=0) > 0.05)  # the sine is at 1/8
            if loud.size:
                return float(frame.time) - start + loud[0] / frame.sample_rate
    raise AssertionError(f"{path}: no beep")


@pytest.mark.parametrize("trim", ["", "    start: 1.5\n"], ids=["whole", "trimmed"])
def test_picture_and_sound_keep_the_capture_s_gap(capture, trim, tmp_path, ffmpeg_bin, cli):
    gap = flash_at(capture) - beep_at(capture)
    assert abs(abs(gap) - LATE) < 0.05, gap  # the capture is as made
    recipe = write_recipe(tmp_path, f"""
        outputs: [cast.dv, cast.mp4]
        segments:
          - clip: {capture}
        """ + trim)
    result = cli("build", recipe, "-q")
    assert result.code == 0, result.err
    for out, frame in (("cast.dv", 1 / 25), ("cast.mp4", 1 / 30)):
        made = flash_at(tmp_path / out) - beep_at(tmp_path / out)
        # The flash is on the output frame nearest to it: at most half a frame early or late.
        assert abs(made - gap) <= frame / 2 + 0.005, (out, made, gap)


def test_probe_says_where_a_read_of_a_transport_stream_s_late_picture_starts(capture, ffmpeg_bin, cli):
    """Both ffmpegs start the clock of a read of a transport stream's picture alone at the
    picture's start; `castkit probe --json` shows it (an Ogg file's only with ffmpeg 9)."""
    result = cli("probe", "--json", capture)
    assert result.code == 0, result.err
    origins = json.loads(result.out)[0]["origins"]
    if capture.suffix == ".ts":
        with av.open(str(capture)) as c:  # the picture's start, from the file's
            video = c.streams.video[0]
            late = float(video.start_time * video.time_base) - c.start_time / 1e6
        assert abs(late - LATE) < 0.05 and abs(origins["picture"] - late) < 0.001, (origins, late)
        assert origins["sound"] == 0
    assert origins["picture"] >= 0 and origins["sound"] >= 0
