"""DV (raw .dv and DV in AVI): intra-only frames of a fixed size, sound in every frame."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from castkit.base.files import concat_list_path
from castkit.base.jobs import file_url
from castkit.cache.records import manifest_path
from castkit.cache.seals import sealed
from castkit.media.dv import DvTarget, ntsc_phase
from castkit.media.dvtc import retime_avi
from castkit.media.ffmpeg import Ffmpeg
from castkit.media.raster import AUDIO_CHANNELS, AUDIO_RATE
from castkit.outputs.join import ByteJoinJob, Part
from castkit.plan.encode import join_job


@dataclass(frozen=True)
class DvProfile:
    raster: DvTarget = DvTarget()
    container: str = "dv"  # the cast's: dv or avi; segments are always raw DV

    segment_suffix = ".dv"

    @property
    def name(self) -> str:
        return self.raster.name

    def writes_raw_dv(self, final: bool) -> bool:
        """Whether an encode writes raw DV (a segment, a .dv made in one go): frames of a
        fixed size that the dv muxer lays out; a final AVI is laid out by its own muxer."""
        return not final or self.container == "dv"

    def pictures_once(self, final: bool) -> bool:
        """Repeated pictures are encoded once (``media.pictures``) wherever the dv muxer lays out
        the frames."""
        return self.writes_raw_dv(final)

    def encode(self, ff: Any, video: Any, audio: Any, output: Path, final: bool,
               copy_video: bool = False) -> Any:
        return ff.output(
            video, audio, file_url(output),
            f=self.container if final else "dv", vcodec="copy" if copy_video else "dvvideo",
            acodec="pcm_s16le",
            ar=AUDIO_RATE, ac=AUDIO_CHANNELS, map_metadata=-1, map_chapters=-1,
        )

    def size(self, frames: int, final: bool) -> int | None:
        if not self.writes_raw_dv(final):
            return None
        return frames * self.raster.frame_bytes

    def segment_complete(self, path: Path, frames: int) -> bool:
        """A cached segment is used only if it has exactly the bytes its frames take and its
        seal records that size (its content is checked before a cast is made from it)."""

        return sealed(path, frames * self.raster.frame_bytes)

    def lead(self, at: int) -> int:
        """Frames a segment starting at frame ``at`` of the cast is encoded with before its
        own, and the join skips: in an NTSC raw DV cast its position in the 5-frame sound
        pattern (see ``plan.encode``), so each of its frames carries the samples that frame
        has in the cast; none in PAL or AVI. Only the phase, so a title edit that keeps lengths
        re-encodes nothing else."""
        return ntsc_phase(at) if self.lays_ntsc_sound(final=True) else 0

    def lays_ntsc_sound(self, final: bool) -> bool:
        """Whether an encode's sound is laid out in NTSC DV's 5-frame pattern: raw DV (a
        segment, a .dv cast) from the dv muxer; a final AVI's muxer lays its own."""
        return self.raster.standard == "ntsc" and self.writes_raw_dv(final)

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str, trims: Sequence[tuple[int, int]] | None = None) -> Any:
        """``trims``: the frames each part gives up to transitions at its head and tail (raw DV
        only: the overlaps are segments of their own, the neighbours are cut by bytes)."""
        total = sum(frames for _, frames in parts)
        if self.container == "dv":
            frame = self.raster.frame_bytes
            joined, at = [], 0
            for n, (path, frames) in enumerate(parts):
                head, tail = trims[n] if trims is not None else (0, 0)
                lead = self.lead(at - head)
                # A transition's neighbours are named by the frames they keep, so a new
                # duration is a new layout, joined afresh.
                name = path.name if not (head or tail) else f"{path.name}[{head}:-{tail}]"
                joined.append(Part(path, name, (frames - head - tail) * frame, frame,
                                   (lead + head) * frame, tail * frame))
                at += frames - head - tail
            return ByteJoinJob(label, tuple(joined), output, manifest_path(work, output), at)

        spans = []  # an AVI's parts cut by the concat demuxer, frame-exact (DV is intra-only)
        for path, frames in parts:
            head, tail = trims[len(spans)] if trims is not None else (0, 0)
            total -= head + tail
            fps = self.raster.fps
            spans.append((Fraction(head) / fps, Fraction(frames - tail) / fps) if head or tail else None)
        return join_job([path for path, _ in parts], concat_list_path(output),
                        total, output, ffmpeg, self.raster, label=label, container=self.container,
                        finish=(AviTimecode(self.raster.frame_bytes),), spans=spans)


@dataclass(frozen=True)
class AviTimecode:
    """After an AVI join (its frames copied as each segment's encode wrote them, timecode from
    00:00:00:00 in every one): the DV timecode and recording time counted on from the cast's
    first frame, as a raw DV cast has them (see ``media.dvtc``)."""

    frame_bytes: int

    def apply(self, path: Path) -> None:
        import os


        fd = os.open(path, os.O_RDWR)
        try:
            retime_avi(fd, self.frame_bytes)
        finally:
            os.close(fd)

    def shell(self) -> str:
        return ("# then castkit counts the DV timecode of the AVI's frames on from its first "
                "(castkit.media.dvtc.retime_avi)")
