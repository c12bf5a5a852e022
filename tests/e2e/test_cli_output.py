"""What the CLI prints around its results: errors as JSON with ``--format json``, colours
only where wanted (``NO_COLOR``, ``--no-color``, never on a pipe), and the repository
convention as ``--help`` documents it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES, FIXTURES

ANSI = "\x1b["
TODAY = ["--today", "2026-11-29"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / "repo")
    return tmp_path / "repo"


def _error(args: list[str]) -> tuple[dict[str, object], int, str]:
    result = CliRunner().invoke(main, args)
    body = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert set(body["error"]) == {"kind", "message", "hint", "exit_code"}, body
    assert body["error"]["exit_code"] == result.exit_code
    assert "Error:" not in result.stdout
    return body["error"], result.exit_code, result.stderr


def test_errors_are_one_json_object_with_format_json(repo: Path, tmp_path: Path) -> None:
    missing_plan, code, _ = _error(["apply", str(tmp_path / "nope.json"), "--format", "json"])
    assert (missing_plan["kind"], code) == ("usage", 2)
    assert "does not exist" in str(missing_plan["message"])

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    unreadable, code, _ = _error(["apply", str(garbage), "-C", str(repo), "--format", "json"])
    assert (unreadable["kind"], code) == ("plan_file", 1)
    assert "garbage.json" in str(unreadable["message"])

    source, code, stderr = _error(["sync", str(repo), "--format=json", "--source", "nosuch"])
    assert (source["kind"], code) == ("connector", 1)
    assert "nosuch" in str(source["message"])
    assert "Error:" not in stderr

    broken = FIXTURES / "broken" / "dangling_role"
    config, code, _ = _error(["plan", str(broken), "--format", "json", *TODAY])
    assert (config["kind"], code) == ("config", 1)
    result = CliRunner().invoke(main, ["plan", str(broken), "--format", "json", *TODAY])
    diagnostics = json.loads(result.stdout)["diagnostics"]
    assert diagnostics[0]["code"] == "unknown-reference"

    usage, code, _ = _error(["status", str(repo), "--format", "json", "--bogus"])
    assert (usage["kind"], code, usage["hint"]) == ("usage", 2, "`accesshive status --help`")


def test_errors_without_json_stay_text_on_stderr(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    result = CliRunner().invoke(main, ["show", str(garbage)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_validate_with_problems_is_a_json_error(tmp_path: Path) -> None:
    broken = FIXTURES / "broken" / "dangling_role"
    result = CliRunner().invoke(main, ["validate", str(broken), "--format", "json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["ok"] is False
    assert body["error"]["kind"] == "config"
    assert body["diagnostics"]


@pytest.mark.parametrize(
    ("env", "flag", "coloured"),
    [
        ({}, [], True),
        ({"NO_COLOR": "1"}, [], False),
        ({"NO_COLOR": ""}, [], True),  # no-color.org: only a non-empty value counts
        ({}, ["--no-color"], False),
    ],
)
def test_colour_follows_no_color_and_the_flag(
    repo: Path, env: dict[str, str], flag: list[str], coloured: bool
) -> None:
    # color=True is a terminal as far as click knows
    result = CliRunner(env=env).invoke(main, ["validate", str(repo), *flag], color=True)
    assert result.exit_code == 0, result.output
    assert (ANSI in result.output) is coloured
    before = CliRunner(env=env).invoke(main, [*flag, "validate", str(repo)], color=True)
    assert (ANSI in before.output) is coloured


def test_no_ansi_codes_on_a_pipe(repo: Path) -> None:
    for args in (["validate", str(repo)], ["plan", str(repo), *TODAY], ["status", str(repo)]):
        result = CliRunner().invoke(main, args)  # color=False: not a terminal
        assert ANSI not in result.output, args


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_that_reads_a_repository_takes_c_dir() -> None:
    root = CliRunner().invoke(main, ["--help"])
    assert "-C DIR" in root.output
    for path in _commands(main):
        command: click.Command = main
        for word in path:
            assert isinstance(command, click.Group)
            command = command.commands[word]
        names = {p.name for p in command.params}
        shown = CliRunner().invoke(main, [*path, "--help"]).output
        assert "--no-color" in shown, path
        if "directory" in names:
            assert "-C, --dir DIR" in shown, path
        if "repository" in names:  # the repository as an argument too: [DIR], nothing else
            arguments = [p for p in command.params if isinstance(p, click.Argument)]
            assert [a.name for a in arguments] == ["repository"], path


def _help(*path: str) -> str:
    """``accesshive PATH --help``, its lines joined (click wraps them where it likes)."""
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("word", "flag", "total"),
    [("drift", "--fail-on drift", "drift"), ("orphans", "--fail-on orphans", "orphaned")],
)
def test_a_well_known_word_points_at_the_command_that_does_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch, word: str, flag: str, total: str
) -> None:
    """`accesshive drift` is not a near miss of `audit`: it names the report, whose
    command runs as printed."""
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, [word])
    assert result.exit_code == 2
    assert f"No such command '{word}'" in result.output
    assert "`accesshive report`" in result.output and f"`{flag}`" in result.output
    assert "audit" not in result.output
    report = CliRunner().invoke(main, ["report", "--format", "json", *TODAY, *flag.split()])
    found = json.loads(report.stdout)["totals"][total]
    assert report.exit_code == (7 if found else 0), report.output


def test_a_misspelt_command_still_gets_the_closest_one() -> None:
    result = CliRunner().invoke(main, ["aply"])
    assert result.exit_code == 2
    assert "apply" in result.output


def test_format_help_says_json_only_where_json_is_a_choice() -> None:
    for path in (("graph",), ("audit", "export")):
        shown = _help(*path)
        assert "json is for machines" not in shown and "errors are JSON" not in shown, path
    assert "json is for machines; with json, errors are JSON too" in _help("plan")


PLAN_FILE_HELP = "with a plan file, the directory holding it"


@pytest.mark.parametrize(
    "path",
    [
        ("plan",),
        ("sync",),
        ("status",),
        ("report",),
        ("console",),
        ("vault", "list"),
        ("scim", "serve"),
        ("worker",),
        ("retry",),
    ],
)
def test_c_help_speaks_of_plan_files_only_where_one_is_taken(path: tuple[str, ...]) -> None:
    shown = _help(*path)
    assert "The config repository (default: the current directory)" in shown, path
    assert PLAN_FILE_HELP not in shown, path


def test_c_help_of_commands_given_a_plan_file_says_where_it_looks() -> None:
    for path in (("apply",), ("approvals", "verify"), ("approve",)):
        assert "the directory holding" in _help(*path), path


def test_every_option_has_a_description() -> None:
    for path in _commands(main):
        command: click.Command = main
        for word in path:
            assert isinstance(command, click.Group)
            command = command.commands[word]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, (path, param.name)


def test_commands_without_a_store_say_why() -> None:
    assert "--env" in _help("vault", "list")
    assert "No --store" in _help("vault", "list")
    assert "No --env or --store" in _help("import", "scim")


def test_auto_approve_help_says_gated_orders_still_wait() -> None:
    shown = _help("apply")
    assert "Approves nothing: gated orders still wait for their reviewers' approvals" in shown


def test_an_unknown_identity_exits_1_for_every_command(repo: Path, tmp_path: Path) -> None:
    """`status`, `retry` and `apply --identity` given an identity that does not exist: the
    same exit code, 1 (a name not found), never 2 (a command line click cannot read)."""
    runner = CliRunner()
    assert runner.invoke(main, ["sync", str(repo)]).exit_code == 0
    plan_file = tmp_path / "plan.json"
    planned = runner.invoke(main, ["plan", str(repo), "--out", str(plan_file), *TODAY])
    assert planned.exit_code == 0, planned.output
    for args in (
        ["status", str(repo), "grace.hoper"],
        ["retry", "grace.hoper", "-C", str(repo), *TODAY],
        ["apply", str(plan_file), "-C", str(repo), "--identity", "grace.hoper", *TODAY],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert "did you mean 'grace.hopper'" in result.output, args


def test_every_well_known_word_names_commands_that_exist() -> None:
    """Each command a well-known word points at is one accesshive has (its --help runs),
    and no such word hides a command of that name."""
    import re
    import shlex

    from accesshive.cli._group import WELL_KNOWN

    for word, said in WELL_KNOWN.items():
        assert word not in main.commands, word
        commands = re.findall(r"`accesshive ([^`]*)`", said)
        assert commands, word
        for command in commands:
            shown = CliRunner().invoke(main, [*shlex.split(command), "--help"])
            assert shown.exit_code == 0, (word, command, shown.output)


def test_a_well_known_word_given_a_repository_points_at_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`accesshive drift examples/quickstart` (or `orphans -C DIR`) from elsewhere: the
    command suggested names that repository, so it runs as printed from where the user is;
    every suggestion made so takes ``-C``."""
    import re
    import shlex

    from accesshive.cli._group import WELL_KNOWN

    monkeypatch.chdir(tmp_path)
    for args in (["drift", str(repo)], ["orphans", "-C", str(repo)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2
        assert f"`accesshive report -C {repo}`" in result.output, result.output
        (command,) = re.findall(r"`accesshive ([^`]*)`", result.output)
        report = CliRunner().invoke(main, [*shlex.split(command), "--format", "json", *TODAY])
        assert report.exit_code in (0, 7), report.output
        assert "totals" in json.loads(report.stdout)
    for word in WELL_KNOWN:
        said = CliRunner().invoke(main, [word, "-C", str(repo)]).output
        for command in re.findall(r"`accesshive ([^`]*)`", said):
            shown = CliRunner().invoke(main, [*shlex.split(command), "--help"])
            assert shown.exit_code == 0, (word, command, shown.output)
