"""`accesshive status`: each identity's current flow across every run, on the quickstart's
real SQLite wiki, with the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from tests.support.wiki import refuse_logins

TODAY = "2026-11-29"


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _status(repo: Path, store_args: list[str], *extra: str) -> Any:
    result = _run("status", str(repo), "--format", "json", "--today", TODAY, *store_args, *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _by_identity(repo: Path, store_args: list[str]) -> dict[str, str]:
    return {s["identity"]: s["status"] for s in _status(repo, store_args)}


def _wiki_logins(repo: Path) -> set[str]:
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        return {row[0] for row in db.execute("SELECT login FROM users")}


def _sync(repo: Path, store_args: list[str]) -> None:
    result = _run("sync", str(repo), *store_args)
    assert result.exit_code == 0, result.output


def _apply(repo: Path, store_args: list[str]) -> None:
    result = _run("apply", str(repo), "--auto-approve", "--today", TODAY, *store_args)
    assert result.exit_code in (0, 1, 6), result.output


def test_nothing_applied_is_pending_not_provisioned(repo: Path, store_args: list[str]) -> None:
    _sync(repo, store_args)
    statuses = _by_identity(repo, store_args)
    # the quickstart's joiners need accounts that nothing has created yet
    assert statuses["ada.lovelace"] == "pending"
    assert statuses["grace.hopper"] == "pending"
    # a leaver whose accounts are already disabled has nothing to do
    assert statuses["alan.turing"] == "provisioned"


def test_retrying_one_identity_never_changes_another(repo: Path, store_args: list[str]) -> None:
    _sync(repo, store_args)
    refuse_logins(repo, "ada.lovelace", "grace.hopper")
    _apply(repo, store_args)
    assert "grace.hopper" not in _wiki_logins(repo)
    before = _by_identity(repo, store_args)
    assert before["ada.lovelace"] == "error"
    assert before["grace.hopper"] == "error"

    refuse_logins(repo, "grace.hopper")  # the wiki now takes Ada, still not Grace
    retried = _run("retry", "ada.lovelace", "-C", str(repo), "--today", TODAY, *store_args)
    assert retried.exit_code == 0, retried.output
    after = _by_identity(repo, store_args)
    assert after["ada.lovelace"] == "provisioned"
    # Grace's account still does not exist: her error stands, whatever ran last
    assert "grace.hopper" not in _wiki_logins(repo)
    assert after["grace.hopper"] == "error"

    (grace,) = _status(repo, store_args, "--identity", "grace.hopper")
    create = next(
        s for s in grace["steps"] if (s["source"], s["action"]) == ("wiki", "create_account")
    )
    assert create["state"] == "errored"
    assert "login is reserved" in create["message"]
    assert create["at"]

    refuse_logins(repo)  # fixed: a retry of Grace creates her account
    retried = _run("retry", "grace.hopper", "-C", str(repo), "--today", TODAY, *store_args)
    assert retried.exit_code == 6, retried.output  # her sensitive grants await approval
    # the same summary as apply: the run, then each order that waits, with its reason
    assert retried.output.startswith("Retry of grace.hopper:\nApply run ")
    assert "awaiting_approval" in retried.output and "needs 1 more approval(s)" in retried.output
    assert "grace.hopper" in _wiki_logins(repo)
    after = _by_identity(repo, store_args)
    assert after["grace.hopper"] == "pending"
    assert after["ada.lovelace"] == "provisioned"


def test_identity_steps_in_dependency_order(repo: Path, store_args: list[str]) -> None:
    _sync(repo, store_args)
    _apply(repo, store_args)
    (grace,) = _status(repo, store_args, "--identity", "grace.hopper")
    assert grace["status"] == "pending"
    steps = grace["steps"]
    ids = [s["order"] for s in steps]
    assert len(ids) == len(set(ids)) and all(len(i) == 12 for i in ids)
    states = {(s["source"], s["action"]): s["state"] for s in steps}
    assert states[("wiki", "grant")] == "awaiting_approval"
    assert states[("badges", "create_account")] == "transmitted"  # a task handed over
    # the badge grant waits for the badge account's task: it comes after it
    actions = [(s["source"], s["action"]) for s in steps]
    assert actions.index(("badges", "create_account")) < actions.index(("badges", "grant"))
    assert all(s["at"] for s in steps)

    text = _run("status", str(repo), "--identity", "grace.hopper", "--today", TODAY, *store_args)
    assert text.exit_code == 0, text.output
    assert text.output.startswith("pending      grace.hopper")
    for step in steps:
        assert f"[{step['order']}]" in text.output
    assert "needs 1 more approval(s) from security" in text.output

    # a provisioned identity has no step left; its detail still says what was done, when
    (ada,) = _status(repo, store_args, "--identity", "ada.lovelace")
    assert (ada["status"], ada["steps"]) == ("provisioned", [])
    done = {(s["source"], s["action"], s["state"]) for s in ada["history"]}
    assert ("wiki", "create_account", "verified") in done
    assert ("wiki", "grant", "verified") in done
    assert all(s["at"] and len(s["order"]) == 12 for s in ada["history"])
    text = _run("status", str(repo), "--identity", "ada.lovelace", "--today", TODAY, *store_args)
    assert "every step of its desired state is done\n  already done:\n" in text.output
    for step in ada["history"]:
        assert f"[{step['order']}]" in text.output


def test_imported_identities_are_included(repo: Path) -> None:
    (repo / "accesshive.yaml").write_text(
        (repo / "accesshive.yaml").read_text()
        + """
identity_sources:
  hr:
    kind: csv
    description: Nightly export of the HR system.
    id: "{{ first|slug }}.{{ last|slug }}"
    attributes:
      given_name: "{{ first }}"
      family_name: "{{ last }}"
      email: "{{ email }}"
      department: "{{ dept }}"
      employee_number: "{{ number }}"
"""
    )
    export = repo.parent / "hr.csv"
    export.write_text(
        "first,last,email,dept,number\nKay,Jones,kay.jones@quickstart.example,Engineering,2001\n"
    )
    _sync(repo, [])
    imported = _run("import", "csv", str(export), "--source", "hr", "-C", str(repo))
    assert imported.exit_code == 0, imported.output
    assert _by_identity(repo, [])["kay.jones"] == "pending"
    _apply(repo, [])
    assert "kay.jones" in _wiki_logins(repo)
    assert _by_identity(repo, [])["kay.jones"] in {"provisioned", "pending"}


def test_repository_positionally_or_with_c(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    positional = _run("status", str(repo))
    assert positional.exit_code == 0, positional.output
    with_c = _run("status", "-C", str(repo))
    assert with_c.output == positional.output
    monkeypatch.chdir(repo)
    assert _run("status").output == positional.output

    both = _run("status", str(repo), "-C", str(repo))
    assert both.exit_code == 2
    assert "give the repository once" in both.output
    unknown = _run("status", str(repo), "--identity", "nobody")
    assert unknown.exit_code == 1  # not found, as for retry and apply --identity
    assert "no identity 'nobody'" in unknown.output


def test_identity_positionally(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`status IDENTITY` as the issue writes it: after the repository, with -C, or alone
    from inside the repository; the same detail as --identity. A word alone is the
    repository only when it is a path or a directory holding accesshive.yaml."""
    detail = _run("status", str(repo), "--identity", "grace.hopper", "--today", TODAY)
    assert detail.exit_code == 0, detail.output
    assert detail.output.startswith("pending      grace.hopper")
    assert "[" in detail.output and "create account" in detail.output
    for args in (
        [str(repo), "grace.hopper"],
        ["grace.hopper", "-C", str(repo)],
        ["-C", str(repo), "grace.hopper", "--identity", "grace.hopper"],
    ):
        assert _run("status", *args, "--today", TODAY).output == detail.output, args
    monkeypatch.chdir(repo)
    assert _run("status", "grace.hopper", "--today", TODAY).output == detail.output
    # `identities` is a directory of the repository, but no repository: an identity id
    # (and none of that name exists), told apart from a mistyped repository path
    folder = _run("status", "identities")
    assert folder.exit_code == 1, folder.output
    assert "no identity 'identities'" in folder.output
    path = _run("status", "./identities")
    assert path.exit_code != 0 and "has no accesshive.yaml" in path.output

    short = _run("status", "ada")
    assert short.exit_code == 1
    assert "Error: no identity 'ada'; did you mean 'ada.lovelace'?" in short.output
    clash = _run("status", "ada.lovelace", "--identity", "grace.hopper")
    assert clash.exit_code == 2 and "give the identity once" in clash.output
    too_many = _run("status", ".", "ada.lovelace", "grace.hopper")
    assert too_many.exit_code == 2 and "at most a repository and an identity" in too_many.output
    as_json = _run("status", "ada", "--format", "json")
    error = json.loads(as_json.stdout)["error"]
    assert error["exit_code"] == 1 and "did you mean 'ada.lovelace'" in error["message"]
