"""Independent readers of what castkit wrote: PyAV (its own libav*), libdv's playdv, MLT's melt.

None of this imports castkit: a test that checks castkit's output with castkit's own code
proves nothing.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


@dataclass
class Decoded:
    """Everything a test may assert about a DV file, read by PyAV."""

    container: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    sar: Fraction
    rate: Fraction
    audio_codec: str | None
    audio_rate: int | None
    audio_channels: int | None
    frames: int = 0
    samples: int = 0
    lumas: list[float] = field(default_factory=list)
    chroma: list[tuple[int, int]] = field(default_factory=list)  # (min, max) over U and V
    audio_rms: list[float] = field(default_factory=list)  # RMS per video frame's worth of sound
    stills: dict[int, np.ndarray] = field(default_factory=dict)  # luma planes of chosen frames

    @property
    def seconds(self) -> Fraction:
        return self.frames / self.rate


def decode(path: Path, keep: tuple[int, ...] = ()) -> Decoded:
    """Decode every frame and sample; keep the luma plane of frames in ``keep``."""
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        aus = container.streams.audio
        rate = Fraction(vs.codec_context.framerate or vs.guessed_rate)
        sar = vs.sample_aspect_ratio or vs.codec_context.sample_aspect_ratio
        result = Decoded(
            container=container.format.name,
            codec=vs.codec_context.name,
            width=vs.codec_context.width,
            height=vs.codec_context.height,
            pix_fmt=vs.codec_context.format.name if vs.codec_context.format else "",
            sar=Fraction(sar) if sar else Fraction(0),
            rate=rate,
            audio_codec=aus[0].codec_context.name if aus else None,
            audio_rate=aus[0].rate if aus else None,
            audio_channels=aus[0].channels if aus else None,
        )
        pcm: list[np.ndarray] = []
        for packet in container.demux():
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    plane = _luma(frame)
                    if result.frames in keep:
                        result.stills[result.frames] = plane
                    result.lumas.append(float(plane.mean()))
                    u, v = _plane(frame, 1), _plane(frame, 2)
                    result.chroma.append((int(min(u.min(), v.min())), int(max(u.max(), v.max()))))
                    result.frames += 1
                elif isinstance(frame, av.AudioFrame):
                    result.samples += frame.samples
                    pcm.append(channels(frame))
        if pcm:
            sound = np.concatenate([p.astype(np.float64) for p in pcm], axis=1)
            per_frame = round(48000 / rate) if result.audio_rate == 48000 else None
            if per_frame:
                mono = sound.mean(axis=0) if sound.ndim == 2 else sound
                chunks = len(mono) // per_frame
                for i in range(chunks):
                    chunk = mono[i * per_frame:(i + 1) * per_frame]
                    result.audio_rms.append(float(np.sqrt(np.mean(chunk ** 2))))
    return result


def frame_lumas(path: Path) -> list[tuple[float, float]]:
    """(time, mean luma) of every frame of a source, as PyAV decodes it."""
    with av.open(str(path)) as container:
        return [(float(f.time), float(_luma(f).mean())) for f in container.decode(video=0)]


def shown_at(lumas: list[tuple[float, float]], k: int, rate: float = 25) -> float:
    """The source frame a converter at ``rate`` shows as frame ``k``: ffmpeg's fps filter
    gives each source frame the output slot nearest its time (halves up), and holds it until
    the next."""
    return [lu for (ts, lu) in lumas if math.floor(ts * rate + 0.5) <= k][-1]


def channels(frame: av.AudioFrame) -> np.ndarray:
    """Samples as (channels, samples), whether the format is planar or interleaved."""
    data = frame.to_ndarray()
    if frame.format.is_planar:
        return data.reshape(-1, frame.samples)
    return data.reshape(frame.samples, -1).T


def _luma(frame: av.VideoFrame) -> np.ndarray:
    return _plane(frame, 0)


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    data = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
    return data[:, : plane.width]


def decodable_frames(path: Path) -> int:
    """How many pictures PyAV decodes from ``path`` before it stops (a file cut short)."""
    count = 0
    with av.open(str(path)) as container:
        try:
            for _ in container.decode(video=0):
                count += 1
        except av.error.FFmpegError:
            pass
    return count


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


@dataclass
class LibdvReading:
    frames: int
    aspect: str  # "4:3" or "16:9", as libdv reports the DV aspect flag
    audio_bytes: int


def playdv(path: Path, tmp: Path, video: bool = True) -> LibdvReading:
    """Decode with libdv (the decoder Kino used). Video needs a display: run under xvfb-run.

    playdv is fed on stdin: its own file argument is mangled on 64-bit builds (Debian 12).
    """
    frames = 0
    if video:
        dump = tmp / "libdv-frames"
        dump.mkdir(exist_ok=True)
        with open(path, "rb") as src:
            subprocess.run(
                ["xvfb-run", "-a", "playdv", "--disable-audio", "--no-mmap",
                 f"--dump-frames={dump}/f%05d.ppm", "--"],
                stdin=src, capture_output=True, timeout=300,
            )
        frames = len(list(dump.glob("*.ppm")))
        for ppm in dump.glob("*.ppm"):
            ppm.unlink()
    raw = tmp / "libdv-audio.raw"
    with open(path, "rb") as src:
        done = subprocess.run(
            ["playdv", "--disable-video", "--no-mmap", f"--audio-file={raw}", "--"],
            stdin=src, capture_output=True, timeout=300, env={**os.environ, "TERM": "dumb"},
        )
    text = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    aspect = re.search(r"format (4:3|16:9)", text)
    size = raw.stat().st_size if raw.exists() else 0
    return LibdvReading(frames, aspect[1] if aspect else "?", size)


@dataclass
class MeltReading:
    length: int
    width: int
    height: int
    sar: Fraction
    dar: Fraction
    fps: Fraction


def melt(path: Path) -> MeltReading:
    """What MLT (Kdenlive, Shotcut) makes of the file: its automatic profile and length."""
    done = subprocess.run(
        ["melt", str(path), "-consumer", "xml"], capture_output=True, timeout=120, check=True
    )
    xml = done.stdout.decode("utf-8", "replace")
    prof = re.search(r"<profile [^>]*>", xml)[0]

    def attr(name: str) -> int:
        return int(re.search(rf'{name}="(\d+)"', prof)[1])

    length = int(re.search(r'<property name="length">(\d+)</property>', xml)[1])
    return MeltReading(
        length=length,
        width=attr("width"),
        height=attr("height"),
        sar=Fraction(attr("sample_aspect_num"), attr("sample_aspect_den")),
        dar=Fraction(attr("display_aspect_num"), attr("display_aspect_den")),
        fps=Fraction(attr("frame_rate_num"), attr("frame_rate_den")),
    )


@dataclass
class WebReading:
    """What PyAV (its own libav*) sees in a web master."""

    container: str
    codec: str
    profile: str | None
    pix_fmt: str
    width: int
    height: int
    sar: Fraction | None
    color_space: str | None
    times: list[Fraction]  # every video frame's presentation time
    audio_codec: str | None
    audio_rate: int | None
    audio_channels: int | None
    audio_seconds: Fraction | None  # the audio stream's length as the container states it
    pcm: np.ndarray  # decoded sound, mono mix, float
    video_seconds: Fraction | None


def read_web(path: Path) -> WebReading:
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        aus = container.streams.audio
        cc = vs.codec_context
        times, pcm = [], []
        # Video and sound only: an MP4 with chapters also has their (undecodable) text track.
        for packet in container.demux(vs, *aus[:1]):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    times.append(Fraction(frame.pts) * vs.time_base)
                    space = getattr(frame, "colorspace", None)
                elif isinstance(frame, av.AudioFrame):
                    pcm.append(channels(frame).astype(np.float64).mean(axis=0))
        audio = aus[0] if aus else None

        def seconds(stream):
            if stream is None or stream.duration is None:
                return None
            return Fraction(stream.duration) * stream.time_base

        sar = vs.sample_aspect_ratio or cc.sample_aspect_ratio
        return WebReading(
            container=container.format.name, codec=cc.name, profile=cc.profile,
            pix_fmt=cc.format.name if cc.format else "", width=cc.width, height=cc.height,
            sar=Fraction(sar) if sar else None, color_space=str(space) if times else None,
            times=times, audio_codec=audio.codec_context.name if audio else None,
            audio_rate=audio.rate if audio else None, audio_channels=audio.channels if audio else None,
            audio_seconds=seconds(audio), pcm=np.concatenate(pcm) if pcm else np.zeros(0),
            video_seconds=seconds(vs),
        )


def mp4_boxes(path: Path) -> list[str]:
    """The top-level box types of an MP4 file, in file order (ISO/IEC 14496-12)."""
    names = []
    with open(path, "rb") as f:
        end = f.seek(0, 2)
        at = 0
        while at < end:
            f.seek(at)
            head = f.read(16)
            size = int.from_bytes(head[:4], "big")
            if size == 1:
                size = int.from_bytes(head[8:16], "big")
            elif size == 0:
                size = end - at
            names.append(head[4:8].decode("latin-1"))
            at += size
    return names


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if err == 0 else 10 * math.log10(255 ** 2 / err)


def luma_at(path: Path, index: int) -> np.ndarray:
    """The luma plane of frame ``index`` of a file, decoded by PyAV."""
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n == index:
                return _luma(frame).copy()
    raise IndexError(index)


def gif_code_sizes(path: Path) -> list[int]:
    """The LZW minimum code size of each image of a GIF, read from its blocks (GIF89a: header,
    logical screen, colour tables, extensions and images, each image's data in sub-blocks)."""
    data = path.read_bytes()
    assert data[:6] in (b"GIF87a", b"GIF89a"), data[:6]
    at = 13 + (3 * (2 << (data[10] & 7)) if data[10] & 0x80 else 0)
    sizes = []
    while data[at] != 0x3B:  # the trailer
        if data[at] == 0x21:  # an extension: label, then sub-blocks
            at += 2
        else:
            assert data[at] == 0x2C, (at, data[at])  # an image descriptor
            flags = data[at + 9]
            at += 10 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
            sizes.append(data[at])
            at += 1
        while data[at]:
            at += data[at] + 1
        at += 1
    return sizes
