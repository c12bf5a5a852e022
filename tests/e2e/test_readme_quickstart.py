"""The README's quick start, run as a new user runs it from a fresh clone: each command in
order, in a directory laid out like this repository (the examples without any store),
ending with the console on the store the quick start's own apply made."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES, FIXTURES, ROOT
from tests.support.console import console_command


def quick_start() -> list[list[str]]:
    """The words of each command of the README's quick start block, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quick start\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the quick start has no ```sh block"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


def test_the_quick_start_ends_in_the_console_on_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = quick_start()
    assert commands[-1] == ["accesshive", "console", "-C", "examples/quickstart"]
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns(".accesshive"))
    shutil.copytree(FIXTURES / "snapshots", tmp_path / "tests" / "fixtures" / "snapshots")
    monkeypatch.chdir(tmp_path)
    for words in commands[:-1]:
        assert words[0] == "accesshive", words
        result = CliRunner().invoke(main, words[1:], input="")
        # 6: apply left the gated grant waiting for its reviewer, as the README says
        assert result.exit_code in (0, 6), f"`{shlex.join(words)}`:\n{result.output}"
    # the console exactly as written, on a free port rather than 8300 (CI may hold it)
    with console_command([*commands[-1][2:], "--port", "0"], cwd=tmp_path) as url:
        page = httpx.get(url + "/").text
    assert "No store for this environment yet" not in page
    assert page.count("data-status>provisioned<") >= 1
    assert "ada.lovelace" in page
