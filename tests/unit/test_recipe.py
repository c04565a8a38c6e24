"""Recipes: reading, every mistake at its line:col, all at once, and nothing encoded."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path

import pytest

from castkit.recipe.model import ClipSegment, TitleSegment
from castkit.recipe.reader import load_recipe
from castkit.media.dv import DvTarget
from castkit.errors import InputError, RecipeError
from helpers import listing


def write(folder: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return [f"{p.line}:{p.column}: {p.message}" for p in info.value.problems]


def test_design_example_reads_into_dataclasses(tmp_path):
    path = write(tmp_path, """
        # recipes/demo.yaml
        target: pal-dv
        aspect: 16:9
        output: build/demo.avi
        title_style:
          background: "#1b2838"
          color: white
          font: null
        segments:
          - title: "Installing the Parallel Debugger"
            subtitle: "Part 1: the license server"
            duration: 5
          - clip: captures/screencast.ogg
            start: 5
            end: 1:20.5
          - clip: captures/second-take.ogv
            duration: "01:00:02"
          - title: Thanks for watching
            duration: 3
            background: navy
    """)
    recipe = load_recipe(path)
    assert recipe.target == DvTarget("pal", "16:9")
    assert recipe.output == tmp_path / "build" / "demo.avi"
    one, two, three, four = recipe.segments
    assert isinstance(one, TitleSegment) and one.duration == 5 and one.subtitle.startswith("Part 1")
    assert one.style.background == "#1b2838" and one.style.color == "white"
    assert isinstance(two, ClipSegment)
    assert two.clip == tmp_path / "captures" / "screencast.ogg"
    assert (two.start, two.end, two.duration) == (5, Fraction(161, 2), None)
    assert three.duration == 3602 and three.start == 0
    assert four.style.background == "navy" and four.style.color == "white"
    assert four.where.line == 18


def test_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path, """
        segments:
          - title: Hello
    """, name="my cast.yaml"))
    assert recipe.target == DvTarget("pal", "4:3")
    assert recipe.output == tmp_path / "build" / "my cast.dv"
    assert recipe.segments[0].duration == 4


def test_four_mistakes_reported_together_with_lines(tmp_path):
    path = write(tmp_path, """
        target: pal-dv
        segments:
          - title: Hello
            duraton: 5
          - clip: a.ogv
            start: 10
            end: 5
          - clip: b.ogv
            end: 3
            duration: 2
          - title: Bye
            clip: c.ogv
    """)
    assert problems(path) == [
        "4:5: segment 1 (title): unknown key 'duraton'; did you mean 'duration'?",
        "7:10: segment 2: end (0:05.00) must come after start (0:10.00)",
        "10:5: segment 3: give 'end' or 'duration', not both",
        "11:5: segment 4 has both 'title:' and 'clip:'; make them two segments",
    ]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("segments: [\n", "2:1: YAML syntax"),
        ("segments:\n  - title: ok\n  - title: \"a\x07b\"\n", "3:14: YAML does not allow the control character #x07"),
        ("segments:\n  - title: \"a\x00b\"\n", "2:14: YAML does not allow the control character #x00"),
        ("target: secam\nsegments:\n  - title: x\n", "1:9: target: 'secam' is not one of pal-dv, ntsc-dv"),
        ("aspect: 3:2\nsegments:\n  - title: x\n", "1:9: aspect: '3:2' is not one of '4:3', '16:9'"),
        ("segments:\n  - title: x\n    duration: -2\n", "3:15: segment 1: duration: a time cannot be negative"),
        ("segments:\n  - title: x\n    duration: 0\n", "3:15: segment 1: duration must be more than zero"),
        ("segments:\n  - title: x\n    duration: soon\n", "3:15: segment 1: duration: cannot read 'soon' as a time"),
        ("segments:\n  - title: [a, b]\n", "2:12: segment 1: title must be a single value, not a list"),
        ("segments:\n  - title: ''\n", "2:12: segment 1: title cannot be empty"),
        ("segments:\n  - subtitle: x\n", "2:5: segment 1 needs 'title:' (a title card) or 'clip:' (a capture)"),
        ("segments:\n  - just text\n", "2:5: segment 1 must be a mapping"),
        ("segments: {}\n", "1:11: segments must be a list"),
        ("segments: []\n", "1:11: segments is empty"),
        ("target: pal-dv\n", "1:1: the recipe needs 'segments:'"),
        ("output: cast.mov\nsegments:\n  - title: x\n", "1:9: output: 'cast.mov' must end in .dv, .avi, .mp4, .webm"),
        ("segments:\n  - clip: https://example.com/a.ogv\n", "2:11: segment 1: clip: 'https://example.com/a.ogv' is a URL"),
        ("segments:\n  - clip: a.ogv\n    start: 1:75\n", "3:12: segment 1: start: cannot read '1:75': seconds must be below 60"),
        ("colour: red\nsegments:\n  - title: x\n", "1:1: recipe: unknown key 'colour'"),
        ("title_style:\n  colour: red\nsegments:\n  - title: x\n", "2:3: title_style: unknown key 'colour'; did you mean 'color'?"),
        ("segments:\n  - title: x\n    title: y\n", "3:5: segment 1 (title): 'title' is given twice"),
        ("version: 2\nsegments:\n  - title: x\n", "1:10: version: this castkit reads recipe version 1"),
        ("segments:\n  - clip: a.ogv\n    speed: 1e999999999\n", "3:12: segment 1: speed 1e999999999 is outside"),
        ("- title: x\n", "1:1: recipe must be a mapping"),
        ("", "1:1: the recipe is empty"),
    ],
)
def test_each_mistake_names_its_place(tmp_path, text, expected):
    path = write(tmp_path, text)
    found = problems(path)
    assert any(p.startswith(expected) for p in found), found


def test_unquoted_aspect_and_timecodes_are_read_as_written(tmp_path):
    """YAML 1.1 reads 16:9 as 969 and 1:20.5 as 80.5 (base 60); castkit reads the text."""
    recipe = load_recipe(write(tmp_path, """
        aspect: 16:9
        segments:
          - clip: a.ogv
            start: 1:05
            end: 01:02:03.5
    """))
    assert recipe.target.aspect == "16:9"
    assert recipe.segments[0].start == 65
    assert recipe.segments[0].end == Fraction(7447, 2)


def test_yaml_is_read_safely(tmp_path):
    path = write(tmp_path, """
        segments:
          - title: !!python/object/apply:os.system ["touch pwned"]
    """)
    with pytest.raises(RecipeError):
        load_recipe(path)
    assert not (tmp_path / "pwned").exists()


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("segments:\n  - title: *a11")
    path = write(tmp_path, "\n".join(lines) + "\n")
    found = problems(path)
    assert any("more than" in p for p in found)


def test_merge_keys_share_settings(tmp_path):
    recipe = load_recipe(write(tmp_path, """
        segments:
          - &intro
            title: Part one
            duration: 2
            background: navy
          - <<: *intro
            title: Part two
    """))
    assert [s.title for s in recipe.segments] == ["Part one", "Part two"]
    assert recipe.segments[1].duration == 2 and recipe.segments[1].style.background == "navy"


def test_missing_recipe_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        load_recipe(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value) and info.value.exit_status == 2


def test_cli_reports_four_mistakes_of_text_and_sources_together(tmp_path, cli, wheel_ffmpeg):
    path = write(tmp_path, """
        target: pal-dv
        segments:
          - title: Hello
            duraton: 5
          - clip: missing.ogv
          - clip: notes.ogv
            start: 3
            end: 1
          - title: Bye
            color: notacolour
    """)
    (tmp_path / "notes.ogv").write_text("not a video")
    result = cli("build", path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines[0] == f"castkit: error: {path}:4:5: segment 1 (title): unknown key 'duraton'; did you mean 'duration'?"
    assert lines[1] == f"  {path}:5:11: missing.ogv: no such file"
    assert lines[2] == f"  {path}:8:10: segment 3: end (0:01.00) must come after start (0:03.00)"
    assert lines[3].startswith(f"  {path}:9:5: title style: ") and "notacolour" in lines[3]
    assert len(lines) == 4
    assert "Traceback" not in result.err
    assert listing(tmp_path) == ["notes.ogv", "recipe.yaml"]


@pytest.mark.parametrize("command", [("convert", "take.mp4", "-o"), ("title", "Hi", "-o"), ("build", "r.yaml", "-o"),
                                     ("preview", "r.yaml", "-o")])
def test_a_file_name_that_is_not_utf8_is_refused_in_one_line(command, tmp_path, cli, monkeypatch):
    """A name of bytes that are not UTF-8 (kept by Python as surrogates) ended in "internal
    error: UnicodeEncodeError" (ffmpeg-python hashes every command's text); it is refused as
    usage, naming the file, and nothing is written."""
    monkeypatch.chdir(tmp_path)
    bad = "b\udcffd" + {"title": ".mp4", "convert": ".mp4", "build": ".dv", "preview": ".png"}[command[0]]
    result = cli(*command, bad)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert "not UTF-8" in lines[0] and "b\\udcffd" in lines[0], result.err
    assert list(tmp_path.iterdir()) == []
