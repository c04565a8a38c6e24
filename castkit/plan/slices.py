"""Slices of a segment: frames [a, b) of it, encoded on their own, equal to those frames of
the whole segment's encode (same decoded picture, same samples), so that a long segment can
be encoded in parallel pieces and joined by bytes.

Pure graph helpers for ``plan.encode.clip_job(window=...)``. What makes a slice equal to its part
of the whole:

- the picture is the same frame window of the capture, counted from the same origin (see
  ``plan.encode.frame_window``), and the last picture is held in every slice, not only the last;
- fades stay the whole segment's: ffmpeg's ``fade`` counts frames from the first it sees, so
  a slice that a fade reaches starts its graph where the fade starts (at most the fade's
  length of extra frames, filtered and dropped, never encoded), and ``afade`` counts samples
  from the timestamps, so the sound is faded while it still carries the segment's own;
- a slice's sound is the samples the dv muxer puts into its frames. In PAL that is 1920 a
  frame. In NTSC the muxer spreads 8008 samples over every 5 frames (1600, 1602, 1602, 1602,
  1602), counting from the first frame of each file: a slice must start at a multiple of 5
  frames, and its sound starts at sample 8008 x a / 5 of the segment.

DV timecodes count from 0 in every file: after a join, ``media.dvtc`` rewrites them for the cast.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from castkit.media.raster import AUDIO_RATE, Raster


# A capture segment at least this long is encoded as slices side by side, one per core (raw
# DV only: intra-only frames join by bytes). Measured on 2 cores: a 60 s 1024x768 capture in
# 2 slices took 0.91x the wall time of one encode (each ffmpeg already keeps ~1.4 cores busy);
# shorter segments gain nothing, and they usually run beside others anyway.
SLICE_SECONDS = 60


def sample_group(target: Raster) -> int:
    """Frames over which the sound holds a whole number of samples: 1 at 25 or 30 fps, 5 for
    NTSC's 30000/1001 (8008 samples, which the dv muxer spreads 1600/1602 per frame)."""
    return (Fraction(AUDIO_RATE) / target.fps).denominator


@dataclass(frozen=True)
class Window:
    """Frames [a, b) of a segment of ``frames`` frames; ``first``: where its graph starts
    (before ``a`` when a fade reaching the slice starts earlier)."""

    a: int
    b: int
    frames: int
    first: int
    fade_in: int  # frames of the segment's fades
    fade_out: int

    @property
    def fade_out_start(self) -> int:
        # As plan.encode.conform_video: the fade reaches black on the segment's last frame.
        return max(0, self.frames - 1 - self.fade_out)


def window_of(target: Raster, frames: int, window: tuple[int, int], fade_in: int, fade_out: int,
              whole_samples: bool = True) -> Window:
    """``whole_samples``: the window must start on a whole number of the segment's samples (a
    slice, whose sound is counted from the segment's start); a chunk's is counted from the
    capture's (``plan.chunks``), and may start anywhere."""
    a, b = window
    if not (0 <= a < b <= frames):
        raise ValueError(f"window {a}..{b} is not inside the segment's {frames} frames")
    group = sample_group(target)
    if whole_samples and (a % group or b % group and b != frames):
        raise ValueError(f"a slice starts and ends at multiples of {group} frames (whole samples)")
    first = a
    w = Window(a, b, frames, a, fade_in, fade_out)
    if fade_in and a < fade_in:
        first = 0
    if fade_out and b - 1 > w.fade_out_start:
        first = min(first, w.fade_out_start)
    return Window(a, b, frames, first, fade_in, fade_out)



def slice_picture(video: Any, w: Window) -> Any:
    """Conformed pictures of frames [first, b) -> frames [a, b), faded as in the whole segment."""
    if w.fade_in and w.first == 0 and w.a < w.fade_in:
        video = video.filter("fade", type="in", start_frame=0, nb_frames=w.fade_in)
    start = w.fade_out_start
    if w.fade_out and w.b - 1 > start:
        video = video.filter("fade", type="out", start_frame=start - w.first,
                             nb_frames=w.frames - 1 - start)
    if w.a > w.first:
        video = video.filter("trim", start_frame=w.a - w.first).filter("setpts", "PTS-STARTPTS")
    return video


def slice_sound(audio: Any, w: Window, target: Raster, samples: int, first: int = 0) -> tuple[Any, int]:
    """The segment's sound (from its sample 0, ``samples`` long) -> the slice's, faded as in
    the whole segment; and how many samples that is. ``first``: the sample the stream starts
    at (a seeked capture's, ``plan.encode.seeked_sound``), its timestamps counted from sample 0."""
    begin = target.audio_samples(w.a)
    end = samples if w.b == w.frames else target.audio_samples(w.b)
    return _window_sound(audio, begin, end, 0, samples, target.audio_samples(w.fade_in),
                         target.audio_samples(w.fade_out), first), end - begin


def chunk_sound(audio: Any, w: Window, target: Raster, origin: int, frames: int, first: int = 0
                ) -> tuple[Any, int]:
    """A chunk's sound (see ``plan.chunks``): of ``audio`` (a stream whose sample 0 is frame 0
    of the picture's timeline: the capture's start, or the segment's for a voice-over), the
    samples of frames ``origin + a`` to ``origin + b``, each position counted from that sample 0
    (so a chunk's samples, and its argv, do not depend on where the segment starts), faded as
    in the whole segment of ``frames`` frames; and how many samples that is. ``first``: the
    sample the stream starts at (a seeked capture's, ``plan.encode.seeked_sound``), its
    timestamps still counted from sample 0."""
    begin = target.audio_samples(origin + w.a)
    end = target.audio_samples(origin + w.b)
    return _window_sound(audio, begin, end, target.audio_samples(origin), target.audio_samples(origin + frames),
                         target.audio_samples(w.fade_in), target.audio_samples(w.fade_out), first), end - begin


def _window_sound(audio: Any, begin: int, end: int, start: int, last: int, fade_in: int, fade_out: int,
                  first: int) -> Any:
    """Samples [begin, end) of a segment's sound whose samples run [start, last) (positions
    counted from the stream's sample 0; the stream itself starts at ``first``), faded in and
    out over the segment's first ``fade_in`` and last ``fade_out`` samples, as the whole
    segment is: the same numbers in a slice or chunk as in the whole."""
    # The format plan.encode._conform fades in, so the faded samples are the same numbers.
    audio = audio.filter("aformat", sample_fmts="s16", sample_rates=AUDIO_RATE, channel_layouts="stereo")
    # apad and atrim count samples as they come, from the stream's first.
    audio = audio.filter("apad", whole_len=end - first).filter("atrim", start_sample=begin - first,
                                                                end_sample=end - first)
    # afade counts from the timestamps, still those of the stream's sample 0 here (as conform's).
    if fade_in and begin < start + fade_in:
        audio = audio.filter("afade", type="in", start_sample=start, nb_samples=fade_in)
    if fade_out and end > last - fade_out:
        audio = audio.filter("afade", type="out", start_sample=last - fade_out, nb_samples=fade_out)
    return audio.filter("asetpts", "PTS-STARTPTS")
