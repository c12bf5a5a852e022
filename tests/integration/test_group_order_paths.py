"""The executor's paths for managed-group orders (``apply/groups.py``: ``GroupOrders``),
run directly against the Google Workspace stand-in (the Directory API's published groups
methods), without apply's live re-plan in front: what a killed run left ``transmitted``
is looked for on the target first, a source that is down is not written to, a retried
write says so in the order's history, an adopted group says so, and the group's id is the
create's recorded result (what later orders of the plan act on).

``test_managed_groups.py`` runs the same orders end to end through ``apply_plan`` on three
targets; these are the branches that end to end never reaches (apply's re-plan marks an
order whose effect it sees on the target ``inactive`` before the executor runs it).
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
from accesshive.apply.executor import ApplyResult, Executor
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.connectors.base import Created
from accesshive.connectors.registry import connector_for
from accesshive.errors import ConnectorError
from accesshive.operations import StoreRef, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.store import open_store
from tests.support.group_targets import GoogleTarget
from tests.support.gws_standin import GoogleStandIn

TODAY = dt.date(2026, 11, 29)
TOKEN = "group-paths-token"
ONCALL = {"managed": True, "name": "On-call", "description": "Paged out of hours"}


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleTarget]:
    monkeypatch.setenv("GROUPS_GWS_TOKEN", TOKEN)
    with GoogleStandIn(customer_id="C0groups", domains=("acme.example",), token=TOKEN) as api:
        yield GoogleTarget(api)


@pytest.fixture
def planned(target: GoogleTarget, tmp_path: Path) -> tuple[Path, Plan, Order]:
    """A repository whose plan creates the managed group On-call (and grants it)."""
    root = tmp_path / "repo"
    root.mkdir()
    target.add_group("staff")
    source = target.source()
    source["entitlements"] = {target.staff: {}, target.oncall: ONCALL}
    project = {
        "version": 1,
        "name": "group-paths",
        "sources": {"app": source},
        "access_profiles": {"oncall": {"source": "app", "entitlements": [target.oncall]}},
        "identities": {"ada": {"type": "human", "access_profiles": ["oncall"]}},
    }
    (root / "accesshive.yaml").write_text(json.dumps(project, indent=1))
    synced = CliRunner().invoke(main, ["sync", str(root), "--format", "json"])
    assert synced.exit_code == 0, synced.output
    plan = plan_repository(root, TODAY, store=StoreRef())
    create = next(o for o in plan.orders if o.action == "create_group")
    return root, plan, create


def _run(root: Path, plan: Plan, **kwargs: Any) -> ApplyResult:
    with open_store(root) as store:
        run = store.start_run(plan.digest, "test")
        return Executor(load_config(root), plan, store, run, **kwargs).run()


def _history(root: Path, plan: Plan, order: Order) -> list[tuple[str, str | None]]:
    with open_store(root) as store:
        return [(e.state, e.message) for e in store.order_history(plan.digest, order.id)]


def _oncall(target: GoogleTarget) -> list[str]:
    return [g.name for g in target.groups() if g.name != "staff"]


def test_a_create_a_killed_run_left_transmitted_is_found_done_not_sent_again(
    target: GoogleTarget, planned: tuple[Path, Plan, Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, plan, create = planned
    with connector_for(load_config(root), "app") as conn:
        groups_mod.send_group(conn, create)  # the killed run's write reached the target
    with open_store(root) as store:
        run = store.start_run(plan.digest, "killed")
        store.record_order_state(run, plan.digest, create.id, "pending")
        store.record_order_state(run, plan.digest, create.id, "transmitted")

    def never(*args: object) -> None:
        raise AssertionError("the group was created again")

    monkeypatch.setattr(groups_mod, "send_group", never)
    result = _run(root, plan)
    assert result.states[create.id] == "verified"
    assert result.messages[create.id] == "found done on the target after a restart"
    assert _oncall(target) == ["On-call"]


def test_a_transmitted_create_the_target_does_not_hold_is_sent_again(
    target: GoogleTarget, planned: tuple[Path, Plan, Order]
) -> None:
    root, plan, create = planned
    with open_store(root) as store:
        run = store.start_run(plan.digest, "killed")
        store.record_order_state(run, plan.digest, create.id, "pending")
        store.record_order_state(run, plan.digest, create.id, "transmitted")
    result = _run(root, plan)
    assert result.states[create.id] == "verified"
    assert _oncall(target) == ["On-call"]


def test_a_source_that_is_down_gets_no_group_write(
    target: GoogleTarget, planned: tuple[Path, Plan, Order]
) -> None:
    root, plan, create = planned
    result = _run(root, plan, unreachable={"app": "app is unreachable: refused; not attempted"})
    assert result.states[create.id] == "errored"
    assert result.messages[create.id] == "app is unreachable: refused; not attempted"
    assert _oncall(target) == []


def test_a_retried_create_says_so_then_records_the_groups_id(
    target: GoogleTarget, planned: tuple[Path, Plan, Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, plan, create = planned
    real = groups_mod.send_group
    calls: list[str] = []

    def busy_once(connector: Any, order: Order) -> Created | None:
        calls.append(order.id)
        if len(calls) == 1:
            raise ConnectorError("app", "503 backend busy", retryable=True)
        return real(connector, order)

    monkeypatch.setattr(groups_mod, "send_group", busy_once)
    waits: list[float] = []
    result = _run(root, plan, sleep=waits.append)
    assert result.states[create.id] == "verified"
    assert len(calls) == 2 and len(waits) == 1  # the fault fired, once
    history = _history(root, plan, create)
    assert [s for s, _ in history] == [
        "pending",
        "transmitted",
        "transmitted",
        "executed",
        "verified",
    ]
    note = history[2][1]
    assert note is not None and note.startswith("attempt 1 failed (")
    assert "503 backend busy" in note and "retrying in" in note
    (group_id,) = [g.id for g in target.groups() if g.name == "On-call"]
    with open_store(root) as store:
        assert store.results(plan.digest)[create.id] == group_id
    assert history[3][1] is None and history[4][1] is None  # created, not adopted


def test_a_group_the_target_already_held_is_adopted_and_says_so(
    target: GoogleTarget, planned: tuple[Path, Plan, Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group appeared between plan and apply (another admin made it): the create
    adopts it, and the order says it did."""
    root, plan, create = planned
    real = groups_mod.send_group

    def adopting(connector: Any, order: Order) -> Created | None:
        made = real(connector, order)
        assert made is not None
        return Created(made.external_id, adopted=True)

    monkeypatch.setattr(groups_mod, "send_group", adopting)
    result = _run(root, plan)
    assert result.states[create.id] == "verified"
    assert result.messages[create.id] == "adopted the existing group"
    assert _history(root, plan, create)[-2] == ("executed", "adopted the existing group")


def test_a_group_the_target_shows_otherwise_is_errored_with_the_difference(
    target: GoogleTarget, planned: tuple[Path, Plan, Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target that answers the create but keeps another name: verification says so,
    and nothing that depends on the group runs."""
    root, plan, create = planned
    real = groups_mod.send_group

    def renamed(connector: Any, order: Order) -> Created | None:
        attributes = {**order.change.attributes, "name": "Oncall"}
        change = type(order.change)(**{**order.change.__dict__, "attributes": attributes})
        return real(connector, type(order)(**{**order.__dict__, "change": change}))

    monkeypatch.setattr(groups_mod, "send_group", renamed)
    result = _run(root, plan)
    assert result.states[create.id] == "errored"
    assert result.messages[create.id] == "verify: name: expected 'On-call', target has 'Oncall'"
    below = [o.id for o in plan.orders if create.id in o.depends_on]
    assert below and all(result.states[oid] == "blocked" for oid in below)
