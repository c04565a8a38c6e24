"""Editing a recipe's text in place, for ``castkit serve``: a value set, a key added or removed,
a segment moved, and every other byte of the file as the author wrote it (comments, key order,
quoting, blank lines). Edits are spliced into the text where PyYAML's composer says each node
is, so nothing is re-serialised; the result is checked by the recipe reader like any recipe.

What cannot be edited this way is refused with a sentence saying why (a value that comes from
an anchor, a flow-style list of segments to reorder), never done approximately.
"""

from __future__ import annotations

import json
from fractions import Fraction

import yaml

BOM = "\ufeff"


class EditError(ValueError):
    """An edit that cannot be made to this text as it is written."""


def scalar(value: object) -> str:
    """``value`` as YAML text: numbers plain (at most millisecond digits for times), text
    double-quoted (JSON's quoting is valid YAML), null as ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Fraction, float)):
        number = Fraction(value).limit_denominator(10**6) if isinstance(value, float) else Fraction(value)
        if number.denominator == 1:
            return str(number.numerator)
        text = f"{float(number):.6f}".rstrip("0").rstrip(".")
        return text
    if isinstance(value, str):
        # JSON leaves NEL (U+0085) as it is, which YAML reads as a line break (folded into a
        # space): escaped the way YAML's double quotes spell it. (LS and PS read back as they are.)
        return json.dumps(value, ensure_ascii=False).replace("\u0085", "\\N")
    raise EditError(f"cannot write {type(value).__name__} into a recipe")


def _compose(text: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise EditError(f"the recipe is not valid YAML ({exc})") from None
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the recipe is not a mapping of keys")
    return root


def _segments(root: yaml.MappingNode) -> yaml.SequenceNode:
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "segments":
            if isinstance(value, yaml.SequenceNode):
                return value
    raise EditError("the recipe has no list of segments")


def _uses(root: yaml.Node, node: yaml.Node) -> int:
    """How many times ``node`` appears in the document (more than once: an anchor's, aliased)."""
    count, stack, seen = 0, [root], set()
    while stack:
        current = stack.pop()
        count += current is node
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                stack += (k, v)
        elif isinstance(current, yaml.SequenceNode):
            stack += current.value
    return count


def _segment(text: str, index: int) -> tuple[yaml.Node, yaml.MappingNode]:
    """The document and its segment ``index`` (counted from 1, as castkit's messages do)."""
    root = _compose(text)
    items = _segments(root).value
    if not 1 <= index <= len(items):
        raise EditError(f"there is no segment {index} (the recipe has {len(items)})")
    node = items[index - 1]
    if not isinstance(node, yaml.MappingNode):
        raise EditError(f"segment {index} is not a mapping of keys")
    if _uses(root, node) > 1:  # `- *name`: one segment written twice
        raise EditError(f"segment {index} is an alias of another; edit it in the recipe itself")
    return root, node


def _newline(text: str) -> str:
    """The text's own line ending (a file written on Windows keeps its CRLF)."""
    return "\r\n" if "\r\n" in text else "\n"


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _after(text: str, offset: int) -> int:
    """Where the lines of something that ends at ``offset`` end: that line's start when only
    indentation precedes ``offset`` on it (a block collection ends where the next token
    begins), else the start of the next line (a scalar's line, its comment included)."""
    start = _line_start(text, offset)
    return start if not text[start:offset].strip(" \t") else _next_line(text, offset)


def _next_line(text: str, offset: int) -> int:
    """The offset of the line after the one ``offset`` is on (the text's end if none)."""
    end = text.find("\n", offset)
    return len(text) if end < 0 else end + 1


def _own(node: yaml.Node, mapping: yaml.MappingNode) -> bool:
    """Whether ``node`` is written inside ``mapping`` (not an anchor's, elsewhere)."""
    return mapping.start_mark.index <= node.start_mark.index < mapping.end_mark.index


def _pairs(node: yaml.MappingNode) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    return [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value != "<<"]


def set_keys(text: str, index: int, changes: dict[str, object]) -> str:
    """The recipe ``text`` with segment ``index``'s keys set to ``changes`` (a value of None
    removes the key), one at a time, each spliced where it is written."""
    for key, value in changes.items():
        text = _set_key(text, index, key, value)
    return text


def _set_key(text: str, index: int, key: str, value: object) -> str:
    body, bom = (text[1:], BOM) if text.startswith(BOM) else (text, "")
    root, node = _segment(body, index)
    pairs = [(k, v) for k, v in _pairs(node) if k.value == key]
    if pairs:
        k, v = pairs[-1]
        if not _own(k, node) or v.start_mark.index < k.end_mark.index or _uses(root, v) > 1:
            raise EditError(f"segment {index}'s {key!r} comes from an anchor or alias; edit it "
                            "in the recipe itself")
        if value is None:
            return bom + _remove_pair(body, node, k, v, index)
        if not isinstance(v, yaml.ScalarNode):
            raise EditError(f"segment {index}'s {key!r} is not a single value")
        start, end, new = v.start_mark.index, v.end_mark.index, scalar(value)
        if v.style in ("|", ">"):  # a block of lines: it ends after its last line break
            new += _newline(body)
        elif start == end and body[start - 1:start] == ":":  # `key:` with no value
            new = " " + new
        return bom + body[:start] + new + body[end:]
    if value is None:
        return text
    return bom + _add_pair(body, node, key, scalar(value), index)


def _add_pair(text: str, node: yaml.MappingNode, key: str, value: str, index: int) -> str:
    own = [(k, v) for k, v in _pairs(node) if _own(k, node)]
    if node.flow_style:
        if not own:
            raise EditError(f"segment {index} has no key of its own to add {key!r} beside")
        at = own[-1][1].end_mark.index  # right after the last value: before a comma, a comment
        return text[:at] + f", {key}: {value}" + text[at:]
    if not own:
        raise EditError(f"segment {index} has no key of its own to add {key!r} beside")
    first, last = own[0], own[-1]
    indent = " " * first[0].start_mark.column
    at = _after(text, last[1].end_mark.index)
    newline = _newline(text)
    line = f"{indent}{key}: {value}{newline}"
    if at == len(text) and text and not text.endswith("\n"):
        line = newline + line
    return text[:at] + line + text[at:]


def _remove_pair(text: str, node: yaml.MappingNode, k: yaml.Node, v: yaml.Node, index: int) -> str:
    if node.flow_style:
        raise EditError(f"segment {index} is written on one line; remove {k.value!r} by hand")
    start = _line_start(text, k.start_mark.index)
    if text[start:k.start_mark.index].strip(" ") not in ("", "-"):
        raise EditError(f"segment {index}'s {k.value!r} shares its line; remove it by hand")
    if text[start:k.start_mark.index].strip(" ") == "-":
        raise EditError(f"{k.value!r} is segment {index}'s first key; remove it by hand")
    return text[:start] + text[_after(text, v.end_mark.index):]


def _comments_above(body: str, start: int) -> int:
    """``start`` (a line's) moved up over the comment lines right above it."""
    while start > 0:
        above = body.rfind("\n", 0, start - 1) + 1
        if not body[above:start].strip().startswith("#"):
            break
        start = above
    return start


def move_segment(text: str, source: int, target: int) -> str:
    """The recipe ``text`` with segment ``source`` moved to position ``target`` (both counted
    from 1), each segment's lines carried whole."""
    body, bom = (text[1:], BOM) if text.startswith(BOM) else (text, "")
    sequence = _segments(_compose(body))
    items = sequence.value
    count = len(items)
    if not (1 <= source <= count and 1 <= target <= count):
        raise EditError(f"segments are numbered 1 to {count}")
    if source == target:
        return text
    if sequence.flow_style:
        raise EditError("the segments are written as one flow list; reorder them by hand")
    if len({id(item) for item in items}) < count:
        raise EditError("a segment is an alias of another (`- *name`); reorder them by hand")
    starts = [_line_start(body, item.start_mark.index) for item in items]
    if starts != sorted(set(starts)):
        raise EditError("the segments are not written one after the other; reorder them by hand")
    for item, start in zip(items, starts):
        if body[start:item.start_mark.index].strip(" ") != "-":
            raise EditError("a segment shares its line with another; reorder them by hand")
    stop = _after(body, sequence.end_mark.index)
    # Each segment's lines: from the comments right above its "- " line (they say what it is)
    # to the next one's (the last to the list's end).
    starts = [_comments_above(body, start) for start in starts]
    blocks = [body[a:b] for a, b in zip(starts, [*starts[1:], stop])]
    if not blocks[-1].endswith("\n"):
        blocks[-1] += _newline(body)
    order = list(range(count))
    order.insert(target - 1, order.pop(source - 1))
    moved = "".join(blocks[i] for i in order)
    if stop == len(body) and not body.endswith("\n"):
        moved = moved[:-len(_newline(body))]
    return bom + body[:starts[0]] + moved + body[stop:]
