"""The recipe as a JSON Schema (draft 2020-12), for editors that check YAML as it is typed.

The keys come from the reader's own tuples (``TOP_KEYS`` and the others); this module
only says what each key holds. A key the reader learns without an entry in ``_KEYS`` shows up
in the schema as "not described yet", and tests/unit/test_schema.py fails until it is described.

The schema accepts what the reader accepts, however a YAML tool types a value: the reader
reads every value from its raw text, so ``start: 5``, ``start: "5"`` and ``end: 1:20.5``
(which a YAML 1.1 loader turns into the number 80.5) are all times, and ``aspect: 16:9``
unquoted (the sexagesimal integer 969 in YAML 1.1, the string "16:9" in YAML 1.2) is an aspect.
And it refuses what the reader refuses: ranges hold for a number written as text too
(``speed: "9"``), words the reader takes in any letter case (``CUT``, ``Auto``, ``OFF``) are
matched so, and units (``-16 LUFS``, ``-40 dB``) as the reader strips them. Every range, word
and unit comes from the reader's constants (``recipe.reader``, ``plan.pauses``, ``media.raster``, ``media.dv``,
``base.timecode``); tests/unit/test_schema.py checks the two agree value by value.

What a schema cannot see: the text behind a value a YAML tool has typed (``0b11``, ``+5`` or
``5.`` typed as numbers, which the reader, reading the text, refuses; ``1.0`` is an integer to
JSON Schema, and NaN is no JSON), and numbers in exponent form as text (``speed: 25e-2``, whose
range no regex can check): the schema refuses those the reader may accept.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

from castkit.base.timecode import FORMS, MAX_TIME_CHARS
from castkit.media.dv import ASPECTS, TARGET_NAMES
from castkit.media.formats import (
    ANIMATED_SUFFIXES, CAST_SUFFIXES, DV_SUFFIXES, STILL_SUFFIXES, WEB_SUFFIXES,
)
from castkit.media.raster import (
    ANIMATED_DEFAULT_FPS, ANIMATED_MAX_FPS, CHROMA_STEP, FRAME_ASPECTS, GIF_COLORS, GIF_LOSSY,
    IMAGE_DEFAULT_MAX_WIDTH, IMAGE_WIDTHS, SPRITE_WIDTH, WEB_HEIGHTS, WEB_MAX_FPS,
)
from castkit.recipe.model import CAPTIONS_AUTO, CAPTIONS_BURN, CAPTIONS_SOFT, DETECTORS, FILLERS_CUT
from castkit.recipe.model import (
    AT_TITLE, AUDIO_KEYS, CLIP_KEYS, CROP_KEYS, CROP_SIZE_KEYS, DEFAULT_EASE, DEFAULT_LOUDNESS,
    DEFAULT_TITLE_SECONDS, FOLLOW, FOLLOW_KEYS, FOLLOW_MARGIN_RANGE, FOLLOW_WHAT, FollowSpec,
    HOLD_RANGE, KIND_KEYS, LOOP_FOREVER, LOOP_ONCE, LOUDNESS_OFF, LOUDNESS_RANGE,
    LOUDNESS_UNITS, MARGIN_RANGE, MAX_MOVES, MAX_SECONDS, MAX_SEGMENTS, MAX_WHOLE_DIGITS,
    MAX_ZOOM_RANGE, MIN_LENGTH_RANGE, MUTE, OUTPUT_KEYS, PATH_BREAKS, PAUSE_CUT, PAUSE_KEYS,
    PAUSE_SPEED_MARK, PAUSE_SPEED_RANGE, PauseSpec, QUALITY_LOSSLESS, QUALITY_RANGE, SCREENS,
    SPEED_RANGE, STYLE_KEYS, SWITCH_OFF, SWITCH_ON, THRESHOLD_AUTO, THRESHOLD_RANGE,
    THRESHOLD_UNITS, TITLE_KEYS, TOP_KEYS, URL_MARK, URL_SCHEMES, VERSION, ZOOM_FULL, ZOOM_KEYS,
    ZOOM_REQUIRED,
)
from castkit.recipe.model import (
    DEFAULT_DUCK, DEFAULT_MUSIC_LEVEL, DUCK_OFF, DUCK_RANGE, GAIN_RANGE, GAIN_UNITS,
    MAX_MUSIC_FILES, MUSIC_FADE_RANGE, MUSIC_KEYS, MUSIC_LEVEL_RANGE, MUSIC_UNDER, DEFAULT_DENOISE,
    DENOISE_RANGE, DEFAULT_TRANSITION_SECONDS, TRANSITION_KEYS, TRANSITION_RANGE, TRANSITION_TYPES,
)

from castkit.recipe.model import (  # overlays (issue 30)
    DEFAULT_OVERLAY_FADE, MAX_OVERLAY_TEXT, MAX_OVERLAYS, OVERLAY_FADE_RANGE, OVERLAY_KEYS,
    OVERLAY_KINDS, OVERLAY_SIZE_RANGE, OVERLAY_STYLE_KEYS, OVERLAY_UNTIL_END, POSITION_KEYS,
    POSITIONS, REDACT_MODES, FRAME_GRADIENT, FRAME_KEYS, FRAME_PADDING_RANGE, FRAME_RADIUS_RANGE,
    FrameStyle, Webcam, WEBCAM_KEYS, WEBCAM_OFFSET_RANGE, WEBCAM_POSITIONS, WEBCAM_SHAPES,
    WEBCAM_SIZE_RANGE, MAX_WEBCAM_CHANGES, WEBCAM_CHANGE_KEYS,
)


SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
UNDESCRIBED = "(not described yet)"


def _any_case(word: str) -> str:
    """A regex matching ``word`` in any letter case (ECMA 262 patterns have no (?i))."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else _escape(c) for c in word)


def _escape(text: str) -> str:
    """``text`` literally, in a regex both ECMA 262 (unicode mode too, where ``\\-`` is an error)
    and Python read alike."""
    return "".join("\\" + c if c in "^$\\.*+?()[]{}|/" else c for c in text)


# The very end of the text: Python's $ also matches before a final newline, ECMA's does not.
_EOT = r"$(?!\n)"


def _words(words: tuple[str, ...] | list[str], any_case: bool = True) -> str:
    """A regex group matching one of ``words``, in any case unless told."""
    return "(?:" + "|".join(_any_case(w) if any_case else _escape(w) for w in words) + ")"


def _whole_text(pattern: str) -> str:
    """``pattern`` as the whole value, which the reader strips of spaces first."""
    return rf"^\s*(?:{pattern})\s*$"


def _num(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)

_END = r"(?![\d.])"  # the number's digits end here


def _digits(bound: Fraction) -> tuple[str, str]:
    """The whole and fraction digits of a bound (``Fraction(1, 4)``: ``("0", "25")``)."""
    exact = Decimal(bound.numerator) / Decimal(bound.denominator)
    if bound < 0 or Fraction(exact) != bound:
        raise ValueError(f"a range's bounds must be short non-negative decimals, not {bound}")
    whole, _, frac = format(exact, "f").partition(".")
    return whole.lstrip("0") or "0", frac.rstrip("0")


def _span(low: int, high: int) -> str | None:
    return None if low > high else str(low) if low == high else f"[{low}-{high}]"


def _below(digits: str, fixed: bool = False) -> list[str]:
    """Digit strings of ``len(digits)`` (after leading zeros) below ``digits``; with fewer digits
    too unless ``fixed`` (a fraction's digits, compared from the left)."""
    found = [] if fixed or digits == "0" else [rf"\d{{0,{len(digits) - 1}}}"]
    for i, d in enumerate(digits):
        span = _span(0, int(d) - 1)
        if span:
            rest = len(digits) - 1 - i
            found.append(digits[:i] + span + (r"\d*" if fixed else rf"\d{{{rest}}}" if rest else ""))
    return found


def _above(digits: str, fixed: bool = False) -> list[str]:
    found = [] if fixed else [rf"[1-9]\d{{{len(digits)},}}"]
    for i, d in enumerate(digits):
        span = _span(int(d) + 1, 9)
        if span:
            rest = len(digits) - 1 - i
            found.append(digits[:i] + span + (r"\d*" if fixed else rf"\d{{{rest}}}" if rest else ""))
    return found


def _alt(parts: list[str]) -> str:
    return "(?:" + "|".join(parts) + ")" if parts else "(?!)"


def _at_most(bound: Fraction, strict: bool = False) -> str:
    whole, frac = _digits(bound)
    same = "0*" + (whole if whole != "0" else "")
    parts = [f"0*{_alt(_below(whole))}" + r"(?:\.\d*)?"] if whole != "0" else []
    if frac:  # the same whole part, then a fraction below (or at) frac's
        below = _below(frac, fixed=True) + [frac[:j] for j in range(len(frac))]
        parts.append(same + r"(?:\." + _alt(below + ([] if strict else [frac + "0*"])) + ")?")
    elif not strict:
        parts.append(same + r"(?:\.0*)?")
    return _alt(parts)


def _at_least(bound: Fraction, strict: bool = False) -> str:
    whole, frac = _digits(bound)
    same = "0*" + (whole if whole != "0" else "")
    parts = [f"0*{_alt(_above(whole))}" + r"(?:\.\d*)?"]
    if frac:
        parts.append(same + r"\." + _alt(_above(frac, fixed=True) + [frac + (r"\d*[1-9]\d*" if strict else r"\d*")]))
    else:
        parts.append(same + (r"\.\d*[1-9]\d*" if strict else r"(?:\.\d*)?"))
    return _alt(parts)


def _between(low: Fraction, high: Fraction, low_strict: bool = False, high_strict: bool = False) -> str:
    """The digits of a number from ``low`` to ``high`` (both >= 0)."""
    floor = "" if low == 0 and not low_strict else f"(?={_at_least(low, low_strict)}{_END})"
    return f"{floor}{_at_most(high, high_strict)}{_END}"


def _decimal(low: Fraction, high: Fraction) -> str:
    """Text that Decimal() reads as a number from ``low`` to ``high``: a sign, digits and a point
    (``5``, ``-5.``, ``+.5``). Not exponents (``25e-2``): their range is no regular language."""
    well_formed = r"(?=\.?\d)"
    signs = []
    if high >= 0:
        signs.append(r"\+?" + well_formed + _between(max(low, Fraction(0)), high))
    if low <= 0:  # Decimal("-0") is 0
        signs.append("-" + well_formed + _between(max(-high, Fraction(0)), -low))
    return _alt(signs)


def _whole_number(low: int, high: int) -> str:
    """Digits (leading zeros allowed) of a whole number from ``low`` to ``high``."""
    return rf"(?=\d)(?={_at_least(Fraction(low))}(?!\d))0*{_alt(_below(str(high)) + [str(high)])}(?![\d.])"


def _clock(low: Fraction, high: Fraction, low_strict: bool, high_strict: bool,
           units: tuple[int, ...]) -> str | None:
    """parse_time's text of a time from ``low`` to ``high``: plain seconds (``units`` empty), or
    N:rest where the value is N * units[0] + rest and rest (below units[0]) is written by the
    remaining units: (60,) is MM:SS, (3600, 60) HH:MM:SS. None if no time is in the range."""
    if low > high or (low == high and (low_strict or high_strict)):
        return None
    if not units:
        return r"(?=\d+(?:\.\d+)?(?![\d.]))" + _between(low, high, low_strict, high_strict)
    unit = units[0]
    first, rest_low = divmod(low, unit)
    last, rest_high = divmod(high, unit)
    pieces = ([(first, first, rest_low, low_strict, rest_high, high_strict)] if first == last else
              [(first, first, rest_low, low_strict, Fraction(unit), True),
               (first + 1, last - 1, Fraction(0), False, Fraction(unit), True),
               (last, last, Fraction(0), False, rest_high, high_strict)])
    found = []
    for n_low, n_high, a, a_strict, b, b_strict in pieces:
        rest = _clock(a, b, a_strict, b_strict, units[1:])
        if rest is not None and n_low <= n_high:
            found.append(f"{_whole_number(int(n_low), int(n_high))}:{rest}")
    return _alt(found) if found else None


def _time(low: Fraction = Fraction(0), high: Fraction = MAX_SECONDS,
          positive: bool = False, description: str = "") -> dict:
    """A time as the reader takes it (``Reader.time``): a number, or text in one of FORMS, from
    ``low`` (more than zero if ``positive``) up to ``high`` (a day at most)."""
    forms = [_clock(low, high, positive, False, units) for units in ((), (60,), (3600, 60))]
    short = rf"(?=\S(?:.{{0,{MAX_TIME_CHARS - 2}}}\S)?\s*$)"  # MAX_TIME_CHARS, spaces aside
    number = {"type": "number", ("exclusiveMinimum" if positive else "minimum"): _num(low),
              "maximum": _num(high)}
    return {"anyOf": [number, {"type": "string",
                               "pattern": rf"^\s*{short}{_alt([f for f in forms if f])}\s*$"}],
            "description": f"{description}: {FORMS}" if description else FORMS}


def _level(low_high: tuple[Fraction, Fraction], units: tuple[str, ...], any_case: bool,
           words: tuple[str, ...]) -> dict:
    """A number in a range, with or without one of ``units`` after it, or one of ``words``
    (any case)."""
    low, high = low_high
    text = _decimal(low, high) + (f"\\s*{_words(units, any_case)}?" if units else "")
    if words:
        text = f"{_words(words)}|{text}"
    return {"anyOf": [{"type": "number", "minimum": _num(low), "maximum": _num(high)},
                      {"type": "string", "pattern": _whole_text(text)}]}


def _whole(low: int, high: int, step: int = 1) -> dict:
    """``Reader._whole``: digits only, at most MAX_WHOLE_DIGITS of them, from low to high."""
    digits = rf"(?=\d{{1,{MAX_WHOLE_DIGITS}}}\s*$)"
    if step == 1:
        multiple: dict = {}
        last = ""
    elif step == 2:
        multiple = {"multipleOf": step}
        last = r"(?=\d*[02468]\s*$)"
    else:  # pragma: no cover - no such key
        raise ValueError(step)
    return {"anyOf": [{"type": "integer", "minimum": low, "maximum": high, **multiple},
                      {"type": "string", "pattern": rf"^\s*{digits}{last}{_whole_number(low, high)}\s*$"}]}


def _sexagesimal(ratio: str) -> int:
    """What a YAML 1.1 loader makes of an unquoted ``16:9``: 16 * 60 + 9."""
    a, b = map(int, ratio.split(":"))
    return a * 60 + b


# A scalar the reader takes as text (``Reader.text``): YAML tools may type `title: 2024` or
# `title: yes`; text must not be blank.
_NOT_TEXT = {"type": ["number", "boolean"]}
_TEXT = {"anyOf": [_NOT_TEXT, {"type": "string", "pattern": r"\S"}]}
# A local file (``Reader.path``): text that is no URL and has no line break.
_PATH_TEXT = {
    "type": "string", "pattern": r"\S",
    "not": {"anyOf": [{"pattern": _escape(URL_MARK)},
                      {"pattern": "^" + _words(URL_SCHEMES)},
                      {"pattern": "[" + "".join(f"\\u{ord(c):04x}" for c in PATH_BREAKS) + "]"}]},
}
_PATH = {"anyOf": [_NOT_TEXT, _PATH_TEXT]}
# Crop pixels: what int() reads (a sign, digits, single underscores between them).
_INT_DIGITS = r"\d(?:_?\d)*"


def _pixels(positive: bool) -> dict:
    text = (rf"\+?(?=[\d_]*[1-9]){_INT_DIGITS}" if positive else
            rf"\+?{_INT_DIGITS}|-0(?:_?0)*")  # int("-0") is 0
    return {"anyOf": [{"type": "integer", "minimum": 1 if positive else 0},
                      {"type": "string", "pattern": _whole_text(text)}]}


# The suffix is Path.suffix: after at least one character of the name (`.dv` alone is a name
# with no suffix), and a trailing / or /. is not part of the name.
def _ends_in(suffixes: tuple[str, ...]) -> str:
    """A path whose Path.suffix is one of ``suffixes`` (any case)."""
    return "[^/]" + _words(suffixes) + r"(?:/|/\.(?=/|$))*" + _EOT


_OUTPUT_PATH = {
    **_PATH_TEXT,
    "allOf": [{"pattern": _ends_in(CAST_SUFFIXES)}],
    "description": "a file to make, relative to the recipe; its suffix picks the format "
                   f"({', '.join(CAST_SUFFIXES)})",
}
# A path alone: a still (.jpg, .png) needs `at` or `every`, so only the mapping can name one.
_PLAIN_STILLS = tuple(s for s in STILL_SUFFIXES if s not in ANIMATED_SUFFIXES)
_OUTPUT_PATH_ALONE = {**_OUTPUT_PATH, "allOf": [*_OUTPUT_PATH["allOf"],
                                                  {"not": {"pattern": _ends_in(_PLAIN_STILLS)}}]}

_PAUSE_SPEEDS = PAUSE_SPEED_RANGE
_X = _any_case(PAUSE_SPEED_MARK)
_PAUSE_ACTION = {"anyOf": [
    {"type": "number", "minimum": _num(_PAUSE_SPEEDS[0]), "maximum": _num(_PAUSE_SPEEDS[1])},
    {"type": "string", "pattern": _whole_text(
        f"{_words((PAUSE_CUT,))}|{_X}?\\s*{_decimal(*_PAUSE_SPEEDS)}\\s*{_X}?")}]}
_SPEEDS = f"{float(_PAUSE_SPEEDS[0]):g} to {float(_PAUSE_SPEEDS[1]):g}"
_DEFAULT_PAUSES = PauseSpec()
_LOUDNESS = LOUDNESS_RANGE
_THRESHOLD = THRESHOLD_RANGE
_MUTE = {"type": "string", "pattern": _whole_text(_words((MUTE,)))}
# Yes or no (``Reader._switch``): a YAML 1.1 tool types these words as booleans.
_SWITCH = {"anyOf": [{"type": "boolean"},
                     {"type": "string", "pattern": _whole_text(_words((*SWITCH_ON, *SWITCH_OFF)))}]}

# --- overlays (issue 30) -----------------------------------------------------------------------
_OVERLAY_TEXT = {"anyOf": [_NOT_TEXT, {"type": "string", "pattern": r"\S",
                                       "maxLength": MAX_OVERLAY_TEXT}]}
_PNG_PATH = {"anyOf": [_NOT_TEXT, {**_PATH_TEXT, "allOf": [{"pattern": _ends_in((".png",))}]}]}
_FRAME = {"$ref": "#/$defs/frame",
          "description": "a styled frame: the picture inset on a background, rounded, with a shadow "
                         "(at the top: every output but DV; on an output: that one, DV too)"}
_WEBCAM = {"anyOf": [*_PATH["anyOf"], {"$ref": "#/$defs/webcam"},
                     {"type": "array", "minItems": 1, "maxItems": MAX_WEBCAM_CHANGES + 1,
                      "prefixItems": [{"$ref": "#/$defs/webcam_first"}],
                      "items": {"$ref": "#/$defs/webcam_change"}}],
           "description": "a camera's recording in a corner of the frame (its sound is the narration "
                          "of a clip that has none); on a clip, or at the top for every clip; or a list "
                          "of layouts over time, the first naming the clip, then {at, position, ...}"}
_OVERLAY_KEYS: dict[str, dict[str, dict[str, Any]]] = {
    "webcam": {
        "clip": {**_PATH, "description": "the camera's recording, relative to the recipe"},
        "position": {"type": "string", "pattern": _whole_text(_words(WEBCAM_POSITIONS)),
                     "description": f"{', '.join(WEBCAM_POSITIONS)} (default {Webcam.position})"},
        "size": {**_level(WEBCAM_SIZE_RANGE, (), False, ()),
                 "description": f"its height, a fraction of the frame's, {float(WEBCAM_SIZE_RANGE[0]):g} to "
                                f"{float(WEBCAM_SIZE_RANGE[1]):g} (default {float(Webcam.size):g})"},
        "shape": {"type": "string", "pattern": _whole_text(_words(WEBCAM_SHAPES)),
                  "description": f"{', '.join(WEBCAM_SHAPES)} (default {WEBCAM_SHAPES[0]})"},
        "offset": {**_level(WEBCAM_OFFSET_RANGE, (), False, ()),
                   "description": "seconds: at the capture's time t the camera shows its own t + offset"},
    },
    "webcam_first": {
        "at": {"anyOf": [{"const": 0}, {"type": "string", "pattern": r"^\s*[0:.]+\s*$"}],
               "description": "0: the first layout of a list is the one the clip starts with"},
    },
    "webcam_change": {
        "at": _time(description="seconds of the capture at which the layout starts changing"),
        "ease": _time(positive=True, description="seconds the change takes, eased in and out as a camera "
                                                 f"move (default {float(DEFAULT_EASE):g})"),
        "position": {"type": "string", "pattern": _whole_text(_words(WEBCAM_POSITIONS)),
                     "description": f"{', '.join(WEBCAM_POSITIONS)} (default: the layout's before)"},
        "size": {**_level(WEBCAM_SIZE_RANGE, (), False, ()),
                 "description": "its height, a fraction of the frame's (default: the layout's before)"},
        "shape": {"type": "string", "pattern": _whole_text(_words(WEBCAM_SHAPES)),
                  "description": f"{', '.join(WEBCAM_SHAPES)} (default: the layout's before)"},
    },
    "frame": {
        "background": {**_PATH, "description": f"a colour (CSS name or #rrggbb), {FRAME_GRADIENT} "
                                               "(the default), or an image file"},
        "padding": {**_level(FRAME_PADDING_RANGE, (), False, ()),
                    "description": f"the room round the picture, a fraction of the frame's sides, "
                                   f"{float(FRAME_PADDING_RANGE[0]):g} to {float(FRAME_PADDING_RANGE[1]):g} "
                                   f"(default {float(FrameStyle().padding):g})"},
        "radius": {**_whole(*FRAME_RADIUS_RANGE),
                   "description": f"the corners' radius in pixels at 1080 lines (default {FrameStyle().radius})"},
        "shadow": {**_SWITCH, "description": "a soft shadow under the picture (default on)"},
    },
    "clip": {
        "overlays": {"type": "array", "minItems": 1, "maxItems": MAX_OVERLAYS,
                     "items": {"$ref": "#/$defs/overlay"},
                     "description": "callouts, boxes, spotlights, redactions, keys and images drawn "
                                    "on the capture, in its pixels and seconds (they follow crop and camera)"},
    },
    "overlay": {
        "text": {**_OVERLAY_TEXT, "description": "a callout: the text in a rounded box"},
        "box": {"$ref": "#/$defs/crop", "description": "a highlight frame round a region {x, y, width, height}"},
        "spotlight": {"$ref": "#/$defs/crop", "description": "a region kept bright, the rest dimmed"},
        "redact": {"$ref": "#/$defs/crop", "description": "a region hidden in every output (see mode)"},
        "keys": {**_OVERLAY_TEXT, "description": "keys pressed, as keycaps: Ctrl+Shift+T"},
        "image": {**_PNG_PATH, "description": "a .png (with alpha) drawn at its own size"},
        "at": _time(description="seconds of the capture from which it shows"),
        "until": {"anyOf": [*_time()["anyOf"], {"type": "string", "pattern": _whole_text(
                      _words((OVERLAY_UNTIL_END,)))}],
                  "description": f"seconds of the capture at which it goes, or {OVERLAY_UNTIL_END} "
                                 "(the clip's end); or duration"},
        "duration": _time(positive=True, description="seconds it shows (or until)"),
        "position": {"anyOf": [{"type": "string", "pattern": _whole_text(_words(POSITIONS))},
                               {"$ref": "#/$defs/position"}],
                     "description": f"of text, keys or image: {', '.join(POSITIONS)}, or {{x, y}} "
                                    "(its top left corner in the capture's pixels)"},
        "style": {"$ref": "#/$defs/overlay_style", "description": "a callout's or keycaps' look"},
        "fade": _time(*OVERLAY_FADE_RANGE, description="seconds of fade in and out "
                                                       f"(default {float(DEFAULT_OVERLAY_FADE):g}; "
                                                       "0 for none; not on a redaction)"),
        "mode": {"type": "string", "pattern": _whole_text(_words(REDACT_MODES)),
                 "description": f"a redaction's: {', '.join(REDACT_MODES)} (default {REDACT_MODES[0]})"},
    },
    "position": {name: {**_pixels(False), "description": f"{name} of the top left corner, in capture pixels"}
                 for name in POSITION_KEYS},
    "overlay_style": {
        "background": {**_TEXT, "description": "the box's colour (CSS name or #rrggbb)"},
        "color": {**_TEXT, "description": "the text's colour (a box's line colour)"},
        "size": {**_whole(*OVERLAY_SIZE_RANGE),
                 "description": f"text size in capture pixels, {OVERLAY_SIZE_RANGE[0]} to "
                                f"{OVERLAY_SIZE_RANGE[1]} (default 1/30 of the capture's height)"},
        "font": {**_PATH, "description": "a .ttf/.otf file (default castkit's DejaVu Sans)"},
    },
}


def _overlay_mapping() -> dict:
    """One overlay: exactly one kind, ``at``, and ``until`` or ``duration``."""
    found = _mapping("overlay", OVERLAY_KEYS, required=("at",))
    found["oneOf"] = [{"required": [kind]} for kind in OVERLAY_KINDS]
    found["anyOf"] = [{"required": ["until"], "not": {"required": ["duration"]}},
                      {"required": ["duration"], "not": {"required": ["until"]}}]
    return found
# --- end of overlays ----------------------------------------------------------------------------


# What each key of each mapping holds. The keys themselves are the reader's tuples.
_KEYS: dict[str, dict[str, dict[str, Any]]] = {
    "top": {
        "version": {"enum": [VERSION, str(VERSION)],
                    "description": f"recipe version; this castkit reads {VERSION}"},
        "target": {"type": "string",
                   "pattern": f"^{_words(TARGET_NAMES)}{_EOT}",
                   "description": f"the DV flavour of the cast: {' or '.join(TARGET_NAMES)} (default pal-dv)"},
        "aspect": {"enum": [*ASPECTS, *(_sexagesimal(a) for a in ASPECTS)],
                   "description": f"display aspect: {' or '.join(ASPECTS)} (default 4:3); "
                                  "quoting is optional"},
        "output": {"$ref": "#/$defs/output", "description": "the one file the recipe makes"},
        "outputs": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/output"},
                    "description": "the files the recipe makes (instead of output)"},
        "title_style": {"$ref": "#/$defs/style", "description": "defaults for every title card"},
        "loudness": {"anyOf": [*_level(_LOUDNESS, LOUDNESS_UNITS, True, LOUDNESS_OFF)["anyOf"],
                               {"const": False}],
                     "description": f"integrated loudness of the cast in {LOUDNESS_UNITS[0]}, "
                                    f"{_LOUDNESS[0]} to {_LOUDNESS[1]} (default {DEFAULT_LOUDNESS}), "
                                    f"or {LOUDNESS_OFF[0]} to keep the sound as recorded"},
        "segments": {"type": "array", "minItems": 1, "maxItems": MAX_SEGMENTS,
                     "items": {"$ref": "#/$defs/segment"},
                     "description": "title cards and clips, in the order they play"},
        "chapters": {**_SWITCH, "description": f"{SWITCH_OFF[0]}: no chapters in the web masters and "
                                               "no chapter lists (default on)"},
        "burn": {**_SWITCH, "description": f"{SWITCH_ON[0]}: the captions drawn on the web masters' "
                                           "picture too, for platforms without soft subtitles (default off)"},
    },
    "output": {
        "path": _OUTPUT_PATH,
        "height": {**_whole(*WEB_HEIGHTS, step=CHROMA_STEP),
                   "description": f"frame height of a .mp4/.webm master, {WEB_HEIGHTS[0]} to {WEB_HEIGHTS[1]} (even)"},
        "fps": {**_whole(1, WEB_MAX_FPS),
                "description": f"frame rate of a .mp4/.webm master, 1 to {WEB_MAX_FPS}; of an "
                               f"animation, 1 to {ANIMATED_MAX_FPS} (default {ANIMATED_DEFAULT_FPS})"},
        "aspect": {"enum": [*FRAME_ASPECTS, *(_sexagesimal(a) for a in FRAME_ASPECTS)],
                   "description": f"a vertical or square .mp4/.webm master: {', '.join(FRAME_ASPECTS)}; "
                                  "each clip is reframed by the camera"},
        "width": {**_whole(*IMAGE_WIDTHS, step=CHROMA_STEP),
                  "description": f"width of an image, {IMAGE_WIDTHS[0]} to {IMAGE_WIDTHS[1]} (even); "
                                 f"default: an animation the web frame's, at most "
                                 f"{IMAGE_DEFAULT_MAX_WIDTH}; a poster the web frame's; "
                                 f"a sprite sheet's tiles {SPRITE_WIDTH}"},
        "colors": {**_whole(*GIF_COLORS),
                   "description": f"colours of a GIF's palette, {GIF_COLORS[0]} to {GIF_COLORS[1]} "
                                  f"(default {GIF_COLORS[1]})"},
        "lossy": {**_whole(*GIF_LOSSY),
                  "description": f"a GIF's lossiness, {GIF_LOSSY[0]} (the default: every pixel its "
                                 f"palette colour) to {GIF_LOSSY[1]}: gifsicle's --lossy, smaller "
                                 "files for small colour errors"},
        "loop": {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _whole_text(
                     _words((*LOOP_FOREVER, *LOOP_ONCE)))}],
                 "description": f"an animation plays {LOOP_FOREVER[0]} (the default) or "
                                f"{LOOP_ONCE[0]}"},
        "quality": {"anyOf": [*_whole(*QUALITY_RANGE)["anyOf"], {"type": "string", "pattern": _whole_text(
                        _words((QUALITY_LOSSLESS,)))}],
                    "description": f"an animated WebP: {QUALITY_LOSSLESS} (the default) or lossy, "
                                   f"{QUALITY_RANGE[0]} to {QUALITY_RANGE[1]}"},
        "at": {"anyOf": [*_time()["anyOf"], {"type": "string", "pattern": _whole_text(_words((AT_TITLE,)))}],
               "description": f"a poster: the cast's frame at this time, or {AT_TITLE} "
                              f"(the first title card); {FORMS}"},
        "every": _time(positive=True, description="a sprite sheet: seconds between its tiles"),
        "captions": {"type": "string", "pattern": _whole_text(_words((CAPTIONS_BURN, CAPTIONS_SOFT))),
                     "description": f"a .mp4/.webm master: {CAPTIONS_BURN} the captions into its "
                                    f"picture, or {CAPTIONS_SOFT} (a subtitle track only); default: burn:"},
    },
    "style": {
        "background": {**_PATH, "description": "a colour (CSS name or #rrggbb) or an image file"},
        "color": {**_TEXT, "description": "text colour"},
        "font": {"anyOf": [*_PATH["anyOf"], {"type": "null"}],
                 "description": "a .ttf/.otf file; null for castkit's own font"},
    },
    "fade": {
        "fade_in": _time(description="seconds of fade from black at the start"),
        "fade_out": _time(description="seconds of fade to black at the end"),
    },
    "title": {
        "title": {**_TEXT, "description": "the card's text"},
        "subtitle": {"anyOf": [*_TEXT["anyOf"], {"type": "null"}], "description": "a smaller second line"},
        "duration": _time(positive=True, description="how long the card shows "
                                                     f"(default {DEFAULT_TITLE_SECONDS} s)"),
        "chapter": {**_SWITCH, "description": f"{SWITCH_OFF[1]}: the card starts no chapter "
                                              "(by default every title starts one, named by its text)"},
    },
    "audio": {
        "file": {**_PATH, "description": "the voice-over, relative to the recipe"},
        "from": _time(description="where in the voice-over this clip's narration starts "
                                  "(default 0): one narration split across clips"),
    },
    "clip": {
        "clip": {**_PATH, "description": "a capture, relative to the recipe"},
        "start": _time(description="trim-in: where in the capture the clip starts"),
        "end": _time(description="trim-out: where in the capture it ends (or duration)"),
        "duration": _time(positive=True, description="seconds of the capture to use (or end)"),
        "crop": {"$ref": "#/$defs/crop", "description": "a region of the capture, in its pixels"},
        "speed": {**_level(SPEED_RANGE, (), False, ()),
                  "description": "play N times faster (pitch kept), "
                                 f"{float(SPEED_RANGE[0]):g} to {float(SPEED_RANGE[1]):g}"},
        "audio": {"anyOf": [_MUTE, *_PATH["anyOf"], {"type": "null"}, {"$ref": "#/$defs/audio"}],
                  "description": "a voice-over replacing the capture's sound (from its start, or "
                                 "{file, from}); " f"{MUTE} (or null) for silence"},
        "chapter": {**_TEXT, "description": "start a chapter of this name with the clip"},
        "captions": {"anyOf": [{"type": "string", "pattern": _whole_text(_words((CAPTIONS_AUTO,)))},
                               *_PATH["anyOf"]],
                     "description": "an SRT, WebVTT or ASS file of the capture's captions, a "
                                    f"NAME.transcript.txt, or {CAPTIONS_AUTO}: recognised from its voice"},
        # Speech (issue 24).
        "transcript": {**_PATH, "description": "a NAME.transcript.txt of the capture (castkit "
                                               "transcribe): the words deleted from it are cut"},
        "fillers": {"type": "string", "pattern": _whole_text(_words((FILLERS_CUT,))),
                    "description": f"{FILLERS_CUT}: cut um, uh and their kin (best effort)"},
        "zoom": {"anyOf": [{"type": "array", "minItems": 1, "maxItems": MAX_MOVES,
                            "items": {"$ref": "#/$defs/zoom_move"}},
                           {"type": "string", "pattern": _whole_text(_words((FOLLOW,)))},
                           {"$ref": "#/$defs/follow"}],
                 "description": "camera moves: a list of moves (at a time of the capture, glide to "
                                f"a region or back to full, eased), or {FOLLOW}: follow the screen's activity"},
        "pauses": {"anyOf": [_PAUSE_ACTION, {"$ref": "#/$defs/pauses"}],
                   "description": f"dead air: {PAUSE_CUT} (or a speed, {_SPEEDS}) where the "
                                  "take is silent and its screen still"},
    },
    "pauses": {
        "action": {**_PAUSE_ACTION,
                   "description": f"{PAUSE_CUT} (default), or a speed from {_SPEEDS} (pitch kept)"},
        "min_length": _time(*MIN_LENGTH_RANGE,
                            description="seconds of silence that make a pause "
                                        f"(default {float(_DEFAULT_PAUSES.min_length):g})"),
        "threshold": {**_level(_THRESHOLD, THRESHOLD_UNITS, True, (THRESHOLD_AUTO,)),
                      "description": f"{THRESHOLD_UNITS[0]} below which the take is silent, "
                                     f"{_THRESHOLD[0]} to {_THRESHOLD[1]} "
                                     f"(default {_DEFAULT_PAUSES.threshold}), or {THRESHOLD_AUTO}"},
        "margin": _time(*MARGIN_RANGE,
                        description="seconds of each pause kept next to speech "
                                    f"(default {float(_DEFAULT_PAUSES.margin):g})"),
        "screen": {"type": "string", "pattern": _whole_text(_words(SCREENS, any_case=False)),
                   "description": f"{SCREENS[0]} (default): only where the screen does not "
                                  f"change; {' or '.join(SCREENS[1:])}"},
        "detector": {"type": "string", "pattern": _whole_text(_words(DETECTORS)),
                     "description": f"{DETECTORS[0]} (default): the sound's level; {DETECTORS[1]}: "
                                    "where no one speaks (keys and room noise are not speech)"},
    },
    "crop": {name: {**_pixels(name in CROP_SIZE_KEYS), "description": f"{name}, in source pixels"}
             for name in CROP_KEYS},
    "follow": {
        "follow": {"type": "string", "pattern": _whole_text(_words(FOLLOW_WHAT)),
                   "description": f"what the camera follows: {', '.join(FOLLOW_WHAT)}"},
        "max": {**_level(MAX_ZOOM_RANGE, (), False, ()),
                "description": f"the most it magnifies, {float(MAX_ZOOM_RANGE[0]):g} to "
                               f"{float(MAX_ZOOM_RANGE[1]):g} (default {float(FollowSpec().max):g})"},
        "hold": _time(*HOLD_RANGE, description="seconds each view holds at least, and looks ahead "
                                               f"(default {float(FollowSpec().hold):g})"),
        "margin": {**_level(FOLLOW_MARGIN_RANGE, (), False, ()),
                   "description": "room around the activity, a fraction of the picture's sides "
                                  f"(default {float(FollowSpec().margin):g})"},
    },
    "zoom": {
        "at": _time(description="seconds of the capture at which the move starts"),
        "to": {"anyOf": [{"type": "string", "pattern": _whole_text(_words((ZOOM_FULL,)))},
                         {"$ref": "#/$defs/crop"}],
               "description": "the region the view glides to (x, y, width, height in the capture's "
                              f"pixels, grown to the frame's aspect), or {ZOOM_FULL}"},
        "ease": _time(positive=True, description="seconds the move takes, eased in and out "
                                                 f"(default {float(DEFAULT_EASE):g})"),
    },
    **{place: keys for place, keys in _OVERLAY_KEYS.items() if place != "clip"},
}
_KEYS["clip"].update(_OVERLAY_KEYS["clip"])  # overlays (issue 30)
_KEYS["top"]["frame"] = _KEYS["output"]["frame"] = _FRAME
_KEYS["top"]["webcam"] = _KEYS["clip"]["webcam"] = _WEBCAM

# Sound (issue 25): a clip's gain, the recipe's music bed.
_KEYS["clip"]["gain"] = {**_level(GAIN_RANGE, GAIN_UNITS, True, ()),
                         "description": f"dB on the clip's sound, {GAIN_RANGE[0]} to {GAIN_RANGE[1]}, "
                                        "before the cast's loudness step"}
_MUSIC_FILES = {"anyOf": [*_PATH["anyOf"], {"type": "array", "minItems": 1, "maxItems": MAX_MUSIC_FILES,
                                            "items": _PATH}]}
_KEYS["top"]["music"] = {"anyOf": [*_MUSIC_FILES["anyOf"], {"$ref": "#/$defs/music"}],
                         "description": "a music bed under the cast, ducked under the narration: "
                                        "a file, a list of files, or {file, level, duck, ...}"}
_KEYS["music"] = {
    "file": {**_MUSIC_FILES, "description": "the music, relative to the recipe; a list plays one "
                                            "after the other"},
    "level": {**_level(MUSIC_LEVEL_RANGE, LOUDNESS_UNITS, True, ()),
              "description": f"{LOUDNESS_UNITS[0]} of the music where nobody speaks, "
                             f"{MUSIC_LEVEL_RANGE[0]} to {MUSIC_LEVEL_RANGE[1]} (default {DEFAULT_MUSIC_LEVEL})"},
    "duck": {"anyOf": [*_level(DUCK_RANGE, GAIN_UNITS, True, DUCK_OFF)["anyOf"], {"const": False}],
             "description": f"dB lower under speech, {DUCK_RANGE[0]} to {DUCK_RANGE[1]} "
                            f"(default {DEFAULT_DUCK}), or {DUCK_OFF[0]}"},
    "fade_in": _time(*MUSIC_FADE_RANGE, description="seconds the music fades in from the cast's start"),
    "fade_out": _time(*MUSIC_FADE_RANGE, description="seconds it fades out before the cast's end"),
    "loop": {**_SWITCH, "description": "repeat the music to cover the cast (default on); off: it "
                                       "ends where it ends"},
    "under": {"type": "string", "pattern": _whole_text(_words(MUSIC_UNDER)),
              "description": f"which segments it plays under: {', '.join(MUSIC_UNDER)} "
                             f"(default {MUSIC_UNDER[0]})"},
}
_DENOISE = {"anyOf": [*_level(DENOISE_RANGE, GAIN_UNITS, True, (*SWITCH_ON, *SWITCH_OFF))["anyOf"],
                     {"type": "boolean"}]}
_KEYS["clip"]["denoise"] = {**_DENOISE, "description": f"{SWITCH_ON[0]} (a {DEFAULT_DENOISE} dB noise reduction "
                                                       "learnt from the take's quietest stretch, and a gentle "
                                                       f"high-pass), {SWITCH_OFF[0]}, or a strength in dB, "
                                                       f"{DENOISE_RANGE[0]} to {DENOISE_RANGE[1]}"}
_KEYS["top"]["denoise"] = {**_DENOISE, "description": "every clip's denoise unless it says (default off)"}

_KEYS["transition"] = {
    "type": {"type": "string", "pattern": _whole_text(_words(TRANSITION_TYPES)),
             "description": f"{', '.join(TRANSITION_TYPES)} (default {TRANSITION_TYPES[0]}): picture and "
                            "sound cross over; dip goes through black, wipe and slide move the next in"},
    "duration": _time(*TRANSITION_RANGE, description="seconds the two segments overlap "
                                                     f"(default {float(DEFAULT_TRANSITION_SECONDS):g})"),
}
_TRANSITION = {"anyOf": [_KEYS["transition"]["type"], {"$ref": "#/$defs/transition"}],
               "description": "into this segment from the one before: a type, or {type, duration}; "
                              "the two overlap and the cast is that much shorter"}
_KEYS["clip"]["transition"] = _TRANSITION
_KEYS["title"]["transition"] = _TRANSITION
_KEYS["top"]["transition"] = {**_TRANSITION, "description": "the transition into every segment but "
                                                            "the first, unless it has its own (default: cuts)"}


def _properties(context: str, keys: tuple[str, ...], *also: str) -> dict[str, Any]:
    table: dict[str, dict] = {}
    for name in (context, *also):
        table.update(_KEYS.get(name, {}))
    return {key: table.get(key, {"description": UNDESCRIBED}) for key in keys}


def _mapping(context: str, keys: tuple[str, ...], *also: str, required: tuple[str, ...] = ()) -> dict:
    found = {"type": "object", "properties": _properties(context, keys, *also),
             "additionalProperties": False}
    if required:
        found["required"] = list(required)
    return found


def _only(keys: tuple[str, ...]) -> dict:
    return {"propertyNames": {"enum": ["path", *keys]}}


def _output_mapping() -> dict:
    """``{path, ...}``: each kind of output takes only its keys (``KIND_KEYS``); which kind a
    .webp is depends on ``at`` and ``every``."""
    found = _mapping("output", OUTPUT_KEYS, required=("path",))

    def ends(suffixes: tuple[str, ...]) -> dict:
        return {"properties": {"path": {"pattern": _ends_in(suffixes)}}}

    poster, sprites = {"required": ["at"]}, {"required": ["every"]}
    stills = {"anyOf": [{"allOf": [poster, _only(KIND_KEYS["poster"])]},
                        {"allOf": [sprites, _only(KIND_KEYS["sprites"])]}]}
    animated_fps = {"properties": {"fps": _whole(1, ANIMATED_MAX_FPS)}}
    rules = [{"if": ends((suffix,)), "then": _only(KIND_KEYS[kind])}
             for suffix, kind in ((s, s.lstrip(".")) for s in (*DV_SUFFIXES, *WEB_SUFFIXES))]
    rules += [
        {"if": ends((".gif",)), "then": {**_only(KIND_KEYS["gif"]), **animated_fps}},
        {"if": ends((".apng",)), "then": {**_only(KIND_KEYS["apng"]), **animated_fps}},
        {"if": ends((".webp",)), "then": {"anyOf": [
            stills, {"allOf": [_only(KIND_KEYS["webp"]), animated_fps]}]}},
        {"if": ends(_PLAIN_STILLS), "then": stills},
    ]
    found["allOf"] = rules
    found["not"] = {"required": ["at", "every"]}
    return found


def recipe_schema() -> dict[str, Any]:
    clip = _mapping("clip", CLIP_KEYS, "fade", required=("clip",))
    clip["not"] = {"required": ["end", "duration"]}
    top = _mapping("top", TOP_KEYS, required=("segments",))
    top["not"] = {"required": ["output", "outputs"]}
    return {
        "$schema": SCHEMA_URI,
        "title": "castkit recipe (version 1)",
        "description": "A screencast: title cards and captures, trimmed and joined. "
                       "Generated by `castkit schema`.",
        **top,
        "$defs": {
            "output": {"anyOf": [_OUTPUT_PATH_ALONE, _output_mapping()]},
            "style": _mapping("style", STYLE_KEYS),
            "crop": _mapping("crop", CROP_KEYS, required=CROP_KEYS),
            "pauses": _mapping("pauses", PAUSE_KEYS),
            "audio": _mapping("audio", AUDIO_KEYS, required=("file",)),
            "zoom_move": _mapping("zoom", ZOOM_KEYS, required=ZOOM_REQUIRED),
            "follow": _mapping("follow", FOLLOW_KEYS, required=("follow",)),
            "overlay": _overlay_mapping(),  # overlays (issue 30)
            "position": _mapping("position", POSITION_KEYS, required=POSITION_KEYS),
            "overlay_style": _mapping("overlay_style", OVERLAY_STYLE_KEYS),
            "frame": _mapping("frame", FRAME_KEYS),
            "webcam": _mapping("webcam", WEBCAM_KEYS, required=("clip",)),
            "webcam_first": _mapping("webcam", (*WEBCAM_KEYS, "at"), "webcam_first", required=("clip",)),
            "webcam_change": _mapping("webcam_change", WEBCAM_CHANGE_KEYS, required=("at",)),
            "music": _mapping("music", MUSIC_KEYS, required=("file",)),
            "transition": _mapping("transition", TRANSITION_KEYS),
            "segment": {"oneOf": [
                {"$ref": "#/$defs/title_segment"},
                {"$ref": "#/$defs/clip_segment"},
            ]},
            "title_segment": _mapping("title", TITLE_KEYS, "style", "fade", required=("title",)),
            "clip_segment": clip,
        },
    }


def schema_text() -> str:
    return json.dumps(recipe_schema(), indent=2, ensure_ascii=False) + "\n"


def undescribed() -> list[str]:
    """Keys the reader knows that the schema has no description of (should be none)."""
    missing = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("description") == UNDESCRIBED:
                missing.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(recipe_schema(), "#")
    return missing


# `castkit help recipe`: every key with its one line, from the same tables as the schema. Each
# section is a mapping of the schema: its title, the reader's keys, and the contexts of _KEYS.
_SECTIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("the recipe (top level)", TOP_KEYS, ("top",)),
    ("outputs: each a path, or a mapping of", OUTPUT_KEYS, ("output",)),
    ("a title segment (- title: TEXT)", TITLE_KEYS, ("title", "style", "fade")),
    ("a clip segment (- clip: CAPTURE)", CLIP_KEYS, ("clip", "fade")),
    ("a clip's audio: {file, from}", AUDIO_KEYS, ("audio",)),
    ("a clip's pauses: {...}", PAUSE_KEYS, ("pauses",)),
    ("a clip's crop: {...}", CROP_KEYS, ("crop",)),
    ("a clip's zoom: a list of moves, each {...}", ZOOM_KEYS, ("zoom",)),
    ("a clip's zoom: {follow: activity, ...}", FOLLOW_KEYS, ("follow",)),
    ("title_style: {...} (and a title's own)", STYLE_KEYS, ("style",)),
    ("a clip's overlays: a list, each {...}", OVERLAY_KEYS, ("overlay",)),
    ("an overlay's style: {...}", OVERLAY_STYLE_KEYS, ("overlay_style",)),
    ("frame: {...} (at the top, or on an output)", FRAME_KEYS, ("frame",)),
    ("webcam: {...} (at the top, or on a clip)", WEBCAM_KEYS, ("webcam",)),
    ("webcam: [{clip, ...}, {...}, ...]: layouts over time, each after the first", WEBCAM_CHANGE_KEYS,
     ("webcam_change",)),
    ("music: {...}", MUSIC_KEYS, ("music",)),
    ("transition: {...} (a segment's, or the recipe's)", TRANSITION_KEYS, ("transition",)),
)


def key_help() -> str:
    """Every key of a recipe with one line on what it holds (``castkit help recipe``)."""
    width = max(len(key) for _, keys, _ in _SECTIONS for key in keys) + 2
    out = ["Every key of a castkit recipe (YAML). The same as a JSON Schema: castkit schema", ""]
    for title, keys, contexts in _SECTIONS:
        out.append(f"{title}:")
        table = _properties(contexts[0], keys, *contexts[1:])
        for key in keys:
            text = " ".join(str(table[key].get("description", "")).split())
            out.append(f"  {key:<{width}}{text}")
        out.append("")
    return "\n".join(out)
