"""``pauses:``: dead air cut or sped up, on takes with planted speech (espeak-ng) and pauses.

The take: four spoken phrases at 25 fps grid positions, separated by 1.6 s of digital silence
over a faint 97 Hz hum (not a whole number of periods in a frame, so a cut lands on another phase) (a room's noise, -49 dBFS RMS: below the -40 threshold, and a waveform
that a cut without a fade would step in). The picture is frames numbered by brightness
(tests/media.py), dropped (held: a still screen, as recorders write it) through the first and
the last pause and 0.3 s around them; it keeps changing through the middle pause (someone
typing without a word). Every result is read back from the built cast with PyAV.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import WHEEL_FFMPEG, write_recipe

FPS = 25
PAUSE = Fraction(8, 5)  # seconds of each planted pause
MARGIN = Fraction(23, 100)  # 5.75 frames: a detection off by one 20 ms window rounds the same
SAMPLES_PER_FRAME = 48000 // FPS


@dataclass(frozen=True)
class Take:
    path: Path
    phrases: tuple[tuple[Fraction, Fraction], ...]  # (start, end) seconds of each phrase
    pauses: tuple[tuple[Fraction, Fraction], ...]  # the planted pauses: still, moving, still
    length: Fraction


def _espeak() -> str:
    found = shutil.which("espeak-ng")
    if not found:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return found


def _run(*argv: str) -> None:
    subprocess.run([*argv], check=True, timeout=120, capture_output=True)


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Take:
    espeak = _espeak()
    folder = tmp_path_factory.mktemp("pauses")
    phrases, lengths = [], []
    for n, text in enumerate(["first we open the file", "then we save it", "and build it now",
                              "that is all"]):
        raw = folder / f"raw{n}.wav"
        _run(espeak, "-w", str(raw), text)
        # The phrase's own silence trimmed away, cut to whole frames (a short fade at each end,
        # so the phrase itself has no step), so the planted pauses lie on the frame grid.
        probe = folder / f"trim{n}.wav"
        _run(WHEEL_FFMPEG, "-v", "error", "-y", "-i", str(raw), "-af",
             "silenceremove=start_periods=1:start_threshold=-50dB,areverse,"
             "silenceremove=start_periods=1:start_threshold=-50dB,areverse,aresample=48000",
             "-ac", "1", str(probe))
        with av.open(str(probe)) as c:
            samples = sum(f.samples for f in c.decode(audio=0))
        frames = samples // SAMPLES_PER_FRAME
        phrases.append(probe)
        lengths.append(Fraction(frames, FPS))
    at, spans, gaps = Fraction(0), [], []
    for n, length in enumerate(lengths):
        spans.append((at, at + length))
        at += length
        if n < len(lengths) - 1:
            gaps.append((at, at + PAUSE))
            at += PAUSE
    total = at
    # Sound: each phrase placed at its start (adelay), faded 10 ms at its ends, plus the hum.
    inputs, graph = [], []
    for n, (path, (start, end)) in enumerate(zip(phrases, spans)):
        inputs += ["-i", str(path)]
        d = float(end - start)
        graph.append(f"[{n}:a]atrim=duration={d},afade=t=in:d=0.01,afade=t=out:st={d - 0.01}:d=0.01,"
                     f"adelay={round(start * 48000)}S:all=1,apad=whole_len={round(total * 48000)}[s{n}]")
    graph.append(f"sine=f=97:r=48000:d={float(total)},volume=0.04[hum]")
    graph.append("".join(f"[s{n}]" for n in range(len(phrases))) + "[hum]"
                 f"amix=inputs={len(phrases) + 1}:normalize=0:duration=longest,"
                 f"atrim=end_sample={round(total * 48000)}[a]")
    drop = "+".join(f"between(t,{float(a - Fraction(3, 10))},{float(b + Fraction(3, 10))})"
                    for a, b in (gaps[0], gaps[2]))
    video = (f"color=gray:size=160x120:rate=15:duration={float(total)},format=yuv420p,"
             f"geq=lum='16+4*mod(N,55)':cb=128:cr=128,select='not({drop})+eq(n,0)'[v]")
    graph.append(video)
    out = folder / "take.ogv"
    _run(WHEEL_FFMPEG, "-v", "error", "-y", *inputs, "-filter_complex", ";".join(graph),
         "-map", "[v]", "-map", "[a]", "-fps_mode", "vfr", "-c:v", "libtheora", "-q:v", "7",
         "-c:a", "libvorbis", "-q:a", "6", "-ac", "1", str(out))
    return Take(out, tuple(spans), tuple(gaps), total)


def _decode(path: Path) -> tuple[list[str], np.ndarray]:
    """Per-frame picture hashes and the sound (mono mix, float) of a built file."""
    hashes, chunks = [], []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            hashes.append(hashlib.sha1(frame.to_ndarray(format="yuv420p").tobytes()).hexdigest())
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            data = frame.to_ndarray()
            if data.ndim == 2 and data.shape[0] == 1 and frame.format.is_packed:
                data = data.reshape(-1, len(frame.layout.channels)).T
            chunks.append(data.astype(np.float64))
    sound = np.concatenate(chunks, axis=1).mean(axis=0) if chunks else np.zeros(0)
    return hashes, sound


def _convert(folder: Path, take: Take, pauses: str | None, output: str = "cast.dv",
             extra: str = "") -> tuple[Path, str]:
    """Build the take alone (with ``pauses:`` if given) with the wheel's ffmpeg; the file and
    castkit's stderr."""
    import os

    from castkit.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    key = f"\n    pauses: {pauses}" if pauses is not None else ""
    recipe = write_recipe(folder, f"output: {output}\nsegments:\n  - clip: {take.path}{key}{extra}\n")
    old = os.environ.get("CASTKIT_FFMPEG")
    os.environ["CASTKIT_FFMPEG"] = WHEEL_FFMPEG
    import contextlib
    import io
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            code = main(["build", str(recipe)])
    finally:
        if old is None:
            os.environ.pop("CASTKIT_FFMPEG", None)
        else:
            os.environ["CASTKIT_FFMPEG"] = old
    assert code == 0, err.getvalue()
    return folder / output, err.getvalue()


@pytest.fixture(scope="module")
def whole(take, tmp_path_factory) -> tuple[list[str], np.ndarray]:
    """Per-frame hashes and sound of the whole take converted as castkit converts any clip."""
    path, _ = _convert(tmp_path_factory.mktemp("whole"), take, None)
    return _decode(path)


def _without(frames: list, cuts: list[tuple[int, int]]) -> list:
    kept, at = [], 0
    for a, b in cuts:
        kept += frames[at:a]
        at = b
    return kept + frames[at:]


def _cut_range(pause: tuple[Fraction, Fraction], margin: Fraction = MARGIN) -> tuple[int, int]:
    a, b = pause
    return math.ceil((a + margin) * FPS), math.floor((b - margin) * FPS)


def _speech_energy(x: np.ndarray) -> float:
    """Energy of the 20 ms windows above -40 dBFS: the narration, not the hum."""
    x = x[: len(x) // 960 * 960].reshape(-1, 960)
    level = np.sqrt((x ** 2).mean(axis=1))
    return float((x[level > 32768 * 10 ** (-40 / 20)] ** 2).sum())


def test_cut_removes_the_still_pauses_only_frame_exact(tmp_path, take, whole):
    cast, err = _convert(tmp_path, take, f"{{action: cut, margin: {float(MARGIN)}}}")
    hashes, sound = _decode(cast)
    whole_hashes, whole_sound = whole
    still_a, moving, still_b = take.pauses
    cuts = [_cut_range(still_a), _cut_range(still_b)]
    # The very frames of the whole take's decode, minus the still pauses (but their margins):
    # frame-exact, and the moving pause is kept whole.
    assert len(hashes) == len(whole_hashes) - sum(b - a for a, b in cuts)
    assert hashes == _without(whole_hashes, cuts)
    # Sound covers the picture exactly; every word is kept.
    assert len(sound) == len(hashes) * SAMPLES_PER_FRAME
    assert _speech_energy(sound) == pytest.approx(_speech_energy(whole_sound), rel=0.01)
    # The build says how much went.
    cut = sum(b - a for a, b in cuts) / FPS
    assert f"segment 1: pauses cut {cut:.1f} s of {len(whole_hashes) / FPS:.1f} s" in err


def test_screen_any_cuts_the_moving_pause_too(tmp_path, take, whole):
    cast, _ = _convert(tmp_path, take, f"{{action: cut, margin: {float(MARGIN)}, screen: any}}")
    hashes, sound = _decode(cast)
    cuts = [_cut_range(p) for p in take.pauses]
    assert hashes == _without(whole[0], cuts)
    assert len(sound) == len(hashes) * SAMPLES_PER_FRAME
    assert _speech_energy(sound) == pytest.approx(_speech_energy(whole[1]), rel=0.01)


def test_no_sample_step_at_the_cuts(tmp_path, take, whole):
    """Each cut goes through the hum: the 5 ms fades leave no step larger than the hum has."""
    cast, _ = _convert(tmp_path, take, f"{{action: cut, margin: {float(MARGIN)}, screen: any}}")
    _, sound = _decode(cast)
    # The hum's own largest step, in the first pause of the whole take.
    a, b = (round(t * 48000) for t in take.pauses[0])
    hum_step = np.abs(np.diff(whole[1][a + 4800: b - 4800])).max()
    assert hum_step > 0.5  # the hum is there to be cut through
    at = 0
    for n, (lo, hi) in enumerate(_cut_range(p) for p in take.pauses):
        # cast position of the cut: frames kept before it
        kept_before = lo - sum(h - l for l, h in [_cut_range(p) for p in take.pauses][:n])
        at = kept_before * SAMPLES_PER_FRAME
        around = sound[at - 480: at + 480]
        assert np.abs(np.diff(around)).max() <= hum_step * 1.05 + 1, n


def test_a_speed_factor_shortens_the_pauses_by_that_factor(tmp_path, take, whole):
    cast, err = _convert(tmp_path, take, f"{{action: 4, margin: {float(MARGIN)}}}")
    hashes, sound = _decode(cast)
    cuts = [_cut_range(take.pauses[0]), _cut_range(take.pauses[2])]
    expected = len(whole[0]) - sum((b - a) - round(Fraction(b - a, 4)) for a, b in cuts)
    assert len(hashes) == expected
    assert len(sound) == len(hashes) * SAMPLES_PER_FRAME
    # The speech before the first pause is the whole take's, frame for frame.
    assert hashes[: cuts[0][0]] == whole[0][: cuts[0][0]]
    assert _speech_energy(sound) == pytest.approx(_speech_energy(whole[1]), rel=0.01)
    assert "played x4 saved" in err


def test_web_output_and_margin_change_reuses_the_analysis(tmp_path, take, whole):
    cast, err = _convert(tmp_path, take, "cut", output="cast.mp4")
    assert "finding the pauses" in err
    with av.open(str(cast)) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        rate = v.average_rate
    with av.open(str(cast)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    seconds = Fraction(frames) / Fraction(rate)
    assert frames < round(take.length * rate) - rate  # at least a second went
    # AAC: the sound lasts the picture to within one AAC frame
    assert abs(samples / 48000 - float(seconds)) < 1024 / 48000 + 1e-9
    # A new margin plans again from the cached analysis: nothing is measured again, and the
    # segment (whose key holds the kept parts) is encoded again.
    cast.unlink()
    again, err2 = _convert(tmp_path, take, "{action: cut, margin: 0.4}", output="cast.mp4")
    assert "finding the pauses" not in err2
    assert "pauses cut" in err2
    with av.open(str(again)) as c:
        assert sum(1 for _ in c.decode(video=0)) > frames  # wider margins keep more


def test_dry_run_lists_the_kept_parts(tmp_path, take, cli, wheel_ffmpeg):
    recipe = write_recipe(tmp_path, f"""
        segments:
          - clip: {take.path}
            pauses: {{margin: {float(MARGIN)}}}
        """)
    result = cli("build", "--dry-run", recipe)
    assert result.code == 0, result.err
    cuts = [_cut_range(take.pauses[0]), _cut_range(take.pauses[2])]
    lines = result.out.splitlines()
    at = lines.index("# kept parts (source -> cast):")
    listed = lines[at + 1: at + 4]
    assert len(listed) == 3 and all(line.startswith("#   0:") for line in listed)
    # the first part ends where the first cut begins, in source and cast time alike
    first_end = f"0:{cuts[0][0] / FPS:05.2f}"
    assert listed[0] == f"#   0:00.00-{first_end} -> 0:00.00-{first_end}"
    assert not (tmp_path / "build").exists()  # a dry run writes no cast


def test_voice_over_pauses_are_the_voice_s(tmp_path, take, whole):
    """With ``audio:`` the pauses are the replacement voice's: the capture's own sound (a loud
    tone everywhere here) has none."""
    voice = tmp_path / "voice.wav"
    loud = tmp_path / "loud.ogv"
    _run(WHEEL_FFMPEG, "-v", "error", "-y", "-i", str(take.path), "-map", "0:a", "-ar", "48000", str(voice))
    _run(WHEEL_FFMPEG, "-v", "error", "-y", "-i", str(take.path), "-f", "lavfi", "-i",
         f"sine=f=440:r=48000:d={float(take.length)}", "-map", "0:v", "-map", "1:a",
         "-c:v", "copy", "-c:a", "libvorbis", str(loud))
    loud_take = Take(loud, take.phrases, take.pauses, take.length)
    cast, _ = _convert(tmp_path / "plain", loud_take, "{margin: 0.23}")
    plain = _decode(cast)[0]
    assert len(plain) == len(whole[0])  # the tone: no pause at all
    cast, _ = _convert(tmp_path / "voiced", loud_take, "{margin: 0.23}",
                       extra=f"\n    audio: {voice}")
    hashes, sound = _decode(cast)
    cuts = [_cut_range(take.pauses[0]), _cut_range(take.pauses[2])]
    assert hashes == _without(plain, cuts)
    assert len(sound) == len(hashes) * SAMPLES_PER_FRAME
    assert _speech_energy(sound) == pytest.approx(_speech_energy(whole[1]), rel=0.01)


def test_with_crop_fades_and_ntsc(tmp_path, take):
    from castkit.media.dv import dv_samples

    fps = Fraction(30000, 1001)
    cast, _ = _convert(tmp_path, take, "{margin: 0.23}",
                       extra="\n    crop: {x: 0, y: 0, width: 120, height: 90}\n    fade_in: 0.2\n"
                             "    fade_out: 0.2\ntarget: ntsc-dv")
    hashes, sound = _decode(cast)
    whole_frames = round(take.length * fps)
    cut = sum(math.floor((b - MARGIN) * fps) - math.ceil((a + MARGIN) * fps)
              for a, b in (take.pauses[0], take.pauses[2]))
    # within a frame at each of the four cut boundaries (they are off the 29.97 fps grid)
    assert abs(len(hashes) - (whole_frames - cut)) <= 2
    assert len(sound) == dv_samples(len(hashes))


def test_preview_says_where_the_pauses_went(tmp_path, take, whole, cli, wheel_ffmpeg):
    from castkit.plan.check import check_recipe
    from castkit.media.ffmpeg import find_ffmpeg
    from castkit.commands.preview import plan_tiles
    from castkit.recipe.reader import load_recipe

    recipe = write_recipe(tmp_path, f"""
        segments:
          - clip: {take.path}
            pauses: {{margin: {float(MARGIN)}}}
        """)
    ffmpeg = find_ffmpeg()
    tiles, _ = plan_tiles(check_recipe(load_recipe(recipe), ffmpeg), ffmpeg, tmp_path)
    cut = sum(b - a for a, b in (_cut_range(take.pauses[0]), _cut_range(take.pauses[2])))
    assert tiles[0].seconds == Fraction(len(whole[0]) - cut, FPS)
    assert f"pauses −{cut / FPS:.1f} s (2)" in tiles[0].caption
    assert cli("preview", recipe, "-o", tmp_path / "board.png").code == 0


def test_captions_follow_the_cut(tmp_path, take, whole):
    """A cue after a cut pause moves up by what was cut; its text is untouched."""
    srt = tmp_path / "take.srt"
    (p1, p2, p3, p4) = take.phrases
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nfirst\n\n"
                   f"2\n00:00:0{float(p2[0]):.3f} --> 00:00:0{float(p2[0]) + 1:.3f}\nsecond\n\n"
                   .replace(".", ","), encoding="utf-8")
    cast, _ = _convert(tmp_path, take, f"{{margin: {float(MARGIN)}}}", extra=f"\n    captions: {srt}")
    text = (tmp_path / "cast.srt").read_text(encoding="utf-8")
    lo, hi = _cut_range(take.pauses[0])
    moved = p2[0] - Fraction(hi - lo, FPS)
    assert "second" in text and "first" in text
    def stamp(t: Fraction) -> str:
        ms = round(t * 1000)
        return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"
    assert f"{stamp(moved)} --> {stamp(moved + 1)}" in text, text


def test_ntsc_after_a_title_and_prune_keeps_the_analysis(tmp_path, take, cli, wheel_ffmpeg):
    """An NTSC DV cast whose paused clip starts off the 5-frame sound pattern (after a 3-frame
    title: lead frames) keeps sound and picture together; prune keeps the cached analysis of a
    cast that exists."""
    from castkit.media.dv import dv_samples

    recipe = write_recipe(tmp_path, f"""
        target: ntsc-dv
        output: cast.dv
        segments:
          - title: "Part 1"
            duration: 0.1
          - clip: {take.path}
            pauses: {{margin: {float(MARGIN)}}}
        """)
    result = cli("build", recipe)
    assert result.code == 0, result.err
    hashes, sound = _decode(tmp_path / "cast.dv")
    assert len(sound) == dv_samples(len(hashes))
    cache = tmp_path / ".castkit-cache"
    analyses = sorted(cache.glob("pauses-*.json"))
    assert len(analyses) == 1
    assert cli("cache", "prune", recipe).code == 0
    assert sorted(cache.glob("pauses-*.json")) == analyses


def test_a_trim_that_starts_inside_a_still_pause(tmp_path, take, whole):
    """Pauses are found in the trimmed part only, from its first frame: a take trimmed to start
    0.52 s into the first pause loses the rest of it but its margins."""
    a, b = take.pauses[0]
    start = a + Fraction(13, 25)
    cast, _ = _convert(tmp_path, take, f"{{margin: {float(MARGIN)}}}", extra=f"\n    start: {float(start)}")
    hashes, sound = _decode(cast)
    first = round(start * FPS)
    lo, hi = math.ceil((start + MARGIN) * FPS), math.floor((b - MARGIN) * FPS)
    cut_b = _cut_range(take.pauses[2])
    assert hashes == _without(whole[0][first:], [(lo - first, hi - first), (cut_b[0] - first, cut_b[1] - first)])
    assert len(sound) == len(hashes) * SAMPLES_PER_FRAME
