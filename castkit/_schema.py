"""The recipe as a JSON Schema (draft 2020-12), for editors that check YAML as it is typed.

The keys come from the reader's own tuples (``_recipe.TOP_KEYS`` and the others); this module
only says what each key holds. A key the reader learns without an entry in ``_KEYS`` shows up
in the schema as "not described yet", and tests/test_schema.py fails until it is described.

The schema accepts what the reader accepts, however a YAML tool types a value: the reader
reads every value from its raw text, so ``start: 5``, ``start: "5"`` and ``end: 1:20.5``
(which a YAML 1.1 loader turns into the number 80.5) are all times, and ``aspect: 16:9``
unquoted (the sexagesimal integer 969 in YAML 1.1, the string "16:9" in YAML 1.2) is an aspect.
"""

from __future__ import annotations

import json
from typing import Any

from . import _recipe
from ._profiles import OUTPUT_SUFFIXES
from ._raster import WEB_HEIGHTS, WEB_MAX_FPS
from ._target import ASPECTS, TARGET_NAMES

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
UNDESCRIBED = "(not described yet)"


def _any_case(word: str) -> str:
    """A regex matching ``word`` in any letter case (ECMA 262 patterns have no (?i))."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else ("\\" + c if c in ".-" else c)
                   for c in word)


# A scalar the reader takes as text: YAML tools may type `title: 2024` or `title: yes`.
_TEXT = {"type": ["string", "number", "boolean"], "not": {"const": ""}}
_PATH = {"type": "string", "minLength": 1, "not": {"pattern": "^[A-Za-z][A-Za-z0-9+.-]*://"}}
_TIME = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|(\d+:)?\d+:\d+(\.\d+)?)\s*$"},
    ],
    "description": "seconds (83.5), MM:SS(.fff) or HH:MM:SS(.fff)",
}
_POSITIVE_TIME = {**_TIME, "not": {"const": 0}}
_PIXELS = {"anyOf": [{"type": "integer", "minimum": 0},
                     {"type": "string", "pattern": r"^\s*\+?\d+\s*$"}]}


def _whole(low: int, high: int) -> dict:
    return {"anyOf": [{"type": "integer", "minimum": low, "maximum": high},
                      {"type": "string", "pattern": r"^\s*\d{1,6}\s*$"}]}


def _sexagesimal(ratio: str) -> int:
    """What a YAML 1.1 loader makes of an unquoted ``16:9``: 16 * 60 + 9."""
    a, b = map(int, ratio.split(":"))
    return a * 60 + b


_OUTPUT_PATH = {
    **_PATH,
    "pattern": "(" + "|".join(_any_case(s) for s in OUTPUT_SUFFIXES) + ")$",
    "description": "a file to make, relative to the recipe; its suffix picks the format "
                   f"({', '.join(OUTPUT_SUFFIXES)})",
}

# What each key of each mapping holds. The keys themselves are the reader's tuples.
_PAUSE_ACTION = {"anyOf": [{"const": "cut"}, {"type": "number", "minimum": 1.5, "maximum": 16},
                           {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*$"}]}

_KEYS: dict[str, dict[str, dict[str, Any]]] = {
    "top": {
        "version": {"enum": [1, "1"], "description": "recipe version; this castkit reads 1"},
        "target": {"type": "string",
                   "pattern": "^(" + "|".join(_any_case(t) for t in TARGET_NAMES) + ")$",
                   "description": f"the DV flavour of the cast: {' or '.join(TARGET_NAMES)} (default pal-dv)"},
        "aspect": {"enum": [*ASPECTS, *(_sexagesimal(a) for a in ASPECTS)],
                   "description": f"display aspect: {' or '.join(ASPECTS)} (default 4:3); "
                                  "quoting is optional"},
        "output": {"$ref": "#/$defs/output", "description": "the one file the recipe makes"},
        "outputs": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/output"},
                    "description": "the files the recipe makes (instead of output)"},
        "title_style": {"$ref": "#/$defs/style", "description": "defaults for every title card"},
        "loudness": {"anyOf": [{"type": "number", "minimum": -70, "maximum": -5},
                               {"type": "string", "pattern": r"^\s*(-\d+(\.\d+)?|[oO][fF][fF])\s*$"},
                               {"const": False}],
                     "description": "integrated loudness of the cast in LUFS, -70 to -5 (default -16), "
                                    "or off to keep the sound as recorded"},
        "segments": {"type": "array", "minItems": 1, "maxItems": _recipe.MAX_SEGMENTS,
                     "items": {"$ref": "#/$defs/segment"},
                     "description": "title cards and clips, in the order they play"},
    },
    "output": {
        "path": _OUTPUT_PATH,
        "height": {**_whole(*WEB_HEIGHTS), "description": "frame height of a .mp4/.webm master (even)"},
        "fps": {**_whole(1, WEB_MAX_FPS), "description": "frame rate of a .mp4/.webm master"},
    },
    "style": {
        "background": {**_TEXT, "description": "a colour (CSS name or #rrggbb) or an image file"},
        "color": {**_TEXT, "description": "text colour"},
        "font": {"anyOf": [_PATH, {"type": "null"}],
                 "description": "a .ttf/.otf file; null for castkit's own font"},
    },
    "fade": {
        "fade_in": {**_TIME, "description": "seconds of fade from black at the start"},
        "fade_out": {**_TIME, "description": "seconds of fade to black at the end"},
    },
    "title": {
        "title": {**_TEXT, "description": "the card's text"},
        "subtitle": {"anyOf": [_TEXT, {"type": "null"}], "description": "a smaller second line"},
        "duration": {**_POSITIVE_TIME, "description": "how long the card shows (default 4 s)"},
    },
    "clip": {
        "clip": {**_PATH, "description": "a capture, relative to the recipe"},
        "start": {**_TIME, "description": "trim-in: where in the capture the clip starts"},
        "end": {**_TIME, "description": "trim-out: where in the capture it ends (or duration)"},
        "duration": {**_POSITIVE_TIME, "description": "seconds of the capture to use (or end)"},
        "crop": {"$ref": "#/$defs/crop", "description": "a region of the capture, in its pixels"},
        "speed": {"anyOf": [
            {"type": "number", "minimum": float(_recipe.SPEED_RANGE[0]),
             "maximum": float(_recipe.SPEED_RANGE[1])},
            {"type": "string", "pattern": r"^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"}],
            "description": "play N times faster (pitch kept), 0.25 to 4"},
        "audio": {"anyOf": [_PATH, {"type": "null"}],
                  "description": "a voice-over replacing the capture's sound; none (or null) for silence"},
        "chapter": {**_TEXT, "description": "start a chapter of this name with the clip"},
        "captions": {**_PATH, "description": "an SRT, WebVTT or ASS file of the capture's captions"},
        "pauses": {"anyOf": [_PAUSE_ACTION, {"$ref": "#/$defs/pauses"}],
                   "description": "dead air: cut (or a speed, 1.5 to 16) where the take is silent "
                                  "and its screen still"},
    },
    "pauses": {
        "action": {**_PAUSE_ACTION, "description": "cut (default), or a speed from 1.5 to 16 (pitch kept)"},
        "min_length": {**_POSITIVE_TIME, "description": "seconds of silence that make a pause (default 1)"},
        "threshold": {"anyOf": [{"type": "number", "minimum": -90, "maximum": 0},
                                {"type": "string", "pattern": r"^\s*(auto|-?\d+(\.\d*)?\s*(dB|dBFS)?)\s*$"}],
                      "description": "dBFS below which the take is silent (default -40), or auto"},
        "margin": {**_TIME, "description": "seconds of each pause kept next to speech (default 0.25)"},
        "screen": {"enum": ["still", "any"],
                   "description": "still (default): only where the screen does not change; any"},
    },
    "crop": {name: {**_PIXELS, "description": f"{name}, in source pixels"} for name in _recipe.CROP_KEYS},
}


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


def recipe_schema() -> dict[str, Any]:
    r = _recipe
    clip = _mapping("clip", r.CLIP_KEYS, "fade", required=("clip",))
    clip["not"] = {"required": ["end", "duration"]}
    top = _mapping("top", r.TOP_KEYS, required=("segments",))
    top["not"] = {"required": ["output", "outputs"]}
    return {
        "$schema": SCHEMA_URI,
        "title": "castkit recipe (version 1)",
        "description": "A screencast: title cards and captures, trimmed and joined. "
                       "Generated by `castkit schema`.",
        **top,
        "$defs": {
            "output": {"anyOf": [_OUTPUT_PATH, _mapping("output", r.OUTPUT_KEYS, required=("path",))]},
            "style": _mapping("style", r.STYLE_KEYS),
            "crop": _mapping("crop", r.CROP_KEYS, required=r.CROP_KEYS),
            "pauses": _mapping("pauses", r.PAUSE_KEYS),
            "segment": {"oneOf": [
                {"$ref": "#/$defs/title_segment"},
                {"$ref": "#/$defs/clip_segment"},
            ]},
            "title_segment": _mapping("title", r.TITLE_KEYS, "style", "fade", required=("title",)),
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
