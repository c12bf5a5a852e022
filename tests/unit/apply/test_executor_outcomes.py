"""What the executor records for the orders it cannot run, and why: everything below a
failure is blocked (naming the dependency that stopped it), what waits for an approval
says whose, and what depends on an order still waiting is held (naming it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.plan.model import Plan
from accesshive.store import Store, open_store
from tests.support.executor import fresh_store_name, plan_for, run_executor
from tests.support.faults import Fault, FaultPlan

TODAY = dt.date(2026, 11, 29)

CONFIG = """version: 1
name: outcomes
sources:
  idp:
    kind: scim
    identity_provider: true
    connection: {{connector: memory, store: {store}-idp}}
    retry: {{attempts: 1}}
    account:
      name_attribute: userName
      create: {{userName: "{{{{ id }}}}"}}
      correlation: [userName]
  gws:
    kind: google_workspace
    connection: {{connector: memory, store: {store}-gws}}
    account:
      name_attribute: primaryEmail
      create: {{primaryEmail: "{{{{ id }}}}@example.com"}}
      correlation: [primaryEmail]
  app:
    kind: sql
    requires_google_workspace: true
    connection: {{connector: memory, store: {store}-app}}
    account:
      name_attribute: login
      create: {{login: "{{{{ id }}}}"}}
      correlation: [login]
    entitlements:
      staff: {{}}
      ops: {{}}
      admins: {{sensitive: true}}
  zed:
    kind: sql
    requires_google_workspace: true
    connection: {{connector: memory, store: {store}-zed}}
    account:
      name_attribute: login
      create: {{login: "{{{{ id }}}}"}}
      correlation: [login]
access_profiles:
  base: {{source: app, entitlements: [staff, ops]}}
  admin: {{source: app, entitlements: [admins]}}
identities:
  ada: {{type: human, access_profiles: [base, admin], platforms: [zed]}}
  bob: {{type: human, access_profiles: [base]}}
"""

REVIEW = """review:
  rules:
    - name: app-accounts
      order_kinds: [create_account]
      sources: [app]
      reviewer_groups: [security, platform]
      quorum: 2
    - name: sensitive-grants
      order_kinds: [grant]
      sensitive_only: true
      reviewer_groups: [security]
"""


def _setup(tmp_path: Path, review: str | None = None) -> Iterator[tuple[Path, Plan, Store]]:
    name = fresh_store_name("outcomes", "idp", "gws", "app", "zed")
    if review:
        (tmp_path / "policies").mkdir()
        (tmp_path / "policies" / "review.yaml").write_text(review)
    plan = plan_for(tmp_path, CONFIG.format(store=name), TODAY)
    with open_store(tmp_path) as store:
        yield tmp_path, plan, store


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Plan, Store]]:
    yield from _setup(tmp_path)


@pytest.fixture
def reviewed(tmp_path: Path) -> Iterator[tuple[Path, Plan, Store]]:
    yield from _setup(tmp_path, REVIEW)


def _id(plan: Plan, action: str, source: str, who: str, entitlement: str | None = None) -> str:
    return next(
        o.id
        for o in plan.orders
        if (o.action, o.change.source, o.change.identity, o.change.entitlement)
        == (action, source, who, entitlement)
    )


def test_everything_below_a_failure_is_blocked_and_says_by_what(
    setup: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    _, plan, _ = setup
    idp = _id(plan, "create_account", "idp", "ada")
    gws = _id(plan, "create_account", "gws", "ada")
    app = _id(plan, "create_account", "app", "ada")
    zed = _id(plan, "create_account", "zed", "ada")
    grants = [_id(plan, "grant", "app", "ada", e) for e in ("staff", "ops", "admins")]
    faults.add("create_account", Fault("fatal", "409 the directory is read-only"))
    result = run_executor(setup)
    # the accounts of both platforms that need Workspace are below the failure twice
    # (through the Workspace account and directly): each is blocked, once
    for oid in (app, zed):
        assert result.states[oid] == "blocked"
        assert result.messages[oid] in (
            f"dependency {idp} is errored",
            f"dependency {gws} is blocked",
        )

    assert (result.states[idp], result.messages[idp]) == (
        "errored",
        "409 the directory is read-only",
    )
    for oid in (gws, app, *grants):
        assert result.states[oid] == "blocked", oid
    assert result.messages[gws] == f"dependency {idp} is errored"
    assert result.messages[app] in (f"dependency {idp} is errored", f"dependency {gws} is blocked")
    for grant in grants[:2]:
        assert result.messages[grant] == f"dependency {app} is blocked"
    # the admins grant is sensitive (gated by the shipped review policy): it says so too
    assert result.messages[grants[2]] == (
        f"dependency {app} is blocked; it also needs 1 approval(s) from security"
    )
    # bob's orders had nothing to do with ada's failure
    bob = [o.id for o in plan.orders if o.change.identity == "bob"]
    assert {result.states[o] for o in bob} == {"verified"}
    assert result.status == "failed"


def test_what_waits_for_approval_says_whose_and_what_depends_on_it_is_held(
    reviewed: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    _, plan, _ = reviewed
    app = _id(plan, "create_account", "app", "ada")
    staff = _id(plan, "grant", "app", "ada", "staff")
    admins = _id(plan, "grant", "app", "ada", "admins")
    result = run_executor(reviewed, approved={admins})  # the grant is approved, its account not yet
    assert (result.states[app], result.messages[app]) == (
        "awaiting_approval",
        "needs 2 approval(s) from platform, security",
    )
    for grant in (staff, admins):
        assert (result.states[grant], result.messages[grant]) == (
            "pending",
            f"held: waits for {app} (awaiting_approval)",
        )
    assert result.status == "incomplete"
    assert result.by_source(plan)["app"]["status"] == "waiting"  # the summary per source


def test_a_source_whose_orders_are_all_done_is_ok_in_the_summary(
    setup: tuple[Path, Plan, Store],
) -> None:
    _, plan, _ = setup
    summary = run_executor(setup).by_source(plan)
    done = {s for s, e in summary.items() if set(e["states"]) == {"verified"}}  # type: ignore[call-overload]
    assert done and {s: summary[s]["status"] for s in done} == dict.fromkeys(done, "ok")
    assert summary["app"]["status"] == "waiting"  # a gated order awaits approval


def test_an_approval_note_replaces_the_generic_one(
    reviewed: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    _, plan, _ = reviewed
    app = _id(plan, "create_account", "app", "ada")
    note = "needs 1 more approval(s) from platform, security (approved by alice)"
    result = run_executor(reviewed, approval_notes={app: note})
    assert result.messages[app] == note


def test_a_held_order_names_the_dependency_it_waits_for(tmp_path: Path, faults: FaultPlan) -> None:
    """The app account needs the identity provider's account (created) and the Workspace
    account (waiting for approval): it names the one it waits for."""
    review = (
        "review:\n  rules:\n    - name: workspace-accounts\n      order_kinds: [create_account]\n"
        "      sources: [gws]\n      reviewer_groups: [it]\n"
    )
    opened = _setup(tmp_path, review)
    setup = next(opened)
    _, plan, _ = setup
    idp = _id(plan, "create_account", "idp", "ada")
    gws = _id(plan, "create_account", "gws", "ada")
    app = _id(plan, "create_account", "app", "ada")
    assert set(plan.order(app).depends_on) == {idp, gws}
    result = run_executor(setup)
    assert result.states[idp] == "verified"
    assert result.states[gws] == "awaiting_approval"
    assert result.messages[gws] == "needs 1 approval(s) from it"
    assert (result.states[app], result.messages[app]) == (
        "pending",
        f"held: waits for {gws} (awaiting_approval)",
    )
    opened.close()
