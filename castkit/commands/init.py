"""``castkit init CAPTURE...``: a first recipe for one's own recordings, and a contact sheet of
each to read trim points from.

The recipe builds as it is written (a title, each capture whole, a closing card, a DV and an
MP4 master), with every key an author is likely to reach for next written out in comments. The
contact sheet (``CAPTURE.sheet.png`` beside the capture, ``take.ogv`` -> ``take.sheet.png``) is a
frame every few seconds with its time, the still and the silent stretches marked: one ffmpeg
run finds them (``freezedetect``, ``silencedetect``), a second draws the sheet (``fps``,
``drawtext``, ``drawbox``, ``tile``); no frame passes through Python.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Sequence

from castkit.base.files import check_output, shown_path, write_atomically
from castkit.base.jobs import file_url, Job, Plan
from castkit.base.timecode import format_time
from castkit.cache.names import CACHE_ENV, CACHE_NAME
from castkit.cache.written import record_written, why_not_replaceable
from castkit.errors import UsageError
from castkit.media.ffmpeg import (
    compile_argv, Ffmpeg, ffmpeg_module, find_ffmpeg, run_reading, safe_input_options,
)
from castkit.media.origins import open_capture
from castkit.media.probe import MediaInfo, probe
from castkit.media.raster import WEB_MIN_SIDE, web_raster
from castkit.recipe.model import PAUSE_CUT
from castkit.run.runner import FfmpegRunner, Runner
from castkit.titles.cards import SUBTITLE_FONT

SHEET_SUFFIX = ".sheet.png"
SHEET_COLUMNS = 6
SHEET_TILE_WIDTH = 240
MAX_TILES = 60  # a sheet stays readable: the interval grows with the take
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600)  # seconds between frames, the first that fits
# What counts as still and silent on a sheet: the pauses analysis's defaults (plan.pauses).
STILL_NOISE = "0.00001"
SILENCE_DB = -40
MARK_SECONDS = 2  # a shorter hold is a breath, not a stretch to cut


@dataclass(frozen=True)
class Sheet:
    capture: Path
    path: Path
    every: int  # seconds between frames
    stills: tuple[tuple[float, float], ...]
    silences: tuple[tuple[float, float], ...]


def sheet_path(capture: Path) -> Path:
    return capture.with_name(capture.stem + SHEET_SUFFIX)


def interval(seconds: Fraction) -> int:
    """Seconds between a sheet's frames: the first of STEPS giving at most MAX_TILES."""
    for step in STEPS:
        if seconds / step < MAX_TILES:
            return step
    return math.ceil(seconds / MAX_TILES)


_FREEZE = re.compile(r"lavfi\.freezedetect\.freeze_(start|end): (\S+)")
_SILENCE = re.compile(r"silence_(start|end): (\S+)")


def _stretches(found: list[tuple[str, str]], end: float) -> tuple[tuple[float, float], ...]:
    stretches, began = [], None
    for kind, value in found:
        try:
            at = float(value)
        except ValueError:
            continue
        if kind == "start":
            began = at
        elif began is not None:
            stretches.append((began, at))
            began = None
    if began is not None:  # to the end: the detectors name no end then
        stretches.append((began, end))
    return tuple(stretches)


def find_marks(info: MediaInfo, ffmpeg: Ffmpeg) -> tuple[tuple, tuple]:
    """The still and the silent stretches of a capture, seconds from its start (one ffmpeg)."""
    argv = [ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
            *[a for k, v in safe_input_options().items() for a in (f"-{k}", v)],
            "-i", file_url(info.path),
            "-vf", f"scale=w='min(320,iw)':h=-2,fps=10,freezedetect=n={STILL_NOISE}:d={MARK_SECONDS}"]
    if info.audio is not None:
        argv += ["-af", f"silencedetect=n={SILENCE_DB}dB:d={MARK_SECONDS}"]
    argv += ["-f", "null", "-"]
    done = run_reading(argv, info.path, "finding its still and silent stretches")
    text = done.stderr.decode("utf-8", "replace")
    end = float(info.duration)
    return (_stretches(_FREEZE.findall(text), end),
            _stretches(_SILENCE.findall(text), end) if info.audio is not None else ())


def _during(stretches: Sequence[tuple[float, float]]) -> str:
    """An ffmpeg expression true while a frame's time is in one of ``stretches``."""
    return "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in stretches[:200]) or "0"


def sheet_job(info: MediaInfo, sheet: Sheet, ffmpeg: Ffmpeg) -> Job:
    """The ffmpeg run that draws a contact sheet: a frame every ``sheet.every`` seconds (the
    frame shown at that time), its time drawn on it, a bar and a word on the still (blue) and
    the silent (orange) ones, tiled SHEET_COLUMNS across."""
    ff = ffmpeg_module()
    # Frames at 0, every, 2 x every, ... before the end (none at the very end).
    count = math.ceil(info.duration / sheet.every) if info.duration > 0 else 1
    rows = math.ceil(count / SHEET_COLUMNS)
    font = str(SUBTITLE_FONT)
    video = open_capture(info).video
    # One frame every `every` seconds from 0: its timestamp, in the filter's 1/every time base,
    # is its number, so t and pts below are the capture's time of the frame. Rounded up: the
    # frame shown at that time (the last at or before it); rounded to the nearest, the filter
    # kept the last frame of the `every` seconds around it (the tile labelled 0:05 showed 7.4 s
    # of a take, every 5 s).
    video = video.filter("fps", fps=f"1/{sheet.every}", start_time=0, round="up")
    video = video.filter("scale", w=SHEET_TILE_WIDTH, h=-2).filter("setsar", "1")
    # drawbox names the frame's height ih, drawtext h.
    for stretches, colour, word, box_y, text_y in ((sheet.stills, "0x3a7bd5", "still", "0", "1"),
                                                   (sheet.silences, "0xf08c00", "silent", "ih-14", "h-13")):
        if stretches:
            during = _during(stretches)
            video = video.filter("drawbox", x=0, y=box_y, w="iw", h=14, color=colour, t="fill",
                                 enable=during)
            video = video.filter("drawtext", fontfile=font, text=word, fontsize=11, fontcolor="white",
                                 x="w-tw-4", y=text_y, enable=during)
    video = video.filter("drawtext", fontfile=font, text="%{pts:hms}", fontsize=13,
                         fontcolor="white", box=1, boxcolor="black@0.6", boxborderw=3, x=4, y=18)
    video = video.filter("tile", f"{SHEET_COLUMNS}x{rows}", padding=4, margin=4, color="0x181a1f")
    node = ff.output(video, file_url(sheet.path), vframes=1, f="image2", vcodec="png", update=1)
    return Job(f"contact sheet of {info.path.name}", tuple(compile_argv(node, ffmpeg)), sheet.path, 1,
               (info.path,))


def _web_output(name: str, infos: Sequence[MediaInfo]) -> list[str]:
    """The MP4's line: at the captures' own size (``web_raster``, as the check frames it), or,
    where that is too small for a web frame (a window of a few pixels), at 360 lines or as many
    as a thin one needs for WEB_MIN_SIDE of width (the recipe builds as it is)."""
    frame = web_raster([(*info.video.shown_shape, info.video.fps) for info in infos if info.video is not None])
    if min(frame.width, frame.height) >= WEB_MIN_SIDE:
        return [f"  - build/{name}.mp4"]
    lines = max(360, math.ceil(WEB_MIN_SIDE * frame.height / frame.width))
    return [f"  - {{path: build/{name}.mp4, height: {lines + lines % 2}}}   "
            f"# the captures ({frame.width}x{frame.height}) are smaller than a web frame"]


def recipe_text(recipe: Path, captures: Sequence[tuple[Path, MediaInfo, Sheet]]) -> str:
    """A recipe that builds as it is, commented for the next steps."""
    name = recipe.stem
    folder = recipe.parent.absolute()

    def rel(path: Path) -> str:
        # "./~x.mp4", not "~x.mp4": the recipe reads a leading ~ as a home folder.
        relative = os.path.relpath(path.absolute(), folder)
        return f"./{relative}" if relative.startswith("~") else relative

    lines = [
        f"# A castkit recipe for {', '.join(p.name for p, _, _ in captures)}, written by `castkit init`.",
        f"# It builds as it is: castkit build {recipe.name}",
        f"# Look first: castkit preview {recipe.name}   (a storyboard, nothing encoded)",
        "# Every key, one line each: castkit help recipe",
        "",
        "# What to make: a DV master (PAL, 4:3; `target: ntsc-dv`, `aspect: 16:9`) and an MP4",
        "# at the captures' own size (`{path: build/NAME.mp4, height: 720}` for a smaller one).",
        "outputs:",
        f"  - build/{name}.dv",
        *_web_output(name, [info for _, info, _ in captures]),
        "",
        "# Chapters (in the MP4, and a YouTube list beside it): every title starts one, and a clip",
        "# with `chapter: NAME`. YouTube wants at least three of 10 s or more: until then, off.",
        "chapters: off",
        "",
        "segments:",
        f"  - title: {_quoted(name.replace('-', ' ').replace('_', ' ').title())}",
        "    subtitle: A screencast",
        "    duration: 4",
    ]
    for path, info, sheet in captures:
        facts = [format_time(info.duration)]
        if info.video is not None:
            facts.append(f"{info.video.width}x{info.video.height}")
        facts.append("with sound" if info.audio is not None else "no sound")
        lines += [
            "",
            f"  # {path.name}: {', '.join(facts)}. Trim points: read them off {rel(sheet.path)}",
            f"  # (a frame every {sheet.every} s with its time; still and silent stretches marked).",
            f"  - clip: {_quoted(rel(path))}",
            # A start inside the capture (5 s, or a third of a shorter one), in whole seconds.
            f"    # start: {format_time(min(5, int(info.duration / 3))).ljust(14)}# where the clip starts in the capture",
            f"    # end: {format_time(info.duration)}",
            "    # chapter: The first step   # a chapter of the web master starts here",
            "    # audio: voice.wav      # a voice-over instead of the capture's sound",
            "    #                       # ({file: voice.wav, from: 12} to go on with a narration)",
            f"    # pauses: {PAUSE_CUT}           # cut the silent, still stretches (dead air)",
            "    # speed: 2              # play it twice as fast",
        ]
    lines += [
        "",
        "  - title: Thanks for watching",
        "    duration: 3",
        "    chapter: false          # a closing card, not a chapter of its own",
        "",
    ]
    return "\n".join(lines)


def _quoted(text: str) -> str:
    """A YAML scalar that reads back as ``text``: plain where it can be."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9 ._/-]*", text) and text.lower() not in (
            "yes", "no", "on", "off", "true", "false", "null", "none"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _records(sheet: Path) -> Path:
    """Where castkit remembers writing a contact sheet: the cache beside the sheet (and its
    capture), so that an init of the same capture from any folder may replace it; before, the
    record was beside the recipe, and a recipe elsewhere called the sheet not castkit's."""
    return Path(os.environ.get(CACHE_ENV) or sheet.parent.absolute() / CACHE_NAME)


def init(captures: Sequence[Path], recipe: Path, *, force: bool = False,
         runner: Runner | None = None, ffmpeg: Ffmpeg | None = None) -> list[Sheet]:
    """Write ``recipe`` for ``captures`` and a contact sheet beside each; returns the sheets."""
    ffmpeg = ffmpeg or find_ffmpeg()
    if recipe.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError(f"{shown_path(recipe)}: a recipe is a .yaml file")
    if recipe.exists() and not force:
        raise UsageError(f"{shown_path(recipe)}: already exists; use --force to replace it")
    found = []
    for capture in captures:
        if "\t" in str(capture):  # a recipe's paths cannot hold one (recipe.reader)
            raise UsageError(f"{shown_path(capture)}: a tab in a file name cannot be written in a recipe; rename it")
        info = probe(capture, ffmpeg, need_video=True)
        sheet = sheet_path(capture)
        check_output(sheet, [*captures, recipe], force, (".png",), partial(why_not_replaceable, _records(sheet)))
        found.append((capture, info, sheet))
    sheets = []
    for capture, info, path in found:
        stills, silences = find_marks(info, ffmpeg)
        sheets.append(Sheet(capture, path, interval(info.duration), stills, silences))
    jobs = tuple(sheet_job(info, sheet, ffmpeg) for (_, info, _), sheet in zip(found, sheets))
    (runner or FfmpegRunner()).run(Plan((jobs,)))
    for sheet in sheets:
        record_written(_records(sheet.path), sheet.path)
    text = recipe_text(recipe, [(c, i, s) for (c, i, _), s in zip(found, sheets)])
    write_atomically(recipe, lambda temp: temp.write_text(text, encoding="utf-8"))
    return sheets
