"""Diff's shortcut for converged accounts decides exactly what the full comparison
decides: whatever the values (missing, empty, differently typed, differently cased),
an account it calls converged is one the full comparison finds nothing to do for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import accesshive.plan.converge as converge_mod
from accesshive.config import load_config
from accesshive.expand.desired import DesiredAccount, expand
from accesshive.state.snapshot import SnapshotAccount

PROJECT = """version: 1
name: converged
sources:
  app:
    kind: sql
    connection: {url: "sqlite:///a.db", create_tables: true}
    account:
      schema:
        login: {required: true}
        mail: {type: email}
        exact: {case_exact: true}
        count: {type: integer}
        ratio: {type: number}
        flag: {type: boolean}
        tags: {multi_valued: true}
        note: {}
      create: {login: "{{ id }}"}
      sync:
        mail: "{{ id }}@example.com"
        exact: "{{ id }}"
        count: "1"
        ratio: "1"
        flag: "true"
        tags: "{{ id }}"
        note: "{{ id }}"
    entitlements: {staff: {}, ops: {}}
access_profiles:
  base: {source: app, entitlements: [staff]}
"""

SYNCED = ["mail", "exact", "count", "ratio", "flag", "tags", "note"]

value = st.one_of(
    st.none(),
    st.just(""),
    st.just([]),
    st.sampled_from(["a", "A", " a ", "a  b", "a b", "1", "true", "yes", "0"]),
    st.integers(0, 2),
    st.sampled_from([1.0, 0.0, 2.5]),
    st.booleans(),
    st.lists(st.sampled_from(["a", "A", "b"]), max_size=2),
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("repo")
    (root / "identities").mkdir()
    (root / "accesshive.yaml").write_text(PROJECT)
    (root / "identities" / "p.yaml").write_text(
        "identities:\n  p1: {type: human, access_profiles: [base]}\n"
    )
    config = load_config(Path(root))
    desired, problems = expand(config, dt.date(2026, 11, 29))
    assert not problems
    return config, desired


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(
    wanted={"exact": "a"}, held={"exact": "A"}, enabled=True, grants=["staff"], access="granted"
)
@example(wanted={}, held={}, enabled=True, grants=["staff"], access="revoked")
@given(
    wanted=st.dictionaries(st.sampled_from(SYNCED), value),
    held=st.dictionaries(st.sampled_from(SYNCED), value),
    enabled=st.booleans(),
    grants=st.sampled_from([[], ["staff"], ["ops", "staff"], ["other", "staff"]]),
    access=st.sampled_from(["granted", "kept", "revoked"]),
)
def test_the_shortcut_agrees_with_the_full_comparison(
    loaded: Any,
    monkeypatch: pytest.MonkeyPatch,
    wanted: dict[str, Any],
    held: dict[str, Any],
    enabled: bool,
    grants: list[str],
    access: str,
) -> None:
    config, desired = loaded
    source = config.sources["app"]
    base = desired.accounts[("app", "p1")]
    want = DesiredAccount(
        base.source,
        base.identity,
        base.state,
        base.create_if_missing,
        {"login": "p1", **wanted},
        base.synced,
        access,  # type: ignore[arg-type]
        base.grants,
        base.grant_via,
        base.reason,
        base.generate_password,
    )
    have = SnapshotAccount(
        external_id="x1",
        identity="p1",
        enabled=enabled,
        attributes={"login": "p1", **held},
        grants=grants,
    )
    shortcut = converge_mod.converge(desired, source, want, have)
    with monkeypatch.context() as m:
        m.setattr(converge_mod, "_converged", lambda *_: False)
        full = converge_mod.converge(desired, source, want, have)
    assert shortcut == full
