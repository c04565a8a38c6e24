"""DV (raw .dv and DV in AVI): intra-only frames of a fixed size, sound in every frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .._ffmpeg import Ffmpeg, file_url
from .._raster import AUDIO_CHANNELS, AUDIO_RATE
from .._target import DvTarget


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
        """Repeated pictures are encoded once (``_pictures``) wherever the dv muxer lays out
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
        from .._cache import sealed

        return sealed(path, frames * self.raster.frame_bytes)

    def lead(self, at: int) -> int:
        """Frames a segment starting at frame ``at`` of the cast is encoded with before its
        own, and the join skips: in an NTSC raw DV cast its position in the 5-frame sound
        pattern (see ``_plan._conform``), so each of its frames carries the samples that frame
        has in the cast; none in PAL or AVI. Only the phase, so a title edit that keeps lengths
        re-encodes nothing else."""
        if self.container == "dv" and self.raster.standard == "ntsc":
            return at % 5
        return 0

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str) -> Any:
        total = sum(frames for _, frames in parts)
        if self.container == "dv":
            from .._join import ByteJoinJob, Part, manifest_path

            frame = self.raster.frame_bytes
            joined, at = [], 0
            for path, frames in parts:
                joined.append(Part(path, path.name, frames * frame, frame, self.lead(at) * frame))
                at += frames
            return ByteJoinJob(label, tuple(joined), output, manifest_path(work, output), total)
        from .._plan import join_job
        from .._runner import concat_list_path

        return join_job([path for path, _ in parts], concat_list_path(output),
                        total, output, ffmpeg, self.raster, label=label, container=self.container,
                        finish=(AviTimecode(self.raster.frame_bytes),))


@dataclass(frozen=True)
class AviTimecode:
    """After an AVI join (its frames copied as each segment's encode wrote them, timecode from
    00:00:00:00 in every one): the DV timecode and recording time counted on from the cast's
    first frame, as a raw DV cast has them (see ``_dvtc``)."""

    frame_bytes: int

    def apply(self, path: Path) -> None:
        import os

        from .._dvtc import retime_avi

        fd = os.open(path, os.O_RDWR)
        try:
            retime_avi(fd, self.frame_bytes)
        finally:
            os.close(fd)

    def shell(self) -> str:
        return ("# then castkit counts the DV timecode of the AVI's frames on from its first "
                "(castkit._dvtc.retime_avi)")

