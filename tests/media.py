"""Small test captures, made by ffmpeg from its own test sources.

Real screen recorders write a frame only when the screen changes, so the captures here are
variable frame rate on purpose: frames are dropped in stretches (long holds) with ``select``
and written with their original timestamps. Frame identity is encoded in brightness
(luma = 16 + 4 * (source frame number mod 55)) where a test needs to know which source frame
it is looking at.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def make(ffmpeg: str, out: Path, *args: str) -> Path:
    subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(out)],
        check=True,
        timeout=120,
    )
    return out


def theora(
    ffmpeg: str,
    out: Path,
    size: str,
    rate: int,
    seconds: float,
    voice: tuple[int, int, float] | None = None,
    pattern: str = "testsrc2",
    drop: str | None = None,
    sar: str | None = None,
    gop: int | None = None,
) -> Path:
    """An Ogg Theora capture; ``voice=(hz, channels, seconds)`` adds a Vorbis sine voice-over;
    ``drop`` is a select expression of frames to leave out (long holds, variable rate);
    ``gop``: a keyframe every so many stored frames."""
    args = _sources(size, rate, seconds, voice, pattern, drop, [f"setsar={sar}"] if sar else [])
    args += ["-c:v", "libtheora", "-q:v", "5"]
    if gop:
        args += ["-g", str(gop)]
    if voice:
        args += ["-c:a", "libvorbis", "-ac", str(voice[1]), "-q:a", "2"]
    return make(ffmpeg, out, *args)


def h264(
    ffmpeg: str,
    out: Path,
    size: str,
    rate: int,
    seconds: float,
    voice: tuple[int, int, float] | None = None,
    pattern: str = "testsrc2",
    drop: str | None = None,
    gop: int = 30,
) -> Path:
    """An H.264 capture (MP4 or MKV by ``out``'s suffix, B-frames as x264 makes them), variable
    rate like ``theora``; the voice is AAC in MP4 and Vorbis in MKV."""
    args = _sources(size, rate, seconds, voice, pattern, drop)
    args += ["-c:v", "libx264", "-preset", "veryfast", "-g", str(gop)]
    if voice:
        args += ["-c:a", "aac" if out.suffix == ".mp4" else "libvorbis", "-ac", str(voice[1])]
    return make(ffmpeg, out, *args)


def _sources(size: str, rate: int, seconds: float, voice: tuple[int, int, float] | None,
             pattern: str, drop: str | None, extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The inputs and picture filter of a generated capture: the pattern, a 440 Hz sine voice
    (``voice=(hz, channels, seconds)``), frames left out by ``drop`` (stored at variable rate)."""
    args = ["-f", "lavfi", "-i", _pattern(pattern, size, rate, seconds)]
    if voice:
        hz, _, length = voice
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={hz}:duration={length}"]
    vf = ["format=yuv420p"]
    if drop:
        vf.append(f"select='not({drop})+eq(n,0)'")
    return args + ["-vf", ",".join([*vf, *extra]), "-fps_mode", "vfr"]


def _pattern(pattern: str, size: str, rate: int, seconds: float) -> str:
    if pattern == "luma":
        return (
            f"color=gray:size={size}:rate={rate}:duration={seconds},format=yuv420p,"
            "geq=lum='16+4*mod(N,55)':cb=128:cr=128"
        )
    if pattern == "circle":
        # A white disc of diameter 2/3 of the height on black: round on screen if shape is kept.
        return (
            f"color=black:size={size}:rate={rate}:duration={seconds},format=yuv420p,"
            "geq=lum='if(lt(hypot(X-W/2,Y-H/2),H/3),235,16)':cb=128:cr=128"
        )
    return f"{pattern}=size={size}:rate={rate}:duration={seconds}"


def luma_of_frame(n: int) -> int:
    return 16 + 4 * (n % 55)
