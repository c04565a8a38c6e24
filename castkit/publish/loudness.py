"""Loudness: the whole cast brought to the recipe's target (``loudness:``, LUFS integrated, EBU
R128 as ffmpeg's ``ebur128`` measures it) by ONE gain, true peak kept at or below -1 dBTP.

Never ffmpeg's ``loudnorm``: where target and true peak cannot both be met by one gain, or the
loudness range is 0 (a tone), it silently turns dynamic (pumping, 192 kHz output; research/
web-delivery.md section 2). castkit measures the joined sound once (``ebur128=peak=true`` over
the concatenated segments), then applies ``volume=GAINdB`` and, only where the gained true peak
would pass -1 dBTP, ``alimiter`` with a sample-peak limit of -2 dBFS. Measured on a quiet
narration lifted by 24 dB: the limiter's sample limit of -2 dBFS gave -2.0 dBTP in PCM, and the
1 dB left covers AAC's and Opus's overshoot. ``level=0`` (its default auto-levelling would
undo the gain) and ``latency=1`` (no delay against the picture). Zeros stay zeros: a gain and a
limiter scale samples, they add none.

The measurement is cached as the filter it leads to, named by the segment files it measured
and the target: a rebuild that changes no segment measures nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from castkit.base.files import concat_list_path, write_atomically
from castkit.cache.seals import discard, intact, seal_file
from castkit.base.jobs import concat_list, file_url, Job
from castkit.errors import WorkError
from castkit.media.ffmpeg import dies_with_castkit, Ffmpeg, find_ffmpeg
from castkit.media.raster import AUDIO_CHANNELS, AUDIO_RATE


TRUE_PEAK_CEILING = -1.0  # dBTP
LIMIT_DBFS = -2.0  # alimiter's sample-peak limit where the ceiling needs one
SILENCE_LUFS = -70.0  # ebur128's floor: a silent cast gets no gain

_LOCKS: dict[Path, threading.Lock] = {}
_GUARD = threading.Lock()


def measure_argv(ffmpeg: Ffmpeg, list_file: Path, chain: str = "") -> list[str]:
    """Measure the joined sound (through ``chain`` first, where given)."""
    return [ffmpeg.path, "-hide_banner", "-nostdin", "-f", "concat", "-safe", "0",
            "-protocol_whitelist", "file", "-format_whitelist", "concat,mov,dv",
            "-i", file_url(list_file), "-map", "0:a:0",
            "-af", (chain + "," if chain else "") + "ebur128=peak=true", "-f", "null", "-"]


def parse_summary(text: str) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) from ebur128's summary on ffmpeg's stderr."""
    summary = text[text.rfind("Summary:"):]
    integrated = re.search(r"I:\s+(-?[0-9.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[0-9.]+|-inf) dBFS", summary)
    if not integrated or not peak:
        raise ValueError("no ebur128 summary")
    return float(integrated[1]), float(peak[1])


def audio_filter(integrated: float, peak: float, target: Fraction, gain: float | None = None) -> str:
    """The filter that brings a cast measured so to ``target``: one gain, a limiter only where
    the true peak would pass the ceiling."""
    if integrated <= SILENCE_LUFS:
        return "anull"
    if gain is None:
        gain = float(target) - integrated
    chain = f"volume={gain:.2f}dB"
    if peak + gain > TRUE_PEAK_CEILING:
        chain += f",alimiter=limit={10 ** (LIMIT_DBFS / 20):.4f}:level=0:latency=1"
    return chain


# Limiting the peaks takes some loudness with them (a lot where the peaks carry much of the
# energy): the limited sound is measured again and the gain raised by what is missing.
MAX_REFINEMENTS = 3
TOLERANCE_LU = 0.2


def filter_option(ffmpeg: Ffmpeg) -> str:
    """The option that reads an audio filter from a file: ``-/af`` from ffmpeg 7 on (where
    ``-filter_script`` went), ``-filter_script:a`` before."""
    version = ffmpeg.version_tuple
    return "-/af" if version is None or version >= (7, 0) else "-filter_script:a"


@dataclass(frozen=True)
class LoudnessStep:
    """Before a web join or a DV segment's gain: measure the cast's sound (its segments
    ``parts`` concatenated) unless ``script`` already holds the filter it leads to, and write
    that filter there. Every output's steps share the script: measured once per build."""

    parts: tuple[Path, ...]
    script: Path
    target: Fraction
    ffmpeg: Ffmpeg
    # Seconds of each part that are in the cast, (in, out), where not all of it (a DV part
    # that gives frames to a transition's overlap); () or None: the whole part.
    spans: tuple[tuple[Fraction, Fraction] | None, ...] = ()

    portable = False  # reads every segment of the cast: done where the cast is joined

    def reads(self) -> tuple[Path, ...]:
        return self.parts

    @property
    def list_file(self) -> Path:
        return concat_list_path(self.script)

    def concat_text(self) -> str:
        """The concat list of the cast's sound: each part, cut to its span where it has one."""
        return concat_list(self.parts, self.spans)

    def render(self) -> None:
        with _GUARD:
            lock = _LOCKS.setdefault(self.script, threading.Lock())
        with lock:
            if intact(self.script):
                return  # measured before (or for the other web output of this build)
            discard(self.script)  # damaged, or without its seal: measured again

            self.list_file.write_text(self.concat_text(), encoding="utf-8")
            try:
                integrated, peak = self._measure()
                chain = audio_filter(integrated, peak, self.target)
                gain = float(self.target) - integrated
                for _ in range(MAX_REFINEMENTS):
                    if "alimiter" not in chain:
                        break
                    limited, _ = self._measure(chain)
                    if abs(limited - float(self.target)) <= TOLERANCE_LU:
                        break
                    gain += float(self.target) - limited
                    chain = audio_filter(integrated, peak, self.target, gain)
            finally:
                self.list_file.unlink(missing_ok=True)
            write_atomically(self.script, lambda temp: temp.write_text(chain, encoding="ascii"))
            seal_file(self.script)  # as a segment is: a damaged script is never handed to a join

    def _measure(self, chain: str = "") -> tuple[float, float]:
        result = subprocess.run(dies_with_castkit(measure_argv(self.ffmpeg, self.list_file, chain)),
                                stdin=subprocess.DEVNULL, capture_output=True)
        text = result.stderr.decode("utf-8", "replace")
        try:
            if result.returncode != 0:
                raise ValueError(text.strip().splitlines()[-1:] or "failed")
            return parse_summary(text)
        except ValueError as exc:
            raise WorkError(f"measuring the loudness of the cast failed: {exc}") from None

    def shell(self) -> str:
        import shlex


        # Copy-pastable: the same step, run by castkit's own Python (measurement and gain).
        argv = [sys.executable, "-m", "castkit.publish.loudness", str(self.script), str(self.target),
                self.ffmpeg.path, *map(str, self.parts)]
        return (f"# the loudness of the cast, measured once; the filter it leads to is kept in "
                f"{self.script.name}:\n{shlex.join(argv)}")


def _main(argv: list[str]) -> int:
    """``python -m castkit.publish.loudness SCRIPT TARGET FFMPEG PART...``: what --dry-run prints."""

    script, target, ffmpeg_path, *parts = argv
    os.environ["CASTKIT_FFMPEG"] = ffmpeg_path
    LoudnessStep(tuple(Path(p) for p in parts), Path(script), Fraction(target), find_ffmpeg()).render()
    return 0


def gain_job(label: str, raw: Path, output: Path, frames: int, step: LoudnessStep,
             profile) -> "Job":
    """A raw DV segment with the cast's gain: the DV video copied, the sound (in every frame)
    filtered and written again. A DV cast is its segments' bytes, so the gain goes into each;
    a changed gain re-muxes every segment (a stream copy, no video encode)."""

    ffmpeg = step.ffmpeg
    argv = [ffmpeg.path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "dv", "-i", file_url(raw), "-map", "0:v:0", "-map", "0:a:0", "-c:v", "copy",
            filter_option(ffmpeg), str(step.script), "-c:a", "pcm_s16le", "-ar", str(AUDIO_RATE),
            "-ac", str(AUDIO_CHANNELS), "-map_metadata", "-1", "-f", "dv", file_url(output)]
    return Job(label, tuple(argv), output, frames, (raw,), size=profile.size(frames, False),
               prepare=(step,), profile=profile)


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
