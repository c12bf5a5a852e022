"""A plan file edited with the package's own functions (digest recomputed) is refused.

The attacker here can write the plan artefact (a pull request, a CI cache) but not the
repository's policies: they rebuild the plan with the gated order's gate removed, or
another order made sensitive, and write it back with ``write_plan``, which recomputes
``plan_digest``. Apply must refuse the file and change nothing on the target.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import ForgedPlanError
from accesshive.operations import StoreRef, apply_plan
from accesshive.plan.model import Plan
from accesshive.plan.orders import Gate, Order
from accesshive.plan.planfile import read_plan, write_plan
from accesshive.store import open_store
from tests.support.wiki import wiki_state

TODAY = dt.date(2026, 11, 29)
STORE = StoreRef()


@pytest.fixture
def repo(synced_quickstart: Path) -> Path:
    return synced_quickstart


def _forge(plan: Plan, edit: dict[str, Order]) -> Plan:
    orders = tuple(edit.get(o.id, o) for o in plan.orders)
    return replace(plan, orders=orders)


def _saved_plan(repo: Path, tmp_path: Path) -> tuple[Path, Plan]:
    path = tmp_path / "plan.json"
    result = CliRunner().invoke(main, ["plan", str(repo), "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path, read_plan(path)


def _apply_cli(repo: Path, path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["apply", str(path), "-C", str(repo)])
    return result.exit_code, result.output


def test_removing_a_review_gate_from_the_plan_file_is_refused(repo: Path, tmp_path: Path) -> None:
    path, plan = _saved_plan(repo, tmp_path)
    gated = [o for o in plan.orders if o.gate]
    assert gated, "the quickstart plans a gated grant (wiki admins)"
    target = gated[0]
    ungated = replace(target, gate=None, change=replace(target.change, sensitive=False))
    forged = _forge(plan, {target.id: ungated})
    write_plan(forged, path)
    assert read_plan(path).digest == forged.digest  # the file itself reads as valid
    before = wiki_state(repo)

    code, output = _apply_cli(repo, path)

    assert code == 1, output
    assert f"order {target.id} (grant on {target.change.source}) carries a review gate" in output
    assert "they say: gated for" in output
    assert wiki_state(repo) == before  # nothing ran, not even the honest orders
    with open_store(repo) as store:
        assert store.order_states(forged.digest) == {}
        refused = [e for e in store.audit_entries() if e.event == "apply_refused"]
    assert refused and target.id in refused[-1].details


def test_making_an_ordinary_grant_sensitive_is_refused(repo: Path, tmp_path: Path) -> None:
    path, plan = _saved_plan(repo, tmp_path)
    target = next(o for o in plan.orders if o.action == "grant" and not o.gate)
    gate = Gate(rules=("forged",), reviewer_groups=("attackers",), quorum=1)
    gated = replace(target, gate=gate, change=replace(target.change, sensitive=True))
    write_plan(_forge(plan, {target.id: gated}), path)
    before = wiki_state(repo)

    code, output = _apply_cli(repo, path)

    assert code == 1, output
    assert f"order {target.id}" in output
    assert "they say: not gated, not sensitive" in output
    assert wiki_state(repo) == before


def test_an_order_planning_never_made_is_refused(repo: Path, tmp_path: Path) -> None:
    """An invented grant (an entitlement nobody assigned) with a fresh, consistent id."""
    _, plan = _saved_plan(repo, tmp_path)
    honest = next(o for o in plan.orders if o.action == "grant" and not o.gate)
    change = replace(honest.change, entitlement="wiki-admins", sensitive=False)
    invented = replace(honest, id=change.order_id(), change=change, depends_on=honest.depends_on)
    forged = replace(plan, orders=(*plan.orders, invented))
    with pytest.raises(ForgedPlanError, match="is not an order planning gives"):
        apply_plan(repo, forged, STORE, TODAY, "attacker")


def test_changed_attributes_in_an_order_are_refused(repo: Path, tmp_path: Path) -> None:
    _, plan = _saved_plan(repo, tmp_path)
    create = next(o for o in plan.orders if o.action == "create_account")
    attrs = {**create.change.attributes, "email": "attacker@evil.example"}
    edited = replace(create, change=replace(create.change, attributes=attrs))
    with pytest.raises(ForgedPlanError, match="differs from what planning gives in attributes"):
        apply_plan(repo, _forge(plan, {create.id: edited}), STORE, TODAY, "attacker")
    assert wiki_state(repo)[0] == []


def test_the_honest_plan_file_still_applies(repo: Path, tmp_path: Path) -> None:
    """The check refuses forgeries, not plans: the file `plan` wrote applies."""
    path, plan = _saved_plan(repo, tmp_path)
    code, output = _apply_cli(repo, path)
    assert code == 6, output  # everything ran; the gated grant waits for approval
    gated = {o.id for o in plan.orders if o.gate}
    with open_store(repo) as store:
        states = {oid: s.state for oid, s in store.order_states(plan.digest).items()}
    assert {states[g] for g in gated} == {"awaiting_approval"}
    assert "verified" in states.values()
