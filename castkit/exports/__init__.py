"""``castkit export``: the recipe's edit as a project for an editor.

One timeline (``timeline.make_timeline``) is made from the checked recipe and handed to the
module of the format the output's suffix names. The project references the captures where
they are; title cards are drawn as PNGs into ``EDIT-cards/`` beside it. What a format cannot
express is said in one ``castkit: note:`` line each.
"""

from __future__ import annotations

from functools import partial
from importlib import import_module
from pathlib import Path

from castkit.base.files import check_output, write_atomically
from castkit.cache.keys import cache_dir
from castkit.cache.written import record_written, why_not_replaceable
from castkit.base.progress import say
from castkit.errors import UsageError, WorkError
from castkit.exports.timeline import make_timeline, Timeline
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.plan.check import check_recipe
from castkit.recipe.model import TitleSegment
from castkit.recipe.reader import read_recipe
from castkit.titles.cards import render_card


FORMATS = {".mlt": "mlt", ".kdenlive": "kdenlive", ".otio": "otio", ".smil": "smil", ".edl": "edl"}
EXPORT_SUFFIXES = tuple(FORMATS)


def export(recipe_path: Path | str, output: Path | str, *, force: bool = False,
           ffmpeg: Ffmpeg | None = None) -> Timeline:
    output = Path(output)
    recipe, problems = read_recipe(recipe_path)
    checked = check_recipe(recipe, ffmpeg or find_ffmpeg(), problems)
    records = cache_dir(recipe)  # where castkit remembers the projects it wrote
    check_output(output, recipe.sources(), force, EXPORT_SUFFIXES, partial(why_not_replaceable, records))
    timeline = make_timeline(checked, output)
    cards = timeline.cards
    if cards.exists() and not cards.is_dir():
        raise UsageError(f"{cards}: is not a folder; castkit writes the title cards there")
    try:
        module = import_module(f".{FORMATS[output.suffix.lower()]}", __name__)
    except ImportError as exc:  # an optional package (opentimelineio) missing
        raise UsageError(f"{output.name}: needs the {exc.name} package; "
                         "pip install 'castkit[export]'") from None
    text, notes = module.render(timeline)
    # Pauses are castkit's own cut (found at build time): the editor gets the clip uncut.
    notes = list(notes) + [f"segment {n}: pauses are not exported; the clip is whole"
                           for n, seg in enumerate(checked.recipe.segments, 1)
                           if getattr(seg, "pauses", None) is not None]
    # So are a transcript's cuts and the fillers cut (issue 24); spoken captions are not exported.
    notes += [f"segment {n}: the cuts of its transcript (or fillers: cut) are not exported; the clip is whole"
              for n, seg in enumerate(checked.recipe.segments, 1)
              if getattr(seg, "transcript", None) is not None or getattr(seg, "fillers", False)]
    # The camera is castkit's own too (no format here holds its eased, sub-pixel path yet).
    notes += [f"segment {n}: camera moves (zoom:) are not exported; the clip shows its whole picture"
              for n, seg in enumerate(checked.recipe.segments, 1)
              if getattr(seg, "zoom", ()) or getattr(seg, "follow", None) is not None]
    made = _write_cards(checked.recipe, timeline)
    try:
        write_atomically(output, lambda temp: Path(temp).write_text(text, encoding="utf-8"))
        record_written(records, output)
    except BaseException:
        for path in reversed(made):  # the cards this export drew (and their folder), no more
            path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
        raise
    for note in notes:
        say("note", f"{output.name}: {note}")
    return timeline


def _write_cards(recipe, timeline: Timeline) -> list[Path]:
    """The title cards into ``EDIT-cards/``; returns what was made (the folder first).

    A card's file name holds its key (text, style, size), so a card already there is this
    very card: exports of one recipe in several formats share the folder, and nothing is
    ever drawn over an existing file."""
    titles = [p for p in timeline.parts if p.is_title]
    made: list[Path] = []
    if not titles:
        return made
    folder = timeline.cards
    try:
        if not folder.is_dir():
            folder.mkdir(parents=True)
            made.append(folder)
        for part in titles:
            if part.source.is_file() or part.source in made:
                continue
            seg = recipe.segments[part.index - 1]
            assert isinstance(seg, TitleSegment)
            image = render_card(seg.title, seg.subtitle, seg.style, recipe.target.display_size, recipe.folder)
            write_atomically(part.source, lambda temp: image.save(temp, format="PNG"))
            made.append(part.source)
    except OSError as exc:
        raise WorkError(f"{folder}: {exc.strerror or exc} (while drawing title cards)") from None
    return made
