"""Speech: the words of a take with their times, and where its voice is (``castkit transcribe``,
``transcript:``, ``captions: auto``, ``pauses: {detector: voice}``).

Recognition sits behind one small seam, ``Recogniser``: given a take's sound (16 kHz mono, as
Whisper and Silero want it) it returns words with their start and end. castkit's recogniser is
faster-whisper (CTranslate2, int8 on the CPU), an optional extra imported only when speech is
asked for (``pip install 'castkit[speech]'``); the tests give the transcript logic a fake one.

Whisper's word times are rough (about 0.5 s off on espeak-ng narration, research/round3.md):
castkit never cuts on them. Where the voice really starts and stops comes from a voice activity
detector, the Silero model faster-whisper ships (``voice_spans``), and a cut is snapped into the
silence between those spans.

The sound reaches Python as 16 kHz mono float samples (64 kB a second) read from castkit's
ffmpeg through a pipe; no picture is ever decoded here.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, Sequence, TYPE_CHECKING

from castkit.base.jobs import file_url
from castkit.errors import UserError, WorkError
from castkit.media.ffmpeg import dies_with_castkit, Ffmpeg, safe_input_args, stderr_tail
from castkit.media.origins import offset_args, SOUND

if TYPE_CHECKING:
    from castkit.media.probe import MediaInfo

SPEECH_RATE = 16000  # samples a second: what Whisper and Silero VAD are trained on
DEFAULT_MODEL = "base.en"
MODEL_ENV = "CASTKIT_SPEECH_MODEL"
INSTALL_HINT = "speech recognition needs faster-whisper: pip install 'castkit[speech]'"
# Silero's speech probability above which a 32 ms chunk is voice, and the silence that ends a
# stretch of voice: short, so that the gap between two phrases (or two words said apart) is a
# place to cut. Padded by a little, so a soft consonant at a word's edge stays inside.
VAD_THRESHOLD = 0.5
VAD_MIN_SILENCE_MS = 100
VAD_PAD_MS = 30


class SpeechUnavailable(UserError):
    """faster-whisper is not installed (exit 2, saying how to install it)."""

    def __init__(self, what: str = "") -> None:
        super().__init__(f"{what}: {INSTALL_HINT}" if what else INSTALL_HINT)


@dataclass(frozen=True)
class Word:
    """One recognised word: its text as the recogniser wrote it (punctuation attached) and its
    start and end, seconds from the start of the sound it was given."""

    text: str
    start: float
    end: float


class Recogniser(Protocol):
    """What castkit asks of speech recognition (the seam the tests fake)."""

    @property
    def model(self) -> str:
        """A name for the model, stored with each transcript (and in cache keys)."""
        ...

    def words(self, sound: Any, language: str | None) -> list[Word]:
        """The words of ``sound`` (float32 samples at SPEECH_RATE, mono), in order."""
        ...


def default_model() -> str:
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def have_speech() -> bool:
    """Whether faster-whisper is installed (found, not imported: importing it costs a second)."""
    import importlib.util

    return importlib.util.find_spec("faster_whisper") is not None


def require_speech(what: str = "") -> None:
    """Raise SpeechUnavailable (exit 2) unless faster-whisper can be imported."""
    if not have_speech():
        raise SpeechUnavailable(what)


class WhisperRecogniser:
    """faster-whisper with a model name (fetched into its own cache on first use, as its users
    expect) or a local CTranslate2 model directory; int8 on the CPU."""

    def __init__(self, model: str | None = None, prompt: str | None = None) -> None:
        require_speech()
        self._name = model or default_model()
        self._prompt = prompt  # words Whisper is led to write (fillers: its prompt has some)
        self._model: Any = None

    @property
    def model(self) -> str:
        path = Path(self._name)
        return str(path.resolve()) if path.is_dir() else self._name

    def _load(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            try:
                self._model = WhisperModel(self._name, device="cpu", compute_type="int8",
                                           cpu_threads=max(1, min(4, os.cpu_count() or 1)))
            except Exception as exc:  # noqa: BLE001 - a bad name, no network, a broken folder
                raise UserError(f"speech model {self._name!r} cannot be loaded ({exc}); give "
                                f"a faster-whisper model name or a model folder (--model, "
                                f"{MODEL_ENV})") from None
        return self._model

    def words(self, sound: Any, language: str | None) -> list[Word]:
        model = self._load()
        segments, _ = model.transcribe(sound, language=language, word_timestamps=True,
                                       beam_size=5, condition_on_previous_text=False,
                                       vad_filter=False, initial_prompt=self._prompt)
        return [Word(w.word.strip(), float(w.start), float(w.end))
                for seg in segments for w in (seg.words or ()) if w.word.strip()]


def decode_sound(source: MediaInfo, start: Fraction, length: Fraction | None, ffmpeg: Ffmpeg) -> Any:
    """The sound of ``source`` from ``start`` for ``length`` seconds of its time (None: to the
    end) as float32 samples at SPEECH_RATE, mono (numpy)."""
    import numpy as np

    path = source.path
    argv = [ffmpeg.path, "-hide_banner", "-nostdin", "-loglevel", "error", *safe_input_args(),
            *offset_args(source, (SOUND,)), "-vn", "-i", file_url(path),
            "-af", f"aresample={SPEECH_RATE}:async=1:first_pts=0,"
                   f"atrim=start={float(start)}" + (f":duration={float(length)}" if length is not None else ""),
            "-ac", "1", "-f", "f32le", "-acodec", "pcm_f32le", "-"]
    try:
        done = subprocess.run(dies_with_castkit(argv), stdin=subprocess.DEVNULL, capture_output=True)
    except OSError as exc:
        raise WorkError(f"{path}: cannot run ffmpeg for its sound ({exc.strerror})") from None
    if done.returncode != 0:
        raise WorkError(f"{path}: ffmpeg failed while reading its sound:\n"
                        f"{stderr_tail(done.stderr.decode('utf-8', 'replace'))}")
    return np.frombuffer(done.stdout, dtype=np.float32).copy()


def voice_spans(sound: Any) -> list[tuple[float, float]]:
    """Where ``sound`` (SPEECH_RATE mono float32) has voice, by the Silero VAD model that
    faster-whisper ships: (start, end) seconds, in order, apart by at least VAD_MIN_SILENCE_MS."""
    require_speech()
    from faster_whisper.vad import get_speech_timestamps, VadOptions

    options = VadOptions(threshold=VAD_THRESHOLD, min_silence_duration_ms=VAD_MIN_SILENCE_MS,
                         speech_pad_ms=VAD_PAD_MS, min_speech_duration_ms=60)
    found = get_speech_timestamps(sound, options, sampling_rate=SPEECH_RATE)
    return [(s["start"] / SPEECH_RATE, s["end"] / SPEECH_RATE) for s in found]


def transcribe_sound(sound: Any, recogniser: Recogniser, language: str | None) -> list[Word]:
    return [w for w in recogniser.words(sound, language) if w.text]


def words_as_data(words: Sequence[Word]) -> list[dict]:
    return [{"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3)} for w in words]
