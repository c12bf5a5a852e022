"""A plan file with orders or dependencies deleted (digest recomputed) is refused.

The attacker can write the plan artefact but not the repository: they delete a leaver's
revoke or badge task, or the edges that hold a grant until its account exists, and
write the plan back with ``write_plan``, which recomputes ``plan_digest``. Apply must
refuse the file, run nothing, cancel no task, and audit the refusal; the honest cases
(a re-apply after a partial run, ``retry``, a targeted run, a target that changed
since the plan) still apply.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import ForgedPlanError, StalePlanError
from accesshive.operations import StoreRef, apply_plan
from accesshive.operations.applying import retry_identity
from accesshive.plan.model import Plan
from accesshive.plan.planfile import read_plan, write_plan
from accesshive.store import open_store
from tests.support.wiki import someone_else_edits_the_wiki, wiki_state

TODAY = "2026-11-29"
STORE = StoreRef()


@pytest.fixture
def repo(synced_quickstart: Path) -> Path:
    return synced_quickstart


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _saved_plan(repo: Path, path: Path) -> Plan:
    code, output = _run("plan", str(repo), "--out", str(path), "--today", TODAY)
    assert code == 0, output
    return read_plan(path)


def _apply(repo: Path, path: Path) -> tuple[int, str]:
    return _run("apply", str(path), "-C", str(repo), "--today", TODAY)


def _without(plan: Plan, drop: set[str]) -> Plan:
    """``plan`` with the orders ``drop`` deleted, and every edge to them: what an editor
    of the file does so that it still reads as a valid plan."""
    orders = tuple(
        replace(o, depends_on=tuple(d for d in o.depends_on if d not in drop))
        for o in plan.orders
        if o.id not in drop
    )
    return replace(plan, orders=orders)


def _edges(plan: Plan, edit: dict[str, tuple[str, ...]]) -> Plan:
    return replace(
        plan, orders=tuple(replace(o, depends_on=edit.get(o.id, o.depends_on)) for o in plan.orders)
    )


def _refused(repo: Path, forged: Plan) -> list[str]:
    """What the refusal audited (``apply_refused``): the forged orders and edges."""
    with open_store(repo) as store:
        assert store.order_states(forged.digest) == {}  # nothing ran, nothing recorded
        assert not store.runs(forged.digest)
        refused = [e for e in store.audit_entries() if e.event == "apply_refused"]
    assert refused
    return [str(x) for x in json.loads(refused[-1].details)["forged"]]


def _leave(repo: Path, who: str) -> None:
    """``who`` is terminated (within the retention: accounts disabled, not deleted)."""
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            f"  {who}:\n",
            f"  {who}:\n    lifecycle_state: terminated\n    lifecycle_since: 2026-11-25\n",
        )
    )


def test_a_deleted_order_is_refused_and_nothing_runs(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    plan = _saved_plan(repo, path)
    grant = next(o for o in plan.orders if o.action == "grant" and not o.gate)
    assert not any(grant.id in o.depends_on for o in plan.orders)  # a leaf: only it goes
    forged = _without(plan, {grant.id})
    write_plan(forged, path)
    assert read_plan(path).digest == forged.digest  # the file itself reads as valid
    before = wiki_state(repo)

    code, output = _apply(repo, path)

    assert code == 1, output
    assert (
        f"order {grant.id} (grant on wiki, for {grant.change.identity}) is missing: planning "
        "gives it for this repository and snapshot, and the plan does not hold it"
    ) in output
    assert "apply the file `plan` wrote, unedited" in output
    assert wiki_state(repo) == before  # not even the honest orders ran
    assert any(grant.id in line for line in _refused(repo, forged))


def test_a_plan_with_every_order_deleted_is_refused(repo: Path, tmp_path: Path) -> None:
    """An empty plan would run nothing and call it complete (and cancel every open task)."""
    path = tmp_path / "plan.json"
    plan = _saved_plan(repo, path)
    forged = _without(plan, {o.id for o in plan.orders})
    with pytest.raises(ForgedPlanError, match="is missing"):
        apply_plan(repo, forged, STORE, dt.date(2026, 11, 29), "attacker")
    assert len(_refused(repo, forged)) == len(plan.orders)


def test_emptied_dependencies_are_refused(repo: Path, tmp_path: Path) -> None:
    """Grants would run before their accounts exist."""
    path = tmp_path / "plan.json"
    plan = _saved_plan(repo, path)
    waiting = [o for o in plan.orders if o.depends_on]
    assert waiting, "the quickstart's grants wait for their accounts"
    forged = _edges(plan, {o.id: () for o in plan.orders})
    write_plan(forged, path)
    before = wiki_state(repo)

    code, output = _apply(repo, path)

    assert code == 1, output
    grant = next(o for o in waiting if o.action == "grant")
    create = plan.order(grant.depends_on[0])
    assert (
        f"order {grant.id} (grant on wiki, for {grant.change.identity}) does not wait for "
        f"order {create.id} (create_account on wiki, for {create.change.identity}), as "
        "planning makes it wait"
    ) in output
    assert wiki_state(repo) == before
    assert len(_refused(repo, forged)) == sum(len(o.depends_on) for o in plan.orders)


def test_one_edge_dropped_or_added_is_refused(repo: Path, tmp_path: Path) -> None:
    plan = _saved_plan(repo, tmp_path / "plan.json")
    grant = next(o for o in plan.orders if o.action == "grant" and o.depends_on)
    dropped = _edges(plan, {grant.id: grant.depends_on[1:]})
    with pytest.raises(ForgedPlanError, match=f"order {grant.id} .* does not wait for"):
        apply_plan(repo, dropped, STORE, dt.date(2026, 11, 29), "attacker")
    # the other way: an order made to wait for one it does not need (a grant of another)
    other = next(
        o
        for o in plan.orders
        if o.action == "grant" and o.change.identity != grant.change.identity and not o.gate
    )
    added = _edges(plan, {grant.id: (*grant.depends_on, other.id)})
    with pytest.raises(ForgedPlanError, match="which planning does not make it wait for"):
        apply_plan(repo, added, STORE, dt.date(2026, 11, 29), "attacker")


def _open_tasks(repo: Path) -> dict[str, str]:
    with open_store(repo) as store:
        return {t.order_id: t.id for t in store.tasks("open")}


def test_a_leavers_deleted_task_is_refused_and_stays_open(repo: Path, tmp_path: Path) -> None:
    """Ada leaves; facilities take her badge's door access away on a task. A plan with
    that task deleted would have applied as complete and cancelled her open task as no
    longer needed: the badge would have kept opening the doors, and no one was asked."""
    _leave(repo, "ada.lovelace")
    assert _run("sync", str(repo))[0] == 0
    first = _saved_plan(repo, tmp_path / "first.json")
    code, output = _apply(repo, tmp_path / "first.json")
    assert code in (0, 6), output
    theirs = [o for o in first.orders if o.change.identity == "ada.lovelace"]
    task = next(o for o in theirs if o.kind == "manual_task" and o.action == "revoke")
    assert task.id in _open_tasks(repo)  # handed to facilities, not done yet

    path = tmp_path / "plan.json"
    plan = _saved_plan(repo, path)  # the task is still needed: the export shows the badge
    assert task.id in {o.id for o in plan.orders}
    forged = _without(plan, {task.id})
    write_plan(forged, path)

    code, output = _apply(repo, path)

    assert code == 1, output
    assert f"order {task.id} (revoke on badges, for ada.lovelace) is missing" in output
    assert task.id in _open_tasks(repo)
    assert any(task.id in line for line in _refused(repo, forged))
    with open_store(repo) as store:
        assert not [e for e in store.audit_entries() if e.event == "task_cancelled"]

    write_plan(plan, path)  # the file `plan` wrote applies, and the task stays open
    code, output = _apply(repo, path)
    assert code in (0, 6), output
    assert task.id in _open_tasks(repo)


def test_a_leavers_deleted_revoke_is_refused(repo: Path, tmp_path: Path) -> None:
    """The revoke goes, and the disable that waited for it no longer waits."""
    assert _apply(repo, _plan_file(repo, tmp_path / "setup.json"))[0] in (0, 6)
    _leave(repo, "grace.hopper")
    assert _run("sync", str(repo))[0] == 0
    path = tmp_path / "plan.json"
    plan = _saved_plan(repo, path)
    revoke = next(
        o for o in plan.orders if o.action == "revoke" and o.change.source == "wiki" and not o.gate
    )
    write_plan(_without(plan, {revoke.id}), path)
    before = wiki_state(repo)

    code, output = _apply(repo, path)

    assert code == 1, output
    assert f"order {revoke.id} (revoke on wiki, for grace.hopper) is missing" in output
    assert wiki_state(repo) == before


def _plan_file(repo: Path, path: Path) -> Path:
    _saved_plan(repo, path)
    return path


# ---------------------------------------------------------------- the honest cases


def test_a_reapply_after_a_targeted_run_applies(repo: Path, tmp_path: Path) -> None:
    """Orders done by an earlier run of the same plan are left out of the comparison
    (their source changed, so the re-plan no longer gives them)."""
    path = tmp_path / "plan.json"
    plan = _saved_plan(repo, path)
    code, output = _run(
        "apply", str(path), "-C", str(repo), "--today", TODAY, "--identity", "ada.lovelace"
    )
    assert code in (0, 6), output
    code, output = _apply(repo, path)
    assert code in (0, 6), output
    with open_store(repo) as store:
        states = {s.state for s in store.order_states(plan.digest).values()}
    assert "verified" in states and not states & {"errored", "blocked", "error"}, states


def test_a_retry_plan_applies_and_a_forged_one_does_not(repo: Path) -> None:
    today = dt.date(2026, 11, 29)
    plan, result = retry_identity(repo, "grace.hopper", STORE, today, "ops") or pytest.fail(
        "grace has orders"
    )
    assert plan.scope == ("grace.hopper",)
    assert "verified" in result.states.values()

    _leave(repo, "grace.hopper")
    assert _run("sync", str(repo))[0] == 0
    from accesshive.operations import plan_repository

    theirs = plan_repository(repo, today, store=STORE).for_identity("grace.hopper")
    dropped = next(o for o in theirs.orders if not any(o.id in x.depends_on for x in theirs.orders))
    with pytest.raises(ForgedPlanError, match=f"order {dropped.id} .* is missing"):
        apply_plan(repo, _without(theirs, {dropped.id}), STORE, today, "attacker")


def test_a_deleted_order_on_a_changed_source_is_stale_not_forged(
    repo: Path, tmp_path: Path
) -> None:
    """Someone else changed the wiki since the plan: the order the plan lacks there is
    new work, and the plan is stale (sync and plan again), not forged."""
    plan = _saved_plan(repo, tmp_path / "plan.json")
    grant = next(o for o in plan.orders if o.action == "grant" and not o.gate)
    someone_else_edits_the_wiki(repo)
    with pytest.raises(StalePlanError, match="new work on wiki not in the plan: grant for "):
        apply_plan(repo, _without(plan, {grant.id}), STORE, dt.date(2026, 11, 29), "ci")


def test_a_task_done_between_plan_and_apply_is_not_forgery(repo: Path, tmp_path: Path) -> None:
    """Facilities mark a badge task done after the plan was made: ``plan`` no longer asks
    for that work, and neither does apply's re-plan; the plan's order for it is not
    forged, and the grants that waited for it are not either: the task is done, so its
    order is verified."""
    assert _apply(repo, _plan_file(repo, tmp_path / "setup.json"))[0] in (0, 6)
    path = tmp_path / "plan.json"
    plan = _saved_plan(repo, path)
    task = next(
        o
        for o in plan.orders
        if o.kind == "manual_task" and o.id in _open_tasks(repo) and not o.gate
    )
    code, output = _run("tasks", "done", f"T-{task.id}", "-C", str(repo), "--by", "Fatima")
    assert code == 0, output
    # its order must still say what planning said: only the moment it is done differs
    renamed = replace(task, change=replace(task.change, name="Mallory"))
    edited = replace(plan, orders=tuple(renamed if o.id == task.id else o for o in plan.orders))
    with pytest.raises(ForgedPlanError, match=f"order {task.id} "):
        apply_plan(repo, edited, STORE, dt.date(2026, 11, 29), "attacker")

    code, output = _apply(repo, path)

    assert code in (0, 6), output
    with open_store(repo) as store:
        assert store.order_states(plan.digest)[task.id].state == "verified"
