"""Rendering an identity's accounts: the generated program gives exactly what rendering
one attribute at a time gives, and refuses (so that expand reports the problem) whenever
one attribute at a time would report a problem."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accesshive.config import load_config
from accesshive.diagnostics import Diagnostic
from accesshive.expand.accounts import program, render_account, source_plans
from accesshive.expand.desired import expand

PROJECT = """version: 1
name: rendering
sources:
  directory:
    kind: sql
    connection: {url: "sqlite:///d.db", create_tables: true}
    account:
      name_attribute: uid
      schema:
        uid: {required: true, max_length: 12, case_exact: true}
        mail: {type: email, required: true}
        number: {type: integer}
        since: {type: date}
        active: {type: boolean}
        rank: {type: number}
        groups: {multi_valued: true}
        short_mail: {type: email, max_length: 20}
        note: {}
        constant: {type: integer}
      create:
        uid: "{{ given|slug }}"
        number: "{{ n }}"
      sync:
        mail: "{{ mail|lower }}"
        since: "{{ since }}"
        active: "{{ active }}"
        rank: "{{ n }}"
        groups: "{{ given|upper }}"
        short_mail: "{{ mail|lower }}"
        note: "{% if n is defined %}n={{ n }}{% endif %}"
        constant: 7
    entitlements: {staff: {}}
  app:
    kind: sql
    connection: {url: "sqlite:///a.db", create_tables: true}
    account:
      schema:
        login: {required: true}
        mail: {type: email, required: true}
        team: {required: true, type: integer}
      create:
        login: "{{ given|ascii|lower }}.{{ family|trim }}"
        team: "{% if n is defined %}{{ n }}{% endif %}"
      sync: {mail: "{% if mail %}{{ mail|lower }}{% endif %}"}
    entitlements: {staff: {}}
  wiki:
    kind: sql
    connection: {url: "sqlite:///w.db", create_tables: true}
    account:
      create: {display: "{{ given }} {{ family }}", level: 3, on: true}
    entitlements: {staff: {}}
"""

IDENTITY = """identities:
  p1:
    type: human
    platforms: [directory, app, wiki]
    attributes: {given: Zoë, family: " Smith ", mail: Zoe@Example.com, n: 42,
                 since: "2024-01-31", active: "yes"}
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("repo")
    (root / "identities").mkdir()
    (root / "accesshive.yaml").write_text(PROJECT)
    (root / "identities" / "p.yaml").write_text(IDENTITY)
    return load_config(root)


def _one_at_a_time(
    config: Any, context: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    plans = source_plans(config)
    problems: list[Diagnostic] = []
    seen: dict[int, Any] = {}
    out = [
        render_account(config, plans[key], "p1", key[0], context, seen, problems, key[1])
        for key in sorted(plans)
    ]
    return out, problems


values = st.one_of(
    st.none(),
    st.text(alphabet="aZ0 9@.-_ë", max_size=14),
    st.integers(-3, 10**6),
    st.booleans(),
    st.sampled_from(
        ["2024-01-31", "yes", "no", "0042", "²", "x@y.org", "  A@B.CO  ", "1.5", "a" * 13]
    ),
)


FULL = {"given": "Zoë", "family": "Smith", "mail": "z@x.org", "n": 1, "since": "2024-01-31"}


@settings(max_examples=400, deadline=None)
@example(context={**FULL, "active": "yes", "given": "Abcdefghijklmnop"})  # uid too long
@example(context={**FULL, "active": "yes", "n": "²"})  # a digit that int() refuses
@example(context={**FULL, "active": "yes", "n": "0042"})
@example(context={**FULL, "active": "yes", "mail": "averyveryverylong@example.org"})
@example(context={**FULL, "active": "maybe", "since": "2024-02-30"})
@example(context={**FULL, "active": "no", "given": " -. "})  # a required uid slugs to ""
@example(context={**FULL, "active": "no", "mail": " "})  # a required mail is blank
@example(context={**FULL, "active": "no", "n": " "})  # a required team renders blank
@example(context={**FULL, "active": "no", "n": "x"})  # a team that is no integer
@example(context={"given": "a"})  # variables missing
@given(
    # every variable present (a missing one fails the first template that reads it)
    context=st.fixed_dictionaries(
        {name: values for name in ("given", "family", "mail", "n", "since", "active")}
    )
)
def test_the_program_renders_what_one_attribute_at_a_time_renders(
    config: Any, context: dict[str, Any]
) -> None:
    plans = source_plans(config)
    made = program([plans[sid] for sid in sorted(plans)])
    expected, problems = _one_at_a_time(config, context)
    try:
        got = list(made(context))
    except Exception:
        assert problems, "the program refused what renders without a problem"
        return
    assert not problems, "the program rendered what has a problem"
    assert got == expected
    for a, b in zip(got, expected, strict=True):
        assert [(k, type(v)) for k, v in a.items()] == [(k, type(v)) for k, v in b.items()]


def test_expand_reports_each_problem_at_the_identity(config: Any) -> None:
    """A value the program refuses is rendered one attribute at a time, which says what
    is wrong: the same diagnostics as before the program existed."""
    ident = config.identities["p1"]
    bad = ident.model_copy(update={"attributes": {**ident.attributes, "mail": "not-an-email"}})
    broken = dataclasses.replace(config, identities={"p1": bad})
    desired, problems = expand(broken, dt.date(2026, 11, 29))
    assert sorted({p.code for p in problems}) == ["wrong-type"]
    assert {("app" in p.message, "directory" in p.message) for p in problems} == {
        (True, False),
        (False, True),
    }
    assert "mail" not in desired.accounts[("app", "p1")].attributes


def test_expand_uses_the_program_for_a_clean_identity(config: Any) -> None:
    desired, problems = expand(config, dt.date(2026, 11, 29))
    assert problems == []
    app = desired.accounts[("app", "p1")].attributes
    directory = desired.accounts[("directory", "p1")].attributes
    assert app == {"login": "zoe.Smith", "mail": "zoe@example.com", "team": 42}
    assert directory["uid"] == "zoe"
    assert directory["number"] == 42 and directory["rank"] == 42.0
    assert directory["active"] is True
    assert directory["groups"] == ["ZOË"]
    assert directory["note"] == "n=42" and directory["constant"] == 7
    assert desired.accounts[("wiki", "p1")].attributes == {
        "display": "Zoë  Smith",
        "level": 3,
        "on": True,
    }


def test_nothing_of_a_repository_becomes_code(tmp_path: Path) -> None:
    """Attribute names and template text reach the generated code as literals only."""
    root = tmp_path / "repo"
    (root / "identities").mkdir(parents=True)
    hostile = PROJECT.replace(
        "level: 3", "\"x': __import__('os').system('false'), 'y\": \"{{ given }}')\""
    )
    (root / "accesshive.yaml").write_text(hostile)
    (root / "identities" / "p.yaml").write_text(IDENTITY)
    config = load_config(root)
    desired, problems = expand(config, dt.date(2026, 11, 29))
    assert problems == []
    attributes = desired.accounts[("wiki", "p1")].attributes
    assert attributes["x': __import__('os').system('false'), 'y"] == "Zoë')"
