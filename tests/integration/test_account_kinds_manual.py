"""Several accounts per identity on a manual source, as on the others: the quickstart's
badge system (a CSV export its owner keeps) gets an `admin` kind (a master badge beside
the everyday one). Tasks name the kind in words and keep their id across plans; the
everyday badge the owner adds does not close the master badge's task (same mail); the
master badge, once in the export, closes it. Real SQLite wiki, real store (SQLite and
PostgreSQL)."""

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
KINDS = """      correlation: [email, badge_holder]
      kinds:
        admin:
          description: the after-hours master badge beside the everyday one
          create:
            badge_holder: "{{ given_name }} {{ family_name }} (master)"
"""
HEADER = "external_id,enabled,grants,badge_holder,email,last_login"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    badges = dest / "sources" / "badges.yaml"
    badges.write_text(badges.read_text().replace("      correlation: [email]\n", KINDS))
    access = dest / "access.yaml"
    access.write_text(
        access.read_text().replace(
            "  badge-server-room:\n    source: badges\n",
            "  badge-server-room:\n    source: badges\n    account_kind: admin\n",
        )
    )
    return dest


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _json(*args: str) -> Any:
    result = _run(*args, "--format", "json")
    assert result.exit_code in (0, 6), result.output
    return json.loads(result.stdout)


def _open_tasks(repo: Path, store: list[str]) -> dict[str, str]:
    return {t["id"]: t["description"] for t in _json("tasks", "list", str(repo), *store)}


def _export(repo: Path, *rows: str, header: str = HEADER) -> None:
    """The owner's new export: the example's rows (under ``header``) and these."""
    path = repo / "exports" / "badges.csv"
    old = (EXAMPLES / "quickstart" / "exports" / "badges.csv").read_text().splitlines()[1:]
    pad = "," * (header.count(",") - HEADER.count(","))
    path.write_text("\n".join([header, *(line + pad for line in old), *rows]) + "\n")


def test_manual_tasks_per_account_kind(repo: Path, store_args: list[str]) -> None:
    assert _run("sync", str(repo), *store_args).exit_code == 0
    planned = _run("plan", str(repo), *TODAY, *store_args)
    assert planned.exit_code == 0, planned.output
    text = planned.output
    assert "create account Grace Hopper on badges" in text
    assert "create admin account Grace Hopper (master) on badges" in text
    assert "grant server-room on badges to admin account Grace Hopper (master)" in text
    # the everyday badges are still found as before the kind was declared (by mail)
    assert "B-100 → ada.lovelace (matched on email)" in text

    first = _run("apply", str(repo), "--auto-approve", *TODAY, *store_args)
    assert first.exit_code == 6, first.output  # tasks handed over, a grant awaits review
    tasks = _open_tasks(repo, store_args)
    assert sorted(tasks.values()) == [
        "create account Grace Hopper on badges",
        "create admin account Grace Hopper (master) on badges",
    ]
    # a new plan and apply reuse the open tasks: same ids, nothing added
    again = _run("apply", str(repo), "--auto-approve", *TODAY, *store_args)
    assert again.exit_code == 6, again.output
    assert _open_tasks(repo, store_args) == tasks
    admin_task = next(t for t, d in tasks.items() if "admin account" in d)

    # the owner issues the everyday badge: it carries Grace's mail, as the master badge
    # will; only the everyday badge's task is done
    _export(repo, "B-101,true,,Grace Hopper,grace.hopper@quickstart.example,")
    assert _run("sync", str(repo), *store_args).exit_code == 0
    assert list(_open_tasks(repo, store_args)) == [admin_task]

    # then the master badge, the export saying whose and which it is
    _export(
        repo,
        "B-101,true,,Grace Hopper,grace.hopper@quickstart.example,,,",
        "B-201,true,,Grace Hopper (master),grace.hopper@quickstart.example,,grace.hopper,admin",
        header=HEADER + ",identity,account_kind",
    )
    assert _run("sync", str(repo), *store_args).exit_code == 0
    assert _open_tasks(repo, store_args) == {}
    left = _run("plan", str(repo), *TODAY, *store_args).output
    assert "create admin account" not in left
    assert "grant office-hq on badges to Grace Hopper" in left  # the everyday badge's door
    assert "grant server-room on badges to admin account Grace Hopper (master)" in left


def test_an_export_row_naming_a_kind_without_an_identity_is_refused(repo: Path) -> None:
    _export(
        repo,
        "B-201,true,,Grace Hopper (master),grace.hopper@quickstart.example,,,admin",
        header=HEADER + ",identity,account_kind",
    )
    result = _run("sync", str(repo), "--format", "json")
    (badges,) = [s for s in json.loads(result.stdout) if s["source"] == "badges"]
    assert not badges["ok"]
    assert badges["error"].endswith("badges.csv:5: account_kind 'admin' without an identity")
