"""``jsontext`` writes exactly what ``json.dumps`` writes, for any JSON-like value: plans
and digests stay byte-identical."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from enum import IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accesshive import jsontext

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # past 64 bits too
    | st.floats()  # NaN, infinities, exponents: json's way
    | st.text()  # control characters, non-BMP, lone surrogates
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_same_bytes_as_json(value: Any) -> None:
    compact = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    pretty = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert jsontext.canonical(value) == compact
    assert jsontext.pretty(value) == pretty


class Kind(StrEnum):
    GRANT = "grant"


class Rank(IntEnum):
    FIRST = 1


def test_enums_and_odd_keys_as_json_writes_them() -> None:
    value = {"kind": Kind.GRANT, "rank": Rank.FIRST, "n": [1.5, 1e-07, 2**70]}
    assert jsontext.pretty(value) == json.dumps(value, indent=2, sort_keys=True) + "\n"
    numbered = {"x": {2: "b", 1: "a"}}  # json writes int keys as strings; orjson refuses
    assert jsontext.canonical(numbered) == '{"x":{"1":"a","2":"b"}}'


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [Point(1), dt.date(2026, 1, 1), {"a": {1, 2}}])
def test_refuses_what_json_refuses(value: Any) -> None:
    """orjson would write a dataclass or a date; a plan never silently holds one."""
    with pytest.raises(TypeError):
        jsontext.canonical(value)
    with pytest.raises(TypeError):
        jsontext.pretty(value)
