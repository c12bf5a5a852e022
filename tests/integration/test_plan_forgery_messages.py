"""A forged plan is refused with a reason the reviewer can act on: what the policies say
the order's gate and sensitivity are, and every field that differs from what planning
gives."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import ForgedPlanError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from tests.conftest import EXAMPLES

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
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (dest / "policies").mkdir()
    (dest / "policies" / "review.yaml").write_text(REVIEW)
    assert CliRunner().invoke(main, ["sync", str(dest)]).exit_code == 0
    return dest


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
