"""Where a clip's noise is (``denoise:``): the quietest stretch of its sound, found in the same
20 ms levels the pauses analysis reads (``plan.pauses.analyse``, cached per take and trim), for
afftdn to learn the noise from (``plan.encode.denoised``)."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from castkit.base.timecode import format_time
from castkit.media.ffmpeg import Ffmpeg
from castkit.media.raster import AUDIO_RATE
from castkit.plan.encode import Denoise, Trim, trimmed_length
from castkit.plan.pauses import analyse, analysis_path, WINDOW_SAMPLES

# The stretch afftdn learns from: half a second (25 windows) is many of its FFT frames and
# short enough to fit between two sentences; a shorter take lends all it has.
NOISE_WINDOWS = 25
DIGITAL_SILENCE = -120.0  # dBFS; below 16 bits' own floor


def quietest(levels: tuple[float, ...], count: int = NOISE_WINDOWS) -> tuple[int, int, float]:
    """The run of ``count`` windows (fewer if there are not so many) with the lowest mean level:
    (first window, end window, that mean in dBFS). Digital silence (a muted start, padding)
    holds no noise to learn: its windows are the last choice."""
    values = [v if math.isfinite(v) and v > DIGITAL_SILENCE else -DIGITAL_SILENCE for v in levels]
    values = values or [-DIGITAL_SILENCE]
    count = max(1, min(count, len(values)))
    total = sum(values[:count])
    best, at = total, 0
    for i in range(count, len(values)):
        total += values[i] - values[i - count]
        if total < best:
            best, at = total, i - count + 1
    mean = best / count
    return at, at + count, mean if mean < -DIGITAL_SILENCE else DIGITAL_SILENCE


def noise_of(seg: Any, strength: Fraction, index: int, checked: Any, ffmpeg: Ffmpeg,
             folder: Path | None, quiet: bool = False) -> Denoise:
    """The clip's Denoise: its sound's quietest stretch, in the samples of the file the sound
    comes from (the capture, or the voice-over from ``audio.from``)."""
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    voice = checked.voices.get(seg.audio) if seg.audio is not None and not seg.mute else None
    memo = checked.pauses
    name = ("noise", seg)
    if name not in memo.analyses:
        status = None if quiet else (f"segment {index}: finding the noise of "
                                     f"{(voice.path if voice else seg.clip).name} "
                                     f"({format_time(trimmed_length(info, trim))})")
        memo.analyses[name], _ = analyse(info, trim, voice, seg.speed, "any", ffmpeg, folder, status,
                                         seg.audio_from)
        if folder is not None:
            memo.files.add(analysis_path(info, trim, voice, seg.speed, "any", ffmpeg, folder, seg.audio_from))
    first, end, floor = quietest(memo.analyses[name].levels)
    origin = round((seg.audio_from if voice is not None else seg.start) * AUDIO_RATE)
    return Denoise(strength, origin + first * WINDOW_SAMPLES, origin + end * WINDOW_SAMPLES, floor)
