"""Config files read by yaml-rs (``config/yamlfast.py``) give exactly what ruamel.yaml
gives, or are left to the slower loaders.

Why: yaml-rs is the first loader of every config file; a value it read differently from
ruamel.yaml's YAML 1.2 would change a plan silently. Each case is read both ways, on the
hand-picked scalars and documents of ``test_yaml12``, on generated scalars built from the
characters that make YAML resolve a scalar, and on generated documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from accesshive.config import yamlfast
from accesshive.config.yamlio import parse_bytes
from tests.unit.config.test_yaml12 import DOCUMENTS, SCALARS, _canonical, _ruamel


def _fast(text: str) -> Any:
    try:
        return ("ok", _canonical(yamlfast.load(text)))
    except yamlfast.Unsure:
        return None  # left to yaml12 and ruamel.yaml: read as before


QUOTED = [
    'a: "2026-03-01"\nb: 2026-03-01\n',
    "a: ['2026-03-01', 2026-03-01]\n",
    'a: {b: "2026-03-01T10:00:00Z"}\n',
    'a: "\\x32026-03-01"\n',
    "a: 'it''s'\nb: \"q\"\n",
    "m: {a: f& \norr3r, f& \norr3r: b}\n",  # a flow collection over two lines
    "m: [a,\n  b:c]\n",
    "m: {a: [x], b: f& \n c}\n",
]


@pytest.mark.parametrize(
    "text", [f"k: {s}\n" for s in SCALARS] + [f"- {s}\n" for s in SCALARS] + DOCUMENTS + QUOTED
)
def test_reads_as_ruamel_yaml_or_leaves_it(text: str) -> None:
    fast = _fast(text)
    assert fast is None or fast == _ruamel(text)


_SIGNIFICANT = "0123456789_.+-eExXoObB:tTrRuUfFaAlLsSnNiIyY~=&*!?%<>|#'\"[]{},@` "


@settings(max_examples=1500, deadline=None)
@given(st.text(_SIGNIFICANT, min_size=1, max_size=8), st.text(_SIGNIFICANT, max_size=6))
def test_generated_scalars_read_as_ruamel_yaml_or_are_left(value: str, key: str) -> None:
    for text in (f"k: {value}\n", f"{key or 'k'}: {value}\n", f"- {value}\n- [{value}]\n"):
        fast = _fast(text)
        assert fast is None or fast == _ruamel(text), text


_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.text(max_size=12)
    | st.text(_SIGNIFICANT, max_size=6)
    | st.dates()
    | st.dates().map(str)  # a date as text: quoted when dumped
)
_documents = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(_SIGNIFICANT, max_size=6) | st.integers(-5, 5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None)
@given(_documents, st.sampled_from([False, True, None]), st.sampled_from([None, "'", '"']))
def test_generated_documents_read_as_ruamel_yaml_or_are_left(
    data: Any, flow: bool | None, style: str | None
) -> None:
    text = yaml.safe_dump(
        {"doc": data}, default_flow_style=flow, default_style=style, allow_unicode=True
    )
    fast = _fast(text)
    assert fast is None or fast == _ruamel(text), text


def test_the_examples_and_a_large_identity_file_are_read_by_yaml_rs() -> None:
    """Where it matters: the files a repository is made of take the fast path."""
    examples = Path(__file__).resolve().parents[3] / "examples"
    taken = 0
    for path in sorted(examples.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        fast = _fast(text)
        assert fast is None or fast == _ruamel(text), path
        taken += fast is not None
    assert taken > len(list(examples.rglob("*.yaml"))) // 2
    people = "identities:\n" + "".join(
        f"  u{n:05}: {{type: human, access_profiles: [all, vpn_users], lifecycle_state: active,"
        f" attributes: {{email: u{n:05}@example.com, on_call: yes,"
        f" since: 2026-01-0{n % 9 + 1}}}}}\n"
        for n in range(300)
    )
    fast = _fast(people)
    assert fast is not None and fast == _ruamel(people)
    assert (
        parse_bytes(people.encode(), "people.yaml").data["identities"]["u00001"]["attributes"][
            "on_call"
        ]
        == "yes"
    )
