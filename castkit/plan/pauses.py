"""Dead air: find the pauses of a take and plan the encode of what is kept (``pauses:``).

A pause is where the sound stays below a threshold for at least ``min_length`` seconds and
(``screen: still``) the picture does not change meanwhile: a screencast's silent typing or a
scrolling build is something viewers need to see, so loudness alone must not cut it.

The analysis is one ffmpeg run whose stderr castkit reads (no picture or sound passes through
Python): the sound's RMS level in 20 ms windows (``astats`` printed by ``ametadata``) and the
picture's still stretches (``freezedetect`` on a small copy of the picture at 10 fps, so that a
variable-rate capture's holds, where no frame is stored, count as still). What is cached is
this raw measurement, not the pauses: changing the threshold, ``min_length``, ``margin`` or the
action plans again from the cached levels without decoding the take again.

The kept parts are frame-exact trims on the target's frame grid (the very frames a full decode
shows, counted from the capture's start as ``plan.encode.clip_job`` does), their sound cut on the same
samples with a 5 ms fade at each cut, so that no click is heard where two parts meet.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from castkit.base.files import write_atomically
from castkit.base.jobs import file_url, Job
from castkit.base.progress import say
from castkit.base.timecode import format_time
from castkit.cache.keys import file_identity, key
from castkit.errors import RecipeError, WorkError
from castkit.media.ffmpeg import (
    Ffmpeg, ffmpeg_module, run_reading, safe_input_args,
)
from castkit.media.seek import FrameIndex, plan_seek, Seek
from castkit.media.origins import offset_args, open_capture, PICTURE, SOUND
from castkit.media.probe import MediaInfo
from castkit.media.raster import AUDIO_RATE, Raster
from castkit.plan.activity import activity_chain, GRID_OUTPUT, keep_activity, known_activity
from castkit.plan.encode import (
    aligned_sound, camera_path, conform, denoised, Effects, ffmpeg_number, film, frame_window,
    MIN_HARD_COMP, picture_format, source_picture, Trim, trimmed_length, voice_sound,
)
from castkit.recipe.model import AUTO_ABOVE_FLOOR, AUTO_RANGE, DEFAULT_THRESHOLD, PauseSpec
from castkit.cache.names import record_name
from castkit.plan.speech import empty_after_cut, speech_cuts, voice_quiet

# 20 ms windows: short against any pause or margin, long enough for a stable RMS of speech.
WINDOW_SAMPLES = 960
# The fade at each cut: 5 ms, long enough that a cut inside a waveform does not click.
FADE_SAMPLES = 240
# freezedetect's tolerance: a mean absolute frame difference of 1e-5 (-100 dB). Its default
# (0.001) calls a screen where someone types "still": one character is about 1e-4 of the frame.
FREEZE_NOISE = "0.00001"
FREEZE_RATE = 10
FREEZE_WIDTH = 320
ANALYSIS_VERSION = 4  # raised when the measurement changes (its cache entries go stale)


@dataclass(frozen=True)
class Analysis:
    """The raw measurement of a take's trimmed part: sound levels (dBFS, one per window from
    the part's start; -inf for digital silence) and, where asked, the still stretches of its
    picture (seconds from the part's start)."""

    levels: tuple[float, ...]
    stills: tuple[tuple[Fraction, Fraction], ...] | None
    window: Fraction = Fraction(WINDOW_SAMPLES, AUDIO_RATE)


@dataclass(frozen=True)
class Part:
    """Source frames ``[first, end)`` on the target's frame grid, counted from the capture's
    start, played at ``rate`` (1: as recorded) into ``frames`` frames of the segment."""

    first: int
    end: int
    rate: Fraction
    frames: int
    pause: bool = False
    # A cut right before / after this part (plan.pauses.chunks): faded there even where the
    # part starts or ends a job of its own.
    cut_in: bool = False
    cut_out: bool = False


@dataclass(frozen=True)
class Kept:
    """What a paused clip keeps of its trimmed part, in order."""

    parts: tuple[Part, ...]
    source_frames: int  # the trimmed part's frames, before any pause went
    threshold: Fraction  # the one used (``auto`` resolved)

    @property
    def frames(self) -> int:
        return sum(p.frames for p in self.parts)

    @property
    def changed(self) -> bool:
        """Whether any pause was cut or sped up (else the clip is encoded as usual)."""
        return any(p.pause for p in self.parts) or sum(p.end - p.first for p in self.parts) != self.source_frames

    def listing(self, target: Raster) -> str:
        """Each kept part's source and cast times, for --dry-run."""
        lines, at = ["kept parts (source -> cast):"], 0
        for p in self.parts:
            what = f" (pause x{ffmpeg_number(p.rate)})" if p.pause else (f" (x{ffmpeg_number(p.rate)})" if p.rate != 1 else "")
            lines.append(f"  {format_time(target.seconds(p.first))}-{format_time(target.seconds(p.end))}"
                         f" -> {format_time(target.seconds(at))}-{format_time(target.seconds(at + p.frames))}{what}")
            at += p.frames
        return "\n".join(lines)


_LEVEL = re.compile(r"lavfi\.astats\.Overall\.RMS_level=(\S+)")
# The filters that print a sound's RMS level every WINDOW_SAMPLES (read back by ``levels_in``):
# the pauses of a take, and the narration the music ducks under (plan.music).
LEVEL_CHAIN = (f"asetnsamples=n={WINDOW_SAMPLES}:p=0,"
               "astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=RMS_level,"
               "ametadata=mode=print:key=lavfi.astats.Overall.RMS_level")


def levels_in(stderr: str) -> tuple[float, ...]:
    """The window levels (dBFS; -inf for digital silence) a LEVEL_CHAIN printed."""
    levels = []
    for m in _LEVEL.finditer(stderr):
        try:
            levels.append(float(m[1]))
        except ValueError:
            levels.append(-math.inf)
    return tuple(levels)
_FREEZE = re.compile(r"lavfi\.freezedetect\.freeze_(start|end): (\S+)")


def analysis_command(info: MediaInfo, trim: Trim, voice: MediaInfo | None, speed: Fraction,
                     screen: str, ffmpeg: Ffmpeg, voice_from: Fraction = Fraction(0),
                     picture_chain: str | None = None) -> list[str]:
    """The ffmpeg run that measures a trimmed part (its stderr is read by ``parse``).
    ``picture_chain``: another measurement of the capture's picture (``zoom: follow``'s,
    plan.activity), from the same decoded frames, written to stdout."""
    length = trimmed_length(info, trim)
    # The sound as the encode cuts it: aligned and resampled the same way (plan.encode._aligned), so
    # window n starts on the sample the encode's sample n * WINDOW_SAMPLES is.
    aligned = f"aresample={AUDIO_RATE}:async=1:first_pts=0:min_hard_comp={MIN_HARD_COMP}"
    if voice is not None:  # the replacement voice: its time is the segment's, from voice_from
        start = round(voice_from * AUDIO_RATE)
        end = start + round(length / speed * AUDIO_RATE)
    else:
        start, end = round(trim.start * AUDIO_RATE), round((trim.start + length) * AUDIO_RATE)
    # Padded with silence to the part's end, as the encode pads it: the silence after a voice
    # shorter than its clip is dead air like any other (and a pause).
    sound = (f"[{1 if voice is not None else 0}:a]{aligned},atrim=start_sample={start}:end_sample={end},"
             f"asetpts=PTS-STARTPTS,apad=whole_len={end - start},"
             f"{LEVEL_CHAIN}[a]")
    graph = [sound]
    still = "[0:v]"
    if screen == "still" and picture_chain is not None:
        graph.append("[0:v]split=2[still][other]")
        still, other = "[still]", "[other]"
    elif picture_chain is not None:
        other = "[0:v]"
    if screen == "still":
        graph.append(
            # The rate first: a hold across the trim's start then has its picture at the start
            # (trim alone would drop the stored frame the hold began with).
            f"{still}scale=w='min({FREEZE_WIDTH},iw)':h=-2:flags=bilinear,fps={FREEZE_RATE},"
            f"trim=start={ffmpeg_number(trim.start)}:end={ffmpeg_number(trim.start + length)},"
            f"freezedetect=n={FREEZE_NOISE}:d={1 / FREEZE_RATE}[v]")
    if picture_chain is not None:
        graph.append(f"{other}{picture_chain}[picture]")
    argv = [ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"]
    argv += _input(info, video=screen == "still" or picture_chain is not None, audio=voice is None)
    if voice is not None:
        argv += _input(voice, video=False, audio=True)
    maps = ["-map", "[a]"] + (["-map", "[v]"] if screen == "still" else [])
    argv += ["-filter_complex", ";".join(graph), *maps, "-f", "null", "-"]
    if picture_chain is not None:
        argv += ["-map", "[picture]", *GRID_OUTPUT]
    return argv


def _input(source: MediaInfo, video: bool, audio: bool) -> list[str]:
    opts = [*safe_input_args(), *offset_args(source, [kind for kind, read in ((PICTURE, video), (SOUND, audio)) if read])]
    # Without the decoder's loop (deblocking) filter: a still screen decodes to the same frame
    # again either way, and it is an eighth of the analysis (measured on a 10-minute 720p
    # Theora take: 11.6 s against 13.2 s, the same still stretches found).
    picture = ["-skip_loop_filter", "all"] if video else ["-vn"]
    return [*opts, *picture, *([] if audio else ["-an"]), "-i", file_url(source.path)]


def parse(stderr: str, length: Fraction, with_stills: bool, start: Fraction) -> Analysis:
    """The levels and still stretches in an analysis run's stderr (times from ``start``)."""
    levels = levels_in(stderr)
    stills: list[tuple[Fraction, Fraction]] | None = None
    if with_stills:
        stills, began = [], None
        for m in _FREEZE.finditer(stderr):
            at = Fraction(m[2]) - start
            if m[1] == "start":
                began = at
            elif began is not None:
                stills.append((max(Fraction(0), began), min(length, at)))
                began = None
        if began is not None:  # still to the end: freezedetect names no end then
            stills.append((max(Fraction(0), began), length))
    return Analysis(levels, tuple(stills) if stills is not None else None)


def analysis_path(info: MediaInfo, trim: Trim, voice: MediaInfo | None, speed: Fraction,
                  screen: str, ffmpeg: Ffmpeg, folder: Path, voice_from: Fraction = Fraction(0)) -> Path:
    """Where the cache keeps a measurement: named by the source (and voice), the trim and what
    is measured; not by threshold, min_length, margin or action, which only plan from it."""

    length = trimmed_length(info, trim)
    identity = [file_identity(info.path), file_identity(voice.path) if voice else None]
    digest = key("pauses", ANALYSIS_VERSION, identity, str(trim.start), str(length),
                 str(speed) if voice is not None else "1", screen, ffmpeg.version,
                 *([str(voice_from)] if voice is not None and voice_from else []))
    return folder / record_name("pauses", digest)


def analyse(info: MediaInfo, trim: Trim, voice: MediaInfo | None, speed: Fraction, screen: str,
            ffmpeg: Ffmpeg, folder: Path | None, status: str | None = None,
            voice_from: Fraction = Fraction(0), picture_chain: str | None = None,
            ) -> tuple[Analysis, bytes | None]:
    """Measure a trimmed part, or read the measurement from the cache ``folder`` (``status``:
    the line to print when it is measured, which takes a while). With ``picture_chain``
    (``analysis_command``), what it wrote where the part was measured now (else None)."""
    length = trimmed_length(info, trim)
    path = (analysis_path(info, trim, voice, speed, screen, ffmpeg, folder, voice_from)
            if folder is not None else None)
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            stills = data["stills"]
            return Analysis(tuple(float(v) for v in data["levels"]),
                            None if stills is None else tuple((Fraction(a), Fraction(b)) for a, b in stills)), None
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not cached, or unreadable: measured again
    argv = analysis_command(info, trim, voice, speed, screen, ffmpeg, voice_from, picture_chain)
    if status:
        say("status", status)
    done = run_reading(argv, info.path, "finding the pauses" + (" and the activity" if picture_chain else ""))
    text = done.stderr.decode("utf-8", "replace")
    result = parse(text, length, screen == "still", trim.start)
    if path is not None and folder.is_dir():
        data = {"levels": [v if math.isfinite(v) else -999.0 for v in result.levels],
                "stills": None if result.stills is None else [[str(a), str(b)] for a, b in result.stills]}
        try:
            write_atomically(path, lambda temp: temp.write_text(json.dumps(data), encoding="utf-8"))
        except WorkError:
            pass  # a read-only cache: measured again next time
    return result, done.stdout if picture_chain is not None else None


def auto_threshold(levels: tuple[float, ...]) -> Fraction:
    """``threshold: auto``: AUTO_ABOVE_FLOOR above the take's noise floor, within AUTO_RANGE."""
    ordered = sorted(levels)
    low, high = AUTO_RANGE
    if not ordered:
        return low
    floor = ordered[len(ordered) // 10]
    if not math.isfinite(floor) or floor < -200:
        return low
    return min(high, max(low, Fraction(round(floor, 1)).limit_denominator(10) + AUTO_ABOVE_FLOOR))


def silences(levels: tuple[float, ...], window: Fraction, threshold: Fraction,
             min_length: Fraction) -> list[tuple[Fraction, Fraction]]:
    """Stretches of windows below ``threshold`` lasting at least ``min_length``."""
    found, began = [], None
    for n, level in enumerate((*levels, math.inf)):
        quiet = level < threshold
        if quiet and began is None:
            began = n
        elif not quiet and began is not None:
            if (n - began) * window >= min_length:
                found.append((began * window, n * window))
            began = None
    return found


def pauses_in(analysis: Analysis, spec: PauseSpec, length: Fraction,
              speed: Fraction = Fraction(1),
              voiceless: list[tuple[Fraction, Fraction]] | None = None,
              ) -> tuple[list[tuple[Fraction, Fraction]], Fraction]:
    """The pauses (seconds from the trimmed part's start) and the threshold used. A voice-over's
    windows are in the segment's time, which ``speed`` maps onto the picture's. ``voiceless``
    (``detector: voice``): where the voice detector hears no one, used instead of the levels."""
    threshold = spec.threshold if spec.threshold is not None else auto_threshold(analysis.levels)
    quiet = [(a * speed, min(length, b * speed))
             for a, b in silences(analysis.levels, analysis.window, threshold, spec.min_length)]
    if voiceless is not None:
        quiet = [(a, b) for a, b in voiceless if b - a >= spec.min_length]
    found = []
    for a, b in quiet:
        for c, d in (analysis.stills if analysis.stills is not None else ((Fraction(0), length),)):
            lo, hi = max(a, c), min(b, d)
            if hi - lo >= spec.min_length:
                found.append((lo, hi))
    return sorted(found), threshold


def kept_parts(pauses: list[tuple[Fraction, Fraction]], spec: PauseSpec, trim: Trim,
               length: Fraction, target: Raster, speed: Fraction = Fraction(1),
               threshold: Fraction = DEFAULT_THRESHOLD) -> Kept:
    """The parts of a trimmed clip that are kept, on the target's frame grid: each pause loses
    what lies more than ``margin`` from speech (rounded inwards to whole frames), cut or played
    ``spec.speed`` times faster than the clip's ``speed``."""
    first, end = target.frames(trim.start), target.frames(trim.start + length)
    fps = target.fps
    cuts = []
    for a, b in pauses:
        lo = max(first, math.ceil((trim.start + a + spec.margin) * fps))
        hi = min(end, math.floor((trim.start + b - spec.margin) * fps))
        if hi > lo and (not cuts or lo >= cuts[-1][1]):
            cuts.append((lo, hi))
    parts: list[Part] = []

    def add(a: int, b: int, pause: bool) -> None:
        rate = speed * spec.speed if pause and spec.speed is not None else speed
        if b <= a or (pause and spec.speed is None):
            return
        frames = round(Fraction(b - a) / rate)
        if frames > 0:
            parts.append(Part(a, b, rate, frames, pause))

    at = first
    for lo, hi in cuts:
        add(at, lo, False)
        add(lo, hi, True)
        at = hi
    add(at, end, False)
    return Kept(tuple(parts), end - first, threshold)


def without(kept: Kept, cuts: list[tuple[int, int]]) -> Kept:
    """``kept`` less the capture's frames ``[lo, hi)`` of each cut (a transcript's): each part
    split around them, its frames at its rate counted again."""
    parts: list[Part] = []
    for p in kept.parts:
        pieces = [(p.first, p.end)]
        for lo, hi in cuts:
            pieces = [piece for a, b in pieces
                      for piece in ((a, min(b, lo)), (max(a, hi), b)) if piece[1] > piece[0]]
        for a, b in pieces:
            frames = round(Fraction(b - a) / p.rate) if (a, b) != (p.first, p.end) else p.frames
            if frames > 0:
                parts.append(Part(a, b, p.rate, frames, p.pause))
    return Kept(tuple(parts), kept.source_frames, kept.threshold)


def chunks(kept: Kept, size: int) -> list[Kept]:
    """``kept`` in chunks of the capture's frames ``[k * size, (k + 1) * size)``, each encoded
    and cached on its own (a transcript edited in one place changes one chunk's parts, and
    only that chunk is encoded again). Fixed in the capture's time, so a cut earlier in the
    take moves no boundary. A part split by a boundary is cut there without a fade (its sound
    runs on sample for sample); a part next to a real cut keeps its fade (cut_in, cut_out)."""
    found: list[list[Part]] = []
    parts = kept.parts
    for n, p in enumerate(parts):
        cut_in = n > 0 and parts[n - 1].end != p.first or n > 0 and parts[n - 1].rate != p.rate
        cut_out = n < len(parts) - 1 and (parts[n + 1].first != p.end or parts[n + 1].rate != p.rate)
        at = p.first
        while at < p.end:
            stop = min(p.end, (at // size + 1) * size)
            # Counted from the part's start, so that the pieces add up to the part's frames.
            done = round(Fraction(at - p.first) / p.rate)
            frames = (p.frames if stop == p.end else round(Fraction(stop - p.first) / p.rate)) - done
            piece = Part(at, stop, p.rate, frames, p.pause, cut_in and at == p.first, cut_out and stop == p.end)
            key = at // size
            if frames > 0:
                if found and found[-1][0].first // size == key:
                    found[-1].append(piece)
                else:
                    found.append([piece])
            at = stop
    return [Kept(tuple(group), sum(q.end - q.first for q in group), kept.threshold) for group in found]


def edges_at_least(found: list[Kept], head: int, tail: int) -> list[Kept]:
    """``found`` (a clip's chunks) with the first at least ``head`` frames long and the last at
    least ``tail`` (a transition's overlap is cut from them), a short one joined to its
    neighbour: the same parts, in one encode."""
    found = list(found)

    def joined(a: Kept, b: Kept) -> Kept:
        return Kept(a.parts + b.parts, a.source_frames + b.source_frames, a.threshold)

    while len(found) > 1 and found[0].frames < head:
        found[:2] = [joined(found[0], found[1])]
    while len(found) > 1 and found[-1].frames < tail:
        found[-2:] = [joined(found[-2], found[-1])]
    return found


def part_samples(part: Part, target: Raster, origin: int, rate_of_sound: Fraction) -> tuple[int, int]:
    """The 48 kHz samples ``[a, b)`` of a part's sound: the capture's (``origin`` 0, counted
    from its start, as the picture's frames are) or a voice-over's (its time is the segment's:
    ``origin`` is the trim's first frame, and the clip's speed ``rate_of_sound`` divides)."""
    a = round(Fraction(part.first - origin) / target.fps / rate_of_sound * AUDIO_RATE)
    b = round(Fraction(part.end - origin) / target.fps / rate_of_sound * AUDIO_RATE)
    return a, b


def tempo_chain(audio: Any, rate: Fraction) -> Any:
    """Play ``rate`` times faster, pitch kept: atempo in steps of at most 2 (one atempo of a
    large factor drops whole stretches of sound and smears words; chained it stays clean)."""
    remaining = Fraction(rate)
    while remaining > 2:
        audio = audio.filter("atempo", "2")
        remaining /= 2
    while remaining < Fraction(1, 2):
        audio = audio.filter("atempo", "0.5")
        remaining *= 2
    if remaining != 1:
        audio = audio.filter("atempo", ffmpeg_number(remaining))
    return audio


def paused_job(info: MediaInfo, kept: Kept, profile: Any, output: Path, ffmpeg: Ffmpeg,
               trim: Trim, effects: Effects = Effects(), final: bool = False,
               label: str | None = None, lead: int = 0, index: FrameIndex | None = None) -> Job:
    """Encode a clip's kept parts, joined, for ``profile`` (as ``plan.encode.clip_job`` encodes a
    whole trimmed clip: shape kept, sound conformed, fades on the joined segment).

    Every part counts its frames from the capture's start, which is exact on variable-rate
    captures (see ``plan.encode.clip_job``). With the capture's keyframe ``index`` (a chunk of a
    transcript-cut clip, deep in the take) the picture's input is seeked as clip_job seeks it,
    its timestamps kept; else it is decoded from the start. The sound is never seeked."""
    assert info.video is not None
    ff = ffmpeg_module()
    target = profile.raster
    parts = kept.parts
    seek = (plan_seek(info.format_name, info.video.codec, index, Fraction(parts[0].first - 1) / target.fps)
            if index is not None else Seek())
    source, video, shape = source_picture(info, effects, seek,
                                          rate=target.fps / min(part.rate for part in parts), matrix=target.yuv_matrix)
    camera = camera_path(effects, shape, target)
    pictures = video.split() if len(parts) > 1 else None
    branches = []
    for n, part in enumerate(parts):
        v = pictures[n] if pictures is not None else video
        if part.rate != 1:
            # A microsecond time base first, as clip_job does: setpts truncates to whole ticks.
            v = v.filter("settb", "AVTB").filter("setpts", f"PTS/{ffmpeg_number(part.rate)}")
        begin = round(Fraction(part.first) / part.rate)
        # The last picture held, so a part that ends in the capture's final hold is complete.
        window = (lambda v, begin=begin, part=part: frame_window(v, target, begin, part.frames, hold=True))
        if camera is not None:  # each part's frames at their own moments of the capture
            v = film(v, camera, begin, part.frames, part.rate, target, picture_format(info, effects), window,
                     info.video.fps)
        else:
            v = window(v)
        branches.append(v)
    joined = ff.concat(*branches, v=1, a=0) if len(branches) > 1 else branches[0]

    # Sound: each part on the samples of its frames, faded in and out at each cut, played at
    # the part's rate and made exactly as long as its frames.
    audio = None
    if not effects.mute and (effects.voice is not None or info.audio is not None):
        if effects.voice is not None:
            sound = voice_sound(ff, effects)
            origin, sound_speed = target.frames(trim.start), effects.speed
        else:
            # Never seeked (see media.seek): a seeked input's sound differs in its last bits.
            heard = source if not seek.at else open_capture(info)
            sound, origin, sound_speed = aligned_sound(heard.audio), 0, Fraction(1)
            if effects.denoise is not None:
                sound = denoised(ff, sound, info, effects.denoise)
        sounds = sound.asplit() if len(parts) > 1 else None
        pieces, at = [], 0
        for n, part in enumerate(parts):
            s = sounds[n] if sounds is not None else sound
            a, b = part_samples(part, target, origin, sound_speed)
            s = s.filter("atrim", start_sample=a, end_sample=b).filter("asetpts", "PTS-STARTPTS")
            fade = min(FADE_SAMPLES, (b - a) // 2)
            if fade and (n > 0 or part.cut_in):
                s = s.filter("afade", type="in", start_sample=0, nb_samples=fade)
            if fade and (n < len(parts) - 1 or part.cut_out):
                s = s.filter("afade", type="out", start_sample=b - a - fade, nb_samples=fade)
            s = tempo_chain(s, part.rate / sound_speed)
            want = target.audio_samples(at + part.frames) - target.audio_samples(at)
            s = s.filter("aformat", sample_fmts="s16", sample_rates=AUDIO_RATE, channel_layouts="stereo")
            s = s.filter("apad", whole_len=want).filter("atrim", end_sample=want)
            pieces.append(s.filter("asetpts", "N/SR/TB"))
            at += part.frames
        audio = ff.concat(*pieces, v=0, a=1) if len(pieces) > 1 else pieces[0]
    inputs = (info.path,) + ((effects.voice.path,) if effects.voice is not None and not effects.mute else ())
    job = conform(ff, joined, audio, shape, kept.frames, profile, output, ffmpeg, final,
                   label or f"convert {info.path.name}", inputs, effects,
                   target.audio_samples(kept.frames), camera is not None, lead)
    notes = ([kept.listing(target)] + ([camera.listing()] if camera is not None else [])
             + ([seek.note] if seek.note else []))
    return replace(job, note="\n".join(notes))


@dataclass
class PauseMemo:
    """One build's pause work (``Checked.pauses``): each paused clip's analysis (read or made
    once), its kept parts for each frame rate, and the cache files the analyses are in."""

    analyses: dict[Any, Any] = field(default_factory=dict)
    kept: dict[tuple[Any, Fraction], "Kept | None"] = field(default_factory=dict)
    files: set[Path] = field(default_factory=set)
    said: set[Any] = field(default_factory=set)  # the clips whose pauses were told once


def _check_kept(seg: Any, kept: Kept, target: Raster) -> None:
    """What the pauses leave is known only now, at plan time (the sound had to be measured):
    a clip cut to nothing, or too short for its fades, is a mistake in the recipe, said at
    its line before anything is encoded (ffmpeg failed on it mid-build, or castkit did)."""
    where = seg.pauses_where or seg.where
    if kept.frames < 1:
        raise RecipeError([where.problem(
            "pauses: the whole clip is a pause (its sound is below the threshold throughout); "
            "nothing would be left: lower the threshold, or remove 'pauses:'")])
    fades, shown = seg.fades, target.seconds(kept.frames)
    if fades.where is not None and fades.fade_in + fades.fade_out > shown:
        raise RecipeError([fades.where.problem(
            f"fades ({format_time(fades.fade_in + fades.fade_out)}) are longer than what the "
            f"pauses leave of the clip ({format_time(shown)})")])


def analysis_of(seg: Any, index: int, checked: Any, ffmpeg: Ffmpeg, folder: Path | None,
                quiet: bool = False) -> Analysis:
    """The measurement of a clip with ``pauses:``, made or read once per build and cached in
    ``folder``. Where the clip follows the activity (``zoom: follow``) and that is not measured
    yet either, the same run measures it from the same decoded picture (plan.activity)."""
    memo = checked.pauses
    if seg in memo.analyses:
        return memo.analyses[seg]
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    voice = checked.voices.get(seg.audio) if seg.audio is not None and not seg.mute else None
    length = trimmed_length(info, trim)
    also = (seg.follow is not None and info.video is not None
            and known_activity(seg, checked, ffmpeg, folder) is None)
    what = f"the pauses of {(voice.path if voice else seg.clip).name}"
    if also:
        what = (f"the pauses of {voice.path.name} and the activity of {seg.clip.name}" if voice
                else f"the pauses and the activity of {seg.clip.name}")
    status = None if quiet else f"segment {index}: finding {what} ({format_time(length)})"
    analysis, picture = analyse(info, trim, voice, seg.speed, seg.pauses.screen, ffmpeg, folder, status,
                                seg.audio_from, activity_chain(info, trim) if also else None)
    if picture is not None:
        keep_activity(seg, picture, checked, ffmpeg, folder)
    memo.analyses[seg] = analysis
    if folder is not None:
        memo.files.add(analysis_path(info, trim, voice, seg.speed, seg.pauses.screen, ffmpeg, folder,
                                     seg.audio_from))
    return analysis


def kept_of(seg: Any, index: int, checked: Any, target: Raster, ffmpeg: Ffmpeg,
            folder: Path | None, quiet: bool = False) -> Kept | None:
    """What a clip with ``pauses:`` keeps in ``target``'s frames (None: no pauses key, or no
    pause found), analysed once per build (``checked.pauses``) and cached in ``folder``."""
    spec = getattr(seg, "pauses", None)
    memo = checked.pauses
    if (seg, target.fps) in memo.kept:
        return memo.kept[seg, target.fps]
    # A transcript's or the fillers' cuts (plan.speech), applied before the pauses are.
    speech = speech_cuts(seg, index, checked, target.fps, ffmpeg, folder, quiet)
    if spec is None and speech is None:
        return None
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    voice = checked.voices.get(seg.audio) if seg.audio is not None and not seg.mute else None
    length = trimmed_length(info, trim)
    if spec is None:
        kept = without(kept_parts([], PauseSpec(), trim, length, target, seg.speed), speech or [])
        if kept.frames < 1:
            raise empty_after_cut(seg)
        _check_kept(seg, kept, target)
        # Kept even where nothing is cut yet: a transcript-cut clip is encoded in chunks from
        # its first build on, so that the first deletion encodes one chunk, not the whole take.
        memo.kept[seg, target.fps] = kept
        return kept

    fresh = seg not in memo.said
    memo.said.add(seg)
    analysis = analysis_of(seg, index, checked, ffmpeg, folder, quiet)
    found, threshold = pauses_in(analysis, spec, length, seg.speed if voice is not None else Fraction(1),
                                 voice_quiet(seg, index, checked, ffmpeg, folder, length, quiet)
                                 if spec.detector == "voice" else None)
    kept = without(kept_parts(found, spec, trim, length, target, seg.speed, threshold), speech or [])
    if fresh and not quiet:
        before = target.seconds(target.frames(length / seg.speed))
        after = target.seconds(kept.frames)
        verb = "cut" if spec.speed is None else f"played x{ffmpeg_number(spec.speed)} saved"
        saved = max(Fraction(0), before - after)  # each kept part rounds to whole frames: never "-0.0 s"
        say("status", f"segment {index}: pauses {verb} {float(saved):.1f} s of {float(before):.1f} s")
    _check_kept(seg, kept, target)
    result = kept if kept.changed else None
    memo.kept[seg, target.fps] = result
    return result
