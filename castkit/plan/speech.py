"""Speech in a build (issue 24): a clip edited by its transcript (``transcript:``), captions
from its voice (``captions: auto``, ``captions: NAME.transcript.txt``), filler words cut
(``fillers: cut``) and pauses found by the voice detector (``pauses: {detector: voice}``).

The transcript's cuts become cuts of the clip's kept parts (``plan.pauses.kept_of``), so that
a transcript edit is encoded exactly as ``pauses:`` encodes its cuts: frame-exact parts, their
sound cut on the same samples with the same short fades, every output, speed and camera alike,
and the kept parts in the segment's cache key. A build with ``transcript:`` needs no speech
model: the words and the voice spans are in the ``.transcript.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from castkit.base.files import write_atomically
from castkit.base.progress import say
from castkit.base.timecode import format_time
from castkit.cache.keys import file_identity, key
from castkit.cache.names import record_name
from castkit.errors import Problem, RecipeError, WorkError
from castkit.media.ffmpeg import Ffmpeg
from castkit.media.origins import offset_args, SOUND
from castkit.media.probe import MediaInfo
from castkit.media.speech import (
    decode_sound, default_model, have_speech, INSTALL_HINT, voice_spans, WhisperRecogniser, Word,
)
from castkit.plan.encode import Trim, trimmed_length
from castkit.publish.transcript import (
    cues_of, cut_listing, cuts, Edit, is_transcript, read_edit, spoken_words, transcribe,
    Transcript, TranscriptError,
)
from castkit.recipe.model import ClipSegment

SPEECH_VERSION = 1  # raised when what is cached (recognised words, voice spans) changes
# Filler words Whisper writes when asked to (its prompt below), and their kin; compared
# without case and punctuation.
FILLERS = frozenset({"um", "umm", "uh", "uhh", "er", "erm", "ah", "ahh", "hmm", "mm", "eh"})
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
# A stretch of voice with no word on it, at most this long, is a filler too (a hesitation
# Whisper left out).
FILLER_MAX = 1.0


@dataclass
class SpeechMemo:
    """One build's speech work (``Checked.speech``): each transcript read (and its edit), each
    clip's recognised words, and the cache files they are in."""

    edits: dict[tuple[Path, Path], tuple[Transcript, Edit]] = field(default_factory=dict)  # (text, capture)
    auto: dict[Any, Transcript] = field(default_factory=dict)
    files: set[Path] = field(default_factory=set)
    cues: dict[Any, list] = field(default_factory=dict)  # a clip's spoken captions, source time


def check_speech(seg: ClipSegment, info: MediaInfo, shown, memo: SpeechMemo) -> list[Problem]:
    """A clip's speech keys against its capture: each transcript read and diffed (its words
    added or moved, a missing JSON, another recording: a problem naming the transcript's line);
    recognition asked for without faster-whisper installed."""
    problems = []
    for path, where in ((seg.transcript, seg.transcript_where),
                        (seg.captions if seg.captions is not None and is_transcript(seg.captions) else None,
                         seg.captions_where)):
        if path is None or (path, seg.clip) in memo.edits:
            continue
        at = where or seg.where
        try:
            memo.edits[path, seg.clip] = read_edit(path, seg.clip)
        except TranscriptError as exc:
            line = f":{exc.line}" if exc.line else ""
            problems.append(at.problem(f"transcript {shown(path)}{line}: {exc}"))
    if (seg.transcript, seg.clip) in memo.edits:
        t, edit = memo.edits[seg.transcript, seg.clip]
        end = seg.start + seg.length(info.duration)
        inside = [n for n, w in enumerate(t.words) if seg.start <= w.start < end]
        if inside and not any(edit.kept[n] for n in inside):
            problems.append((seg.transcript_where or seg.where).problem(
                f"transcript {shown(seg.transcript)} keeps no word of the clip; nothing would "
                f"be left: remove the clip instead"))
    wants = [(seg.captions_auto, seg.captions_where, "captions: auto"),
             (seg.fillers, seg.fillers_where, "fillers: cut"),
             (seg.pauses is not None and seg.pauses.detector == "voice", seg.pauses_where,
              "pauses: {detector: voice}")]
    for asked, where, what in wants:
        if asked and not have_speech():
            problems.append((where or seg.where).problem(f"{what}: {INSTALL_HINT}"))
    if (seg.captions_auto or seg.fillers) and (seg.mute or info.audio is None) and seg.audio is None:
        problems.append((seg.captions_where or seg.fillers_where or seg.where).problem(
            "the clip has no sound to recognise"))
    return problems


def _recognised_path(seg: ClipSegment, info: MediaInfo, model: str, prompt: bool,
                     folder: Path) -> Path:
    trim = Trim(seg.start, seg.length(info.duration))
    digest = key("speech", SPEECH_VERSION, file_identity(info.path), str(trim.start),
                 str(trimmed_length(info, trim)), model, prompt)
    return folder / record_name("speech", digest)


def recognised(seg: ClipSegment, index: int, checked: Any, ffmpeg: Ffmpeg, folder: Path | None,
               quiet: bool = False) -> Transcript:
    """The words a clip says (its trimmed part, times of the capture) and its voice spans:
    recognised once per capture, trim and model, and kept in the cache ``folder`` (a rebuild
    recognises nothing). With ``fillers: cut`` Whisper is prompted to write the fillers."""
    memo: SpeechMemo = checked.speech
    if seg in memo.auto:
        return memo.auto[seg]
    info = checked.probes[seg.clip]
    source = info
    if seg.audio is not None and not seg.mute:  # the voice-over is what is heard
        source = checked.voices[seg.audio]
    model = default_model()
    path = _recognised_path(seg, source, model, seg.fillers, folder) if folder is not None else None
    found = None
    if path is not None:
        memo.files.add(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found = Transcript(tuple(Word(*w) for w in data["words"]),
                               tuple(tuple(v) for v in data["voice"]), model, None, {},
                               info.path.name, float(data["duration"]))
        except (OSError, ValueError, KeyError, TypeError):
            found = None
    if found is None:
        trim = Trim(seg.start, seg.length(info.duration))
        length = trimmed_length(info, trim)
        start = seg.audio_from if source is not info else trim.start
        if not quiet:
            say("status", f"segment {index}: recognising the words of {source.path.name} "
                          f"({format_time(length)}) with {model}")
        recogniser = WhisperRecogniser(model, prompt=FILLER_PROMPT if seg.fillers else None)
        heard = transcribe(source, recogniser, None, ffmpeg, start,
                           length / seg.speed if source is not info else length)
        if source is not info:  # a voice-over's time is the segment's: onto the capture's
            shift = lambda s: float(trim.start + (Fraction(s) - start) * seg.speed)  # noqa: E731
            heard = Transcript(tuple(Word(w.text, shift(w.start), shift(w.end)) for w in heard.words),
                               tuple((shift(a), shift(b)) for a, b in heard.voice), heard.model,
                               None, {}, info.path.name, float(info.duration))
        found = Transcript(heard.words, heard.voice, model, None, {}, info.path.name,
                           float(info.duration))
        if path is not None and folder.is_dir():
            data = {"words": [[w.text, w.start, w.end] for w in found.words],
                    "voice": [list(v) for v in found.voice], "duration": found.duration}
            try:
                write_atomically(path, lambda temp: temp.write_text(json.dumps(data), encoding="utf-8"))
            except WorkError:
                pass  # a read-only cache: recognised again next time
    memo.auto[seg] = found
    return found


def _is_filler(text: str) -> bool:
    return text.strip(".,?!;:-\u2026 ").lower() in FILLERS


def filler_edit(t: Transcript) -> tuple[Transcript, Edit]:
    """``fillers: cut``: the recognised fillers deleted; and each short stretch of voice that
    no word overlaps (a hesitation Whisper did not write) added as a deleted word."""
    words = list(t.words)
    for a, b in t.voice:
        if b - a <= FILLER_MAX and not any(w.start < b and w.end > a for w in t.words):
            words.append(Word("(hesitation)", a, b))
    words.sort(key=lambda w: w.start)
    kept = tuple(not (_is_filler(w.text) or w.text == "(hesitation)") for w in words)
    t = Transcript(tuple(words), t.voice, t.model, t.language, t.identity, t.capture, t.duration)
    return t, Edit(kept, tuple(w.text for w in words))


def speech_edit(seg: ClipSegment, index: int, checked: Any, ffmpeg: Ffmpeg,
                folder: Path | None, quiet: bool = False) -> tuple[Transcript, Edit] | None:
    """What a clip's words keep: its ``transcript:`` (read at check time), or its fillers cut
    (recognised now); None without either."""
    if seg.transcript is not None:
        return checked.speech.edits[seg.transcript, seg.clip]
    if seg.fillers:
        return filler_edit(recognised(seg, index, checked, ffmpeg, folder, quiet))
    return None


def speech_cuts(seg: ClipSegment, index: int, checked: Any, fps: Fraction, ffmpeg: Ffmpeg,
                folder: Path | None, quiet: bool = False) -> list[tuple[int, int]] | None:
    """The frames ``[lo, hi)`` of the capture (counted from its start, on ``fps``'s grid) that
    the clip's speech edit cuts; None when the clip has no speech edit."""
    found = speech_edit(seg, index, checked, ffmpeg, folder, quiet)
    if found is None:
        return None
    t, edit = found
    frames = []
    for a, b in cuts(t, edit):
        lo = round(Fraction(a).limit_denominator(10**6) * fps)
        hi = round(Fraction(b).limit_denominator(10**6) * fps) if math.isfinite(b) else 10**12
        if hi > lo:
            frames.append((lo, hi))
    return frames


def speech_listing(seg: ClipSegment, index: int, checked: Any, ffmpeg: Ffmpeg,
                   folder: Path | None) -> str | None:
    """For --dry-run: each cut of the clip's transcript or fillers, source times and words."""
    found = speech_edit(seg, index, checked, ffmpeg, folder, quiet=True)
    if found is None:
        return None
    t, edit = found
    info = checked.probes[seg.clip]
    lines = cut_listing(t, edit, seg.start, seg.start + seg.length(info.duration))
    what = "transcript" if seg.transcript is not None else "fillers"
    return "\n".join([f"{what} cuts (source times, words):"] + (lines or ["  none"]))


def source_cues(seg: ClipSegment, index: int, checked: Any, ffmpeg: Ffmpeg,
                folder: Path | None) -> list[tuple[Fraction, Fraction, str]] | None:
    """Captions made of a clip's spoken words, in the capture's time: from the author's
    corrected transcript (``captions: NAME.transcript.txt``) or recognised (``captions:
    auto``); None for any other captions. Words the clip's transcript or fillers cut are
    left out, and no cue runs across a cut."""
    if seg.captions is not None and is_transcript(seg.captions):
        t, edit = checked.speech.edits[seg.captions, seg.clip]
    elif seg.captions_auto:
        t, edit = recognised(seg, index, checked, ffmpeg, folder), None
    else:
        return None
    cut = speech_edit(seg, index, checked, ffmpeg, folder, quiet=True)
    if cut is not None:
        # Words inside what the clip's transcript or fillers cut are not captioned (and a cue
        # breaks there): they are not in the cast.
        gone = cuts(*cut)
        base = edit.kept if edit is not None else (True,) * len(t.words)
        kept = tuple(k and not any(a <= (w.start + w.end) / 2 < b for a, b in gone)
                     for w, k in zip(t.words, base))
        edit = Edit(kept, edit.spelt if edit is not None else tuple(w.text for w in t.words))
    return cues_of(spoken_words(t, edit))


def voice_quiet(seg: ClipSegment, index: int, checked: Any, ffmpeg: Ffmpeg, folder: Path | None,
                length: Fraction, quiet: bool = False) -> list[tuple[Fraction, Fraction]]:
    """``pauses: {detector: voice}``: the stretches of the trimmed part (seconds from its start)
    where the voice detector hears no one."""
    t = recognised_voice(seg, index, checked, ffmpeg, folder, quiet)
    start = seg.start
    found, at = [], Fraction(0)
    for a, b in t:
        a = Fraction(a).limit_denominator(1000) - start
        b = Fraction(b).limit_denominator(1000) - start
        if a > at:
            found.append((at, min(a, length)))
        at = max(at, b)
    if at < length:
        found.append((at, length))
    return [(a, b) for a, b in found if b > a]


def recognised_voice(seg: ClipSegment, index: int, checked: Any, ffmpeg: Ffmpeg,
                     folder: Path | None, quiet: bool = False) -> tuple[tuple[float, float], ...]:
    """The voice spans of a clip's trimmed part (capture time), detected once and cached."""
    memo: SpeechMemo = checked.speech
    if ("voice", seg) in memo.auto:
        return memo.auto["voice", seg]
    info = checked.probes[seg.clip]
    trim = Trim(seg.start, seg.length(info.duration))
    length = trimmed_length(info, trim)
    voice = checked.voices.get(seg.audio) if seg.audio is not None and not seg.mute else None
    source = voice or info
    path = None
    if folder is not None:
        digest = key("voice", SPEECH_VERSION, file_identity(source.path), str(trim.start), str(length),
                     str(seg.audio_from), str(seg.speed) if voice else "1",
                     *offset_args(source, (SOUND,)))  # a late sound's read (media.origins)
        path = folder / record_name("voice", digest)
        memo.files.add(path)
    spans = None
    if path is not None:
        try:
            spans = tuple(tuple(v) for v in json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            spans = None
    if spans is None:
        if not quiet:
            say("status", f"segment {index}: finding the voice in {source.path.name} ({format_time(length)})")
        start = seg.audio_from if voice else trim.start
        sound = decode_sound(source, start, length / seg.speed if voice else length, ffmpeg)
        rate = float(seg.speed) if voice else 1.0
        spans = tuple((float(trim.start) + a * rate, float(trim.start) + b * rate)
                      for a, b in voice_spans(sound))
        if path is not None and folder.is_dir():
            try:
                write_atomically(path, lambda temp: temp.write_text(json.dumps(spans), encoding="utf-8"))
            except WorkError:
                pass
    memo.auto["voice", seg] = spans
    return spans


def empty_after_cut(seg: ClipSegment) -> RecipeError:
    return RecipeError([(seg.transcript_where or seg.fillers_where or seg.where).problem(
        "the transcript and pauses leave nothing of the clip")])
