"""A forged plan is refused with a reason the reviewer can act on: what the policies say
the order's gate and sensitivity are, and every field that differs from what planning
gives."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import ForgedPlanError, GuardrailError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from tests.conftest import reviewed_quickstart
from tests.support.wiki import someone_else_edits_the_wiki

TODAY = dt.date(2026, 11, 29)

REVIEW = """review:
  rules:
    - name: sensitive-grants
      order_kinds: [grant]
      sensitive_only: true
      reviewer_groups: [security, platform]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return reviewed_quickstart(tmp_path / "quickstart", REVIEW)


def _forge(plan: Plan, order: Order) -> Plan:
    return replace(plan, orders=tuple(order if o.id == order.id else o for o in plan.orders))


def _refusal(repo: Path, plan: Plan) -> str:
    with pytest.raises(ForgedPlanError) as caught:
        apply_plan(repo, plan, StoreRef(), TODAY, "attacker")
    return str(caught.value)


def test_an_ungated_sensitive_grant_is_refused_with_what_the_policies_say(repo: Path) -> None:
    plan = plan_repository(repo, TODAY, store=StoreRef())
    target = next(o for o in plan.orders if o.gate and o.change.source == "wiki")
    forged = replace(target, gate=None)  # still marked sensitive, but not gated
    message = _refusal(repo, _forge(plan, forged))
    assert (
        f"order {target.id} (grant on wiki) carries a review gate or sensitivity the "
        "policies do not give it (they say: gated for platform, security, sensitive)"
    ) in message


def test_every_field_that_differs_is_named(repo: Path) -> None:
    plan = plan_repository(repo, TODAY, store=StoreRef())
    create = next(
        o for o in plan.orders if o.action == "create_account" and o.kind != "manual_task"
    )
    change = replace(
        create.change,
        attributes={**create.change.attributes, "email": "attacker@evil.example"},
        name="attacker",
    )
    message = _refusal(repo, _forge(plan, replace(create, change=change)))
    assert (
        f"order {create.id} (create_account on wiki) differs from what planning gives in "
        "attributes, content_digest, name"
    ) in message


def test_a_gate_removed_is_refused_even_when_the_target_changed_meanwhile(repo: Path) -> None:
    """On a changed source orders are compared by substance, but never their review gate."""
    plan = plan_repository(repo, TODAY, store=StoreRef())
    target = next(o for o in plan.orders if o.gate and o.change.source == "wiki")
    someone_else_edits_the_wiki(repo)
    forged = replace(target, gate=None, change=replace(target.change, sensitive=False))
    message = _refusal(repo, _forge(plan, forged))
    assert f"order {target.id} (grant on wiki) carries a review gate" in message


def test_a_task_handed_to_someone_else_is_refused(repo: Path) -> None:
    """Manual sources are not read at apply: their orders must be exactly what planning
    gives from the stored snapshot, assignee included."""
    plan = plan_repository(repo, TODAY, store=StoreRef())
    task = next(o for o in plan.orders if o.kind == "manual_task" and not o.gate)
    forged = replace(task, assignee="mallory@evil.example")
    message = _refusal(repo, _forge(plan, forged))
    assert f"order {task.id} ({task.action} on badges) differs from what planning gives in" in (
        message
    )
    assert "assignee" in message


def test_a_plan_made_with_allow_mass_changes_applies(repo: Path) -> None:
    """The guardrail refused it at plan time until confirmed; apply does not refuse it again."""
    policies = repo / "policies" / "guardrails.yaml"
    policies.write_text("guardrails:\n  max_removal_count: 0\n  orphans: disable\n")
    someone_else_edits_the_wiki(repo)  # an account nobody owns: disabled as an orphan
    assert CliRunner().invoke(main, ["sync", str(repo)]).exit_code == 0
    with pytest.raises(GuardrailError):
        plan_repository(repo, TODAY, store=StoreRef())
    plan = plan_repository(repo, TODAY, store=StoreRef(), allow_mass_changes=True)
    disables = [o for o in plan.orders if o.action == "disable_account" and o.kind != "manual_task"]
    assert [o.change.name for o in disables] == ["temp.contractor"]
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert {result.states[o.id] for o in disables} == {"verified"}
