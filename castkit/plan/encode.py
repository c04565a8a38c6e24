"""Plans: pure functions from what castkit knows (probes, targets, trims) to ffmpeg jobs.

Nothing here touches the disk or runs a process. A job is a complete ffmpeg invocation that
writes one output; ``--dry-run`` prints jobs and most unit tests assert on their argv.

Every encode goes through ``conform``: one place turns any picture stream into the exact
frame count, size, pixel shape and pixel format of a profile's ``Raster``, and any (or no) sound into
48 kHz stereo PCM of exactly the same length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Sequence

from castkit.base.jobs import concat_list, file_url, Job
from castkit.base.progress import counted
from castkit.media.dv import dv_samples
from castkit.media.ffmpeg import compile_argv, Ffmpeg, ffmpeg_module, safe_input_options
from castkit.media.origins import open_capture
from castkit.media.pictures import COMPARABLE, distinct, Pictures
from castkit.media.probe import MediaInfo
from castkit.media.raster import AUDIO_RATE, eight_bits, matrix_conversion, Raster
from castkit.media.seek import FrameIndex, plan_seek, plan_sound_seek, Seek
from castkit.plan.camera import CameraPath, Frame, plan_path, Region
from castkit.plan.overlays import (
    Drawn, framed, FramePlan, listing as overlay_listing, shown_overlays, WebcamPlan, with_overlays, with_webcam,
)
from castkit.plan.profile import Profile
from castkit.plan.slices import chunk_sound, slice_picture, slice_sound, window_of
from castkit.recipe.model import Crop, Move


@dataclass(frozen=True)
class Trim:
    """The part of a source to use: ``start`` seconds in, for ``length`` seconds."""

    start: Fraction = Fraction(0)
    length: Fraction | None = None  # None: to the end of the source


@dataclass(frozen=True)
class Denoise:
    """A noise reduction (``denoise:``): ``strength`` dB, its noise learnt from the sound's
    samples ``[first, end)`` (its own time, 48 kHz: the quietest stretch, ``plan.denoise``) whose
    level is ``floor`` dBFS."""

    strength: Fraction
    first: int
    end: int
    floor: float


# Where afftdn's noise floor is set, above the quietest stretch's level (its mean 20 ms RMS):
# measured on the tests' take (pink noise and hum at -44 and -56 dBFS under espeak-ng), +0 dB
# took the pauses 12 dB down, +6 dB 19-20 dB, +8 dB 21 dB, the speech unchanged throughout.
DENOISE_FLOOR_ABOVE = 6.0
HIGH_PASS_HZ = 80  # below a voice's fundamental; a fan's and the mains' hum (50/60 Hz) go


# afftdn's output lags its input by half its window: 1200 samples at 48 kHz (25 ms; measured
# with an impulse, ffmpeg 5.1 and 9.0), the output as long as the input.
AFFTDN_DELAY = 1200


def denoised(ff: Any, audio: Any, source: MediaInfo, denoise: Denoise) -> Any:
    """``audio`` (a file's aligned sound, from its sample 0) with its noise reduced: afftdn
    learns the noise from the quietest stretch, played to it first (a second reading of the
    file, so every sample of the take is cleaned with the same profile, the first ones too),
    which is then cut off again with afftdn's delay, sample-exact; and a gentle (12 dB/octave)
    high-pass."""
    assert AUDIO_RATE == 48000, "AFFTDN_DELAY is afftdn's at 48 kHz"
    noise = aligned_sound(open_capture(source, vn=None).audio)
    noise = noise.filter("atrim", start_sample=denoise.first, end_sample=denoise.end)
    noise = noise.filter("asetpts", "PTS-STARTPTS")
    learnt = denoise.end - denoise.first
    stop = ffmpeg_number(Fraction(learnt, AUDIO_RATE))
    floor = max(-80.0, min(-20.0, denoise.floor + DENOISE_FLOOR_ABOVE))
    # Padded by afftdn's delay at the end, so that the take's last samples come out of it too.
    sound = ff.concat(noise, audio, v=0, a=1).filter("apad", pad_len=AFFTDN_DELAY)
    sound = sound.filter("asendcmd", c=f"0 afftdn sn start;{stop} afftdn sn stop")
    sound = sound.filter("afftdn", nr=ffmpeg_number(denoise.strength), nf=f"{floor:.1f}")
    sound = sound.filter("atrim", start_sample=learnt + AFFTDN_DELAY).filter("asetpts", "PTS-STARTPTS")
    return sound.filter("highpass", f=HIGH_PASS_HZ, p=2)


@dataclass(frozen=True)
class Effects:
    """What an author does to a segment beyond trimming it.

    ``voice`` replaces the capture's sound with another file's; ``mute`` silences it.
    ``speed`` plays the trimmed part N times faster (pitch kept); fades are in seconds, inside
    the segment's own length.
    """

    crop: Crop | None = None
    speed: Fraction = Fraction(1)
    voice: MediaInfo | None = None
    mute: bool = False
    fade_in: Fraction = Fraction(0)
    fade_out: Fraction = Fraction(0)
    voice_from: Fraction = Fraction(0)  # seconds into the voice where the segment's sound starts
    # Camera moves (``zoom:``), their regions in the capture's pixels (inside ``crop``).
    zoom: tuple[Move, ...] = ()
    # Overlays and redactions on the capture's picture, before all the above (plan.overlays).
    overlays: tuple[Drawn, ...] = ()
    frame: FramePlan | None = None  # the output's styled frame round the picture (plan.overlays)
    webcam: WebcamPlan | None = None  # a camera in a corner of the output frame (plan.overlays)
    gain: Fraction = Fraction(0)  # dB on the sound (``gain:``), before the cast's loudness step
    denoise: Denoise | None = None  # a noise reduction of the sound (``denoise:``)


def voice_sound(ff: Any, effects: Effects) -> Any:
    """The voice-over as the segment's sound: aligned as a capture's sound is, from
    ``effects.voice_from`` (its sample 0 is the segment's first)."""
    assert effects.voice is not None
    sound = aligned_sound(open_capture(effects.voice).audio)
    if effects.denoise is not None:
        sound = denoised(ff, sound, effects.voice, effects.denoise)
    skip = round(effects.voice_from * AUDIO_RATE)
    if skip:
        sound = sound.filter("atrim", start_sample=skip).filter("asetpts", "PTS-STARTPTS")
    return sound


def trimmed_length(info: MediaInfo, trim: Trim) -> Fraction:
    """Seconds of the source a trim uses (to the source's end if it names no length)."""
    length = trim.length if trim.length is not None else info.duration - trim.start
    return max(Fraction(0), length)


def clip_first_frame(trim: Trim, target: Raster, speed: Fraction = Fraction(1)) -> int:
    """The frame of the (sped-up) capture, at the target's rate, that a trim starts at."""
    return target.frames(trim.start / speed)


def clip_frames(info: MediaInfo, trim: Trim, target: Raster, speed: Fraction = Fraction(1)) -> int:
    """Frames a trimmed source lasts in ``target``: round(length / speed x fps)."""
    return target.frames(trimmed_length(info, trim) / speed)


def clip_job(
    info: MediaInfo,
    profile: Profile,
    output: Path,
    ffmpeg: Ffmpeg,
    trim: Trim = Trim(),
    effects: Effects = Effects(),
    final: bool = False,
    label: str | None = None,
    index: FrameIndex | None = None,
    window: tuple[int, int] | None = None,
    lead: int = 0,
    chunk: bool = False,
) -> Job:
    """Convert (a trimmed part of) a capture for ``profile``, shape kept, audio conformed:
    a segment for the cache, or (``final``) the deliverable itself.

    ``index``: the capture's keyframes (``media.seek.read_index``), which let a deep trim seek the
    input instead of decoding everything before the cut; without it, or where seeking is not
    trusted, the job decodes from the start and its ``note`` says why. ``window``: only frames
    [a, b) of the segment (a slice, see ``plan.slices``), equal to those frames of the whole.
    ``lead``: frames written before the segment's own, for the cast's join to skip (see
    ``conform``); not with a window. ``chunk``: the window is a chunk (``plan.chunks``), its
    sound counted from the capture's start, so that its argv does not depend on the trim.
    """
    if lead and window is not None:
        raise ValueError("a slice takes no lead frames")
    if chunk and window is None:
        raise ValueError("a chunk is a window of its segment")
    assert info.video is not None
    ff = ffmpeg_module()
    target = profile.raster
    speed = effects.speed
    frames = clip_frames(info, trim, target, speed)
    if frames <= 0:
        raise ValueError(f"{info.path}: the trimmed part is shorter than one frame")
    # The trim is cut in the filter graph, counting frames from the capture's start: ffmpeg's
    # Ogg seeking lands on the wrong frame in variable-rate captures (past the last stored
    # frame it returns the first), while counting frames from the start is exact and gives
    # the very frames a full conversion shows. A seek (see media.seek) only skips decoding what is
    # before a keyframe at or before the cut, and keeps the capture's own timestamps.
    skip = clip_first_frame(trim, target, speed)
    w = None
    if window is not None:
        w = window_of(target, frames, window, target.frames(effects.fade_in), target.frames(effects.fade_out),
                      whole_samples=not chunk)
    first = w.first if w is not None else 0
    # Any keyframe up to frame skip + first - 1 of the target's rate is at or before the
    # stored picture shown at skip + first.
    seek = plan_seek(info.format_name, info.video.codec, index, (skip + first - 1) * speed / target.fps)
    # One decoding thread: libavcodec's frame-threaded Theora (vp3) decoder sometimes hands
    # out a frame with garbage chroma (measured after seeks: 5 runs in 40 differed), and
    # castkit's cache and rebuilds rely on the same job always giving the same bytes.
    source, video, shape = source_picture(info, effects, seek, rate=target.fps / speed, matrix=target.yuv_matrix)
    made = (w.b if w is not None else frames) - first
    camera = camera_path(effects, shape, target)
    # A camera renders each frame of the target's rate at its own moment, so its pictures
    # are scaled after the rate conversion.
    scaled = camera is None and (w is not None or _scale_before_rate(info, trim, frames, seek.filtered_from))
    if scaled:
        video = conform_picture(video, shape, target)
    if speed != 1:
        # A microsecond time base first: setpts truncates to whole ticks, and a capture's own
        # (often 1/15 s) would move sped-up frames by up to a tick.
        video = video.filter("settb", "AVTB").filter("setpts", f"PTS/{ffmpeg_number(speed)}")
    if camera is not None:
        video, scaled = film(video, camera, skip + first, made, speed, target, picture_format(info, effects),
                             lambda v: frame_window(v, target, skip + first, made, hold=w is not None),
                             info.video.fps), True
    else:
        video = frame_window(video, target, skip + first, made, hold=w is not None)
    if any(d.scaled for d in effects.overlays):  # overlays drawn for this output, on its picture
        if not scaled:
            video, scaled = conform_picture(video, shape, target), True
        video = shown_overlays(video, effects.overlays, camera, effects.crop, shape, skip + first, made, speed, target)
    if effects.webcam is not None:
        if not scaled:
            video, scaled = conform_picture(video, shape, target), True
        video = with_webcam(video, effects.webcam, skip + first, made, speed, target, frame_window)

    # Sound is cut at the same frame boundaries, counted in samples from the same origin as
    # the picture's frames (the capture's start, or the segment's for a voice-over).
    origin = 0
    sound_note = None
    sound_from = 0  # the sample the sound's stream starts at, counted from its sample 0
    if effects.mute:
        audio = None
    elif effects.voice is not None:
        audio = voice_sound(ff, effects)
    elif info.audio is not None:
        # Seeked only where that is verified sample-exact, and not when sped up (atempo's
        # output depends on everything before it) or denoised (the noise reduction runs from
        # the take's start); else decoded from the start (media.seek).
        heard = seek_sound(info, target.audio_samples(skip + (w.a if w is not None else 0)),
                           seek.at, index) if speed == 1 and effects.denoise is None else Seek()
        sound_note = heard.note
        if heard.at and heard.at == seek.at:
            sound = source  # the same seeked input, its timestamps shifted back below
        elif heard.at:
            sound = open_capture(info, ss=heard.at, noaccurate_seek=None)
        else:
            sound = source if not seek.at else open_capture(info)
        audio = seeked_sound(sound.audio, heard.at) if heard.at else aligned_sound(sound.audio)
        sound_from = seeked_from(heard.at)
        if effects.denoise is not None:
            audio = denoised(ff, audio, info, effects.denoise)
        if speed != 1:
            audio = _tempo(audio, speed)
        origin = skip
    elif effects.webcam is not None and effects.webcam.source.audio is not None:
        # A capture without sound: the camera's is the narration, on the capture's clock.
        audio = aligned_sound(open_capture(effects.webcam.source).audio)
        shift = round(effects.webcam.offset * AUDIO_RATE)
        if shift > 0:
            audio = audio.filter("atrim", start_sample=shift).filter("asetpts", "PTS-STARTPTS")
        elif shift < 0:
            audio = audio.filter("adelay", delays=f"{-shift}S", all=1)
        if speed != 1:
            audio = _tempo(audio, speed)
        origin = skip
    else:
        audio = None
    if chunk:
        assert w is not None
        # The chunk's pictures and sound, faded as in the whole segment, its sound counted
        # from the capture's start (plan.chunks); conform only holds and cuts them to length.
        video = slice_picture(video, w)
        if audio is None:  # silence: only its length, counted from the capture's start
            audio = ff.input(f"anullsrc=r={AUDIO_RATE}:cl=stereo", f="lavfi").audio
            samples = target.audio_samples(skip + w.b) - target.audio_samples(skip + w.a)
        else:
            audio, samples = chunk_sound(audio, w, target, origin, frames, sound_from)
        frames = w.b - w.a
        effects = replace(effects, fade_in=Fraction(0), fade_out=Fraction(0))
    else:
        begin = target.audio_samples(origin)
        late = 0  # where the sound's stream starts, in samples after the segment's first
        if audio is not None and sound_from > begin:  # a slice's sound, seeked past the segment's start
            late = sound_from - begin
            audio = audio.filter("asetpts", f"PTS-{begin}")
        elif audio is not None and begin:
            audio = audio.filter("atrim", start_sample=begin - sound_from).filter("asetpts", "PTS-STARTPTS")
        samples = target.audio_samples(origin + frames) - begin
        if w is not None:
            # The slice's pictures and sound, faded as in the whole segment; conform only holds
            # and cuts them to length.
            video = slice_picture(video, w)
            if audio is None:
                audio = ff.input(f"anullsrc=r={AUDIO_RATE}:cl=stereo", f="lavfi").audio
            audio, samples = slice_sound(audio, w, target, samples, late)
            frames = w.b - w.a
            effects = replace(effects, fade_in=Fraction(0), fade_out=Fraction(0))
    inputs = (info.path,) + ((effects.voice.path,) if effects.voice is not None and not effects.mute else ()) \
        + ((effects.webcam.source.path,) if effects.webcam is not None else ())
    job = conform(
        ff, video, audio, shape, frames, profile, output, ffmpeg, final,
        label or f"convert {info.path.name}", inputs, effects, samples, scaled, lead,
    )
    cam = effects.webcam
    notes = [n for n in (seek.note, sound_note, camera.listing() if camera is not None else None,
                         overlay_listing(effects.overlays),
                         cam.listing() if cam is not None else None) if n]
    return replace(job, note="\n".join(notes)) if notes else job


def seek_sound(info: MediaInfo, first_sample: int, picture_at: int, index: FrameIndex | None) -> Seek:
    """Where to seek a capture's sound whose first sample needed is ``first_sample`` (48 kHz,
    from the capture's start), ``index`` saying where its timestamps jump: see
    ``media.seek.plan_sound_seek``."""
    assert info.audio is not None
    return plan_sound_seek(info.format_name, info.audio.codec, Fraction(first_sample, AUDIO_RATE), picture_at,
                           index)


def camera_path(effects: Effects, shape: tuple[int, int, Fraction], target: Raster) -> CameraPath | None:
    """The camera of a clip with ``zoom:`` moves, or of any clip in a frame of an aspect of its
    own (``WebRaster.reframe``), on its (cropped) picture of ``shape``, its views of the target
    frame's display aspect; None for a clip fitted into the frame as it is."""
    if not effects.zoom and not getattr(target, "reframe", False):
        return None
    aspect = Fraction(target.width) * target.sar / target.height
    origin = (effects.crop.x, effects.crop.y) if effects.crop is not None else (0, 0)
    return plan_path(Frame(shape[0], shape[1], aspect, shape[2], origin), effects.zoom)


# Frames of a move filmed from one box of the picture (see ``film``), counted from the capture's
# first frame so that a slice and the whole segment cut a move alike (and film it alike): the
# box holds the views of those frames only, scaled for the closest of them, so the frames of
# a zoom far from its closest view read a small picture. Measured (benchmarks/bench_camera.py,
# a 30 s 1080p typing take to PAL DV with 6.6 s of moves; the clip alone: 1.8 s of CPU): one
# box a move, 7.8 s of CPU; pieces of 10 frames 5.9 s; of 5 frames 5.6-5.7 s.
MOVE_PIECE = 5

# The camera's scales slice their pictures over every core (swscale's own threads; 0: as many
# as cores), as ``perspective`` does with ffmpeg's filter threads: in ffmpeg 5.1 the filters
# run on the thread that decodes, and a camera's held views are scaled at the target's rate,
# after the rate conversion. The pictures are the same bytes whatever the count (checked with
# both ffmpegs); a 1080p upscale measured 3.1 ms of wall time a frame on one thread, 1.0 on two.
CAMERA_SCALING = {"threads": 0}


def film(video: Any, camera: CameraPath, first: int, count: int, rate: Fraction, target: Raster,
         pix_fmt: str | None = None, window: Callable[[Any], Any] | None = None,
         capture_rate: Fraction | None = None) -> Any:
    """The camera's view of each of ``count`` frames of a stream at the target's rate whose
    frame 0 is frame ``first`` of the (sped-up by ``rate``) capture, conformed to ``target``.

    The view is a function of the frame's capture time, (first + j) x rate / fps, so a slice
    or a kept part of a paused clip shows, frame for frame, what the whole clip shows. Where it
    holds still (on whole pixels) it is cropped and scaled as a ``crop:`` is; where it moves,
    ``perspective`` stretches it over the picture with sub-pixel precision (it counts its
    input frames from 1). The costly filter runs only while the camera moves, on pieces of at
    most ``MOVE_PIECE`` frames, each given only the part of the picture its views cross, no
    larger than the target shows a view (its cost is its picture's size: measured 25-40 ms a
    1080p frame, single-threaded). Where the target shrinks the views, the part is scaled once,
    into the target's colours, to the size the target shows a view at: against scaling it for
    its closest view and the result again, 20% less filter CPU on the typing take of
    benchmarks/bench_camera.py to PAL DV, the moving frames within 40-66 dB PSNR of before.

    ``pix_fmt``: the picture's pixel format (``picture_format``); where it is one that
    ``media.pictures.distinct`` compares, a held view scales each distinct picture once.
    ``window``: ``video`` is then the picture before the rate conversion, and ``window`` makes
    the stream above from it (``frame_window``); a held view of a capture slower than the
    target (``capture_rate`` x ``rate`` frames a second) then scales the capture's own pictures
    (``_held_before_rate``)."""
    ff = ffmpeg_module()
    frame = camera.frame
    per_frame = Fraction(rate) / Fraction(target.fps)

    def moment(k: int) -> Fraction:  # capture time of frame k of the stream
        return (first + k) * per_frame

    runs: list[tuple[int, int, Region | None]] = []
    for a, b, view in camera.pieces(first, count, per_frame):
        # A move in pieces that start at multiples of MOVE_PIECE frames of the capture.
        step = b - a if view is not None else MOVE_PIECE
        k = a
        while k < b:
            end = min(b, (first + k) // step * step + step - first) if view is None else b
            runs.append((k, end, view))
            k = end
    before_rate = (window is not None and pix_fmt in COMPARABLE and capture_rate is not None
                   and capture_rate * rate < target.fps)
    early = [n for n, (a, b, view) in enumerate(runs) if before_rate and view is not None and b - a > 1]
    if window is not None:
        captured = video.split() if early else None
        video = window(captured[0] if captured is not None else video)
    branches = video.split() if len(runs) > 1 else None
    pieces = []
    for n, (a, b, view) in enumerate(runs):
        v = branches[n] if branches is not None else video
        if n in early:
            assert view is not None and captured is not None
            pieces.append(_held_before_rate(v, captured[1 + early.index(n)], view, a, b, first, frame, target))
            continue
        if branches is not None:
            v = v.filter("trim", start_frame=a, end_frame=b).filter("setpts", "PTS-STARTPTS")
        if view is None:
            # The box of the whole piece (its frames inside the move), whatever part of it
            # this stream has: the same pixels in a slice as in the whole segment.
            step = camera.step_at(moment(a))
            start = (first + a) // MOVE_PIECE * MOVE_PIECE - first
            inside = [float(t) for t in map(moment, range(start, start + MOVE_PIECE))
                      if step.start < t < step.end]
            box, closest = camera.views_box(inside)
            aspect = Fraction(frame.aspect)  # every view's: the target frame's
            fitted = target.fit(aspect.numerator, aspect.denominator)
            scale = min(1.0, float(target.width * target.sar / (closest * frame.sar)))
            size = (max(2, 2 * round(box.width * scale / 2)), max(2, 2 * round(box.height * scale / 2)))
            # Shrunk to the target (DV from 1080p): straight to the size it is shown at, so the
            # picture is scaled once. Magnified (1080p web from a zoomed view): at the box's own
            # pixels, then scaled up, so that the costly filter reads no more than it has.
            shrunk = size[0] * size[1] >= fitted.width * fitted.height
            if shrunk:
                size = (fitted.width, fitted.height)
            if (box.x, box.y, box.width, box.height) != (0, 0, frame.width, frame.height):
                v = v.filter("crop", w=int(box.width), h=int(box.height), x=int(box.x), y=int(box.y), exact=1)
            if shrunk:
                v = v.filter("scale", w=size[0], h=size[1], flags="lanczos", **target_colours(target),
                             **CAMERA_SCALING)
            elif size != (box.width, box.height):
                v = v.filter("scale", w=size[0], h=size[1], flags="lanczos", **CAMERA_SCALING)
            times = [float(moment(k)) for k in range(a, b)]
            v = v.filter("perspective", **camera.perspective_options(times, box, size))
            if shrunk:
                pieces.append(finish_picture(v, fitted, target))
                continue
            shape = (size[0], size[1], frame.aspect * size[1] / size[0])
        else:
            shape = (int(view.width), int(view.height), frame.sar)
            compared = _compared_box(view, frame) if pix_fmt in COMPARABLE and b - a > 1 else None
            if compared is not None:
                # A held view shows the capture's pictures at the target's rate, most of them
                # repeats (a 15 fps capture at 25 fps; a still screen for seconds): each distinct
                # picture is scaled once, then repeated again at the target's rate. The same
                # bytes; on the typing take of benchmarks/bench_camera.py (147 stored pictures
                # in 60 s) the held views' scaling went from 1317 pictures to 150.
                v = v.filter("crop", w=compared.width, h=compared.height, x=compared.x, y=compared.y, exact=1)
                v = distinct(v, compared.width, compared.height)
                if (compared.width, compared.height) != shape[:2]:
                    v = v.filter("crop", w=shape[0], h=shape[1], x=int(view.x) - compared.x,
                                 y=int(view.y) - compared.y, exact=1)
                v = conform_picture(v, shape, target, **CAMERA_SCALING)
                v = v.filter("fps", fps=ffmpeg_number(target.fps))
                pieces.append(v.filter("tpad", stop_mode="clone", stop=b - a).filter("trim", end_frame=b - a))
                continue
            if (view.x, view.y, view.width, view.height) != (0, 0, frame.width, frame.height):
                v = v.filter("crop", w=int(view.width), h=int(view.height), x=int(view.x), y=int(view.y), exact=1)
        pieces.append(conform_picture(v, shape, target, **CAMERA_SCALING))
    if len(pieces) == 1:
        return pieces[0]
    # Stamped again by count: concat times a piece by its last frame's duration, which a piece
    # of one frame may lack (it then overlaps the next, whose first frame is lost downstream).
    rate = target.fps
    return ff.concat(*pieces, v=1, a=0).filter("setpts", f"N*{rate.denominator}/({rate.numerator}*TB)")


def _held_before_rate(stream: Any, captured: Any, view: Region, a: int, b: int, first: int, frame: Frame,
                      target: Raster) -> Any:
    """Frames [a, b) of ``stream`` (the picture at the target's rate, its frame 0 at frame
    ``first`` of that rate, as ``film`` has it) where the camera holds ``view``: scaled at the
    capture's own rate (each picture it stores, once) and put at the target's rate after.

    ``captured``: the same picture before the rate conversion. The conversion shows at a frame
    the last picture stamped (rounded to the frame) at or before it, which may have been
    stamped long before (a still screen). So the view is made of frame a of ``stream``, stamped
    at its time, the capture's pictures from that time on, cut at frame b's time, and frame a
    again stamped at frame b's time (it ends the last frame: ffmpeg 5.1's rate conversion shows
    a last picture only up to its stream's end; it is cut off after), put in time order
    (``interleave``, which counts in microseconds) and converted to the target's rate from
    frame a's time: the very pictures of converting first (tests/e2e/test_camera.py compares
    them). On the typing take of benchmarks/bench_camera.py (147 stored pictures in 60 s) the
    held views scale 150 pictures instead of 1317, and compare none."""
    ff = ffmpeg_module()
    fps = target.fps
    start, end = Fraction(first + a) / fps, Fraction(first + b) / fps
    ends = stream.filter("trim", start_frame=a, end_frame=a + 1).filter("setpts", "PTS-STARTPTS").split()
    head = ends[0].filter("setpts", f"PTS+{first + a}")
    # Frame a again, as the end: at hand from the start, since interleave passes a picture on
    # only once each input has one or has ended (frame b - 1 held the run's every picture back
    # until its end: hundreds of 1080p pictures in memory on the moving take).
    tail = ends[1].filter("setpts", f"PTS+{first + b}")
    # Whole microseconds, as trim reads its times: a picture before ``start`` is dropped by the
    # conversion below, and one from frame b's time on is not shown.
    rest = captured.filter("trim", start=_seconds(start), end=_seconds(end))
    v = ff.filter([head, rest, tail], "interleave", nb_inputs=3)
    if (view.x, view.y, view.width, view.height) != (0, 0, frame.width, frame.height):
        v = v.filter("crop", w=int(view.width), h=int(view.height), x=int(view.x), y=int(view.y), exact=1)
    v = conform_picture(v, (int(view.width), int(view.height), frame.sar), target, **CAMERA_SCALING)
    v = v.filter("fps", fps=ffmpeg_number(fps), start_time=_seconds(start))
    return v.filter("trim", end_frame=b - a).filter("setpts", "PTS-STARTPTS")


def _seconds(t: Fraction) -> str:
    """``t`` to the microsecond below it, as an ffmpeg time option (in seconds)."""
    return f"{math.floor(t * 1_000_000) / 1_000_000:.6f}"


def picture_format(info: MediaInfo, effects: Effects) -> str | None:
    """The pixel format of a clip's picture as ``source_picture`` gives it: the decoder's,
    unless overlays are drawn on it (they may convert it); None where not known."""
    assert info.video is not None
    return None if effects.overlays else eight_bits(info.video.pix_fmt)


def _compared_box(view: Region, frame: Frame) -> Region | None:
    """The box on even pixels around a held ``view`` (whole pixels), inside the picture, in which
    ``media.pictures.distinct`` finds the repeats; None where the picture's odd edge
    leaves no such box (the view is then scaled at the target's rate)."""
    x0, y0 = int(view.x) // 2 * 2, int(view.y) // 2 * 2
    x1, y1 = -(-int(view.x + view.width) // 2) * 2, -(-int(view.y + view.height) // 2) * 2
    if x1 > frame.width or y1 > frame.height:
        return None
    return Region(x0, y0, x1 - x0, y1 - y0)


def _scale_before_rate(info: MediaInfo, trim: Trim, frames: int, start: Fraction = Fraction(0)) -> bool:
    """Whether to scale a capture's pictures before the rate conversion rather than after.

    Both orders give the same bytes (the rate conversion only repeats or drops whole
    pictures); what differs is how many pictures are scaled, the costliest filter step. A
    15 fps screen recording put into 25 fps repeats two pictures in three: scaled first, each
    is scaled once (measured: 10% less CPU for the whole encode). A faster capture, or a trim
    deep into a long one (every picture before the cut reaches the filters too, or those from
    ``start`` seconds when the input is seeked), scales less afterwards.
    """
    assert info.video is not None
    rate = info.video.fps
    if not rate:
        return False
    decoded = rate * (trim.start - start + trimmed_length(info, trim))
    return decoded < frames


def frame_window(video: Any, target: Raster, skip: int, frames: int, hold: bool = False) -> Any:
    """Frames ``skip`` to ``skip + frames`` of a picture stream at the target's rate.

    start_time=0 repeats the first frame back to 0 if the picture starts after the sound; the
    last picture is held (cloned) before the window is cut, so a window that starts after a
    capture's last stored frame (its final hold, or a voice-over that outlasts the picture)
    still shows that picture. ``hold``: hold and cut even from frame 0 (a slice: the window
    ends where the segment's last picture may be needed).
    """
    video = video.filter("fps", fps=ffmpeg_number(target.fps), start_time=0)
    if not skip and not hold:
        return video
    video = video.filter("tpad", stop_mode="clone", stop=skip + frames)
    video = video.filter("trim", start_frame=skip, end_frame=skip + frames)
    return video.filter("setpts", "PTS-STARTPTS")


def preroll_cut(keyframe: Fraction) -> str:
    """Where a seeked picture may be cut, for ``trim``'s ``start``: just before ``keyframe``
    (a picture there is kept, whatever time base ffmpeg rounds the cut to; the time of the
    picture before it is at least a millisecond earlier in any capture), to the microsecond.
    The pictures ffmpeg decodes between the seek point and the keyframe (seconds of them: the
    seek lands a keyframe early, at whole seconds) then cost only their decoding, not the crop,
    colour conversion, scaling and overlays each would pass through before the frame count
    drops it (measured: see docs/performance.md)."""
    us = math.floor((keyframe - PREROLL_SLACK) * 1_000_000)
    sign, us = ("-" if us < 0 else ""), abs(us)  # a keyframe at 0: a millisecond before it
    return f"{sign}{us // 1_000_000}.{us % 1_000_000:06d}"


# How far before a seek's keyframe its picture is cut: less than any capture's frame interval.
PREROLL_SLACK = Fraction(1, 1000)


def source_picture(info: MediaInfo, effects: Effects = Effects(), seek: Seek = Seek(),
                   rate: Fraction | None = None, matrix: str | None = None) -> tuple[Any, Any, tuple[int, int, Fraction]]:
    """A capture opened for decoding, its picture (redacted and overlaid, then cropped, as
    asked, then in the colour ``matrix`` given: the target's), and that picture's shape.
    ``rate``: frames a second at which the encode samples the capture (needed with overlays:
    see plan.overlays).

    ``seek``: where to seek the input first (``media.seek.plan_seek``). The frames ffmpeg
    decodes before that point are kept (-noaccurate_seek) and the seek is added back to every
    timestamp, so the picture carries the same timestamps as without a seek; those before the
    seek's keyframe are dropped at once (``preroll_cut``).
    """
    assert info.video is not None
    if seek.at:
        source = open_capture(info, threads=1, ss=seek.at, noaccurate_seek=None)
        video = source.video.filter("setpts", f"PTS+{seek.at}/TB")
        if seek.keyframe is not None:
            video = video.filter("trim", start=preroll_cut(seek.keyframe))
    else:
        source = open_capture(info, threads=1)
        video = source.video
    shape = info.video.shown_shape
    pix_fmt = eight_bits(info.video.pix_fmt)
    if pix_fmt != info.video.pix_fmt:  # before any crop (a crop:, the camera, a redaction)
        video = video.filter("format", pix_fmt)
    if info.video.matrix or info.video.color_range:
        # The file's colour tags onto its frames, so the scaler converts from them: VP8 carries
        # no colour information in its bitstream, and ffmpeg's decoder leaves its frames
        # untagged even where the WebM says BT.709 (GNOME's recorder), which then read as
        # BT.601, too dark. Untagged captures are converted as before.
        tags = {"colorspace": info.video.matrix, "range": info.video.color_range}
        video = video.filter("setparams", **{k: v for k, v in tags.items() if v})
    if effects.overlays:
        if rate is None:
            raise ValueError("a picture with overlays needs the rate it is sampled at")
        video = with_overlays(video, effects.overlays, shape[:2], Fraction(rate), pix_fmt)
    if effects.crop is not None:
        c = effects.crop
        video = video.filter("crop", w=c.width, h=c.height, x=c.x, y=c.y, exact=1)
        shape = (c.width, c.height, shape[2])
    # Into the target's matrix here, by ``colorspace`` (``media.raster.matrix_conversion``:
    # faster and closer than the scaler's conversion), after the crop; the scaler that fits
    # the picture to the target then finds it in the target's matrix and converts nothing.
    conversion = matrix and matrix_conversion(info.video.matrix, pix_fmt, matrix, info.video.color_range, shape[:2])
    if conversion:
        video = video.filter("colorspace", **conversion)
    return source, video, shape


# Sound further from its timestamps than this is padded with silence (or trimmed) back onto
# them. aresample's default (0.1 s) left the small gaps of a recorder that drops packets
# unfilled: an x11grab + PulseAudio take lost 0.43 s in 10 gaps of up to 53 ms, and its voice
# ran 76-86 ms early by the end of 5 s. 10 ms keeps every sample within a frame of where the
# file puts it, is far above the jitter of millisecond (Matroska) timestamps, and gives the
# same PCM as before for a capture without gaps (measured on the test captures, both ffmpegs).
MIN_HARD_COMP = 0.01


def aligned_sound(audio: Any) -> Any:
    # Align to the file's start (trim what precedes it, pad a late start with silence) and fill
    # gaps, so the dv muxer always has a full frame of sound and every sample sits where the
    # file's timestamps put it.
    return audio.filter("aresample", AUDIO_RATE, **{"async": 1, "first_pts": 0,
                                                     "min_hard_comp": MIN_HARD_COMP})


def seeked_sound(audio: Any, at: int) -> Any:
    """The sound of an input seeked to ``at`` whole seconds (its timestamps counted from the
    seek point, -noaccurate_seek), laid as ``aligned_sound`` lays a decode from the start, but
    from a second before the seek point: the stream starts at sample ``seeked_from(at)`` of
    the 48 kHz clock, with the capture's timestamps.

    aligned_sound fills the time before the first sample decoded with silence, every second of
    it through the resampler (0.24 s of CPU of the 0.34 s the sound of a 30 s cut at 9 minutes
    took; in each chunk as deep).
    Here the sound is cut at the seek point (the seek may land earlier: the cut makes where it
    starts exact) and laid a second after the clock's start: the resampler fills that second
    with silence, exactly (far above MIN_HARD_COMP), its phase at whole seconds what it is from
    the capture's start, and from the seek point on it meets the very samples a seeked decode
    gave it before (media.seek's margin covers the decoder's and the resampler's warm-up)."""
    audio = audio.filter("atrim", start=0).filter("asetpts", "PTS+1/TB")
    return aligned_sound(audio).filter("asetpts", f"PTS+{at - 1}/TB")


def seeked_from(at: int) -> int:
    """The first sample of ``seeked_sound(audio, at)`` (0: not seeked, from the start)."""
    return (at - 1) * AUDIO_RATE if at else 0


def _tempo(audio: Any, speed: Fraction) -> Any:
    """Play faster or slower at the same pitch; atempo takes 0.5 to 100 per instance."""
    remaining = Fraction(speed)
    while remaining < Fraction(1, 2):
        audio = audio.filter("atempo", "0.5")
        remaining *= 2
    return audio.filter("atempo", ffmpeg_number(remaining))


def still_job(
    image: Path,
    size: tuple[int, int],
    frames: int,
    profile: Profile,
    output: Path,
    ffmpeg: Ffmpeg,
    final: bool = False,
    label: str | None = None,
    effects: Effects = Effects(),
    lead: int = 0,
    window: tuple[int, int] | None = None,
) -> Job:
    """Loop a still image (square pixels, ``size``) into ``frames`` frames with silent sound
    (``lead``: see ``conform``). ``window``: only frames [a, b) of them, faded as in the whole
    (a transition's overlap reads a title's edge frames from a window of their own)."""
    ff = ffmpeg_module()
    target = profile.raster
    if frames <= 0:
        raise ValueError("a still lasts at least one frame")
    # One picture, decoded and scaled once, then held for `frames` frames by conform_video.
    source = ff.input(
        file_url(image), framerate=ffmpeg_number(target.fps), f="image2", **safe_input_options()
    )
    shape = (size[0], size[1], Fraction(1))
    video, samples, scaled = source.video, None, False
    if window is not None:
        if lead:
            raise ValueError("a window takes no lead frames")
        a, b = window
        if not 0 <= a < b <= frames:
            raise ValueError(f"window {a}..{b} is not inside the still's {frames} frames")
        # The whole still's frames, faded, then the window's: the same pictures as the whole's.
        video = conform_video(video, shape, frames, target, effects)
        video = video.filter("trim", start_frame=a, end_frame=b).filter("setpts", "PTS-STARTPTS")
        # Samples counted from the still's start, so that its windows add up to the whole.
        frames, samples, scaled = b - a, target.audio_samples(b) - target.audio_samples(a), True
        effects = replace(effects, fade_in=Fraction(0), fade_out=Fraction(0))
    return conform(
        ff, video, None, shape, frames, profile, output,
        ffmpeg, final, label or f"title {image.name}", (image,), effects, samples, scaled, lead=lead,
    )


def conform_picture(video: Any, shape: tuple[int, int, Fraction], target: Raster, **scaling: Any) -> Any:
    """Each picture of a stream -> ``target``'s size, pixel shape and pixel format
    (``scaling``: more options of the scale, ``CAMERA_SCALING``)."""
    box = target.fit(*shape)
    video = video.filter("scale", w=box.width, h=box.height, flags="lanczos", **target_colours(target), **scaling)
    return finish_picture(video, box, target)


def target_colours(target: Raster) -> dict[str, str]:
    """The scaler's options that put a picture in ``target``'s colours. An RGB target (an
    image) takes no YUV matrix: given one, ffmpeg 5.1's scaler resized an RGB capture through
    YUV with BT.601 in and that matrix out (green 34 levels off)."""
    return {"out_color_matrix": target.matrix, "out_range": "tv"} if target.yuv_matrix else {}


def finish_picture(video: Any, box: Any, target: Raster) -> Any:
    """Pictures already scaled to ``box`` (``target.fit``) and into the target's colours ->
    the target's frame: bars round the box, its pixel shape and pixel format."""
    if (box.width, box.height) != (target.width, target.height):
        video = video.filter(
            "pad", w=target.width, h=target.height, x=box.x, y=box.y, color="black"
        )
    return video.filter("setsar", _ratio(target.sar)).filter("format", target.pix_fmt)


def conform_video(video: Any, shape: tuple[int, int, Fraction], frames: int, target: Raster,
                  effects: Effects = Effects(), scaled: bool = False) -> Any:
    """Any picture stream -> exactly ``frames`` frames of ``target``'s size, pixels and format
    (``scaled``: its pictures are already conformed by ``conform_picture``)."""
    if not scaled:
        video = conform_picture(video, shape, target)
    # Hold the last picture to the end (a capture's last frame lasts until its container
    # ends; ffmpeg 5.1's fps filter stops at the last timestamp; a title is one picture),
    # then cut at exactly `frames`. After the scaling, so a held picture is scaled once.
    video = video.filter("tpad", stop_mode="clone", stop=frames).filter("trim", end_frame=frames)
    if effects.frame is not None:
        video = framed(video, effects.frame, target.width, target.height, target.matrix, target.pix_fmt)
    fade_in, fade_out = target.frames(effects.fade_in), target.frames(effects.fade_out)
    if fade_in:
        video = video.filter("fade", type="in", start_frame=0, nb_frames=fade_in)
    if fade_out:
        # ffmpeg's fade reaches black at start_frame + nb_frames: that must be the last frame.
        start = max(0, frames - 1 - fade_out)
        video = video.filter("fade", type="out", start_frame=start, nb_frames=frames - 1 - start)
    return video


def conform(
    ff: Any,
    video: Any,
    audio: Any | None,
    shape: tuple[int, int, Fraction],
    frames: int,
    profile: Profile,
    output: Path,
    ffmpeg: Ffmpeg,
    final: bool,
    label: str,
    inputs: tuple[Path, ...],
    effects: Effects = Effects(),
    samples: int | None = None,
    scaled: bool = False,
    lead: int = 0,
) -> Job:
    """The encode of a conformed segment. ``lead``: frames of the cast's NTSC sound pattern
    before the segment's first (its position in the cast, modulo 5), written first so that
    the dv muxer, which counts its 1600/1602-sample pattern from each file's first frame,
    gives every frame of the segment the samples that frame has in the cast; the byte join
    skips them (``outputs.profiles.dv``). Without them each segment restarted the pattern and a cast
    of many segments ran short of its picture (19 segments: 13 samples)."""
    target = profile.raster
    video = conform_video(video, shape, frames, target, effects, scaled)
    pattern = profile.lays_ntsc_sound(final)
    if samples is None:
        samples = target.audio_samples(frames)
    if pattern:
        # Exactly what the muxer puts into these frames (more is dropped, less loses a frame).
        samples = dv_samples(lead + frames) - dv_samples(lead)
    if audio is None:
        audio = ff.input(f"anullsrc=r={AUDIO_RATE}:cl=stereo", f="lavfi").audio
    elif effects.gain:
        # Before the conversion to 16 bits: volume works in floats, and a cut is rounded once.
        audio = audio.filter("volume", f"{ffmpeg_number(effects.gain)}dB")
    audio = audio.filter(
        "aformat", sample_fmts="s16", sample_rates=AUDIO_RATE, channel_layouts="stereo"
    )
    audio = audio.filter("apad", whole_len=samples).filter("atrim", end_sample=samples)
    fade_in = target.audio_samples(target.frames(effects.fade_in))
    fade_out = target.audio_samples(target.frames(effects.fade_out))
    if fade_in:
        audio = audio.filter("afade", type="in", start_sample=0, nb_samples=fade_in)
    if fade_out:
        audio = audio.filter("afade", type="out", start_sample=samples - fade_out, nb_samples=fade_out)
    if lead:
        if not pattern:
            raise ValueError("lead frames are for NTSC DV only")
        video = video.filter("tpad", start=lead, start_mode="clone")
        audio = audio.filter("adelay", delays=f"{dv_samples(lead)}S", all=1)

    pictures = None
    if profile.pictures_once(final):
        pictures, video = _pictures_first(ff, video, target, lead + frames, ffmpeg)
    out = profile.encode(ff, video, audio, output, final, copy_video=pictures is not None)
    # No -threads for the encoder: ffmpeg gives it one slice thread per core. Jobs running side
    # by side then share the cores through the kernel, and the longest job, which starts first
    # and ends alone, gets every core for its last stretch. Dividing the cores between workers
    # left one idle at the end of every build (measured: 13% slower with ffmpeg 5.1, no better
    # with 9, whose pipeline is threaded anyway).
    argv = compile_argv(out, ffmpeg)
    return Job(label, tuple(argv), output, lead + frames, inputs, size=profile.size(lead + frames, final),
               profile=profile, pictures=pictures)


def _pictures_first(ff: Any, video: Any, target: Raster, frames: int, ffmpeg: Ffmpeg) -> tuple[Pictures, Any]:
    """The distinct pictures of a raw DV encode's ``video``, encoded by an ffmpeg of their own,
    and the stream of all its frames that castkit then feeds the job's ffmpeg (``media.pictures``)."""
    placeholder = "pictures"  # Pictures.argv puts the files it writes in its place
    first = ff.output(distinct(video, target.width, target.height), placeholder, f="tee",
                      vcodec="dvvideo", fps_mode="passthrough", map_metadata=-1, map_chapters=-1)
    head = compile_argv(first, ffmpeg)
    if head[-1] != placeholder:
        raise AssertionError("ffmpeg-python put the output elsewhere")
    fed = ff.input("pipe:0", f="dv", protocol_whitelist="pipe", format_whitelist="dv")
    return Pictures(tuple(head[:-1]), frames, target.frame_bytes, target.fps), fed.video



def join_job(
    parts: Sequence[Path],
    list_file: Path,
    frames: int,
    output: Path,
    ffmpeg: Ffmpeg,
    target: Raster,
    container: str = "dv",
    label: str | None = None,
    finish: tuple[Any, ...] = (),
    spans: Sequence[Any] = (),
) -> Job:
    """Join encoded DV segments by stream copy: every DV frame is a keyframe (``spans``: the
    seconds of each to take, where a transition took some: ``base.jobs.concat_list``)."""
    ff = ffmpeg_module()
    source = ff.input(
        file_url(list_file), f="concat", safe=0,
        protocol_whitelist="file", format_whitelist="concat,dv",
    )
    # The frame rate said again: ffmpeg 9 otherwise writes the copied frames into an AVI with a
    # 1/600 s time base (600 fps, padded with empty entries), which MLT takes literally.
    out = ff.output(source, file_url(output), f=container, c="copy", r=ffmpeg_number(target.fps), map_metadata=-1)
    argv = compile_argv(out, ffmpeg)
    return Job(
        label or f"join {counted(len(parts), 'segment')}", tuple(argv), output, frames, tuple(parts),
        ((list_file, concat_list(parts, spans)),), finish=finish,
    )


def ffmpeg_number(value: Fraction | int) -> str:
    """A number as ffmpeg reads it: 25, 30000/1001, 3.5."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    decimal = float(value)
    if Fraction(repr(decimal)) == value:
        return repr(decimal)
    return f"{value.numerator}/{value.denominator}"


def _ratio(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"
