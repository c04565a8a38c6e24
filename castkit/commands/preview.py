"""``castkit preview``: a storyboard of the cast, one tile per segment, without encoding it.

Each clip's tile is the frame in the middle of its trimmed range, framed exactly as the cast
will show it (crop, fit, bars: the same ``conform_video`` chain as the encode, then squared
for the screen); each title's tile is its card. Under each tile: where the segment starts in
the cast, how long it lasts, and what it is.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import partial
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from castkit.base.files import check_output, partial_path, shown_path, write_error
from castkit.base.progress import say
from castkit.base.stops import stops_deferred
from castkit.base.jobs import file_url, Job, Plan
from castkit.base.timecode import format_time
from castkit.builder.plan import effects_of, followed, overlay_steps, profiles_for
from castkit.cache.folders import check_not_in_cache
from castkit.cache.keys import cache_dir
from castkit.cache.written import record_written, why_not_replaceable
from castkit.errors import Interrupted
from castkit.media.raster import Raster
from castkit.media.ffmpeg import compile_argv, Ffmpeg, ffmpeg_module, find_ffmpeg
from castkit.media.probe import MediaInfo
from castkit.plan.check import check_recipe, Checked
from castkit.plan.encode import (
    camera_path, clip_frames, conform_video, Effects, film, frame_window, source_picture, Trim, trimmed_length,
)
from castkit.plan.pauses import kept_of
from castkit.recipe.model import ClipSegment, TitleSegment
from castkit.recipe.reader import read_recipe
from castkit.run.runner import FfmpegRunner, Runner
from castkit.titles.cards import render_card, SUBTITLE_FONT, TITLE_FONT


TILE_WIDTH = 320
COLUMNS = 4
# A board holds at most this many tiles (12 rows of 4: about 1360x3640 pixels, 15 MB as RGB);
# a longer cast gets more boards, BOARD-2.png and on, each drawn and written before the next:
# memory stays that of one board, whatever the recipe's length (2000 segments on one board
# were 205 megapixels that Pillow would not open again; 10,000 ran out of memory).
TILES_PER_BOARD = 48
_BOARD = (24, 26, 31)
_INK = (235, 235, 235)
_DIM = (150, 155, 165)


@dataclass(frozen=True)
class Tile:
    index: int
    start: Fraction  # in the cast
    seconds: Fraction
    caption: str
    image: Path | None  # a frame extracted by ffmpeg; None for titles (drawn directly)
    segment: ClipSegment | TitleSegment
    transition: str | None = None  # how the cast comes into this tile ("crossfade 0.5 s")


def frame_job(info: MediaInfo, at: Fraction, effects: Effects, target: Raster, out: Path,
              ffmpeg: Ffmpeg, label: str) -> Job:
    """One PNG (or JPEG, by ``out``'s suffix): the source's frame at ``at`` seconds, framed
    as the cast shows it."""
    ff = ffmpeg_module()
    _, video, shape = source_picture(info, effects, rate=target.fps, matrix=target.yuv_matrix)
    # The frame is found by counting frames, as the encode does (Ogg input seeking is not exact).
    frame = target.frames(at)
    camera = camera_path(effects, shape, target)
    if camera is None:
        video = conform_video(frame_window(video, target, frame, 1), shape, 1, target)
    else:  # the view the cast shows at that moment (zoom: moves, a vertical cast's reframing)
        video = film(video, camera, frame, 1, Fraction(1), target, None,
                     lambda v: frame_window(v, target, frame, 1), info.video.fps)
        video = conform_video(video, shape, 1, target, scaled=True)
    width, height = target.display_size
    jpeg = out.suffix.lower() in (".jpg", ".jpeg")
    # The picture is in the target's colours: said to the scaler, which converts it to the
    # image's (ffmpeg 5.1's scaler does not tag what it converts, so a picture it fitted read
    # as its source's matrix: a BT.601 capture's green came out 34 levels off in a web tile).
    colours = {"in_color_matrix": target.matrix, "in_range": "tv"} if target.yuv_matrix else {}
    if jpeg:  # full-range 4:2:0 JPEG (BT.601), as browsers show it
        colours.update(out_color_matrix="bt601", out_range="pc")
    video = video.filter("scale", w=width, h=height, **colours).filter("setsar", "1")
    codec = {"vcodec": "mjpeg", "q:v": 3} if jpeg else {"vcodec": "png"}
    if jpeg:
        video = video.filter("format", "yuvj420p")
    node = ff.output(video, file_url(out), vframes=1, f="image2", **codec)
    return Job(label, tuple(compile_argv(node, ffmpeg)), out, 1, (info.path,))


def plan_tiles(checked: Checked, ffmpeg: Ffmpeg, work: Path) -> tuple[list[Tile], list[Job]]:
    recipe = checked.recipe
    # The first output's frame (a web-only recipe's storyboard is not letterboxed to DV 4:3).
    target = first_raster(checked)
    tiles, jobs = [], []
    position = Fraction(0)
    transitions = recipe.transitions()
    for index, seg in enumerate(recipe.segments, 1):
        into = transitions[index - 1]
        if into is not None:  # the tile starts where it overlaps the one before
            position -= target.seconds(target.frames(into.duration))
        if isinstance(seg, TitleSegment):
            frames = target.frames(seg.duration)
            caption = f"title “{seg.title}”"
            image = None
        else:
            info = checked.probes[seg.clip]
            trim = Trim(seg.start, seg.length(info.duration))
            fx = effects_of(seg, checked)
            if seg.follow is not None:  # the camera the build plans (builder.plan)
                fx = replace(fx, zoom=followed(seg, index, checked, ffmpeg, cache_dir(recipe), quiet=True))
            moves = fx.zoom
            frames = clip_frames(info, trim, target, fx.speed)
            kept = kept_of(seg, index, checked, target, ffmpeg, cache_dir(recipe), quiet=True)
            middle = seg.start + trimmed_length(info, trim) / 2
            image = work / f"tile-{index:04d}.png"
            jobs.append(frame_job(info, middle, fx, target, image, ffmpeg, f"frame for segment {index}")
                        .after(*overlay_steps(seg, fx, checked)))
            end = seg.start + trimmed_length(info, trim)
            notes = [f"{format_time(seg.start)}–{format_time(end)}"]
            if fx.speed != 1:
                notes.append(f"×{float(fx.speed):g}")
            if kept is not None:  # where the pauses went: how much, and how many stretches
                gone = target.seconds(frames - kept.frames)
                pauses = sum(1 for a, b in zip(kept.parts, kept.parts[1:]) if a.end != b.first) \
                    + sum(1 for p in kept.parts if p.pause)
                what = "pauses" if seg.pauses is not None else "cut"
                if seg.pauses is not None and (seg.transcript is not None or seg.fillers):
                    what = "cut and pauses"  # a transcript's or the fillers' cuts (plan.speech)
                notes.append(f"{what} −{float(gone):.1f} s ({pauses})")
                frames = kept.frames
            if fx.crop:
                notes.append(f"crop {fx.crop.width}x{fx.crop.height}+{fx.crop.x}+{fx.crop.y}")
            if moves:  # the times the camera moves (--dry-run lists where to)
                notes.append(("follow: " if seg.follow else "zoom: ")
                             + " ".join(f"{float(m.at):g}s" for m in moves[:6]) + (" …" if len(moves) > 6 else ""))
            if seg.overlays:  # what is drawn on the clip (issue 30); the tile shows it at its time
                notes.append("overlays: " + " ".join(dict.fromkeys(o.kind for o in seg.overlays)))
            if seg.gain:
                notes.append(f"gain {float(seg.gain):+g} dB")
            if recipe.denoise_of(seg):
                notes.append(f"denoise {float(recipe.denoise_of(seg)):g} dB")
            if fx.mute:
                notes.append("muted")
            elif fx.voice:
                # Where the voice ends in the clip (before any pause is cut): the silence
                # after it is the author's to trim, or to fill with the next part of it.
                heard = min(fx.voice.duration - fx.voice_from, target.seconds(frames))
                notes.append(f"voice {fx.voice.path.name} ends at +{float(heard):.1f} s")
            caption = f"{seg.clip.name}  " + ", ".join(notes)
        seconds = target.seconds(frames)
        shown = f"{into.type} {float(into.duration):g} s" if into is not None else None
        tiles.append(Tile(index, position, seconds, caption, image, seg, shown))
        position += seconds
    return tiles, jobs


def preview(
    recipe_path: Path | str,
    output: Path | str | None = None,
    *,
    force: bool = False,
    runner: Runner | None = None,
    ffmpeg: Ffmpeg | None = None,
) -> list[Path]:
    """Draw the storyboard: ``output`` (default: beside the first cast, CAST-board.png), and
    for a cast of more than TILES_PER_BOARD segments the boards after it (board_paths)."""
    recipe, problems = read_recipe(recipe_path)
    out = Path(output) if output is not None else recipe.output.with_name(recipe.output.stem + "-board.png")
    ffmpeg = ffmpeg or find_ffmpeg()
    checked = check_recipe(recipe, ffmpeg, problems)
    records = cache_dir(recipe)
    mine = partial(why_not_replaceable, records)
    pages = board_paths(out, len(recipe.segments))
    for page in pages:  # every board may be written, before the first is drawn
        check_output(page, recipe.sources(), force, (".png",), mine)
        check_not_in_cache(page, records)
    runner = runner or FfmpegRunner()
    # Each board is drawn and saved beside its name, and all take their names at the end: a
    # stop or a failure leaves every board as it was, never some of this recipe's and some of
    # the last one's (a fault campaign stopped a 3-board preview after the first was replaced).
    drawn: list[tuple[Path, Path]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="castkit-preview-") as work:
            tiles, jobs = plan_tiles(checked, ffmpeg, Path(work))
            for n, page in enumerate(pages):
                shown = tiles[n * TILES_PER_BOARD:(n + 1) * TILES_PER_BOARD]
                frames = {tile.image for tile in shown if tile.image is not None}
                mine_jobs = tuple(job for job in jobs if job.output in frames)
                try:
                    runner.run(Plan((mine_jobs,)) if mine_jobs else Plan())
                except Interrupted:  # the runner's words would name the tiles, temporary files
                    raise Interrupted("stopped; no storyboard was written (the boards are as they were)") from None
                board = draw_board(shown, first_raster(checked), recipe.folder)
                temp = partial_path(page)
                drawn.append((temp, page))
                try:
                    board.save(temp, format="PNG")
                except OSError as exc:
                    raise write_error(page, exc) from None
                for path in frames:  # this board's frames are drawn: their files go
                    path.unlink(missing_ok=True)
        with stops_deferred():  # the renames, all or none
            for temp, page in drawn:
                try:
                    os.replace(temp, page)
                except OSError as exc:
                    raise write_error(page, exc) from None
                record_written(records, page)
    finally:
        for temp, _ in drawn:
            temp.unlink(missing_ok=True)
    stale, n = [], len(pages) + 1  # boards after these, from a longer storyboard: named, kept
    while (later := _board(out, n)).exists():
        stale.append(later)
        n += 1
    if stale:
        say("note", f"{', '.join(shown_path(path) for path in stale[:3])}{' ...' if len(stale) > 3 else ''} "
                    f"{'is' if len(stale) == 1 else 'are'} from a longer storyboard, not this recipe's")
    return pages


def board_paths(output: Path, segments: int) -> list[Path]:
    """The boards of a cast of ``segments``: ``output``, then OUTPUT-2.png, OUTPUT-3.png..."""
    count = max(1, -(-segments // TILES_PER_BOARD))
    return [_board(output, n) for n in range(1, count + 1)]


def _board(output: Path, n: int) -> Path:
    """Board ``n`` (from 1) of the storyboard ``output``."""
    return output if n == 1 else output.with_name(f"{output.stem}-{n}{output.suffix}")


def first_raster(checked: Checked) -> Raster:
    """The frame of the recipe's first output: what the storyboard shows."""
    return profiles_for(checked)[0][1].raster


def draw_board(tiles: list[Tile], target: Raster, base: Path) -> Image.Image:
    width, height = target.display_size
    tile_w = TILE_WIDTH
    tile_h = round(TILE_WIDTH * height / width)
    pad, caption_h = 16, 46
    columns = min(COLUMNS, max(1, len(tiles)))
    rows = (len(tiles) + columns - 1) // columns
    board = Image.new("RGB", (pad + columns * (tile_w + pad), pad + rows * (tile_h + caption_h + pad)), _BOARD)
    draw = ImageDraw.Draw(board)
    bold = ImageFont.truetype(str(TITLE_FONT), 15)
    regular = ImageFont.truetype(str(SUBTITLE_FONT), 13)
    for n, tile in enumerate(tiles):
        x = pad + (n % columns) * (tile_w + pad)
        y = pad + (n // columns) * (tile_h + caption_h + pad)
        if tile.image is not None:
            with Image.open(tile.image) as im:
                picture = im.convert("RGB").resize((tile_w, tile_h), Image.LANCZOS)
        else:
            seg = tile.segment
            picture = render_card(seg.title, seg.subtitle, seg.style, (width, height), base)
            picture = picture.resize((tile_w, tile_h), Image.LANCZOS)
        board.paste(picture, (x, y))
        draw.rectangle([x - 1, y - 1, x + tile_w, y + tile_h], outline=(70, 74, 82))
        if tile.transition:  # a badge over the tile's left edge: how the cast comes into it
            label = f"◀ {tile.transition}"
            box = draw.textbbox((0, 0), label, font=regular)
            bx, by = x - pad // 2, y + tile_h // 2 - 11
            draw.rectangle([bx, by, bx + box[2] + 12, by + 22], fill=(230, 170, 60))
            draw.text((bx + 6, by + 3), label, font=regular, fill=_BOARD)
        head = f"{tile.index}   {format_time(tile.start)}   +{float(tile.seconds):.2f} s"
        draw.text((x, y + tile_h + 6), head, font=bold, fill=_INK)
        draw.text((x, y + tile_h + 26), _fit(tile.caption, regular, tile_w), font=regular, fill=_DIM)
    return board


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"
