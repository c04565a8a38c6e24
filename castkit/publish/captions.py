"""Captions: a clip's ``captions:`` file (SRT, WebVTT or ASS, read by pysubs2) retimed into
cast time through the clip's trim and speed.

A cue wholly outside the kept part of its source is dropped; one crossing an edge is clamped to
it (as auto-editor and ffmpeg-editlist do, research/editing-and-export.md section C). Source time
t of a clip kept from ``start`` for ``length`` seconds at ``speed``, whose first frame is cast
frame F of an output at ``fps``, lands at F / fps + (t - start) / speed.

Every output gets ``NAME.srt`` and ``NAME.vtt`` beside it (DV has no subtitle stream); the MP4
carries them as a soft mov_text track, the WebM as WebVTT.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from castkit.base.files import MAX_TEXT_BYTES, FileRefused, read_regular


@dataclass(frozen=True)
class Cue:
    start: Fraction  # seconds of cast time
    end: Fraction
    text: str  # plain text, lines separated by "\n"


# A cue is a line or two on screen; a longer one is a mistake (a transcript pasted whole), and
# MP4's mov_text cannot carry one past 64 KiB: the join would fail after every encode.
MAX_CUE_CHARS = 1000


class CaptionsError(ValueError):
    pass


def read_text(path: Path, error: type[Exception]) -> str:
    """A text file an author wrote (captions, a transcript): a regular file of at most
    MAX_TEXT_BYTES, UTF-8 (a BOM allowed); ``error`` (its message for people) if it is not."""
    try:
        return read_regular(path, MAX_TEXT_BYTES).decode("utf-8-sig")
    except FileNotFoundError:
        raise error("no such file") from None
    except FileRefused as exc:
        raise error(str(exc)) from None
    except UnicodeDecodeError:
        raise error("is not UTF-8 text") from None
    except OSError as exc:
        raise error(f"cannot be read ({exc.strerror or exc})") from None


def load(path: Path) -> list[tuple[Fraction, Fraction, str]]:
    """The cues of a captions file, in its own (source) time: (start, end, plain text). Only
    a regular file of at most MAX_TEXT_BYTES is read (never a FIFO or a device)."""
    import pysubs2

    text = read_text(path, CaptionsError)
    try:
        subs = pysubs2.SSAFile.from_string(text)
    except Exception as exc:  # noqa: BLE001 - pysubs2's format errors
        raise CaptionsError(f"is not SRT, WebVTT or ASS captions ({exc})") from None
    cues = []
    for event in subs:
        if event.is_comment:
            continue
        text = event.plaintext.strip()
        if len(text) > MAX_CUE_CHARS:
            raise CaptionsError(f"the cue at {_clock(event.start)} has {len(text)} characters; "
                                f"a cue holds at most {MAX_CUE_CHARS}")
        if text and event.end > event.start:
            cues.append((Fraction(event.start, 1000), Fraction(event.end, 1000), text))
    return cues


def _clock(ms: int) -> str:
    seconds, ms = divmod(max(0, ms), 1000)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{ms:03d}"


def retime(cues: Sequence[tuple[Fraction, Fraction, str]], start: Fraction, length: Fraction,
           speed: Fraction, offset: Fraction, shown: Fraction) -> list[Cue]:
    """Cues of a clip kept from ``start`` for ``length`` source seconds at ``speed``, starting
    at cast time ``offset`` and shown for ``shown`` seconds (its whole frames)."""
    end = start + length
    out = []
    for a, b, text in cues:
        if b <= start or a >= end:
            continue  # outside the kept part
        a, b = max(a, start), min(b, end)
        cast_a = offset + min((a - start) / speed, shown)
        cast_b = offset + min((b - start) / speed, shown)
        if cast_b > cast_a:
            out.append(Cue(cast_a, cast_b, text))
    return out


def _subs(cues: Sequence[Cue]):
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in cues:
        subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000),
                                     text=cue.text.replace("\n", "\\N")))
    return subs


def as_srt(cues: Sequence[Cue]) -> str:
    return _subs(cues).to_string("srt")


def as_vtt(cues: Sequence[Cue]) -> str:
    return _subs(cues).to_string("vtt")


def caption_paths(output: Path) -> tuple[Path, Path]:
    return output.with_suffix(".srt"), output.with_suffix(".vtt")
