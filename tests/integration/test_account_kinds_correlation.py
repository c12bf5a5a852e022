"""Declaring an account kind never orphans the accounts that exist: on the quickstart's
badge system (a manual source correlating on the holder's mail), adding a `master` kind
leaves every everyday badge matched to its owner exactly as before, while a kind no
correlation attribute tells apart from the everyday badge is refused by `validate` at
its line, with the attribute to add. Through the CLI, real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from tests.conftest import EXAMPLES

TODAY = ["--today", "2026-11-29"]
MASTER = """      kinds:
        master:
          create:
            badge_holder: "{{ given_name }} {{ family_name }} (master)"
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    # Ada's everyday badge was issued under a shorter name than the template renders:
    # only her mail finds it, as it always did
    export = dest / "exports" / "badges.csv"
    export.write_text(export.read_text().replace(",Ada Lovelace,", ",A. Lovelace,"))
    return dest


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _plan(repo: Path) -> dict[str, Any]:
    assert _run("sync", str(repo)).exit_code == 0
    result = _run("plan", str(repo), *TODAY, "--format", "json")
    assert result.exit_code == 0, result.output
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def _badges(plan: dict[str, Any]) -> dict[str, Any]:
    """What the plan says of the badge system: its orders, adoptions and orphans."""
    return {
        "orders": sorted(
            (o["action"], o["identity"], o["details"].get("account_kind", "default"))
            for o in plan["orders"]
            if o["source"] == "badges"
        ),
        "adoptions": sorted(
            (a["account"], a["identity"], a.get("account_kind", "default"), a["matched_on"])
            for a in plan["adoptions"]
            if a["source"] == "badges"
        ),
        "orphans": sorted(o["account"] for o in plan["orphans"] if o["source"] == "badges"),
        "warnings": plan["warnings"],
    }


def _declare_master(repo: Path, correlation: str) -> None:
    badges = repo / "sources" / "badges.yaml"
    badges.write_text(
        badges.read_text().replace("      correlation: [email]\n", correlation + MASTER)
    )


def test_a_kind_correlation_cannot_tell_apart_is_refused_at_its_line(repo: Path) -> None:
    _declare_master(repo, "      correlation: [email]\n")
    result = _run("validate", str(repo))
    assert result.exit_code != 0
    line = (repo / "sources" / "badges.yaml").read_text().splitlines().index("        master:")
    assert f"sources/badges.yaml:{line + 1}:" in result.output
    assert "account kind 'master' of source 'badges'" in result.output
    assert "add badge_holder" in result.output
    assert "correlation: [email, badge_holder]" in result.output  # what to write
    # plan refuses it too: nothing is orphaned, nothing created twice
    planned = _run("plan", str(repo), *TODAY)
    assert planned.exit_code != 0
    assert "ambiguous-account" in planned.output


def test_declaring_a_kind_leaves_existing_accounts_matched_as_before(repo: Path) -> None:
    before = _badges(_plan(repo))
    assert ("B-100", "ada.lovelace", "default", "email") in before["adoptions"]
    assert before["orphans"] == ["B-107"]

    _declare_master(repo, "      correlation: [email, badge_holder]\n")
    assert _run("validate", str(repo)).exit_code == 0
    assert _badges(_plan(repo)) == before  # no new orphan, no new create, same matches

    # the kind granted, and Ada's master badge in the export with the same mail: it is
    # hers as the master kind, her everyday badge stays hers, nothing is a duplicate
    access = repo / "access.yaml"
    access.write_text(
        access.read_text()
        .replace(
            "  badge-server-room:\n",
            "  badge-master:\n    source: badges\n    account_kind: master\n"
            "    entitlements: [office-hq]\n  badge-server-room:\n",
        )
        .replace(
            "    access_profiles: [wiki-edit]\n", "    access_profiles: [wiki-edit, badge-master]\n"
        )
    )
    export = repo / "exports" / "badges.csv"
    export.write_text(
        export.read_text()
        + "B-200,true,office-hq,Ada Lovelace (master),ada.lovelace@quickstart.example,\n"
    )
    after = _badges(_plan(repo))
    assert ("B-100", "ada.lovelace", "default", "email") in after["adoptions"]
    assert ("B-200", "ada.lovelace", "master", "badge_holder") in after["adoptions"]
    assert after["orphans"] == ["B-107"]
    assert not [o for o in after["orders"] if o[1] == "ada.lovelace"]
    assert not [w for w in after["warnings"] if "badges" in w]
