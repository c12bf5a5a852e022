"""A reviewer never approves their own access, whoever proposed the change.

carol's pull request makes reviewer alice a wiki admin (identity ``alice``, role
ops-admin: a sensitive, gated grant). alice may approve everyone else's gated orders,
but not that one: ``approve`` refuses it (nothing signed), ``--all-gated`` passes over
it saying whom to ask, and an approval signed anyway (ssh-keygen by hand) counts for
nothing in ``approvals verify``, the PR comment and apply, which say why. The same holds
for an identity whose email is the reviewer's, one the review policy names as theirs
(``identity:``), and a service account they own. Real ``ssh-keygen`` keys, the real
quickstart, everything through the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from accesshive.approvals import Approval
from accesshive.approvals.files import approvals_path, read_approvals, write_approvals
from accesshive.approvals.model import content_digest
from accesshive.approvals.signing import message, sign
from accesshive.cli import main
from accesshive.plan.planfile import read_plan
from tests.conftest import EXAMPLES
from tests.support.github_api import _comment, _GitHub
from tests.support.ssh import have_openssh, keygen
from tests.unit.test_plan_comment import read, table_after

pytestmark = pytest.mark.skipif(
    not have_openssh() and not os.environ.get("CI"), reason="needs openssh-client"
)

TODAY = "2026-11-29"
OWN = (
    "the order is on alice, the reviewer's own identity: a reviewer cannot approve their own access"
)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _repo(tmp_path: Path, reviewer_extra: dict[str, list[str]], identity: list[str]) -> Path:
    """The quickstart, synced; reviewers alice and bob (security) with real keys; the
    change adds ``identity`` lines to identities/."""
    keys = tmp_path / "keys"
    keys.mkdir()
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (dest / "policies").mkdir()
    lines = ["review:", "  reviewers:"]
    for name in ("alice", "bob"):
        public = keygen(keys / name)
        lines += [f"    {name}:", "      groups: [security]", f"      github: {name}-gh"]
        lines += [f"      {extra}" for extra in reviewer_extra.get(name, [])]
        lines += [f'      public_keys: ["{public}"]']
    lines += [
        "  rules:",
        "    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true,",
        "       reviewer_groups: [security], quorum: 1}",
    ]
    (dest / "policies" / "review.yaml").write_text("\n".join(lines) + "\n")
    assert _run("sync", str(dest)).exit_code == 0
    (dest / "identities" / "added.yaml").write_text("\n".join(["identities:", *identity]) + "\n")
    return dest


ALICE = [
    "  alice:",
    "    type: human",
    "    roles: [ops-admin]",
    "    attributes: {given_name: Alice, family_name: Liddell, department: Operations,",
    "                 email: alice@quickstart.example, employee_number: 1010}",
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return _repo(tmp_path, {}, ALICE)


def _plan(repo: Path) -> Path:
    out = repo.parent / "plan.json"
    made = _run("plan", str(repo), "--out", str(out), "--today", TODAY, "--author", "carol-gh")
    assert made.exit_code == 0, made.output
    return out


def _gate(plan_file: Path, identity: str) -> str:
    """The grant of wiki-admins to ``identity``."""
    (gate,) = [
        o.id
        for o in read_plan(plan_file).orders
        if o.gate and o.change.identity == identity and o.change.entitlement == "wiki-admins"
    ]
    return gate


def _approve(repo: Path, plan_file: Path, reviewer: str, *which: str) -> Result:
    key = repo.parent / "keys" / reviewer
    return _run(
        "approve", str(plan_file), *which, "--key", str(key), "--as", reviewer, "-C", str(repo)
    )


def _signed_by_hand(repo: Path, plan_file: Path, reviewer: str, oid: str) -> None:
    """What anyone who can write the approvals file and holds the key could commit."""
    plan = read_plan(plan_file)
    cd = content_digest(plan.order(oid))
    at = "2026-11-29T10:00:00+00:00"
    key = repo.parent / "keys" / reviewer
    (signature,) = sign(key, [message(plan.digest, oid, cd, reviewer, at)])
    write_approvals(
        approvals_path(repo, plan.digest),
        plan.digest,
        [Approval(plan.digest, oid, cd, reviewer, at, signature=signature)],
    )


def _verdict(repo: Path, plan_file: Path, oid: str) -> dict[str, Any]:
    shown = _run("approvals", "verify", str(plan_file), "-C", str(repo), "--format", "json")
    verdicts: dict[str, dict[str, Any]] = json.loads(shown.stdout)
    return verdicts[oid]


def _state(repo: Path, plan_file: Path, oid: str) -> str:
    done = _run("apply", str(plan_file), "-C", str(repo), "--today", TODAY, "--format", "json")
    state: str = json.loads(done.stdout)["orders"][oid]["state"]
    return state


def test_approve_refuses_the_reviewers_own_access_and_says_whom_to_ask(repo: Path) -> None:
    plan_file = _plan(repo)
    mine = _gate(plan_file, "alice")
    refused = _approve(repo, plan_file, "alice", "--order", mine)
    assert refused.exit_code == 1
    assert f"alice cannot approve order {mine}: {OWN}; nothing signed (ask bob)" in refused.output
    assert not approvals_path(repo, read_plan(plan_file).digest).exists()


def test_all_gated_passes_over_the_reviewers_own_access(repo: Path) -> None:
    plan_file = _plan(repo)
    plan = read_plan(plan_file)
    mine = [o.id for o in plan.orders if o.gate and o.change.identity == "alice"]
    assert len(mine) == 2  # wiki-admins and the server room's badge
    others = sorted(o.id for o in plan.orders if o.gate and o.id not in mine)
    assert others  # grace.hopper's grants: alice may approve those
    signed = _approve(repo, plan_file, "alice", "--all-gated")
    assert signed.exit_code == 0, signed.output
    for oid in mine:
        assert f"not signed: {oid}, {OWN} (ask bob)" in signed.output
    approved = sorted(a.order for a in read_approvals(approvals_path(repo, plan.digest)))
    assert approved == others


def test_an_approval_of_ones_own_access_counts_for_nothing_anywhere(repo: Path) -> None:
    """Signed before this rule, or by hand: verify, the PR comment and apply say why
    it does not count, and the grant waits until another reviewer approves it."""
    plan_file = _plan(repo)
    mine = _gate(plan_file, "alice")
    _signed_by_hand(repo, plan_file, "alice", mine)

    verdict = _verdict(repo, plan_file, mine)
    assert verdict["approvers"] == []
    assert verdict["rejected"] == [{"reviewer": "alice", "reason": OWN}]
    text = _run("approvals", "verify", str(plan_file), "-C", str(repo))
    assert f"not counted: alice ({OWN})" in text.output

    shown = _run("show", str(plan_file), "--format", "markdown", "-C", str(repo))
    rows = table_after(read(shown.stdout), "Waiting for review")
    (row,) = [r for codes, r in zip(rows.row_codes, rows.rows, strict=True) if mine in codes]
    assert row[-1] == f"nobody yet; not counted: alice ({OWN})"

    assert _state(repo, plan_file, mine) == "awaiting_approval"
    assert _approve(repo, plan_file, "bob", "--order", mine).exit_code == 0
    assert _verdict(repo, plan_file, mine)["approvers"] == ["bob"]
    assert _state(repo, plan_file, mine) == "verified"


@pytest.mark.parametrize(
    ("extra", "identity", "why"),
    [
        (  # the review policy names the reviewer's identity
            {"alice": ["identity: a.liddell"]},
            [line.replace("  alice:", "  a.liddell:") for line in ALICE],
            "the order is on a.liddell, the reviewer's own identity (identity: in the "
            "review policy)",
        ),
        (  # the identity's email is the reviewer's
            {"alice": ["email: Alice@Quickstart.example"]},
            [line.replace("  alice:", "  liddell:") for line in ALICE],
            "the order is on liddell, the reviewer's own identity (its email is the "
            "reviewer's, Alice@Quickstart.example)",
        ),
        (  # the same, spelled in another case
            {"alice": ["identity: A.Liddell"]},
            [line.replace("  alice:", "  a.liddell:") for line in ALICE],
            "the order is on a.liddell, the reviewer's own identity (identity: in the "
            "review policy)",
        ),
        (  # the reviewer's address with a +tag delivers to the identity's mailbox
            {"alice": ["email: alice+review@quickstart.example"]},
            [line.replace("  alice:", "  liddell:") for line in ALICE],
            "the order is on liddell, the reviewer's own identity (its email is the "
            "reviewer's, alice+review@quickstart.example)",
        ),
    ],
    ids=["identity-field", "email", "identity-case", "email-plus-tag"],
)
def test_the_reviewers_identity_by_field_email_or_ownership(
    tmp_path: Path, extra: dict[str, list[str]], identity: list[str], why: str
) -> None:
    repo = _repo(tmp_path, extra, identity)
    plan_file = _plan(repo)
    target = why.split()[4].rstrip(",")
    mine = _gate(plan_file, target)
    refused = _approve(repo, plan_file, "alice", "--order", mine)
    assert refused.exit_code == 1
    assert f"{why}: a reviewer cannot approve their own access" in refused.output
    _signed_by_hand(repo, plan_file, "alice", mine)
    assert _verdict(repo, plan_file, mine)["rejected"] == [
        {"reviewer": "alice", "reason": f"{why}: a reviewer cannot approve their own access"}
    ]
    assert _state(repo, plan_file, mine) == "awaiting_approval"


def test_nor_the_access_of_an_identity_the_reviewer_owns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """alice is ada.lovelace (``identity:``), who owns the CI token: storing its secret,
    gated by a rule of the review policy, is for another reviewer to approve."""
    repo = _repo(
        tmp_path,
        {"alice": ["identity: ada.lovelace"]},
        [
            "  ci-token:",
            "    type: api_key",
            "    owner: ada.lovelace",
            '    credential: {supplied_by: "${env:CI_TOKEN}"}',
        ],
    )
    (repo / "sources" / "vault.yaml").write_text(
        "sources:\n  vault:\n    kind: vault\n"
        "    connection: {path: .accesshive/vault.db, key_file: master.key}\n"
    )
    init = _run("vault", "init", "--key-file", str(repo / "master.key"))
    assert init.exit_code == 0, init.output
    monkeypatch.setenv("CI_TOKEN", "ci-token-1")
    review = repo / "policies" / "review.yaml"
    review.write_text(
        review.read_text()
        + "    - {name: credentials, order_kinds: [store_credential],\n"
        + "       reviewer_groups: [security]}\n"
    )
    assert _run("sync", str(repo)).exit_code == 0
    plan_file = _plan(repo)
    (mine,) = [o.id for o in read_plan(plan_file).orders if o.change.identity == "ci-token"]
    why = (
        "the order is on ci-token, an identity the reviewer owns (ada.lovelace): a reviewer "
        "cannot approve their own access"
    )
    refused = _approve(repo, plan_file, "alice", "--order", mine)
    assert refused.exit_code == 1
    assert f"alice cannot approve order {mine}: {why}; nothing signed (ask bob)" in refused.output
    _signed_by_hand(repo, plan_file, "alice", mine)
    assert _verdict(repo, plan_file, mine)["rejected"] == [{"reviewer": "alice", "reason": why}]
    assert _state(repo, plan_file, mine) == "awaiting_approval"
    assert _approve(repo, plan_file, "bob", "--order", mine).exit_code == 0
    assert _state(repo, plan_file, mine) == "verified"


def test_a_github_approval_of_ones_own_access_counts_for_nothing(repo: Path, github: str) -> None:
    """alice's `/approve all` on carol's pull request is recorded, and counts for every
    gated order but her own, which verify says why of."""
    plan_file = _plan(repo)
    mine = _gate(plan_file, "alice")
    _GitHub.data["author"] = "carol-gh"
    digest = read_plan(plan_file).digest[:12]
    _GitHub.data["comments"] = [_comment("alice-gh", f"/approve all {digest}", 1)]
    args = ["--repo", "acme/access", "--pr", "7", "--api-url", github, "-C", str(repo)]
    read_pr = _run("approvals", "from-github", str(plan_file), *args)
    assert read_pr.exit_code == 0, read_pr.output
    verdict = _verdict(repo, plan_file, mine)
    assert verdict["approvers"] == []
    assert verdict["rejected"] == [{"reviewer": "alice", "reason": OWN}]
    other = _gate(plan_file, "grace.hopper")
    assert _verdict(repo, plan_file, other)["approvers"] == ["alice"]
    assert _state(repo, plan_file, mine) == "awaiting_approval"


def test_all_gated_signs_nothing_when_every_order_is_the_reviewers_own(repo: Path) -> None:
    """grace.hopper no longer an ops admin: every gated order left is alice's."""
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("    roles: [ops-admin]\n", "", 1))
    plan_file = _plan(repo)
    gated = [o for o in read_plan(plan_file).orders if o.gate]
    assert gated and all(o.change.identity == "alice" for o in gated)
    refused = _approve(repo, plan_file, "alice", "--all-gated")
    assert refused.exit_code == 1
    assert "every gated order alice may approve is on their own identity (" in refused.output
    assert "a reviewer cannot approve their own access; nothing signed (ask bob)" in refused.output
    assert not approvals_path(repo, read_plan(plan_file).digest).exists()


def test_a_reviewer_identity_that_names_no_identity_is_said(tmp_path: Path) -> None:
    """A typo'd (or renamed) `identity:` would keep nobody from approving their own
    access: validate says so at its line."""
    repo = _repo(tmp_path, {"alice": ["identity: nobody.here"]}, ALICE)
    result = _run("validate", str(repo))
    assert result.exit_code == 0, result.output
    assert (
        "warning[unknown-reference]: reviewer 'alice' names identity 'nobody.here', which is "
        "not declared" in result.output
    )
    assert "policies/review.yaml:" in result.output
