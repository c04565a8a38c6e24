"""The music bed (``music:``): a track under the cast at its own level, ducked under the narration
by a gain envelope castkit computes, and the cast's loudness target met by the whole mix.

Where the narration is, is measured on the cast's own sound (its segments joined, as every
output has it: after trims, pauses, speed and voice-overs), with the level every 20 ms that the
pauses analysis reads (``plan.pauses.LEVEL_CHAIN``). From those levels castkit draws the
envelope: the music falls by ``duck`` dB from ATTACK before speech starts to its start, stays
down while the voice goes on (gaps under BRIDGE bridged), and rises again over RELEASE after it
ends; the ramps are linear in dB, so the largest step over 10 ms is duck x 10 ms / ATTACK
(0.6 dB at -12 dB). ``fade_in``, ``fade_out`` and ``under`` (segments it is silent under, with a
RAMP at each change) are in the same envelope. It is computed for every sample (numpy, in
blocks), fed to ffmpeg as 16-bit PCM and multiplied into the music (``amultiply``): sample-exact,
no compressor guessing, and the same whatever the output.

The music, looped (or padded with silence) to the cast's length, is brought to ``level`` LUFS
by one gain measured on it (ebur128), multiplied by the envelope and kept in the cache as FLAC
(the bed). Each output then mixes its sound with the bed (``amix``, no normalisation): the
narration by the gain that brings the mix to the cast's loudness target (measured on the mix
and refined, as ``publish.loudness`` does for the sound alone), a limiter only where the mix's
true peak would pass -1 dBTP. The measurement is kept as the mix's parameters; each web join
and each DV segment gets a filter script of its own (which input the bed is, at which sample
of it its sound starts).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: a build without music never loads it
    import numpy as np

from castkit.base.files import write_atomically
from castkit.base.jobs import file_url, Job
from castkit.cache.keys import key
from castkit.cache.names import music_name
from castkit.cache.seals import intact, seal_file
from castkit.errors import WorkError
from castkit.media.ffmpeg import dies_with_castkit, Ffmpeg, graph_file_option, safe_input_args, stderr_tail
from castkit.media.raster import AUDIO_CHANNELS, AUDIO_RATE
from castkit.plan.pauses import LEVEL_CHAIN, levels_in, WINDOW_SAMPLES
from castkit.publish.loudness import (
    LIMIT_DBFS, LoudnessStep, MAX_REFINEMENTS, parse_summary, SILENCE_LUFS, TOLERANCE_LU,
    TRUE_PEAK_CEILING,
)
from castkit.recipe.model import MusicSpec

# The envelope's shape (issue 25): down from 0.2 s before speech, up over 0.5 s after it, pauses
# under 1 s bridged (a breath between two sentences does not lift the music).
ATTACK = 0.2
RELEASE = 0.5
BRIDGE = 1.0
# Speech is where the narration, at the level the cast publishes it (its loudness gain applied),
# is above this: -40 dBFS is the pauses' threshold (README, "Dead air"), 20 dB under the speech
# of a cast at -16 LUFS and well above a quiet room's floor.
SPEECH_DBFS = -40.0
RAMP = 0.3  # seconds the bed takes to fall silent or come back where `under` changes
BLOCK = 1 << 20  # samples of envelope computed and written at once (8 MB of float64)
ENVELOPE_FULL = 32767  # the envelope's 1.0 in 16-bit PCM
MAX_MUSIC_GAIN = 40.0  # dB: a nearly silent music file is not lifted into noise
# An exported envelope's points on a ramp that is linear in gain (a fade): one every 3 dB of it,
# down to -60 dB (the floor of Shotcut's and Kdenlive's volume keyframes).
RAMP_DB_STEP = 3.0
RAMP_FLOOR_DB = -60.0
MUSIC_VERSION = 1  # raised when the bed or the mix changes (its cache files go stale)

_LOCKS: dict[Path, threading.Lock] = {}
_GUARD = threading.Lock()


def speech_spans(levels: tuple[float, ...] | list[float], gain: float,
                 window: float = WINDOW_SAMPLES / AUDIO_RATE) -> list[tuple[float, float]]:
    """Seconds of the cast where someone speaks: windows whose level, ``gain`` dB lifted, is at
    or above SPEECH_DBFS, gaps under BRIDGE joined."""
    spans: list[list[float]] = []
    for n, level in enumerate(levels):
        if level + gain < SPEECH_DBFS:
            continue
        a, b = n * window, (n + 1) * window
        if spans and a - spans[-1][1] < BRIDGE:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    return [(a, b) for a, b in spans]


def duck_points(spans: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """The duck's shape as points (seconds, 0..1 of the duck): 1 under speech, ramps of ATTACK
    before and RELEASE after. Spans are BRIDGE apart, more than ATTACK + RELEASE: no overlap."""
    times, values = [-1e9], [0.0]
    for a, b in spans:
        times += [a - ATTACK, a, b, b + RELEASE]
        values += [0.0, 1.0, 1.0, 0.0]
    return times, values


def under_points(segments: list[tuple[float, float, bool]]) -> tuple[list[float], list[float]]:
    """Where the bed plays (1) or not (0), from each segment's (start, end, plays), with a RAMP
    inside the segment on the side where it goes silent or comes back."""
    times, values = [-1e9], [1.0 if not segments or segments[0][2] else 0.0]
    for (a, b, on), (c, d, next_on) in zip(segments, segments[1:]):
        if on == next_on:
            continue
        if on:  # falls silent before the boundary
            ramp = min(RAMP, (b - a) / 2)
            times += [b - ramp, b]
            values += [1.0, 0.0]
        else:  # comes back after it
            ramp = min(RAMP, (d - c) / 2)
            times += [c, c + ramp]
            values += [0.0, 1.0]
    return times, values


@dataclass(frozen=True)
class Envelope:
    """The bed's gain at every sample: duck (dB) x under x fade in x fade out."""

    duck_db: float
    duck: tuple[tuple[float, ...], tuple[float, ...]]
    under: tuple[tuple[float, ...], tuple[float, ...]]
    fade_in: float
    fade_out: float
    seconds: float  # the cast's length

    def gains(self, first: int, count: int) -> np.ndarray:
        import numpy as np

        return self.gain_at((np.arange(first, first + count, dtype=np.float64)) / AUDIO_RATE)

    def gain_at(self, t: np.ndarray) -> np.ndarray:
        """The gain (0..1) at the times ``t`` (seconds of the cast)."""
        import numpy as np

        gain = np.power(10.0, self.duck_db * np.interp(t, *self.duck) / 20)
        gain *= np.interp(t, *self.under)
        if self.fade_in > 0:
            gain *= np.clip(t / self.fade_in, 0.0, 1.0)
        if self.fade_out > 0:
            gain *= np.clip((self.seconds - t) / self.fade_out, 0.0, 1.0)
        return gain

    def break_points(self) -> tuple[tuple[float, float], ...]:
        """The envelope as (seconds, gain) points an editor joins with straight lines in dB
        (``castkit export``: volume keyframes in dB): where the duck's ramps start and end
        (linear in dB already), and over each ramp that is linear in gain (the fades,
        ``under``'s ramps) a point every RAMP_DB_STEP dB of it down to RAMP_FLOOR_DB, so that
        a straight line in dB between two stays within a few tenths of a dB of the ramp."""
        import numpy as np

        times = {0.0, self.seconds}
        times.update(t for t in self.duck[0] if 0 <= t <= self.seconds)
        # Each ramp as (where its gain is 0, where it is 1).
        ramps = [(0.0, self.fade_in), (self.seconds, self.seconds - self.fade_out)]
        ramps += [(a, b) if va < vb else (b, a) for a, b, va, vb
                  in zip(self.under[0], self.under[0][1:], self.under[1], self.under[1][1:]) if va != vb]
        steps = np.power(10.0, -np.arange(0, -RAMP_FLOOR_DB + RAMP_DB_STEP, RAMP_DB_STEP) / 20)
        for silent, full in ramps:
            if silent != full:
                times.update(float(t) for t in (silent, *(silent + (full - silent) * steps))
                             if 0 <= t <= self.seconds)
        at = np.array(sorted(times))
        return tuple(zip(at.tolist(), self.gain_at(at).tolist()))


def envelope_of(spec: MusicSpec, levels: tuple[float, ...], gain: float,
                segments: list[tuple[float, float, bool]], seconds: float) -> Envelope:
    spans = speech_spans(levels, gain) if spec.duck is not None else []
    duck = duck_points(spans)
    under = under_points(segments)
    return Envelope(float(spec.duck or 0), (tuple(duck[0]), tuple(duck[1])),
                    (tuple(under[0]), tuple(under[1])), float(spec.fade_in), float(spec.fade_out), seconds)


def complex_option(ffmpeg: Ffmpeg) -> str:
    """The option that reads a filter graph from a file (``media.ffmpeg.graph_file_option``)."""
    return graph_file_option(ffmpeg.version_tuple)


def limiter() -> str:
    return f"alimiter=limit={10 ** (LIMIT_DBFS / 20):.4f}:level=0:latency=1"


def mix_graph(gain: float, limit: bool, bed_input: int, offset: int) -> str:
    """Input 0's sound (the cast's, or one DV segment's) ``gain`` dB, with the bed from its
    sample ``offset`` under it, as ``[out]``."""
    bed = f"[{bed_input}:a]" + (f"atrim=start_sample={offset},asetpts=PTS-STARTPTS," if offset else "")
    return (f"[0:a]volume={gain:.2f}dB[voice];{bed}anull[bed];"
            f"[voice][bed]amix=inputs=2:duration=first:dropout_transition=0:normalize=0"
            + (f",{limiter()}" if limit else "") + "[out]")


@dataclass(frozen=True)
class MusicStep(LoudnessStep):
    """Before a web join or a DV segment's copy: measure the narration, make the bed and find
    the mix's gain (once per cast, the same for every output: ``script`` holds the result),
    then write this consumer's filter script (``consumer_script``). ``target`` None: the
    narration keeps its level (``loudness: off``)."""

    music: MusicSpec = MusicSpec(())
    music_seconds: tuple[Fraction, ...] = ()  # each music file's length
    segments: tuple[tuple[float, float, bool], ...] = ()  # (start, end, the bed plays) each
    bed: Path = Path()
    levels: Path = Path()  # the narration's levels (a record in the cache)
    bed_input: int = 1  # which input of the consumer's ffmpeg the bed is
    offset: int = 0  # the bed's sample where the consumer's sound starts

    def reads(self) -> tuple[Path, ...]:
        return (*self.parts, *self.music.files)

    @property
    def seconds(self) -> float:
        return self.segments[-1][1] if self.segments else 0.0

    @property
    def consumer_script(self) -> Path:
        return self.script.with_name(music_name(key(self.script.name, self.bed_input, self.offset), ".fc"))

    def at(self, bed_input: int, offset: int) -> "MusicStep":
        return replace(self, bed_input=bed_input, offset=offset)

    def render(self) -> None:
        with _GUARD:
            lock = _LOCKS.setdefault(self.script, threading.Lock())
        with lock:
            # Each file as castkit wrote it (its seal), or made again: a damaged one never mixes.
            if not (intact(self.script) and intact(self.bed)):
                self._make()
            mix = json.loads(self.script.read_text(encoding="utf-8"))
        if not intact(self.consumer_script):
            graph = mix_graph(mix["gain"], mix["limit"], self.bed_input, self.offset)
            write_atomically(self.consumer_script, lambda temp: temp.write_text(graph, encoding="ascii"))
            seal_file(self.consumer_script)

    # -- the mix, once per cast ---------------------------------------------------------------

    def _make(self) -> None:
        self.list_file.write_text(self.concat_text(), encoding="utf-8")
        try:
            integrated, _ = self._measure()
            voiced = integrated > SILENCE_LUFS
            gain = speech_gain(integrated, self.target)
            envelope = envelope_of(self.music, self._levels(), gain, list(self.segments), self.seconds)
            self._make_bed(envelope)
            gain, limit = self._balance(gain, voiced)
        finally:
            self.list_file.unlink(missing_ok=True)
        text = json.dumps({"gain": round(gain, 2), "limit": limit})
        write_atomically(self.script, lambda temp: temp.write_text(text, encoding="ascii"))
        seal_file(self.bed)
        seal_file(self.script)

    def _levels(self) -> tuple[float, ...]:
        try:
            return tuple(json.loads(self.levels.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
        argv = [self.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
                *_concat_input(self.list_file), "-map", "0:a:0", "-af", LEVEL_CHAIN, "-f", "null", "-"]
        levels = levels_in(self._run(argv, "measuring the narration under the music"))
        text = json.dumps([v if math.isfinite(v) else -999.0 for v in levels])
        write_atomically(self.levels, lambda temp: temp.write_text(text, encoding="utf-8"))
        return levels

    def _make_bed(self, envelope: Envelope) -> None:
        samples = round(self.seconds * AUDIO_RATE) + AUDIO_RATE  # a second more: never short
        inputs, count = music_inputs(self.music, self.music_seconds, self.seconds)
        chain = music_chain(count, samples)
        measured = self._run([self.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", *inputs,
                              "-filter_complex", chain + ",ebur128=peak=true[out]", "-map", "[out]",
                              "-f", "null", "-"], "measuring the music")
        level = music_gain(self.music, parse_summary(measured)[0])
        graph = (f"{chain},volume={level:.2f}dB[music];"
                 f"[{count}:a]pan=stereo|c0=c0|c1=c0[envelope];[music][envelope]amultiply[out]")
        argv = [self.ffmpeg.path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *inputs,
                "-f", "s16le", "-ar", str(AUDIO_RATE), "-ac", "1", "-i", "pipe:0",
                "-filter_complex", graph, "-map", "[out]", "-c:a", "flac", "-sample_fmt", "s16",
                "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS), "-f", "flac"]

        def write(temp: Path) -> None:
            import numpy as np

            proc = subprocess.Popen(dies_with_castkit([*argv, file_url(temp)]), stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            assert proc.stdin is not None
            try:
                for first in range(0, samples, BLOCK):
                    gains = envelope.gains(first, min(BLOCK, samples - first))
                    proc.stdin.write(np.round(gains * ENVELOPE_FULL).astype("<i2").tobytes())
                proc.stdin.close()
            except BrokenPipeError:
                pass
            err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
            if proc.wait() != 0:
                raise WorkError(f"making the music bed failed:\n{stderr_tail(err)}")

        write_atomically(self.bed, write)

    def _balance(self, gain: float, voiced: bool) -> tuple[float, bool]:
        """The narration's gain that brings the mix to the target, and whether it needs the
        limiter: measured with the bed in, and refined while it misses by more than
        TOLERANCE_LU."""
        integrated, peak = self._measure_mix(gain, False)
        limit = peak > TRUE_PEAK_CEILING
        if limit:
            integrated, peak = self._measure_mix(gain, True)
        if self.target is None or not voiced:
            return gain, limit
        for _ in range(MAX_REFINEMENTS + 1):
            if abs(integrated - float(self.target)) <= TOLERANCE_LU:
                break
            gain += float(self.target) - integrated
            integrated, peak = self._measure_mix(gain, limit)
            if not limit and peak > TRUE_PEAK_CEILING:
                limit = True
                integrated, peak = self._measure_mix(gain, limit)
        return gain, limit

    def _measure_mix(self, gain: float, limit: bool) -> tuple[float, float]:
        argv = [self.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", *_concat_input(self.list_file),
                *safe_input_args(), "-i", file_url(self.bed),
                "-filter_complex", mix_graph(gain, limit, 1, 0).replace("[out]", ",ebur128=peak=true[out]"),
                "-map", "[out]", "-f", "null", "-"]
        return parse_summary(self._run(argv, "measuring the loudness of the mix"))

    def _run(self, argv: list[str], doing: str) -> str:
        done = subprocess.run(dies_with_castkit(argv), stdin=subprocess.DEVNULL, capture_output=True)
        text = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            raise WorkError(f"{doing} failed:\n{stderr_tail(text)}")
        return text

    def shell(self) -> str:
        import shlex

        argv = [sys.executable, "-m", "castkit.plan.music", str(self.consumer_script)]
        return (f"# the music bed {self.bed.name} (its level, fades and ducking under the narration) "
                f"and the mix's gain ({self.script.name}), made once; then this output's mix:\n"
                f"# {shlex.join(argv)}  (castkit's own step; run by castkit build)")


def music_rounds(music: MusicSpec, music_seconds: tuple[Fraction, ...], seconds: float) -> int:
    """How many times the music files play one after the other: enough to cover the cast
    where the music loops, else once."""
    total = float(sum(music_seconds))
    return max(1, math.ceil(seconds / total)) if music.loop and total > 0 else 1


def music_inputs(music: MusicSpec, music_seconds: tuple[Fraction, ...], seconds: float) -> tuple[list[str], int]:
    """The music files as inputs, repeated to cover the cast where it loops, and how many."""
    rounds = music_rounds(music, music_seconds, seconds)
    args: list[str] = []
    for _ in range(rounds):
        for path in music.files:
            args += [*safe_input_args(), "-i", file_url(path)]
    return args, rounds * len(music.files)


def music_chain(count: int, samples: int) -> str:
    """The music joined (each at 48 kHz stereo), cut to ``samples`` and padded to them."""
    joined = "".join(f"[{i}:a:0]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo[m{i}];"
                     for i in range(count))
    joined += "".join(f"[m{i}]" for i in range(count)) + f"concat=n={count}:v=0:a=1,"
    return joined + f"atrim=end_sample={samples},apad=whole_len={samples}"


def music_gain(music: MusicSpec, loudness: float) -> float:
    """The gain (dB) that brings music measured at ``loudness`` LUFS to its ``level``; a
    silent file is left as it is, a nearly silent one is not lifted into noise."""
    return 0.0 if loudness <= SILENCE_LUFS else min(MAX_MUSIC_GAIN, float(music.level) - loudness)


def speech_gain(integrated: float, target: Fraction | None) -> float:
    """The gain (dB) the cast's loudness step gives the narration measured at ``integrated``
    LUFS: where the speech is, is judged at the level the cast publishes it."""
    return float(target) - integrated if target is not None and integrated > SILENCE_LUFS else 0.0


def _concat_input(list_file: Path) -> list[str]:
    return ["-f", "concat", "-safe", "0", "-protocol_whitelist", "file",
            "-format_whitelist", "concat,mov,dv", "-i", file_url(list_file)]


def music_gain_job(label: str, raw: Path, output: Path, frames: int, step: MusicStep,
                   offset: int, profile) -> Job:
    """A raw DV segment with the cast's mix: its video copied, its sound (the narration at the
    cast's gain with the bed from sample ``offset`` under it) written again."""
    ffmpeg = step.ffmpeg
    step = step.at(1, offset)
    argv = [ffmpeg.path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "dv", "-i", file_url(raw), *safe_input_args(), "-i", file_url(step.bed),
            complex_option(ffmpeg), str(step.consumer_script),
            "-map", "0:v:0", "-map", "[out]", "-c:v", "copy", "-c:a", "pcm_s16le",
            "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS), "-map_metadata", "-1",
            "-f", "dv", file_url(output)]
    return Job(label, tuple(argv), output, frames, (raw,), size=profile.size(frames, False),
               prepare=(step,), profile=profile)
