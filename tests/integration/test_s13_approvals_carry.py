"""An approval carries to a later plan only to retry the approved order that did not get
done, end to end through the CLI on the quickstart (its real SQLite wiki as the target,
alice's real ssh-keygen key, the store on SQLite and on PostgreSQL): once the approved
grant was verified, its access removed by a later applied plan and then put back, the
re-grant (same order id, same content) waits for a new approval."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.integration import test_declines
from tests.integration.test_declines import _apply, _audit, _key, _ok, _order, _plan, _run

pytestmark = test_declines.pytestmark
repo = test_declines.repo  # the quickstart with alice (security) and the review rule


def _admins(repo: Path) -> int:
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        row = db.execute("SELECT count(*) FROM user_groups WHERE group_name = 'wiki-admins'")
        return int(row.fetchone()[0])


def test_a_regrant_after_the_access_was_removed_needs_a_new_approval(
    repo: Path, store_args: list[str]
) -> None:
    first = _plan(repo, store_args)
    admins = _order(first, "grant", "grace.hopper", "wiki-admins")
    _ok(
        _run(
            "approve", str(first), "--all-gated", "--key", _key(repo), "--as", "alice",
            "-C", str(repo),
        )
    )  # fmt: skip
    _, out = _apply(repo, first, store_args)
    assert out["orders"][admins]["state"] == "verified"
    assert _admins(repo) == 1

    # a reviewed change removes her access, and is applied: the revoke is verified
    people = repo / "identities" / "people.yaml"
    before = people.read_text()
    people.write_text(before.replace("    roles: [ops-admin]\n", "", 1))
    removal = _plan(repo, store_args, "removal.json")
    _apply(repo, removal, store_args)
    assert _admins(repo) == 0

    # a later change puts the role back: the same order id, the same content as the
    # grant alice approved, and nobody approved it again
    people.write_text(before)
    again = _plan(repo, store_args, "again.json")
    assert _order(again, "grant", "grace.hopper", "wiki-admins") == admins
    verify = _run("approvals", "verify", str(again), "-C", str(repo), *store_args)
    assert verify.exit_code == 6, verify.output
    lines = verify.output.splitlines()
    (line,) = [i for i, text in enumerate(lines) if text.startswith(f"✗ {admins}")]
    assert lines[line + 1].strip() == "needs 1 more approval(s) from security"
    shown = _run(
        "approvals", "verify", str(again), "-C", str(repo), "--format", "json", *store_args
    )
    assert json.loads(shown.stdout)[admins]["approvers"] == []
    result, out = _apply(repo, again, store_args)
    assert result.exit_code == 6, result.output
    assert out["orders"][admins]["state"] == "awaiting_approval"
    assert _admins(repo) == 0
    assert admins not in [e["subject"] for e in _audit(repo, store_args, "approval_carried")]
