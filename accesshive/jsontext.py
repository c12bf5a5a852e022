"""The JSON text of plans and digests: the standard library's exact bytes, written fast.

Why: a plan of 9,000 orders is about 6 MB of pretty-printed JSON, and ``json.dumps`` with
``indent`` runs the standard library's pure-Python encoder (its C encoder does not indent
on Python 3.11): that was 40% of `accesshive plan` on 3,000 LDAP users. orjson writes
the same bytes ten times faster for the values a plan holds: sorted keys, two-space
indent, UTF-8 left as it is, the same escapes. Where its output could differ from
``json.dumps`` (a float: ``1e-07`` is ``1e-7`` there; an integer past 64 bits; a key that
is not a string; a type ``json`` refuses and orjson would write, such as a dataclass or
a datetime) the value is written by ``json`` itself, so the bytes, and the errors, are
always the standard library's: plans and digests are byte-identical to those written
before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
_COMPACT = orjson.OPT_SORT_KEYS
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


def is_plain(value: Any) -> bool:
    """Whether orjson writes ``value`` exactly as ``json.dumps`` does: only dicts with
    string keys, lists, tuples, strings, booleans, None and 64-bit integers (a subclass
    of ``str`` or ``int``, such as a ``StrEnum``, is written by its value by both)."""
    stack = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is str or v is None or t is bool:
            continue
        if t is dict:
            for k, x in v.items():
                if type(k) is not str:
                    return False
                push(x)
        elif t is list or t is tuple:
            extend(v)
        elif t is int:
            if not _INT_MIN <= v <= _INT_MAX:
                return False
        elif isinstance(v, str | int) and not isinstance(v, bool | float):
            continue  # StrEnum, IntEnum: their value, in both
        else:
            return False  # float, and anything json.dumps refuses or writes differently
    return True


def canonical(value: Any, plain: bool | None = None) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: what digests are computed over. ``plain``:
    ``is_plain(value)``, when the caller knows it (a walk of a large value costs)."""
    if is_plain(value) if plain is None else plain:
        try:
            return orjson.dumps(value, option=_COMPACT).decode("utf-8")
        except orjson.JSONEncodeError:  # a lone surrogate, a str-subclass key: json's way
            pass
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pretty(value: Any, plain: bool | None = None) -> str:
    """Sorted keys, two-space indent, UTF-8 kept, a final newline: a plan file."""
    if is_plain(value) if plain is None else plain:
        try:
            return orjson.dumps(value, option=_PRETTY).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
