"""Every command the CLI tells a user to run works as printed, from where the user is.

A realistic session on a copy of the quick-start example, run from the directory *above*
the repository (so every hint must name it with ``-C``): sync, plan, show, apply, status,
tasks, state, audit, report, and a few mistakes. Every backticked ``accesshive ...`` in
what it prints is collected and run as printed; none may be a usage error (exit 2) or end
in a traceback.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from tests.conftest import EXAMPLES
from tests.support.ssh import keygen

HINT = re.compile(r"`(accesshive [^`]*)`")
TODAY = ["--today", "2026-11-29"]
REVIEW = """review:
  reviewers:
    alice:
      groups: [security]
      public_keys: ["{key}"]
  rules:
    - {{name: sensitive-grants, order_kinds: [grant], sensitive_only: true,
       reviewer_groups: [security], quorum: 1}}
"""


def _run(args: list[str], stdin: str = "") -> Result:
    return CliRunner().invoke(main, args, input=stdin)


def _clean(result: Result, args: list[str]) -> None:
    """No usage error, no traceback: what a user who copied the line must never see."""
    shown = " ".join(args)
    assert result.exit_code != 2, f"`{shown}` is a usage error:\n{result.output}"
    assert "Traceback" not in result.output, f"`{shown}`:\n{result.output}"
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), f"`{shown}` raised {result.exception!r}"


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def _hints(results: list[Result]) -> list[str]:
    found: list[str] = []
    for result in results:
        for hint in HINT.findall(result.output):
            if hint not in found:
                found.append(hint)
    return found


def test_every_printed_hint_runs_as_printed(session: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer with a key where the PR comment's hint expects it (~/.ssh/id_ed25519)
    and listed in policies/review.yaml: every hint of the session runs as printed."""
    home = session / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    public = keygen(home / ".ssh" / "id_ed25519")
    (session / "repo" / "policies").mkdir()
    (session / "repo" / "policies" / "review.yaml").write_text(REVIEW.format(key=public))
    steps = [
        ["sync", "repo"],
        ["state", "show", "--store", "empty.db"],  # no snapshots yet: run `accesshive sync`
        ["plan", "repo", "--out", "plan.json", *TODAY],
        ["show", "plan.json", "--format", "markdown", "-C", "repo"],
        ["apply", "plan.json", "-C", "repo", *TODAY],
        ["status", "repo", *TODAY],
        ["status", "repo", "--identity", "grace.hopper", *TODAY],
        ["tasks", "list", "repo"],
        ["tasks", "list", "repo", "--format", "markdown"],
        ["state", "show", "repo"],
        ["audit", "verify", "repo"],
        ["approvals", "verify", "plan.json", "-C", "repo"],
        ["report", "repo", "--no-sync", "--format", "markdown", *TODAY],
        ["tasks", "done", "T-nothing", "-C", "repo"],  # names the command that lists them
        ["apply", "repo"],  # no plan and no --auto-approve: says how
    ]
    results = []
    for args in steps:
        result = _run(args)
        results.append(result)
        assert "Traceback" not in result.output, result.output
    hints = _hints(results)
    gated = re.search(r"\| `([0-9a-f]{12})` \|", results[3].output)
    assert gated is not None
    # the hints this session must show, each naming the repository it is about
    assert "accesshive apply plan.json -C repo" in hints
    assert "accesshive tasks list --format markdown -C repo" in hints
    assert "accesshive tasks list -C repo" in hints
    assert any(re.fullmatch(r"accesshive tasks done T-[0-9a-f]+ -C repo", h) for h in hints)
    assert "accesshive sync --store empty.db" in hints

    approve = [h for h in hints if h.startswith("accesshive approve ")]
    assert approve == ["accesshive approve plan.json --all-gated --key ~/.ssh/id_ed25519 -C repo"]
    for hint in hints:
        words = [os.path.expanduser(w) for w in shlex.split(hint)[1:]]  # as a shell would
        result = _run(words)
        _clean(result, words)
        if hint in approve:  # the reviewer's own key, where the hint says: it signs
            assert result.exit_code == 0, result.output
            assert "as alice into" in result.output


def test_hints_need_no_c_when_run_from_the_repository(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(session / "repo")
    assert _run(["sync"]).exit_code == 0
    planned = _run(["plan", "--out", "plan.json", *TODAY])
    assert "apply it with `accesshive apply plan.json`." in planned.output
    applied = _run(["apply", "plan.json", *TODAY])
    assert "`accesshive tasks list --format markdown`" in applied.output
    for hint in _hints([planned, applied]):
        words = shlex.split(hint)[1:]
        _clean(_run(words), words)


def test_a_plan_file_beside_its_repository_needs_no_c(session: Path) -> None:
    """The repository of a plan file is the current directory, or else the one holding it."""
    assert _run(["sync", "repo"]).exit_code == 0
    assert _run(["plan", "repo", "--out", "repo/plan.json", *TODAY]).exit_code == 0
    applied = _run(["apply", "repo/plan.json", *TODAY])
    assert applied.exit_code == 6, applied.output  # waits for approvals and a manual task
    assert "`accesshive tasks list --format markdown -C repo`" in applied.output


def test_hints_keep_the_environment_given_on_the_command_line(session: Path) -> None:
    store = "sqlite-store.db"
    # a store that does not exist yet: the hint that creates it keeps both
    absent = _run(["tasks", "list", "-C", "repo", "--store", store])
    assert absent.exit_code == 1
    assert f"`accesshive sync -C repo --store {store}`" in absent.output
    assert _run(["sync", "-C", "repo", "--store", store]).exit_code == 0
    missing = _run(["tasks", "done", "T-nothing", "-C", "repo", "--store", store])
    assert missing.exit_code == 1
    assert f"`accesshive tasks list -C repo --store {store}`" in missing.output


def test_a_store_url_with_a_password_is_never_printed(session: Path) -> None:
    url = "postgresql://app:s3cret-pw@127.0.0.1:1/none"
    result = _run(["state", "show", "repo", "--store", url])
    assert result.exit_code != 0
    assert "s3cret-pw" not in result.output


VAULT = """sources:
  vault:
    kind: vault
    connection: {path: .accesshive/vault.db, key_file: .accesshive/master.key}
"""
TOKEN = """  ci-token:
    type: api_key
    owner: ada.lovelace
    credential: {supplied_by: stdin}
"""


def test_a_hint_in_a_step_of_status_runs_from_another_directory(session: Path) -> None:
    """`status IDENTITY` shows each step's message; a message that says what to run (here:
    supply the missing secret) names the repository, and running it as printed, from
    the directory above the repository, fixes the step."""
    repo = session / "repo"
    (repo / "sources" / "vault.yaml").write_text(VAULT)
    with (repo / "identities" / "people.yaml").open("a") as fh:
        fh.write(TOKEN)
    made = _run(["vault", "init", "--key-file", "repo/.accesshive/master.key"])
    assert made.exit_code == 0, made.output
    assert _run(["sync", "repo"]).exit_code == 0
    applied = _run(["apply", "repo", "--auto-approve", *TODAY])
    assert applied.exit_code == 1, applied.output  # no value was supplied for ci-token
    detail = _run(["status", "repo", "ci-token", *TODAY])
    assert detail.output.startswith("error        ci-token"), detail.output
    (hint,) = _hints([detail])
    assert hint == "accesshive vault put ci-token -C repo"
    put = _run(shlex.split(hint)[1:], stdin="tok-0123456789")
    _clean(put, shlex.split(hint))
    assert put.exit_code == 0, put.output
    retried = _run(["retry", "ci-token", "-C", "repo", *TODAY])
    assert retried.exit_code == 0, retried.output
    assert _run(["status", "repo", "ci-token", *TODAY]).output.startswith("provisioned  ci-token")


def test_show_without_c_names_the_plans_repository(session: Path) -> None:
    """`show PLAN` without -C, from outside the repository: the approve hint names the
    repository holding the plan, so it runs as printed from here (and from anywhere the
    plan path is right)."""
    assert _run(["sync", "repo"]).exit_code == 0
    assert _run(["plan", "repo", "--out", "repo/plan.json", *TODAY]).exit_code == 0
    shown = _run(["show", "repo/plan.json", "--format", "markdown"])
    (approve,) = [h for h in _hints([shown]) if h.startswith("accesshive approve")]
    assert (
        approve == "accesshive approve repo/plan.json --all-gated --key ~/.ssh/id_ed25519 -C repo"
    )
