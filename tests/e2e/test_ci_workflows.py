"""The CI examples: the workflow files parse, every accesshive command and flag they use
exists, and their scripts work on the quickstart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from accesshive.cli import main
from tests.conftest import EXAMPLES

CI = EXAMPLES / "ci"
SCRIPTS = CI / "scripts"
FILES = sorted([*CI.rglob("*.yml"), *CI.rglob("*.sh")])


def test_workflow_files_parse() -> None:
    yaml = YAML(typ="safe")
    github = sorted((CI / "github").glob("*.yml"))
    assert len(github) == 4
    for path in github:
        doc = yaml.load(path)
        assert "jobs" in doc and ("on" in doc or True in doc), path  # YAML 1.1 reads `on` as True
        for job in doc["jobs"].values():
            assert job["steps"], path
    gitlab = yaml.load(CI / "gitlab" / ".gitlab-ci.yml")
    assert set(gitlab["stages"]) == {"plan", "apply", "report", "promote"}


def _invocations(text: str) -> list[list[str]]:
    """Every `accesshive ...` command line in a script or workflow (continuations joined)."""
    text = text.replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("#", "name:", "- name:", "title=")):
            continue  # prose, not a command
        for match in re.finditer(r"(?<![\w/-])accesshive\s+([^|;&>\n]*)", line):
            words = match.group(1).split()
            if words and not words[0].startswith(("$", "-", '"')):
                found.append(words)
        if '"${args[@]}"' in line and "accesshive" in line:
            found.append(["plan", "--out", "--format", "--detailed-exitcode", "--author"])
    return found


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = main
    rest = list(words)
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CI)))
def test_every_command_and_flag_exists(path: Path) -> None:
    calls = _invocations(path.read_text())
    if path.suffix == ".sh" or "scripts" not in path.read_text():
        assert calls or path.suffix == ".yml", f"{path} calls no accesshive command"
    for words in calls:
        command, rest = _command(words)
        assert not isinstance(command, click.Group), f"{path}: `accesshive {' '.join(words)}`"
        known = {opt for p in command.params for opt in getattr(p, "opts", [])}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"{path}: {command.name} has no {word}"


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_scripts_on_the_quickstart(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # the merge and nightly jobs sync; a pull request's plan job holds no credentials
    assert "accesshive sync" not in (SCRIPTS / "pr-plan.sh").read_text()
    synced = subprocess.run(
        [Path(sys.executable).parent / "accesshive", "sync", str(repo)],
        capture_output=True,
        text=True,
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    planned = _run("pr-plan.sh", str(repo), str(out), "dave", cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    assert (out / "plan.json").exists()
    assert (out / "plan.md").read_text().startswith("### Plan: ")
    applied = _run("merge-apply.sh", str(repo), str(out / "plan.json"), cwd=tmp_path)
    # gated orders wait for approval: the merge job fails and says so
    assert applied.returncode == 6, applied.stdout + applied.stderr
    assert "apply left orders unverified (exit 6)" in applied.stderr
    assert '"status": "incomplete"' in (tmp_path / "apply.json").read_text()
    reported = _run("nightly-report.sh", str(repo), str(out), cwd=tmp_path)
    assert reported.returncode == 7, reported.stderr  # the badge export has an orphan
    assert (out / "report.html").exists() and (out / "report.json").exists()
    assert "Orphaned accounts" in (out / "report.md").read_text()


def test_promote_script_refuses_an_unapplied_config(repo: Path, tmp_path: Path) -> None:
    (repo / "accesshive.yaml").write_text(
        (repo / "accesshive.yaml").read_text()
        + "default_environment: sandbox\nenvironments:\n  sandbox: {}\n"
        "  production: {require_promotion_from: sandbox}\n"
    )
    result = _run("promote.sh", str(repo), cwd=tmp_path)
    assert result.returncode == 1
    assert "was not applied in 'sandbox'" in result.stderr
