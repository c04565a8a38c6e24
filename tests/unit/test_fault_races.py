"""Issue 32's defects where a race or a bound can be shown without ffmpeg: each test failed
before its fix (tests/e2e/test_faults.py has the command-line ones)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from castkit.base.files import FileRefused, TooLarge, publish_once, read_regular
from castkit.recipe.model import TitleSegment, Where
from castkit.recipe.style import TitleStyle
from castkit.titles import job as card_job


def test_d10_a_card_drawn_meanwhile_by_another_build_stays(tmp_path, monkeypatch):
    """Two builds on one cold cache draw the same card at once; the one that finishes second
    replaced the first's file under the first's running encode ("changed while it was being
    read"). Now the card already in place stays: same inode, same bytes."""
    card = tmp_path / "card-0123456789abcdef01234567.png"
    real_render = card_job.render_card

    def render_while_another_build_writes(*args, **kwargs):
        image = real_render(*args, **kwargs)
        Image.new("RGB", (8, 8), "red").save(card, format="PNG")  # the other build, first
        return image

    seg = TitleSegment("Shared intro", None, 1, TitleStyle(), Where("cast.yaml", 1, 1))
    job = card_job.CardJob("card", seg, (64, 48), tmp_path, card)
    before = None

    def remember(*args, **kwargs):
        nonlocal before
        image = render_while_another_build_writes(*args, **kwargs)
        before = os.stat(card).st_ino
        return image

    monkeypatch.setattr(card_job, "render_card", remember)
    job.render()
    assert os.stat(card).st_ino == before
    with Image.open(card) as im:
        assert im.size == (8, 8)  # the other build's card, untouched
    assert [p.name for p in tmp_path.iterdir()] == [card.name]  # no temporary file left


def test_d10_publish_once_keeps_an_entry_that_is_already_there(tmp_path):
    entry = tmp_path / "segment.dv"
    entry.write_bytes(b"theirs")
    inode = entry.stat().st_ino
    ours = tmp_path / ".segment.dv.1-abcdefgh.partial"
    ours.write_bytes(b"ours")
    assert publish_once(ours, entry, lambda existing: True) is False
    assert entry.stat().st_ino == inode and entry.read_bytes() == b"theirs"
    assert not ours.exists()
    ours.write_bytes(b"ours")  # one no one vouches for (unsealed) is replaced
    assert publish_once(ours, entry, lambda existing: False) is True
    assert entry.read_bytes() == b"ours" and not ours.exists()
    fresh = tmp_path / "new.dv"
    ours.write_bytes(b"new")
    assert publish_once(ours, fresh, lambda existing: True) is True
    assert fresh.read_bytes() == b"new" and not ours.exists()


def test_d3_read_regular_refuses_fifos_devices_and_large_files(tmp_path):
    fifo = tmp_path / "cues.srt"
    os.mkfifo(fifo)
    with pytest.raises(FileRefused, match="FIFO"):
        read_regular(fifo)  # returns at once: opened without blocking
    with pytest.raises(FileRefused, match="device"):
        read_regular(Path("/dev/zero"))
    sparse = tmp_path / "big.srt"
    with open(sparse, "wb") as f:
        f.truncate(1 << 30)
    with pytest.raises(TooLarge):
        read_regular(sparse, limit=1 << 20)
    small = tmp_path / "ok.srt"
    small.write_bytes(b"x" * 100)
    assert read_regular(small, limit=100) == b"x" * 100



def test_d10_a_segment_another_build_has_just_named_is_kept_and_sealed(tmp_path):
    """Two builds on one cold cache encode the same segment. The first gives it its name and
    is about to seal it when the second finishes: the second found it unsealed and replaced
    it (a new inode), under the first build's join, which then failed ("changed while it was
    being read"). Now the same bytes already there stay, and are sealed; other bytes (a
    killed run's leftover) are still replaced."""
    from castkit.base.jobs import Job, file_url
    from castkit.cache.seals import sealed
    from castkit.run.runner import FfmpegRunner

    entry = tmp_path / "segment-0123456789abcdef01234567.dv"
    theirs: dict = {}

    class OtherBuildNamesItFirst:
        slots = None

        def encode(self, job, runner, sink):
            temp = job.output.with_name(f".{job.output.name}.{os.getpid()}-abcdefgh.partial")
            temp.write_bytes(b"the segment")
            entry.write_bytes(theirs["bytes"])  # the other build's: named, not sealed yet
            theirs["inode"] = entry.stat().st_ino
            return temp

    def build(other: bytes) -> None:
        theirs["bytes"] = other
        entry.unlink(missing_ok=True)
        job = Job("segment", ("ffmpeg", file_url(entry)), entry, 1)
        FfmpegRunner(executor=OtherBuildNamesItFirst())._run_job(job)

    build(b"the segment")
    assert entry.stat().st_ino == theirs["inode"]  # untouched under the other build's join
    assert sealed(entry) and entry.read_bytes() == b"the segment"
    assert sorted(p.name for p in tmp_path.iterdir()) == [entry.name, entry.name + ".sum"]
    build(b"a killed run's leftover")
    assert entry.read_bytes() == b"the segment" and sealed(entry)
    assert sorted(p.name for p in tmp_path.iterdir()) == [entry.name, entry.name + ".sum"]
