"""Timecodes: the one place that knows how a time is written and read.

Times are kept as exact ``Fraction`` seconds so that ``round(seconds * fps)`` gives the same
frame count a person computes by hand (83.5 s at 25 fps is exactly 2087.5, never 2087.4999).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from castkit.errors import echo


_CLOCK = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)$")
_SECONDS = re.compile(r"^\d+(?:\.\d+)?$")


class TimecodeError(ValueError):
    """A time that cannot be read; the message says what forms are accepted."""


FORMS = "seconds (83.5), MM:SS(.fff) or HH:MM:SS(.fff)"

# Far beyond any time castkit takes (a day is 5 digits of seconds), and short enough that no
# conversion meets Python's limit on the digits of an int (4300): `start: 1111...` 5000 digits
# long is a time nobody means, said so in one line.
MAX_TIME_CHARS = 32
MAX_WHOLE_SECONDS = 10**15


def parse_time(value: object) -> Fraction:
    """Read seconds from a YAML/CLI value: a number, or a string in one of ``FORMS``."""
    if isinstance(value, bool) or value is None:
        raise TimecodeError(f"expected a time: {FORMS}")
    if isinstance(value, int):
        if value < 0:
            raise TimecodeError("a time cannot be negative")
        if value > MAX_WHOLE_SECONDS:
            raise TimecodeError("cannot read a number that large as a time")
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TimecodeError("a time must be a finite number")
        if value < 0:
            raise TimecodeError("a time cannot be negative")
        # repr() is the shortest decimal that reads back as this float: what the user typed.
        return Fraction(Decimal(repr(value)))
    if not isinstance(value, str):
        raise TimecodeError(f"expected a time: {FORMS}")
    text = value.strip()
    if len(text) > MAX_TIME_CHARS:
        raise TimecodeError(
            f"cannot read a time of {len(text)} characters: use {FORMS}")
    if text.startswith("-"):
        raise TimecodeError("a time cannot be negative")
    if _SECONDS.match(text):
        return _decimal(text)
    clock = _CLOCK.match(text)
    if not clock:
        raise TimecodeError(f"cannot read {echo(value)} as a time: use {FORMS}")
    hours = int(clock["h"] or 0)
    minutes = int(clock["m"])
    seconds = _decimal(clock["s"])
    if clock["h"] is not None and minutes >= 60:
        raise TimecodeError(f"cannot read {echo(value)}: minutes must be below 60 in HH:MM:SS")
    if seconds >= 60:
        raise TimecodeError(f"cannot read {echo(value)}: seconds must be below 60 in MM:SS")
    return hours * 3600 + minutes * 60 + seconds


def _decimal(text: str) -> Fraction:
    try:
        return Fraction(Decimal(text))
    except InvalidOperation as exc:  # pragma: no cover - the regexes admit only digits
        raise TimecodeError(f"cannot read {echo(text)} as a time") from exc


def format_time(seconds: Fraction | float) -> str:
    """``83.5`` -> ``1:23.50``; ``3725`` -> ``1:02:05.00``: how castkit shows a time."""
    hundredths = round(Fraction(seconds) * 100)
    sign = "-" if hundredths < 0 else ""
    hundredths = abs(hundredths)
    whole, frac = divmod(hundredths, 100)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}.{frac:02d}"
    return f"{sign}{minutes}:{secs:02d}.{frac:02d}"
