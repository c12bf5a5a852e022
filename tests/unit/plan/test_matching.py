"""Matching an identity to its accounts: with a linked account, the first correlation
attribute the identity has a value for decides which other accounts are duplicates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from accesshive.operations import plan_repository

PROJECT = """version: 1
name: m
sources:
  app:
    kind: sql
    connection: {url: "sqlite:///app.db", create_tables: true}
    account:
      name_attribute: login
      schema:
        login: {required: true}
        email: {type: email}
        employee_id: {}
      create: {login: "{{ id }}"}
      sync: {email: "{{ email }}", employee_id: "{{ employee_id }}"}
      correlation: [employee_id, email]
    entitlements: {staff: {}}
access_profiles:
  base: {source: app, entitlements: [staff]}
roles:
  everyone: {access_profiles: [base]}
"""

IDENTITIES = """identities:
  x: {type: human, roles: [everyone], attributes: {email: x@example.com, employee_id: E1}}
"""


def _plan(root: Path, accounts: list[dict[str, object]]) -> object:
    (root / "identities").mkdir(exist_ok=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    (root / "identities" / "a.yaml").write_text(IDENTITIES)
    (root / "snap.json").write_text(json.dumps({"sources": {"app": {"accounts": accounts}}}))
    return plan_repository(root, dt.date(2026, 11, 29), root / "snap.json", allow_mass_changes=True)


LINKED = {
    "external_id": "app-1",
    "identity": "x",
    "grants": ["staff"],
    "attributes": {"login": "x", "email": "x@example.com", "employee_id": "E1"},
}


def test_an_account_matching_only_a_later_attribute_is_an_orphan_not_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """x is linked and has an employee_id: employee_id decides, and no other account has
    it. The account sharing x's email is someone else's business (an orphan), even though
    no account at all can be found by employee_id."""
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    other = {
        "external_id": "app-2",
        "grants": ["staff"],
        "attributes": {"login": "x2", "email": "x@example.com"},
    }
    plan = _plan(tmp_path, [LINKED, other])
    assert [o.account for o in plan.orphans] == ["app-2"]  # type: ignore[attr-defined]
    assert not plan.warnings  # type: ignore[attr-defined]


def test_an_account_matching_the_deciding_attribute_is_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    other = {
        "external_id": "app-2",
        "grants": ["staff"],
        "attributes": {"login": "x2", "employee_id": "e1"},
    }
    plan = _plan(tmp_path, [LINKED, other])
    assert plan.orphans == ()  # type: ignore[attr-defined]
    assert (
        len(plan.warnings) == 1 and "accounts app-2 also match on employee_id" in plan.warnings[0]
    )  # type: ignore[attr-defined]


def test_each_account_of_an_identity_no_longer_assigned_loses_its_access(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """y holds two accounts on a source it is no longer assigned: one revoke per account,
    each with its own order id (not one id for both, which refused the whole plan)."""
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    (tmp_path / "identities").mkdir()
    (tmp_path / "accesshive.yaml").write_text(PROJECT)
    (tmp_path / "identities" / "a.yaml").write_text(
        IDENTITIES + "  y: {type: human, attributes: {email: y@example.com}}\n"
    )
    accounts = [
        LINKED,
        *(
            {"external_id": ext, "identity": "y", "grants": ["staff"], "attributes": {"login": ext}}
            for ext in ("app-7", "app-8")
        ),
    ]
    (tmp_path / "snap.json").write_text(json.dumps({"sources": {"app": {"accounts": accounts}}}))
    plan = plan_repository(
        tmp_path, dt.date(2026, 11, 29), tmp_path / "snap.json", allow_mass_changes=True
    )
    revokes = [o for o in plan.orders if o.action == "revoke"]
    assert sorted((o.change.identity, o.change.account) for o in revokes) == [
        ("y", "app-7"),
        ("y", "app-8"),
    ]
    assert len({o.id for o in revokes}) == 2
