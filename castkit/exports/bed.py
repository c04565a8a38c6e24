"""The music bed of an exported project (``music:``, issue 25): the music files on a track of
their own, looped and cut as ``castkit build`` plays them, with castkit's own envelope (its
ducking under the narration, ``under`` and the fades) as volume keyframes.

``castkit build`` measures the narration on the cast's joined segments; an export has no cast,
so the narration is put together here the same way from the sources: each part's sound (its
trim, speed, ``gain:``, voice-over; titles and mute parts silent), crossfaded where a
transition overlaps two parts (linear, as ``plan.transitions`` mixes them) and measured once:
its loudness (for the gain the cast's loudness step would give it) and its level every 20 ms
(``plan.pauses.LEVEL_CHAIN``). From those, ``plan.music.envelope_of`` draws the very envelope
castkit multiplies into the bed, and its break points become the keyframes. What is not
reproduced: noise reduction (``denoise:``) before the measurement, and the sample-exact joins
of the music files (an editor's track counts whole frames).
"""

from __future__ import annotations

import math
import subprocess
from fractions import Fraction
from pathlib import Path

from castkit.base.jobs import file_url
from castkit.errors import WorkError
from castkit.exports.timeline import MusicBed, Part, Timeline
from castkit.media.ffmpeg import dies_with_castkit, Ffmpeg, safe_input_args, stderr_tail
from castkit.media.raster import AUDIO_RATE
from castkit.plan.check import Checked
from castkit.plan.music import (
    envelope_of, music_chain, music_gain, music_inputs, music_rounds, RAMP_FLOOR_DB, speech_gain,
)
from castkit.plan.pauses import LEVEL_CHAIN, levels_in
from castkit.publish.loudness import parse_summary
from castkit.recipe.model import ClipSegment

_FORMAT = f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"


def music_bed(checked: Checked, timeline: Timeline, ffmpeg: Ffmpeg) -> MusicBed:
    recipe = checked.recipe
    music = recipe.music
    assert music is not None
    fps = timeline.fps
    seconds = float(Fraction(timeline.frames) / fps)
    integrated, levels = _narration(timeline, ffmpeg)
    ends = [p.record for p in timeline.parts[1:]] + [timeline.frames]
    # Where the bed plays: each part from its first frame (a transition's overlap counts as the
    # part it leads into, as castkit's build counts it) to the next part's.
    segments = [(float(part.record / fps), float(end / fps),
                 music.under == "all" or (music.under == "clips") == isinstance(seg, ClipSegment))
                for part, end, seg in zip(timeline.parts, ends, recipe.segments)]
    envelope = envelope_of(music, levels, speech_gain(integrated, recipe.loudness), segments, seconds)
    durations = tuple(checked.music[p].duration for p in music.files)
    inputs, count = music_inputs(music, durations, seconds)
    samples = round(seconds * AUDIO_RATE) + AUDIO_RATE  # as the build measures its bed
    measured = _run(ffmpeg, [*inputs, "-filter_complex", music_chain(count, samples) + ",ebur128=peak=true[out]",
                             "-map", "[out]", "-f", "null", "-"], "measuring the music")
    gain = music_gain(music, parse_summary(measured)[0])
    entries = []
    at = Fraction(0)  # seconds of music laid so far: entries cut at whole frames, never drifting
    for _ in range(music_rounds(music, durations, seconds)):
        for path, duration in zip(music.files, durations):
            first, end = round(at * fps), min(round((at + duration) * fps), timeline.frames)
            frames = min(end - first, math.floor(duration * fps))
            if frames > 0:
                entries.append((path.resolve(), 0, frames))
            at += duration
    keys: dict[int, float] = {}
    for t, g in envelope.break_points():
        frame = min(timeline.frames - 1, max(0, round(t * float(fps))))
        keys[frame] = 20 * math.log10(max(g, 1e-6))
    ordered = sorted((frame, max(db, RAMP_FLOOR_DB)) for frame, db in keys.items())
    # A key between two of the same level says nothing (a fade under a title the bed is silent under).
    kept = [key for before, key, after in zip([None, *ordered], ordered, [*ordered[1:], None])
            if before is None or after is None or not before[1] == key[1] == after[1]]
    return MusicBed(tuple(entries), gain, tuple(kept))


def _narration(timeline: Timeline, ffmpeg: Ffmpeg) -> tuple[float, tuple[float, ...]]:
    """The integrated loudness (LUFS) and the 20 ms levels (dBFS) of the cast's narration."""
    inputs: list[tuple[Path, float]] = []  # each file read, and where (seconds) it is read from
    graph: list[str] = []
    for n, part in enumerate(timeline.parts):
        samples = _samples(part.frames, timeline)
        source = _sound_of(part, inputs)
        graph.append(f"{source}{_FORMAT},apad,atrim=end_sample={samples}[p{n}]")
    joined = "[p0]"
    for n, part in enumerate(timeline.parts[1:], 1):
        if part.overlap:  # a linear crossfade over the overlap: the two parts' sound summed
            graph.append(f"{joined}[p{n}]acrossfade=ns={_samples(part.overlap, timeline)}:c1=tri:c2=tri[j{n}]")
        else:
            graph.append(f"{joined}[p{n}]concat=n=2:v=0:a=1[j{n}]")
        joined = f"[j{n}]"
    graph.append(f"{joined}asplit[m][l];[m]ebur128=peak=true,anullsink;[l]{LEVEL_CHAIN}[out]")
    # Read from where each part starts (ffmpeg's seek decodes from the keyframe before, exact to
    # the sample): a minute at the end of an hour's take is not an hour of sound to decode.
    args = [arg for path, seek in inputs
            for arg in (*safe_input_args(), *(["-ss", f"{seek:.6f}"] if seek > 0 else []), "-i", file_url(path))]
    text = _run(ffmpeg, [*args, "-filter_complex", ";".join(graph), "-map", "[out]", "-f", "null", "-"],
                "measuring the narration under the music")
    return parse_summary(text)[0], levels_in(text)


def _samples(frames: int, timeline: Timeline) -> int:
    return round(Fraction(frames) * AUDIO_RATE / timeline.fps)


def _sound_of(part: Part, inputs: list[tuple[Path, float]]) -> str:
    """The head of a part's sound chain (the file it reads added to ``inputs``)."""
    gain = f"volume={float(part.gain):g}dB," if part.gain else ""
    index = len(inputs)
    if part.voice is not None:
        inputs.append((part.voice, float(part.voice_from)))
        return f"[{index}:a:0]asetpts=PTS-STARTPTS,{gain}"
    if part.has_audio:
        inputs.append((part.source, float(part.start)))
        tempo, speed = "", Fraction(part.speed)
        while speed < Fraction(1, 2):  # atempo takes 0.5 to 100 per instance
            tempo += "atempo=0.5,"
            speed *= 2
        if speed != 1:
            tempo += f"atempo={float(speed):.6f},"
        return (f"[{index}:a:0]asetpts=PTS-STARTPTS,atrim=duration={float(part.length):.6f},"
                f"{tempo}{gain}")
    return f"anullsrc=r={AUDIO_RATE}:cl=stereo,"


def _run(ffmpeg: Ffmpeg, args: list[str], doing: str) -> str:
    done = subprocess.run(dies_with_castkit([ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-loglevel",
                                             "info", *args]), stdin=subprocess.DEVNULL, capture_output=True)
    text = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise WorkError(f"{doing} failed:\n{stderr_tail(text)}")
    return text
