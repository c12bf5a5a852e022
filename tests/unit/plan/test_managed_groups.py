"""Managed groups (``managed: true``) in plans: created before the grants that need them,
renamed by their key, adopted when found by name, deleted after their revokes and never
while people accesshive does not manage are still in them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from accesshive.errors import ConfigError
from accesshive.operations import plan_repository
from accesshive.plan.model import Plan
from accesshive.render.markdown import render_markdown
from accesshive.render.text import render_text
from accesshive.state.snapshot import Snapshot
from tests.support.simulator import simulate

TODAY = dt.date(2026, 11, 29)

PROJECT = """\
version: 1
name: groups
sources:
  app:
    kind: scim
    connection: {base_url: "http://127.0.0.1:9/scim/v2"}
    account:
      name_attribute: userName
      create: {userName: "{{ id }}"}
      correlation: [userName]
    entitlements:
      staff: {}
      oncall: {managed: true, name: On-call, description: Paged out of hours}
access_profiles:
  staff: {source: app, entitlements: [staff]}
  oncall: {source: app, entitlements: [oncall]}
identities:
  ada: {type: human, access_profiles: [staff, oncall]}
  alan: {type: human, access_profiles: [oncall]}
"""


def _repo(tmp_path: Path, text: str = PROJECT) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "accesshive.yaml").write_text(text)
    return repo


def _plan(repo: Path, snapshot: Snapshot, tmp_path: Path) -> Plan:
    snap = tmp_path / "snapshot.json"
    snap.write_text(snapshot.model_dump_json())
    return plan_repository(repo, TODAY, snap)


def _kinds(plan: Plan) -> list[tuple[str, str | None, str | None]]:
    return [(o.action, o.change.identity, o.change.entitlement) for o in plan.orders]


def _converge(repo: Path, snapshot: Snapshot, tmp_path: Path) -> tuple[Plan, Snapshot]:
    plan = _plan(repo, snapshot, tmp_path)
    after = simulate(plan, snapshot, TODAY)
    assert _plan(repo, after, tmp_path).orders == (), "re-plan after apply is not empty"
    return plan, after


def test_group_is_created_before_the_grants_that_need_it(tmp_path: Path) -> None:
    plan, after = _converge(_repo(tmp_path), Snapshot(), tmp_path)
    create = next(o for o in plan.orders if o.action == "create_group")
    assert create.change.entitlement == "oncall"
    assert dict(create.change.attributes) == {
        "name": "On-call",
        "description": "Paged out of hours",
    }
    grants = [o for o in plan.orders if o.action == "grant" and o.change.entitlement == "oncall"]
    assert len(grants) == 2
    for grant in grants:
        assert create.id in grant.depends_on
        assert plan.orders.index(create) < plan.orders.index(grant)
    # the unmanaged entitlement's grant does not wait for any group
    staff = next(o for o in plan.orders if o.change.entitlement == "staff")
    assert create.id not in staff.depends_on
    (group,) = after.source("app").groups
    assert (group.name, group.entitlement, group.members) == ("On-call", "oncall", 2)


def test_renaming_keeps_the_group_and_its_members(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _, after = _converge(repo, Snapshot(), tmp_path)
    _repo(tmp_path, PROJECT.replace("name: On-call", "name: On-call rota"))
    plan, renamed = _converge(repo, after, tmp_path)
    assert _kinds(plan) == [("update_group", None, "oncall")]
    (order,) = plan.orders
    assert dict(order.change.attributes) == {"name": {"from": "On-call", "to": "On-call rota"}}
    assert order.change.account == "app:group:oncall"  # the same group, not a new one
    assert [g.name for g in renamed.source("app").groups] == ["On-call rota"]


def test_description_drift_is_an_update(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _, after = _converge(repo, Snapshot(), tmp_path)
    data = after.model_dump()
    data["sources"]["app"]["groups"][0]["attributes"]["description"] = "changed by hand"
    plan, _ = _converge(repo, Snapshot.model_validate(data), tmp_path)
    (order,) = plan.orders
    assert order.action == "update_group"
    assert order.change.attributes["description"] == {
        "from": "changed by hand",
        "to": "Paged out of hours",
    }


def test_existing_group_of_that_name_is_adopted_not_duplicated(tmp_path: Path) -> None:
    snapshot = Snapshot.model_validate(
        {"sources": {"app": {"groups": [{"external_id": "g-1", "name": "on-call", "members": 0}]}}}
    )
    plan, after = _converge(_repo(tmp_path), snapshot, tmp_path)
    assert "create_group" not in [o.action for o in plan.orders]
    adopt = next(o for o in plan.orders if o.action == "update_group")
    assert adopt.change.account == "g-1"
    assert adopt.change.details == {"adopted": "name"}
    assert [(g.external_id, g.entitlement) for g in after.source("app").groups] == [
        ("g-1", "oncall")
    ]


def test_absent_group_loses_its_members_first_then_is_deleted(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _, after = _converge(repo, Snapshot(), tmp_path)
    absent = PROJECT.replace(
        "managed: true, name: On-call,", "managed: true, state: absent, name: On-call,"
    ).replace("access_profiles: [staff, oncall]", "access_profiles: [staff]")
    absent = absent.replace("  oncall: {source: app, entitlements: [oncall]}\n", "")
    absent = absent.replace("access_profiles: [oncall]", "access_profiles: []")
    _repo(tmp_path, absent)
    plan, gone = _converge(repo, after, tmp_path)
    revokes = [o for o in plan.orders if o.action == "revoke"]
    (delete,) = [o for o in plan.orders if o.action == "delete_group"]
    assert {o.change.identity for o in revokes} == {"ada", "alan"}
    assert set(delete.depends_on) == {o.id for o in revokes}
    assert plan.orders[-1] is delete
    assert gone.source("app").groups == []


def test_absent_group_with_members_accesshive_does_not_manage_is_not_deleted(
    tmp_path: Path,
) -> None:
    text = PROJECT.replace("managed: true, name", "managed: true, state: absent, name")
    text = text.replace("access_profiles: [staff, oncall]", "access_profiles: [staff]")
    text = text.replace("  oncall: {source: app, entitlements: [oncall]}\n", "")
    text = text.replace("access_profiles: [oncall]", "access_profiles: []")
    contractor = {"external_id": "u-9", "attributes": {"userName": "x"}, "grants": ["oncall"]}
    group = {"external_id": "g-1", "name": "On-call", "entitlement": "oncall", "members": 2}
    snapshot = Snapshot.model_validate(
        {"sources": {"app": {"accounts": [contractor], "groups": [group]}}}
    )
    plan = _plan(_repo(tmp_path, text), snapshot, tmp_path)
    assert "delete_group" not in [o.action for o in plan.orders]
    (warning,) = [w for w in plan.warnings if "oncall" in w]
    assert "declared absent" in warning
    assert "1 account(s) no order of this plan removes (x [u-9])" in warning
    assert "1 member(s) that are not accounts accesshive reads" in warning
    assert "it is not deleted" in warning


def test_absent_group_still_in_an_access_profile_is_refused(tmp_path: Path) -> None:
    text = PROJECT.replace("managed: true, name", "managed: true, state: absent, name")
    with pytest.raises(ConfigError) as err:
        _plan(_repo(tmp_path, text), Snapshot(), tmp_path)
    assert "access profile 'oncall' grants 'oncall'" in _said(err.value)
    assert "declared absent" in _said(err.value)


def test_managed_group_on_a_source_that_cannot_create_groups_is_refused(tmp_path: Path) -> None:
    text = PROJECT.replace("kind: scim", "kind: manual").replace(
        '    connection: {base_url: "http://127.0.0.1:9/scim/v2"}\n', ""
    )
    with pytest.raises(ConfigError) as err:
        _plan(_repo(tmp_path, text), Snapshot(), tmp_path)
    assert "creates groups only on scim, ldap and google_workspace sources" in _said(err.value)


def test_name_without_managed_is_refused(tmp_path: Path) -> None:
    text = PROJECT.replace("staff: {}", "staff: {name: Staff}")
    with pytest.raises(ConfigError) as err:
        _plan(_repo(tmp_path, text), Snapshot(), tmp_path)
    assert "sets 'name', which only a managed group has" in _said(err.value)


def _said(error: ConfigError) -> str:
    return "\n".join(d.render() for d in error.diagnostics)


REVIEW = """\
review:
  reviewers:
    alice: {groups: [security], github: alice-gh}
  rules:
    - name: group-deletion
      order_kinds: [delete_group]
      reviewer_groups: [security]
"""


def test_review_rules_gate_group_orders_by_kind_and_sensitivity(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path, PROJECT.replace("description: Paged", "sensitive: true, description: Paged")
    )
    (repo / "policies").mkdir()
    (repo / "policies" / "review.yaml").write_text(REVIEW)
    plan = _plan(repo, Snapshot(), tmp_path)
    create = next(o for o in plan.orders if o.action == "create_group")
    assert create.change.sensitive  # the entitlement is sensitive, so is its group
    assert create.gate is None  # no rule names create_group
    after = simulate(plan, Snapshot(), TODAY)
    absent = PROJECT.replace("managed: true, name", "managed: true, state: absent, name")
    absent = absent.replace("access_profiles: [staff, oncall]", "access_profiles: [staff]")
    absent = absent.replace("  oncall: {source: app, entitlements: [oncall]}\n", "")
    absent = absent.replace("access_profiles: [oncall]", "access_profiles: []")
    _repo(tmp_path, absent)
    removal = _plan(repo, after, tmp_path)
    (delete,) = [o for o in removal.orders if o.action == "delete_group"]
    assert delete.gate is not None and delete.gate.rules == ("group-deletion",)
    assert all(o.gate is None for o in removal.orders if o.action == "revoke")


def test_group_orders_read_as_what_they_do(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    plan, after = _converge(repo, Snapshot(), tmp_path)
    text, markdown = render_text(plan), render_markdown(plan)
    for shown in (text, markdown):
        assert "create group oncall (On-call) on app" in shown
        assert "(managed groups)" in shown  # listed apart from any identity's orders
    _repo(tmp_path, PROJECT.replace("name: On-call", "name: On-call rota"))
    renamed = render_text(_plan(repo, after, tmp_path))
    assert 'update group oncall (On-call rota) on app: name: "On-call" → "On-call rota"' in renamed


def test_an_ldap_group_that_could_not_be_created_is_refused_at_load(tmp_path: Path) -> None:
    ldap = PROJECT.replace("kind: scim", "kind: ldap").replace(
        '{base_url: "http://127.0.0.1:9/scim/v2"}',
        '{url: "ldap://127.0.0.1:9", users_dn: "ou=people,dc=x", groups_dn: "ou=groups,dc=x"}',
    )
    with pytest.raises(ConfigError) as err:
        _plan(_repo(tmp_path, ldap), Snapshot(), tmp_path)
    assert "connection.empty_group_member (the placeholder" in _said(err.value)
    posix = ldap.replace(
        'groups_dn: "ou=groups,dc=x"', "groups_dn: g, group_object_class: posixGroup"
    )
    with pytest.raises(ConfigError) as err:
        _plan(_repo(tmp_path, posix), Snapshot(), tmp_path)
    assert "a posixGroup needs a gidNumber" in _said(err.value)
    fine = ldap.replace('groups_dn: "ou=groups,dc=x"', "groups_dn: g, empty_group_member: nobody")
    fine_plan = _plan(_repo(tmp_path, fine), Snapshot(), tmp_path)
    assert "create_group" in [o.action for o in fine_plan.orders]
