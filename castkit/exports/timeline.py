"""One timeline of a checked recipe, the same for every export format.

Each part is a title card (a PNG written beside the export) or a kept part of a capture: its
source in and out points in seconds and in frames of the cast's DV rate, its place in the cast,
its speed, crop and fades. Frame counts are computed as ``castkit build`` computes them for
the recipe's DV target, so an editor's timeline lasts exactly as long as castkit's DV cast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from castkit.builder.plan import drawn_overlays, effects_of, followed
from castkit.cache.keys import cache_dir, card_key
from castkit.media.dv import DvTarget
from castkit.media.ffmpeg import Ffmpeg
from castkit.plan.camera import CameraPath
from castkit.plan.check import Checked
from castkit.plan.encode import camera_path, clip_frames, Trim
from castkit.plan.overlays import Drawn
from castkit.recipe.model import ClipSegment, Crop, TitleSegment


@dataclass(frozen=True)
class Part:
    """One segment of the cast as an editor sees it."""

    index: int  # 1-based segment number in the recipe
    kind: str  # "title" or "clip"
    name: str  # a short human name: the title's text or the capture's file name
    source: Path  # the capture, or the title card's PNG
    start: Fraction  # source in point, seconds
    length: Fraction  # seconds of the source used (before speed)
    record: int  # first frame of the part in the cast
    frames: int  # frames the part lasts in the cast
    speed: Fraction = Fraction(1)
    crop: Crop | None = None
    source_size: tuple[int, int] | None = None  # the capture's shown size, for crops
    fade_in: Fraction = Fraction(0)
    fade_out: Fraction = Fraction(0)
    voice: Path | None = None  # a voice-over replacing the capture's sound
    voice_from: Fraction = Fraction(0)  # seconds into the voice where the part's sound starts
    # Frames of the voice the part plays: the part's, or fewer where the voice ends first. An
    # editor's entry must be no longer than its sound: MLT cuts an entry that runs past its
    # producer's end, and everything after it on the track moves up.
    voice_frames: int = 0
    mute: bool = False
    has_audio: bool = False  # the capture has sound of its own (and it is used)
    title: str | None = None
    subtitle: str | None = None
    source_duration: Fraction | None = None  # the whole capture's length, seconds
    # The camera (``zoom:`` moves, or those ``zoom: follow`` plans) on the cropped picture,
    # its views of the cast's display aspect: as ``castkit build`` films the DV cast.
    camera: CameraPath | None = None
    # Transitions (issue 25): the one into this part from the one before (its type) and the
    # frames the two overlap; the part starts that many frames before the one before ends.
    transition: str | None = None
    overlap: int = 0
    gain: Fraction = Fraction(0)  # dB on the part's own sound (``gain:``)
    # Overlays (issue 30): castkit's drawn pictures, each shown over a time of the capture.
    overlays: tuple[Drawn, ...] = ()

    @property
    def is_title(self) -> bool:
        return self.kind == "title"

    @property
    def end(self) -> Fraction:
        """Source out point (exclusive), seconds."""
        return self.start + self.length

    def voice_entry(self, fps: Fraction) -> tuple[int, int]:
        """The voice's in frame and the frames of it the part plays."""
        return round(self.voice_from * fps), self.voice_frames

    def source_frames(self, fps: Fraction) -> tuple[int, int]:
        """Source in and out (exclusive) in frames at ``fps``, before speed: the frames of the
        source the part shows. For a sped-up part the out is in + frames x speed."""
        first = round(self.start * fps)
        return first, first + round(self.frames * self.speed)


@dataclass(frozen=True)
class MusicBed:
    """The music bed as an editor's audio track: the music files one after the other (each
    entry a file, its first frame and how many), at ``gain`` dB (which brings the music to
    the recipe's ``level``) times castkit's envelope, given as ``keys``: (frame of the cast,
    dB) break points of the ducking under the narration, ``under`` and the fades, to be joined
    by straight lines in dB (plan.music.Envelope.break_points)."""

    entries: tuple[tuple[Path, int, int], ...]
    gain: float
    keys: tuple[tuple[int, float], ...]

    def level(self, floor: float = -60.0) -> str:
        """The keys with the gain in, as MLT's ``level`` keyframes (dB; silence at ``floor``,
        the least Shotcut's and Kdenlive's volume keyframes take)."""
        return ";".join(f"{frame}={max(floor, db + self.gain if db > floor else floor):.2f}"
                        for frame, db in self.keys)


@dataclass(frozen=True)
class Timeline:
    name: str
    target: DvTarget
    parts: tuple[Part, ...]
    cards: Path  # the folder of title card PNGs
    music: MusicBed | None = None

    @property
    def fps(self) -> Fraction:
        return self.target.fps

    @property
    def frames(self) -> int:
        """The cast's: the parts' frames less each transition's overlap."""
        return sum(p.frames - p.overlap for p in self.parts)

    def as_cuts(self) -> "Timeline":
        """The parts end to end, every transition a cut (and no music): for the formats that
        hold neither (their notes say so)."""
        parts, record = [], 0
        for part in self.parts:
            parts.append(replace(part, record=record, transition=None, overlap=0))
            record += part.frames
        return replace(self, parts=tuple(parts), music=None)

    def frames_of(self, seconds: Fraction) -> int:
        return self.target.frames(seconds)


# What a format may not carry, and how to tell the parts that use it.
FEATURES = {
    "speed": lambda part: part.speed != 1,
    "crop": lambda part: part.crop is not None,
    "fades": lambda part: bool(part.fade_in or part.fade_out),
    "voice-over": lambda part: part.voice is not None,
    "camera": lambda part: part.camera is not None,
}


def unsupported(timeline: Timeline, lacks: str, features: dict[str, str], instead: str) -> list[str]:
    """One note per feature (a key of ``FEATURES``, named by its value in the note) that some
    parts use and the format lacks: "LACKS WHAT; segment 2, 4 INSTEAD"."""
    found = []
    for feature, what in features.items():
        used = [str(p.index) for p in timeline.parts if FEATURES[feature](p)]
        if used:
            found.append(f"{lacks} {what}; segment {', '.join(used)} {instead}")
    return found


def cards_folder(output: Path) -> Path:
    """Where an export's title cards go: ``EDIT.mlt`` -> ``EDIT-cards/`` beside it."""
    return output.with_name(output.stem + "-cards")


def card_name(part_index: int, seg: TitleSegment, size: tuple[int, int]) -> str:
    return f"title-{part_index:02d}-{card_key(seg, size)[:8]}.png"


def make_timeline(checked: Checked, output: Path, ffmpeg: Ffmpeg) -> Timeline:
    """The timeline of ``checked`` (its music bed is ``exports.bed``'s); ``ffmpeg`` measures
    the activity a ``zoom: follow`` clip's camera is planned from (the same plan ``castkit
    build`` makes)."""
    recipe = checked.recipe
    target = recipe.target
    cards = cards_folder(output.absolute())
    parts: list[Part] = []
    record = 0
    transitions = recipe.transitions()
    for index, seg in enumerate(recipe.segments, 1):
        into = transitions[index - 1]
        overlap = target.frames(into.duration) if into is not None else 0
        record -= overlap  # a transition that does not fit is refused by check_recipe
        if isinstance(seg, TitleSegment):
            frames = target.frames(seg.duration)
            part = Part(
                index, "title", seg.title, cards / card_name(index, seg, target.display_size),
                Fraction(0), seg.duration, record, frames,
                fade_in=seg.fades.fade_in, fade_out=seg.fades.fade_out,
                title=seg.title, subtitle=seg.subtitle,
            )
        else:
            assert isinstance(seg, ClipSegment)
            info = checked.probes[seg.clip]
            length = seg.length(info.duration)
            frames = clip_frames(info, Trim(seg.start, length), target, seg.speed)
            size = camera = None
            if info.video is not None:
                width, height, sar = info.video.shown_shape
                size = (width, height)
                effects = effects_of(seg, checked)
                if seg.follow is not None:
                    effects = replace(effects, zoom=followed(seg, index, checked, ffmpeg, cache_dir(recipe), pauses=False))
                shape = (seg.crop.width, seg.crop.height, sar) if seg.crop is not None else (width, height, sar)
                camera = camera_path(effects, shape, target)
            # Resolved: an editor shows and relinks the real file, not recipes/../captures.
            voice = seg.audio.resolve() if seg.audio is not None and not seg.mute else None
            voice_frames = 0
            if voice is not None:
                # Whole frames of sound only (rounded down): the entry never outlasts the file.
                left = checked.voices[seg.audio].duration - seg.audio_from
                voice_frames = min(frames, int(left * target.fps))
            part = Part(
                index, "clip", seg.clip.name, seg.clip.resolve(), seg.start, length, record, frames,
                speed=seg.speed, crop=seg.crop, source_size=size,
                fade_in=seg.fades.fade_in, fade_out=seg.fades.fade_out,
                voice=voice, mute=seg.mute, voice_from=seg.audio_from, voice_frames=voice_frames,
                has_audio=info.audio is not None and voice is None and not seg.mute,
                source_duration=info.duration, camera=camera, gain=seg.gain,
                overlays=drawn_overlays(seg, checked, cards) if seg.overlays else (),
            )
        if into is not None:
            part = replace(part, transition=into.type, overlap=overlap)
        parts.append(part)
        record += frames
    return Timeline(recipe.path.stem, target, tuple(parts), cards)

