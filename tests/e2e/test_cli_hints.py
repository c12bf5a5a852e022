"""Every command the CLI tells a user to run works as printed, from where the user is.

A realistic session on a copy of the quick-start example, run from the directory *above*
the repository (so every hint must name it with ``-C``): sync, plan, show, apply, status,
tasks, state, audit, report, and a few mistakes. Every backticked ``accesshive ...`` in
what it prints is collected and run as printed; none may be a usage error (exit 2) or end
in a traceback.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from tests.conftest import EXAMPLES

HINT = re.compile(r"`(accesshive [^`]*)`")
TODAY = ["--today", "2026-11-29"]
PLACEHOLDERS = ("KEY", "NAME", "ID")
"""Words a hint leaves to its reader because only the reader knows them (the PR comment's
``approve ... --order ID --key KEY --as NAME``): the test fills them in as a reviewer would."""


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


def test_every_printed_hint_runs_as_printed(session: Path) -> None:
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

    key = session / "reviewer.pub"
    key.write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    fill = {"KEY": str(key), "NAME": "alice", "ID": gated.group(1)}
    for hint in hints:
        words = shlex.split(hint)[1:]
        words = [fill.get(w, w) if w in PLACEHOLDERS else w for w in words]
        _clean(_run(words), words)


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
    missing = _run(["tasks", "done", "T-nothing", "-C", "repo", "--store", store])
    assert missing.exit_code == 1
    assert f"`accesshive tasks list -C repo --store {store}`" in missing.output


def test_a_store_url_with_a_password_is_never_printed(session: Path) -> None:
    url = "postgresql://app:s3cret-pw@127.0.0.1:1/none"
    result = _run(["state", "show", "repo", "--store", url])
    assert result.exit_code != 0
    assert "s3cret-pw" not in result.output
