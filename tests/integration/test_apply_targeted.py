"""``apply --source`` / ``--identity``: a targeted run of a saved plan, on examples/acme
against real targets (slapd, scim2-server, the Google Workspace stand-in, ...).

Only the targeted orders run; the whole plan is still checked. A targeted order whose
dependency is neither done nor targeted is held (``pending``) saying which and what to
do, and nothing of it reaches its target; the run is audited as targeted. Targeting
the sources in dependency order, then applying the whole plan, leaves nothing to do.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import EXIT_WAITING
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.operations.targeting import Target
from accesshive.plan.model import Plan
from accesshive.plan.planfile import write_plan
from accesshive.store import open_store
from tests.integration.test_acme_end_to_end import TODAY, acme, servers
from tests.integration.test_plan_forgery import _forge, _saved_plan, repo
from tests.support.scim_server import ScimServer
from tests.support.scim_sources import design_repo, design_server, design_source, people_yaml
from tests.support.wiki import wiki_state
from tests.support.workers import Worker, apply_workers_argv, planned

__all__ = ["acme", "repo", "servers"]  # fixtures, shared with the tests they come from


def _plan(root: Path) -> Plan:
    assert CliRunner().invoke(main, ["sync", str(root)]).exit_code == 0
    return plan_repository(root, TODAY, store=StoreRef(), allow_mass_changes=True)


def _users(scim: ScimServer) -> set[str]:
    listed = scim.http().get("Users", params={"count": 1000}).json()
    return {u["userName"] for u in listed.get("Resources", [])}


def _audited(root: Path) -> dict[str, dict[str, object]]:
    """The latest audit entry of each event (apply_started, apply_finished, ...)."""
    with open_store(root, "local") as store:
        return {e.event: json.loads(e.details) for e in store.audit_entries()}


def test_a_source_whose_dependencies_are_not_done_is_held_then_runs_in_order(
    acme: Path, servers: dict[str, object]
) -> None:
    scim = servers["scim"]
    assert isinstance(scim, ScimServer)
    plan = _plan(acme)
    figma = {o.id for o in plan.orders if o.change.source == "figma"}
    assert figma and any(
        d not in figma for o in plan.orders if o.id in figma for d in o.depends_on
    )  # figma's accounts need Workspace users first

    held = apply_plan(acme, plan, StoreRef(), TODAY, "ci", target=Target(source="figma"))
    assert set(held.states) == figma  # only figma's orders are this run's
    assert set(held.states.values()) == {"pending"}
    outside = [
        o.id for o in plan.orders if o.id in figma and any(d not in figma for d in o.depends_on)
    ]
    for oid in outside:
        assert "not done and not in this targeted run" in held.messages[oid], held.messages[oid]
    assert _users(scim) == set()  # nothing reached the target
    with open_store(acme, "local") as store:
        assert set(store.order_states(plan.digest)) == figma  # the other sources untouched
    audit = _audited(acme)
    assert audit["apply_started"]["targeted"] == {"source": "figma"}
    assert audit["apply_finished"]["targeted"] == {"source": "figma"}

    # in dependency order: the identity provider, Workspace, then figma again
    for source in ("corp-ldap", "google-workspace", "figma"):
        ran = apply_plan(acme, plan, StoreRef(), TODAY, "ci", target=Target(source=source))
        mine = {o.id for o in plan.orders if o.change.source == source}
        assert set(ran.states) == mine
        assert set(ran.states.values()) <= {"verified", "inactive"}, ran.messages
    creates = [o for o in plan.orders if o.id in figma and o.action == "create_account"]
    assert len(_users(scim)) == len(creates)

    # the rest of the plan, whole: what the targeted runs did is done, not sent again
    rest = apply_plan(acme, plan, StoreRef(), TODAY, "ci")
    assert {rest.states[oid] for oid in figma} <= {"verified", "inactive"}
    assert "targeted" not in _audited(acme)["apply_started"]
    # each run is kept with what it was targeted at: `state show` tells partial runs apart
    shown = CliRunner().invoke(main, ["state", "show", str(acme), "--format", "json"])
    assert [r["targeted"] for r in json.loads(shown.output)["runs"]][-5:] == [
        {"source": "figma"},
        {"source": "corp-ldap"},
        {"source": "google-workspace"},
        {"source": "figma"},
        None,
    ]
    text = CliRunner().invoke(main, ["state", "show", str(acme)]).output
    assert "(targeted: --source corp-ldap)" in text and "(whole plan)" in text


def test_an_identity_runs_alone_and_the_cli_says_so(
    acme: Path, servers: dict[str, object], tmp_path: Path
) -> None:
    scim = servers["scim"]
    assert isinstance(scim, ScimServer)
    plan = _plan(acme)
    someone = next(
        o.change.identity
        for o in plan.orders
        if o.change.source == "figma" and o.action == "create_account"
    )
    assert someone is not None
    theirs = {o.id for o in plan.orders if o.change.identity == someone}
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    runner = CliRunner()
    applied = runner.invoke(
        main,
        ["apply", str(plan_file), "-C", str(acme), "--identity", someone, "--format", "json"],
    )
    assert applied.exit_code in (0, EXIT_WAITING), applied.output
    out = json.loads(applied.output)
    assert out["targeted"] == {"identity": someone}
    assert set(out["orders"]) == theirs
    automatic = {o.id for o in plan.orders if o.id in theirs and o.change.source != "badges"}
    assert {out["orders"][oid]["state"] for oid in automatic} == {"verified"}, out["orders"]
    # the badge system is manual: its account is a task, what needs it waits for it
    manual = {oid: o["state"] for oid, o in out["orders"].items() if oid not in automatic}
    assert sorted(manual.values()) == ["pending", "transmitted"]
    assert len(_users(scim)) == 1  # their figma account, nobody else's
    assert _audited(acme)["apply_started"]["targeted"] == {"identity": someone}
    shown = runner.invoke(main, ["state", "show", str(acme), "--format", "json"])
    assert [r["targeted"] for r in json.loads(shown.output)["runs"]] == [{"identity": someone}]

    wrong = runner.invoke(
        main, ["apply", str(plan_file), "-C", str(acme), "--source", "figmaa", "--format", "json"]
    )
    assert wrong.exit_code == 1, wrong.output
    message = json.loads(wrong.output)["error"]["message"]
    assert "no source 'figmaa'" in message and "did you mean 'figma'" in message


def test_a_forged_plan_is_refused_even_when_the_forged_order_is_not_targeted(
    repo: Path, tmp_path: Path
) -> None:
    """The whole plan file is checked before a targeted run: a review gate removed from
    one identity's order refuses a run targeted at another identity, and nothing runs."""
    path, plan = _saved_plan(repo, tmp_path)
    gated = next(o for o in plan.orders if o.gate)
    other = next(
        o.change.identity for o in plan.orders if o.change.identity != gated.change.identity
    )
    assert other is not None
    ungated = replace(gated, gate=None, change=replace(gated.change, sensitive=False))
    write_plan(_forge(plan, {gated.id: ungated}), path)
    before = wiki_state(repo)
    refused = CliRunner().invoke(main, ["apply", str(path), "-C", str(repo), "--identity", other])
    assert refused.exit_code == 1, refused.output
    assert f"order {gated.id}" in refused.output and "carries a review gate" in refused.output
    assert wiki_state(repo) == before
    with open_store(repo) as store:
        assert store.latest_run() is None


def test_a_targeted_run_on_workers_sends_only_that_identity(
    tmp_path: Path, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply --workers --identity``: the walk is cut down before any job is queued, so
    the workers send only that identity's orders."""
    with design_server() as scim:
        monkeypatch.setenv("DESIGN_SCIM_TOKEN", scim.token)
        design = design_source(scim.url, concurrency=4)
        # as in test_workers: 30 people in Sales, and one more, an admin
        root = design_repo(tmp_path, design, people_yaml(31, admin_last=True))
        plan_file = planned(root, ["--store", postgres_db])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        worker = Worker(root, postgres_db, env)
        try:
            applied = subprocess.run(
                apply_workers_argv(plan_file, root, postgres_db, "--identity", "person001"),
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
        finally:
            log = worker.stop()
        assert applied.returncode == 0, applied.stderr + log
        out = json.loads(applied.stdout)
        assert out["targeted"] == {"identity": "person001"}
        assert {o["state"] for o in out["orders"].values()} == {"verified"}
        assert _users(scim) == {"person001@quickstart.example"}
        assert set(worker.states) == set(out["orders"])  # they ran on the worker
