"""What castkit sees in a media file: duration, streams, size, pixel shape, frame rate.

Why not ffmpeg-python's ``probe()``: it runs ``ffprobe``, and the ffmpeg that the imageio-ffmpeg
wheel ships comes without one, so ``pip install`` alone would give a castkit that cannot look at
its inputs. The ``ffmpeg`` binary itself describes every input it opens: ``ffmpeg -i FILE``
prints the stream summary, and at ``-v trace`` libavformat also logs the container's exact
duration and each stream's start (``format: start_time: 0 duration: 9.6``, six significant
digits) where the summary rounds to hundredths. Both lines have kept their shape from ffmpeg
5.1 to 9.0; the tests run this parser against every ffmpeg on the machine.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from castkit.base.files import LOOP, symlink_loop
from castkit.base.jobs import file_url
from castkit.base.progress import say
from castkit.base.timecode import format_time
from castkit.errors import InputError, Interrupted
from castkit.media.ffmpeg import Ffmpeg, run_query, safe_input_args, safe_input_options
from castkit.media.origins import Origins


_INPUT = re.compile(r"^Input #0, (?P<fmt>.+?), from ", re.M)
_FORMAT_TIMES = re.compile(
    r"format: start_time: (?P<start>\S+) duration: (?P<dur>\S+)", re.M
)
_SUMMARY_DURATION = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:(?P<idx>\d+)\S*?(?:, [^:]*?)?: (?P<kind>Video|Audio): (?P<rest>.*)$", re.M)
_SIZE = re.compile(r"(?:^|[ ,])(?P<w>\d{1,5})x(?P<h>\d{1,5})(?=[ ,\[]|$)")
_SAR = re.compile(r"\[SAR (?P<n>\d+):(?P<d>\d+) DAR")
_FPS = re.compile(r"(?P<v>\d+(?:\.\d+)?)(?P<k>k?) fps")
_TBR = re.compile(r"(?P<v>\d+(?:\.\d+)?)(?P<k>k?) tbr")
_RATE = re.compile(r"(?P<v>\d+) Hz")
# Containers whose timestamps may start again mid-file (ffmpeg reads them on, corrected): their
# length is measured by reading them through, never taken from the first and last timestamps.
RESTARTING_FORMATS = ("mpegts", "mpeg")
# Containers (as ``ffmpeg -i`` names them, first name) whose reads ffmpeg 5.1 and 9 start at
# the file's start whichever streams they take: their demuxers do not flag their timestamps as
# discontinuous. Checked with a picture muxed 0.5 s after the sound, H.264 and AAC, VP8 and
# Opus, FLV1 and MP3 (tests/e2e/test_sync.py keeps Matroska's); their files are not measured.
ONE_CLOCK = frozenset({"matroska", "mov", "avi", "dv", "flv"})

# What a trace of opening a file says of its streams' starts and its own (ffmpeg 5.1 prints
# six significant digits, 9 microseconds; the summary line has microseconds in both).
_STREAM_START = re.compile(r"\bstream (?P<idx>\d+): start_time: (?P<start>\S+) duration:")
_FILE_START = re.compile(r"^\s*Duration: [^,]*, start: (?P<start>-?\d+\.\d+)", re.M)
# Above it, ffmpeg 5.1's six digits no longer tell starts a millisecond apart.
_IMPRECISE = 100
# Seconds a one-packet copy may take (milliseconds for any real file; a hostile one is not
# measured rather than waited for).
_COPY_TIMEOUT = 20
MAX_FPS = 1000  # above it a "rate" is a time base (screens refresh at up to 500 Hz)
_ROTATION = re.compile(r"rotation of (?P<deg>-?\d+(?:\.\d+)?) degrees")
# The picture's colour tags as ffmpeg prints them after the pixel format:
# "yuv420p(tv, bt709/unknown/unknown, progressive)", "yuv420p(tv, bt709)", "yuvj420p(pc)".
_PIX_ARGS = re.compile(r", [a-z0-9_]+\((?P<args>[^()]*)")
# The pixel format: the name (and its colour tags) just before the picture's size; the codec's
# part may hold commas at -v trace ("h264 (High), 1 reference frame (avc1 / 0x31637661),
# yuv420p(progressive, left), 1920x1080 (1920x1088)").
_PIX_FMT = re.compile(r", (?P<pix>[a-z][a-z0-9_]*)(?:\([^()]*\))?, \d{1,5}x\d{1,5}\b")
# Colour matrices castkit converts from (ffmpeg's names); any other tag reads as untagged.
MATRICES = ("bt709", "bt470bg", "smpte170m", "smpte240m", "fcc", "bt2020nc", "bt2020c")
RANGES = ("tv", "pc")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}

# A real capture's format summary and the stream lines fit in far less; trace logging of a
# hostile file could be endless, so castkit reads at most this much of what ffmpeg says.
_MAX_LOG = 16 * 1024 * 1024


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    sar: Fraction
    fps: Fraction | None
    rotation: int = 0
    matrix: str | None = None  # the colour matrix the file is tagged with (MATRICES), if any
    color_range: str | None = None  # "tv" (limited) or "pc" (full), if tagged
    pix_fmt: str | None = None  # the decoder's pixel format as ffmpeg names it ("yuv420p"), if printed

    @property
    def shown_shape(self) -> tuple[int, int, Fraction]:
        """Width, height and pixel aspect as ffmpeg decodes the picture: it applies the
        rotation, and a quarter turn swaps the sides and inverts the pixel shape."""
        if self.rotation % 180:
            return self.height, self.width, 1 / self.sar
        return self.width, self.height, self.sar

    @property
    def display_aspect(self) -> Fraction:
        w, h, sar = self.shown_shape
        return Fraction(w) * sar / h


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int | None
    channels: int | None


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    format_name: str
    duration: Fraction
    video: VideoInfo | None
    audio: AudioInfo | None
    # Where a read of the picture alone, or of the sound alone, starts its clock (media.origins).
    origins: Origins = Origins()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["duration"] = float(self.duration)
        data["origins"] = {key: float(value) if isinstance(value, Fraction) else value
                           for key, value in data["origins"].items()}
        if self.video:
            data["video"]["sar"] = f"{self.video.sar.numerator}:{self.video.sar.denominator}"
            data["video"]["fps"] = float(self.video.fps) if self.video.fps else None
            data["video"]["display_aspect"] = round(float(self.video.display_aspect), 4)
        return data


def check_readable(path: Path) -> None:
    """InputError unless ``path`` is a non-empty regular file castkit may read."""
    if symlink_loop(path):
        raise InputError(path, LOOP)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a folder, not a media file")
    if not path.is_file():
        raise InputError(path, "is not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(path, "cannot be read (permission denied)")
    if path.stat().st_size == 0:
        raise InputError(path, "is empty (0 bytes)")
    _refuse_scripts(path)


# Text files that make ffmpeg open *other* files or URLs: an HLS playlist or an ffconcat script
# saved under a video's name is a known way to pull /etc/passwd (or any local file) into a
# rendered video. ffmpeg's format whitelist already stops them; recognising them here gives the
# user a message that says what the file is, the same with every ffmpeg version.
_SCRIPTS = (
    (b"#EXTM3U", "an HLS playlist"),
    (b"ffconcat version", "an ffconcat script"),
    (b"v=0\n", "an SDP session description"),
    (b"v=0\r\n", "an SDP session description"),
)


def _refuse_scripts(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    for magic, what in _SCRIPTS:
        if head.startswith(magic):
            raise InputError(
                path,
                f"is {what}, not a video; refused: it could make ffmpeg read other files "
                "(castkit reads local media files only)",
            )


def probe(path: Path | str, ffmpeg: Ffmpeg, need_video: bool = True) -> MediaInfo:
    """Describe a media file, or raise InputError naming it and saying what is wrong."""
    path = Path(path)
    check_readable(path)
    args = []
    for key, value in safe_input_options().items():
        args += [f"-{key}", value]
    try:
        done = run_query(ffmpeg, ["-v", "trace", *args, "-i", file_url(path)])
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while ffmpeg opens it: say what was going on
        raise _stopped_reading(path) from None
    except subprocess.TimeoutExpired:
        raise InputError(path, "ffmpeg took over a minute just to open it (a broken or hostile file?)") from None
    log = done.stderr[:_MAX_LOG].decode("utf-8", "replace")
    info = parse_probe(path, log)
    if info is None:
        raise InputError(path, "not a media file ffmpeg can read" + _reason(log))
    if need_video and info.video is None:
        raise InputError(path, "has no video stream")
    if info.video is not None and _video_without_frames(log):
        # ffmpeg found the stream's header but not one picture in it: encoding would fail
        # late with a page of ffmpeg errors; say it now, before anything is encoded.
        if need_video:
            raise InputError(path, "its video stream holds no frames ffmpeg can decode (empty or broken)")
        info = replace(info, video=None)
    doubt = _doubtful_duration(path, info, log)
    if doubt:
        # The container's length is missing, an estimate, or more than the file could hold:
        # measure what really decodes (a demux pass, no decoding) rather than encode toward a
        # header's fiction (frozen frames, or a terabyte of DV) or refuse a salvageable file.
        measured = _measure(path, ffmpeg, info)
        if measured is not None and measured > 0:
            declared = info.duration
            info = replace(info, duration=measured)
            if declared <= 0 or abs(declared - measured) > Fraction(1, 10):
                _warn(f"{path}: {doubt}; castkit measured {float(measured):.2f} s that decode"
                      + ("" if declared <= 0 else f" (the file says {float(declared):.2f} s)")
                      + " and uses that")
    if info.duration <= 0:
        raise InputError(path, "has no duration (no frames, or a broken file)")
    picture, sound = _chosen_streams(log)
    if (info.video is not None and info.audio is not None and picture and sound
            and needs_measuring(log, info.format_name, int(picture["idx"]), int(sound["idx"]))):
        try:
            info = replace(info, origins=measure_origins(path, ffmpeg, log))
        except KeyboardInterrupt:
            raise _stopped_reading(path) from None
    return info


# A real capture holds at least this many bytes per second of its length (an idle screen
# recorded at a frame per second still writes more). A header claiming more seconds than its
# file could hold (a Matroska Duration of 300000 s in 200 kB, an AVI written to a pipe whose
# frame count was never filled in) is not believed without measuring.
MIN_BYTES_PER_SECOND = 64
MAX_PLAUSIBLE_SECONDS = 24 * 3600
_ESTIMATED = re.compile(r"Estimating duration from bitrate|duration: \S+ \(estimate from bit rate\)")


def _doubtful_duration(path: Path, info: MediaInfo, log: str) -> str | None:
    """Why the container's duration cannot be taken as the length, or None if it can."""
    if info.duration <= 0:
        return "its container does not say how long it is (cut short, or written to a pipe)"
    if _ESTIMATED.search(log):
        return "ffmpeg only estimated its length from the bit rate"
    if info.format_name.startswith("matroska") and _matroska_cut_short(path):
        return "it ends before its header says (a copy or a recording cut short)"
    if info.format_name.split(",")[0] in RESTARTING_FORMATS:
        # Its length is from its first to its last timestamp; recordings joined end to end
        # (cat a.ts b.ts) restart them, and the length seen was the first recording's alone.
        return "an MPEG stream's timestamps may start again where recordings were joined"
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if info.duration > MAX_PLAUSIBLE_SECONDS or size < info.duration * MIN_BYTES_PER_SECOND:
        return f"its header claims {float(info.duration):.2f} s, more than its {size} bytes can hold"
    return None


_EBML, _SEGMENT = 0x1A45DFA3, 0x18538067  # Matroska's first two elements


def _matroska_cut_short(path: Path) -> bool:
    """Whether a Matroska or WebM file ends before its Segment (the element that holds all
    the rest, its size written at the start) says it does: a file cut short after its header
    was finished, whose duration then promises frames that are not there. A Segment of
    unknown size (a live recording's) says nothing."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    try:
        element, at = _ebml_number(head, 0, marker=True)
        if element != _EBML:
            return False
        header, at = _ebml_number(head, at)
        if header < 0:
            return False
        element, at = _ebml_number(head, at + header, marker=True)
        if element != _SEGMENT:
            return False
        declared, at = _ebml_number(head, at)
    except (ValueError, IndexError):
        return False
    return declared >= 0 and at + declared > size


def _ebml_number(head: bytes, at: int, marker: bool = False) -> tuple[int, int]:
    """The EBML variable-length integer at ``head[at]`` (an element's id with its length
    marker, or a size without it: -1 for the "unknown" size), and where the next one starts."""
    length = 9 - head[at].bit_length()
    if not 1 <= length <= 8 or at + length > len(head):
        raise ValueError("not EBML")
    value = head[at] if marker else head[at] & (0xFF >> length)
    for byte in head[at + 1:at + length]:
        value = value << 8 | byte
    if not marker and value == (1 << 7 * length) - 1:
        value = -1
    return value, at + length


_TB = re.compile(r"^#tb (?P<idx>\d+): (?P<num>\d+)/(?P<den>\d+)$", re.M)
_NOPTS = -(2**63)


def _measure(path: Path, ffmpeg: Ffmpeg, info: MediaInfo) -> Fraction | None:
    """Seconds of the picture (or, without one, the sound) that a full read of ``path`` finds:
    from the first packet's time to the end of the last, by a stream copy into ffmpeg's
    ``framecrc`` listing (one line per packet; nothing is decoded)."""
    args = []
    for key, value in safe_input_options().items():
        args += [f"-{key}", value]
    stream = "0:v:0" if info.video is not None else "0:a:0"
    try:
        done = run_query(ffmpeg, ["-v", "error", *args, "-i", file_url(path), "-map", stream,
                                  "-c", "copy", "-f", "framecrc", "pipe:1"], timeout=600)
    except subprocess.TimeoutExpired:
        return None
    except KeyboardInterrupt:
        raise _stopped_reading(path, "measuring how long it is") from None
    copied = _copied_packets(done.stdout.decode("ascii", "replace"))
    if copied is None:
        return None
    base, packets = copied
    first = last = None
    for t, duration in packets:
        if duration <= 0 and info.video is not None and info.video.fps:
            end = t * base + 1 / info.video.fps
        else:
            end = (t + max(duration, 0)) * base
        first = t * base if first is None else min(first, t * base)
        last = end if last is None else max(last, end)
    if first is None or last is None:
        return None
    return last - first


def _copied_packets(text: str) -> tuple[Fraction, list[tuple[int, int]]] | None:
    """A ``framecrc`` listing of one stream copied: its time base, and each packet's time
    (its pts, else its dts) and duration in that base; None without a time base."""
    tb = _TB.search(text)
    if not tb or int(tb["den"]) == 0:
        return None
    packets = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            dts, pts, duration = int(fields[1]), int(fields[2]), int(fields[3])
        except (IndexError, ValueError):
            continue
        t = pts if pts != _NOPTS else dts
        if t != _NOPTS:
            packets.append((t, duration))
    return Fraction(int(tb["num"]), int(tb["den"])), packets


def needs_measuring(log: str, container: str, picture_stream: int | None, sound_stream: int | None) -> bool:
    """Whether the reads of a file's picture and of its sound could start their clocks at
    different times: its streams do not all start where the file does, as its trace says, in a
    container not known to keep one clock (``ONE_CLOCK``)."""
    if picture_stream is None or sound_stream is None or container.split(",")[0] in ONE_CLOCK:
        return False
    starts = {int(m["idx"]): m["start"] for m in _STREAM_START.finditer(log)}
    whole = _FILE_START.search(log)
    if picture_stream not in starts or sound_stream not in starts or whole is None:
        return True
    try:
        values = [Fraction(starts[picture_stream]), Fraction(starts[sound_stream]), Fraction(whole["start"])]
    except (ValueError, ZeroDivisionError):
        return True  # a stream without a start
    return len(set(values)) > 1 or abs(values[2]) >= _IMPRECISE


def measure_origins(path: Path, ffmpeg: Ffmpeg, log: str) -> Origins:
    """Where ffmpeg starts the clock of a read of the file's picture alone and of its sound
    alone: each read's first packet, stream-copied with and without ``-copyts`` (the file's
    own timestamps): the difference is the shift ffmpeg applied, from the file's start. Where
    a read is shifted, one more copy with an offset tells how this ffmpeg adds one. Nothing
    where a copy fails (the reads stay as ffmpeg makes them)."""
    whole = _FILE_START.search(log)
    if whole is None:
        return Origins()
    start = Fraction(whole["start"])
    runs = [(stream, copyts) for stream in ("0:v:0", "0:a:0") for copyts in (True, False)]
    with ThreadPoolExecutor(len(runs)) as pool:
        firsts = list(pool.map(lambda run: _first_packet(path, ffmpeg, *run), runs))
    if any(first is None for first in firsts):
        return Origins()
    shifts = {"0:v:0": _micro(firsts[0] - firsts[1] - start), "0:a:0": _micro(firsts[2] - firsts[3] - start)}
    shifted = max(shifts, key=lambda stream: shifts[stream])
    added = True
    if shifts[shifted]:
        offset = _first_packet(path, ffmpeg, shifted, False, offset=1)
        plain = firsts[1] if shifted == "0:v:0" else firsts[3]
        if offset is None:
            return Origins()
        added = abs(offset - plain - 1) < abs(offset - plain - 1 - shifts[shifted])
    return Origins(picture=shifts["0:v:0"], sound=shifts["0:a:0"], offset_added=added)


def _micro(value: Fraction) -> Fraction:
    return round(value * 1000000) / Fraction(1000000)


def _first_packet(path: Path, ffmpeg: Ffmpeg, stream: str, copyts: bool, offset: int = 0) -> Fraction | None:
    """The time of the first packet of ``stream`` as a read of that stream alone gets it."""
    args = ["-v", "error", *(["-copyts"] if copyts else []), *safe_input_args(),
            *(["-itsoffset", str(offset)] if offset else []), "-i", file_url(path),
            "-map", stream, "-c", "copy", "-frames", "1", "-f", "framecrc", "pipe:1"]
    try:
        done = run_query(ffmpeg, args, timeout=_COPY_TIMEOUT)
    except (subprocess.TimeoutExpired, OSError):
        return None
    copied = _copied_packets(done.stdout.decode("ascii", "replace"))
    if done.returncode != 0 or copied is None or not copied[1]:
        return None
    base, packets = copied
    return packets[0][0] * base


def _stopped_reading(path: Path, doing: str = "reading it") -> Interrupted:
    return Interrupted(f"stopped while checking the sources, at {path} ({doing}); nothing was written")


def _warn(message: str) -> None:
    say("warning", message)


_NO_PARAMS = re.compile(r"Could not find codec parameters for stream (?P<idx>\d+) \(Video")
_PROBED = re.compile(r"Format (?P<fmt>\S+) probed")


def _video_without_frames(log: str) -> bool:
    """True if the first video stream (the one castkit uses) has no decodable frame."""
    first = next((s for s in _STREAM.finditer(log)
                  if s["kind"] == "Video" and "(attached pic)" not in s["rest"]), None)
    if first is None:
        return False
    return any(m["idx"] == first["idx"] for m in _NO_PARAMS.finditer(log))


def _reason(log: str) -> str:
    """The last thing ffmpeg said about the input, for the user."""
    refused = log.find("Format not on whitelist")
    if refused >= 0:  # ffmpeg recognised a demuxer outside castkit's allow-list
        probed = _PROBED.findall(log, 0, refused)
        kind = f"a {probed[-1]!r} file" if probed else "a kind of file"
        return f" (it is {kind}; castkit reads only the media formats it allows)"
    if re.search(r": End of file\s*$", log, re.M):
        return " (it ends before its first frame: cut short, or nothing was recorded)"
    for line in reversed(log.splitlines()):
        line = line.strip()
        if not line or line.startswith("[") and "@" in line and "trace" in line.lower():
            continue
        if ("Invalid data" in line or "not in allowed" in line or "not allowed" in line
                or "No such file" in line or "Permission denied" in line):
            detail = line.split(": ", 1)[-1] if ": " in line else line
            return f" ({detail})"
    return ""


def _chosen_streams(log: str) -> tuple[re.Match[str] | None, re.Match[str] | None]:
    """The stream lines of the picture and the sound castkit reads: the first of each kind (a
    cover picture, or one without a size, is not a picture)."""
    video = audio = None
    for stream in _STREAM.finditer(log):
        rest = stream["rest"]
        if stream["kind"] == "Video" and video is None and "(attached pic)" not in rest and _SIZE.search(rest):
            video = stream
        elif stream["kind"] == "Audio" and audio is None:
            audio = stream
    return video, audio


def parse_probe(path: Path, log: str) -> MediaInfo | None:
    """MediaInfo from what ``ffmpeg -v trace -i FILE`` printed; None if it opened nothing."""
    head = _INPUT.search(log)
    if not head:
        return None
    picture, sound = _chosen_streams(log)
    video = _video(picture["rest"], log) if picture else None
    audio = _audio(sound["rest"]) if sound else None
    return MediaInfo(path, head["fmt"], _duration(log), video, audio)


def _seconds(text: str) -> Fraction | None:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None  # "NOPTS" and friends
    return value


def _duration(log: str) -> Fraction:
    exact = _FORMAT_TIMES.search(log)
    if exact:
        value = _seconds(exact["dur"])
        if value is not None and value > 0:
            return value
    summary = _SUMMARY_DURATION.search(log)
    if summary:
        return int(summary["h"]) * 3600 + int(summary["m"]) * 60 + Fraction(summary["s"])
    return Fraction(0)


def _rate(match: re.Match[str] | None) -> Fraction | None:
    if not match:
        return None
    value = Fraction(match["v"]) * (1000 if match["k"] else 1)
    # ffmpeg prints 29.97 for 30000/1001 and 23.98 for 24000/1001: recover the exact rate.
    for num in (24000, 30000, 60000):
        exact = Fraction(num, 1001)
        if abs(value - exact) < Fraction(1, 100):
            return exact
    return value if value > 0 else None


def _video(rest: str, log: str) -> VideoInfo | None:
    size = _SIZE.search(rest)
    if not size:
        return None
    sar_match = _SAR.search(rest)
    sar = Fraction(1)
    if sar_match and int(sar_match["n"]) > 0 and int(sar_match["d"]) > 0:
        sar = Fraction(int(sar_match["n"]), int(sar_match["d"]))
    fps, tbr = _rate(_FPS.search(rest)), _rate(_TBR.search(rest))
    # ffmpeg 9 prints a DV file's time base as its average rate ("60k fps, 25 tbr"): a rate no
    # picture has is the time base, and the real rate its guess (tbr).
    if fps is None or (fps > MAX_FPS and tbr is not None and tbr <= MAX_FPS):
        fps = tbr
    rotation_match = _ROTATION.search(log)
    rotation = round(float(rotation_match["deg"])) % 360 if rotation_match else 0
    codec = rest.split(",", 1)[0].split(" ", 1)[0]
    matrix, color_range = _colour(rest)
    pix = _PIX_FMT.search(rest)
    return VideoInfo(codec, int(size["w"]), int(size["h"]), sar, fps, rotation, matrix, color_range,
                     pix["pix"] if pix else None)


def _colour(rest: str) -> tuple[str | None, str | None]:
    """The colour matrix and range a stream is tagged with (None where it is not): ffmpeg
    prints "range, matrix/primaries/transfer" (or one name when all three agree)."""
    args = _PIX_ARGS.search(rest)
    if not args:
        return None, None
    matrix = color_range = None
    for part in (p.strip() for p in args["args"].split(",")):
        if part in RANGES:
            color_range = part
        elif part.split("/")[0] in MATRICES and (part.count("/") == 2 or "/" not in part):
            matrix = part.split("/")[0]
    return matrix, color_range


def _audio(rest: str) -> AudioInfo:
    codec = rest.split(",", 1)[0].split(" ", 1)[0]
    rate = _RATE.search(rest)
    channels = None
    for part in (p.strip() for p in rest.split(",")):
        if part in _CHANNELS:
            channels = _CHANNELS[part]
            break
        match = re.match(r"(\d+) channels", part)
        if match:
            channels = int(match[1])
            break
    return AudioInfo(codec, int(rate["v"]) if rate else None, channels)


def describe(info: MediaInfo) -> str:
    """Human-readable summary for ``castkit probe``."""

    lines = [f"{info.path}", f"  container  {info.format_name}, {format_time(info.duration)} ({float(info.duration):.3f} s)"]
    if info.video:
        v = info.video
        w, h, _ = v.shown_shape
        fps = f"{float(v.fps):.3f}".rstrip("0").rstrip(".") + " fps" if v.fps else "unknown rate"
        rot = f", rotated {v.rotation}°" if v.rotation else ""
        tags = [t for t in (v.matrix, {"tv": "limited range", "pc": "full range"}.get(v.color_range or "")) if t]
        colour = f", colour {' '.join(tags)}" if tags else ""
        lines.append(
            f"  video      {v.codec}, {w}x{h}, pixel aspect {v.sar.numerator}:{v.sar.denominator}, "
            f"display aspect {float(v.display_aspect):.3f}, {fps}{rot}{colour}"
        )
    else:
        lines.append("  video      none")
    if info.audio:
        a = info.audio
        rate = f"{a.sample_rate} Hz" if a.sample_rate else "unknown rate"
        ch = {1: "mono", 2: "stereo"}.get(a.channels or 0, f"{a.channels} channels" if a.channels else "unknown layout")
        lines.append(f"  audio      {a.codec}, {rate}, {ch}")
    else:
        lines.append("  audio      none (castkit adds a silent track)")
    return "\n".join(lines)
