"""Partial outages: a real slapd stopped before apply, and killed in the middle of one;
a SCIM server's port closed in the middle of one.

The repository is the quickstart (its wiki is a SQLite database, always up) with an
LDAP directory added, served by a throwaway slapd. The directory is made to fail for
real: its slapd is stopped (SIGKILL), so connections are refused.

Time is bounded by counting, not by a clock: apply's retries wait through an injected
``sleep`` that records each requested wait and returns at once. A dead source must cost
a handful of waits whatever the number of its orders (the breaker), where one backoff
per order would request hundreds; the test asserts the count, and that the waits asked
for add up to well under a minute.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import ForgedPlanError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.support import slapd
from tests.support.scim_server import scim_server
from tests.support.scim_sources import design_source

TODAY = dt.date(2026, 11, 29)
STORE = StoreRef()
CONCURRENCY = 4
DOWN_AFTER = 5
"""Consecutive connection failures after which the source is taken as down."""

DIRECTORY = """
sources:
  directory:
    kind: ldap
    owner: it-ops
    concurrency: {concurrency}
    connection:
      url: {url}
      bind_dn: {admin}
      bind_password: "${{env:DIRECTORY_PASSWORD}}"
      users_dn: {people}
      rdn_attribute: uid
      object_classes: [inetOrgPerson]
      groups_dn: {groups}
      group_object_class: groupOfNames
      empty_group_member: {nobody}
      disable: {{method: ou, ou: "{disabled}"}}
    account:
      name_attribute: uid
      schema:
        uid: {{type: string, required: true}}
        cn: {{type: string, required: true}}
        sn: {{type: string, required: true}}
        mail: {{type: email, required: true}}
      create:
        uid: "{{{{ given_name|slug('') }}}}.{{{{ family_name|slug('') }}}}"
      sync:
        cn: "{{{{ given_name }}}} {{{{ family_name }}}}"
        sn: "{{{{ family_name }}}}"
        mail: "{{{{ email }}}}"
      correlation: [mail, uid]
    entitlements:
      staff: {{description: Everyone}}
"""


@pytest.fixture
def server() -> Iterator[slapd.Slapd]:
    slapd.require()
    with slapd.slapd_server() as running:
        yield running


def _repo(tmp_path: Path, server: slapd.Slapd, people: int) -> Path:
    root = tmp_path / "org"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    (root / "sources" / "directory.yaml").write_text(
        DIRECTORY.format(
            concurrency=CONCURRENCY,
            url=server.url,
            admin=slapd.ADMIN_DN,
            people=slapd.PEOPLE,
            groups=slapd.GROUPS,
            nobody=slapd.NOBODY,
            disabled=slapd.DISABLED,
        )
    )
    access = (root / "access.yaml").read_text()
    access = access.replace(
        "access_profiles:\n",
        "access_profiles:\n  dir-staff:\n    source: directory\n    entitlements: [staff]\n",
        1,
    ).replace("[wiki-read, badge-office]", "[wiki-read, badge-office, dir-staff]")
    (root / "access.yaml").write_text(access)
    _people(root, people)
    return root


def _people(root: Path, people: int) -> None:
    """``people`` more identities (Sales: the quickstart's employee role)."""
    if people:
        lines = ["identities:"]
        for n in range(people):
            lines += [
                f"  person{n:04d}.test:",
                "    type: human",
                "    attributes:",
                "      given_name: Person",
                f"      family_name: Test{n:04d}",
                f"      email: person{n:04d}@quickstart.example",
                "      department: Sales",
                f"      employee_number: {5000 + n}",
            ]
        (root / "identities" / "many.yaml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRECTORY_PASSWORD", slapd.ADMIN_PASSWORD)


def _sync_and_plan(root: Path) -> Plan:
    synced = CliRunner().invoke(main, ["sync", str(root)])
    assert synced.exit_code == 0, synced.output
    return plan_repository(root, TODAY, store=STORE)


def _on(plan: Plan, source: str) -> list[Order]:
    return [o for o in plan.orders if o.change.source == source]


@pytest.mark.usefixtures("env")
def test_a_directory_down_before_apply_fails_alone(tmp_path: Path, server: slapd.Slapd) -> None:
    root = _repo(tmp_path, server, people=0)
    plan = _sync_and_plan(root)
    directory, wiki = _on(plan, "directory"), _on(plan, "wiki")
    assert directory and wiki
    plan_file = tmp_path / "plan.json"
    assert CliRunner().invoke(main, ["plan", str(root), "--out", str(plan_file)]).exit_code in (
        0,
        2,
    )
    server.stop()

    text = CliRunner().invoke(main, ["apply", str(plan_file), "-C", str(root)])
    assert text.exit_code == 1, text.output
    assert "failed" in text.output.splitlines()[0]
    summary = text.output[text.output.index("Sources:") :]
    [line] = [li for li in summary.splitlines() if li.startswith("  directory ")]
    assert "unreachable" in line
    assert "could not read directory to check the plan is current:" in summary
    assert "Connection refused" in summary or "refused" in summary.lower()
    [wiki_line] = [li for li in summary.splitlines() if li.startswith("  wiki ")]
    assert "verified" in wiki_line and "errored" not in wiki_line
    assert "Unreachable: directory. Run apply again once it is back" in summary

    # status says which source each identity waits on, and that it is down
    status = CliRunner().invoke(main, ["status", str(root), "--today", TODAY.isoformat()])
    waiting = [li for li in status.output.splitlines() if "outstanding" in li]
    assert waiting, status.output
    assert all("directory unreachable" in li for li in waiting), status.output
    as_json = CliRunner().invoke(
        main, ["status", str(root), "--format", "json", "--today", TODAY.isoformat()]
    )
    rows = {r["identity"]: r for r in json.loads(as_json.output)}
    down = [r for r in rows.values() if r["waiting_on"]]
    assert down and all(
        {"source": "directory", "outstanding": n, "reason": "unreachable"} in r["waiting_on"]
        for r in down
        for n in [sum(1 for s in r["steps"] if s["source"] == "directory")]
    ), down
    # and so does the report, for the same identities
    report_text = CliRunner().invoke(
        main, ["report", str(root), "--no-sync", "--format", "text", "--today", TODAY.isoformat()]
    )
    lines = [li for li in report_text.output.splitlines() if "outstanding" in li]
    assert lines and all("directory unreachable" in li for li in lines), report_text.output
    reported = CliRunner().invoke(
        main, ["report", str(root), "--no-sync", "--format", "json", "--today", TODAY.isoformat()]
    )
    for ident in json.loads(reported.output)["identities"]:
        if ident["identity"] in {r["identity"] for r in down}:
            assert {w["source"]: w["reason"] for w in ident["waiting_on"]}["directory"] == (
                "unreachable"
            )

    # the same outcome, for machines (a second run: the wiki's orders are done now)
    out = CliRunner().invoke(main, ["apply", str(plan_file), "-C", str(root), "--format", "json"])
    assert out.exit_code == 1, out.output
    report = json.loads(out.output)
    assert report["status"] == "failed"
    assert report["sources"]["directory"]["status"] == "unreachable"
    assert report["sources"]["directory"]["unreachable"].startswith(
        "could not read directory to check the plan is current: "
    )
    assert report["sources"]["wiki"]["status"] in ("ok", "waiting")  # a gated order waits
    states = {oid: o["state"] for oid, o in report["orders"].items()}
    for order in wiki:
        assert states[order.id] in ("verified", "awaiting_approval"), order.id
    messages = {oid: o["message"] for oid, o in report["orders"].items()}
    for order in directory:
        assert states[order.id] in ("errored", "blocked"), order.id
        if states[order.id] == "errored":
            assert messages[order.id].startswith(
                "could not read directory to check the plan is current: "
            )
    assert "blocked" in {states[o.id] for o in directory}  # the grants below the creates
    assert server.process is None  # nothing brought it back behind the test's back
    with open_store(root) as store:
        audit = {e.event: json.loads(e.details) for e in store.audit_entries()}  # the latest
    assert set(audit["apply_started"]["unreadable"]) == {"directory"}
    assert set(audit["apply_finished"]["unreachable"]) == {"directory"}


@pytest.mark.usefixtures("env")
def test_a_directory_killed_mid_apply_costs_a_bounded_time_and_resumes(
    tmp_path: Path, server: slapd.Slapd
) -> None:
    root = _repo(tmp_path, server, people=120)
    plan = _sync_and_plan(root)
    directory = {o.id for o in _on(plan, "directory")}
    assert len(directory) >= 240
    sleeps: list[float] = []
    verified_on_directory: list[str] = []

    def progress(order: Order, state: str, message: str | None) -> None:
        if order.id in directory and state == "verified":
            verified_on_directory.append(order.id)
            if len(verified_on_directory) == 30:
                server.stop()  # the directory dies in the middle of the apply

    result = apply_plan(root, plan, STORE, TODAY, "ci", progress, sleep=sleeps.append)
    assert result.status == "failed"
    states = Counter(result.states[oid] for oid in directory)
    assert "error" not in states, states
    # bounded: the breaker opens after DOWN_AFTER consecutive connection failures; each
    # slot may have one more attempt in flight, and an answer still coming back while the
    # server goes down counts the failures from zero again, once or twice. One backoff per
    # order would ask for hundreds of waits (attempts - 1 per order).
    assert len(sleeps) <= 2 * (DOWN_AFTER + CONCURRENCY), sleeps
    assert sum(sleeps) < 60, sleeps
    # the rest of the directory's orders: errored, or blocked below an errored create
    assert states["verified"] >= 30 and states["errored"] > 0, states
    assert set(states) <= {"verified", "errored", "blocked"}, states
    assert "directory" in result.unreachable
    unreachable = [result.messages[oid] for oid in directory if result.states[oid] == "errored"]
    # each with the directory's own failure: "directory is unreachable: <message>; not
    # attempted", or an order (or a batch's lookup) whose own attempts failed, "<message>
    # (gave up: directory is unreachable)"
    assert all("directory is unreachable" in m for m in unreachable), Counter(unreachable)
    assert any(m.endswith("; not attempted") for m in unreachable)
    # the other source was not held up
    wiki = _on(plan, "wiki")
    assert {result.states[o.id] for o in wiki} <= {"verified", "awaiting_approval"}

    server.start()  # back: apply again finishes what is left
    again = apply_plan(root, plan, STORE, TODAY, "ci", sleep=sleeps.append)
    assert again.status in ("complete", "incomplete"), Counter(again.states.values())
    assert {again.states[oid] for oid in directory} == {"verified"}
    assert server.entry(f"uid=person.test0119,{slapd.PEOPLE}") is not None


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("forged_on", ["wiki", "directory"])
def test_a_forged_plan_is_refused_whole_while_a_source_is_down(
    tmp_path: Path, server: slapd.Slapd, forged_on: str
) -> None:
    """The directory cannot be read, so its orders are not sent; the plan is still
    checked against what planning gives: on the sources read (the wiki) and, since the
    stored snapshot is the one the plan was made from, on the directory too."""
    root = _repo(tmp_path, server, people=0)
    plan = _sync_and_plan(root)
    create = next(o for o in _on(plan, forged_on) if o.action == "create_account")
    attrs = {**create.change.attributes, "mail": "attacker@evil.example"}
    if forged_on == "wiki":
        attrs = {**create.change.attributes, "email": "attacker@evil.example"}
    edited = replace(create, change=replace(create.change, attributes=attrs))
    forged = replace(plan, orders=tuple(edited if o.id == create.id else o for o in plan.orders))
    server.stop()
    with pytest.raises(ForgedPlanError, match="differs from what planning gives in attributes"):
        apply_plan(root, forged, STORE, TODAY, "attacker", sleep=lambda s: None)
    with sqlite3.connect(root / ".accesshive" / "wiki-app.db") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)  # nothing ran


def test_a_scim_server_closed_mid_apply_costs_a_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same over HTTP: the SCIM server's port is closed in the middle of the apply
    (httpx's refused connections, through the SCIM connector)."""
    with scim_server() as scim:
        monkeypatch.setenv("DESIGN_SCIM_TOKEN", scim.token)
        scim.create_group("staff")
        root = tmp_path / "org"
        shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
        (root / "sources" / "design.yaml").write_text(
            design_source(scim.url, concurrency=CONCURRENCY, admins=False)
        )
        access = (root / "access.yaml").read_text()
        profile = "access_profiles:\n  design-staff:\n    source: design\n"
        access = access.replace(
            "access_profiles:\n", profile + "    entitlements: [staff]\n", 1
        ).replace("[wiki-read, badge-office]", "[wiki-read, badge-office, design-staff]")
        (root / "access.yaml").write_text(access)
        _people(root, 120)
        plan = _sync_and_plan(root)
        design = {o.id for o in _on(plan, "design")}
        assert len(design) >= 240
        sleeps: list[float] = []
        verified: list[str] = []

        def progress(order: Order, state: str, message: str | None) -> None:
            if order.id in design and state == "verified":
                verified.append(order.id)
                if len(verified) == 30:
                    scim.stop()  # the port is closed: connections are refused

        result = apply_plan(root, plan, STORE, TODAY, "ci", progress, sleep=sleeps.append)
    states = Counter(result.states[oid] for oid in design)
    assert "error" not in states, states
    assert len(sleeps) <= 2 * (DOWN_AFTER + CONCURRENCY), sleeps
    assert sum(sleeps) < 60, sleeps
    assert set(states) <= {"verified", "errored", "blocked"}, states
    assert states["verified"] >= 30 and states["errored"] > 0, states
    errored = [result.messages[oid] for oid in design if result.states[oid] == "errored"]
    odd = sorted({m for m in errored if "design is unreachable" not in m})
    assert not odd, "\n".join(odd)
    assert result.status == "failed" and "design" in result.unreachable
    assert {result.states[o.id] for o in _on(plan, "wiki")} <= {"verified", "awaiting_approval"}
