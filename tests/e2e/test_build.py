"""``castkit build`` end to end: exact frames per segment, in order, titles silent, voices heard."""

from __future__ import annotations

import os
import re
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from castkit.builder.build import build
from helpers import counting_runner, listing, sha256, write_recipe
from readers import decode, frame_lumas, have, melt, playdv, shown_at

pytestmark = pytest.mark.e2e


@pytest.fixture
def cast_folder(tmp_path, media_files) -> Path:
    caps = tmp_path / "captures"
    caps.mkdir()
    for name, src in {
        "voice.ogv": media_files.voice_1366,
        "luma.ogv": media_files.luma_vfr,
        "silent.ogv": media_files.silent_1080,
        "odd.ogv": media_files.odd_12fps_long_voice,
    }.items():
        os.link(src, caps / name) if _same_fs(src, caps) else (caps / name).write_bytes(src.read_bytes())
    return tmp_path


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


CAST = """
    target: pal-dv
    output: build/cast.dv
    segments:
      - title: "Installing the Parallel Debugger"
        subtitle: "Part 1: the license server"
        duration: 2
      - clip: captures/voice.ogv
        start: 0.5
        end: "0:03.5"
      - clip: captures/luma.ogv
        start: 3
        duration: 4
      - clip: captures/silent.ogv
      - clip: captures/odd.ogv
      - title: Thanks for watching
        duration: 1.5
"""
# 2 s, 3 s, 4 s, 2 s, 3 s (the voice outlasts the 2 s picture), 1.5 s (37.5 rounds to even)
SEGMENT_FRAMES = [50, 75, 100, 50, 75, 38]


def test_recipe_builds_the_whole_cast(cast_folder, ffmpeg_bin, cli, tmp_path):
    recipe = write_recipe(cast_folder, CAST)
    hashes = {p: sha256(p) for p in (cast_folder / "captures").iterdir()}
    result = cli("build", recipe)
    assert result.code == 0, result.err
    out = cast_folder / "build" / "cast.dv"
    total = sum(SEGMENT_FRAMES)
    d = decode(out)
    assert (d.codec, d.width, d.height, d.pix_fmt, d.sar, d.rate) == (
        "dvvideo", 720, 576, "yuv420p", Fraction(16, 15), Fraction(25))
    assert d.frames == total
    assert d.samples == total * 1920
    starts = np.cumsum([0] + SEGMENT_FRAMES)
    rms = d.audio_rms
    title1, voice, luma, silent, odd, title2 = (slice(starts[i], starts[i + 1]) for i in range(6))
    assert max(rms[title1]) == 0 and max(rms[title2]) == 0, "titles are silent"
    assert max(rms[silent]) == 0, "a silent capture stays silent"
    # voice.ogv speaks from 0 to 2.5 s; trimmed from 0.5 s, so for the first 2 s of the segment.
    assert min(rms[starts[1] + 1: starts[1] + 48]) > 1000
    assert max(rms[starts[1] + 53: starts[2]]) == 0
    assert min(rms[odd][1:-1]) > 1000, "narration audible to the end of the longer voice-over"
    # The luma clip shows exactly the source's frames from 3 s to 7 s, in place.
    shown = frame_lumas(cast_folder / "captures" / "luma.ogv")
    for k in range(100):
        expected = shown_at(shown, 75 + k)
        assert abs(d.lumas[starts[2] + k] - expected) < 1.6, f"luma clip frame {k}"
        # A grey picture has grey chroma everywhere (a frame-threaded Theora decoder once
        # left garbage chroma in the first frames after a seek).
        low, high = d.chroma[starts[2] + k]
        assert 120 <= low and high <= 136, f"luma clip frame {k}: chroma {low}..{high}"
    # Titles: a still dark card; the first frame of the cast is the title.
    assert np.std(d.lumas[title1]) < 0.01 and d.lumas[0] < 80
    # Sources untouched, no debris beside the output.
    assert {p: sha256(p) for p in (cast_folder / "captures").iterdir()} == hashes
    assert listing(cast_folder / "build") == ["cast.dv"]
    if have("melt"):
        m = melt(out)
        assert (m.length, m.sar, m.dar) == (total, Fraction(16, 15), Fraction(4, 3))
    if have("playdv"):
        lib = playdv(out, tmp_path, video=have("xvfb-run"))
        assert lib.audio_bytes == total * 1920 * 4
        assert lib.aspect == "4:3"
        if have("xvfb-run"):
            assert lib.frames == total


def without_time_packs(dv: bytes) -> bytes:
    """Raw DV without the blocks and packs that count time across a cast: the subcode and VAUX
    blocks (1-5) of each 12000-byte DIF sequence and the AAUX pack (bytes 3-7) of each of its
    audio blocks (6, 22, ..., 134)."""
    kept = []
    for i in range(0, len(dv), 12000):
        kept.append(dv[i:i + 80])
        at = i + 480
        for block in range(6, 150, 16):
            kept.append(dv[at:i + block * 80 + 3])
            at = i + block * 80 + 8
        kept.append(dv[at:i + 12000])
    return b"".join(kept)


def watch_feeds(monkeypatch, note) -> list:
    """Each CastWriter.feed call, as ``note(writer, path, written, available)`` sees it just
    after the real feed ran."""
    from castkit.outputs.join import CastWriter

    calls, real_feed = [], CastWriter.feed

    def spy(self, path, written, available):
        real_feed(self, path, written, available)
        calls.append(note(self, path, written, available))

    monkeypatch.setattr(CastWriter, "feed", spy)
    return calls


def test_segments_go_into_the_cast_while_they_are_encoded(cast_folder, ffmpeg_bin, monkeypatch):
    """A cold build copies each segment into the cast while ffmpeg writes it (and the final
    report arrives while the file still has its temporary name); the cast is exactly the
    segments, in recipe order."""
    fed = watch_feeds(monkeypatch, lambda writer, path, written, available: (path, written))
    planned = build(write_recipe(cast_folder, CAST), workers=2)
    out = cast_folder / "build" / "cast.dv"
    parts = [part for _, _, part, _ in planned.segments]
    # Byte for byte the segments, but for the time packs (blocks 1-5 of every DIF sequence),
    # which count on across the cast (test_timecode_dv.py).
    assert without_time_packs(out.read_bytes()) == without_time_packs(b"".join(part.read_bytes() for part in parts))
    for part in set(parts):
        assert any(path == part and written.name.endswith(".partial") for path, written in fed), part.name
    assert listing(cast_folder / "build") == ["cast.dv"]


def test_frames_reach_the_cast_before_their_encode_ends(tmp_path, monkeypatch):
    """An ffmpeg that reports progress halfway (a stand-in that writes 5 frames, reports,
    then writes the other 7): those 5 frames are in the cast's temporary file before the rest
    exists."""
    from helpers import ffmpeg_script

    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -version "*|*" -v trace "*) exec "$REAL_FFMPEG" "$@";; esac\n'
        "for last; do :; done\n"
        'out="${last#file:}"\n'
        "head -c 720000 /dev/zero | tr '\\0' A > \"$out\"\n"
        'printf "frame=5\\nprogress=continue\\n"\n'
        "sleep 0.3\n"
        "head -c 1008000 /dev/zero | tr '\\0' B >> \"$out\"\n"
        'printf "frame=12\\nprogress=end\\n"\n'
    ), fake_pictures=True)
    seen = watch_feeds(monkeypatch, lambda writer, path, written, available: (
        available, writer.temp.read_bytes() if writer.temp.exists() else None))
    recipe = write_recipe(tmp_path, TWO_TITLES.replace("Second take", "Second"))
    build(recipe, workers=1)
    halfway = [cast for available, cast in seen if available == 720000]
    assert halfway, seen
    title = b"A" * 720000 + b"B" * 1008000  # what the stand-in writes for a 12-frame title
    # Halfway through the first title, its first 5 frames are in place; halfway through the
    # second, the first title is whole and the second's first 5 frames follow it.
    assert halfway == [b"A" * 720000, title + b"A" * 720000]
    assert (tmp_path / "build" / "cast.dv").read_bytes() == title * 2


def test_a_full_disk_under_the_cast_does_not_waste_the_encodes(cast_folder, wheel_ffmpeg, monkeypatch):
    """The cast cannot be written (a full disk): the build fails with one line naming the
    cast, but its segments are encoded to the end and cached, so the next run only joins."""
    import errno

    from castkit.outputs import join as _join
    from castkit.errors import WorkError

    recipe = write_recipe(cast_folder, CAST)
    real_copy = _join._copy

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_join, "_copy", full)
    with pytest.raises(WorkError, match=r"cast\.dv.*No space left on device"):
        build(recipe)
    assert listing(cast_folder / "build") == []
    monkeypatch.setattr(_join, "_copy", real_copy)
    again = counting_runner()
    build(recipe, runner=again)
    assert again.ran == ["join 6 segments"]
    assert decode(cast_folder / "build" / "cast.dv").frames == sum(SEGMENT_FRAMES)


def test_a_rebuild_with_a_new_length_is_joined_afresh(cast_folder, wheel_ffmpeg, monkeypatch):
    """A title made longer moves every later segment in the cast: the cast is joined anew,
    the cached segments copied in while the new title is encoded."""
    import threading

    recipe = write_recipe(cast_folder, CAST)
    build(recipe)
    recipe.write_text(recipe.read_text().replace("duration: 2\n", "duration: 3\n"))
    fed_from = watch_feeds(monkeypatch, lambda writer, path, written, available: (
        path, threading.current_thread() is threading.main_thread()))
    again = counting_runner()
    planned = build(recipe, runner=again, force=True)
    assert again.ran == ["segment 1: title 'Installing the Parallel Debugger'", "join 6 segments"]
    cached = {part for _, _, part, was_cached in planned.segments if was_cached}
    assert len(cached) == 5 and all(not main for path, main in fed_from if path in cached)
    out, fresh = cast_folder / "build" / "cast.dv", cast_folder / "fresh.dv"
    build(recipe, output=fresh, use_cache=False)
    assert sha256(out) == sha256(fresh)
    assert decode(out).frames == sum(SEGMENT_FRAMES) + 25


def test_a_failed_rebuild_keeps_the_previous_cast(cast_folder, wheel_ffmpeg, monkeypatch):
    from castkit.errors import FfmpegFailed
    from helpers import fake_ffmpeg

    recipe = write_recipe(cast_folder, CAST)
    build(recipe)
    out = cast_folder / "build" / "cast.dv"
    digest = sha256(out)
    # A longer title: the layout changes, so the cast would be joined afresh, not patched.
    recipe.write_text(recipe.read_text().replace("duration: 1.5", "duration: 2.5"))
    fake_ffmpeg(cast_folder, monkeypatch, "exit 1")
    with pytest.raises(FfmpegFailed):
        build(recipe, force=True)
    assert sha256(out) == digest
    assert listing(cast_folder / "build") == ["cast.dv"]


def test_avi_cast_and_output_override(cast_folder, wheel_ffmpeg, cli):
    recipe = write_recipe(cast_folder, """
        target: ntsc-dv
        aspect: 16:9
        segments:
          - title: Widescreen
            duration: 1
          - clip: captures/silent.ogv
            duration: 1
    """)
    out = cast_folder / "elsewhere" / "cast.avi"
    assert cli("build", recipe, "-o", out, "-q").code == 0
    d = decode(out)
    assert d.container == "avi"
    assert (d.width, d.height, d.pix_fmt, d.sar) == (720, 480, "yuv411p", Fraction(32, 27))
    assert d.frames == 60  # 30 + 30 at 29.97
    assert d.samples == 2 * round(30 * 48000 * 1001 / 30000)
    # What the AVI container itself says (ffmpeg 9's stream copy once wrote 600 fps here).
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert stream.average_rate == Fraction(30000, 1001)
        assert stream.frames == 60
        assert stream.time_base == Fraction(1001, 30000)
    if have("melt"):
        m = melt(out)
        assert (m.length, m.fps) == (60, Fraction(30000, 1001))


def test_trims_inside_a_captures_final_hold_or_past_its_picture(cast_folder, ffmpeg_bin, cli):
    """A recorder stops writing frames while the screen is still; a voice-over may outlast the
    picture. A trim that starts there shows the last picture, held, with the sound."""
    recipe = write_recipe(cast_folder, """
        segments:
          - clip: captures/odd.ogv
            start: 2.5
            duration: 0.4
          - clip: captures/luma.ogv
            start: 9.4
    """)  # the last 0.2 s of luma.ogv: frames 235 to 239 of a full conversion
    assert cli("build", recipe, "-q").code == 0, "odd.ogv's picture ends at 2 s, its voice at 3 s"
    d = decode(cast_folder / "build" / "cast.dv")
    assert d.frames == 10 + 5
    assert min(d.audio_rms[:10]) > 1000, "the voice goes on"
    assert np.std(d.lumas[:10]) < 0.5, "over the held last picture"
    shown = frame_lumas(cast_folder / "captures" / "luma.ogv")
    assert [round(lu) for lu in d.lumas[10:]] == [round(shown_at(shown, 235 + k)) for k in range(5)]
    assert cli("preview", recipe, "-q").code == 0


def test_dry_run_prints_commands_and_writes_nothing(cast_folder, wheel_ffmpeg, cli):
    recipe = write_recipe(cast_folder, CAST)
    before = listing(cast_folder)
    result = cli("build", recipe, "--dry-run")
    assert result.code == 0, result.err
    assert listing(cast_folder) == before
    commands = [line for line in result.out.splitlines() if not line.startswith("#")]
    assert sum(c.startswith("castkit title ") for c in commands) == 2
    # Two ffmpegs per segment: its distinct pictures, then its frames with their sound.
    assert sum("-filter_complex" in c for c in commands) == 12
    assert sum(" -m castkit.media.pictures " in c for c in commands) == 6
    # Raw DV frames are self-contained: the cast is the segments' bytes, in order.
    join = commands[-1]
    assert join.startswith("cat ") and join.count("segment-") == 6
    assert join.endswith("> " + str(cast_folder / "build" / "cast.dv"))



def test_a_title_edit_with_the_default_loudness_keeps_the_measurement_and_the_other_gains(cast_folder, wheel_ffmpeg):
    """With loudness on (the default), a title's sound is silence as long as the title: editing
    its text measures nothing again, and every other segment keeps its gained copy. The cast,
    patched, equals a build from scratch, which measures the cast anew."""
    recipe = write_recipe(cast_folder, "loudness: -16\n" + textwrap.dedent(CAST).lstrip("\n"))
    build(recipe)
    cache = cast_folder / ".castkit-cache"
    measured = {p.name: p.stat().st_mtime_ns for p in cache.glob("loudness-*.af")}
    assert len(measured) == 1
    recipe.write_text(recipe.read_text().replace("Thanks for watching", "Thank you"))
    edited = counting_runner()
    build(recipe, runner=edited, force=True)
    assert edited.ran == ["segment 6: title 'Thank you'", "loudness gain for segment 6: title 'Thank you'",
                          "join 6 segments"]
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("loudness-*.af")} == measured
    fresh = cast_folder / "fresh.dv"
    build(recipe, output=fresh, use_cache=False)
    assert sha256(cast_folder / "build" / "cast.dv") == sha256(fresh)
    fresh.unlink()


def test_rebuilds_reuse_the_cache(cast_folder, wheel_ffmpeg):
    recipe = write_recipe(cast_folder, CAST)
    first = counting_runner()
    build(recipe, runner=first)
    out = cast_folder / "build" / "cast.dv"
    digest = sha256(out)
    assert len(first.ran) == 6 + 1  # six segments (titles drawing their cards first), the join

    same = counting_runner()
    build(recipe, runner=same, force=True)
    assert same.ran == ["join 6 segments"]
    assert sha256(out) == digest, "nothing changed: byte-identical output"

    recipe.write_text(recipe.read_text().replace("Thanks for watching", "Thank you"))
    edited = counting_runner()
    build(recipe, runner=edited, force=True)
    assert edited.ran == ["segment 6: title 'Thank you'", "join 6 segments"]
    # The cast was patched in place of the old title: it must equal a build from scratch.
    fresh = cast_folder / "fresh.dv"
    build(recipe, output=fresh, use_cache=False)
    assert sha256(out) == sha256(fresh) != digest
    fresh.unlink()

    recipe.write_text(recipe.read_text().replace("start: 3", "start: 2"))
    trimmed = counting_runner()
    build(recipe, runner=trimmed, force=True)
    assert trimmed.ran == ["segment 3: clip luma.ogv", "join 6 segments"]

    # A source touched (a new take recorded over it) is encoded again.
    src = cast_folder / "captures" / "silent.ogv"
    os.utime(src, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns + 10**9))
    touched = counting_runner()
    build(recipe, runner=touched, force=True)
    assert touched.ran == ["segment 4: clip silent.ogv", "join 6 segments"]

    # A cached segment cut short (a full disk, a crash) is never used.
    cache = cast_folder / ".castkit-cache"
    victim = max(cache.glob("segment-*.dv"), key=lambda p: p.stat().st_mtime_ns)
    with open(victim, "r+b") as f:
        f.truncate(144000 * 3)
    again = counting_runner()
    build(recipe, runner=again, force=True)
    assert len(again.ran) == 2 and again.ran[-1] == "join 6 segments"
    assert decode(out).frames == sum(SEGMENT_FRAMES)
    build(recipe, output=fresh, use_cache=False)
    assert sha256(out) == sha256(fresh)


def test_the_cache_does_not_depend_on_how_the_folder_is_spelled(cast_folder, wheel_ffmpeg):
    """The same recipe reached as sub/../cast.yaml, or through a symlinked folder: the same
    segments, nothing encoded again."""
    recipe = write_recipe(cast_folder, CAST)
    build(recipe)
    (cast_folder / "sub").mkdir()
    os.symlink(cast_folder, cast_folder.parent / (cast_folder.name + "-link"))
    for spelling in (cast_folder / "sub" / ".." / "cast.yaml",
                     cast_folder.parent / (cast_folder.name + "-link") / "cast.yaml"):
        again = counting_runner()
        build(spelling, runner=again, force=True)
        assert again.ran == ["join 6 segments"], spelling


def test_a_cast_changed_by_hand_is_rebuilt_whole(cast_folder, wheel_ffmpeg):
    recipe = write_recipe(cast_folder, """
        segments:
          - title: One
            duration: 1
          - title: Two
            duration: 1
    """)
    out = cast_folder / "build" / "cast.dv"
    build(recipe)
    digest = sha256(out)
    with open(out, "r+b") as f:  # someone edits the file (or a tool rewrites it)
        f.write(b"\0" * 1000)
    build(recipe, force=True)
    assert sha256(out) == digest, "the whole cast was written again, not patched"


def test_cache_follows_style_target_and_ffmpeg_version(cast_folder, wheel_ffmpeg):
    from castkit.media.ffmpeg import find_ffmpeg

    recipe = write_recipe(cast_folder, """
        segments:
          - title: Styled
            duration: 0.5
            background: navy
          - clip: captures/silent.ogv
            duration: 0.5
    """)
    build(recipe)
    restyled = counting_runner()
    recipe.write_text(recipe.read_text().replace("navy", "maroon"))
    build(recipe, runner=restyled, force=True)
    assert restyled.ran == ["segment 1: title 'Styled'", "join 2 segments"]

    retargeted = counting_runner()
    recipe.write_text("aspect: 16:9\n" + recipe.read_text())
    build(recipe, runner=retargeted, force=True)
    assert retargeted.ran == ["segment 2: clip silent.ogv", "segment 1: title 'Styled'", "join 2 segments"]

    real = find_ffmpeg()
    upgraded = counting_runner()
    build(recipe, runner=upgraded, force=True, ffmpeg=type(real)(real.path, real.found_by, "99.0-upgraded"))
    assert upgraded.ran == ["segment 2: clip silent.ogv", "segment 1: title 'Styled'", "join 2 segments"]


TWO_TITLES = """
    output: build/cast.dv
    segments:
      - title: First
        duration: 0.5
      - title: Second take
        duration: 0.5
"""


def cached_names(folder: Path) -> set[str]:
    return {p.name for p in (folder / ".castkit-cache").iterdir()} if (folder / ".castkit-cache").exists() else set()


def kinds(names: set[str]) -> list[str]:
    """A segment's seal (``segment-KEY.dv.sum``, its size and hash) counts as ``seal``."""
    return sorted("seal" if n.endswith(".sum") else n.split("-")[0] for n in names)


def test_cache_prune_drops_what_no_cast_is_made_of(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = write_recipe(tmp_path, TWO_TITLES)
    assert cli("build", recipe.name, "--dry-run").code == 0
    assert cli("build", recipe.name, "--no-cache").code == 0
    assert cached_names(tmp_path) == set(), "neither a dry run nor --no-cache writes a cache"
    assert cli("build", recipe.name, "--force").code == 0
    first = cached_names(tmp_path)
    # Two segments and their seals, their two cards, the cast's manifest and record of use, the
    # record of what castkit wrote to the cast, the backup tag.
    assert kinds(first) == ["CACHEDIR.TAG", "card", "card", "cast", "seal", "seal", "segment", "segment", "uses",
                            "written"]
    recipe.write_text(recipe.read_text().replace("Second take", "Third take"))
    assert cli("build", recipe.name, "--force").code == 0
    after = cached_names(tmp_path)
    assert first < after, "the old title's segment and card stay until pruned"
    new = after - first

    result = cli("cache", "prune", recipe.name)
    assert result.code == 0, result.err
    assert result.out.startswith("removed 3 cached files (") and ".castkit-cache" in result.out
    removed = after - cached_names(tmp_path)
    assert kinds(removed) == ["card", "seal", "segment"] and removed <= first, "the old title's"
    assert kinds(new) == ["card", "seal", "segment"] and new <= cached_names(tmp_path)
    # What was kept is what the build needs: nothing is encoded again, the cast is up to date.
    again = counting_runner()
    build(recipe, runner=again, force=True)
    assert again.ran == ["join 2 segments"]
    assert decode(tmp_path / "build" / "cast.dv").frames == 24


def test_cache_prune_in_a_shared_cache_keeps_every_cast(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    """Two recipes, one cache: pruning after editing one keeps the other's segments; once a
    cast is deleted by hand, what it was made of goes too."""
    monkeypatch.chdir(tmp_path)
    one = write_recipe(tmp_path, TWO_TITLES)
    two = tmp_path / "other.yaml"
    two.write_text("loudness: off\n" + textwrap.dedent(TWO_TITLES).lstrip("\n").replace("cast.dv", "other.avi")
                   .replace("First", "Other").replace("Second take", "Other take"))
    assert cli("build", one.name).code == 0 and cli("build", two.name).code == 0
    one.write_text(one.read_text().replace("Second take", "Edited"))
    assert cli("build", one.name, "--force").code == 0
    result = cli("cache", "prune")
    assert result.code == 0 and result.out.startswith("removed 3 cached files ("), result.out
    for recipe in (one, two):
        again = counting_runner()
        build(recipe, runner=again, force=True)
        assert again.ran == ["join 2 segments"], recipe.name
    (tmp_path / "build" / "other.avi").unlink()
    result = cli("cache", "prune")
    # Its two segments, their seals and their cards, its record of use, and the record of what
    # castkit wrote to it (the file is gone).
    assert result.out.startswith("removed 8 cached files ("), result.out
    again = counting_runner()
    build(one, runner=again, force=True)
    assert again.ran == ["join 2 segments"], "the cast still there keeps all it is made of"


def test_cache_clean_and_prune_touch_only_castkits_files(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    """CASTKIT_CACHE_DIR may be a folder of the user's: only castkit's exact names are its."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASTKIT_CACHE_DIR", str(tmp_path))
    mine = ["cast-final.dv", "segment-intro.mp4", "card-design.png", ".cast-list", "notes.txt",
            "segment-" + "0" * 24 + ".mov", "cast-" + "a" * 23 + ".json"]
    for name in mine:
        (tmp_path / name).write_text("the user's")
    os.symlink(tmp_path / "notes.txt", tmp_path / ("segment-" + "1" * 24 + ".dv"))
    recipe = write_recipe(tmp_path, TWO_TITLES)
    assert cli("build", recipe.name).code == 0
    assert not (tmp_path / "CACHEDIR.TAG").exists(), "the user's folder is not tagged for backups to skip"
    (tmp_path / "build" / "cast.dv").unlink()  # nothing is in use any more
    assert cli("cache", "prune").code == 0
    assert cli("cache", "clean").code == 0
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(mine + ["build", "cast.yaml", "segment-" + "1" * 24 + ".dv"])
    assert all((tmp_path / name).read_text() == "the user's" for name in mine)


def test_cache_clean_empties_the_cache(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = write_recipe(tmp_path, TWO_TITLES)
    assert cli("build", recipe.name).code == 0
    result = cli("cache", "clean", recipe.name)
    # Two segments, their seals, two cards, the cast's manifest, its uses, what castkit wrote.
    assert result.code == 0 and result.out.startswith("removed 9 cached files ("), result.out
    assert not (tmp_path / ".castkit-cache").exists()
    again = counting_runner()
    build(recipe, runner=again, force=True)
    assert len(again.ran) == 3, "everything is encoded again"
    # Something that is not castkit's in the folder stays, and so does the folder.
    (tmp_path / ".castkit-cache" / "notes.txt").write_text("mine")
    assert cli("cache", "clean").code == 0
    assert cached_names(tmp_path) == {"notes.txt"}


def test_cache_prune_and_clean_know_the_loudness_files(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    """With loudness on, a DV cast is made of gained copies of its segments and a measured
    filter (``loudness-KEY.af``): prune drops the old ones after an edit, clean drops them all.
    Seen before the fix: the filter files were not castkit's to either, and stayed for good."""
    monkeypatch.chdir(tmp_path)
    recipe = write_recipe(tmp_path, "loudness: -16\n" + textwrap.dedent(TWO_TITLES).lstrip("\n"))
    assert cli("build", recipe.name).code == 0
    first = cached_names(tmp_path)
    assert kinds(first).count("loudness") == 1 and kinds(first).count("segment") == 4
    recipe.write_text(recipe.read_text().replace("Second take", "Edited"))
    assert cli("build", recipe.name, "--force").code == 0
    result = cli("cache", "prune", recipe.name)
    assert result.code == 0, result.err
    gone = first - cached_names(tmp_path)
    # The old title's segment, seal and card, and its gained copy and seal. The measurement
    # stays, and with it the other title's gained copy: a title's sound is silence of its
    # length, whatever it says.
    assert kinds(gone) == ["card", "seal", "seal", "segment", "segment"], gone
    assert [n for n in first if n.startswith("loudness-")] == [
        n for n in cached_names(tmp_path) if n.startswith("loudness-")]
    # A longer title is more silence: the cast's sound is measured again, and prune drops the
    # old measurement, the title's old segment and both old gained copies (the card is kept).
    before = cached_names(tmp_path)
    recipe.write_text(recipe.read_text().replace("duration: 0.5\n", "duration: 0.75\n", 1))
    assert cli("build", recipe.name, "--force").code == 0
    assert cli("cache", "prune", recipe.name).code == 0
    gone = before - cached_names(tmp_path)
    # (The measurement's seal with it: a damaged measurement is never used.)
    assert kinds(gone) == ["loudness", "seal", "seal", "seal", "seal", "segment", "segment", "segment"], gone
    assert kinds(cached_names(tmp_path)).count("loudness") == 1
    assert cli("cache", "clean", recipe.name).code == 0
    assert not (tmp_path / ".castkit-cache").exists()


def test_a_build_says_when_old_segments_outweigh_the_cast(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    import castkit.cli

    monkeypatch.setattr(castkit.cli, "_NOTE_UNUSED_OVER", 0)  # tiny test casts: no 100 MB floor
    monkeypatch.chdir(tmp_path)
    recipe = write_recipe(tmp_path, TWO_TITLES)
    notes = []
    for text in ("Second take", "Take 2", "Take 3"):
        recipe.write_text("loudness: off\n" + textwrap.dedent(TWO_TITLES).lstrip("\n").replace("Second take", text))
        result = cli("build", recipe.name, "--force")
        assert result.code == 0, result.err
        notes.append([line for line in result.err.splitlines() if "note:" in line])
    # Each edit leaves a 12-frame segment (and its card) behind: after two, they outweigh the
    # 24-frame cast.
    assert notes[:2] == [[], []] and len(notes[2]) == 1
    assert re.fullmatch(
        r"castkit: note: \.castkit-cache also holds 3\.5 MB that no cast is made of any more; "
        r"`castkit cache prune cast\.yaml` removes it", notes[2][0]), notes[2][0]
    assert cli("cache", "prune", recipe.name).code == 0
    result = cli("build", recipe.name, "--force")
    assert "note:" not in result.err


def test_cache_prune_keeps_the_segments_of_an_unfinished_build(tmp_path, media_files, cli, monkeypatch):
    """A build that failed (or is still running, or was killed) has encoded segments no cast
    is made of yet: prune keeps them, and the next build encodes only the rest."""
    from helpers import ffmpeg_script

    monkeypatch.chdir(tmp_path)
    os.link(media_files.luma_vfr, tmp_path / "luma.ogv") if _same_fs(media_files.luma_vfr, tmp_path) \
        else (tmp_path / "luma.ogv").write_bytes(media_files.luma_vfr.read_bytes())
    recipe = write_recipe(tmp_path, TWO_TITLES + "      - clip: luma.ogv\n")
    # The capture's encode fails after a while; the titles' run with the real ffmpeg.
    ffmpeg_script(tmp_path, monkeypatch, (
        'case " $* " in *" -version "*|*" -v trace "*) exec "$REAL_FFMPEG" "$@";; esac\n'
        'case " $* " in *luma.ogv*) sleep 2; echo "cannot decode" >&2; exit 1;; esac\n'
        'exec "$REAL_FFMPEG" "$@"\n'
    ))
    assert cli("build", recipe.name, "-j", "3").code == 1
    finished = {n for n in cached_names(tmp_path) if n.startswith("segment-") and not n.endswith(".sum")}
    assert len(finished) == 2
    assert cli("cache", "prune").out.startswith("removed 0 cached files")
    monkeypatch.setenv("CASTKIT_FFMPEG", os.environ["REAL_FFMPEG"])
    again = counting_runner()
    build(recipe, runner=again)
    assert again.ran == ["segment 3: clip luma.ogv", "join 3 segments"]


def test_cache_prune_reads_casts_built_before_records_of_use(tmp_path, wheel_ffmpeg, cli, monkeypatch):
    """A cache from before castkit recorded what casts use: a .dv cast's manifest keeps its
    segments (title cards are redrawn if ever needed); an unreadable record keeps nothing."""
    monkeypatch.chdir(tmp_path)
    recipe = write_recipe(tmp_path, TWO_TITLES)
    assert cli("build", recipe.name).code == 0
    cache = tmp_path / ".castkit-cache"
    record = next(cache.glob("uses-*.json"))
    record.unlink()
    result = cli("cache", "prune")
    assert result.code == 0 and result.out.startswith("removed 2 cached files ("), result.out
    assert kinds(cached_names(tmp_path)) == ["CACHEDIR.TAG", "cast", "seal", "seal", "segment", "segment", "written"]
    again = counting_runner()
    build(recipe, runner=again, force=True)
    assert again.ran == ["join 2 segments"]
    # A record mangled (by hand, a disk error): no traceback; the manifest speaks for the cast.
    record.write_text("[" * 200000)
    result = cli("cache", "prune")
    assert result.code == 0 and result.err == "", result.err
    assert result.out.startswith("removed 1 cached file ("), "the mangled record"
    assert kinds(cached_names(tmp_path)) == ["CACHEDIR.TAG", "cast", "seal", "seal", "segment", "segment", "written"]
