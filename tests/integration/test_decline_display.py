"""What a decline looks like wherever a plan or its run is shown, end to end through the
CLI on the quickstart (its real SQLite wiki; the store on SQLite and on PostgreSQL): the
plan's text, ``show`` in or with the repository, ``approvals verify`` (once per order), the
per-source summary of apply (``declined``, not ``failed``); and a withdrawal of a decline
the reviewer never made is refused, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from accesshive.approvals.files import approvals_path
from accesshive.plan.planfile import read_plan
from tests.integration import test_declines
from tests.integration.test_declines import (
    REASON,
    TODAY,
    _apply,
    _decline,
    _ok,
    _order,
    _plan,
    _run,
)
from tests.support.ssh import keygen

pytestmark = test_declines.pytestmark
repo = test_declines.repo  # the quickstart with alice (security) and the review rule


def _badge_grant(plan_file: Path) -> str:
    (oid,) = [
        o.id
        for o in read_plan(plan_file).orders
        if o.action == "grant" and o.change.source == "badges" and o.gate
    ]
    return oid


def test_plan_and_show_say_who_declined_an_order(
    repo: Path, store_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_file = _plan(repo, store_args)
    admins = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    _ok(_decline(repo, plan_file, admins, "--reason", REASON))
    line = f"[{admins}]  ✗ declined by alice: {REASON}"

    planned = _ok(_run("plan", str(repo), "--today", TODAY, *store_args))
    assert line in planned.output
    (row,) = [x for x in planned.output.splitlines() if admins in x]
    assert "awaiting approval" not in row
    assert ", 1 declined, " in planned.output.splitlines()[0]

    # show, with the repository given, and run inside it
    shown = _ok(_run("show", str(plan_file), "-C", str(repo), *store_args))
    assert line in shown.output
    monkeypatch.chdir(repo)
    inside = _ok(_run("show", str(plan_file), *store_args))
    assert line in inside.output

    # the PR comment: in the Declined table only, never among the orders waiting for
    # review (it used to be listed there too, "nobody yet")
    comment = _ok(
        _run("show", str(plan_file), "--format", "markdown", "-C", str(repo), *store_args)
    ).output
    declined_part, _, rest = comment.partition("#### Waiting for review")
    assert f"`{admins}`" in declined_part and "#### Declined (1 order)" in declined_part
    assert f"`{admins}`" not in rest.split("\n####")[0]

    # approvals verify: the declined order once, as declined
    verified = _run("approvals", "verify", str(plan_file), "-C", str(repo), *store_args)
    assert verified.exit_code == 1
    assert verified.output.count(admins) == 1, verified.output
    assert f"declined by alice: {REASON}" in verified.output.split(admins)[1]


def test_a_source_with_a_declined_order_and_waiting_tasks_reads_declined(
    repo: Path, store_args: list[str]
) -> None:
    plan_file = _plan(repo, store_args)
    badge = _badge_grant(plan_file)
    _ok(_decline(repo, plan_file, badge, "--reason", REASON))
    result, out = _apply(repo, plan_file, store_args)
    assert result.exit_code == 1, result.output
    badges = out["sources"]["badges"]
    assert "declined" in badges["states"] and "errored" not in badges["states"]
    assert badges["status"] == "declined"
    assert out["sources"]["wiki"]["status"] != "failed"  # nothing failed on the wiki

    text = _run("apply", str(plan_file), "-C", str(repo), "--today", TODAY, *store_args)
    (row,) = [x for x in text.output.splitlines() if x.strip().startswith("badges ")]
    assert row.split()[1] == "declined", text.output


def test_withdrawing_a_decline_you_never_made_is_refused(repo: Path, store_args: list[str]) -> None:
    # bob, a second reviewer, declines; alice tries to withdraw
    keys = repo.parent / "keys"
    public = keygen(keys / "bob")
    policy = repo / "policies" / "review.yaml"
    data = YAML().load(policy.read_text())
    data["review"]["reviewers"]["bob"] = {"groups": ["security"], "public_keys": [public]}
    with policy.open("w") as f:
        YAML().dump(data, f)
    plan_file = _plan(repo, store_args)
    admins = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    by_bob = [
        "decline", str(plan_file), "--order", admins, "--key", str(keys / "bob"), "--as", "bob",
        "-C", str(repo), "--reason", REASON,
    ]  # fmt: skip
    _ok(_run(*by_bob))
    path = approvals_path(repo, read_plan(plan_file).digest)
    before = path.read_bytes()

    refused = _decline(repo, plan_file, admins, "--withdraw", *store_args)
    assert refused.exit_code != 0
    assert f"alice has no decline of {admins} to withdraw" in refused.output
    assert "signed" not in refused.output
    assert path.read_bytes() == before  # nothing written

    # bob withdraws his own: accepted, and the order is no longer declined
    _ok(_run(*by_bob[:-2], "--withdraw", *store_args))
    verified = _run("approvals", "verify", str(plan_file), "-C", str(repo), "--format", "json")
    assert "declined" not in json.loads(verified.stdout)[admins]
