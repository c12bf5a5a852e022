"""The CLI as a user runs it: validate and schema on the shipped examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from accesshive.cli import main
from tests.conftest import EXAMPLES, FIXTURES

EXAMPLE_DIRS = sorted(p for p in EXAMPLES.iterdir() if (p / "accesshive.yaml").is_file())


@pytest.mark.parametrize("example", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_examples_are_valid(example: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(example)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("validate", "schema"):
        assert command in result.output


def test_broken_config_exits_1_with_location() -> None:
    result = CliRunner().invoke(main, ["validate", str(FIXTURES / "broken" / "unknown_key")])
    assert result.exit_code == 1
    assert "identities.yaml:4:5: error[unknown-key]: unknown key 'rolse'" in result.output
    assert "did you mean 'roles'?" in result.output
    assert "nothing was changed" in result.output


def test_json_format_is_machine_readable() -> None:
    broken = FIXTURES / "broken" / "dangling_role"
    result = CliRunner().invoke(main, ["validate", str(broken), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    (diag,) = payload["diagnostics"]
    assert (diag["file"], diag["line"], diag["column"]) == ("identities.yaml", 4, 13)
    assert diag["code"] == "unknown-reference"
    assert diag["hint"] == "did you mean 'staff'?"


def test_json_format_on_valid_repo() -> None:
    quick = EXAMPLES / "quickstart"
    result = CliRunner().invoke(main, ["validate", str(quick), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"diagnostics": [], "ok": True}


def _plain(data: object) -> object:
    """YAML dates become strings, as an editor's YAML language server sees them."""
    return json.loads(json.dumps(data, default=str))


def _schema_for(repo: Path, file: Path) -> str:
    rel = file.relative_to(repo).as_posix()
    if rel == "accesshive.yaml":
        return "project"
    return "policy" if rel.startswith("policies/") else "config"


@pytest.mark.parametrize("example", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_schema_validates_every_example_file(example: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    schemas = {
        n: json.loads((tmp_path / f"{n}.json").read_text()) for n in ("config", "project", "policy")
    }
    files = sorted([*example.rglob("*.yaml"), *Path(EXAMPLES.parent / "policies").glob("*.yaml")])
    assert files
    yaml = YAML(typ="safe")
    for file in files:
        target = "policy" if file.parent.name == "policies" else _schema_for(example, file)
        jsonschema.validate(_plain(yaml.load(file)), schemas[target])


def test_schema_rejects_a_typo() -> None:
    result = CliRunner().invoke(main, ["schema", "--for", "config"])
    schema = json.loads(result.stdout)
    bad = {"identities": {"ada": {"type": "human", "rolse": []}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_a_yaml_1_1_boolean_is_named_as_text_with_what_to_write(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "qs"
    shutil.copytree(EXAMPLES / "quickstart", repo)
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(wiki.read_text().replace("sensitive: true", "sensitive: yes"))
    result = CliRunner().invoke(main, ["validate", str(repo)])
    assert result.exit_code != 0
    assert "sources/wiki.yaml:" in result.output and "(got 'yes')" in result.output
    assert "write true or false: files are read as YAML 1.2, where 'yes' is text" in result.output
