"""The transcript diff (publish.transcript), with a fake recogniser: no model, no sound.

The fake says a script of phrases at known times, with the voice detector's spans around each
phrase; the author's edits are made on the text castkit writes, as a person would make them."""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from castkit.cli import main
from castkit.media.speech import Word
from castkit.plan.speech import filler_edit
from castkit.publish.transcript import (
    cues_of, cuts, data_path, diff, load_data, read_edit, render_data, render_text,
    spoken_words, text_path, tokens, Transcript, TranscriptError,
)

SCRIPT = [  # (start, words): each word 0.3 s, phrases 0.6 s apart
    (0.5, "First we open the terminal."),
    (2.6, "Then we install the package."),
    (4.7, "And finally we run the tests."),
]


class FakeRecogniser:
    """Says SCRIPT, whatever it is given."""

    model = "fake"

    def words(self, sound, language):
        found = []
        for start, text in SCRIPT:
            for n, word in enumerate(text.split()):
                found.append(Word(word, start + 0.3 * n, start + 0.3 * n + 0.25))
        return found


def _transcript() -> Transcript:
    words = tuple(tokens(FakeRecogniser().words(None, None)))
    # The voice: from each phrase's first word to its last, as the detector finds it.
    voice, at = [], 0
    for start, text in SCRIPT:
        count = len(text.split())
        voice.append((round(start - 0.02, 3), round(start + 0.3 * (count - 1) + 0.27, 3)))
        at += count
    return Transcript(words, tuple(voice), "fake", "en", {"size": 1, "mtime_ns": 1, "head_sha256": "x"},
                      "take.ogv", 7.0)


def _edit(text_change):
    t = _transcript()
    text = render_text(t)
    return t, diff(t, text_change(text))


def _words_kept(t, edit) -> str:
    return " ".join(edit.spelt[n] for n in range(len(t.words)) if edit.kept[n] and edit.spelt[n])


def test_the_text_as_written_keeps_every_word_and_cuts_nothing():
    t, edit = _edit(lambda text: text)
    assert all(edit.kept) and cuts(t, edit) == []
    lines = render_text(t).splitlines()
    assert lines[2:] == ["[0:00.50] First we open the terminal.", "[0:02.60] Then we install the package.",
                         "[0:04.70] And finally we run the tests."]


def test_marks_comments_and_line_breaks_change_nothing():
    t, edit = _edit(lambda text: "# my notes\n" + " ".join(
        line.split("] ", 1)[1] for line in text.splitlines() if line.startswith("[")))
    assert all(edit.kept) and cuts(t, edit) == []


def test_a_deleted_line_is_cut_from_its_onset_to_the_next_kept_onset():
    t, edit = _edit(lambda text: text.replace("[0:02.60] Then we install the package.\n", ""))
    assert _words_kept(t, edit) == "First we open the terminal. And finally we run the tests."
    [(a, b)] = cuts(t, edit)
    # Just before the voice of "Then" (2.58) to just before that of "And" (4.68): the pause
    # before the cut stays, the one after it goes, each cut inside silence.
    assert a == pytest.approx(2.58 - 0.08) and b == pytest.approx(4.68 - 0.08)
    assert t.voice[0][1] < a < t.voice[1][0] and t.voice[1][1] < b < t.voice[2][0]


def test_a_deleted_word_inside_a_phrase_falls_back_to_the_recogniser_s_gap():
    t, edit = _edit(lambda text: text.replace("install the", "the"))
    [(a, b)] = cuts(t, edit)
    install = next(w for w in t.words if w.text == "install")
    the = t.words[t.words.index(install) + 1]
    assert a == pytest.approx((t.words[t.words.index(install) - 1].end + install.start) / 2)
    assert b == pytest.approx((install.end + the.start) / 2)


def test_deleting_the_first_or_last_line_cuts_to_the_capture_s_edge():
    t, edit = _edit(lambda text: text.replace("[0:00.50] First we open the terminal.\n", ""))
    assert cuts(t, edit) == [(0.0, pytest.approx(2.5))]
    t, edit = _edit(lambda text: text.replace("[0:04.70] And finally we run the tests.\n", ""))
    [(a, b)] = cuts(t, edit)
    assert a == pytest.approx(t.voice[1][1] + 0.08) and b == math.inf


def test_an_empty_transcript_cuts_everything():
    for text in ("", "# nothing left\n", "[0:00.50]\n"):
        t = _transcript()
        edit = diff(t, text)
        assert not any(edit.kept) and cuts(t, edit) == [(0.0, math.inf)]
        assert cues_of(spoken_words(t, edit)) == []


def test_a_changed_word_is_a_correction_kept_at_its_time():
    t, edit = _edit(lambda text: text.replace("terminal.", "console."))
    assert all(edit.kept) and cuts(t, edit) == []
    n = [w.text for w in t.words].index("terminal.")
    assert edit.spelt[n] == "console."
    cue = next(c for c in cues_of(spoken_words(t, edit)) if "console." in c[2])
    assert cue[0] == Fraction(1, 2) and "terminal" not in cue[2]


def test_one_word_corrected_as_two_and_two_as_one():
    t, edit = _edit(lambda text: text.replace("install", "set up").replace("run the", "run"))
    assert edit.cut_words == 1
    said = [w.text for w in t.words]
    assert edit.spelt[said.index("install")] == "set up"
    # "run the" -> "run": "the" is cut (no correction needed for "run").
    assert not edit.kept[len(said) - 2] and edit.kept[len(said) - 3]


def test_a_correction_beside_a_deleted_line_pairs_with_the_likest_word_on_its_line():
    # difflib sees one changed run ("terminal. Then we install the package." -> "terminals.").
    t, edit = _edit(lambda text: text.replace("terminal.", "terminals.")
                    .replace("[0:02.60] Then we install the package.\n", ""))
    said = [w.text for w in t.words]
    assert edit.spelt[said.index("terminal.")] == "terminals."
    assert [said[n] for n in range(len(said)) if not edit.kept[n]] == "Then we install the package.".split()
    assert len(cuts(t, edit)) == 1


def test_words_never_said_are_refused_at_their_line():
    with pytest.raises(TranscriptError) as caught:
        _edit(lambda text: text.replace("the tests.", "the tests. And we are done."))
    assert caught.value.line == 5 and "never said" in str(caught.value)
    with pytest.raises(TranscriptError) as caught:
        _edit(lambda text: text + "a new line\n")
    assert caught.value.line == 6


def test_a_reordered_line_is_refused_at_its_line():
    def swap(text):
        lines = text.splitlines()
        lines[2], lines[3] = lines[3], lines[2]
        return "\n".join(lines)

    with pytest.raises(TranscriptError) as caught:
        _edit(swap)
    assert "moved" in str(caught.value) and caught.value.line in (3, 4)


def test_data_round_trip_and_identity(tmp_path: Path):
    capture = tmp_path / "take.ogv"
    capture.write_bytes(b"a recording" * 100)
    other = tmp_path / "other.ogv"
    other.write_bytes(b"another one" * 100)
    from castkit.cache.keys import content_identity

    t = _transcript()
    t = Transcript(t.words, t.voice, t.model, t.language, content_identity(capture), capture.name, t.duration)
    text = text_path(capture)
    assert text.name == "take.transcript.txt" and data_path(text).name == "take.transcript.json"
    text.write_text(render_text(t).replace("[0:02.60] Then we install the package.\n", ""))
    with pytest.raises(TranscriptError, match="transcribe"):  # no JSON yet
        read_edit(text, capture)
    for wrong in ("[]", '"text"', "3"):  # JSON, but not a transcript's object
        data_path(text).write_text(wrong)
        with pytest.raises(TranscriptError, match="is not a castkit transcript"):
            load_data(data_path(text))
    data_path(text).write_text(render_data(t))
    assert load_data(data_path(text)) == t
    loaded, edit = read_edit(text, capture)
    assert edit.cut_words == 5
    with pytest.raises(TranscriptError, match="another recording"):
        read_edit(text, other)


def test_cues_are_split_for_reading():
    words, at = [], 0.0
    for n in range(60):  # a long sentence without a pause: 0.35 s a word, 60 words
        words.append(Word(f"word{n % 7}" + ("." if n == 59 else ""), at, at + 0.3))
        at += 0.35
    cues = cues_of([(w, False) for w in words])
    assert len(cues) > 1
    for a, b, text in cues:
        lines = text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
        assert 1 <= b - a <= 7
    # Every word once, in order.
    assert " ".join(c[2].replace("\n", " ") for c in cues) == " ".join(w.text for w in words)
    # A short phrase stays on screen for a second (not into the next cue).
    short = cues_of([(Word("Hi.", 0, 0.2), False), (Word("There", 3, 3.3), False)])
    assert short[0][:2] == (0, 1)
    # A cut starts a new cue.
    split = cues_of([(Word("one", 0, 0.3), False), (Word("two", 0.4, 0.7), True)])
    assert [c[2] for c in split] == ["one", "two"]
    # A short cue is not held into a cut (it would come back after it): its words' time only.
    held = cues_of([(Word("Then", 3.92, 4.1), False), (Word("we", 4.15, 4.3), False),
                    (Word("the", 5.2, 5.4), True)])
    assert held[0] == (Fraction(392, 100), Fraction(43, 10), "Then we")


def test_fillers_and_voice_without_words_are_cut():
    t = _transcript()
    words = list(t.words) + [Word("um,", 2.05, 2.3)]
    words.sort(key=lambda w: w.start)
    t = Transcript(tuple(words), t.voice + ((6.6, 6.9),), t.model, t.language, t.identity,
                   t.capture, t.duration)
    t2, edit = filler_edit(t)
    gone = [w.text for w, k in zip(t2.words, edit.kept) if not k]
    assert gone == ["um,", "(hesitation)"]


def test_transcribe_without_the_extra_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if not installed
    take = tmp_path / "take.ogv"
    take.write_bytes(b"x")
    assert main(["transcribe", str(take)]) == 2
    assert "pip install 'castkit[speech]'" in capsys.readouterr().err


def test_a_transcript_cut_splits_the_kept_parts_on_the_frame_grid():
    from castkit.outputs.dv import DvProfile
    from castkit.plan.encode import Trim
    from castkit.plan.pauses import kept_parts, without
    from castkit.recipe.model import PauseSpec

    target = DvProfile().raster  # 25 fps
    trim = Trim(Fraction(1), Fraction(8))  # frames 25 to 225
    whole = kept_parts([], PauseSpec(), trim, Fraction(8), target)
    kept = without(whole, [(50, 100), (200, 10**12)])
    assert [(p.first, p.end, p.frames) for p in kept.parts] == [(25, 50, 25), (100, 200, 100)]
    assert kept.changed and kept.frames == 125
    # with a pause sped up 4x across the cut, and the clip at speed 2: each piece at its rate
    paused = kept_parts([(Fraction(1), Fraction(4))], PauseSpec(Fraction(4), margin=Fraction(0)), trim,
                        Fraction(8), target, speed=Fraction(2))
    cut = without(paused, [(60, 80)])
    assert [(p.first, p.end, p.rate, p.frames) for p in cut.parts] == [
        (25, 50, 2, 12), (50, 60, 8, 1), (80, 125, 8, 6), (125, 225, 2, 50)]
    assert without(whole, []) == whole


def test_a_short_edge_chunk_is_joined_for_a_transition():
    """Chunks of 50 frames of a clip kept from frame 30 to 160: 20, 50, 50 and 10 frames. A
    transition of 25 frames into it and one of 12 out of it need longer edge chunks: each
    short edge is joined to its neighbour, every part kept in order."""
    from castkit.outputs.dv import DvProfile
    from castkit.plan.encode import Trim
    from castkit.plan.pauses import chunks, edges_at_least, kept_parts
    from castkit.recipe.model import PauseSpec

    target = DvProfile().raster
    kept = kept_parts([], PauseSpec(), Trim(Fraction(30, 25), Fraction(130, 25)), Fraction(130, 25), target)
    found = chunks(kept, 50)
    assert [k.frames for k in found] == [20, 50, 50, 10]
    assert edges_at_least(found, 0, 0) == found
    joined = edges_at_least(found, 25, 12)
    assert [k.frames for k in joined] == [70, 60]
    assert [p for k in joined for p in k.parts] == [p for k in found for p in k.parts]
    assert [k.frames for k in edges_at_least(found, 200, 0)] == [130]


def _read(tmp_path, body):
    from castkit.recipe.reader import read_recipe
    from helpers import write_recipe

    return read_recipe(write_recipe(tmp_path, body))


def test_speech_recipe_keys(tmp_path):
    recipe, problems = _read(tmp_path, """
        burn: true
        outputs: [cast.mp4, {path: short.mp4, captions: soft}]
        segments:
          - clip: take.ogv
            transcript: take.transcript.txt
            captions: auto
            fillers: cut
            pauses: {detector: voice}
        """)
    assert problems == []
    seg = recipe.segments[0]
    assert seg.transcript == tmp_path / "take.transcript.txt" and seg.captions_auto and seg.captions is None
    assert seg.fillers and seg.pauses.detector == "voice"
    assert recipe.burn and recipe.outputs[0].burn is None and recipe.outputs[1].burn is False
    assert tmp_path / "take.transcript.txt" in recipe.sources()


@pytest.mark.parametrize("line, message", [
    ("fillers: keep", "fillers must be cut (or left out), not 'keep'"),
    ("pauses: {detector: ears}", "pauses.detector must be level or voice, not 'ears'"),
    ("transcript: http://x/t.txt", "transcript: 'http://x/t.txt' is a URL"),
])
def test_speech_recipe_mistakes(tmp_path, line, message):
    _, problems = _read(tmp_path, f"""
        segments:
          - clip: take.ogv
            {line}
        """)
    assert any(message in p.message and p.line == 4 for p in problems), problems


def test_captions_burn_is_for_web_masters(tmp_path):
    _, problems = _read(tmp_path, """
        outputs: [{path: cast.dv, captions: burn}]
        segments:
          - clip: take.ogv
        """)
    assert any("captions applies to .mp4, .webm" in p.message for p in problems), problems
