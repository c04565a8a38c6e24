"""What the web masters (MP4, WebM) share: square-pixel frames at the captures' own size,
segments in MP4 files with lossless sound, and a cast whose video is joined by stream copy and
whose sound is encoded once.

Why the sound is encoded once: AAC (and Opus) segments joined by stream copy leave a gap of
about 29 ms (encoder priming and padding) at every join and drift the sound later and later
(measured: 22, 51, 80, 110 ms after four joins). Each segment therefore carries its sound as
ALAC (lossless, and allowed in MP4 by every ffmpeg castkit supports, unlike PCM), the concat
demuxer hands the joined samples to one encoder, and they come out gapless and sample-exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Sequence

from castkit.base.files import concat_list_path, run_file_path
from castkit.base.jobs import concat_list, file_url, Job
from castkit.cache.seals import sealed
from castkit.media.ffmpeg import compile_argv, Ffmpeg, ffmpeg_module, safe_input_args
from castkit.media.raster import AUDIO_CHANNELS, AUDIO_RATE, WebRaster
from castkit.plan.music import complex_option
from castkit.publish.loudness import filter_option, LoudnessStep
from castkit.titles.cards import FONTS_DIR

# The family of FONTS_DIR's DejaVuSans.ttf: burned captions look the same on every machine.
CAPTION_FONT = "DejaVu Sans"


# Every keyframe interval the same, whatever the segment: seconds between keyframes.
KEYFRAME_SECONDS = 5


@dataclass(frozen=True)
class Mp4Segments:
    """What every profile whose cached segments are MP4 files shares (the web masters, the
    images for docs): a web frame, inter-coded pictures, no NTSC DV sound pattern, and a
    segment that is complete when its MP4 is whole and sealed."""

    raster: WebRaster = WebRaster()

    segment_suffix: ClassVar[str] = ".mp4"
    label: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return f"{self.label} {self.raster.name}"

    def pictures_once(self, final: bool) -> bool:
        return False  # inter-coded: a picture's bytes depend on those before it

    def lead(self, at: int) -> int:  # noqa: ARG002 - these joins copy whole segments
        return 0

    def lays_ntsc_sound(self, final: bool) -> bool:  # noqa: ARG002 - no DV sound
        return False

    def size(self, frames: int, final: bool) -> int | None:
        return None

    def segment_complete(self, path: Path, frames: int) -> bool:
        """A whole MP4 whose seal records its size (its content is checked before a cast is
        made from it)."""
        return sealed(path) and mp4_complete(path)


def tagged(video: Any) -> Any:
    """The picture's frames tagged BT.709, limited range, as the scaler made them: ffmpeg 9
    writes the encoder's colour tags from the frames' (5.1 from its options), and the scaler
    sets only the matrix and range on them: without this, primaries and transfer were
    "unknown" in every MP4 and WebM the wheel's ffmpeg made."""
    return video.filter("setparams", color_primaries="bt709", color_trc="bt709", colorspace="bt709",
                        range="tv")


@dataclass(frozen=True)
class WebProfile(Mp4Segments):
    # The edge windows a transition's overlap is made from (plan.transitions): losslessly, as
    # the overlap decodes them and encodes them again (a few frames, x264 at qp 0).
    lossless: bool = False

    container: ClassVar[str] = ""  # the cast's muxer
    audio_codec: ClassVar[dict[str, Any]] = {}

    def video_codec(self) -> dict[str, Any]:
        raise NotImplementedError

    def _video(self) -> dict[str, Any]:
        # Tagged as what the scaler made (BT.709, limited range): players then show the
        # colours castkit meant. Explicit, so that every segment's parameter sets are alike
        # (ffmpeg 9 takes the tags from the frames instead: ``tagged``).
        fps = self.raster.fps
        codec = {"vcodec": "libx264", "qp": 0, "preset": "ultrafast"} if self.lossless else self.video_codec()
        return {
            **codec, "pix_fmt": "yuv420p", "g": round(KEYFRAME_SECONDS * fps),
            "color_primaries": "bt709", "color_trc": "bt709", "colorspace": "bt709",
            "color_range": "tv",
        }

    def final_options(self) -> dict[str, Any]:
        return {}

    def joined_video_options(self) -> dict[str, Any]:
        """Options for the segments' pictures copied into the cast (``join``)."""
        return {}

    def encode(self, ff: Any, video: Any, audio: Any, output: Path, final: bool,
               copy_video: bool = False) -> Any:
        if copy_video:
            raise ValueError("web segments encode their own pictures")
        video = tagged(video)
        if final:
            sound = {**self.audio_codec, "ar": AUDIO_RATE, "ac": AUDIO_CHANNELS}
            return ff.output(video, audio, file_url(output), f=self.container, **self._video(),
                             **sound, **self.final_options(), map_metadata=-1, map_chapters=-1)
        return ff.output(video, audio, file_url(output), f="mp4", **self._video(),
                         acodec="alac", ar=AUDIO_RATE, ac=AUDIO_CHANNELS,
                         map_metadata=-1, map_chapters=-1)

    def join(self, parts: Sequence[tuple[Path, int]], output: Path, work: Path, ffmpeg: Ffmpeg,
             label: str, chapters: str | None = None, loudness: Any = None,
             captions: tuple[str, str] | None = None, music: Any = None, burn: bool = False) -> Any:
        """The concat join; ``chapters``: an FFMETADATA text, given to ffmpeg as a second input
        whose chapters the cast takes; ``captions``: (SRT, WebVTT) texts, the cast's soft
        subtitle track (mov_text in MP4, WebVTT in WebM); ``loudness``: (target LUFS, cache file of the filter),
        the sound measured just before the join and brought to the target by one gain;
        ``music``: the cast's ``plan.music.MusicStep``, whose bed is mixed under the sound (its
        filter script instead of the loudness one). ``burn``: the captions drawn on the picture
        (libass, castkit's font) instead of a soft track: the only join that encodes the picture
        again (the segments stay as cached)."""

        ff = ffmpeg_module()
        list_file = concat_list_path(output)
        source = ff.input(
            file_url(list_file), f="concat", safe=0,
            protocol_whitelist="file", format_whitelist="concat,mov",
        )
        writes = []
        extra_inputs: list[str] = []
        metadata = {"map_metadata": -1, "map_chapters": -1}
        if chapters:
            meta_file = run_file_path(output, ".ffmetadata")
            writes.append((meta_file, chapters))
            extra_inputs += ["-f", "ffmetadata", "-i", file_url(meta_file)]
            metadata = {"map_metadata": 1, "map_chapters": 1}
        subtitle_options: list[str] = []
        video, picture = source["v:0"], {"vcodec": "copy", **self.joined_video_options()}
        if captions and burn:
            srt_file = run_file_path(output, ".srt")
            writes.append((srt_file, captions[0]))
            video = tagged(video.filter("subtitles", filename=str(srt_file), fontsdir=str(FONTS_DIR),
                                        force_style=f"FontName={CAPTION_FONT}"))
            picture = self._video()
        elif captions:
            srt, vtt = captions
            webm = self.container == "webm"
            sub_file = run_file_path(output, ".vtt" if webm else ".srt")
            writes.append((sub_file, vtt if webm else srt))
            index = 1 + bool(chapters)
            extra_inputs += ["-f", "webvtt" if webm else "srt", "-i", file_url(sub_file)]
            subtitle_options = ["-map", f"{index}:s:0", "-c:s", "webvtt" if webm else "mov_text"]
        steps: tuple = ()
        mix_options: list[str] = []
        if music is not None:  # the bed is the last input, its index after the others
            # (burned captions are drawn by a filter, not read as an input)
            step = music.at(1 + bool(chapters) + bool(captions and not burn), 0)
            extra_inputs += [*safe_input_args(), "-i", file_url(step.bed)]
            mix_options = [complex_option(ffmpeg), str(step.consumer_script)]
            steps = (step,)
        out = ff.output(
            video, source["a:0"], file_url(output), f=self.container, **picture,
            **self.audio_codec, ar=AUDIO_RATE, ac=AUDIO_CHANNELS, **self.final_options(),
            **metadata,
        )
        argv = _with_inputs(compile_argv(out, ffmpeg), extra_inputs)
        argv[-1:-1] = subtitle_options
        if mix_options:  # the sound is the mix's output, not the joined segments' own
            at = next(i for i in range(len(argv) - 1) if argv[i] == "-map" and argv[i + 1] == "0:a:0")
            argv[at + 1] = "[out]"
            argv[-1:-1] = mix_options
        if loudness is not None:
            target, script = loudness
            argv[-1:-1] = [filter_option(ffmpeg), str(script)]
            steps = (LoudnessStep(tuple(path for path, _ in parts), script, target, ffmpeg),)
        paths = [path for path, _ in parts]
        return Job(label, tuple(argv), output, sum(f for _, f in parts),
                   tuple(paths), ((list_file, concat_list(paths, seconds=[Fraction(f) / self.raster.fps for _, f in parts])),
                                  *writes), prepare=steps)


def _with_inputs(argv: list[str], extra: list[str]) -> list[str]:
    """``argv`` with more inputs (``-f FMT -i URL`` ...) after its own: numbered 1, 2, ... in
    the order given (ffmpeg-python names only the inputs its graph uses)."""
    if not extra:
        return argv
    last = max(i for i, arg in enumerate(argv) if arg == "-i")
    return [*argv[: last + 2], *extra, *argv[last + 2:]]


def mp4_complete(path: Path) -> bool:
    """True if ``path`` is a whole ISO BMFF file: its top-level boxes end exactly at its end and
    include the movie header (``moov``) and the media (``mdat``). A file cut short anywhere, or
    grown by anything, fails; reading it costs a few reads of 16 bytes."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, 2)
            at, seen = 0, set()
            while at < end:
                f.seek(at)
                head = f.read(16)
                if len(head) < 8:
                    return False
                size = int.from_bytes(head[:4], "big")
                if size == 1:
                    if len(head) < 16:
                        return False
                    size = int.from_bytes(head[8:16], "big")
                elif size == 0:
                    size = end - at
                if size < 8:
                    return False
                seen.add(head[4:8])
                at += size
            return at == end and {b"moov", b"mdat"} <= seen
    except OSError:
        return False
