"""``castkit export``: the recipe's edit as a project for an editor.

One timeline (``timeline.make_timeline``) is made from the checked recipe and handed to the
module of the format the output's suffix names. The project references the captures where
they are; title cards (and overlays, for the formats that carry them) are drawn as PNGs into
``EDIT-cards/`` beside it. A module's ``CARRIES`` names what of transitions, music,
overlays and title markers it holds; the others get the timeline with cuts for transitions
and no music. What a format cannot express (and what castkit does to the cast after the
edit: captions, chapters, loudness) is said in one ``castkit: note:`` line each.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from functools import partial
from importlib import import_module
from pathlib import Path

from castkit.base.files import check_output, write_atomically
from castkit.cache.folders import check_not_in_cache
from castkit.cache.keys import cache_dir
from castkit.cache.written import record_written, why_not_replaceable
from castkit.base.progress import say
from castkit.errors import RecipeError, UsageError, WorkError
from castkit.exports.bed import music_bed
from castkit.exports.timeline import make_timeline, Timeline
from castkit.media.ffmpeg import Ffmpeg, find_ffmpeg
from castkit.media.seek import frame_times
from castkit.plan.check import check_recipe
from castkit.recipe.model import ClipSegment, TitleSegment
from castkit.recipe.reader import read_recipe
from castkit.titles.cards import render_card
from castkit.titles.overlays import draw as draw_overlay


FORMATS = {".mlt": "mlt", ".kdenlive": "kdenlive", ".otio": "otio", ".smil": "smil", ".edl": "edl"}
EXPORT_SUFFIXES = tuple(FORMATS)


def export(recipe_path: Path | str, output: Path | str, *, force: bool = False,
           ffmpeg: Ffmpeg | None = None) -> Timeline:
    output = Path(output)
    recipe, problems = read_recipe(recipe_path)
    ffmpeg = ffmpeg or find_ffmpeg()
    checked = check_recipe(recipe, ffmpeg, problems)
    _refuse_redactions(checked.recipe)
    records = cache_dir(recipe)  # where castkit remembers the projects it wrote
    check_not_in_cache(output, records)  # where cache clean and prune delete files
    check_output(output, recipe.sources(), force, EXPORT_SUFFIXES, partial(why_not_replaceable, records))
    try:
        module = import_module(f".{FORMATS[output.suffix.lower()]}", __name__)
    except ImportError as exc:  # an optional package (opentimelineio) missing
        raise UsageError(f"{output.name}: needs the {exc.name} package; "
                         "pip install 'castkit[export]'") from None
    carries = getattr(module, "CARRIES", frozenset())
    timeline = make_timeline(checked, output, ffmpeg)
    if "transitions" not in carries:
        timeline = timeline.as_cuts()
    if "music" in carries and recipe.music is not None:
        timeline = replace(timeline, music=music_bed(checked, timeline, ffmpeg))
    cards = timeline.cards
    if cards.exists() and not cards.is_dir():
        raise UsageError(f"{cards}: is not a folder; castkit writes the title cards there")
    text, notes = module.render(timeline)
    # Pauses are castkit's own cut (found at build time): the editor gets the clip uncut.
    notes = list(notes) + [f"segment {n}: pauses are not exported; the clip is whole"
                           for n, seg in enumerate(checked.recipe.segments, 1)
                           if getattr(seg, "pauses", None) is not None]
    notes += _overlay_notes(checked.recipe, carries)
    notes += sound_notes(checked.recipe, carries)
    # So are a transcript's cuts and the fillers cut (issue 24).
    notes += [f"segment {n}: the cuts of its transcript (or fillers: cut) are not exported; the clip is whole"
              for n, seg in enumerate(checked.recipe.segments, 1)
              if getattr(seg, "transcript", None) is not None or getattr(seg, "fillers", False)]
    notes += cast_notes(checked.recipe, carries)
    if not getattr(module, "SHOWS_HOLDS", True):
        notes += _hold_notes(checked, ffmpeg)
    made = _write_cards(checked.recipe, timeline, "overlays" in carries)
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


def _hold_notes(checked, ffmpeg: Ffmpeg) -> list[str]:
    """The clips whose trimmed part holds a picture for more than a frame and a half (a
    variable-rate capture's still screen), which an editor reading by MLT shows early
    (``exports.mlt.SHOWS_HOLDS``): said, with the way round it."""
    notes, times_of = [], {}
    for n, seg in enumerate(checked.recipe.segments, 1):
        info = checked.probes.get(getattr(seg, "clip", None))
        if info is None or info.video is None or not info.video.fps:
            continue
        if seg.clip not in times_of:
            times_of[seg.clip] = frame_times(info, ffmpeg)
        start, end = seg.start, seg.start + seg.length(info.duration)
        inside = [t for t in times_of[seg.clip] if start - 2 / info.video.fps <= t < end]
        if any(b - a > Fraction(3, 2) / info.video.fps for a, b in zip(inside, inside[1:])):
            notes.append(f"segment {n}: {seg.clip.name} holds pictures (a variable frame rate); MLT "
                         "shows the picture after each hold from the hold's start, early: for the cast's "
                         "very frames, point the project at a constant-rate copy (castkit convert)")
    return notes


# --- overlays (issue 30) -----------------------------------------------------------------------
def _refuse_redactions(recipe) -> None:
    """A project points at the captures themselves: for a clip with ``redact:`` that would hand
    the editor the very pixels the recipe hides, so the export is refused (exit 2), naming each."""
    problems = [o.where.problem(
        f"segment {n} ({seg.clip.name}): overlay {k} redacts part of the capture; castkit export "
        "would hand the editor the unredacted capture: build the cast instead, or export a "
        "recipe whose clip is a redacted build of it")
        for n, seg in enumerate(recipe.segments, 1)
        for k, o in enumerate(getattr(seg, "overlays", ()), 1) if o.redacts]
    if problems:
        raise RecipeError(problems)


def _overlay_notes(recipe, carries: frozenset[str] = frozenset()) -> list[str]:
    """The overlays a format does not hold (``carries``): said, never dropped silently."""
    notes = [f"segment {n}: overlays ({', '.join(dict.fromkeys(o.kind for o in seg.overlays))}) "
             "are not exported; add them in the editor"
             for n, seg in enumerate(recipe.segments, 1)
             if getattr(seg, "overlays", ()) and "overlays" not in carries]
    notes += [f"segment {n}: the webcam corner ({recipe.webcam_of(seg).clip.name}) is not exported; "
              "add it on a track above the clip" for n, seg in enumerate(recipe.segments, 1)
              if hasattr(seg, "clip") and recipe.webcam_of(seg) is not None]
    if recipe.frame is not None or any(spec.frame is not None for spec in recipe.outputs):
        notes.append("the styled frame (frame:) is not exported")
    return notes
# --- end of overlays ----------------------------------------------------------------------------


def sound_notes(recipe, carries: frozenset[str] = frozenset()) -> list[str]:
    """What of issue 25's sound and flow an export does not hold: a clip's gain and noise
    reduction, and the transitions and the music bed unless the format ``carries`` them."""
    notes = [f"segment {n}: gain: {float(seg.gain):g} dB is not exported; set the clip's volume in the editor"
             for n, seg in enumerate(recipe.segments, 1) if getattr(seg, "gain", 0)]
    notes += [f"segment {n}: denoise is not exported; the clip's sound is as recorded"
              for n, seg in enumerate(recipe.segments, 1)
              if isinstance(seg, ClipSegment) and recipe.denoise_of(seg)]
    notes += [f"segment {n}: the {t.type} into it is not exported (a cut); the timeline is "
              f"{float(t.duration):g} s longer than the cast there"
              for n, t in enumerate(recipe.transitions(), 1) if t is not None and "transitions" not in carries]
    if recipe.music is not None and "music" not in carries:
        notes.append("music: the music bed and its ducking are not exported; add "
                     + ", ".join(p.name for p in recipe.music.files) + " on an audio track")
    return notes


def cast_notes(recipe, carries: frozenset[str] = frozenset()) -> list[str]:
    """What the cast gets from castkit's own steps after the edit, which no project holds:
    the captions, the chapters (but a title's, where the format marks each title) and the
    loudness step."""
    notes = [f"segment {n}: its captions ({'recognised from its voice' if seg.captions_auto else seg.captions.name}) "
             "are not exported; add them as a subtitle track in the editor"
             for n, seg in enumerate(recipe.segments, 1)
             if isinstance(seg, ClipSegment) and (seg.captions is not None or seg.captions_auto)]
    named = [seg.chapter for seg in recipe.segments
             if seg.chapter and not ("title markers" in carries and isinstance(seg, TitleSegment))]
    if recipe.chapters and named:
        notes.append(f"chapters ({', '.join(repr(name) for name in named)}) are not exported; "
                     "add them as markers in the editor")
    if recipe.loudness is not None:
        notes.append(f"loudness: the cast's step to {float(recipe.loudness):g} LUFS is not exported; "
                     "the sound is as the clips give it")
    return notes


def _write_cards(recipe, timeline: Timeline, overlays: bool = False) -> list[Path]:
    """The title cards (and with ``overlays``, the overlays' pictures) into ``EDIT-cards/``;
    returns what was made (the folder first).

    A card's file name holds its key (text, style, size), so a card already there is this
    very card: exports of one recipe in several formats share the folder, and nothing is
    ever drawn over an existing file. So does an overlay's (``builder.plan.overlay_key``)."""
    titles = [p for p in timeline.parts if p.is_title]
    drawn = [(part, d) for part in timeline.parts for d in part.overlays if d.picture is not None] if overlays else []
    made: list[Path] = []
    if not titles and not drawn:
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
        for part, d in drawn:
            if d.picture.is_file() or d.picture in made:
                continue
            image = draw_overlay(d.overlay, part.source_size, recipe.folder)
            write_atomically(d.picture, lambda temp: image.save(temp, format="PNG"))
            made.append(d.picture)
    except OSError as exc:
        raise WorkError(f"{folder}: {exc.strerror or exc} (while drawing title cards)") from None
    return made
