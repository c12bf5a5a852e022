"""Config files are read as YAML 1.2 by the fast loader, exactly as ruamel.yaml reads them.

Why: the fast loader (libyaml through PyYAML, ``config/yaml12.py``) replaced ruamel.yaml's
safe loader for speed; a value read differently would change a plan silently. Each case
is read both ways: the fast loader gives ruamel.yaml's data, or leaves the file to it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from accesshive.config import yaml12
from accesshive.config.yamlio import YamlProblem, parse_bytes

SCALARS = [
    *("yes no on off y n Y NO true True TRUE tRue false null Null NULL ~".split()),
    *("0 00 0777 0o17 0o8 0x1F 0xg 0b101 0b2 1_000 _1 1_ +1 -1 +0 -0 --1".split()),
    *("1.0 1. -.5 .5 1e3 1E3 1.5e-3 1e+3 .inf -.inf +.INF .NaN .nan NaN 0.1_0".split()),
    *("2024-01-31 2024-02-30 2024-01-31T10:00:00Z 2024-01-31T10:00:00.123+02:00".split()),
    *("12:30 1:20:30 = << v1.2 1.2.3 12345678901234567890 'quoted' \"dq\"".split()),
    "2024-1-3 1:02:03",
    "",
    "!!str 1",
    "!!int '3'",
    "!!binary aGk=",
    "!custom x",
]

DOCUMENTS = [
    "a: 1\nb: 2\n",
    "a: 1\na: 2\n",
    "1: x\n01: y\n",
    "base: &b {x: 1}\nd:\n  <<: *b\n  y: 3\n",
    "? [1, 2]\n: x\n",
    "a: |\n  line\n  two\nb: >-\n  folded\n  text\n",
    "a: 'it''s'\nb: \"\\u00e9\\t\"\n",
    "%YAML 1.1\n---\na: yes\n",
    "a: b: c\n",
    "",
    "# only a comment\n",
]


def _canonical(value: Any) -> Any:
    """Types and order included: ``1``, ``1.0``, ``True`` and ``"1"`` stay apart."""
    if isinstance(value, dict):
        return ("map", [(_canonical(k), _canonical(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [_canonical(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, repr(value))


def _ruamel(text: str) -> Any:
    try:
        return ("ok", _canonical(YAML(typ="safe", pure=False).load(text)))
    except Exception as exc:
        return ("error", type(exc).__name__)


@pytest.mark.parametrize(
    "text", [f"k: {s}\n" for s in SCALARS] + [f"- {s}\n" for s in SCALARS] + DOCUMENTS
)
def test_the_fast_loader_reads_as_ruamel_yaml_or_leaves_it_to_it(text: str) -> None:
    try:
        fast = ("ok", _canonical(yaml12.load(text)))
    except yaml12.Fallback:
        return  # ruamel.yaml reads it: same as before by construction
    assert fast == _ruamel(text)


def test_yaml_1_1_booleans_stay_text() -> None:
    text = "a: yes\nb: on\nc: off\nd: no\ne: true\nf: 0777\ng: 1:30\n"
    expected = {"a": "yes", "b": "on", "c": "off", "d": "no", "e": True, "f": 777, "g": "1:30"}
    assert yaml12.load(text) == expected  # read by the fast loader itself, no fallback
    assert parse_bytes(text.encode(), "x.yaml").data == expected


def test_a_repeated_key_is_still_placed_at_line_and_column() -> None:
    with pytest.raises(YamlProblem) as raised:
        parse_bytes(b"identities:\n  alice: 1\n  alice: 2\n", "identities/x.yaml")
    d = raised.value.diagnostic
    assert (d.code, d.location.file, d.location.line) == ("duplicate-key", "identities/x.yaml", 3)
    assert d.related and d.related[0].line == 2


def test_the_examples_read_the_same_both_ways() -> None:
    examples = Path(__file__).resolve().parents[3] / "examples"
    files = sorted(examples.rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            fast = ("ok", _canonical(yaml12.load(text)))
        except yaml12.Fallback:
            continue
        assert fast == _ruamel(text), path
