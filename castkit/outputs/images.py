"""What the image outputs share (animated GIF, WebP and APNG; posters and sprite sheets): the
cast's picture as the web master frames it (the same conform, titles, cuts and square pixels),
at the image's width, in RGB (``media.raster.ImageRaster``), kept in the segment cache
losslessly and without sound.

Why lossless segments: an image is made from the whole cast at once (a GIF's palette is
chosen for all of its pictures, a sprite sheet holds frames of every segment), so the cache
keeps each segment's conformed picture exactly (RGB H.264 at ``qp 0``: the samples come back
bit for bit; 380 kB for 30 s of an 800x500 terminal); an edit re-encodes that segment's
picture and the image, never the other segments. Each image's join reads the segments
through the concat demuxer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from castkit.base.files import concat_list_path
from castkit.base.jobs import concat_list, file_url
from castkit.media.ffmpeg import ffmpeg_module
from castkit.outputs.web import CAPTION_FONT, Mp4Segments
from castkit.titles.cards import FONTS_DIR



@dataclass(frozen=True)
class ImageProfile(Mp4Segments):
    """The segments of an image output; subclasses say how the image is made (``join``)."""

    def encode(self, ff: Any, video: Any, audio: Any, output: Path, final: bool,
               copy_video: bool = False) -> Any:
        """The picture alone, losslessly (``audio`` is left out: an image has no sound)."""
        if final or copy_video:
            raise ValueError("an image output is made from cached segments only")
        return ff.output(video, file_url(output), f="mp4", vcodec="libx264rgb", qp=0,
                         preset="ultrafast", pix_fmt=self.raster.pix_fmt, map_metadata=-1,
                         map_chapters=-1)


def cast_pictures(parts: Sequence[Path], output: Path, again: bool = False) -> tuple[Any, Path, str]:
    """The concat demuxer's video over ``parts``: (stream, list file, its text). ``again``: a
    second input reading the same list (ffmpeg-python makes one input of two alike)."""
    ff = ffmpeg_module()
    list_file = concat_list_path(output)
    # auto_convert=1 is the concat demuxer's default: said only to tell the inputs apart.
    source = ff.input(file_url(list_file), f="concat", safe=0, protocol_whitelist="file",
                      format_whitelist="concat,mov", **({"auto_convert": 1} if again else {}))
    return source.video, list_file, concat_list(parts)


def to_rgb(video: Any, pix_fmt: str = "rgb24") -> Any:
    """The segments' pictures (planar RGB as H.264 decodes them) in the packed RGB an encoder
    takes: the same samples, no colour conversion."""
    return video.filter("format", pix_fmt)



def burned_in(video: Any, subtitles: Path | None) -> Any:
    """``video`` with the captions of an SRT file drawn into it by libass (both ffmpegs castkit
    supports have it), in castkit's own font: the same on every machine."""
    if subtitles is None:
        return video
    return video.filter("subtitles", filename=str(subtitles), fontsdir=str(FONTS_DIR),
                        force_style=f"FontName={CAPTION_FONT}")
