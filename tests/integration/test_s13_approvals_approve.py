"""`accesshive approve` and `approvals verify` on the quickstart with real ssh-keygen
keys: approve says first, and exits 6 (waiting for review), when none of the approvals
it signed can count under the policies in force; both name the identity of every gated
order they list by its id, since a manual task names the account by a display name
that another identity can share."""

from __future__ import annotations

import json
from pathlib import Path

from accesshive.plan.planfile import read_plan
from tests.integration import test_own_access
from tests.integration.test_own_access import TODAY, _approve, _plan, _repo, _run

pytestmark = test_own_access.pytestmark

NAMESAKE = [
    "  temp.contractor7:",
    "    type: human",
    "    roles: [ops-admin]",
    "    attributes: {given_name: Grace, family_name: Hopper, department: Sales,",
    "                 email: gh.contractor@quickstart.example, employee_number: 4001}",
]


def _namesakes(tmp_path: Path) -> Path:
    """The quickstart with temp.contractor7, Grace Hopper's namesake; their wiki logins
    are their ids (one login cannot be two people's)."""
    repo = _repo(tmp_path, {}, NAMESAKE)
    wiki = repo / "sources" / "wiki.yaml"
    login = 'login: "{{ given_name|slug }}.{{ family_name|slug }}"'
    assert login in wiki.read_text()
    wiki.write_text(wiki.read_text().replace(login, 'login: "{{ id }}"'))
    return repo


def test_approve_says_when_its_approvals_count_while_no_reviewer_is_in_force(
    tmp_path: Path,
) -> None:
    """The quickstart was applied with no reviewer declared (the default policies are in
    force); the change declares alice and bob. Their approvals of it count once an apply
    of it has put them in force: approve says what to do (apply it twice), not that the
    approvals count for nothing, and exits 0."""
    repo = _repo(tmp_path, {}, ["  {}"])
    (repo / "identities" / "added.yaml").unlink()  # the quickstart's people only
    policy = repo / "policies" / "review.yaml"
    declared = policy.read_text()
    policy.unlink()
    applied = _run("apply", str(repo), "--auto-approve", "--today", TODAY)
    assert applied.exit_code == 6, applied.output  # gated grants wait: no reviewer
    policy.write_text(declared)
    plan_file = _plan(repo)

    signed = _approve(repo, plan_file, "alice", "--all-gated")
    assert signed.exit_code == 0, signed.output
    lines = signed.output.splitlines()
    assert lines[0].endswith("; commit it to the PR:")
    assert "not counted" not in signed.output and "for nothing" not in signed.output
    assert "note: no reviewer is in force yet" in signed.output
    assert f"`accesshive apply {plan_file} -C {repo}`, twice" in signed.output
    verify = _run("approvals", "verify", str(plan_file), "-C", str(repo))
    assert verify.exit_code == 6, verify.output
    assert "no reviewer is in force yet" in verify.output


def test_approve_exits_0_when_its_approvals_count(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {}, ["  {}"])
    (repo / "identities" / "added.yaml").unlink()  # the quickstart's people only
    plan_file = _plan(repo)
    signed = _approve(repo, plan_file, "alice", "--all-gated")
    assert signed.exit_code == 0, signed.output
    assert signed.output.splitlines()[0].endswith("; commit it to the PR:")
    assert "not counted" not in signed.output


def test_gated_orders_are_listed_with_their_identity_id(tmp_path: Path) -> None:
    """temp.contractor7 shares Grace Hopper's name: the badge task reads the same for
    both, and only the identity id tells whose access it is."""
    repo = _namesakes(tmp_path)
    plan_file = _plan(repo)
    signed = _approve(repo, plan_file, "alice", "--all-gated")
    assert signed.exit_code == 0, signed.output
    listed = [line for line in signed.output.splitlines() if "server-room on badges" in line]
    assert len(listed) == 2
    assert any(
        line.endswith(
            "to Grace Hopper (access profile badge-server-room) [sensitive]  "
            "(identity temp.contractor7)"
        )
        for line in listed
    ), listed
    assert any(line.endswith("(identity grace.hopper)") for line in listed), listed

    verify = _run("approvals", "verify", str(plan_file), "-C", str(repo))
    gated = [line for line in verify.output.splitlines() if line[:2] in ("✓ ", "✗ ")]
    assert gated and all("  (identity " in line for line in gated), gated
    badges = [line for line in gated if "server-room on badges" in line]
    assert sorted(line.rsplit("(identity ", 1)[1] for line in badges) == [
        "grace.hopper)",
        "temp.contractor7)",
    ]


def test_verify_json_names_each_gated_orders_identity(tmp_path: Path) -> None:
    repo = _namesakes(tmp_path)
    plan_file = _plan(repo)
    shown = _run("approvals", "verify", str(plan_file), "-C", str(repo), "--format", "json")
    verdicts = json.loads(shown.stdout)
    plan = read_plan(plan_file)
    assert verdicts and {oid: v["identity"] for oid, v in verdicts.items()} == {
        o.id: o.change.identity for o in plan.orders if o.gate
    }
    assert "temp.contractor7" in {v["identity"] for v in verdicts.values()}
