"""`accesshive plan`, `show` and `graph` as a CI job runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES, FIXTURES

QUICK = str(EXAMPLES / "quickstart")
CONVERGED = str(FIXTURES / "snapshots" / "quickstart-converged.yaml")
DRIFTED = str(FIXTURES / "snapshots" / "quickstart-drifted.yaml")
TODAY = ["--today", "2026-11-29"]


def test_detailed_exitcode_says_whether_there_are_changes() -> None:
    runner = CliRunner()
    same = runner.invoke(
        main, ["plan", QUICK, "--snapshot", CONVERGED, "--detailed-exitcode", *TODAY]
    )
    assert same.exit_code == 0, same.output
    assert "No changes." in same.output
    drift = runner.invoke(
        main, ["plan", QUICK, "--snapshot", DRIFTED, "--detailed-exitcode", *TODAY]
    )
    assert drift.exit_code == 2, drift.output
    plain = runner.invoke(main, ["plan", QUICK, "--snapshot", DRIFTED, *TODAY])
    assert plain.exit_code == 0


def test_saved_plan_renders_in_every_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES.parent)  # the clone's root, as a fresh user runs it
    runner = CliRunner()
    out = tmp_path / "plan.json"
    result = runner.invoke(main, ["plan", QUICK, "--snapshot", DRIFTED, "--out", str(out), *TODAY])
    assert result.exit_code == 0, result.output
    assert f"to {out}" in result.output
    saved = json.loads(out.read_text())
    shown = runner.invoke(main, ["show", str(out), "--format", "json"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout) == saved
    md = runner.invoke(main, ["show", str(out), "--format", "markdown"])
    assert md.stdout.startswith("### Plan: 1 to add, 2 to change, 5 to remove, 0 manual tasks,")
    assert "#### Waiting for review (1 of 1 gated order)" in md.stdout
    assert "| `f5ea0b25dd47` |" in md.stdout
    # the quickstart declares no reviewer: the comment says where to declare them (the
    # repository below that the plan belongs to, named from here), not an approve
    # command that would refuse every key
    hint = (
        "No reviewer is declared to approve them, so none can be approved yet: list "
        "reviewers, with their groups and SSH public keys, under review.reviewers in "
        "examples/quickstart/policies/review.yaml"
    )
    assert hint in md.stdout
    assert "accesshive approve" not in md.stdout
    text = runner.invoke(main, ["show", str(out)])
    assert "⚠ awaiting approval: 1 of security" in text.stdout
    mermaid = runner.invoke(main, ["graph", str(out)])
    assert mermaid.stdout.startswith("flowchart TD\n")
    dot = runner.invoke(main, ["graph", str(out), "--format", "dot"])
    assert dot.stdout.startswith("digraph plan {")


def test_plan_with_broken_config_exits_1(tmp_path: Path) -> None:
    broken = FIXTURES / "broken" / "dangling_role"
    result = CliRunner().invoke(main, ["plan", str(broken), *TODAY])
    assert result.exit_code == 1
    assert "identities.yaml:4:13: error[unknown-reference]" in result.output


def test_edited_plan_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    CliRunner().invoke(main, ["plan", QUICK, "--out", str(out), *TODAY])
    out.write_text(out.read_text().replace('"readers"', '"wiki-admins"'))
    result = CliRunner().invoke(main, ["show", str(out)])
    assert result.exit_code == 1
    assert "was modified after it was written" in result.output


def test_guardrail_exit_code_is_3(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "quickstart", repo)
    (repo / "policies").mkdir()
    (repo / "policies" / "guardrails.yaml").write_text("guardrails:\n  max_removal_count: 0\n")
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "  ada.lovelace:\n    type: human\n",
            "  ada.lovelace:\n    type: human\n    lifecycle_state: terminated\n",
        )
    )
    result = CliRunner().invoke(main, ["plan", str(repo), "--snapshot", CONVERGED, *TODAY])
    assert result.exit_code == 3
    assert "--allow-mass-changes" in result.output
    ok = CliRunner().invoke(
        main, ["plan", str(repo), "--snapshot", CONVERGED, "--allow-mass-changes", *TODAY]
    )
    assert ok.exit_code == 0


def test_progress_shows_each_stage_on_stderr_and_leaves_json_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a terminal (or with --progress) a long plan says what it is doing; the plan on
    stdout stays exactly what it is without (then taken from the plan cache)."""
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path / "cache"))  # nothing planned yet
    runner = CliRunner()
    args = ["plan", QUICK, "--snapshot", DRIFTED, "--format", "json", *TODAY]
    shown = runner.invoke(main, [*args, "--progress"])
    quiet = runner.invoke(main, args)  # not a terminal: no progress
    assert shown.exit_code == 0 and quiet.exit_code == 0, shown.output
    assert shown.stdout == quiet.stdout
    json.loads(shown.stdout)
    stages = [line.split(" …")[0] for line in shown.stderr.splitlines()]
    assert stages == [
        f"loading and checking {QUICK}",
        "expanding 5 identities",
        "reading the snapshot",
        "diffing 10 accounts",
        stages[-1],
    ]
    assert stages[-1].startswith("ordering ") and stages[-1].endswith(" changes")
    assert all(line.endswith(" s") for line in shown.stderr.splitlines())
    assert quiet.stderr == ""


def test_progress_says_where_a_plan_stopped() -> None:
    broken = FIXTURES / "broken" / "dangling_role"
    result = CliRunner().invoke(main, ["plan", str(broken), "--progress", *TODAY])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"loading and checking {broken} … stopped"


def test_validate_shows_its_stages_too() -> None:
    result = CliRunner().invoke(main, ["validate", QUICK, "--progress", *TODAY])
    assert result.exit_code == 0, result.output
    assert [line.split(" …")[0] for line in result.stderr.splitlines()] == [
        f"loading and checking {QUICK}",
        "expanding 5 identities",
    ]
    assert "valid" in result.stdout


@pytest.mark.parametrize(
    ("example", "summary"),
    [
        (
            "quickstart",
            "(2 sources, 5 identities, 3 roles, 5 access profiles, 5 files, default policies: "
            "classification, guardrails, password, review)",
        ),
        # acme's policies/ sets every section: the shipped ones are read but none is used
        ("acme", "(6 sources, 38 identities, 18 roles, 36 access profiles, 20 files)"),
    ],
)
def test_validate_counts_what_the_repository_holds_and_uses(example: str, summary: str) -> None:
    result = CliRunner().invoke(main, ["validate", str(EXAMPLES / example), *TODAY])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f": valid {summary}"), result.stdout
