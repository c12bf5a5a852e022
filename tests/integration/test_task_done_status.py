"""A manual task marked done (``tasks done``) or seen by a sync counts at once: its order
is verified (audited, by whom), ``status`` lists it under what is done and says what
waited on it is ready for the next apply, and ``plan`` no longer asks for it. On the
quickstart's badges (a manual source), with the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.plan.model import Plan
from accesshive.plan.planfile import read_plan
from accesshive.render.describe import summary_line
from accesshive.store import Store, open_store

TODAY = "2026-11-29"
CREATE = "create account Grace Hopper on badges"
GRANT = "grant office-hq on badges to Grace Hopper"


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 6), result.output
    return result


def _applied(repo: Path, store_args: list[str]) -> Plan:
    """Sync and apply the quickstart: Grace's badge task is handed to facilities, the
    grant of her office door held until it is done. Returns the plan applied."""
    _run("sync", str(repo), *store_args)
    out = repo / "plan.json"
    _run("plan", str(repo), "--out", str(out), "--today", TODAY, *store_args)
    _run("apply", str(out), "-C", str(repo), "--today", TODAY, *store_args)
    return read_plan(out)


def _order(plan: Plan, what: str) -> str:
    (oid,) = [o.id for o in plan.orders if what in summary_line(o)]
    return oid


def _store(repo: Path, store_args: list[str]) -> Store:
    return open_store(repo, url=store_args[1] if store_args else None)


def _status_lines(repo: Path, store_args: list[str]) -> list[str]:
    shown = _run("status", str(repo), "grace.hopper", "--today", TODAY, *store_args)
    return shown.output.splitlines()


def _step(lines: list[str], what: str) -> tuple[int, str, str]:
    """(line number, state, the message under it) of the step saying ``what``."""
    (at,) = [i for i, line in enumerate(lines) if what in line and line.startswith("  ")]
    return at, lines[at].split()[0], lines[at + 1].strip()


def test_a_task_marked_done_is_verified_at_once(repo: Path, store_args: list[str]) -> None:
    plan = _applied(repo, store_args)
    create, grant = _order(plan, CREATE), _order(plan, GRANT)
    done = _run("tasks", "done", f"T-{create}", "-C", str(repo), "--by", "Fatima", *store_args)
    after = [o for o in plan.orders if create in o.depends_on]
    waiting = ", ".join(sorted(o.id for o in after if o.gate is None))
    gated = ", ".join(sorted(o.id for o in after if o.gate is not None))
    assert done.output.startswith(
        f"T-{create} marked done by Fatima\n"
        f"what waited on it in plan {plan.digest[:12]} ({waiting}) runs at the next "
        f"`accesshive apply --auto-approve -C {repo}"
    )
    # the gated ones are not said to run: they wait for their approval
    assert (f"{gated} also waited on it, and run once approved" in done.output) == bool(gated)

    # the order moved, in the plan that handed it over, audited as by Fatima
    with _store(repo, store_args) as store:
        history = [(e.state, e.message) for e in store.order_history(plan.digest, create)]
        audited = [
            (e.actor, json.loads(e.details)["state"])
            for e in store.audit_entries()
            if e.event == "order_state" and e.subject == create
        ]
    assert history == [
        ("pending", None),
        ("transmitted", f"task T-{create} for facilities@quickstart.example"),
        ("verified", f"task T-{create} done by Fatima"),
    ]
    assert audited[-1] == ("Fatima", "verified")

    # status: the task's step is done (by Fatima), under "already done"; the grant that
    # waited for it is ready for the next apply, with the command to run
    lines = _status_lines(repo, store_args)
    at, state, message = _step(lines, CREATE)
    assert (state, message) == ("verified", f"task T-{create} done by Fatima")
    assert "  already done:" in lines[:at], lines
    _, state, message = _step(lines, GRANT)
    assert state == "pending"
    # runnable as printed: the repository (and the store, when given) are on it
    assert message.startswith(f"ready: run `accesshive apply --auto-approve -C {repo}"), message
    as_json = _run(
        "status", str(repo), "grace.hopper", "--format", "json", "--today", TODAY, *store_args
    )
    (grace,) = json.loads(as_json.stdout)
    steps = {s["order"]: s for s in grace["steps"] + grace["history"]}
    assert steps[create]["state"] == "verified"

    # plan does not ask facilities for the badge again; the door is still to grant
    planned = _run("plan", str(repo), "--today", TODAY, *store_args).output
    assert CREATE not in planned and GRANT in planned
    # and the report agrees with plan and status: the badge is not outstanding drift
    for fmt in ("text", "markdown"):
        reported = _run(
            "report", str(repo), "--no-sync", "--format", fmt, "--today", TODAY, *store_args
        ).output
        assert CREATE not in reported and GRANT in reported, reported

    # the next apply hands over the grant, and does not touch the badge's order again
    _run("apply", str(repo), "--auto-approve", "--today", TODAY, *store_args)
    with _store(repo, store_args) as store:
        assert [e.state for e in store.order_history(plan.digest, create)][-1] == "verified"
        states = store.latest_outcomes()
        open_tasks = [t.order_id for t in store.tasks("open")]
    assert states[grant].state == "transmitted"
    assert grant in open_tasks and create not in open_tasks


def test_a_task_a_sync_sees_done_is_verified_at_once(repo: Path, store_args: list[str]) -> None:
    plan = _applied(repo, store_args)
    create = _order(plan, CREATE)
    # facilities makes Grace's badge as the task asked, and sends a new export
    with (repo / "exports" / "badges.csv").open("a") as export:
        export.write("B-200,true,,Grace Hopper,grace.hopper@quickstart.example,2026-11-29\n")
    _run("sync", str(repo), *store_args)
    with _store(repo, store_args) as store:
        history = [(e.state, e.message) for e in store.order_history(plan.digest, create)]
    assert history[-1] == ("verified", f"task T-{create} done by sync")
    lines = _status_lines(repo, store_args)
    at, state, message = _step(lines, CREATE)
    assert (state, message) == ("verified", f"task T-{create} done by sync")
    assert "  already done:" in lines[:at], lines


def test_a_task_marked_done_during_an_apply_leaves_its_order_to_that_apply(
    repo: Path, store_args: list[str]
) -> None:
    """An apply holds the environment: it may be about to verify the order itself, so
    the owner's mark is recorded and the order left to it (status already says done)."""
    plan = _applied(repo, store_args)
    create = _order(plan, CREATE)
    with _store(repo, store_args) as running, running.lock("ci"):
        _run("tasks", "done", f"T-{create}", "-C", str(repo), "--by", "Fatima", *store_args)
        with _store(repo, store_args) as store:
            assert store.order_history(plan.digest, create)[-1].state == "transmitted"
            task = store.task(f"T-{create}")
    assert task is not None and (task.state, task.done_by) == ("verified", "Fatima")
    _, state, message = _step(_status_lines(repo, store_args), CREATE)
    assert (state, message) == ("verified", f"task T-{create} done by Fatima")
    _run("apply", str(repo / "plan.json"), "-C", str(repo), "--today", TODAY, *store_args)
    with _store(repo, store_args) as store:
        history = [(e.state, e.message) for e in store.order_history(plan.digest, create)]
    assert history[-1] == ("verified", f"task T-{create} done by Fatima")


def test_status_lists_no_finished_step_as_outstanding(repo: Path, store_args: list[str]) -> None:
    """The trial's report: after the task was done and applied, Grace's badge step was
    listed above "already done:", among what is outstanding, not under it."""
    plan = _applied(repo, store_args)
    create = _order(plan, CREATE)
    _run("tasks", "done", f"T-{create}", "-C", str(repo), "--by", "Fatima", *store_args)
    _run("apply", str(repo), "--auto-approve", "--today", TODAY, *store_args)
    lines = _status_lines(repo, store_args)
    head = lines[0]
    assert head.startswith("pending") and "outstanding" in head, lines
    cut = lines.index("  already done:")
    above = [line.split()[0] for line in lines[1:cut] if not line.startswith("   ")]
    below = [line for line in lines[cut + 1 :] if not line.startswith("   ")]
    assert "verified" not in above, lines
    assert any(line.split()[0] == "verified" and CREATE in line for line in below), lines
    outstanding = int(head.split("(")[1].split()[0])
    assert len(above) == outstanding, lines


def test_the_same_export_read_again_does_not_undo_a_task_done(
    repo: Path, store_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Syncing, later, the export facilities sent before doing the work (a routine sync)
    says nothing of the work: the task stays done, and plan does not ask for it again. A
    new export that still lacks the badge says it is not there: plan asks for it again."""
    plan = _applied(repo, store_args)
    create = _order(plan, CREATE)
    _run("tasks", "done", f"T-{create}", "-C", str(repo), "--by", "Fatima", *store_args)
    # the syncs below read the export later (the clock, not the export, moved)
    monkeypatch.setattr("accesshive.sync.now", lambda: "2099-01-01T09:00:00+00:00")
    _run("sync", str(repo), *store_args)
    _, state, message = _step(_status_lines(repo, store_args), CREATE)
    assert (state, message) == ("verified", f"task T-{create} done by Fatima")
    assert CREATE not in _run("plan", str(repo), "--today", TODAY, *store_args).output

    with (repo / "exports" / "badges.csv").open("a") as export:
        export.write("B-300,true,office-hq,Guest Badge,,2026-11-30\n")
    _run("sync", str(repo), *store_args)
    assert CREATE in _run("plan", str(repo), "--today", TODAY, *store_args).output
    _, state, _ = _step(_status_lines(repo, store_args), CREATE)
    assert state == "pending"
