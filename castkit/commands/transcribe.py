"""``castkit transcribe CAPTURE...``: the words of each take, beside it, for the author to read
and edit (``NAME.transcript.txt``) and for castkit to cut by (``NAME.transcript.json``: every
word's times, the voice's spans, the model, the capture's identity). See publish.transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from castkit.base.files import shown_path, write_atomically
from castkit.base.progress import say
from castkit.base.timecode import format_time
from castkit.errors import UsageError
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.media.probe import probe
from castkit.media.speech import Recogniser, require_speech, WhisperRecogniser
from castkit.publish.transcript import (
    data_path, render_data, render_text, text_path, transcribe,
)


def transcribe_captures(captures: Sequence[Path], *, model: str | None = None,
                        language: str | None = None, force: bool = False,
                        recogniser: Recogniser | None = None, ffmpeg: Ffmpeg | None = None,
                        quiet: bool = False) -> list[Path]:
    """Write ``NAME.transcript.txt`` and ``.json`` beside each capture; the text files written.
    An existing transcript (perhaps edited by hand) is replaced only with ``force``."""
    if recogniser is None:
        require_speech("castkit transcribe")
    ffmpeg = ffmpeg or find_ffmpeg()
    found, problems = [], []
    for capture in captures:
        info = probe(capture, ffmpeg, need_video=False)
        if info.audio is None:
            problems.append(f"{shown_path(capture)}: has no sound to transcribe")
            continue
        for path in (text_path(capture), data_path(text_path(capture))):
            if path.exists() and not force:
                problems.append(f"{shown_path(path)}: already exists (perhaps edited); "
                                f"use --force to replace it")
        found.append((capture, info))
    if problems:
        raise UsageError("\n".join(problems))
    recogniser = recogniser or WhisperRecogniser(model)
    written = []
    for capture, info in found:
        if not quiet:
            say("status", f"transcribing {capture.name} ({format_time(info.duration)}) with {recogniser.model}")
        t = transcribe(info, recogniser, language, ffmpeg, duration=float(info.duration))
        text, data = text_path(capture), data_path(text_path(capture))
        write_atomically(data, lambda temp: temp.write_text(render_data(t), encoding="utf-8"))
        write_atomically(text, lambda temp: temp.write_text(render_text(t), encoding="utf-8"))
        written.append(text)
    return written
