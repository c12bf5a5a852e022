"""Managed groups end to end, against targets started here: scim2-server, slapd and the
Google Workspace stand-in (which follows the Directory API's published groups methods).

A user declares a group ``managed: true``; plan and apply create it and add its members;
renaming it in the YAML renames the same group on the target (a modrdn on LDAP); declaring
it absent removes its members first, then deletes it. After every step a sync and a new
plan find nothing left to do. A group of the managed name that already exists is adopted,
never duplicated; one that still holds someone accesshive does not manage is never
deleted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accesshive.apply import groups as groups_mod
from accesshive.cli import main
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.store import open_store
from tests.support import slapd as slapd_mod
from tests.support.group_targets import (
    PEOPLE,
    GoogleTarget,
    LdapTarget,
    ScimTarget,
    Target,
)
from tests.support.gws_standin import GoogleStandIn
from tests.support.scim_server import scim_server

TODAY = dt.date(2026, 11, 29)
GWS_TOKEN = "groups-standin-token"


@pytest.fixture(params=["scim", "ldap", "google_workspace"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    if request.param == "scim":
        with scim_server() as server:
            monkeypatch.setenv("GROUPS_SCIM_TOKEN", server.token)
            yield ScimTarget(server)
        return
    if request.param == "google_workspace":
        monkeypatch.setenv("GROUPS_GWS_TOKEN", GWS_TOKEN)
        with GoogleStandIn(
            customer_id="C0groups", domains=("acme.example",), token=GWS_TOKEN
        ) as api:
            yield GoogleTarget(api)
        return
    slapd_mod.require()
    monkeypatch.setenv("GROUPS_LDAP_PASSWORD", slapd_mod.ADMIN_PASSWORD)
    with slapd_mod.slapd_server() as server:
        yield LdapTarget(server)


def _write(root: Path, target: Target, oncall: dict[str, Any], granted: bool = True) -> None:
    source = target.source()
    source["entitlements"] = {target.staff: {}, target.oncall: oncall}
    profiles = ["staff", "oncall"] if granted else ["staff"]
    project = {
        "version": 1,
        "name": "groups",
        "sources": {"app": source},
        "access_profiles": {
            "staff": {"source": "app", "entitlements": [target.staff]},
            **({"oncall": {"source": "app", "entitlements": [target.oncall]}} if granted else {}),
        },
        "identities": {p: {"type": "human", "access_profiles": profiles} for p in PEOPLE},
    }
    root.mkdir(exist_ok=True)
    (root / "accesshive.yaml").write_text(json.dumps(project, indent=1))


def _plan(root: Path) -> Plan:
    synced = CliRunner().invoke(main, ["sync", str(root), "--format", "json"])
    assert synced.exit_code == 0, synced.output
    assert all(r["ok"] for r in json.loads(synced.output)), synced.output
    return plan_repository(root, TODAY, store=StoreRef())


def _apply(root: Path) -> Plan:
    """Plan, apply (every order verified), then plan again: nothing is left to do."""
    plan = _plan(root)
    result = apply_plan(root, plan, StoreRef(), TODAY, "ci")
    assert {o.id: result.states[o.id] for o in plan.orders} == {
        o.id: "verified" for o in plan.orders
    }, result.messages
    again = _plan(root)
    assert [o.change.key() for o in again.orders] == [], "re-plan after apply is not empty"
    return plan


def _kinds(plan: Plan) -> list[tuple[str, str | None]]:
    return [(o.action, o.change.entitlement) for o in plan.orders]


ONCALL = {"managed": True, "name": "On-call", "description": "Paged out of hours"}


def test_create_rename_and_delete_a_managed_group(target: Target, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    target.add_group("staff")  # an unmanaged group: it must exist, as always
    _write(root, target, ONCALL)
    created = _apply(root)
    create = next(o for o in created.orders if o.action == "create_group")
    grants = [
        o for o in created.orders if o.action == "grant" and o.change.entitlement == target.oncall
    ]
    assert len(grants) == 2 and all(create.id in g.depends_on for g in grants)
    (group,) = [g for g in target.groups() if g.name != "staff"]
    assert (group.name, group.members) == ("On-call", PEOPLE)

    _write(root, target, {**ONCALL, "name": "On-call rota"})
    report = CliRunner().invoke(
        main, ["report", str(root), "--today", TODAY.isoformat(), "--format", "json"]
    )
    assert report.exit_code == 0, report.output
    (drift,) = json.loads(report.stdout)["groups"]
    assert drift["entitlement"] == target.oncall
    assert drift["differences"] == [
        f'update group {target.oncall} (On-call rota) on app: name: "On-call" → "On-call rota"'
    ]
    renamed = _apply(root)
    assert _kinds(renamed) == [("update_group", target.oncall)]
    (after,) = [g for g in target.groups() if g.name != "staff"]
    assert (after.id, after.name, after.members) == (group.id, "On-call rota", PEOPLE)

    _write(root, target, {**ONCALL, "name": "On-call rota", "state": "absent"}, granted=False)
    removed = _apply(root)
    assert sorted(_kinds(removed)) == [
        ("delete_group", target.oncall),
        ("revoke", target.oncall),
        ("revoke", target.oncall),
    ]
    delete = removed.orders[-1]
    assert delete.action == "delete_group"
    assert set(delete.depends_on) == {o.id for o in removed.orders if o.action == "revoke"}
    assert [g.name for g in target.groups() if g.name != "staff"] == []


def test_an_existing_group_of_that_name_is_adopted(target: Target, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    target.add_group("staff")
    target.add_group("On-call")
    before = {g.name: g.id for g in target.groups()}
    _write(root, target, ONCALL)
    plan = _apply(root)
    assert "create_group" not in [o.action for o in plan.orders]
    adopt = next(o for o in plan.orders if o.action == "update_group")
    # a Google group's email is its key: found by it, nothing to adopt by name
    by_name = not isinstance(target, GoogleTarget)
    assert adopt.change.details == ({"adopted": "name"} if by_name else {})
    assert [(g.id, g.name, g.members) for g in target.groups() if g.name != "staff"] == [
        (before["On-call"], "On-call", PEOPLE)
    ]


def test_a_group_with_members_accesshive_does_not_manage_is_not_deleted(
    target: Target, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    target.add_group("staff")
    _write(root, target, ONCALL)
    _apply(root)
    target.add_user("contractor")  # someone accesshive knows nothing of ...
    (group,) = [g for g in target.groups() if g.name != "staff"]
    target.add_member(group, "contractor")  # ... put in the group by hand
    _write(root, target, {**ONCALL, "state": "absent"}, granted=False)
    plan = _plan(root)
    assert sorted(_kinds(plan)) == [("revoke", target.oncall), ("revoke", target.oncall)]
    (warning,) = [w for w in plan.warnings if target.oncall in w]
    assert "it is not deleted" in warning
    result = apply_plan(root, plan, StoreRef(), TODAY, "ci")
    assert result.status == "complete", result.messages
    (kept,) = [g for g in target.groups() if g.name != "staff"]
    assert (kept.id, kept.members) == (group.id, ("contractor",))


class Killed(BaseException):
    """apply killed right after the target took the write (before it was recorded)."""


def test_a_group_create_cut_short_is_found_done_not_repeated(
    target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    target.add_group("staff")
    _write(root, target, ONCALL)
    plan = _plan(root)
    real = groups_mod.send_group

    def sent_then_killed(connector: Any, order: Any) -> Any:
        real(connector, order)
        raise Killed

    monkeypatch.setattr(groups_mod, "send_group", sent_then_killed)
    with pytest.raises(Killed):
        apply_plan(root, plan, StoreRef(), TODAY, "ci")
    monkeypatch.setattr(groups_mod, "send_group", real)
    create = next(o for o in plan.orders if o.action == "create_group")
    with open_store(root) as store:
        assert store.order_states(plan.digest)[create.id].state == "transmitted"
    result = apply_plan(root, plan, StoreRef(), TODAY, "ci")
    # apply's live re-plan sees the group there: the create is no longer needed
    assert result.states[create.id] == "inactive"
    assert result.status == "complete", result.messages
    assert [(g.name, g.members) for g in target.groups() if g.name != "staff"] == [
        ("On-call", PEOPLE)
    ]
    assert _plan(root).orders == ()
