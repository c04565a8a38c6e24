"""`castkit schema`: a JSON Schema that knows every key the reader knows and accepts what the
reader accepts, checked with the jsonschema package (not castkit's own reader)."""

from __future__ import annotations

import functools
import json
import re
import textwrap
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from castkit.recipe import model as _recipe, schema as _schema
from castkit.base.timecode import TimecodeError, parse_time
from castkit.recipe.reader import read_recipe
from castkit.recipe.schema import recipe_schema, undescribed

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "recipes" / "castkit.schema.json"


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors_of(data) -> list[str]:
    return [e.message for e in validator().iter_errors(data)]


def test_every_key_of_the_reader_is_in_the_schema():
    schema = recipe_schema()
    defs = schema["$defs"]
    assert tuple(schema["properties"]) == _recipe.TOP_KEYS
    assert tuple(defs["output"]["anyOf"][1]["properties"]) == _recipe.OUTPUT_KEYS
    assert tuple(defs["style"]["properties"]) == _recipe.STYLE_KEYS
    assert tuple(defs["crop"]["properties"]) == _recipe.CROP_KEYS
    assert tuple(defs["audio"]["properties"]) == _recipe.AUDIO_KEYS
    assert tuple(defs["title_segment"]["properties"]) == _recipe.TITLE_KEYS
    assert tuple(defs["clip_segment"]["properties"]) == _recipe.CLIP_KEYS
    assert tuple(defs["zoom_move"]["properties"]) == _recipe.ZOOM_KEYS
    assert tuple(defs["zoom_move"]["required"]) == _recipe.ZOOM_REQUIRED
    assert tuple(defs["follow"]["properties"]) == _recipe.FOLLOW_KEYS
    # A key added to the reader without a line in recipe.schema._KEYS says so here.
    assert undescribed() == []


def test_committed_schema_is_what_castkit_schema_prints(cli):
    result = cli("schema")
    assert result.code == 0
    assert json.loads(result.out) == recipe_schema()
    assert SCHEMA_FILE.read_text(encoding="utf-8") == result.out, (
        "recipes/castkit.schema.json is stale: run `castkit schema > recipes/castkit.schema.json`")


def test_demo_recipe_points_editors_at_the_schema():
    for recipe in (REPO / "recipes").glob("*.yaml"):
        first = recipe.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=castkit.schema.json", recipe.name
        assert (recipe.parent / "castkit.schema.json").is_file()


@pytest.mark.parametrize("loader", [yaml.SafeLoader, yaml.BaseLoader], ids=["yaml1.1-typed", "all-strings"])
def test_repo_recipes_validate(loader):
    recipes = sorted((REPO / "recipes").glob("*.yaml"))
    assert recipes
    for recipe in recipes:
        data = yaml.load(recipe.read_text(encoding="utf-8"), Loader=loader)
        assert errors_of(data) == [], recipe.name


GOOD = {
    "unquoted aspect and clock times": """
        target: NTSC-DV
        aspect: 16:9
        segments:
          - clip: a.ogv
            start: 1:02
            end: 1:20.5
    """,
    "strings, numbers, quoted": """
        version: 1
        aspect: "4:3"
        output: build/x.AVI
        title_style: {background: navy, color: "#ffffff", font: null}
        segments:
          - title: 2024
            subtitle: null
            duration: "2.5"
            fade_in: 0.5
          - clip: a.ogv
            duration: 3
            speed: "0.5"
            audio: none
            crop: {x: 0, y: "8", width: 320, height: 240}
    """,
    "outputs and merge keys": """
        outputs:
          - build/a.dv
          - {path: build/a.mp4, height: 720, fps: 30}
        segments:
          - &take
            clip: a.ogv
            start: 2
            speed: 2
          - <<: *take
            fade_out: 1
    """,
}

BAD = {
    "a misspelt key": """
        segments:
          - title: Hello
            duraton: 3
    """,
    "a misspelt top key": """
        segments:
          - clip: a.ogv
        ouptut: build/a.dv
    """,
    "end and duration": """
        segments:
          - clip: a.ogv
            end: 4
            duration: 2
    """,
    "title and clip": """
        segments:
          - clip: a.ogv
            title: Hi
    """,
    "a crop without height": """
        segments:
          - clip: a.ogv
            crop: {x: 0, y: 0, width: 5}
    """,
    "too fast": """
        segments:
          - clip: a.ogv
            speed: 9
    """,
    "an unknown target": """
        target: secam-dv
        segments:
          - clip: a.ogv
    """,
    "a time that is no time": """
        segments:
          - clip: a.ogv
            start: soon
    """,
    "output and outputs": """
        output: a.dv
        outputs: [b.dv]
        segments:
          - clip: a.ogv
    """,
    "an output castkit cannot write": """
        output: a.mov
        segments:
          - clip: a.ogv
    """,
}


def _reader_problems(tmp_path: Path, text: str) -> list:
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return read_recipe(path)[1]


@pytest.mark.parametrize("name", GOOD)
def test_schema_accepts_what_the_reader_accepts(name, tmp_path):
    text = GOOD[name]
    assert _reader_problems(tmp_path, text) == []
    assert errors_of(yaml.safe_load(textwrap.dedent(text))) == []


@pytest.mark.parametrize("name", BAD)
def test_schema_refuses_what_the_reader_refuses(name, tmp_path):
    text = BAD[name]
    assert _reader_problems(tmp_path, text) != []
    assert errors_of(yaml.safe_load(textwrap.dedent(text))) != []


def test_a_misspelt_key_in_the_demo_fails_validation():
    text = (REPO / "recipes" / "demo.yaml").read_text(encoding="utf-8")
    broken = text.replace("fade_in:", "fadein:", 1)
    assert broken != text
    messages = errors_of(yaml.safe_load(broken))
    assert messages and any("fadein" in m or "valid under" in m for m in messages)


# --- the schema and the reader agree, value by value -------------------------------------------
#
# Each value is written as YAML text into a small recipe at one key; the reader's verdict on the
# recipe (no problems, or some) must be the validator's verdict on the same recipe as a YAML tool
# types it: PyYAML's YAML 1.1 types (`off` is false, `1:02` is 62) and all strings (BaseLoader).
# The reader is the reference; these are values it judges by themselves, not by files it reads.
# "" is the key written with no value (null).

_PLACES = {
    "top": "{key}: {value}\nsegments:\n  - title: A\n",
    "output": "outputs:\n  - path: a.mp4\n    {key}: {value}\nsegments:\n  - title: A\n",
    "gif": "outputs:\n  - path: a.gif\n    {key}: {value}\nsegments:\n  - title: A\n",
    "webp": "outputs:\n  - path: a.webp\n    {key}: {value}\nsegments:\n  - title: A\n",
    "poster": "outputs:\n  - path: a.jpg\n    {key}: {value}\nsegments:\n  - title: A\n",
    "sprites": "outputs:\n  - {{path: a.png, every: 5}}\n  - path: b.PNG\n    {key}: {value}\nsegments:\n  - title: A\n",
    "style": "title_style:\n  {key}: {value}\nsegments:\n  - title: A\n",
    "title": "segments:\n  - title: A\n    {key}: {value}\n",
    "clip": "segments:\n  - clip: a.ogv\n    {key}: {value}\n",
    "pauses": "segments:\n  - clip: a.ogv\n    pauses:\n      {key}: {value}\n",
    "crop": "segments:\n  - clip: a.ogv\n    crop:\n      {crop}\n",
    "audio": "segments:\n  - clip: a.ogv\n    audio:\n      file: v.wav\n      {key}: {value}\n",
    "zoom": "segments:\n  - clip: a.ogv\n    zoom:\n      - {move}\n",
}

_TIMES = ["0", "5", "5.5", "05", "0.0", '"5"', '" 5 "', '"5."', '".5"', "1:02", "1:20.5", "0:59.99",
          "0:60", "1:60", "1:75", "01:02:03", "1:59:59.5", "1:60:00", "23:59:59.99", "24:00:00",
          '"24:00:00"', "24:00:00.01", '"24:00:00.01"', "24:00:01", '"24:00:01"', '"24:00:00.00"',
          '"23:60:00"', '"1439:59.99"', "1440:00", '"1440:00"', '"1440:00.5"', '"1440:01"',
          '"1441:00"', "86400", '"86400.0"', '"86400.001"', "86401", '"86401"', '"99999"',
          "-1", '"-1"', '"-0"', '"-0.0"', "soon", '""', "", "1e3", '"1:2:3:4"',
          '"' + "0" * 31 + '5"', '"' + "0" * 32 + '5"']
_POSITIVE_TIMES = ["0", '"0"', '"0.000"', '"0:00"', '"0:00:00.0"', '"00"', "0.001", '"0:00.01"', "4",
                   "86400", "86401", "-1"]
_SPEEDS = ["0.25", '"0.25"', '".25"', '"+0.25"', '"0.250"', "0.249", '"0.2499"', '"0.24"', "0.5", "1",
           '"1"', "2", "4", '"4"', '"4.0"', '"4."', '"4.0001"', "4.5", "9", '"9"', "-1", '"-1"', '"-0.5"',
           "0", '"0"', "fast", "", '"2 "', "true"]
_PAUSE_ACTIONS = ["cut", "CUT", "Cut", "cUt", '" cut "', "cut2", "snip", "4", "1.5", '"1.5"', "1.49",
                  '"1.49"', "16", '"16"', '"16.0"', "16.01", '"16.01"', "20", '"20"', '"1"', "1",
                  "2x", "x2", "2X", "X2", '"x 2"', '"2 x"', '"x2x"', "x", "xx2", "x20", "", "true",
                  '"+2"', '"-2"', '"2.5"']
_PATHS = ["a.ogv", "sub/a.ogv", "2024", "true", "http://x/a.ogv", "HTTP://x/a.ogv", "Http:a.ogv",
          "ftp:a", "data:a", "DATA:a", "x/y://z", '"a://b"', '"1a://b"', '" "', '"\\t"', '"a\\nb"',
          '"a\\rb"', '"a\\0b"', "", '""', '" http:a.ogv"']

_SWITCHES = ["false", "False", "FALSE", "no", "No", "off", "OFF", "true", "True", "yes", "on", "ON",
             '"off"', '" no "', '"true"', "none", "null", "", '""', "0", "1", "maybe", "Intro"]

CASES: dict[tuple[str, str], list[str]] = {
    ("top", "version"): ["1", '"1"', "2", '" 1"', '"01"', "one"],
    ("top", "target"): ["pal-dv", "PAL-DV", "Ntsc-Dv", "nTSC-dV", "secam-dv", '" pal-dv"', "pal",
                        '"pal-dv\\n"', '"pal-dv "'],
    ("top", "aspect"): ["4:3", "16:9", '"16:9"', '"4:3"', "3:2", '" 4:3"', "16/9"],
    ("top", "loudness"): [
        "-16", '"-16"', "-16.5", '"-16."', '"-23.50"', '"-16 LUFS"', "-16 LUFS", "-16LUFS", "-16 lufs", "-16 Lufs",
        '" -16 LUFS "', "-16 LUFSlufs", "-16 lufsLUFS", "-16 dB", "-70", '"-70"', "-70.1", '"-70.1"',
        '"-70.0"', '"-070"', "-5", '"-5"', "-4.9", '"-4.9"', '"-4"', '"-80"', "-80", "0", '"0"', "16",
        '"+16"', "off", "Off", "OFF", "oFf", '"off"', '"OFF"', "no", "No", "NO", "nO", "false", "False",
        "FaLsE", "none", "None", "NONE", "nOnE", '" off "', "on", "yes", "true", "null", "", "loud",
        "LUFS", '"-"'],
    ("output", "height"): ["720", '"720"', "721", '"721"', "64", '"64"', "62", '"62"', "4320", '"4320"',
                           "4322", '"4322"', "0", '"0"', '"0720"', '"000720"', '"0000720"', '"+720"',
                           "abc", '"1000000"', "100", '"100"', '" 720 "'],
    ("output", "aspect"): ["9:16", '"9:16"', "1:1", '"1:1"', "4:5", '" 4:5 "', "16:9", "9/16", "0.5625",
                           '""', "", "vertical"],
    ("output", "fps"): ["1", '"1"', "0", '"0"', "60", '"60"', "61", '"61"', '"030"', "30", "-1", "2.5"],
    ("top", "output"): ["a.dv", "a.DV", "a.Avi", "a.Mp4", "a.webm", "a.mov", "a", '".dv"', '"x/.dv"',
                        '"..dv"', '"a.dv/"', "http://x/a.dv", "data:a.dv", '"a.dv "', "a.dv.txt",
                        "a.gif", "a.GIF", "a.webp", "a.apng", "a.jpg", "a.jpeg", "a.PNG", '".gif"'],
    # Images (issue 26): each kind takes only its keys; a .jpg or .png is a poster or a sheet.
    ("gif", "width"): ["160", '"160"', "158", "7680", "7682", '"800"', "801", '"801"', "0", "abc",
                       '"0800"', '" 800 "'],
    ("gif", "fps"): ["15", '"15"', "50", '"50"', "51", '"51"', "60", "61", "0", '"030"'],
    ("gif", "colors"): ["2", "1", '"1"', "256", '"256"', "257", '"16"', "0", "64.5"],
    ("gif", "lossy"): ["0", "60", '"60"', "200", "201", "-1", "12.5", "high", '""'],
    ("webp", "lossy"): ["60"],
    ("gif", "loop"): ["forever", "once", "true", "false", "yes", "no", "on", "off", "Once", "FOREVER",
                      '" once "', "maybe", '""', "", "1", "0"],
    ("gif", "height"): ["720"],
    ("gif", "quality"): ["75"],
    ("gif", "at"): ["5", "title"],
    ("gif", "every"): ["5"],
    ("webp", "quality"): ["lossless", "Lossless", '" LOSSLESS "', "0", "100", '"100"', "101", '"101"',
                          "75", '"075"', "-1", "7.5", "best", ""],
    ("webp", "fps"): ["50", "51"],
    ("webp", "loop"): ["once", "never"],
    ("webp", "at"): ["12.5", "title", "Title", "1:02", '"title"', "-1", "end", ""],
    ("webp", "every"): ["5", "0", "-1"],
    ("webp", "colors"): ["16"],
    ("poster", "at"): ["0", "12.5", '"12.5"', "title", "TITLE", '" title "', "titles", "1:02:03",
                       "86401", "-1", "soon", "", '""'],
    ("poster", "width"): ["320", "321"],
    ("poster", "fps"): ["15"],
    ("poster", "every"): ["5"],
    ("sprites", "every"): _POSITIVE_TIMES,
    ("sprites", "at"): ["5"],
    ("sprites", "width"): ["160", "162", "159"],
    ("style", "background"): ["navy", '"#ffffff"', "bg.png", "2024", "http://x/bg.png", "data:x",
                              '" "', '""', ""],
    ("style", "color"): ["navy", '"#ff0000"', "2024", '" "', '""', ""],
    ("style", "font"): ["fonts/a.ttf", "2024", "", "null", "http://x/a.ttf", '" "', '""'],
    ("title", "title"): ["Hello", "2024", "yes", "3.5", '""', '" "', ""],
    ("title", "subtitle"): ["Hi", "2024", "no", '""', '" "', ""],
    ("title", "duration"): _POSITIVE_TIMES,
    ("title", "chapter"): _SWITCHES,
    ("top", "chapters"): _SWITCHES,
    ("audio", "from"): _TIMES,
    ("clip", "clip"): _PATHS,
    ("clip", "start"): _TIMES,
    ("clip", "fade_in"): _TIMES,
    ("clip", "duration"): _POSITIVE_TIMES,
    ("clip", "speed"): _SPEEDS,
    ("clip", "audio"): ["none", "None", "NONE", '" none "', "", "null", "voice.wav", "2024",
                        "http://x/v.wav", '" "', '""'],
    ("clip", "chapter"): ["Intro", "2024", "off", '" "', '""', ""],
    ("clip", "captions"): ["a.srt", "2024", "ftp://x/a.srt", '" "', ""],
    ("clip", "pauses"): _PAUSE_ACTIONS,
    ("pauses", "action"): _PAUSE_ACTIONS,
    ("pauses", "threshold"): [
        "auto", "Auto", "AUTO", "aUtO", '" auto "', "automatic", "-40", '"-40"', "-40 dB", "-40dB",
        "-40 DB", "-40 db", "-40 dBFS", "-40dbfs", "-40 DBFS", '"-40 dBfS"', "-40 dBdBFS",
        "-40 dbFSdB", "-40 LUFS", "-40 dB dB", "0", '"0"', '"-0"', '"+0 dB"', '"0."', "-90", '"-90"',
        "-90.5", '"-90.5"', '"-90.0"', "-91", '"-91"', "5", '"5"', '"0.1"', '"-.5"', "dB", "loud", ""],
    ("pauses", "min_length"): ["1", "0.1", '"0.1"', '"0.10"', "0.09", '"0.09"', '"0.099"', "0", '"0"',
                               "3600", '"3600"', '"3600.0"', '"3600.01"', "3601", '"1:00:00"',
                               '"1:00:00.01"', '"60:00"', '"59:59.99"', '"60:00.5"', '"0:00.1"',
                               '"0:00.09"', "-1", "soon"],
    ("pauses", "margin"): ["0", '"0"', "0.25", "60", '"60"', '"60.0"', "60.01", '"60.01"', '"1:00"',
                           '"1:00.0"', '"1:00.5"', '"0:59.5"', '"00:01:00"', '"0:01:00.01"', "61",
                           "-1", '"-0"'],
    ("pauses", "screen"): ["still", "any", '" still "', '"any "', "Still", "ANY", "moving", '""'],
    ("crop", "x"): ["0", '"0"', '"-0"', "-1", '"-1"', '"+5"', "5", '" 5 "', '"005"', '"1_000"',
                    '"1__0"', '"_1"', "5.5", "abc", ""],
    ("crop", "width"): ["0", '"0"', '"-0"', '"00"', '"0_0"', "1", '"1"', '"+1"', '"01"', '"0_1"',
                        '"1_000"', "-1", "abc", "8", ""],
    ("clip", "zoom"): ["[{at: 1, to: full}]", "[{at: 1, to: FULL}, {at: 3, to: full, ease: 1}]",
                       '[{at: 1, to: " Full "}]', "[{at: 1, to: fulll}]", "[{at: 1, to: 2024}]",
                       "[{at: 1}]", "[{to: full}]", "[{at: 1, to: full, speed: 2}]", "[]", "full",
                       "[{at: 1, to: {x: 0, y: 0, width: 8, height: 8}}]",
                       "[{at: 1, to: {x: 0, y: 0, width: 8}}]", "[{at: 1, to: {x: 0, y: 0, width: 0, height: 8}}]",
                       "[{at: 1, to: [0, 0, 8, 8]}]", "[full]", "", "null", "follow", "FOLLOW",
                       '" Follow "', "follows", "{follow: activity}", "{follow: Activity, max: 2.5}",
                       "{follow: typing}", "{max: 2}", "{follow: activity, max: 0.5}",
                       "{follow: activity, max: 8}", '{follow: activity, max: "8.01"}',
                       "{follow: activity, hold: 0.4}", '{follow: activity, hold: "1:00"}',
                       "{follow: activity, hold: 61}", "{follow: activity, margin: 0.5}",
                       "{follow: activity, margin: 0.6}", "{follow: activity, margin: -0}",
                       "{follow: activity, speed: 2}"],
    ("zoom", "at"): _TIMES,
    ("zoom", "ease"): _POSITIVE_TIMES,
    ("zoom", "to"): ["full", "Full", '" full "', '"full"', "fully", '""', "", "1",
                     "{x: 0, y: 0, width: 8, height: 8}", '{x: "1", y: 0, width: "8", height: 8}',
                     "{x: 0, y: 0, width: 8}", "{x: -1, y: 0, width: 8, height: 8}",
                     "{x: 0, y: 0, width: 8, height: 8, depth: 1}"],
}

_CROP = {"x": "0", "y": "0", "width": "8", "height": "8"}
_MOVE = {"at": "1", "to": "full", "ease": "0.5"}


def _case_text(place: str, key: str, value: str) -> str:
    if key == place:  # the segment's own key: `- title: VALUE`, `- clip: VALUE`
        return f"segments:\n  - {key}: {value}\n"
    if place == "crop":
        crop = "\n      ".join(f"{k}: {value if k == key else v}" for k, v in _CROP.items())
        return _PLACES[place].format(crop=crop)
    if place == "zoom":
        move = "\n        ".join(f"{k}: {value if k == key else v}" for k, v in _MOVE.items())
        return _PLACES[place].format(move=move)
    return _PLACES[place].format(key=key, value=value)


_AGREEMENT = [pytest.param(place, key, value, id=f"{place}.{key}={value}")
              for (place, key), values in CASES.items() for value in values]


@pytest.mark.parametrize("place, key, value", _AGREEMENT)
def test_schema_and_reader_agree_on_each_value(place, key, value, tmp_path):
    text = _case_text(place, key, value)
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    problems = read_recipe(path)[1]
    typed = yaml.load(text, Loader=yaml.SafeLoader)
    loaders = [("yaml1.1-typed", typed)]
    # All strings, as a tool that types nothing sees the recipe; not for a null, which such a
    # tool cannot tell from "" (the reader can: `subtitle:` is no subtitle, `subtitle: ""` none).
    if yaml.compose(text, Loader=yaml.SafeLoader) is not None and "null" not in repr(
            [n.tag for n in _scalar_nodes(yaml.compose(text, Loader=yaml.SafeLoader))]):
        loaders.append(("all-strings", yaml.load(text, Loader=yaml.BaseLoader)))
    for how, data in loaders:
        errors = [e.message for e in _validator().iter_errors(data)]
        assert (errors == []) == (problems == []), (
            f"{how}: {value!r} at {place}.{key}: reader says {[p.message for p in problems]}, "
            f"schema says {errors}")


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return validator()


def _scalar_nodes(node):
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield from _scalar_nodes(k)
            yield from _scalar_nodes(v)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            yield from _scalar_nodes(v)


# The ranges as regexes, against Decimal and parse_time themselves, on many spellings.
_DIGITS = st.text("0123456789", max_size=5)
_NUMBER_TEXTS = st.builds(lambda sign, zeros, whole, point, frac: sign + zeros + whole + point + frac,
                          st.sampled_from(["", "+", "-"]), st.sampled_from(["", "0", "00"]), _DIGITS,
                          st.sampled_from(["", "."]), _DIGITS)
_RANGES = [_recipe.SPEED_RANGE, _recipe.LOUDNESS_RANGE, _recipe.PAUSE_SPEED_RANGE, _recipe.THRESHOLD_RANGE,
           (Fraction(0), Fraction(60)), (Fraction(-1, 10), Fraction(0)), (Fraction(0), Fraction(0))]


@settings(max_examples=300, deadline=None)
@given(_NUMBER_TEXTS)
def test_a_range_as_a_regex_is_the_range_decimal_reads(text):
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    for low, high in _RANGES:
        inside = number is not None and low <= number <= high
        assert bool(re.fullmatch(_schema._decimal(low, high), text)) == inside, (text, low, high)


_TIME_TEXTS = st.one_of(
    _NUMBER_TEXTS,
    st.builds(lambda *parts: ":".join(parts), _DIGITS, _NUMBER_TEXTS),
    st.builds(lambda *parts: ":".join(parts), _DIGITS, _DIGITS, _NUMBER_TEXTS),
    st.sampled_from(["86400", "1440:00", "24:00:00", "24:00:00.0", "23:59:59.999", "1:00:00", "60:00",
                     "3600", "3600.0001", "0:00.1", "0.0999", "59:59.9", "60.0", "0:60"]),
)


@settings(max_examples=300, deadline=None)
@given(_TIME_TEXTS)
def test_a_time_range_as_a_regex_is_the_range_parse_time_reads(text):
    try:
        seconds = parse_time(text)
    except TimecodeError:
        seconds = None
    for low, high, positive in [(Fraction(0), _recipe.MAX_SECONDS, False),
                                (Fraction(0), _recipe.MAX_SECONDS, True),
                                (*_recipe.MIN_LENGTH_RANGE, False), (*_recipe.MARGIN_RANGE, False)]:
        inside = seconds is not None and (seconds > low if positive else seconds >= low) and seconds <= high
        pattern = _schema._time(low, high, positive)["anyOf"][1]["pattern"]
        assert bool(re.search(pattern, text)) == inside, (text, low, high, positive)
