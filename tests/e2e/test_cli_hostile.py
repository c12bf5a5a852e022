"""Every command, given hostile arguments, answers with a clean error: one ``Error:`` line
naming what is wrong (the file, and its line where there is one), a non-zero exit status,
no traceback, and nothing changed in the repository or around it.

The cases are a table per command, and a test checks the table covers every command of
``main`` (groups included): a command added later fails that test until it has cases.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES

HUGE = "9" * 5000
R = "repo"  # the quick-start copy, relative to the test's working directory

# per command: (arguments, what the error must name)
CASES: dict[tuple[str, ...], list[tuple[list[str], str]]] = {
    ("validate",): [(["missing-dir"], "missing-dir"), (["file.txt"], "file.txt")],
    ("plan",): [
        ([R, "--out", "missing-dir/plan.json"], "missing-dir"),
        ([R, "--out", "a-dir"], "a-dir"),
        ([R, "--snapshot", "missing.yaml"], "missing.yaml"),
        ([R, "--snapshot", "garbage.json"], "garbage.json"),
        ([R, "--today", HUGE], "--today"),
        (["missing-dir"], "missing-dir"),
    ],
    ("show",): [
        (["missing.json"], "missing.json"),
        (["a-dir"], "a-dir"),
        (["garbage.json"], "garbage.json"),
        (["huge.json"], "huge.json"),
        (["deep.json"], "deep.json"),
        (["binary.json"], "binary.json"),
        (["not-a-plan.json"], "not-a-plan.json"),
    ],
    ("graph",): [(["garbage.json"], "garbage.json"), (["huge.json"], "huge.json")],
    ("schema",): [(["--out", "file.txt"], "file.txt")],
    ("apply",): [
        (["missing.json", "-C", R], "missing.json"),
        (["garbage.json", "-C", R], "garbage.json"),
        (["huge.json", "-C", R], "huge.json"),
        (["not-a-plan.json", "-C", R], "not-a-plan.json"),
        (["garbage.json", "-C", "missing-dir"], "missing-dir"),
    ],
    ("status",): [(["missing-dir"], "missing-dir"), ([R, "--identity", "nobody"], "nobody")],
    ("retry",): [(["nobody", "-C", R], "nobody"), (["nobody", "-C", "missing-dir"], "")],
    ("sync",): [([R, "--source", "nosuch"], "nosuch"), (["file.txt"], "file.txt")],
    ("state", "show"): [(["missing-dir"], "missing-dir")],
    ("state", "unlock"): [([R], "--force"), (["missing-dir", "--force"], "missing-dir")],
    ("approve",): [
        (
            ["garbage.json", "--all-gated", "--key", "file.txt", "--as", "x", "-C", R],
            "garbage.json",
        ),
        (["missing.json", "--all-gated", "--key", "file.txt", "--as", "x"], "missing.json"),
        (["garbage.json", "--all-gated", "--key", "a-dir", "--as", "x"], "a-dir"),
    ],
    ("decline",): [
        (
            [
                "garbage.json",
                "--order",
                "x",
                "--reason",
                "no",
                "--key",
                "file.txt",
                "--as",
                "x",
                "-C",
                R,
            ],
            "garbage.json",
        ),
        (["missing.json", "--order", "x", "--reason", "no", "--key", "k", "--as", "x"], "'k'"),
    ],
    ("approvals", "verify"): [
        (["garbage.json", "-C", R], "garbage.json"),
        (["huge.json", "-C", R], "huge.json"),
    ],
    ("approvals", "from-github"): [
        (["garbage.json", "--repo", "a/b", "--pr", HUGE, "-C", R], "--pr"),
        (["garbage.json", "--repo", "a/b", "--pr", "1", "-C", R], "garbage.json"),
    ],
    ("report",): [
        ([R, "--out", "missing-dir/r.md", "--no-sync"], "missing-dir"),
        ([R, "--stale-days", HUGE, "--no-sync"], "--stale-days"),
        ([R, "--stale-days", "-1", "--no-sync"], "--stale-days"),
    ],
    ("promote",): [([R, "--from", "nowhere", "--to", "neither"], "not declared")],
    ("scim", "token", "create"): [(["--source", "nosuch", "-C", R], "nosuch")],
    ("scim", "token", "list"): [(["-C", "missing-dir"], "missing-dir")],
    ("scim", "token", "revoke"): [
        (["999", "-C", R], "999"),
        (["not-a-number", "-C", R], "not-a-number"),
        ([HUGE, "-C", R], "ID"),
    ],
    ("scim", "serve"): [
        (["--source", "x", "--port", "99999", "-C", R], "--port"),
        (["--source", "x", "--port", "-1", "-C", R], "--port"),
        (["--source", "x", "--port", HUGE, "-C", R], "--port"),
        (["--source", "nosuch", "--port", "8787", "-C", R], "nosuch"),
    ],
    ("import", "csv"): [
        (["missing.csv", "--source", "hr", "-C", R], "missing.csv"),
        (["a-dir", "--source", "hr", "-C", R], "a-dir"),
        (["binary.json", "--source", "nosuch", "-C", R], "nosuch"),
    ],
    ("import", "scim"): [(["not-a-url", "--source", "nosuch", "-C", R], "nosuch")],
    ("audit", "verify"): [(["missing-dir"], "missing-dir")],
    ("audit", "export"): [([R, "--out", "missing-dir/a.jsonl"], "missing-dir")],
    ("audit", "forward"): [
        ([R, "--url", "http://127.0.0.1:1/", "--batch-size", "0"], "--batch-size"),
        ([R, "--url", "http://127.0.0.1:1/", "--batch-size", HUGE], "--batch-size"),
    ],
    ("vault", "init"): [
        (["--key-file", "a-dir"], "a-dir"),
        (["--key-file", "file.txt"], "file.txt"),  # never overwritten
    ],
    ("vault", "put"): [(["someone", "-C", R], "vault")],
    ("vault", "get"): [(["someone", "--reveal", "-C", R], "vault")],
    ("vault", "list"): [(["-C", R], "vault"), (["-C", "missing-dir"], "")],
    ("vault", "rotate-key"): [(["-C", R, "--key-out", "missing-dir/k"], "missing-dir")],
    ("tasks", "list"): [(["missing-dir"], "missing-dir")],
    ("tasks", "done"): [(["T-nothing", "-C", R], "T-nothing"), ([R, "T-1"], "T-1")],
    ("console", "token", "create"): [
        (["--operator", "olive", "--expires-in", "soon", "-C", R], "soon"),
        (["--operator", "olive", "-C", "missing-dir"], "missing-dir"),
    ],
    ("console", "token", "list"): [(["-C", "missing-dir"], "missing-dir")],
    ("console", "token", "revoke"): [
        (["99", "-C", R], "99"),
        (["not-a-number", "-C", R], "not-a-number"),
    ],
    ("worker",): [
        (["-C", R], "PostgreSQL"),  # the embedded store cannot hold the shared queue
        (["-C", "missing-dir"], "missing-dir"),
    ],
    ("cache", "info"): [(["--format", "yaml"], "yaml")],
    ("cache", "prune"): [(["--older-than", "-3"], "--older-than")],
}


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _leaves(command, (*prefix, name))
        else:
            found.add((*prefix, name))
    return found


def test_every_command_has_hostile_cases() -> None:
    assert _leaves(main) - set(CASES) == set()


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / R)
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "file.txt").write_text("not a directory\n")
    (tmp_path / "garbage.json").write_text("{not json at all")
    (tmp_path / "huge.json").write_text('{"plan_digest": "x", "format_version": ' + HUGE + "}")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "not-a-plan.json").write_text('{"hello": "world"}')
    monkeypatch.chdir(tmp_path)
    for name in ("ACCESSHIVE_MASTER_KEY", "ACCESSHIVE_AUDIT_KEY", "GITHUB_TOKEN", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` and its content digest (the store is left out: opening it
    may create it, which changes nothing the user wrote)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".accesshive" not in p.parts
    }


@pytest.mark.parametrize(
    ("command", "args", "named"),
    [(command, args, named) for command, cases in CASES.items() for args, named in cases],
    ids=lambda v: " ".join(v)[:60] if isinstance(v, (tuple, list)) else None,
)
def test_hostile_arguments_get_a_clean_error(
    scene: Path, command: tuple[str, ...], args: list[str], named: str
) -> None:
    before = _tree(scene)
    result = CliRunner().invoke(main, [*command, *args], input="secret\n")
    output = result.output
    assert result.exit_code != 0, output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r}\n{output}"
    )
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    if not errors:  # a config problem: its diagnostics, file:line:column, then the count
        assert "error[" in output, output
    else:
        assert len(errors) == 1, output
        assert len(errors[0]) < 400, errors[0]
    assert named in output, output
    assert _tree(scene) == before
