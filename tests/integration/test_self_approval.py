"""The author of a change cannot approve it, even by lying about who the author is.

The plan file's ``author`` is what its maker wrote. With ``require_author: true``, only
what the store's audit log attests counts: the plan was made by ``accesshive plan
--author`` against this store (the digest covers the author), or ``approvals
from-github`` read the pull request's author from GitHub. Everything goes through the CLI
and real ``ssh-keygen`` signatures, as a reviewer and an attacker would.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from accesshive.approvals.model import UNATTESTED
from accesshive.cli import main
from accesshive.plan.planfile import read_plan, write_plan
from tests.conftest import reviewed_quickstart
from tests.support.github_api import _comment, _GitHub
from tests.support.ssh import have_openssh, keygen

pytestmark = pytest.mark.skipif(
    not have_openssh() and not os.environ.get("CI"), reason="needs openssh-client"
)

TODAY = "2026-11-29"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The quickstart, synced, two security reviewers with keys, authors required."""
    keys = tmp_path / "keys"
    keys.mkdir()
    lines = ["review:", "  require_author: true", "  reviewers:"]
    for name in ("alice", "bob"):
        public = keygen(keys / name)
        lines += [
            f"    {name}:",
            "      groups: [security]",
            f"      github: {name}-gh",
            f'      public_keys: ["{public}"]',
        ]
    lines += [
        "  rules:",
        "    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true,",
        "       reviewer_groups: [security], quorum: 1}",
    ]
    return reviewed_quickstart(tmp_path / "quickstart", "\n".join(lines) + "\n")


def _plan(repo: Path, *author: str) -> Path:
    out = repo.parent / "plan.json"
    made = _run("plan", str(repo), "--out", str(out), "--today", TODAY, *author)
    assert made.exit_code == 0, made.output
    return out


def _approve_all(plan_file: Path) -> str:
    """The comment that approves every gated order of this plan (it names the plan)."""
    return f"/approve all {read_plan(plan_file).digest[:12]}"


def _gate(plan_file: Path) -> str:
    """The sensitive grant of wiki-admins (the plan's other gated orders wait, untouched)."""
    (gate,) = [
        o.id
        for o in read_plan(plan_file).orders
        if o.gate and o.change.source == "wiki" and o.change.entitlement == "wiki-admins"
    ]
    return gate


def _approve(repo: Path, plan_file: Path, reviewer: str, counts: bool = True) -> None:
    """Sign ``reviewer``'s approval of the wiki-admins grant; ``counts``: whether it
    counts (else approve says why first, and exits 6: the order still waits)."""
    key = repo.parent / "keys" / reviewer
    args = ["approve", str(plan_file), "--order", _gate(plan_file), "--key", str(key)]
    signed = _run(*args, "--as", reviewer, "-C", str(repo))
    assert signed.exit_code == (0 if counts else 6), signed.output
    if not counts:
        assert signed.output.startswith(f"none of the 1 approval(s) signed as {reviewer} will")


def _verdict(repo: Path, plan_file: Path) -> dict[str, Any]:
    """What `approvals verify --format json` says of the wiki-admins grant."""
    shown = _run("approvals", "verify", str(plan_file), "-C", str(repo), "--format", "json")
    verdicts: dict[str, dict[str, Any]] = json.loads(shown.stdout)
    return verdicts[_gate(plan_file)]


def _apply(repo: Path, plan_file: Path) -> dict[str, Any]:
    done = _run("apply", str(plan_file), "-C", str(repo), "--today", TODAY, "--format", "json")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_an_attested_author_cannot_approve_and_another_reviewer_can(repo: Path) -> None:
    plan_file = _plan(repo, "--author", "alice-gh")
    key = repo.parent / "keys" / "alice"
    args = ["approve", str(plan_file), "--order", _gate(plan_file), "--key", str(key)]
    refused = _run(*args, "--as", "alice", "-C", str(repo))
    assert refused.exit_code == 1
    assert "alice is the author of this change" in refused.output
    assert _verdict(repo, plan_file)["approvers"] == []
    _approve(repo, plan_file, "bob")
    assert _verdict(repo, plan_file)["approvers"] == ["bob"]
    applied = _apply(repo, plan_file)
    assert applied["orders"][_gate(plan_file)]["state"] == "verified"


def test_a_plan_made_without_an_author_gets_no_approval(repo: Path) -> None:
    """Leaving ``--author`` out is the easiest lie: with ``require_author`` no approval
    counts, and apply holds the gated order. The plan says so before anyone signs."""
    plan_file = _plan(repo)
    (warning,) = [w for w in read_plan(plan_file).warnings if "require_author" in w]
    assert "its approvals will not count" in warning
    assert "`accesshive plan --author LOGIN`" in warning
    shown = _run("show", str(plan_file), "--format", "markdown", "-C", str(repo))
    assert "its approvals will not count" in shown.output
    assert not [w for w in read_plan(_plan(repo, "--author", "bob-gh")).warnings if "author" in w]
    plan_file = _plan(repo)
    _approve(repo, plan_file, "bob", counts=False)
    verdict = _verdict(repo, plan_file)
    assert verdict["approvers"] == []
    assert {"reviewer": "bob", "reason": UNATTESTED} in verdict["rejected"]
    applied = _apply(repo, plan_file)
    assert applied["orders"][_gate(plan_file)]["state"] == "awaiting_approval"


def test_an_author_edited_out_of_the_plan_file_is_not_believed(repo: Path) -> None:
    """alice makes the plan honestly, then rewrites the file without her name (the
    package's own writer recomputes the digest) and approves it herself: the store never
    saw `plan` make that digest, so the author is not attested and nothing counts."""
    honest = read_plan(_plan(repo, "--author", "alice-gh"))
    forged_file = repo.parent / "forged.json"
    write_plan(replace(honest, author=None), forged_file)
    assert read_plan(forged_file).digest != honest.digest
    _approve(repo, forged_file, "alice", counts=False)
    verdict = _verdict(repo, forged_file)
    assert verdict["approvers"] == []
    assert {"reviewer": "alice", "reason": UNATTESTED} in verdict["rejected"]
    assert _apply(repo, forged_file)["orders"][_gate(forged_file)]["state"] == "awaiting_approval"


# ---------------------------------------------------------------------------- GitHub


def _from_github(repo: Path, plan_file: Path, github: str) -> Result:
    return _run(
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
    )


def test_the_pull_requests_author_is_known_from_github_whatever_the_plan_says(
    repo: Path, github: str
) -> None:
    """A plan made without an author; GitHub says alice opened the pull request: her own
    `/approve` comment is not recorded, and her signed approval does not count either."""
    plan_file = _plan(repo)
    _GitHub.data["author"] = "alice-gh"
    _GitHub.data["comments"] = [_comment("alice-gh", _approve_all(plan_file), 1)]
    read = _from_github(repo, plan_file, github)
    assert read.exit_code == 0, read.output
    assert "alice-gh: the author of the pull request cannot approve it" in read.output
    _approve(repo, plan_file, "alice", counts=False)
    verdict = _verdict(repo, plan_file)
    assert verdict["approvers"] == []
    assert {"reviewer": "alice", "reason": "the author of the change cannot approve it"} in verdict[
        "rejected"
    ]
    _approve(repo, plan_file, "bob")  # the author is attested now: bob's approval counts
    assert _verdict(repo, plan_file)["approvers"] == ["bob"]


def test_a_plan_naming_another_author_than_the_pull_request_is_refused(
    repo: Path, github: str
) -> None:
    plan_file = _plan(repo, "--author", "bob-gh")
    _GitHub.data["author"] = "alice-gh"
    _GitHub.data["comments"] = [_comment("bob-gh", _approve_all(plan_file), 1)]
    read = _from_github(repo, plan_file, github)
    assert read.exit_code != 0
    assert "names bob-gh as its author, but pull request acme/access#7 is by alice-gh" in (
        read.output
    )
    assert _verdict(repo, plan_file)["approvers"] == []  # nothing was recorded


@pytest.mark.parametrize(
    ("author", "login"),
    [
        ("alice-gh", "alice-gh"),
        ("Alice-GH", "alice-gh"),  # GitHub logins are case-insensitive
        ("alice-gh", "ALICE-gh"),
        ("alice", "Alice-GH"),  # the reviewer whose GitHub login opened it
    ],
)
def test_a_plan_by_the_pull_requests_author_is_read(
    repo: Path, github: str, author: str, login: str
) -> None:
    plan_file = _plan(repo, "--author", author)
    _GitHub.data["author"] = login
    _GitHub.data["comments"] = [_comment("bob-gh", _approve_all(plan_file), 1)]
    read = _from_github(repo, plan_file, github)
    assert read.exit_code == 0, read.output
    assert _verdict(repo, plan_file)["approvers"] == ["bob"]


def test_a_plan_by_a_reviewer_whose_login_did_not_open_the_pull_request_is_refused(
    repo: Path, github: str
) -> None:
    plan_file = _plan(repo, "--author", "bob")
    _GitHub.data["author"] = "alice-gh"
    _GitHub.data["comments"] = [_comment("bob-gh", _approve_all(plan_file), 1)]
    read = _from_github(repo, plan_file, github)
    assert read.exit_code != 0
    assert "names bob as its author, but pull request acme/access#7 is by alice-gh" in read.output


# ---------------------------------------------------------------------------- links


@pytest.mark.parametrize("linked", ["file", "directory"])
def test_an_approvals_link_out_of_the_repository_is_refused_and_nothing_written(
    repo: Path, linked: str
) -> None:
    """A pull request adds approvals/<digest>.yaml (or approvals/) as a link to a file of
    the reviewer's: approve refuses it and the file outside is untouched."""
    plan_file = _plan(repo, "--author", "alice-gh")
    outside = repo.parent / "outside"
    outside.mkdir()
    victim = outside / "authorized_keys"
    victim.write_text("ssh-ed25519 AAAA precious\n")
    digest = read_plan(plan_file).digest
    if linked == "file":
        (repo / "approvals").mkdir()
        (repo / "approvals" / f"{digest}.yaml").symlink_to(victim)
        link = repo / "approvals" / f"{digest}.yaml"
    else:
        (outside / f"{digest}.yaml").symlink_to(victim)
        (repo / "approvals").symlink_to(outside)
        link = repo / "approvals"
    key = repo.parent / "keys" / "bob"
    args = ["approve", str(plan_file), "--order", _gate(plan_file), "--key", str(key)]
    refused = _run(*args, "--as", "bob", "-C", str(repo))
    assert refused.exit_code != 0
    assert (
        f"{link} is a symbolic link out of the repository (to {victim.resolve()}): approvals "
        "are read and written only inside it; remove the link\n"
    ) in refused.output
    assert victim.read_text() == "ssh-ed25519 AAAA precious\n"
    shown = _run("approvals", "verify", str(plan_file), "-C", str(repo))
    assert "symbolic link out of the repository" in shown.output
