"""Editing a recipe's text in place (``castkit serve``): only the edited value changes; what
cannot be edited exactly is refused."""

from __future__ import annotations

from fractions import Fraction

import pytest
import yaml

from castkit.recipe.edit import EditError, move_segment, scalar, set_keys

TEXT = """\
# my cast
target: pal-dv
segments:
  - title: "Hello"   # the intro
    duration: 3

  - clip: a.ogv
    start: 1.5  # trim
    crop:
      x: 0
      y: 0
      width: 10
      height: 10
  - {clip: b.ogv, start: 2}
  - &shared
    title: 'Bye'
outputs: [x.dv]
"""


def test_a_value_is_replaced_where_it_is_written():
    assert set_keys(TEXT, 2, {"start": Fraction(9, 4)}) == TEXT.replace("start: 1.5  # trim", "start: 2.25  # trim")


def test_a_key_goes_after_the_segments_last_lines():
    """After a nested mapping, at the segment's own indentation."""
    assert set_keys(TEXT, 2, {"end": 7}) == TEXT.replace("      height: 10\n", "      height: 10\n    end: 7\n")


def test_a_one_line_segment_takes_its_key_in_line():
    assert set_keys(TEXT, 3, {"end": 4}) == TEXT.replace("{clip: b.ogv, start: 2}", "{clip: b.ogv, start: 2, end: 4}")


def test_text_is_quoted_and_a_key_removed_with_its_line():
    new = set_keys(TEXT, 1, {"title": 'Say "hi" ü', "duration": None})
    assert new == TEXT.replace('"Hello"', '"Say \\"hi\\" ü"').replace("    duration: 3\n", "")
    assert yaml.safe_load(new)["segments"][0] == {"title": 'Say "hi" ü'}


def test_a_byte_order_mark_is_kept():
    assert set_keys("\ufeff" + TEXT, 2, {"start": 2}) == "\ufeff" + TEXT.replace("start: 1.5", "start: 2")


def test_a_value_from_an_anchor_is_refused():
    text = TEXT.replace("    title: 'Bye'\n", "    title: &t 'Bye'\n  - title: *t\n")
    with pytest.raises(EditError, match="anchor"):
        set_keys(text, 5, {"title": "x"})


@pytest.mark.parametrize("text, changes, expected", [
    ("segments:\r\n  - clip: a.ogv\r\n    start: 1\r\n", {"end": 4},
     "segments:\r\n  - clip: a.ogv\r\n    start: 1\r\n    end: 4\r\n"),
    ("segments:\n  - title: |\n      Hello\n      World\n    duration: 3\n", {"title": "X"},
     'segments:\n  - title: "X"\n    duration: 3\n'),
    ("segments:\n  - clip: a.ogv\n    start:\n    end: 3\n", {"start": 2},
     "segments:\n  - clip: a.ogv\n    start: 2\n    end: 3\n"),
    ("segments:\n  - {clip: a.ogv,\n     start: 2  # c\n    }\n", {"end": 4},
     "segments:\n  - {clip: a.ogv,\n     start: 2, end: 4  # c\n    }\n"),
    ("segments:\n  - {clip: a.ogv, start: 2,}\n", {"end": 4}, "segments:\n  - {clip: a.ogv, start: 2, end: 4,}\n"),
])
def test_line_endings_block_text_empty_values_and_flow_mappings(text, changes, expected):
    assert set_keys(text, 1, changes) == expected
    assert yaml.safe_load(expected)


@pytest.mark.parametrize("text, index", [("segments:\n  - &s {title: A}\n  - clip: a\n  - *s\n", 3),
                                         ("segments:\n  - &s {title: A}\n  - clip: a\n  - *s\n", 1),
                                         ("segments:\n  - title: &t Bye\n  - title: *t\n", 1)])
def test_what_an_alias_shares_is_not_edited_through_one_of_its_uses(text, index):
    with pytest.raises(EditError, match="alias|anchor"):
        set_keys(text, index, {"title": "B"})
    with pytest.raises(EditError, match="alias"):
        move_segment("segments:\n  - title: T\n  - &s {title: A}\n  - *s\n", 3, 1)


def test_segments_move_with_their_lines():
    head, title, clip, flow, last = ("# my cast\ntarget: pal-dv\nsegments:\n",
                                     TEXT.split("  - ")[1], TEXT.split("  - ")[2], TEXT.split("  - ")[3],
                                     TEXT.split("  - ")[4].split("outputs:")[0])
    moved = move_segment(TEXT, 1, 4)
    assert moved == head + "  - " + clip + "  - " + flow + "  - " + last + "  - " + title + "outputs: [x.dv]\n"
    assert move_segment(moved, 4, 1) == TEXT


def test_a_comment_above_a_segment_moves_with_it():
    """Seen before the fix: the comment above segment 2 moved with segment 1, to the end."""
    text = ("output: x.dv\nsegments:\n  # the intro\n  - title: A\n    duration: 1\n\n"
            "  # first part\n  - clip: a.ogv\n  - title: B  # end\n")
    assert move_segment(text, 1, 3) == ("output: x.dv\nsegments:\n  # first part\n  - clip: a.ogv\n"
                                        "  - title: B  # end\n  # the intro\n  - title: A\n    duration: 1\n\n")
    assert move_segment(move_segment(text, 1, 3), 3, 1) == text


@pytest.mark.parametrize("call", [lambda: set_keys(TEXT, 9, {"start": 1}), lambda: move_segment(TEXT, 0, 2),
                                  lambda: move_segment("segments: [{title: a}, {title: b}]\n", 1, 2),
                                  lambda: set_keys("segments: [\n", 1, {"title": "x"})])
def test_what_cannot_be_done_says_so(call):
    with pytest.raises(EditError):
        call()


@pytest.mark.parametrize("value, text", [(Fraction(1, 3), "0.333333"), (2.5, "2.5"), (3, "3"),
                                         ("a\nb", '"a\\nb"'), (None, "null"), (True, "true"),
                                         ("C\u0085D", '"C\\ND"'), ("a\u2028b", '"a\u2028b"')])
def test_scalars(value, text):
    assert scalar(value) == text
    if isinstance(value, str):
        assert yaml.safe_load(text) == value  # read back as written
