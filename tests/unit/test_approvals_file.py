"""The approvals file (approvals/<plan-digest>.yaml) as reviewers see it in a pull request:
what `approve` and `decline` write reads back as it was signed, one statement per
reviewer and order, signatures as ssh-keygen wrote them; a hand-edited file that does
not parse is refused naming the file and the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from accesshive.approvals import Approval
from accesshive.approvals.declines import Decline
from accesshive.approvals.files import (
    approvals_files,
    read_approvals,
    read_declines,
    write_approvals,
    write_declines,
)
from accesshive.errors import ApprovalError

DIGEST = "0123456789abcdef" + "e" * 48
SIG = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
AT = "2026-11-29T10:00:00+00:00"


def _approval(reviewer: str, order: str, at: str = AT) -> Approval:
    return Approval(DIGEST, order, "c" * 64, reviewer, at, signature=SIG)


def test_what_is_written_reads_back_as_it_was_signed(tmp_path: Path) -> None:
    path = tmp_path / "approvals" / f"{DIGEST}.yaml"
    write_approvals(path, DIGEST, [_approval("alice", "o1"), _approval("bob", "o1")])
    decline = Decline(DIGEST, "o2", "d" * 64, "carol", "not yet", AT, signature=SIG)
    write_declines(path, DIGEST, [decline])
    assert read_approvals(path) == [_approval("alice", "o1"), _approval("bob", "o1")]
    assert read_declines(path) == [
        Decline(DIGEST, "o2", "d" * 64, "carol", "not yet", AT, signature=SIG, evidence=str(path))
    ]


def test_a_reviewers_new_approval_of_an_order_replaces_their_older_one(tmp_path: Path) -> None:
    path = tmp_path / "approvals" / f"{DIGEST}.yaml"
    write_approvals(path, DIGEST, [_approval("alice", "o1"), _approval("bob", "o1")])
    later = _approval("alice", "o1", at="2026-11-30T09:00:00+00:00")
    write_approvals(path, DIGEST, [later])
    assert read_approvals(path) == [later, _approval("bob", "o1")]


def test_the_file_says_what_it_is_and_keeps_signatures_as_blocks(tmp_path: Path) -> None:
    """A reviewer reading the pull request sees which plan the file is for, which
    commands made it, and each signature line by line, as ssh-keygen printed it."""
    path = tmp_path / "approvals" / f"{DIGEST}.yaml"
    write_approvals(path, DIGEST, [_approval("alice", "o1")])
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == (
        "# Signed approvals and declines of plan 0123456789abcdef; made by "
        "`accesshive approve` and `accesshive decline`."
    )
    assert "  signature: |\n    -----BEGIN SSH SIGNATURE-----\n    U1NIU0lH\n" in text
    assert "- order: o1\n" in text
    assert f"  content_digest: {'c' * 64}\n" in text  # on its key's line, as a diff shows it


def test_a_file_that_is_not_yaml_is_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / f"{DIGEST}.yaml"
    path.write_text(f"plan_digest: {DIGEST}\napprovals: [\n", encoding="utf-8")
    with pytest.raises(ApprovalError) as caught:
        read_approvals(path)
    assert str(caught.value).startswith(f"approvals file {path}:3:1: error[yaml-syntax]")


def test_an_entry_missing_a_field_is_refused_naming_the_file_and_the_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / f"{DIGEST}.yaml"
    write_approvals(path, DIGEST, [_approval("alice", "o1")])
    edited = path.read_text(encoding="utf-8").replace("  reviewer: alice\n", "")
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(ApprovalError) as caught:
        read_approvals(path)
    assert str(caught.value) == (
        f"approvals file {path} is malformed at approvals.0.reviewer: Field required"
    )


def test_only_plan_digest_files_are_approvals_files(tmp_path: Path) -> None:
    """Declines of earlier plans are looked for in approvals/<digest>.yaml only: a note
    beside them, or a link, is not read."""
    folder = tmp_path / "approvals"
    write_approvals(folder / f"{DIGEST}.yaml", DIGEST, [_approval("alice", "o1")])
    (folder / "notes.yaml").write_text("who: reviews these\n", encoding="utf-8")
    (folder / f"{'f' * 64}.yaml").symlink_to(folder / f"{DIGEST}.yaml")
    assert approvals_files(tmp_path) == [folder / f"{DIGEST}.yaml"]
