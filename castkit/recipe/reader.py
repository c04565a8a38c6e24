"""Recipes: YAML read safely into frozen dataclasses, every mistake reported at its line:col.

The YAML is composed into nodes (``yaml.compose`` with the safe loader: no object
construction) and read from the nodes' raw text, not from PyYAML's implicit types: YAML 1.1
reads an unquoted ``aspect: 16:9`` as the sexagesimal integer 969 and ``end: 1:20.5`` as
80.5, which a recipe author never means. Each node keeps its position for error messages.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import yaml

from castkit.base.colors import parse_color
from castkit.base.files import FileRefused, LOOP, read_regular, real_path, symlink_loop, TooLarge
from castkit.base.timecode import format_time, parse_time, TimecodeError
from castkit.errors import echo, InputError, Problem, RecipeError
from castkit.media.dv import ASPECTS, DvTarget, standard_of, TARGET_NAMES
from castkit.media.formats import ANIMATED_SUFFIXES, CAST_SUFFIXES, kind_of
from castkit.media.raster import (
    ANIMATED_MAX_FPS, CHROMA_STEP, FRAME_ASPECTS, GIF_COLORS, GIF_LOSSY, IMAGE_WIDTHS, WEB_HEIGHTS,
    WEB_MAX_FPS,
)
from castkit.recipe.model import (
    ANIMATED_KINDS, AT_TITLE, AUDIO_KEYS, CLIP_KEYS, ClipSegment, Crop, CROP_KEYS,
    CROP_SIZE_KEYS, DEFAULT_EASE, DEFAULT_LOUDNESS, DEFAULT_TITLE_SECONDS, FADE_KEYS, Fades,
    FOLLOW, FOLLOW_KEYS, FOLLOW_MARGIN_RANGE, FOLLOW_WHAT, FollowSpec, HOLD_RANGE, KIND_KEYS,
    KIND_NAMES, LOOP_FOREVER, LOOP_ONCE, LOUDNESS_OFF, LOUDNESS_RANGE, LOUDNESS_UNITS,
    MARGIN_RANGE, MAX_MOVES, MAX_NODES, MAX_RECIPE_BYTES, MAX_SECONDS, MAX_SEGMENTS,
    MAX_WHOLE_DIGITS, MAX_ZOOM_RANGE, MIN_LENGTH_RANGE, Move, MoveWhere, MUTE, OUTPUT_KEYS,
    OutputSpec, PATH_BREAKS, PAUSE_CUT, PAUSE_KEYS, PAUSE_SPEED_MARK, PAUSE_SPEED_RANGE,
    PauseSpec, QUALITY_LOSSLESS, QUALITY_RANGE, Recipe, SCREENS, Segment, SPEED_RANGE,
    STYLE_KEYS, SWITCH_OFF, SWITCH_ON, THRESHOLD_AUTO, THRESHOLD_RANGE, THRESHOLD_UNITS,
    TITLE_KEYS, TitleSegment, TOP_KEYS, URL_MARK, URL_SCHEMES, VERSION, Where, ZOOM_FULL,
    ZOOM_KEYS, ZOOM_REQUIRED,
)
from castkit.recipe.model import (
    DUCK_OFF, DUCK_RANGE, GAIN_RANGE, GAIN_UNITS, MAX_MUSIC_FILES, MUSIC_FADE_RANGE, MUSIC_KEYS,
    MUSIC_LEVEL_RANGE, MUSIC_UNDER, MusicSpec, DEFAULT_DENOISE, DENOISE_RANGE, Transition,
    TRANSITION_KEYS, TRANSITION_RANGE, TRANSITION_TYPES,
)
from castkit.recipe.model import CAPTIONS_AUTO, CAPTIONS_BURN, CAPTIONS_SOFT, DETECTORS, FILLERS_CUT
from castkit.recipe.style import TitleStyle
from castkit.recipe.model import (  # overlays (issue 30)
    DEFAULT_OVERLAY_FADE, MAX_OVERLAY_TEXT, MAX_OVERLAYS, Overlay, OVERLAY_FADE_RANGE, OVERLAY_KEYS,
    OVERLAY_KINDS, OVERLAY_REGION_KINDS, OVERLAY_SIZE_RANGE, OVERLAY_STYLE_KEYS, OVERLAY_UNTIL_END,
    OverlayStyle, POSITION_KEYS, POSITIONS, REDACT_MODES,
    FRAME_GRADIENT, FRAME_KEYS, FRAME_PADDING_RANGE, FRAME_RADIUS_RANGE, FrameStyle,
    Webcam, WEBCAM_KEYS, WEBCAM_OFFSET_RANGE, WEBCAM_POSITIONS, WEBCAM_SHAPES, WEBCAM_SIZE_RANGE,
    MAX_WEBCAM_CHANGES, WEBCAM_CHANGE_KEYS, WebcamChange,
)


_NULL = "tag:yaml.org,2002:null"


@dataclass
class _Reader:
    """Walks composed YAML nodes, collecting problems instead of stopping at the first."""

    file: str
    folder: Path
    problems: list[Problem] = field(default_factory=list)

    def where(self, node: yaml.Node) -> Where:
        return Where(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def add(self, node: yaml.Node, message: str) -> None:
        self.problems.append(self.where(node).problem(message))

    def mapping(self, node: yaml.Node, what: str, allowed: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.add(node, f"{what} must be a mapping of keys to values")
            return None
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        merged: list[dict[str, tuple[yaml.Node, yaml.Node]]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.add(key_node, f"{what}: keys must be plain names")
                continue
            key = key_node.value
            if key == "<<":  # a merge key: anchors share settings between segments
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    found = self.mapping(source, what, allowed)
                    if found:
                        merged.append(found)
                continue
            if key not in allowed:
                self.add(key_node, _unknown(key, allowed, what))
                continue
            if key in items:
                self.add(key_node, f"{what}: {echo(key)} is given twice")
                continue
            items[key] = (key_node, value_node)
        for found in merged:  # keys written out win over merged ones
            for key, pair in found.items():
                items.setdefault(key, pair)
        return items

    def scalar(self, node: yaml.Node, what: str) -> str | None:
        """The raw text of a scalar; None (with a problem) for lists and mappings, and for a
        lone surrogate (a YAML escape like "\\ud800"): no file, message or export can hold
        one, so it is refused here, once, for every value."""
        if not isinstance(node, yaml.ScalarNode):
            self.add(node, f"{what} must be a single value, not a {_kind(node)}")
            return None
        bad = next((c for c in node.value if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            self.add(node, f"{what}: {_named(bad)} (half of a UTF-16 pair) is not a character")
            return None
        return node.value

    def text(self, node: yaml.Node, what: str, allow_empty: bool = False,
             allowed: str = "", said: bool = True) -> str | None:
        """A text value: no control characters but those ``allowed`` (a title's tab and line
        break), since exports (XML, EDL), messages and terminals cannot carry them; ``said``:
        the message names those allowed (not for a path, whose line breaks are refused after)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL and not node.style:
            self.add(node, f"{what} needs a value")
            return None
        value = self.scalar(node, what)
        if value is not None and not allow_empty and not value.strip():
            self.add(node, f"{what} cannot be empty")
            return None
        bad = next((c for c in value or "" if _control(c) and c not in allowed), None)
        if bad is not None:
            self.add(node, f"{what}: the control character {_named(bad)} is not allowed" + _allowed(allowed if said else ""))
            return None
        return value

    def optional_text(self, node: yaml.Node, what: str, allowed: str = "") -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL and not node.style:
            return None
        return self.text(node, what, allowed=allowed)

    def time(self, node: yaml.Node, what: str, positive: bool = False) -> Fraction | None:
        value = self.scalar(node, what)
        if value is None:
            return None
        try:
            seconds = parse_time(value.strip()) if value.strip() else parse_time(None)
        except TimecodeError as exc:
            self.add(node, f"{what}: {exc}")
            return None
        if positive and seconds <= 0:
            self.add(node, f"{what} must be more than zero")
            return None
        if seconds > MAX_SECONDS:
            self.add(node, f"{what}: {format_time(seconds)} is longer than a day")
            return None
        return seconds

    def path(self, node: yaml.Node, what: str) -> Path | None:
        value = self.text(node, what, allowed="".join(PATH_BREAKS), said=False)  # said below, as a name's
        if value is None:
            return None
        if URL_MARK in value or value.lower().startswith(URL_SCHEMES):
            self.add(node, f"{what}: {echo(value)} is a URL; castkit reads local files only")
            return None
        if any(c in value for c in PATH_BREAKS):
            self.add(node, f"{what}: a file name cannot contain line breaks")
            return None
        try:
            # Only a name that starts with ~ is a home folder's: pathlib drops a leading "./",
            # and "./~x.mkv" (a file named ~x.mkv, as castkit init writes it) must stay a file.
            path = Path(value).expanduser() if value.startswith("~") else Path(value)
        except RuntimeError:  # ~someone, for a user this machine does not have
            self.add(node, f"{what}: {echo(value)} names the home folder of an unknown user")
            return None
        path = path if path.is_absolute() else self.folder / path
        if symlink_loop(path):
            self.add(node, f"{what}: {path.name} {LOOP}")
            return None
        return path


# The control characters a title, subtitle or chapter may hold: a card's lines are split at line
# breaks and its words at whitespace; every writer of a one-line field folds them to spaces.
TEXT_CONTROLS = "\t\n"


def _control(char: str) -> bool:
    """C0 and C1 control characters and DEL: not text, and not allowed in XML 1.0 (but tab,
    line feed and carriage return)."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _named(char: str) -> str:
    return f"U+{ord(char):04X}"


def _allowed(allowed: str) -> str:
    """The control characters a value may hold, said after one it may not (a title's tab and
    line break; nothing for a path, whose line breaks are refused on their own)."""
    names = list(dict.fromkeys({"\t": "tab", "\n": "line break", "\r": "line break"}[c]
                               for c in allowed if c in "\t\n\r"))
    if not names:
        return ""
    return f" ({' and '.join(names)} {'are' if len(names) > 1 else 'is'})"


def _keys(node: yaml.MappingNode) -> set[str]:
    """Key names of a mapping, merged ones (``<<: *anchor``) included."""
    keys: set[str] = set()
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value == "<<":
            for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                if isinstance(source, yaml.MappingNode):
                    keys |= _keys(source)
        else:
            keys.add(key.value)
    return keys


def _kind(node: yaml.Node) -> str:
    return {yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}.get(type(node), "value")


def _unknown(key: str, allowed: tuple[str, ...], what: str) -> str:
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(allowed)}"
    return f"{what}: unknown key {echo(key)}{hint}"


def _top_value(root: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    for k, v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _count_nodes(node: yaml.Node) -> Iterator[yaml.Node]:
    """Yields each node once per *visit*; an alias-expansion bomb visits shared nodes many
    times (the same node object each time)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                stack += (k, v)
        elif isinstance(current, yaml.SequenceNode):
            stack += current.value


def load_recipe(path: Path | str) -> Recipe:
    """Read and check a recipe's text (not its sources). Raises RecipeError with every problem."""
    recipe, problems = read_recipe(path)
    if problems:
        raise RecipeError(problems)
    return recipe


def read_recipe(path: Path | str) -> tuple[Recipe, list[Problem]]:
    """A recipe and the problems found in its text, so that a caller can add the problems of
    its sources and report them all together. Broken segments are left out of the recipe; a
    recipe that cannot be read at all (YAML syntax, too large) raises RecipeError."""
    path = Path(path)
    name = str(path)
    try:
        if path.is_dir():
            raise InputError(path, "is a folder, not a recipe")
        # Bounded, and a regular file only: a recipe named /dev/zero must not fill memory,
        # nor one that is a FIFO hang castkit.
        raw = read_regular(path, MAX_RECIPE_BYTES)
    except FileNotFoundError:
        raise InputError(path, "no such recipe") from None
    except PermissionError:
        raise InputError(path, "cannot be read (permission denied)") from None
    except TooLarge:
        raise RecipeError([Problem(name, 1, 1, f"the recipe is larger than {MAX_RECIPE_BYTES // 1024} KiB; is this really a recipe?")]) from None
    except FileRefused as exc:
        raise InputError(path, str(exc)) from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RecipeError([Problem(name, line, 1, "not UTF-8 text")]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise RecipeError([Problem(name, line, col, f"YAML syntax: {message}")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control code)
        before = text[:exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise RecipeError([Problem(name, line, col, f"YAML does not allow the control character "
                                                    f"#x{code:02x} here")]) from None
    except yaml.YAMLError as exc:
        raise RecipeError([Problem(name, 1, 1, f"YAML: {' '.join(str(exc).split())}")]) from None
    except RecursionError:
        raise RecipeError([Problem(name, 1, 1, "the recipe is nested too deeply")]) from None
    if root is None:
        raise RecipeError([Problem(name, 1, 1, "the recipe is empty; it needs at least 'segments:'")])
    # A plain long list of segments is named as such, before the count of values it also
    # exceeds: "anchors and aliases?" only where the recipe has some.
    segments = _top_value(root, "segments")
    if isinstance(segments, yaml.SequenceNode) and len(segments.value) > MAX_SEGMENTS:
        where = Where(name, segments.start_mark.line + 1, segments.start_mark.column + 1)
        raise RecipeError([where.problem(f"more than {MAX_SEGMENTS} segments ({len(segments.value)})")])
    seen: set[int] = set()
    shared = False
    for count, node in enumerate(_count_nodes(root)):
        if not shared:
            shared = id(node) in seen
            seen.add(id(node))
        if count > MAX_NODES:
            why = " (anchors and aliases?)" if shared else ""
            raise RecipeError([Problem(name, 1, 1, f"the recipe expands to more than {MAX_NODES} values{why}")])
    # Absolute, so that cache keys and printed commands do not depend on where castkit runs.
    return _read(root, _Reader(name, path.parent.absolute()), path)


def _read(root: yaml.Node, r: _Reader, path: Path) -> tuple[Recipe, list[Problem]]:
    top = r.mapping(root, "recipe", TOP_KEYS) or {}

    if "version" in top:
        key, node = top["version"]
        if r.scalar(node, "version") not in (str(VERSION), None):
            r.add(node, f"version: this castkit reads recipe version {VERSION}")

    standard, aspect = "pal", "4:3"
    if "target" in top:
        node = top["target"][1]
        value = r.scalar(node, "target")
        if value is not None:
            if standard_of(value):
                standard = standard_of(value)
            else:
                r.add(node, f"target: {echo(value)} is not one of {', '.join(TARGET_NAMES)}")
    if "aspect" in top:
        node = top["aspect"][1]
        value = r.scalar(node, "aspect")
        if value is not None:
            if value in ASPECTS:
                aspect = value
            else:
                r.add(node, f"aspect: {echo(value)} is not one of {', '.join(repr(a) for a in ASPECTS)}")
    target = DvTarget(standard, aspect)

    outputs = _outputs(r, top, path)

    base_style = TitleStyle()
    if "title_style" in top:
        base_style = _style(r, top["title_style"][1], base_style, "title_style") or base_style

    segments: list[Segment] = []
    if "segments" not in top:
        if isinstance(root, yaml.MappingNode):
            r.add(root, "the recipe needs 'segments:', a list of titles and clips")
    else:
        node = top["segments"][1]
        if not isinstance(node, yaml.SequenceNode):
            r.add(node, "segments must be a list (each item starting with '- ')")
        elif not node.value:
            r.add(node, "segments is empty; add a title or a clip")
        elif len(node.value) > MAX_SEGMENTS:
            r.add(node, f"more than {MAX_SEGMENTS} segments")
        else:
            for i, item in enumerate(node.value, 1):
                seg = _segment(r, item, i, base_style)
                if seg is not None:
                    segments.append(seg)

    loudness = DEFAULT_LOUDNESS
    if "loudness" in top:
        loudness = _loudness(r, top["loudness"][1])
    chapters = True
    if "chapters" in top:
        chapters = _switch(r, top["chapters"][1], "chapters", True)
    burn = _switch(r, top["burn"][1], "burn", False) if "burn" in top else False

    frame = _frame(r, top["frame"][1], "frame") if "frame" in top else None
    webcam = _webcam(r, top["webcam"][1], "webcam") if "webcam" in top else None
    music = _music(r, top["music"][1]) if "music" in top else None
    denoise = Fraction(0)
    if "denoise" in top:
        denoise = _denoise(r, top["denoise"][1], "denoise")
        if denoise is None:
            denoise = Fraction(0)
    transition = _transition(r, top["transition"][1], "transition") if "transition" in top else None
    return (Recipe(path, target, outputs, base_style, tuple(segments), loudness, chapters, frame=frame,
                   webcam=webcam, music=music, denoise=denoise, transition=transition, burn=burn),
            r.problems)


def _switch(r: _Reader, node: yaml.Node, what: str, default: bool) -> bool:
    """Yes or no: one of SWITCH_ON or SWITCH_OFF, any case."""
    raw = r.scalar(node, what)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in SWITCH_ON or text in SWITCH_OFF:
        return text in SWITCH_ON
    r.add(node, f"{what} must be one of {', '.join(SWITCH_ON)} or {', '.join(SWITCH_OFF)}, "
                f"not {echo(raw.strip())}")
    return default


def _loudness(r: _Reader, node: yaml.Node) -> Fraction | None:
    """``loudness: -16`` (LUFS, integrated) or ``off``."""
    raw = r.scalar(node, "loudness")
    if raw is None:
        return DEFAULT_LOUDNESS
    text = raw.strip()
    if text.lower() in LOUDNESS_OFF:
        return None
    low, high = LOUDNESS_RANGE
    try:
        number = Decimal(_without_unit(text.lower(), tuple(u.lower() for u in LOUDNESS_UNITS)))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not low <= number <= high:
        r.add(node, f"loudness must be a level in {LOUDNESS_UNITS[0]} from {low} to {high} "
                    f"(like {DEFAULT_LOUDNESS}), or {LOUDNESS_OFF[0]}; "
                    f"not {echo(text)}")
        return DEFAULT_LOUDNESS
    return Fraction(number)


def _without_unit(text: str, units: tuple[str, ...]) -> str:
    """``text`` without the first of ``units`` it ends in (one unit, not a stack of them)."""
    for unit in units:
        if text.endswith(unit):
            return text[: -len(unit)].strip()
    return text.strip()


def _outputs(r: _Reader, top: dict, path: Path) -> tuple[OutputSpec, ...]:
    """``output: PATH`` or ``outputs: [PATH | {path, height, fps}, ...]``; default
    ``build/RECIPE.dv`` beside the recipe."""
    default = (OutputSpec(r.folder / "build" / (path.stem + ".dv")),)
    if "output" in top and "outputs" in top:
        r.add(top["outputs"][0], "give 'output' or 'outputs', not both")
        return default
    if "output" in top:
        spec = _output(r, top["output"][1], "output")
        return (spec,) if spec else default
    if "outputs" not in top:
        return default
    node = top["outputs"][1]
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        r.add(node, "outputs must be a list of files (each a path, or {path, ...})")
        return default
    specs: list[OutputSpec] = []
    for i, item in enumerate(node.value, 1):
        spec = _output(r, item, f"outputs[{i}]")
        if spec is None:
            continue
        # By the file it names (`..` and links resolved): out/c.mp4 and out/../out/c.mp4 are
        # one file, which two outputs would each write.
        if any(real_path(spec.path) == real_path(other.path) for other in specs):
            r.add(item, f"outputs[{i}]: {spec.path.name!r} is named twice")
            continue
        specs.append(spec)
    return tuple(specs) or default


def _output(r: _Reader, node: yaml.Node, what: str) -> OutputSpec | None:
    values: dict = {}
    wheres: dict[str, Where] = {}
    keys: dict[str, yaml.Node] = {}
    if isinstance(node, yaml.MappingNode):
        items = r.mapping(node, what, OUTPUT_KEYS)
        if items is None:
            return None
        if "path" not in items:
            r.add(node, f"{what} needs 'path:'")
            return None
        path_node = items["path"][1]
        for key in OUTPUT_KEYS[1:]:
            if key in items:
                keys[key] = items[key][0]
                value = _OUTPUT_VALUES[key](r, items[key][1], f"{what}.{key}")
                if value is None:
                    return None
                values[key], wheres[key] = value, r.where(items[key][1])
    else:
        path_node = node
    got = r.path(path_node, what)
    if got is None:
        return None
    if kind_of(got) is None:
        r.add(path_node, f"{what}: {echo(got.name)} must end in {', '.join(CAST_SUFFIXES)}")
        return None
    if "at" in values and "every" in values:
        r.add(node, f"{what}: give 'at' (a poster) or 'every' (a sprite sheet), not both")
        return None
    fields = dict(values)
    if "loop" in fields:
        fields["loop"] = fields["loop"] == "forever"
    if fields.get("quality") == QUALITY_LOSSLESS:
        fields["quality"] = None
    if "captions" in fields:
        fields["burn"] = fields.pop("captions") == CAPTIONS_BURN
    spec = OutputSpec(got, where=r.where(path_node), wheres=tuple(wheres.items()), **fields)
    kind = spec.kind
    if kind is None:
        r.add(path_node, f"{what}: {echo(got.name)} is a still: give 'at: SECONDS' (or "
                         f"'{AT_TITLE}') for a poster, or 'every: SECONDS' for a sprite sheet; "
                         f"an animation ends in {', '.join(ANIMATED_SUFFIXES)}")
        return None
    if kind in ANIMATED_KINDS and (spec.fps or 0) > ANIMATED_MAX_FPS:
        r.add(items["fps"][1], f"{what}.fps: an animation plays at most {ANIMATED_MAX_FPS} fps "
                               f"(GIF delays are hundredths of a second), not {spec.fps}")
        return None
    for key in values:
        if key not in KIND_KEYS[kind]:
            takers = [KIND_NAMES[k] for k, allowed in KIND_KEYS.items() if key in allowed]
            hint = "; DV's frame is set by target" if kind in ("dv", "avi") else ""
            r.add(keys[key], f"{what}: {key} applies to {', '.join(takers)}, "
                             f"not to {KIND_NAMES[kind]}{hint}")
            return None
    return spec


def _even(r: _Reader, node: yaml.Node, what: str, low: int, high: int, kind: str) -> int | None:
    """A whole number of pixels from ``low`` to ``high`` that 4:2:0 ``kind`` can hold (even)."""
    value = _whole(r, node, what, low, high)
    if value is not None and value % CHROMA_STEP:
        r.add(node, f"{what} must be even (4:2:0 {kind}), not {value}")
        return None
    return value


def _height(r: _Reader, node: yaml.Node, what: str) -> int | None:
    return _even(r, node, what, *WEB_HEIGHTS, "video")


def _width(r: _Reader, node: yaml.Node, what: str) -> int | None:
    return _even(r, node, what, *IMAGE_WIDTHS, "pictures")


def _loop(r: _Reader, node: yaml.Node, what: str) -> str | None:
    raw = r.scalar(node, what)
    if raw is None:
        return None
    word = raw.strip().lower()
    if word in LOOP_FOREVER:
        return "forever"
    if word in LOOP_ONCE:
        return "once"
    r.add(node, f"{what} must be {LOOP_FOREVER[0]} (the default) or {LOOP_ONCE[0]}, not {echo(raw)}")
    return None


def _quality(r: _Reader, node: yaml.Node, what: str) -> int | str | None:
    raw = r.scalar(node, what)
    if raw is not None and raw.strip().lower() == QUALITY_LOSSLESS:
        return QUALITY_LOSSLESS
    if raw is not None and not raw.strip().isdigit():
        r.add(node, f"{what} must be {QUALITY_LOSSLESS} (the default) or a whole number from "
                    f"{QUALITY_RANGE[0]} to {QUALITY_RANGE[1]}, not {echo(raw)}")
        return None
    return _whole(r, node, what, *QUALITY_RANGE)


def _at(r: _Reader, node: yaml.Node, what: str) -> Fraction | str | None:
    raw = r.scalar(node, what)
    if raw is not None and raw.strip().lower() == AT_TITLE:
        return AT_TITLE
    return r.time(node, what)


def _aspect(r: _Reader, node: yaml.Node, what: str) -> str | None:
    """A vertical or square web master's aspect, read as its raw text as the top's aspect is:
    YAML 1.1 would read 9:16 as 556."""
    raw = r.scalar(node, what)
    if raw is not None and raw not in FRAME_ASPECTS:
        r.add(node, f"{what} must be {', '.join(FRAME_ASPECTS[:-1])} or {FRAME_ASPECTS[-1]}, "
                    f"not {echo(raw)}")
        return None
    return raw


_OUTPUT_VALUES = {
    "frame": lambda r, node, what: _frame(r, node, what),
    "height": _height,
    "fps": lambda r, node, what: _whole(r, node, what, 1, WEB_MAX_FPS),
    "aspect": _aspect,
    "width": _width,
    "colors": lambda r, node, what: _whole(r, node, what, *GIF_COLORS),
    "lossy": lambda r, node, what: _whole(r, node, what, *GIF_LOSSY),
    "loop": _loop,
    "quality": _quality,
    "at": _at,
    "every": lambda r, node, what: r.time(node, what, positive=True),
    "captions": lambda r, node, what: _burn(r, node, what),
}


def _burn(r: _Reader, node: yaml.Node, what: str) -> str | None:
    """An output's ``captions: burn`` (drawn on the picture) or ``soft`` (a track only)."""
    raw = r.scalar(node, what)
    if raw is None:
        return None
    if raw.strip().lower() not in (CAPTIONS_BURN, CAPTIONS_SOFT):
        r.add(node, f"{what} must be {CAPTIONS_BURN} or {CAPTIONS_SOFT}, not {echo(raw.strip())}")
        return None
    return raw.strip().lower()


def _whole(r: _Reader, node: yaml.Node, what: str, low: int, high: int) -> int | None:
    raw = r.scalar(node, what)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isdigit() or len(text) > MAX_WHOLE_DIGITS or not low <= int(text) <= high:
        r.add(node, f"{what} must be a whole number from {low} to {high}, not {echo(text)}")
        return None
    return int(text)


def _style(r: _Reader, node: yaml.Node, base: TitleStyle, what: str, items=None) -> TitleStyle | None:
    if items is None:
        items = r.mapping(node, what, STYLE_KEYS)
        if items is None:
            return None
    style = base
    for key in STYLE_KEYS:
        if key not in items:
            continue
        value_node = items[key][1]
        if key == "font":
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == _NULL and not value_node.style:
                style = replace(style, font=None)
                continue
            font = r.path(value_node, f"{what}.font")
            if font is not None:
                style = replace(style, font=font)
            continue
        value = r.text(value_node, f"{what}.{key}")
        if value is None:
            continue
        if key == "background" and not _is_color(value):
            bg = r.path(value_node, f"{what}.background")
            if bg is not None:
                style = replace(style, background=str(bg))
            continue
        style = replace(style, **{key: value})
    return style


def _is_color(value: str) -> bool:
    try:
        parse_color(value)
    except ValueError:
        return False
    return True


def _segment(r: _Reader, node: yaml.Node, index: int, base: TitleStyle) -> Segment | None:
    what = f"segment {index}"
    if not isinstance(node, yaml.MappingNode):
        r.add(node, f"{what} must be a mapping with 'title:' or 'clip:'")
        return None
    keys = _keys(node)
    is_title, is_clip = "title" in keys, "clip" in keys
    if is_title and is_clip:
        r.add(node, f"{what} has both 'title:' and 'clip:'; make them two segments")
        return None
    if not is_title and not is_clip:
        r.add(node, f"{what} needs 'title:' (a title card) or 'clip:' (a capture)")
        return None
    before = len(r.problems)
    if is_title:
        items = r.mapping(node, f"{what} (title)", TITLE_KEYS) or {}
        title = r.text(items["title"][1], f"{what}: title", allowed=TEXT_CONTROLS) if "title" in items else None
        subtitle = (r.optional_text(items["subtitle"][1], f"{what}: subtitle", allowed=TEXT_CONTROLS)
                    if "subtitle" in items else None)
        duration = DEFAULT_TITLE_SECONDS
        if "duration" in items:
            duration = r.time(items["duration"][1], f"{what}: duration", positive=True) or duration
        style = _style(r, node, base, f"{what}", {k: v for k, v in items.items() if k in STYLE_KEYS})
        fades = _fades(r, items, what)
        if fades.fade_in + fades.fade_out > duration and fades.where is not None:
            r.problems.append(fades.where.problem(
                f"{what}: fades ({format_time(fades.fade_in + fades.fade_out)}) are longer than "
                f"the title ({format_time(duration)})"))
        starts_chapter = True
        if "chapter" in items:
            starts_chapter = _switch(r, items["chapter"][1], f"{what}: chapter", True)
        transition = (_transition(r, items["transition"][1], f"{what}: transition")
                      if "transition" in items else None)
        if len(r.problems) > before or title is None or style is None:
            return None
        return TitleSegment(title, subtitle, duration, style, r.where(node), fades, starts_chapter,
                            transition)

    items = r.mapping(node, f"{what} (clip)", CLIP_KEYS) or {}
    clip = r.path(items["clip"][1], f"{what}: clip") if "clip" in items else None
    start = Fraction(0)
    end = duration = None
    trim_where = None
    if "start" in items:
        start = r.time(items["start"][1], f"{what}: start") or Fraction(0)
    if "end" in items and "duration" in items:
        r.add(items["duration"][0], f"{what}: give 'end' or 'duration', not both")
    elif "end" in items:
        trim_where = r.where(items["end"][1])
        end = r.time(items["end"][1], f"{what}: end")
        if end is not None and end <= start:
            r.add(items["end"][1], f"{what}: end ({format_time(end)}) must come after start ({format_time(start)})")
    elif "duration" in items:
        trim_where = r.where(items["duration"][1])
        duration = r.time(items["duration"][1], f"{what}: duration", positive=True)
    if trim_where is None and "start" in items:
        trim_where = r.where(items["start"][1])
    crop = crop_where = None
    if "crop" in items:
        crop_where = r.where(items["crop"][1])
        crop = _crop(r, items["crop"][1], what)
    speed = Fraction(1)
    if "speed" in items:
        speed = _speed(r, items["speed"][1], what) or speed
    audio = None
    mute = False
    audio_where = None
    audio_from = Fraction(0)
    if "audio" in items:
        node = items["audio"][1]
        audio_where = r.where(node)
        if isinstance(node, yaml.MappingNode):  # {file: PATH, from: SECONDS}
            voice = r.mapping(node, f"{what}: audio", AUDIO_KEYS)
            if voice is not None and "file" not in voice:
                r.add(node, f"{what}: audio needs 'file:' (the voice-over; 'from:' is where in it "
                            "this clip's narration starts)")
            elif voice is not None:
                audio = r.path(voice["file"][1], f"{what}: audio.file")
                if "from" in voice:
                    audio_where = r.where(voice["from"][1])
                    audio_from = r.time(voice["from"][1], f"{what}: audio.from") or Fraction(0)
        else:
            raw = r.scalar(node, f"{what}: audio")
            if raw is not None and (raw.strip().lower() == MUTE or (node.tag == _NULL and not node.style)):
                mute = True
            elif raw is not None:
                audio = r.path(node, f"{what}: audio")
    fades = _fades(r, items, what)
    chapter = r.text(items["chapter"][1], f"{what}: chapter", allowed=TEXT_CONTROLS) if "chapter" in items else None
    captions = captions_where = None
    captions_auto = False
    if "captions" in items:
        captions_where = r.where(items["captions"][1])
        cnode = items["captions"][1]
        if isinstance(cnode, yaml.ScalarNode) and cnode.value.strip().lower() == CAPTIONS_AUTO:
            captions_auto = True  # recognised from the clip's voice (issue 24)
        else:
            captions = r.path(cnode, f"{what}: captions")
    transcript, transcript_where, fillers, fillers_where = _speech(r, items, what)
    pauses = _pauses(r, items["pauses"][1], what) if "pauses" in items else None
    pauses_where = r.where(items["pauses"][1]) if "pauses" in items else None
    zoom, zoom_where, follow = (), (), None
    if "zoom" in items:
        zoom_node = items["zoom"][1]
        if isinstance(zoom_node, yaml.MappingNode) or (
                isinstance(zoom_node, yaml.ScalarNode) and zoom_node.value.strip().lower() == FOLLOW):
            follow = _follow(r, zoom_node, what)
        else:
            zoom, zoom_where = _zoom(r, zoom_node, what)
    overlays = _overlays(r, items["overlays"][1], what) if "overlays" in items else ()
    webcam = _webcam(r, items["webcam"][1], f"{what}: webcam") if "webcam" in items else None
    gain = Fraction(0)
    if "gain" in items:
        gain = _decibels(r, items["gain"][1], f"{what}: gain", GAIN_RANGE, GAIN_UNITS, "dB") or gain
    denoise = _denoise(r, items["denoise"][1], f"{what}: denoise") if "denoise" in items else None
    transition = (_transition(r, items["transition"][1], f"{what}: transition")
                  if "transition" in items else None)
    if len(r.problems) > before or clip is None:
        return None
    return ClipSegment(
        clip, start, end, duration, r.where(items["clip"][1]), trim_where,
        crop, crop_where, speed, audio, mute, audio_where, fades, chapter, captions, captions_where,
        pauses, pauses_where, audio_from, zoom, zoom_where, follow, overlays, webcam, gain, denoise,
        transition, transcript, transcript_where, captions_auto, fillers, fillers_where,
    )


def _speech(r: _Reader, items: dict, what: str) -> tuple:
    """``transcript: FILE.transcript.txt`` and ``fillers: cut`` (issue 24)."""
    transcript = transcript_where = None
    fillers, fillers_where = False, None
    if "transcript" in items:
        transcript_where = r.where(items["transcript"][1])
        transcript = r.path(items["transcript"][1], f"{what}: transcript")
    if "fillers" in items:
        node = items["fillers"][1]
        fillers_where = r.where(node)
        raw = r.scalar(node, f"{what}: fillers")
        if raw is not None and raw.strip().lower() != FILLERS_CUT:
            r.add(node, f"{what}: fillers must be {FILLERS_CUT} (or left out), not {echo(raw.strip())}")
        fillers = raw is not None and raw.strip().lower() == FILLERS_CUT
    return transcript, transcript_where, fillers, fillers_where


def _follow(r: _Reader, node: yaml.Node, what: str) -> FollowSpec | None:
    """``zoom: follow`` or ``zoom: {follow: activity, max, hold, margin}``."""
    if not isinstance(node, yaml.MappingNode):
        return FollowSpec()
    items = r.mapping(node, f"{what}: zoom", FOLLOW_KEYS)
    if items is None:
        return None
    before = len(r.problems)
    if "follow" not in items:
        r.add(node, f"{what}: zoom needs 'follow: {FOLLOW_WHAT[0]}' (or a list of moves)")
    else:
        raw = r.scalar(items["follow"][1], f"{what}: zoom.follow")
        if raw is not None and raw.strip().lower() not in FOLLOW_WHAT:
            r.add(items["follow"][1], f"{what}: zoom.follow must be {' or '.join(FOLLOW_WHAT)}, not {echo(raw.strip())}")
    spec = FollowSpec()
    for key, (low, high), read in (("max", MAX_ZOOM_RANGE, _number), ("hold", HOLD_RANGE, None),
                                   ("margin", FOLLOW_MARGIN_RANGE, _number)):
        if key not in items:
            continue
        value_node = items[key][1]
        value = read(r, value_node, f"{what}: zoom.{key}") if read else r.time(value_node, f"{what}: zoom.{key}")
        if value is not None and not low <= value <= high:
            r.add(value_node, f"{what}: zoom.{key} must be from {float(low):g} to {float(high):g}"
                              + (" seconds" if key == "hold" else ""))
        elif value is not None:
            spec = replace(spec, **{key: value})
    return spec if len(r.problems) == before else None


def _number(r: _Reader, node: yaml.Node, what: str) -> Fraction | None:
    """A plain decimal number (``2``, ``2.5``, ``0.1``)."""
    raw = r.scalar(node, what)
    if raw is None:
        return None
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    # Compared as a Decimal first, as for speed: no Fraction of a huge exponent.
    if not number.is_finite() or abs(number) > 10 ** 6:
        r.add(node, f"{what} must be a number like 2 or 0.5, not {echo(raw)}")
        return None
    return Fraction(number)


def _zoom(r: _Reader, node: yaml.Node, what: str) -> tuple[tuple[Move, ...], tuple[MoveWhere, ...]]:
    """``zoom:``, a list of moves ``{at, to, ease}``; every problem reported, with its place."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        r.add(node, f"{what}: zoom must be a list of moves like {{at: 2, to: {{x: 0, y: 0, width: 960, "
                    f"height: 540}}}} (to: {ZOOM_FULL} for the whole picture)")
        return (), ()
    if len(node.value) > MAX_MOVES:
        r.add(node, f"{what}: zoom has more than {MAX_MOVES} moves")
        return (), ()
    before = len(r.problems)
    moves: list[Move] = []
    wheres: list[MoveWhere] = []
    numbers: list[int] = []
    for i, move_node in enumerate(node.value, 1):
        name = f"{what}: zoom {i}"
        items = r.mapping(move_node, name, ZOOM_KEYS)
        if items is None:
            continue
        for key in ZOOM_REQUIRED:
            if key not in items:
                r.add(move_node, f"{name} needs {echo(key)}")
        at = r.time(items["at"][1], f"{name}: at") if "at" in items else None
        ease = DEFAULT_EASE
        if "ease" in items:
            ease = r.time(items["ease"][1], f"{name}: ease", positive=True) or ease
        to: Crop | None = None
        understood = "to" in items
        if understood:
            to_node = items["to"][1]
            if isinstance(to_node, yaml.MappingNode):
                to = _crop(r, to_node, name, "to")
                understood = to is not None
            elif not (isinstance(to_node, yaml.ScalarNode) and to_node.value.strip().lower() == ZOOM_FULL):
                r.add(to_node, f"{name}: to must be {ZOOM_FULL} or a region "
                               f"{{x, y, width, height}} in the capture's pixels")
                understood = False
        if at is None or not understood:
            continue
        moves.append(Move(at, to, ease))
        wheres.append(MoveWhere(r.where(move_node),
                                **{key: r.where(items[key][1]) for key in ZOOM_KEYS if key in items}))
        numbers.append(i)
    # The order of the moves that could be read, so that every problem shows at once: each
    # starts after the one before has arrived.
    for index in range(1, len(moves)):
        move, prev = moves[index], moves[index - 1]
        if move.at <= prev.at:
            r.problems.append(wheres[index].of("at").problem(
                f"{what}: zoom {numbers[index]}: moves must be in time order: at {_seconds(move.at)} s "
                f"is not after the move before it (at {_seconds(prev.at)} s)"))
        elif prev.at + prev.ease > move.at:
            r.problems.append(wheres[index - 1].of("ease").problem(
                f"{what}: zoom {numbers[index - 1]}: ease {_seconds(prev.ease)} s is longer than "
                f"the {_seconds(move.at - prev.at)} s to the next move"))
    if len(r.problems) > before:
        return (), ()
    return tuple(moves), tuple(wheres)



def _seconds(value: Fraction) -> str:
    """Seconds as a recipe writes them in a move: 2, 0.5."""
    return f"{float(value):g}"

def _pause_action(r: _Reader, node: yaml.Node, what: str) -> tuple[bool, Fraction | None]:
    """``cut`` or a speed factor: (understood, speed or None for cut)."""
    raw = r.scalar(node, what)
    if raw is None:
        return False, None
    text = raw.strip()
    if text.lower() == PAUSE_CUT:
        return True, None
    low, high = PAUSE_SPEED_RANGE
    try:
        number = Decimal(text.lower().removeprefix(PAUSE_SPEED_MARK).removesuffix(PAUSE_SPEED_MARK))
    except InvalidOperation:
        number = Decimal("NaN")
    # Compared as a Decimal first, as for speed: no Fraction of a huge exponent.
    if not number.is_finite() or not Decimal(low.numerator) / low.denominator <= number <= high:
        r.add(node, f"{what} must be {PAUSE_CUT} or a speed from {float(low):g} to {float(high):g}, "
                    f"not {echo(text)}")
        return False, None
    return True, Fraction(number)


def _pauses(r: _Reader, node: yaml.Node, what: str) -> PauseSpec | None:
    """``pauses: cut``, ``pauses: 4`` or a mapping of PAUSE_KEYS."""
    if not isinstance(node, yaml.MappingNode):
        ok, speed = _pause_action(r, node, f"{what}: pauses")
        return PauseSpec(speed) if ok else None
    items = r.mapping(node, f"{what}: pauses", PAUSE_KEYS)
    if items is None:
        return None
    before = len(r.problems)
    spec = PauseSpec()
    if "action" in items:
        ok, speed = _pause_action(r, items["action"][1], f"{what}: pauses.action")
        spec = replace(spec, speed=speed)
    for key, (low, high) in (("min_length", MIN_LENGTH_RANGE), ("margin", MARGIN_RANGE)):
        if key in items:
            value = r.time(items[key][1], f"{what}: pauses.{key}")
            if value is not None and not low <= value <= high:
                r.add(items[key][1], f"{what}: pauses.{key} must be from {float(low):g} to {float(high):g} seconds")
            elif value is not None:
                spec = replace(spec, **{key: value})
    if "threshold" in items:
        tnode = items["threshold"][1]
        raw = r.scalar(tnode, f"{what}: pauses.threshold")
        if raw is not None:
            text = raw.strip()
            low, high = THRESHOLD_RANGE
            if text.lower() == THRESHOLD_AUTO:
                spec = replace(spec, threshold=None)
            else:
                try:
                    number = Decimal(_without_unit(text.lower(), tuple(u.lower() for u in THRESHOLD_UNITS)))
                except InvalidOperation:
                    number = Decimal("NaN")
                if not number.is_finite() or not low <= number <= high:
                    r.add(tnode, f"{what}: pauses.threshold must be a level in {THRESHOLD_UNITS[0]} from "
                                 f"{low} to {high} (like {PauseSpec().threshold}), or {THRESHOLD_AUTO}; "
                                 f"not {echo(text)}")
                else:
                    spec = replace(spec, threshold=Fraction(number))
    if "screen" in items:
        snode = items["screen"][1]
        raw = r.scalar(snode, f"{what}: pauses.screen")
        if raw is not None and raw.strip() not in SCREENS:
            r.add(snode, f"{what}: pauses.screen must be {' or '.join(SCREENS)}, not {echo(raw.strip())}")
        elif raw is not None:
            spec = replace(spec, screen=raw.strip())
    if "detector" in items:  # issue 24: the voice detector instead of the level
        dnode = items["detector"][1]
        raw = r.scalar(dnode, f"{what}: pauses.detector")
        if raw is not None and raw.strip().lower() not in DETECTORS:
            r.add(dnode, f"{what}: pauses.detector must be {' or '.join(DETECTORS)}, not {echo(raw.strip())}")
        elif raw is not None:
            spec = replace(spec, detector=raw.strip().lower())
    return spec if len(r.problems) == before else None


def _fades(r: _Reader, items: dict, what: str) -> Fades:
    values = {}
    where = None
    for key in FADE_KEYS:
        if key in items:
            node = items[key][1]
            where = where or r.where(node)
            values[key] = r.time(node, f"{what}: {key}")
    return Fades(values.get("fade_in") or Fraction(0), values.get("fade_out") or Fraction(0), where)


def _crop(r: _Reader, node: yaml.Node, what: str, name: str = "crop") -> Crop | None:
    """A region in source pixels: a ``crop:``, or a camera move's ``to:`` (``name``)."""
    items = r.mapping(node, f"{what}: {name}", CROP_KEYS)
    if items is None:
        return None
    values = {}
    for key in CROP_KEYS:
        if key not in items:
            r.add(node, f"{what}: {name} needs {echo(key)} (x, y, width and height, in source pixels)")
            continue
        raw = r.scalar(items[key][1], f"{what}: {name}.{key}")
        if raw is None:
            continue
        try:
            value = int(raw.strip())
        except ValueError:
            r.add(items[key][1], f"{what}: {name}.{key} must be a whole number of pixels, not {echo(raw)}")
            continue
        if value < 0 or (key in CROP_SIZE_KEYS and value == 0):
            r.add(items[key][1], f"{what}: {name}.{key} must be {'more than zero' if key in CROP_SIZE_KEYS else 'zero or more'}")
            continue
        values[key] = value
    if len(values) < 4:
        return None
    return Crop(values["x"], values["y"], values["width"], values["height"])


def _speed(r: _Reader, node: yaml.Node, what: str) -> Fraction | None:
    raw = r.scalar(node, f"{what}: speed")
    if raw is None:
        return None
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        r.add(node, f"{what}: speed must be a number like 2 or 0.5, not {echo(raw)}")
        return None
    low, high = SPEED_RANGE
    # Compared as a Decimal first: Fraction(Decimal("1e999999999")) would compute a number
    # with a billion digits.
    if not Decimal(low.numerator) / low.denominator <= number <= high:
        r.add(node, f"{what}: speed {echo(raw.strip(), quote=False)} is outside {float(low):g} to {float(high):g}")
        return None
    value = Fraction(number)
    if not low <= value <= high:
        r.add(node, f"{what}: speed {echo(raw.strip(), quote=False)} is outside {float(low):g} to {float(high):g}")
        return None
    return value


# --- overlays (issue 30) -----------------------------------------------------------------------
def _overlays(r: _Reader, node: yaml.Node, what: str) -> tuple[Overlay, ...]:
    """``overlays:``, a list of ``{text|box|spotlight|redact|keys|image: ..., at, until|duration,
    position, style, fade, mode}``; every problem reported, with its place. Whether regions and
    times fit the capture is checked once it is probed (plan.check)."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        r.add(node, f"{what}: overlays must be a list like [{{text: Click Install, at: 2, until: 5}}]")
        return ()
    if len(node.value) > MAX_OVERLAYS:
        r.add(node, f"{what}: overlays has more than {MAX_OVERLAYS} items")
        return ()
    found: list[Overlay] = []
    for i, item_node in enumerate(node.value, 1):
        overlay = _overlay(r, item_node, f"{what}: overlay {i}")
        if overlay is not None:
            found.append(overlay)
    return tuple(found)


def _overlay(r: _Reader, node: yaml.Node, name: str) -> Overlay | None:
    items = r.mapping(node, name, OVERLAY_KEYS)
    if items is None:
        return None
    before = len(r.problems)
    kinds = [k for k in OVERLAY_KINDS if k in items]
    if len(kinds) != 1:
        r.add(node, f"{name} needs exactly one of {', '.join(OVERLAY_KINDS)}"
                    + (f" (has {', '.join(kinds)})" if kinds else ""))
        return None
    kind = kinds[0]
    value = items[kind][1]
    text = region = image = None
    if kind in ("text", "keys"):
        text = r.text(value, f"{name}: {kind}", allowed="\n" if kind == "text" else "")
        if text is not None and len(text) > MAX_OVERLAY_TEXT:
            r.add(value, f"{name}: {kind} is longer than {MAX_OVERLAY_TEXT} characters")
    elif kind in OVERLAY_REGION_KINDS:
        region = _crop(r, value, name, kind)
    else:
        image = r.path(value, f"{name}: image")
        if image is not None and image.suffix.lower() != ".png":
            r.add(value, f"{name}: image {echo(image.name)} must be a .png (with alpha)")
    wheres = {key: r.where(items[key][1]) for key in items}
    if "at" not in items:
        r.add(node, f"{name} needs 'at' (seconds of the capture it shows from)")
    at = r.time(items["at"][1], f"{name}: at") if "at" in items else None
    until = None
    if "until" in items and "duration" in items:
        r.add(items["duration"][0], f"{name}: give 'until' or 'duration', not both")
    elif "until" in items:
        raw = r.scalar(items["until"][1], f"{name}: until")
        if raw is not None and raw.strip().lower() != OVERLAY_UNTIL_END:
            until = r.time(items["until"][1], f"{name}: until")
            if until is not None and at is not None and until <= at:
                r.add(items["until"][1], f"{name}: until ({format_time(until)}) must come after at ({format_time(at)})")
    elif "duration" in items:
        length = r.time(items["duration"][1], f"{name}: duration", positive=True)
        if length is not None and at is not None:
            until = at + length
    else:
        r.add(node, f"{name} needs 'until' (a time, or {OVERLAY_UNTIL_END}) or 'duration'")
    position: str | tuple[int, int] | None = None
    if "position" in items:
        if kind not in ("text", "keys", "image"):
            r.add(items["position"][0], f"{name}: position is for text, keys and image; a {kind} has its region")
        else:
            position = _position(r, items["position"][1], name)
    style = OverlayStyle()
    if "style" in items:
        style = _overlay_style(r, items["style"][1], name) or style
    fade = DEFAULT_OVERLAY_FADE
    if "fade" in items:
        if kind == "redact":
            r.add(items["fade"][0], f"{name}: a redaction does not fade (it hides the region in every frame it covers)")
        else:
            fade = r.time(items["fade"][1], f"{name}: fade")
            low, high = OVERLAY_FADE_RANGE
            if fade is not None and not low <= fade <= high:
                r.add(items["fade"][1], f"{name}: fade must be from {float(low):g} to {float(high):g} seconds")
    mode = REDACT_MODES[0]
    if "mode" in items:
        raw = r.scalar(items["mode"][1], f"{name}: mode")
        if kind != "redact":
            r.add(items["mode"][0], f"{name}: mode is for redact only")
        elif raw is not None and raw.strip().lower() not in REDACT_MODES:
            r.add(items["mode"][1], f"{name}: mode must be {', '.join(REDACT_MODES)}, not {echo(raw.strip())}")
        elif raw is not None:
            mode = raw.strip().lower()
    if len(r.problems) > before or at is None:
        return None
    return Overlay(kind, at, until, r.where(node), text, region, image, position, style,
                   fade if fade is not None else DEFAULT_OVERLAY_FADE, mode, tuple(wheres.items()))


def _position(r: _Reader, node: yaml.Node, name: str) -> str | tuple[int, int] | None:
    """A named place (POSITIONS) or ``{x, y}``, the top left corner in capture pixels."""
    if isinstance(node, yaml.MappingNode):
        items = r.mapping(node, f"{name}: position", POSITION_KEYS)
        if items is None:
            return None
        values = []
        for key in POSITION_KEYS:
            if key not in items:
                r.add(node, f"{name}: position needs {key} (the top left corner, in the capture's pixels)")
                return None
            raw = r.scalar(items[key][1], f"{name}: position.{key}")
            try:
                value = int((raw or "").strip())
            except ValueError:
                r.add(items[key][1], f"{name}: position.{key} must be a whole number of pixels, not {echo(raw or '')}")
                return None
            if value < 0:
                r.add(items[key][1], f"{name}: position.{key} must be zero or more")
                return None
            values.append(value)
        return values[0], values[1]
    raw = r.scalar(node, f"{name}: position")
    if raw is None:
        return None
    if raw.strip().lower() not in POSITIONS:
        r.add(node, f"{name}: position must be {{x, y}} or one of {', '.join(POSITIONS)}, not {echo(raw.strip())}")
        return None
    return raw.strip().lower()


def _overlay_style(r: _Reader, node: yaml.Node, name: str) -> OverlayStyle | None:
    items = r.mapping(node, f"{name}: style", OVERLAY_STYLE_KEYS)
    if items is None:
        return None
    values: dict = {}
    for key in ("background", "color"):
        if key in items:
            raw = r.scalar(items[key][1], f"{name}: style.{key}")
            if raw is not None and not _is_color(raw):
                r.add(items[key][1], f"{name}: style.{key}: unknown colour {echo(raw.strip())}: "
                                     "use a CSS name like 'navy' or #rrggbb")
            elif raw is not None:
                values[key] = raw.strip()
    if "size" in items:
        values["size"] = _whole(r, items["size"][1], f"{name}: style.size", *OVERLAY_SIZE_RANGE)
    if "font" in items:
        values["font"] = r.path(items["font"][1], f"{name}: style.font")
    return OverlayStyle(**{k: v for k, v in values.items() if v is not None})


def _frame(r: _Reader, node: yaml.Node, what: str) -> FrameStyle | None:
    """``frame: {background, padding, radius, shadow}`` (every key optional)."""
    items = r.mapping(node, what, FRAME_KEYS)
    if items is None:
        return None
    before = len(r.problems)
    values: dict = {}
    if "background" in items:
        raw = r.scalar(items["background"][1], f"{what}.background")
        if raw is not None and (_is_color(raw) or raw.strip().lower() == FRAME_GRADIENT):
            values["background"] = raw.strip().lower() if raw.strip().lower() == FRAME_GRADIENT else raw.strip()
        elif raw is not None:
            path = r.path(items["background"][1], f"{what}.background")
            if path is not None:
                values["background"] = str(path)
    if "padding" in items:
        padding = _number(r, items["padding"][1], f"{what}.padding")
        low, high = FRAME_PADDING_RANGE
        if padding is not None and not low <= padding <= high:
            r.add(items["padding"][1], f"{what}.padding must be from {float(low):g} to {float(high):g} "
                                       "(a fraction of the frame's sides)")
        elif padding is not None:
            values["padding"] = padding
    if "radius" in items:
        values["radius"] = _whole(r, items["radius"][1], f"{what}.radius", *FRAME_RADIUS_RANGE)
    if "shadow" in items:
        values["shadow"] = _switch(r, items["shadow"][1], f"{what}.shadow", True)
    if len(r.problems) > before:
        return None
    return FrameStyle(**{k: v for k, v in values.items() if v is not None}, where=r.where(node))


def _webcam(r: _Reader, node: yaml.Node, what: str) -> Webcam | None:
    """``webcam: {clip, position, size, shape, offset}`` (or ``webcam: face.mp4``), or a list
    of layouts over time: the first such a mapping (``at: 0`` allowed), each later one
    ``{at, ease, position, size, shape}``, the keys it leaves out kept from the layout before."""
    if isinstance(node, yaml.SequenceNode):
        return _webcam_layouts(r, node, what)
    if isinstance(node, yaml.ScalarNode):
        clip = r.path(node, what)
        return Webcam(clip, r.where(node)) if clip is not None else None
    items = r.mapping(node, what, WEBCAM_KEYS)
    if items is None:
        return None
    return _webcam_first(r, node, items, what)


def _webcam_first(r: _Reader, node: yaml.Node, items: dict, what: str) -> Webcam | None:
    before = len(r.problems)
    if "clip" not in items:
        r.add(node, f"{what} needs 'clip:' (the camera's recording)")
        return None
    clip = r.path(items["clip"][1], f"{what}.clip")
    values = _webcam_looks(r, items, what)
    for key, (low, high) in (("offset", WEBCAM_OFFSET_RANGE),):
        if key in items:
            value = _number(r, items[key][1], f"{what}.{key}")
            if value is not None and not low <= value <= high:
                r.add(items[key][1], f"{what}.{key} must be from {float(low):g} to {float(high):g} seconds")
            elif value is not None:
                values[key] = value
    if len(r.problems) > before or clip is None:
        return None
    return Webcam(clip, r.where(node), **values)


def _webcam_looks(r: _Reader, items: dict, what: str) -> dict:
    """A layout's position, shape and size that the recipe gives (checked)."""
    values: dict = {}
    for key, words in (("position", WEBCAM_POSITIONS), ("shape", WEBCAM_SHAPES)):
        if key in items:
            raw = r.scalar(items[key][1], f"{what}.{key}")
            if raw is not None and raw.strip().lower() not in words:
                r.add(items[key][1], f"{what}.{key} must be one of {', '.join(words)}, not {echo(raw.strip())}")
            elif raw is not None:
                values[key] = raw.strip().lower()
    if "size" in items:
        low, high = WEBCAM_SIZE_RANGE
        value = _number(r, items["size"][1], f"{what}.size")
        if value is not None and not low <= value <= high:
            r.add(items["size"][1], f"{what}.size must be from {float(low):g} to {float(high):g} "
                                    "(of the frame's height)")
        elif value is not None:
            values["size"] = value
    return values


def _webcam_layouts(r: _Reader, node: yaml.SequenceNode, what: str) -> Webcam | None:
    """``webcam:`` as a list of layouts over time; every problem reported, with its place."""
    if not node.value or len(node.value) > MAX_WEBCAM_CHANGES + 1:
        r.add(node, f"{what}: a list of 1 to {MAX_WEBCAM_CHANGES + 1} layouts, the first naming "
                    "the camera's clip: [{clip: face.mp4}, {at: 30, position: full}]")
        return None
    before = len(r.problems)
    first_node = node.value[0]
    items = r.mapping(first_node, f"{what} 1", (*WEBCAM_KEYS, "at"))
    first = None
    if items is not None:
        if "at" in items:
            at = r.time(items["at"][1], f"{what} 1: at")
            if at is not None and at != 0:
                r.add(items["at"][1], f"{what} 1: at must be 0: the first layout is the one the clip starts with")
        first = _webcam_first(r, first_node, {k: v for k, v in items.items() if k != "at"}, f"{what} 1")
    changes: list[WebcamChange] = []
    look = (first.position, first.size, first.shape) if first is not None else ("bottom-right", Fraction(1, 4), "")
    previous: tuple[Fraction, Fraction, yaml.Node] | None = None  # the change before: at, ease, its ease's node
    for i, change_node in enumerate(node.value[1:], 2):
        name = f"{what} {i}"
        items = r.mapping(change_node, name, WEBCAM_CHANGE_KEYS)
        if items is None:
            continue
        if "at" not in items:
            r.add(change_node, f"{name} needs 'at:' (the capture's second the layout starts changing)")
            continue
        at = r.time(items["at"][1], f"{name}: at")
        ease = r.time(items["ease"][1], f"{name}: ease", positive=True) if "ease" in items else DEFAULT_EASE
        values = _webcam_looks(r, items, name)
        if at is None or ease is None:
            continue
        if previous is not None and at <= previous[0]:
            r.add(items["at"][1], f"{name}: layouts must be in time order: at {_seconds(at)} s is not after "
                                  f"the one before it (at {_seconds(previous[0])} s)")
        elif previous is not None and previous[0] + previous[1] > at:
            r.add(previous[2], f"{what} {i - 1}: ease {_seconds(previous[1])} s is longer than the "
                               f"{_seconds(at - previous[0])} s to the next layout")
        position, size, shape = (values.get("position", look[0]), values.get("size", look[1]),
                                 values.get("shape", look[2]))
        changes.append(WebcamChange(at, ease, position, size, shape, r.where(change_node)))
        look = (position, size, shape)
        previous = (at, ease, items["ease"][1] if "ease" in items else change_node)
    if len(r.problems) > before or first is None:
        return None
    return replace(first, changes=tuple(changes))
# --- end of overlays ----------------------------------------------------------------------------


# Sound (issue 25): a clip's gain and the recipe's music bed.

def _decibels(r: _Reader, node: yaml.Node, what: str, low_high: tuple[Fraction, Fraction],
              units: tuple[str, ...], unit: str) -> Fraction | None:
    """A level in a range, with or without one of ``units`` after it (``-3``, ``-3 dB``)."""
    raw = r.scalar(node, what)
    if raw is None:
        return None
    text = raw.strip()
    low, high = low_high
    try:
        number = Decimal(_without_unit(text.lower(), tuple(u.lower() for u in units)))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not low <= number <= high:
        r.add(node, f"{what} must be a number of {unit} from {low} to {high}, not {echo(text)}")
        return None
    return Fraction(number)


def _music(r: _Reader, node: yaml.Node) -> MusicSpec | None:
    """``music: FILE``, ``music: [FILE, ...]`` or a mapping of MUSIC_KEYS."""
    if isinstance(node, yaml.MappingNode):
        items = r.mapping(node, "music", MUSIC_KEYS)
        if items is None:
            return None
        if "file" not in items:
            r.add(node, "music needs 'file:' (a file, or a list of files played one after the other)")
            return None
    else:
        items = {"file": (node, node)}
    files_node = items["file"][1]
    file_nodes = files_node.value if isinstance(files_node, yaml.SequenceNode) else [files_node]
    if not file_nodes:
        r.add(files_node, "music: file must name at least one file")
    if len(file_nodes) > MAX_MUSIC_FILES:
        r.add(files_node, f"music: more than {MAX_MUSIC_FILES} files")
        return None
    files, wheres = [], []
    for file_node in file_nodes:
        path = r.path(file_node, "music: file")
        if path is not None:
            files.append(path)
            wheres.append(r.where(file_node))
    spec = MusicSpec(tuple(files), where=r.where(node), files_where=tuple(wheres))
    if "level" in items:
        level = _decibels(r, items["level"][1], "music: level", MUSIC_LEVEL_RANGE, LOUDNESS_UNITS, "LUFS")
        spec = replace(spec, level=level if level is not None else spec.level)
    if "duck" in items:
        duck_node = items["duck"][1]
        raw = r.scalar(duck_node, "music: duck")
        if raw is not None and raw.strip().lower() in DUCK_OFF:
            spec = replace(spec, duck=None)
        elif raw is not None:
            low, high = DUCK_RANGE
            try:
                number = Decimal(_without_unit(raw.strip().lower(), ("db",)))
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite() or not low <= number <= high:
                r.add(duck_node, f"music: duck must be a number of dB from {low} to {high} "
                                 f"(how much lower under speech), or {DUCK_OFF[0]}; not {echo(raw.strip())}")
            else:
                spec = replace(spec, duck=Fraction(number))
    for key in ("fade_in", "fade_out"):
        if key in items:
            value = r.time(items[key][1], f"music: {key}")
            low, high = MUSIC_FADE_RANGE
            if value is not None and not low <= value <= high:
                r.add(items[key][1], f"music: {key} must be from {low} to {high} seconds")
            elif value is not None:
                spec = replace(spec, **{key: value})
    if "loop" in items:
        spec = replace(spec, loop=_switch(r, items["loop"][1], "music: loop", True))
    if "under" in items:
        under_node = items["under"][1]
        raw = r.scalar(under_node, "music: under")
        if raw is not None and raw.strip().lower() not in MUSIC_UNDER:
            r.add(under_node, f"music: under must be {', '.join(MUSIC_UNDER)}, not {echo(raw.strip())}")
        elif raw is not None:
            spec = replace(spec, under=raw.strip().lower())
    # Kept with a bad key beside its files (the build stops on the problem anyway), so that the
    # files are checked too and every mistake is said at once.
    return spec if spec.files else None


def _denoise(r: _Reader, node: yaml.Node, what: str) -> Fraction | None:
    """``denoise: on`` (DEFAULT_DENOISE dB), ``off`` (0) or a strength in dB."""
    raw = r.scalar(node, what)
    if raw is None:
        return None
    text = raw.strip().lower()
    if text in SWITCH_ON:
        return DEFAULT_DENOISE
    if text in SWITCH_OFF:
        return Fraction(0)
    low, high = DENOISE_RANGE
    try:
        number = Decimal(_without_unit(text, ("db",)))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not low <= number <= high:
        r.add(node, f"{what} must be {SWITCH_ON[0]}, {SWITCH_OFF[0]} or a strength in dB from {low} "
                    f"to {high}, not {echo(raw.strip())}")
        return None
    return Fraction(number)


def _transition(r: _Reader, node: yaml.Node, what: str) -> Transition | None:
    """``transition: crossfade`` or ``{type: crossfade, duration: 0.5}``."""
    where = r.where(node)
    if isinstance(node, yaml.MappingNode):
        items = r.mapping(node, what, TRANSITION_KEYS)
        if items is None:
            return None
    else:
        items = {"type": (node, node)}
    spec = Transition(where=where)
    before = len(r.problems)
    if "type" in items:
        raw = r.scalar(items["type"][1], f"{what}.type")
        if raw is not None and raw.strip().lower() not in TRANSITION_TYPES:
            r.add(items["type"][1], f"{what}.type must be {', '.join(TRANSITION_TYPES)}, not {echo(raw.strip())}")
        elif raw is not None:
            spec = replace(spec, type=raw.strip().lower())
    if "duration" in items:
        duration = r.time(items["duration"][1], f"{what}.duration")
        low, high = TRANSITION_RANGE
        if duration is not None and not low <= duration <= high:
            r.add(items["duration"][1], f"{what}.duration must be from {float(low):g} to {float(high):g} seconds")
        elif duration is not None:
            spec = replace(spec, duration=duration, where=r.where(items["duration"][1]))
    return spec if len(r.problems) == before else None
