"""The recipe as castkit holds it: frozen dataclasses for the recipe, its segments and outputs,
each value keeping its ``Where`` (file, line, column) for errors, and every key, range, unit and
word a recipe may use, named once here for the reader (``reader``) and the JSON Schema
(``schema``) alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from castkit.base.colors import parse_color
from castkit.recipe.style import TitleStyle
from castkit.errors import Problem
from castkit.media.dv import DvTarget
from castkit.media.formats import ANIMATED_SUFFIXES, kind_of, STILL_SUFFIXES, WEB_SUFFIXES


# Measured on espeak-ng narration (tests/e2e/test_pauses.py's takes, 48 kHz): the quietest 20 ms
# windows inside words sit at -35 to -30 dBFS, a quiet room's noise floor at -60 to -50. -40
# lies between the two with 10 dB to spare on each side (see README).
DEFAULT_THRESHOLD = Fraction(-40)
DEFAULT_MIN_LENGTH = Fraction(1)
DEFAULT_MARGIN = Fraction(1, 4)
PAUSE_SPEED_RANGE = (Fraction(3, 2), Fraction(16))
# What a recipe may ask for (``pauses:`` in recipe.reader, and the schema).
MIN_LENGTH_RANGE = (Fraction(1, 10), Fraction(3600))
MARGIN_RANGE = (Fraction(0), Fraction(60))
THRESHOLD_RANGE = (Fraction(-90), Fraction(0))  # dBFS
SCREENS = ("still", "any")  # the first is the default
# ``auto``: this far above the take's noise floor (its 10th percentile of window levels), kept
# within these bounds (a take that is all speech has no floor to measure).
AUTO_ABOVE_FLOOR = Fraction(15)
AUTO_RANGE = (Fraction(-60), Fraction(-30))
# `pauses: {detector: voice}`: where no one speaks (the Silero voice detector) instead of the
# sound's level (the default, the first).
DETECTORS = ("level", "voice")
# Speech (issue 24): `captions: auto` recognises the clip's words; `fillers: cut` cuts um and uh.
CAPTIONS_AUTO = "auto"  # any case
FILLERS_CUT = "cut"  # any case
# `burn: true` (recipe) or an output's `captions: burn`: the captions drawn on a web master's
# picture, for platforms that show no soft subtitles; `captions: soft` keeps the track alone.
CAPTIONS_BURN = "burn"  # any case
CAPTIONS_SOFT = "soft"  # any case


@dataclass(frozen=True)
class PauseSpec:
    """What ``pauses:`` asks for. ``speed`` None: cut them; else they play that much faster.
    ``threshold`` None: ``auto``."""

    speed: Fraction | None = None
    min_length: Fraction = DEFAULT_MIN_LENGTH
    threshold: Fraction | None = DEFAULT_THRESHOLD
    margin: Fraction = DEFAULT_MARGIN
    screen: str = SCREENS[0]  # one of SCREENS
    detector: str = DETECTORS[0]  # one of DETECTORS


@dataclass(frozen=True)
class Crop:
    """A region of the source, in the source's (displayed) pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class FollowSpec:
    """What ``zoom: follow`` asks: magnify at most ``max``; hold each view at least ``hold``
    seconds (and look that far ahead); leave ``margin`` (a fraction of the picture's sides)
    around the activity."""

    max: Fraction = Fraction(2)
    hold: Fraction = Fraction(3, 2)
    margin: Fraction = Fraction(1, 10)


@dataclass(frozen=True)
class Move:
    """A camera move (``zoom:``): from ``at`` (seconds of the capture) the view glides to
    ``to`` (a region of the capture, or None: the full view), arriving ``ease`` seconds later."""

    at: Fraction
    to: Crop | None
    ease: Fraction


DEFAULT_TITLE_SECONDS = Fraction(4)
MAX_RECIPE_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_SEGMENTS = 10_000
MAX_SECONDS = Fraction(24 * 3600)  # a title or clip longer than a day is a typo
VERSION = 1  # the recipe version this castkit reads

TOP_KEYS = ("version", "target", "aspect", "output", "outputs", "title_style", "segments",
            "loudness", "chapters", "frame", "webcam", "music", "denoise", "transition", "burn")
OUTPUT_KEYS = ("path", "height", "fps", "aspect", "width", "colors", "lossy", "loop", "quality", "at",
               "every", "frame", "captions")
# Which output takes which of OUTPUT_KEYS besides its path (OutputSpec.kind).
KIND_KEYS = {
    "dv": ("frame",), "avi": ("frame",),
    "mp4": ("height", "fps", "aspect", "frame", "captions"),
    "webm": ("height", "fps", "aspect", "frame", "captions"),
    "gif": ("width", "fps", "colors", "lossy", "loop", "frame"),
    "webp": ("width", "fps", "loop", "quality", "frame"),
    "apng": ("width", "fps", "loop", "frame"),
    "poster": ("width", "at", "frame"),
    "sprites": ("width", "every", "frame"),
}
ANIMATED_KINDS = ("gif", "webp", "apng")
KIND_NAMES = {"dv": ".dv", "avi": ".avi", "mp4": ".mp4", "webm": ".webm", "gif": ".gif",
              "webp": "an animated .webp", "apng": ".apng",
              "poster": "a poster (at:)", "sprites": "a sprite sheet (every:)"}
LOOP_FOREVER = ("forever", "true", "yes", "on")  # any case; the default
LOOP_ONCE = ("once", "false", "no", "off")  # any case: the animation plays once
QUALITY_LOSSLESS = "lossless"  # any case; an animated WebP's default
QUALITY_RANGE = (0, 100)  # libwebp's lossy quality
AT_TITLE = "title"  # `at: title`, any case: the first title card's middle frame
STYLE_KEYS = ("background", "color", "font")
FADE_KEYS = ("fade_in", "fade_out")
TITLE_KEYS = ("title", "subtitle", "duration", *STYLE_KEYS, *FADE_KEYS, "chapter", "transition")
CLIP_KEYS = ("clip", "start", "end", "duration", "crop", "speed", "audio", *FADE_KEYS,
             "chapter", "captions", "pauses", "zoom", "overlays", "webcam", "gain", "denoise", "transition",
             "transcript", "fillers")
AUDIO_KEYS = ("file", "from")  # `audio: {file: voice.wav, from: 12.5}`
ZOOM_KEYS = ("at", "to", "ease")
ZOOM_REQUIRED = ("at", "to")
ZOOM_FULL = "full"  # `to: full`: back to the whole picture, any case
DEFAULT_EASE = Fraction(4, 5)  # seconds a move takes unless the recipe says
MAX_MOVES = 1000
# `zoom: follow`, or `zoom: {follow: activity, max, hold, margin}`: a camera planned from where
# the screen changes (plan.activity).
FOLLOW = "follow"  # any case
FOLLOW_KEYS = ("follow", "max", "hold", "margin")
FOLLOW_WHAT = ("activity",)  # what `follow:` follows, any case
MAX_ZOOM_RANGE = (Fraction(1), Fraction(8))
HOLD_RANGE = (Fraction(1, 2), Fraction(60))
FOLLOW_MARGIN_RANGE = (Fraction(0), Fraction(1, 2))
PAUSE_KEYS = ("action", "min_length", "threshold", "margin", "screen", "detector")
CROP_KEYS = ("x", "y", "width", "height")
CROP_SIZE_KEYS = ("width", "height")  # more than zero; the others zero or more
SPEED_RANGE = (Fraction(1, 4), Fraction(4))
DEFAULT_LOUDNESS = Fraction(-16)  # LUFS integrated; podcast and web speech (README)
LOUDNESS_RANGE = (Fraction(-70), Fraction(-5))
# Words and units, as the reader takes them. "Any case": compared after str.lower().
LOUDNESS_UNITS = ("LUFS",)  # after the number, any case
LOUDNESS_OFF = ("off", "false", "no", "none")  # any case
THRESHOLD_UNITS = ("dBFS", "dB")  # after the number, any case
THRESHOLD_AUTO = "auto"  # any case
PAUSE_CUT = "cut"  # any case
PAUSE_SPEED_MARK = "x"  # `2x` or `x2`, any case
MUTE = "none"  # `audio: none`, any case
# Yes and no, any case: a title's `chapter:` (does it start one) and the recipe's `chapters:`.
SWITCH_ON = ("on", "true", "yes")
SWITCH_OFF = ("off", "false", "no")
MAX_WHOLE_DIGITS = 6  # of an output's height or fps
# A path is a local file: not a URL (URL_MARK anywhere, or one of URL_SCHEMES first, any
# case), and no line break or NUL.
URL_MARK = "://"
URL_SCHEMES = ("http:", "https:", "ftp:", "data:")
PATH_BREAKS = ("\n", "\r", "\0")

# Sound (issue 25): a clip's gain, the recipe's music bed.
GAIN_RANGE = (Fraction(-40), Fraction(20))  # dB; more is a broken take, not a level
GAIN_UNITS = ("dB",)  # after the number, any case
MUSIC_KEYS = ("file", "level", "duck", "fade_in", "fade_out", "loop", "under")
MUSIC_LEVEL_RANGE = (Fraction(-50), Fraction(-10))  # LUFS of the bed where nobody speaks
DEFAULT_MUSIC_LEVEL = Fraction(-26)
DUCK_RANGE = (Fraction(-40), Fraction(0))  # dB under speech
DEFAULT_DUCK = Fraction(-12)
DUCK_OFF = ("off", "false", "no")  # any case: the bed keeps its level under speech
MUSIC_FADE_RANGE = (Fraction(0), Fraction(60))  # seconds
MUSIC_UNDER = ("all", "clips", "titles")  # the first is the default
MAX_MUSIC_FILES = 100
# `denoise: on` (this strength) or a strength in dB: afftdn's noise reduction. Measured on the
# tests' take (espeak-ng over pink noise and a 50 Hz hum): 18 dB takes the pauses' floor down by
# 20 dB, the speech level unchanged (README, "Sound").
DEFAULT_DENOISE = Fraction(18)
DENOISE_RANGE = (Fraction(3), Fraction(40))  # dB
# `transition: {type, duration}` into a segment from the one before (or the recipe's default).
TRANSITION_KEYS = ("type", "duration")
TRANSITION_TYPES = ("crossfade", "dip", "wipe", "slide")  # the first is the default
DEFAULT_TRANSITION_SECONDS = Fraction(1, 2)
TRANSITION_RANGE = (Fraction(1, 100), Fraction(10))  # seconds


@dataclass(frozen=True)
class MusicSpec:
    """``music:``: a bed of ``files`` played one after the other (looped to cover the cast
    unless ``loop`` is off), at ``level`` LUFS where nobody speaks and ``duck`` dB lower under
    speech (None: ``duck: off``), faded in from the cast's start and out before its end, under
    ``under`` (all segments, only clips or only titles)."""

    files: tuple[Path, ...]
    level: Fraction = DEFAULT_MUSIC_LEVEL
    duck: Fraction | None = DEFAULT_DUCK
    fade_in: Fraction = Fraction(0)
    fade_out: Fraction = Fraction(0)
    loop: bool = True
    under: str = MUSIC_UNDER[0]
    where: Where | None = None
    files_where: tuple[Where, ...] = ()


@dataclass(frozen=True)
class Transition:
    """A transition into a segment from the one before: ``type`` (TRANSITION_TYPES) over
    ``duration`` seconds, in which the two overlap (the cast is that much shorter)."""

    type: str = TRANSITION_TYPES[0]
    duration: Fraction = DEFAULT_TRANSITION_SECONDS
    where: Where | None = None


@dataclass(frozen=True)
class Where:
    """A place in a recipe, for messages: ``recipe.yaml:12:5``."""

    file: str
    line: int
    column: int

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, self.column, message)


# --- overlays (issue 30): callouts, highlights, redaction, keystrokes, images on a clip ---------
# Each overlay is one of OVERLAY_KINDS (the key that names it), shown from `at` to `until` (or for
# `duration`) seconds of the capture, in the capture's pixels: drawn onto the capture's own
# picture before its crop, camera and scaling, so it follows them (plan.overlays).
OVERLAY_KINDS = ("text", "box", "spotlight", "redact", "keys", "image")
OVERLAY_REGION_KINDS = ("box", "spotlight", "redact")  # a region {x, y, width, height}
OVERLAY_KEYS = (*OVERLAY_KINDS, "at", "until", "duration", "position", "style", "fade", "mode")
OVERLAY_UNTIL_END = "end"  # `until: end`, any case: to the clip's end
POSITIONS = ("top-left", "top", "top-right", "left", "center", "right",
             "bottom-left", "bottom", "bottom-right")  # any case
POSITION_KEYS = ("x", "y")
DEFAULT_POSITIONS = {"text": "top-left", "keys": "bottom", "image": "top-right"}
REDACT_MODES = ("blur", "pixelate", "fill")  # any case; the first is the default
OVERLAY_STYLE_KEYS = ("background", "color", "size", "font")
OVERLAY_SIZE_RANGE = (6, 400)  # pixels of the capture, a text's height
DEFAULT_OVERLAY_FADE = Fraction(1, 5)
OVERLAY_FADE_RANGE = (Fraction(0), Fraction(5))
MAX_OVERLAYS = 200
MAX_OVERLAY_TEXT = 500  # characters of a callout or a keys chip


@dataclass(frozen=True)
class OverlayStyle:
    """How a callout or keycap looks; ``size`` None: a readable size for the capture's height
    (titles.overlays); colours None: the kind's own."""

    background: str | None = None
    color: str | None = None
    size: int | None = None
    font: Path | None = None


@dataclass(frozen=True)
class Overlay:
    """One thing drawn on a clip: ``kind`` one of OVERLAY_KINDS; ``until`` None: to the clip's
    end. ``text`` for text and keys, ``region`` for box, spotlight and redact, ``image`` for
    image; ``position`` a named place (POSITIONS) or the top left corner in capture pixels."""

    kind: str
    at: Fraction
    until: Fraction | None
    where: Where
    text: str | None = None
    region: Crop | None = None
    image: Path | None = None
    position: str | tuple[int, int] | None = None
    style: OverlayStyle = OverlayStyle()
    fade: Fraction = DEFAULT_OVERLAY_FADE
    mode: str = REDACT_MODES[0]
    wheres: tuple[tuple[str, Where], ...] = ()

    def where_of(self, key: str) -> Where:
        return dict(self.wheres).get(key, self.where)

    @property
    def redacts(self) -> bool:
        return self.kind == "redact"

# A styled frame (`frame:`), the look of Screen Studio and Cap: the picture inset on a background
# (a colour, `gradient`, or an image), rounded corners, a soft shadow.
FRAME_KEYS = ("background", "padding", "radius", "shadow")
FRAME_GRADIENT = "gradient"  # castkit's own two-colour diagonal
FRAME_GRADIENT_COLORS = ("#3a2d6b", "#1f6f8b")
FRAME_PADDING_RANGE = (Fraction(0), Fraction(3, 10))  # of the frame's sides
FRAME_RADIUS_RANGE = (0, 400)  # pixels at 1080 lines, scaled with the frame


@dataclass(frozen=True)
class FrameStyle:
    background: str = FRAME_GRADIENT  # a colour, FRAME_GRADIENT, or an image's path
    padding: Fraction = Fraction(6, 100)
    radius: int = 16
    shadow: bool = True
    where: Where | None = field(default=None, compare=False)  # for messages


# A webcam corner: `webcam: {clip, position, size, shape, offset}` on a clip or the recipe.
WEBCAM_KEYS = ("clip", "position", "size", "shape", "offset")
WEBCAM_SHAPES = ("circle", "rounded", "square")  # any case; the first is the default
WEBCAM_FULL = "full"  # the camera fills the frame (its corners square)
WEBCAM_POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right", WEBCAM_FULL)  # any case
# Layouts that change over time: `webcam: [{clip, ...}, {at, ease, position, size, shape}, ...]`,
# each change eased as a camera move is (its default ease is DEFAULT_EASE).
WEBCAM_CHANGE_KEYS = ("at", "ease", "position", "size", "shape")
MAX_WEBCAM_CHANGES = 100
WEBCAM_SIZE_RANGE = (Fraction(1, 20), Fraction(1))  # of the frame's height
WEBCAM_OFFSET_RANGE = (Fraction(-3600), Fraction(3600))


@dataclass(frozen=True)
class Webcam:
    """A camera recording shown in a corner of the output frame: at the capture's time t it
    shows its own t + ``offset``; ``size`` its height, a fraction of the frame's."""

    clip: Path
    where: Where
    position: str = "bottom-right"
    size: Fraction = Fraction(1, 4)
    shape: str = WEBCAM_SHAPES[0]
    offset: Fraction = Fraction(0)
    # Later layouts (the list form), in time order, each starting after the one before arrived.
    changes: tuple["WebcamChange", ...] = ()

    def layouts(self) -> tuple[tuple[str, Fraction, str], ...]:
        """(position, size, shape) of the first layout and of each change."""
        return ((self.position, self.size, self.shape),
                *((c.position, c.size, c.shape) for c in self.changes))


@dataclass(frozen=True)
class WebcamChange:
    """A webcam's layout from ``at`` seconds of the capture on, reached ``ease`` seconds later
    (eased as a camera move); the keys a change leaves out are the layout's before it."""

    at: Fraction
    ease: Fraction
    position: str
    size: Fraction
    shape: str
    where: Where = field(compare=False)


def _is_colour(text: str) -> bool:
    try:
        parse_color(text)
    except ValueError:
        return False
    return True
# --- end of overlays ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveWhere:
    """Where a camera move and its keys are in the recipe, for messages."""

    move: Where
    at: Where | None = None
    to: Where | None = None
    ease: Where | None = None

    def of(self, key: str) -> Where:
        return getattr(self, key, None) or self.move


@dataclass(frozen=True)
class Fades:
    fade_in: Fraction = Fraction(0)
    fade_out: Fraction = Fraction(0)
    where: Where | None = None


@dataclass(frozen=True)
class TitleSegment:
    title: str
    subtitle: str | None
    duration: Fraction
    style: TitleStyle
    where: Where
    fades: Fades = field(default_factory=lambda: Fades())
    starts_chapter: bool = True  # `chapter: false`: a card inside a chapter, not the start of one
    transition: Transition | None = None  # into this card from the segment before

    @property
    def label(self) -> str:
        return f"title {self.title[:40]!r}"

    @property
    def chapter(self) -> str | None:
        return self.title if self.starts_chapter else None


@dataclass(frozen=True)
class ClipSegment:
    clip: Path
    start: Fraction
    end: Fraction | None
    duration: Fraction | None
    where: Where
    # Positions of the trim keys, so that a trim past the source's end can point at its line.
    trim_where: Where | None = None
    crop: Crop | None = None
    crop_where: Where | None = None
    speed: Fraction = Fraction(1)
    audio: Path | None = None  # a voice-over replacing the capture's sound
    mute: bool = False  # `audio: none`
    audio_where: Where | None = None
    fades: Fades = field(default_factory=lambda: Fades())
    chapter: str | None = None  # starts a chapter named so
    captions: Path | None = None  # SRT/WebVTT/ASS cues in the source's time
    captions_where: Where | None = None
    pauses: PauseSpec | None = None  # dead air cut or sped up (plan.pauses)
    pauses_where: Where | None = None
    # Where in the voice-over this clip's narration starts (`audio: {file, from}`), seconds:
    # one narration split across several clips.
    audio_from: Fraction = Fraction(0)
    zoom: tuple[Move, ...] = ()  # camera moves, regions in the capture's pixels (plan.camera)
    zoom_where: tuple[MoveWhere, ...] = ()
    follow: FollowSpec | None = None  # `zoom: follow`: moves planned from the activity
    overlays: tuple[Overlay, ...] = ()  # drawn on the capture's picture (issue 30)
    webcam: Webcam | None = None  # a camera in a corner (issue 30); the recipe's if None
    gain: Fraction = Fraction(0)  # dB on the clip's sound, before the cast's loudness step
    denoise: Fraction | None = None  # dB of noise reduction; 0: off; None: the recipe's
    transition: Transition | None = None  # into this clip from the segment before
    # Speech (publish.transcript): the take edited by its transcript (the words deleted from
    # this .transcript.txt are cut), captions recognised from its voice (`captions: auto`),
    # filler words cut (`fillers: cut`).
    transcript: Path | None = None
    transcript_where: Where | None = None
    captions_auto: bool = False
    fillers: bool = False
    fillers_where: Where | None = None

    @property
    def label(self) -> str:
        return f"clip {self.clip.name}"

    def shown_seconds(self, source_seconds: Fraction) -> Fraction:
        """Seconds the segment lasts in the cast (its trimmed length, sped up)."""
        return self.length(source_seconds) / self.speed

    def length(self, source_seconds: Fraction) -> Fraction:
        """Seconds of the source this segment uses."""
        if self.duration is not None:
            return self.duration
        end = self.end if self.end is not None else source_seconds
        return end - self.start


Segment = TitleSegment | ClipSegment


@dataclass(frozen=True)
class OutputSpec:
    """One file the recipe makes; ``height``, ``fps`` and ``aspect`` shape a web master's frame,
    ``width`` and ``fps`` an image's; the other keys are the images' (``KIND_KEYS``)."""

    path: Path
    height: int | None = None
    fps: int | None = None
    where: Where | None = None
    aspect: str | None = None  # one of FRAME_ASPECTS: a vertical or square cast
    width: int | None = None
    colors: int | None = None  # a GIF's palette
    lossy: int = 0  # a GIF's lossiness (gifsicle's --lossy); 0: the palette's pixels exactly
    loop: bool = True  # an animation plays forever, or once
    quality: int | None = None  # an animated WebP's lossy quality; None: lossless
    at: Fraction | str | None = None  # a poster's time, or AT_TITLE
    every: Fraction | None = None  # a sprite sheet's seconds between tiles
    burn: bool | None = None  # `captions: burn` / `soft`; None: as the recipe's `burn:` says
    # Where each key of the mapping was (for a problem found once the sources are known).
    wheres: tuple[tuple[str, Where], ...] = ()
    frame: FrameStyle | None = None  # a styled frame for this output (issue 30)

    @property
    def is_web(self) -> bool:
        return self.path.suffix.lower() in WEB_SUFFIXES

    @property
    def kind(self) -> str | None:
        """``dv``, ``avi``, ``mp4``, ``webm``, ``gif``, ``webp``, ``apng``, ``poster`` or
        ``sprites``; None for a still suffix (.jpg, .png) with neither ``at`` nor ``every``."""
        kind = kind_of(self.path)
        if kind != "image":
            return kind
        suffix = self.path.suffix.lower()
        if suffix in STILL_SUFFIXES and self.at is not None:
            return "poster"
        if suffix in STILL_SUFFIXES and self.every is not None:
            return "sprites"
        return suffix.lstrip(".") if suffix in ANIMATED_SUFFIXES else None

    @property
    def is_image(self) -> bool:
        return kind_of(self.path) == "image"

    def where_of(self, key: str) -> Where | None:
        """Where ``key`` was written (the output's path where it was not)."""
        return dict(self.wheres).get(key, self.where)

    @property
    def frame_aspect(self) -> Fraction | None:
        """``aspect`` as width / height."""
        if self.aspect is None:
            return None
        width, height = self.aspect.split(":")
        return Fraction(int(width), int(height))


@dataclass(frozen=True)
class Recipe:
    path: Path
    target: DvTarget
    outputs: tuple[OutputSpec, ...]
    title_style: TitleStyle
    segments: tuple[Segment, ...]
    loudness: Fraction | None = DEFAULT_LOUDNESS  # LUFS target; None: kept as recorded
    chapters: bool = True  # `chapters: off`: no chapters in the web masters, no chapter lists
    frame: FrameStyle | None = None  # the styled frame of web and image outputs (issue 30)
    webcam: Webcam | None = None  # a camera in a corner of every clip without its own (issue 30)
    music: MusicSpec | None = None  # a bed under the cast, ducked under the narration
    denoise: Fraction = Fraction(0)  # the clips' noise reduction (dB) unless a clip says; 0: off
    transition: Transition | None = None  # into every segment but the first, unless it says

    def webcam_of(self, seg: ClipSegment) -> Webcam | None:
        return seg.webcam if seg.webcam is not None else self.webcam

    def frame_of(self, spec: OutputSpec) -> FrameStyle | None:
        """An output's styled frame: its own, else the recipe's for every output but DV."""
        if spec.frame is not None:
            return spec.frame
        return self.frame if spec.kind not in ("dv", "avi") else None

    def denoise_of(self, seg: ClipSegment) -> Fraction:
        """The noise reduction (dB) a clip gets: its own ``denoise:``, else the recipe's."""
        return seg.denoise if seg.denoise is not None else self.denoise

    def transitions(self) -> list[Transition | None]:
        """The transition into each segment (None: a cut; the first has none)."""
        return [None] + [seg.transition or self.transition for seg in self.segments[1:]]
    burn: bool = False  # captions drawn on the web masters' picture (issue 24)

    @property
    def output(self) -> Path:
        """The first output: what the preview is named after."""
        return self.outputs[0].path

    @property
    def folder(self) -> Path:
        return self.path.parent.absolute()

    def sources(self) -> list[Path]:
        """Every file the recipe reads: the recipe itself first (a recipe may have any name,
        ``cast.dv`` included, and must never be its own output), then captures, voice-overs,
        fonts and background images."""
        found: list[Path] = [self.path]
        for seg in self.segments:
            if isinstance(seg, ClipSegment):
                found.append(seg.clip)
                if seg.audio is not None:
                    found.append(seg.audio)
                if seg.captions is not None:
                    found.append(seg.captions)
                found += overlay_files(seg.overlays)
                if self.webcam_of(seg) is not None:
                    found.append(self.webcam_of(seg).clip)
                if seg.transcript is not None:
                    found.append(seg.transcript)
            else:
                found += style_files(seg.style)
        for frame in (self.frame, *(spec.frame for spec in self.outputs)):
            if frame is not None and not _is_colour(frame.background) and frame.background != FRAME_GRADIENT:
                found.append(Path(frame.background))
        if self.music is not None:
            found += self.music.files
        return list(dict.fromkeys(found))


def style_files(style: TitleStyle) -> list[Path]:
    files = [style.font] if style.font else []
    try:
        parse_color(style.background)
    except ValueError:
        files.append(Path(style.background))
    return files


def overlay_files(overlays: tuple[Overlay, ...]) -> list[Path]:
    """The images and fonts a clip's overlays read."""
    return [p for o in overlays for p in (o.image, o.style.font) if p is not None]
