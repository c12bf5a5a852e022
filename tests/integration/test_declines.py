"""Declined orders, end to end through the CLI, with the store on SQLite and on PostgreSQL
and the quickstart's real SQLite wiki as the target: a reviewer declines an order
(signed with the real ssh-keygen, or from a pull request); apply does not apply it,
blocks what depends on it with the reason, runs the rest, exits 1 naming it, records and
audits who and why; the PR comment and status show it; a re-plan of the same content
keeps it; a withdrawal or a change of the order ends it; what cannot be trusted is
refused, naming its file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from markdown_it import MarkdownIt
from ruamel.yaml import YAML

from accesshive.approvals.files import approvals_path, read_approvals, write_approvals
from accesshive.cli import main
from accesshive.operations import StoreRef
from accesshive.plan.planfile import read_plan
from tests.conftest import reviewed_quickstart
from tests.support.github_api import _comment, _GitHub, _review
from tests.support.ssh import have_openssh, keygen

pytestmark = pytest.mark.skipif(
    not have_openssh() and not os.environ.get("CI"), reason="needs openssh-client"
)

TODAY = "2026-11-29"
REASON = "grace needs no wiki account until her contract is signed"


@pytest.fixture
def repo(tmp_path: Path, store_args: list[str]) -> Path:
    """The quickstart, synced, with alice (security, a real SSH key, GitHub login
    Alice-GH) and one rule: sensitive grants need one approval from security."""
    keys = tmp_path / "keys"
    keys.mkdir()
    public = keygen(keys / "alice")
    review = (
        "review:\n  reviewers:\n"
        f'    alice: {{groups: [security], github: Alice-GH, public_keys: ["{public}"]}}\n'
        "  rules:\n"
        "    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true,\n"
        "       reviewer_groups: [security], quorum: 1}\n"
    )
    return reviewed_quickstart(tmp_path / "quickstart", review, store_args=store_args)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _key(repo: Path) -> str:
    return str(repo.parent / "keys" / "alice")


def _plan(repo: Path, store_args: list[str], name: str = "plan.json") -> Path:
    out = repo.parent / name
    _ok(_run("plan", str(repo), "--out", str(out), "--today", TODAY, *store_args))
    return out


def _order(plan_file: Path, kind: str, identity: str, entitlement: str | None = None) -> str:
    (oid,) = [
        o.id
        for o in read_plan(plan_file).orders
        if o.action == kind
        and o.change.identity == identity
        and o.change.source == "wiki"
        and o.change.entitlement == entitlement
    ]
    return oid


def _decline(repo: Path, plan_file: Path, oid: str, *extra: str) -> Result:
    return _run(
        "decline", str(plan_file), "--order", oid, "--key", _key(repo), "--as", "alice",
        "-C", str(repo), *extra,
    )  # fmt: skip


def _apply(repo: Path, plan_file: Path, store_args: list[str]) -> tuple[Result, dict[str, Any]]:
    args = ["apply", str(plan_file), "-C", str(repo), "--today", TODAY, "--format", "json"]
    result = _run(*args, *store_args)
    refused = not result.stdout.startswith("{")  # refused before running: an error line
    return result, {} if refused else json.loads(result.stdout)


def _status(repo: Path, store_args: list[str]) -> dict[str, Any]:
    result = _ok(_run("status", str(repo), "--format", "json", "--today", TODAY, *store_args))
    return {s["identity"]: s for s in json.loads(result.stdout)}


def _audit(repo: Path, store_args: list[str], event: str) -> list[dict[str, Any]]:
    with StoreRef(None, store_args[1] if store_args else None).open(repo) as store:
        return [
            {"subject": e.subject, "actor": e.actor, **json.loads(e.details)}
            for e in store.audit_entries()
            if e.event == event
        ]


def _tables(markdown: str) -> list[list[list[str]]]:
    """Every table of the comment as rows of cell texts (header row first)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    tables: list[list[list[str]]] = []
    row: list[str] = []
    for i, token in enumerate(tokens):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            row.append(tokens[i + 1].content)
        elif token.type == "tr_close":
            tables[-1].append(row)
    return tables


# ------------------------------------------------------------------------- the CLI


def test_a_declined_order_is_not_applied_and_blocks_what_depends_on_it(
    repo: Path, store_args: list[str]
) -> None:
    plan_file = _plan(repo, store_args)
    create = _order(plan_file, "create_account", "grace.hopper")
    readers = _order(plan_file, "grant", "grace.hopper", "readers")
    admins = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    ada = [o.id for o in read_plan(plan_file).orders if o.change.identity == "ada.lovelace"]
    signed = _ok(_decline(repo, plan_file, create, "--reason", REASON))
    assert "signed 1 decline(s) as alice" in signed.output

    # the PR comment: the declined order, who and why, in its own table
    shown = _ok(_run("show", str(plan_file), "--format", "markdown", "-C", str(repo)))
    assert shown.output.splitlines()[0].endswith(", 1 declined")
    (declined_table,) = [t for t in _tables(shown.output) if t[0][2:] == ["declined by", "reason"]]
    assert declined_table[1] == [
        f"`{create}`",
        "create account grace.hopper on wiki",
        "alice",
        REASON,
    ]

    # apply: declined, its dependents blocked with the reason, ada's orders verified
    result, out = _apply(repo, plan_file, store_args)
    assert result.exit_code == 1, result.output
    assert out["status"] == "failed"
    assert out["declined"] == {create: f"declined by alice: {REASON}"}
    states = {oid: o["state"] for oid, o in out["orders"].items()}
    assert states[create] == "declined"
    assert states[readers] == states[admins] == "blocked"
    assert out["orders"][readers]["message"] == (
        f"dependency {create} was declined by alice: {REASON}"
    )
    assert {states[oid] for oid in ada} == {"verified"}

    # the human output names it too
    text = _run("apply", str(plan_file), "-C", str(repo), "--today", TODAY, *store_args)
    assert text.exit_code == 1
    assert f"  {create}  create account grace.hopper on wiki: declined by alice: {REASON}" in (
        text.output
    )

    # ... and how to withdraw it, runnable as printed by the reviewer whose key is at the
    # default path (the hint names the plan file, the order and the repository)
    # (and the store, where declines read from a pull request are recorded)
    hint = (
        f"`accesshive decline {plan_file} --order {create} --withdraw "
        f"--key ~/.ssh/id_ed25519 -C {' '.join([str(repo), *store_args])}`"
    )
    assert hint in text.output

    # recorded and audited, with who and why
    (audited, *_) = _audit(repo, store_args, "order_declined")
    assert audited["subject"] == create
    assert [(d["reviewer"], d["reason"]) for d in audited["declines"]] == [("alice", REASON)]
    assert "BEGIN SSH SIGNATURE" not in json.dumps(audited)

    # status: the identity and its step
    status = _status(repo, store_args)
    assert status["grace.hopper"]["status"] == "declined"
    assert status["ada.lovelace"]["status"] == "provisioned"
    step = next(s for s in status["grace.hopper"]["steps"] if s["order"] == create)
    assert (step["state"], step["message"]) == ("declined", f"declined by alice: {REASON}")
    detail = _ok(
        _run("status", str(repo), "--identity", "grace.hopper", "--today", TODAY, *store_args)
    )
    assert detail.output.startswith("declined     grace.hopper")


def test_a_re_plan_keeps_the_decline_until_it_is_withdrawn(
    repo: Path, store_args: list[str]
) -> None:
    first = _plan(repo, store_args)
    create = _order(first, "create_account", "grace.hopper")
    _ok(_decline(repo, first, create, "--reason", REASON))
    assert _apply(repo, first, store_args)[0].exit_code == 1

    # a new plan (the targets were read back since: another plan digest), same content
    second = _plan(repo, store_args, "plan2.json")
    assert read_plan(second).digest != read_plan(first).digest
    assert _order(second, "create_account", "grace.hopper") == create
    assert not approvals_path(repo, read_plan(second).digest).exists()
    result, out = _apply(repo, second, store_args)
    assert result.exit_code == 1
    assert out["declined"] == {create: f"declined by alice: {REASON}"}

    # withdrawn: it is applied, and what depends on it runs (the gated grant waits)
    withdrawn = _ok(_decline(repo, second, create, "--withdraw"))
    assert "withdrawal(s) of your decline" in withdrawn.output
    result, out = _apply(repo, second, store_args)
    assert result.exit_code == 6, result.output  # the sensitive grant waits for approval
    assert out["declined"] == {}
    assert out["orders"][create]["state"] == "verified"
    readers = _order(second, "grant", "grace.hopper", "readers")
    assert out["orders"][readers]["state"] == "verified"
    assert _status(repo, store_args)["grace.hopper"]["status"] == "pending"


def test_a_withdrawn_decline_does_not_restore_the_approval_given_before_it(
    repo: Path, store_args: list[str]
) -> None:
    """alice approves grace's sensitive grant, then declines it, then withdraws the
    decline: she no longer objects, but she has not approved it again, so it waits; once
    she approves again it is applied. Her decline took the approval out of the file, and
    an approval put back by hand beside the withdrawal still does not count."""
    plan_file = _plan(repo, store_args)
    admin = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    approve = ["approve", str(plan_file), "--order", admin, "--key", _key(repo), "-C", str(repo)]
    path = approvals_path(repo, read_plan(plan_file).digest)
    _ok(_run(*approve))
    (given,) = read_approvals(path)
    _ok(_decline(repo, plan_file, admin, "--reason", REASON))
    assert read_approvals(path) == []
    _ok(_decline(repo, plan_file, admin, "--withdraw"))
    verify = ["approvals", "verify", str(plan_file), "-C", str(repo), *store_args]
    verified = _run(*verify)
    assert verified.exit_code == 6, verified.output
    assert "needs 1 more approval(s) from security\n" in verified.output
    write_approvals(path, read_plan(plan_file).digest, [given])  # put back by hand
    verified = _run(*verify)
    assert verified.exit_code == 6, verified.output
    assert (
        "needs 1 more approval(s) from security; not counted: alice (declined it after "
        "approving, and a withdrawn decline does not restore the approval: approve again)"
    ) in verified.output
    result, out = _apply(repo, plan_file, store_args)
    assert out["declined"] == {}, result.output
    assert out["orders"][admin]["state"] == "awaiting_approval"
    _ok(_run(*approve))
    result, out = _apply(repo, plan_file, store_args)
    assert out["orders"][admin]["state"] == "verified", result.output


def test_a_deleted_decline_does_not_bring_back_the_approval_it_took_back(
    repo: Path, store_args: list[str]
) -> None:
    """Deleting the decline from the file (no signature needed) ends the objection, but
    the approval alice gave before it is gone with her decline: the grant waits."""
    plan_file = _plan(repo, store_args)
    admin = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    approve = ["approve", str(plan_file), "--order", admin, "--key", _key(repo), "-C", str(repo)]
    _ok(_run(*approve))
    _ok(_decline(repo, plan_file, admin, "--reason", REASON))
    path = approvals_path(repo, read_plan(plan_file).digest)
    text = path.read_text()
    path.write_text(text[: text.index("declines:")])
    result, out = _apply(repo, plan_file, store_args)
    assert out["declined"] == {}, result.output
    assert out["orders"][admin]["state"] == "awaiting_approval"


def test_a_decline_ends_when_the_order_changes(repo: Path, store_args: list[str]) -> None:
    plan_file = _plan(repo, store_args)
    create = _order(plan_file, "create_account", "grace.hopper")
    _ok(_decline(repo, plan_file, create, "--reason", REASON))
    # grace's address changes: her wiki account is created with other values
    identities = repo / "identities" / "people.yaml"
    text = identities.read_text()
    identities.write_text(text.replace("grace.hopper@", "grace.b.hopper@", 1))
    changed = _plan(repo, store_args, "changed.json")
    now = read_plan(changed).order(_order(changed, "create_account", "grace.hopper"))
    assert now.body() != read_plan(plan_file).order(create).body()
    result, out = _apply(repo, changed, store_args)
    assert out["declined"] == {}, result.output
    assert out["orders"][now.id]["state"] == "verified"


def test_a_decline_needs_a_reason_and_an_order_of_the_plan(
    repo: Path, store_args: list[str]
) -> None:
    plan_file = _plan(repo, store_args)
    create = _order(plan_file, "create_account", "grace.hopper")
    no_reason = _decline(repo, plan_file, create)
    assert no_reason.exit_code == 1
    assert no_reason.output == "Error: say why the order is declined (--reason TEXT)\n"
    unknown = _decline(repo, plan_file, "0123456789ab", "--reason", "no")
    assert unknown.exit_code == 1
    short = read_plan(plan_file).digest[:12]  # plans are named by 12 characters everywhere
    assert f"order 0123456789ab is not an order of plan {short}\n" in unknown.output


def test_a_decline_is_timed_in_utc(repo: Path, store_args: list[str]) -> None:
    """The latest statement of a reviewer on an order decides, so every statement's time
    carries its offset: UTC, to the microsecond, whatever the reviewer's time zone."""
    plan_file = _plan(repo, store_args)
    create = _order(plan_file, "create_account", "grace.hopper")
    _ok(_decline(repo, plan_file, create, "--reason", REASON))
    signed_at = _entry(repo, plan_file)["signed_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", signed_at), signed_at


# ---------------------------------------------------------------- what is refused


def _entry(repo: Path, plan_file: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(approvals_path(repo, read_plan(plan_file).digest).read_text())
    (entry,) = data["declines"]
    assert isinstance(entry, dict)
    return entry


def test_a_decline_copied_into_another_plans_file_is_refused_naming_the_file(
    repo: Path, store_args: list[str]
) -> None:
    first = _plan(repo, store_args)
    create = _order(first, "create_account", "grace.hopper")
    _ok(_decline(repo, first, create, "--reason", REASON))
    entry = _entry(repo, first)
    approvals_path(repo, read_plan(first).digest).unlink()
    # plan B: another plan (the configuration changed: its description) of the same orders
    project = (repo / "accesshive.yaml").read_text()
    assert "\ndescription: " in project
    (repo / "accesshive.yaml").write_text(project.replace("\ndescription: ", "\ndescription: B. "))
    other = _plan(repo, store_args, "other.json")
    assert _order(other, "create_account", "grace.hopper") == create
    digest = read_plan(other).digest
    assert digest != read_plan(first).digest
    target = approvals_path(repo, digest)
    target.write_text(json.dumps({"plan_digest": digest, "declines": [entry]}))
    result, _ = _apply(repo, other, store_args)
    assert result.exit_code == 1
    assert str(target) in result.output
    assert f"the decline of order {create} by 'alice' is refused" in result.output
    assert "the signature does not verify" in result.output
    verify = _run("approvals", "verify", str(other), "-C", str(repo), *store_args)
    assert verify.exit_code == 1 and str(target) in verify.output


def test_an_unsigned_decline_is_refused_naming_the_file(repo: Path, store_args: list[str]) -> None:
    plan_file = _plan(repo, store_args)
    create = _order(plan_file, "create_account", "grace.hopper")
    _ok(_decline(repo, plan_file, create, "--reason", REASON))
    path = approvals_path(repo, read_plan(plan_file).digest)
    entry = _entry(repo, plan_file)
    del entry["signature"]
    path.write_text(json.dumps({"plan_digest": read_plan(plan_file).digest, "declines": [entry]}))
    result, _ = _apply(repo, plan_file, store_args)
    assert result.exit_code == 1
    assert f"{path}: the decline of order {create} by 'alice' is refused: it is not signed" in (
        result.output
    )
    # nothing ran
    assert _audit(repo, store_args, "apply_started") == []


# ------------------------------------------------------------------------- GitHub


def _from_github(repo: Path, plan_file: Path, github: str, store_args: list[str]) -> Result:
    return _ok(
        _run(
            "approvals",
            "from-github",
            str(plan_file),
            "--repo",
            "acme/access",
            "--pr",
            "7",
            "--api-url",
            github,
            "-C",
            str(repo),
            *store_args,
        )
    )


def test_a_decline_comment_on_the_pull_request_declines_until_approved(
    repo: Path, store_args: list[str], github: str
) -> None:
    plan_file = _plan(repo, store_args)
    create = _order(plan_file, "create_account", "grace.hopper")
    _GitHub.data["comments"] = [
        _comment("alice-gh", f"Looked at it.\n/decline {create} {REASON}", 1),
        _comment("mallory", f"/decline {_order(plan_file, 'create_account', 'ada.lovelace')} x", 2),
    ]
    recorded = _from_github(repo, plan_file, github, store_args)
    assert f"alice declined ({REASON}) {create}" in recorded.output
    assert "ignored: mallory: not a reviewer in policies/review.yaml" in recorded.output
    assert len(_audit(repo, store_args, "decline_recorded")) == 1
    result, out = _apply(repo, plan_file, store_args)
    assert result.exit_code == 1
    assert out["declined"] == {create: f"declined by alice: {REASON}"}
    assert out["orders"][_order(plan_file, "create_account", "ada.lovelace")]["state"] == (
        "verified"
    )
    # a re-plan keeps it; alice's later /approve of the order withdraws it
    again = _plan(repo, store_args, "again.json")
    assert _apply(repo, again, store_args)[1]["declined"] == {
        create: f"declined by alice: {REASON}"
    }
    _GitHub.data["comments"].append(
        _comment("Alice-GH", f"/approve {create} {read_plan(again).digest[:12]}", 3)
    )
    _from_github(repo, again, github, store_args)
    assert len(_audit(repo, store_args, "decline_withdrawn")) == 1
    result, out = _apply(repo, again, store_args)
    assert out["declined"] == {}, result.output
    assert out["orders"][create]["state"] == "verified"


def test_a_changes_requested_review_declines_the_orders_it_names(
    repo: Path, store_args: list[str], github: str
) -> None:
    plan_file = _plan(repo, store_args)
    admins = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    create = _order(plan_file, "create_account", "grace.hopper")
    _GitHub.data["reviews"] = [
        _review("alice-gh", "CHANGES_REQUESTED", f"{create}: grace starts in March", 1)
    ]
    _from_github(repo, plan_file, github, store_args)
    shown = _ok(
        _run("show", str(plan_file), "--format", "markdown", "-C", str(repo), *store_args)
    ).output
    (table,) = [t for t in _tables(shown) if t[0][2:] == ["declined by", "reason"]]
    assert [row[0] for row in table[1:]] == [f"`{create}`"]
    assert table[1][3] == f"{create}: grace starts in March"
    result, out = _apply(repo, plan_file, store_args)
    assert result.exit_code == 1
    assert set(out["declined"]) == {create}
    assert out["orders"][admins]["state"] == "blocked"
    # approved since: the decline is withdrawn (the gated grant now has its approval too)
    _GitHub.data["reviews"].append(
        _review("alice-gh", "APPROVED", f"plan {read_plan(plan_file).digest[:12]}", 2)
    )
    _from_github(repo, plan_file, github, store_args)
    result, out = _apply(repo, plan_file, store_args)
    assert out["declined"] == {}, result.output
    assert out["orders"][create]["state"] == out["orders"][admins]["state"] == "verified"


def test_approving_an_order_you_still_decline_is_refused_until_you_withdraw(
    repo: Path, store_args: list[str]
) -> None:
    """An approval signed while your decline stands could never count (the withdrawal
    would come after it): approve says to withdraw first, and signs the rest."""
    plan_file = _plan(repo, store_args)
    admin = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    _ok(_decline(repo, plan_file, admin, "--reason", REASON))
    alone = ["approve", str(plan_file), "--order", admin, "--key", _key(repo), "-C", str(repo)]
    refused = _run(*alone)
    assert refused.exit_code == 1
    assert f"alice still declines order {admin}: withdraw the decline first" in refused.output
    every = ["approve", str(plan_file), "--all-gated", "--key", _key(repo), "-C", str(repo)]
    signed = _ok(_run(*every))
    assert f"not signed: {admin}, which you still decline" in signed.output
    assert admin not in {
        a.order for a in read_approvals(approvals_path(repo, read_plan(plan_file).digest))
    }
    hint = signed.output.split("`")[-2]
    assert hint == (
        f"accesshive decline {plan_file} --order {admin} --withdraw --key {_key(repo)} -C {repo}"
    )
    _ok(_run(*hint.split()[1:]))
    _ok(_run(*alone))
    result, out = _apply(repo, plan_file, store_args)
    assert out["orders"][admin]["state"] == "verified", result.output
