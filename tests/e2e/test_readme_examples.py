"""The README's shell examples work: every ``accesshive ...`` command of its ```sh and
```bash blocks is parsed by the CLI (no unknown option, missing or extra argument), and
those that need no server, key or network are run, in order, on copies of the examples
from a directory laid out like this repository: none may be a usage error or a traceback.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES, FIXTURES, ROOT

BLOCK = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)
RUN = {
    *("validate", "plan", "show", "graph", "apply", "status"),
    *("sync", "state", "tasks", "report", "schema", "cache"),
}
"""Commands run for real: they read and write only the copies and the store beside them."""
RUN_SUB = {("audit", "verify"), ("audit", "export")}


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found: list[list[str]] = []
    for block in BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            command: list[str] = []
            redirected = False  # the word after > or < is a file, not an argument
            for word in [*words, "&&"]:
                if word in {"&&", "||", "|", ";"}:
                    if command[:1] == ["accesshive"]:
                        found.append(command[1:])
                    command = []
                elif word in {">", ">>", "<", "2>"}:
                    redirected = True
                elif redirected:
                    redirected = False
                else:
                    command.append(word)
    return found


COMMANDS = readme_commands()


def test_the_readme_has_examples() -> None:
    assert len(COMMANDS) > 30
    assert ["status", "examples/quickstart"] in COMMANDS


def _leaf(words: list[str]) -> tuple[click.Command, list[str], str]:
    command: click.Command = main
    i = 0
    while isinstance(command, click.Group) and i < len(words) and words[i] in command.commands:
        command = command.commands[words[i]]
        i += 1
    return command, words[i:], " ".join(words[:i])


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w)[:70])
def test_readme_command_parses(words: list[str]) -> None:
    command, rest, name = _leaf(words)
    # a group is a command only when it runs without a subcommand (`accesshive console`)
    runs_alone = not isinstance(command, click.Group) or command.invoke_without_command
    assert command is not main and runs_alone, words
    try:
        command.make_context(name, list(rest))
    except click.BadParameter as exc:
        # a file the example makes first (plan.json) or that is the reader's (a key)
        assert "does not exist" in exc.format_message(), exc.format_message()
    except click.UsageError as exc:
        pytest.fail(f"`accesshive {' '.join(words)}`: {exc.format_message()}")


def test_readme_commands_run_on_copies_of_the_examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    shutil.copytree(FIXTURES / "snapshots", tmp_path / "tests" / "fixtures" / "snapshots")
    monkeypatch.chdir(tmp_path)
    ran = 0
    for words in COMMANDS:
        runnable = words[0] in RUN or tuple(words[:2]) in RUN_SUB
        if not runnable or "--detailed-exitcode" in words:
            continue
        result = CliRunner().invoke(main, words, input="")
        shown = "accesshive " + " ".join(words)
        assert result.exit_code != 2, f"`{shown}` is a usage error:\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"`{shown}` raised {result.exception!r}\n{result.output}"
        )
        ran += 1
    assert ran > 15
