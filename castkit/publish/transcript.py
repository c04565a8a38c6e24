"""Transcripts: what ``castkit transcribe`` writes beside a capture, and a clip edited by
editing that text (``transcript:``), and captions made of spoken words.

``NAME.transcript.json`` is the truth: every word with its start and end (seconds of the
capture), where the voice is (the Silero detector's spans: cuts are snapped into the silence
between them, never on Whisper's rough word ends), the model and the capture's identity.
``NAME.transcript.txt`` is what the author edits: one phrase a line, each opened by its time.

The edited text is compared with the JSON's words as sequences of whitespace-separated tokens
(difflib, no junk heuristics): a deleted token is cut, a replaced run is a correction (its
times kept, its new spelling shown in the captions); tokens with no counterpart (an insertion,
or a line moved elsewhere) are refused, each at its line. Time marks and ``#`` lines are
ignored, so joining or splitting lines changes nothing.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import textwrap
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence, TYPE_CHECKING

from castkit.base.timecode import format_time
from castkit.cache.keys import content_identity, same_content
from castkit.media.speech import decode_sound, SPEECH_RATE, voice_spans, Word
from castkit.publish.captions import read_text

if TYPE_CHECKING:
    from castkit.media.probe import MediaInfo

TRANSCRIPT_VERSION = 1
TEXT_SUFFIX = ".transcript.txt"
DATA_SUFFIX = ".transcript.json"
# A line of the text file is a phrase: it ends at a sentence or clause mark, at a pause of the
# voice, or at this many words.
LINE_WORDS = 14
PHRASE_GAP = 0.5  # seconds between two words that end a line
PHRASE_END = (".", "?", "!", ";", ":", ",")
SENTENCE_END = (".", "?", "!")
# Before a voice onset, a cut keeps this much of the silence (at most half of it): the cut
# lands in silence, and the next word's first consonant is never clipped.
CUT_LEAD = 0.08
# Captions made of spoken words, split for reading (BBC and Netflix timed-text guidelines):
# at most 2 lines of 42 characters, each cue on screen 1 to 7 seconds.
CUE_LINE_CHARS = 42
CUE_LINES = 2
CUE_MIN_SECONDS = 1.0
CUE_MAX_SECONDS = 7.0
CUE_GAP = 0.8  # a longer silence between two words starts a new cue

_MARK = re.compile(r"^\s*\[([0-9:.]*)\]\s*")
# Aligning a changed run of words (a correction next to a deletion is one run to difflib): the
# cost of cutting a word said, and of showing one more new word on a word already corrected;
# pairing a new word with a word said costs how unlike they are (0 to 1), and half more when the
# new word's line is not the said word's (by the line's time mark).
_CUT_COST = 0.6
_EXTRA_COST = 0.8
_OTHER_LINE = 0.5


class TranscriptError(ValueError):
    """What is wrong with a transcript (a message after its name), at a line of the text file
    when ``line`` is given."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class Transcript:
    """A capture's words (seconds of the capture), its voice spans, and what made them."""

    words: tuple[Word, ...]
    voice: tuple[tuple[float, float], ...]
    model: str
    language: str | None
    identity: dict
    capture: str  # the capture's file name, for messages
    duration: float


@dataclass(frozen=True)
class Edit:
    """A transcript as the author left it: for each word, whether it is kept and how it is
    spelt now (its correction, or itself)."""

    kept: tuple[bool, ...]
    spelt: tuple[str, ...]

    @property
    def cut_words(self) -> int:
        return self.kept.count(False)


def text_path(capture: Path) -> Path:
    return capture.with_name(capture.stem + TEXT_SUFFIX)


def data_path(text: Path) -> Path:
    """``take.transcript.txt`` -> ``take.transcript.json``."""
    name = text.name
    if name.endswith(TEXT_SUFFIX):
        return text.with_name(name[: -len(TEXT_SUFFIX)] + DATA_SUFFIX)
    return text.with_suffix(".json")


def is_transcript(path: Path) -> bool:
    return path.name.endswith(TEXT_SUFFIX)


def tokens(words: Sequence[Word]) -> list[Word]:
    """Words split at whitespace inside them (a recogniser may write "1, 000"), sharing times."""
    out = []
    for w in words:
        parts = w.text.split()
        if len(parts) <= 1:
            if parts:
                out.append(Word(parts[0], w.start, w.end))
            continue
        step = (w.end - w.start) / len(parts)
        out += [Word(p, w.start + i * step, w.start + (i + 1) * step) for i, p in enumerate(parts)]
    return out


def phrase_lines(words: Sequence[Word]) -> list[tuple[int, int]]:
    """Words [a, b) of each line of the text file: a phrase ends at a clause mark, at a pause
    of PHRASE_GAP, or after LINE_WORDS words."""
    lines, first = [], 0
    for n, w in enumerate(words):
        last = n == len(words) - 1
        gap = (words[n + 1].start - w.end) if not last else 0
        if (last or w.text.endswith(PHRASE_END) or gap >= PHRASE_GAP
                or n + 1 - first >= LINE_WORDS):
            lines.append((first, n + 1))
            first = n + 1
    return lines


def render_text(t: Transcript) -> str:
    head = (f"# castkit transcript of {t.capture} ({t.model}). Delete words or lines to cut them "
            f"from a clip with\n# 'transcript:'; change a word to correct its caption. Lines "
            f"starting with # and the [times] are ignored.\n")
    body = [f"[{format_time(Fraction(t.words[a].start).limit_denominator(1000))}] "
            + " ".join(w.text for w in t.words[a:b])
            for a, b in phrase_lines(t.words)]
    return head + "\n".join(body) + ("\n" if body else "")


def render_data(t: Transcript) -> str:
    """The JSON, one word (and one voice span) a line: readable, and a diff of two is short."""
    head = json.dumps({
        "castkit_transcript": TRANSCRIPT_VERSION,
        "capture": {"name": t.capture, **t.identity},
        "model": t.model, "language": t.language, "duration": round(t.duration, 3),
    }, indent=1)[:-2]
    words = ",\n  ".join(json.dumps({"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3)})
                         for w in t.words)
    voice = ",\n  ".join(json.dumps([round(a, 3), round(b, 3)]) for a, b in t.voice)
    return f'{head},\n "words": [\n  {words}\n ],\n "voice": [\n  {voice}\n ]\n}}\n'



def _read_text(path: Path) -> str:
    return read_text(path, TranscriptError)


def load_data(path: Path) -> Transcript:
    """The words of a ``.transcript.json`` (TranscriptError naming what is wrong)."""
    try:
        raw = _read_text(path)
    except TranscriptError as exc:
        raise TranscriptError(f"{path.name}: {exc} (castkit transcribe makes it with the text)") from None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("castkit_transcript") != TRANSCRIPT_VERSION:
            raise ValueError("not a castkit transcript of this version")
        capture = data["capture"]
        words = tuple(Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in data["words"])
        voice = tuple((float(a), float(b)) for a, b in data["voice"])
        return Transcript(words, voice, str(data["model"]), data.get("language"),
                          {k: capture[k] for k in ("size", "mtime_ns", "head_sha256")},
                          str(capture["name"]), float(data["duration"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TranscriptError(f"{path.name} is not a castkit transcript ({exc}); "
                              f"run castkit transcribe again") from None


def check_capture(t: Transcript, capture: Path) -> None:
    """TranscriptError unless ``t`` was made from ``capture`` (same size and first MiB)."""
    if not same_content(t.identity, content_identity(capture)):
        raise TranscriptError(f"was made from another recording ({t.capture}, "
                              f"{t.identity.get('size')} bytes), not {capture.name}; "
                              f"run castkit transcribe {capture.name} again")


def edited_tokens(text: str) -> list[tuple[str, int, str | None]]:
    """The tokens of an edited text file with their 1-based line numbers and their line's time
    mark (None where the author removed it)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        mark = _MARK.match(line)
        found += [(tok, number, mark[1] if mark else None) for tok in _MARK.sub("", line).split()]
    return found


def _marks(words: Sequence[Word]) -> list[str]:
    """Each word's line's time mark, as render_text writes it."""
    marks = [""] * len(words)
    for a, b in phrase_lines(words):
        mark = format_time(Fraction(words[a].start).limit_denominator(1000))
        for n in range(a, b):
            marks[n] = mark
    return marks


def _bare(text: str) -> str:
    return text.strip(".,?!;:\"'()-\u2026").lower()


def _align(said: Sequence[tuple[str, str]], new: Sequence[tuple[str, str | None]]) -> list[int]:
    """For each new word of a changed run, the word said that it corrects (indices into
    ``said``, in order; several new words may correct one); the words said that no new word
    corrects are cut. Least total cost (see _CUT_COST)."""
    n, m = len(said), len(new)
    inf = math.inf

    def pair(i: int, j: int) -> float:
        a, b = _bare(said[i][0]), _bare(new[j][0])
        unlike = 1 - difflib.SequenceMatcher(None, a, b).ratio() if a or b else 0.0
        return unlike + (_OTHER_LINE if new[j][1] is not None and new[j][1] != said[i][1] else 0)

    # free[i][j]: said[:i] and new[:j] aligned, said[i-1] cut (or i == 0); held: said[i-1] corrected.
    free = [[inf] * (m + 1) for _ in range(n + 1)]
    held = [[inf] * (m + 1) for _ in range(n + 1)]
    back: dict = {}
    free[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            for cost, state in ((free[i][j], "f"), (held[i][j], "h")):
                if cost == inf:
                    continue
                if i < n and cost + _CUT_COST < free[i + 1][j]:  # said[i] cut
                    free[i + 1][j] = cost + _CUT_COST
                    back["f", i + 1, j] = (state, i, j)
                if i < n and j < m and cost + pair(i, j) < held[i + 1][j + 1]:  # said[i] <- new[j]
                    held[i + 1][j + 1] = cost + pair(i, j)
                    back["h", i + 1, j + 1] = (state, i, j)
            if i > 0 and j < m and held[i][j] + _EXTRA_COST < held[i][j + 1]:  # one more on said[i-1]
                held[i][j + 1] = held[i][j] + _EXTRA_COST
                back["h", i, j + 1] = ("h", i, j)
    state, i, j = ("f" if free[n][m] <= held[n][m] else "h"), n, m
    target = [0] * m
    while (i, j) != (0, 0):
        prev = back[state, i, j]
        if state == "h":
            target[j - 1] = i - 1
        state, i, j = prev
    return target


def diff(t: Transcript, text: str) -> Edit:
    """What the author kept and corrected of ``t``'s words in ``text`` (the edited file);
    TranscriptError at the first line that adds words or moves them."""
    original = [w.text for w in t.words]
    marks = _marks(t.words)
    edited = edited_tokens(text)
    new = [tok for tok, _, _ in edited]
    kept = [False] * len(original)
    spelt = list(original)
    matcher = difflib.SequenceMatcher(None, original, new, autojunk=False)
    opcodes = matcher.get_opcodes()
    deleted = [original[i1:i2] for tag, i1, i2, _, _ in opcodes if tag in ("delete", "replace")]
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            for i in range(i1, i2):
                kept[i] = True
        elif tag == "replace":
            # A correction: the words said keep their times and show the new spelling. Word for
            # word when the counts agree; else the run shows the new words on its first word.
            # difflib makes one run of a correction next to a cut: which words said the new ones
            # correct is decided by likeness and line (_align); the others are cut.
            target = _align([(original[i], marks[i]) for i in range(i1, i2)],
                            [(tok, mark) for tok, _, mark in edited[j1:j2]])
            corrected: dict[int, list[str]] = {}
            for k, i in enumerate(target):
                corrected.setdefault(i1 + i, []).append(new[j1 + k])
            for i, spelling in corrected.items():
                kept[i] = True
                spelt[i] = " ".join(spelling)
        elif tag == "insert":
            words = new[j1:j2]
            line = edited[j1][1]
            shown = " ".join(words)
            shown = shown if len(shown) <= 50 else shown[:49] + "\u2026"
            if any(_contains(run, words) for run in deleted) or _contains(original, words):
                raise TranscriptError(f"{shown!r} is moved from elsewhere in the take; a "
                                      f"transcript can cut and correct words, not reorder them "
                                      f"(use two clips of the take)", line)
            raise TranscriptError(f"{shown!r} was never said in {t.capture}; a transcript can "
                                  f"cut and correct words, not add them", line)
    return Edit(tuple(kept), tuple(spelt))


def _contains(run: Sequence[str], words: Sequence[str]) -> bool:
    n = len(words)
    return any(list(run[i:i + n]) == list(words) for i in range(len(run) - n + 1)) if n else False


def read_edit(text_file: Path, capture: Path) -> tuple[Transcript, Edit]:
    """A transcript's data and the author's edit of it, checked against ``capture``
    (TranscriptError: missing JSON, another recording, words added or moved)."""
    t = load_data(data_path(text_file))
    check_capture(t, capture)
    return t, diff(t, _read_text(text_file))


def _onset(t: Transcript, index: int) -> float:
    """Where the voice of word ``index`` starts, snapped to the voice detector: the start of the
    voice span nearest the recogniser's start among those after the previous word began; a
    little before it, inside the silence. Words said without a pause between them have no
    onset of their own: then the middle of the recogniser's gap."""
    w = t.words[index]
    after = t.words[index - 1].start if index > 0 else -math.inf
    spans = [(a, b) for a, b in t.voice if after < a <= w.end]
    if spans:
        a = min(spans, key=lambda s: abs(s[0] - w.start))[0]
        before = max((b for _, b in t.voice if b <= a), default=0.0)
        return max(before, a - min(CUT_LEAD, (a - before) / 2))
    if index > 0:
        return (t.words[index - 1].end + w.start) / 2
    return max(0.0, w.start - CUT_LEAD)


def _offset(t: Transcript, index: int) -> float:
    """Where the voice of word ``index`` ends (its last word before a cut to the end)."""
    w = t.words[index]
    before = t.words[index + 1].end if index + 1 < len(t.words) else math.inf
    spans = [(a, b) for a, b in t.voice if w.start <= b < before]
    if spans:
        b = min(spans, key=lambda s: abs(s[1] - w.end))[1]
        after = min((a for a, _ in t.voice if a >= b), default=t.duration)
        return min(after, b + min(CUT_LEAD, (after - b) / 2))
    if index + 1 < len(t.words):
        return (w.end + t.words[index + 1].start) / 2
    return w.end + CUT_LEAD


def cuts(t: Transcript, edit: Edit) -> list[tuple[float, float]]:
    """The stretches of the capture (seconds) that the deleted words take, snapped to the
    silence: each run of deleted words goes from just before its own voice onset to just
    before the next kept word's (the pause before the run stays, the one after it goes, so
    the kept speech keeps its rhythm); a run at the end goes from just after the last kept
    word's voice; one at the start from the capture's start."""
    found, n, i = [], len(t.words), 0
    while i < n:
        if edit.kept[i]:
            i += 1
            continue
        j = i
        while j < n and not edit.kept[j]:
            j += 1
        if i == 0 and j == n:
            found.append((0.0, math.inf))
        elif i == 0:
            found.append((0.0, _onset(t, j)))
        elif j == n:
            found.append((_offset(t, i - 1), math.inf))
        else:
            found.append((_onset(t, i), _onset(t, j)))
        i = j
    return [(a, b) for a, b in found if b > a]


def spoken_words(t: Transcript, edit: Edit | None) -> list[tuple[Word, bool]]:
    """The words kept, spelt as the author corrected them, each with whether a cut comes right
    before it (a caption never runs across a cut)."""
    out, cut_before = [], False
    for n, w in enumerate(t.words):
        if edit is not None and not edit.kept[n]:
            cut_before = True
            continue
        text = edit.spelt[n] if edit is not None else w.text
        if text:
            out.append((Word(text, w.start, w.end), cut_before))
        cut_before = False
    return out


def _fits(words: Sequence[str]) -> bool:
    lines = textwrap.wrap(" ".join(words), CUE_LINE_CHARS, break_long_words=False)
    return len(lines) <= CUE_LINES and all(len(line) <= CUE_LINE_CHARS for line in lines)


def _layout(words: Sequence[str]) -> str:
    """A cue's text on at most two lines, balanced (the first line no longer than needed)."""
    text = " ".join(words)
    if len(text) <= CUE_LINE_CHARS:
        return text
    best = None
    for k in range(1, len(words)):
        a, b = " ".join(words[:k]), " ".join(words[k:])
        if len(a) <= CUE_LINE_CHARS and len(b) <= CUE_LINE_CHARS:
            score = abs(len(a) - len(b))
            if best is None or score < best[0]:
                best = (score, a + "\n" + b)
    return best[1] if best else "\n".join(textwrap.wrap(text, CUE_LINE_CHARS))


def cues_of(spoken: Sequence[tuple[Word, bool]]) -> list[tuple[Fraction, Fraction, str]]:
    """Captions of spoken words (source time): cues of at most CUE_LINES lines of
    CUE_LINE_CHARS, at most CUE_MAX_SECONDS long, broken at sentence ends, at silences of
    CUE_GAP and at cuts, each shown at least CUE_MIN_SECONDS where the next cue leaves room."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    after_cut: set[int] = set()  # the groups a cut comes right before
    for word, cut_before in spoken:
        if current:
            gap = word.start - current[-1].end
            too_long = word.end - current[0].start > CUE_MAX_SECONDS
            full = not _fits([w.text for w in current] + [word.text])
            sentence = current[-1].text.endswith(SENTENCE_END) and current[-1].end - current[0].start >= CUE_MIN_SECONDS
            if cut_before or gap >= CUE_GAP or sentence:
                groups.append(current)
                current = []
                if cut_before:
                    after_cut.add(len(groups))
            elif too_long or full:
                # Broken at the last phrase end that leaves a second on screen, else here.
                ends = [k for k in range(len(current) - 1)
                        if current[k].text.endswith(PHRASE_END)
                        and current[k].end - current[0].start >= CUE_MIN_SECONDS]
                k = ends[-1] + 1 if ends else len(current)
                groups.append(current[:k])
                current = current[k:]
        current.append(word)
    if current:
        groups.append(current)
    cues = []
    for n, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        # Not into a cut: what is cut lies somewhere before the next group, and a cue held into
        # it would come back after it, for the rest of its second.
        if end - start < CUE_MIN_SECONDS and n + 1 not in after_cut:
            room = groups[n + 1][0].start if n + 1 < len(groups) else math.inf
            end = max(end, min(start + CUE_MIN_SECONDS, room))
        cues.append((_ms(start), _ms(end), _layout([w.text for w in group])))
    return [c for c in cues if c[1] > c[0]]


def _ms(seconds: float) -> Fraction:
    return Fraction(round(seconds * 1000), 1000)


def cut_listing(t: Transcript, edit: Edit, start: Fraction, end: Fraction) -> list[str]:
    """For --dry-run: each cut inside [start, end) with its source times and the words it takes."""
    lines = []
    for a, b in cuts(t, edit):
        a, b = max(float(start), a), min(float(end), b)
        if b <= a:
            continue
        said = [w.text for n, w in enumerate(t.words) if not edit.kept[n] and a <= w.start < b]
        shown = " ".join(said)
        shown = shown if len(shown) <= 60 else shown[:59] + "\u2026"
        lines.append(f"  {format_time(Fraction(a).limit_denominator(1000))}-"
                     f"{format_time(Fraction(b).limit_denominator(1000))} {shown!r}")
    return lines


def transcribe(source: MediaInfo, recogniser, language: str | None, ffmpeg,
               start: Fraction = Fraction(0), length: Fraction | None = None,
               duration: float | None = None) -> Transcript:
    """Recognise the words of the capture ``source`` (from ``start`` for ``length``; times stay
    the capture's) and find its voice spans."""
    sound = decode_sound(source, start, length, ffmpeg)
    shift = float(start)
    words = tokens(recogniser.words(sound, language))
    spans = voice_spans(sound)
    seconds = len(sound) / SPEECH_RATE
    return Transcript(
        tuple(Word(w.text, w.start + shift, w.end + shift) for w in words),
        tuple((a + shift, b + shift) for a, b in spans),
        recogniser.model, language, content_identity(source.path), source.path.name,
        duration if duration is not None else shift + seconds)
