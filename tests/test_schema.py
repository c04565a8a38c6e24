"""`castkit schema`: a JSON Schema that knows every key the reader knows and accepts what the
reader accepts, checked with the jsonschema package (not castkit's own reader)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from castkit import _recipe
from castkit._recipe import read_recipe
from castkit._schema import recipe_schema, undescribed

REPO = Path(__file__).resolve().parent.parent
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
    assert tuple(defs["title_segment"]["properties"]) == _recipe.TITLE_KEYS
    assert tuple(defs["clip_segment"]["properties"]) == _recipe.CLIP_KEYS
    # A key added to the reader without a line in _schema._KEYS says so here.
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
