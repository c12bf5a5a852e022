"""What an identity team relies on in a plan: convergence, movers, leavers, gates, safety."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from accesshive.errors import GuardrailError, PlanFileError
from accesshive.operations import plan_repository
from accesshive.plan.planfile import dumps, read_plan, write_plan
from accesshive.state.snapshot import load_snapshot
from tests.conftest import EXAMPLES, FIXTURES
from tests.support.simulator import simulate

TODAY = dt.date(2026, 11, 29)
QUICK = EXAMPLES / "quickstart"
SNAP = FIXTURES / "snapshots"


def _copy(tmp_path: Path, example: Path = QUICK) -> Path:
    dest = tmp_path / example.name
    shutil.copytree(example, dest)
    return dest


def _actions(plan) -> list[tuple[str, str, str | None, str | None]]:  # type: ignore[no-untyped-def]
    return [
        (o.action, o.change.source, o.change.identity, o.change.entitlement) for o in plan.orders
    ]


def test_same_inputs_give_byte_identical_plans() -> None:
    a = plan_repository(QUICK, TODAY, SNAP / "quickstart-drifted.yaml")
    b = plan_repository(QUICK, TODAY, SNAP / "quickstart-drifted.yaml")
    assert dumps(a) == dumps(b)
    assert a.digest == b.digest


def test_applying_the_plan_converges_to_zero_changes(tmp_path: Path) -> None:
    for example in ("quickstart", "acme"):
        snap_file = SNAP / "quickstart-drifted.yaml" if example == "quickstart" else None
        plan = plan_repository(EXAMPLES / example, TODAY, snap_file)
        assert plan.orders
        before = load_snapshot(snap_file) if snap_file else None
        from accesshive.state.snapshot import Snapshot

        after = simulate(plan, before or Snapshot(), TODAY)
        out = tmp_path / f"{example}.json"
        out.write_text(after.model_dump_json())
        again = plan_repository(EXAMPLES / example, TODAY, out)
        assert again.orders == (), [o.id for o in again.orders]


def test_mover_loses_old_department_access(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "department: Engineering\n      employee_number: 1001",
            "department: Sales\n      employee_number: 1001",
        )
    )
    plan = plan_repository(repo, TODAY, SNAP / "quickstart-converged.yaml")
    assert _actions(plan) == [("revoke", "wiki", "ada.lovelace", "editors")]


def test_leaver_is_disabled_and_loses_all_access(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    people = repo / "identities" / "people.yaml"
    text = people.read_text().replace(
        "  grace.hopper:\n    type: human\n",
        "  grace.hopper:\n    type: human\n    lifecycle_state: terminated\n"
        "    lifecycle_since: 2026-11-28\n",
    )
    people.write_text(text)
    plan = plan_repository(repo, TODAY, SNAP / "quickstart-converged.yaml")
    actions = _actions(plan)
    assert ("disable_account", "wiki", "grace.hopper", None) in actions
    assert ("revoke", "wiki", "grace.hopper", "wiki-admins") in actions
    # badges is a manual source: the same steps become tasks for its owner
    tasks = [o for o in plan.orders if o.change.source == "badges"]
    assert {o.kind for o in tasks} == {"manual_task"}
    assert {o.action for o in tasks} == {"revoke", "disable_account"}
    # revokes come before the disable of the same account
    position = {o.id: i for i, o in enumerate(plan.orders)}
    for o in plan.orders:
        if o.action == "disable_account":
            revokes = [
                r
                for r in plan.orders
                if r.action == "revoke"
                and r.change.account == o.change.account
                and r.change.source == o.change.source
            ]
            assert revokes
            assert all(r.id in o.depends_on and position[r.id] < position[o.id] for r in revokes)


def test_sensitive_grant_is_gated_with_reviewers() -> None:
    plan = plan_repository(QUICK, TODAY, SNAP / "quickstart-drifted.yaml")
    gated = [o for o in plan.orders if o.gate]
    assert [(o.change.entitlement, o.gate.reviewer_groups, o.gate.quorum) for o in gated] == [
        ("wiki-admins", ("security",), 1)
    ]
    assert gated[0].state == "awaiting_approval"


def test_order_ids_are_stable_across_unrelated_changes(tmp_path: Path) -> None:
    before = plan_repository(QUICK, TODAY)
    repo = _copy(tmp_path)
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("title: Staff Engineer", "title: Principal"))
    after = plan_repository(repo, TODAY)
    assert {o.id for o in before.orders} == {o.id for o in after.orders}


def test_orphans_are_reported_never_deleted_by_default() -> None:
    plan = plan_repository(QUICK, TODAY, SNAP / "quickstart-drifted.yaml")
    assert [(x.source, x.name) for x in plan.orphans] == [("wiki", "mallory")]
    assert all(o.change.account != "6" for o in plan.orders)


def test_account_created_outside_is_adopted_not_duplicated() -> None:
    plan = plan_repository(QUICK, TODAY, SNAP / "quickstart-drifted.yaml")
    assert ("wiki", "zoe.noether", "5", "email") in {
        (a.source, a.identity, a.account, a.matched_on) for a in plan.adoptions
    }
    assert not [o for o in plan.orders if o.action == "create_account"]


def test_guardrail_refuses_mass_disable(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    (repo / "policies").mkdir()
    (repo / "policies" / "guardrails.yaml").write_text("guardrails:\n  max_removal_count: 1\n")
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    for who in ("ada.lovelace", "grace.hopper"):
        text = text.replace(
            f"  {who}:\n    type: human\n",
            f"  {who}:\n    type: human\n    lifecycle_state: terminated\n",
        )
    people.write_text(text)
    with pytest.raises(GuardrailError) as info:
        plan_repository(repo, TODAY, SNAP / "quickstart-converged.yaml")
    assert "source 'wiki': the plan disables or deletes 2 of 4 accounts (50%)" in str(info.value)
    assert "--allow-mass-changes" in str(info.value)
    plan = plan_repository(repo, TODAY, SNAP / "quickstart-converged.yaml", allow_mass_changes=True)
    assert plan.allow_mass_changes


def test_tampered_plan_file_is_refused(tmp_path: Path) -> None:
    plan = plan_repository(QUICK, TODAY)
    path = tmp_path / "plan.json"
    write_plan(plan, path)
    assert read_plan(path).digest == plan.digest
    data = json.loads(path.read_text())
    data["orders"][0]["entitlement"] = "wiki-admins"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="modified after it was written"):
        read_plan(path)


def test_plan_records_its_inputs() -> None:
    plan = plan_repository(QUICK, TODAY, SNAP / "quickstart-converged.yaml")
    body = plan.body()
    assert body["format_version"] == 1
    assert len(body["config_digest"]) == 64
    assert set(body["snapshot_fingerprints"]) == {"wiki", "badges"}


def test_a_review_rule_naming_manual_task_gates_the_tasks(tmp_path: Path) -> None:
    """`order_kinds: [manual_task]` passes validation, so it must gate something: every task
    handed to a person on a manual source (the quickstart's badge system)."""
    repo = _copy(tmp_path)
    (repo / "policies").mkdir(exist_ok=True)
    (repo / "policies" / "review.yaml").write_text(
        "review:\n  rules:\n    - name: badge-tasks\n      order_kinds: [manual_task]\n"
        "      reviewer_groups: [facilities-leads]\n"
    )
    plan = plan_repository(repo, TODAY)
    tasks = [o for o in plan.orders if o.kind == "manual_task"]
    assert tasks
    assert {o.gate.rules if o.gate else None for o in tasks} == {("badge-tasks",)}
    assert not [o for o in plan.orders if o.gate and o.kind != "manual_task"]
