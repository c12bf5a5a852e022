"""The report's "Sensitive access" finds whose each account is as the plan does: an
identity's own account on a manual source (which keeps no link, so it is found by
correlation at every plan) is the identity's, never "(nobody)", and the accounts said to
be nobody's are exactly the report's orphans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from accesshive.cli import main

TODAY = "2026-11-29"
GRACE_BADGE = "B-103,true,office-hq;server-room,Grace Hopper,grace.hopper@quickstart.example,"


def _report(repo: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["report", str(repo), "--today", TODAY, *args])
    assert result.exit_code == 0, result.output
    return result


def _with_graces_badge(repo: Path) -> None:
    """Facilities' export now shows the badge they made for grace, server room included."""
    export = repo / "exports" / "badges.csv"
    export.write_text(export.read_text() + GRACE_BADGE + "2026-11-27\n")
    assert CliRunner().invoke(main, ["sync", str(repo)]).exit_code == 0


def test_an_identitys_manual_account_is_hers_not_nobodys(synced_quickstart: Path) -> None:
    _with_graces_badge(synced_quickstart)
    report = json.loads(_report(synced_quickstart, "--no-sync", "--format", "json").stdout)
    held = {(a["source"], a["account"]): a for a in report["sensitive_access"]}
    assert held[("badges", "B-103")]["identity"] == "grace.hopper"
    assert held[("badges", "B-103")]["account_kind"] == "default"
    # the only account nobody owns is the orphan the same report lists
    nobodys = {k for k, a in held.items() if a["identity"] is None}
    orphans = {(o["source"], o["account"]) for o in report["orphans"]}
    assert nobodys == {("badges", "B-107")}
    assert nobodys <= orphans
    assert report["totals"]["orphaned"] == len(orphans)


def test_the_markdown_names_her_too(synced_quickstart: Path) -> None:
    _with_graces_badge(synced_quickstart)
    text = _report(synced_quickstart, "--no-sync").stdout
    assert "| badges | Grace Hopper | grace.hopper | default | enabled | server-room |" in text
    assert "| badges | Mallory Visitor | (nobody) |  | enabled | server-room |" in text


def test_a_leavers_badge_stays_hers(synced_quickstart: Path) -> None:
    """Once she leaves, her badge is still hers (with its revoke waiting), not nobody's."""
    _with_graces_badge(synced_quickstart)
    people = synced_quickstart / "identities" / "people.yaml"
    text = people.read_text()
    head = "  grace.hopper:\n    type: human\n"
    at = text.index(head) + len(head)
    people.write_text(
        text[:at] + "    lifecycle_state: terminated\n    lifecycle_since: 2026-11-20\n" + text[at:]
    )
    report = json.loads(_report(synced_quickstart, "--no-sync", "--format", "json").stdout)
    badge = next(a for a in report["sensitive_access"] if a["account"] == "B-103")
    assert (badge["identity"], badge["account_kind"]) == ("grace.hopper", "default")
    assert "B-103" not in {o["account"] for o in report["orphans"]}
