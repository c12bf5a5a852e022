"""A leaver keeps no account on a manual source that accesshive knows of, even when the
owner's export does not show it yet: the account was created on a task marked done, so
it gets its leaver task (disable, or revoke and delete past retention), run end to end
through the CLI as a user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main

TODAY = "2026-11-29"


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 6), result.output
    return result


def _json(*args: str) -> Any:
    return json.loads(_run(*args, "--format", "json").stdout)


def _badges(plan: dict[str, Any], who: str) -> dict[str, str]:
    """action (with its entitlement) → order id, of ``who``'s orders on the badges source."""
    return {
        o["action"] + (f" {o['entitlement']}" if o["entitlement"] else ""): o["id"]
        for o in plan["orders"]
        if o["source"] == "badges" and o["identity"] == who
    }


def _apply(repo: Path, store: list[str]) -> None:
    _run("apply", "--auto-approve", str(repo), "--today", TODAY, *store)


def _plan(repo: Path, store: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = _json("plan", str(repo), "--today", TODAY, *store)
    return result


def _done(repo: Path, store: list[str], order_id: str) -> None:
    _run("tasks", "done", f"T-{order_id}", "-C", str(repo), "--by", "Fatima", *store)


def _status(repo: Path, store: list[str], who: str) -> str:
    rows = _json("status", str(repo), "--today", TODAY, *store)
    return str(next(r["status"] for r in rows if r["identity"] == who))


def _leave(repo: Path, since: str) -> None:
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "  grace.hopper:\n",
            f"  grace.hopper:\n    lifecycle_state: terminated\n    lifecycle_since: {since}\n",
        )
    )


def test_a_leaver_loses_the_badge_a_done_task_created(repo: Path, store_args: list[str]) -> None:
    _run("sync", str(repo), *store_args)
    _apply(repo, store_args)
    create = _badges(_plan(repo, store_args), "grace.hopper")["create_account"]
    _done(repo, store_args, create)  # the export still has no badge for Grace

    _leave(repo, since="2026-11-25")  # within retention: disabled, not deleted
    plan = _plan(repo, store_args)
    orders = _badges(plan, "grace.hopper")
    assert list(orders) == ["disable_account"]
    disable = next(o for o in plan["orders"] if o["id"] == orders["disable_account"])
    assert (disable["kind"], disable["name"]) == ("manual_task", "Grace Hopper")
    assert _status(repo, store_args, "grace.hopper") == "pending"

    _apply(repo, store_args)  # the plan is what apply plans again: not refused
    tasks = {t["id"]: t["description"] for t in _json("tasks", "list", str(repo), *store_args)}
    assert tasks == {f"T-{orders['disable_account']}": "disable account Grace Hopper on badges"}

    _done(repo, store_args, orders["disable_account"])
    assert _badges(_plan(repo, store_args), "grace.hopper") == {}
    assert _status(repo, store_args, "grace.hopper") == "provisioned"


def test_past_retention_the_known_badge_loses_its_grants_and_is_deleted(
    repo: Path, store_args: list[str]
) -> None:
    _run("sync", str(repo), *store_args)
    _apply(repo, store_args)
    _done(repo, store_args, _badges(_plan(repo, store_args), "grace.hopper")["create_account"])
    _apply(repo, store_args)  # the grant waited for the create
    _done(repo, store_args, _badges(_plan(repo, store_args), "grace.hopper")["grant office-hq"])

    _leave(repo, since="2026-09-01")  # terminated 30 days and more ago: deleted
    orders = _badges(_plan(repo, store_args), "grace.hopper")
    # server-room was never granted (its task awaits approval): only office-hq is revoked
    assert sorted(orders) == ["delete_account", "revoke office-hq"]

    plan = _plan(repo, store_args)
    delete = next(o for o in plan["orders"] if o["id"] == orders["delete_account"])
    assert delete["gate"] is not None  # a deletion awaits review, as on any source


def test_a_leaver_whose_create_task_is_still_open_gets_a_warning(repo: Path) -> None:
    _run("sync", str(repo))
    _apply(repo, [])
    create = _badges(_plan(repo, []), "grace.hopper")["create_account"]
    _leave(repo, since="2026-11-25")
    plan = _plan(repo, [])
    assert _badges(plan, "grace.hopper") == {}  # accesshive cannot know: no task, but said
    assert any(
        f"create task T-{create} is still open" in w
        and f"accesshive tasks done T-{create}" in w
        and "grace.hopper" in w
        for w in plan["warnings"]
    ), plan["warnings"]
    text = _run("plan", str(repo), "--today", TODAY).output  # its hint runs as printed
    assert f"`accesshive tasks done T-{create} -C {repo}`" in text
