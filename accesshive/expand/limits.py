"""The limits of a render in the sandbox (``expand/sandbox.py``): how large a text, list or
number it may make, how many numbers a ``range`` may have, how long it may run; and the
measuring of a value against them.

Why a module of its own: every part of the sandbox checks against the same limits (the
operators and methods, ``expand/size_checks.py``; the filters,
``expand/bounded_filters.py``; the rewritten template, ``expand/rewrite.py``), and the
rendering (``expand/templates.py``) too. They read the limits as ``limits.MAX_...`` at
the time of the check, so there is one place to hold (and, in tests, to change) them.
"""

from __future__ import annotations

import math
import time
from collections.abc import ItemsView, KeysView, ValuesView
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import Namespace
from markupsafe import Markup

from accesshive.expand.template_errors import TemplateRefused

MAX_LENGTH = 1_000_000
"""Characters of any text a render makes or writes; a list or mapping counts those of
its items (and one for each item)."""
MAX_DIGITS = 4_300
"""Digits of any number a render makes (what Python converts to text at most)."""
MAX_RANGE = 100_000
"""Numbers of a ``range`` (jinja's own sandbox limit)."""
MAX_SECONDS = 1.0
"""How long one render may run."""

_BITS_PER_DIGIT = math.log2(10)


def over_limit(reason: str) -> TemplateRefused:
    """What a render that went past one of the limits above raises."""
    return TemplateRefused("limit", reason)


def too_long(size: int, what: str = "a text") -> TemplateRefused:
    return over_limit(f"would make {what} of {size:,} characters; the limit is {MAX_LENGTH:,}")


def _too_large(what: str) -> TemplateRefused:
    return over_limit(f"would make {what} of more than {MAX_LENGTH:,} characters, the limit")


def too_many_digits(bits: int) -> TemplateRefused:
    digits = int(bits / _BITS_PER_DIGIT) + 1
    return over_limit(
        f"would make a number of about {digits:,} digits; the limit is {MAX_DIGITS:,}"
    )


def max_bits() -> int:
    return math.floor(MAX_DIGITS * _BITS_PER_DIGIT)


# --------------------------------------------------------------------------- measuring


def weight(value: Any, limit: int | None = None) -> int:
    """About how many characters ``str(value)`` takes: a text its length, a list or
    mapping its items' (each counted wherever it appears, as ``str`` writes it), one
    more for each item. Counting stops once past ``limit`` (default ``MAX_LENGTH``),
    so the cost is bounded whatever the value: a list of a list of a list... that
    shares its items is counted as long as it would be written."""
    limit = MAX_LENGTH if limit is None else limit
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif type(item) is int:
            total += item.bit_length() * 77 // 256 + 1  # log10(2) ≈ 77/256
        elif isinstance(item, (list, tuple, set, frozenset, KeysView, ValuesView)):
            total += len(item) + 2  # each item is paid for before it is looked at
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, (dict, ItemsView)):
            pairs = item.items() if isinstance(item, dict) else item
            total += 2 * len(pairs) + 2
            if total <= limit:
                for key, inner in pairs:
                    stack.append(key)
                    stack.append(inner)
        elif isinstance(item, Namespace):
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        else:
            total += 1
        if total > limit:
            break
    return total


def sized(value: Any) -> Any:
    """``value``, if it is within the limits; raises ``TemplateRefused`` if not."""
    kind = type(value)
    if kind is str or kind is bytes or kind is Markup:
        if len(value) > MAX_LENGTH:
            raise too_long(len(value))
    elif kind is int:
        bits = value.bit_length()
        if bits > max_bits():
            raise too_many_digits(bits)
    elif (
        isinstance(value, (list, tuple, set, frozenset, dict, Namespace))
        and weight(value) > MAX_LENGTH
    ):
        raise _too_large(_what(value))
    return value


def _what(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a value"


def in_time(context: Context) -> None:
    if time.monotonic() > context.deadline:  # type: ignore[attr-defined]
        raise out_of_time()


def out_of_time() -> TemplateRefused:
    seconds = f"{MAX_SECONDS:g} second{'' if MAX_SECONDS == 1 else 's'}"
    return TemplateRefused("limit", f"ran longer than {seconds}, the time limit", timed_out=True)
