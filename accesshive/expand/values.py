"""Attribute values: coercing rendered values to a source's declared types, and
normalising them for comparison.

Why here: the declared schema of a source is what lets ``validate`` catch the
classic "wrong data type for a required field" before anything is sent, and
what lets ``diff`` compare without phantom changes (case, list order, boolean
spellings).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from accesshive.config.model import AttributeSpec

_INT = re.compile(r"^[+-]?\d+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The integers every target holds: SQL BIGINT, SCIM and JSON integers as most servers
read them, LDAP INTEGER in practice. A value outside is refused by ``validate`` rather
than left for a target to overflow (or truncate) at apply."""


class ValueProblem(ValueError):
    """A value does not fit its declared type; the message is meant for users."""


def coerce(value: Any, spec: AttributeSpec) -> Any:
    """Return ``value`` as the type ``spec`` declares, or raise ``ValueProblem``."""
    if spec.multi_valued:
        items = value if isinstance(value, list) else [value]
        return [_coerce_one(v, spec) for v in items]
    if isinstance(value, list):
        raise ValueProblem("is a list, but the attribute holds a single value")
    return _coerce_one(value, spec)


def coercer(spec: AttributeSpec) -> Callable[[Any], Any]:
    """``coerce`` for one attribute: the common kinds (strings, emails, integers rendered
    as digits) skip the general dispatch for values that already fit; anything else,
    and every problem, goes through ``coerce``."""
    if spec.multi_valued:
        return lambda value: coerce(value, spec)
    limit = spec.max_length
    if spec.type == "string" and limit is None:
        return lambda value: value if type(value) is str else coerce(value, spec)
    if spec.type == "string" and limit is not None:
        longest = limit
        return lambda value: (
            value if type(value) is str and len(value) <= longest else coerce(value, spec)
        )
    if spec.type == "email" and limit is None:
        match = EMAIL.match
        return lambda value: value if type(value) is str and match(value) else coerce(value, spec)
    if spec.type == "integer":
        # rendered templates give text; a plain run of digits is what int() reads alike
        # (18 digits always fit 64 bits; longer ones go through the range check)
        return lambda value: (
            int(value)
            if type(value) is str and value.isdecimal() and len(value) <= 18
            else coerce(value, spec)
        )
    return lambda value: coerce(value, spec)


def _coerce_one(value: Any, spec: AttributeSpec) -> Any:
    kind = spec.type
    if kind == "integer":
        if isinstance(value, bool) or not (isinstance(value, int) or _INT.match(str(value))):
            raise ValueProblem(f"must be an integer, got {_show(value)}")
        return _int64(value)
    if kind == "number":
        if isinstance(value, bool):
            raise ValueProblem(f"must be a number, got {_show(value)}")
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueProblem(f"must be a number, got {_show(value)}") from None
        if number in (float("inf"), float("-inf")):
            raise ValueProblem("is a number too large for any target")
        return number
    if kind == "boolean":
        return _boolean(value)
    if kind == "date":
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueProblem(f"must be a date (YYYY-MM-DD), got {_show(value)}") from None
    text = str(value) if not isinstance(value, bool) else str(value).lower()
    if kind == "email" and not EMAIL.match(text):
        raise ValueProblem(f"must be an email address, got {_show(value)}")
    if spec.max_length is not None and len(text) > spec.max_length:
        raise ValueProblem(f"is {len(text)} characters long; the limit is {spec.max_length}")
    return text


def _int64(value: int | str) -> int:
    """``value`` as an int, if it fits 64 bits; digits are counted before ``int()`` reads
    them (Python refuses more than 4,300, with a ``ValueError`` that is no user's message)."""
    if isinstance(value, str) and len(value.lstrip("+-").lstrip("0")) > 19:
        digits = len(value.lstrip("+-").lstrip("0"))
        raise ValueProblem(f"is an integer of {digits} digits; no target holds more than 64 bits")
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueProblem(
            f"is an integer of {_digits(number)} digits; no target holds more than 64 bits "
            f"({INT64_MIN} to {INT64_MAX})"
        )
    return number


def _digits(number: int) -> int:
    """Decimal digits of ``number``, without ``str()`` (refused past 4,300 digits)."""
    size = abs(number)
    estimate = max(1, int(size.bit_length() * 0.30103))
    return estimate + 1 if size >= 10**estimate else estimate


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueProblem(f"must be a boolean (true/false), got {_show(value)}")


TEXT_TYPES = frozenset({"string", "email", "date"})
"""Types whose values compare as text."""
_PLAIN = AttributeSpec()
"""An attribute the source's schema does not declare: a case-insensitive string."""


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def normalize(value: Any, spec: AttributeSpec | None) -> Any:
    """A comparable form: case folded unless case-exact, lists as sorted tuples, and every
    spelling of "nothing" (None, "", []) alike: targets drop empty attributes."""
    if type(value) is str and (spec is None or spec.type in TEXT_TYPES):
        # the common case (names, emails), decided without the general dispatch below
        if not value:
            return None
        return value if spec is not None and spec.case_exact else " ".join(value.split()).casefold()
    if value is None or value == "" or value == []:
        return None
    if spec is None:
        spec = _PLAIN
    if isinstance(value, (list, tuple)):
        return tuple(sorted(repr(normalize(v, spec)) for v in value))
    if spec.type == "boolean":
        try:
            return _boolean(value)
        except ValueProblem:
            return value
    if spec.type in ("integer", "number"):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            return value
    if isinstance(value, str) and not spec.case_exact:
        return " ".join(value.split()).casefold()
    return value


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**60:
        return f"an integer of {_digits(value)} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
