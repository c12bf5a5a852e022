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


def _broken_quickstart(where: Path) -> Path:
    """The quickstart with an unclosed ``[`` on line 4 of access.yaml."""
    import shutil

    shutil.copytree(EXAMPLES / "quickstart", where)
    access = where / "access.yaml"
    access.write_text(access.read_text().replace("[readers]", "[readers", 1))
    return where


def test_paths_open_from_where_the_user_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From the repository's parent, ``validate b1`` names ``b1/access.yaml``; from a
    directory the repository is not under, the absolute path; from the repository itself,
    what CI has always shown."""
    repo = _broken_quickstart(tmp_path / "trial" / "b1")
    monkeypatch.chdir(tmp_path / "trial")
    output = CliRunner().invoke(main, ["validate", "b1"]).output
    assert "\nb1/access.yaml:5:12: error[yaml-syntax]: " in f"\n{output}", output
    assert "see: b1/access.yaml:4:19" in output

    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    output = CliRunner().invoke(main, ["validate", str(repo)]).output
    assert f"\n{repo}/access.yaml:5:12: error[yaml-syntax]: " in f"\n{output}", output

    monkeypatch.chdir(repo)
    output = CliRunner().invoke(main, ["validate"]).output
    assert "\naccess.yaml:5:12: error[yaml-syntax]: " in f"\n{output}", output

    monkeypatch.chdir(tmp_path / "trial")
    result = CliRunner().invoke(main, ["validate", "b1", "--format", "json"])
    (syntax,) = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "yaml-syntax"]
    assert (syntax["file"], syntax["shown_file"]) == ("access.yaml", "b1/access.yaml")


def test_plan_names_files_from_where_the_user_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    repo = tmp_path / "trial" / "b2"
    shutil.copytree(EXAMPLES / "quickstart", repo)
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(wiki.read_text().replace("sensitive: true", "sensitive: yes"))
    monkeypatch.chdir(tmp_path / "trial")
    result = CliRunner().invoke(main, ["plan", str(repo), "--today", "2026-11-29"])
    assert result.exit_code == 1
    assert "\nb2/sources/wiki.yaml:" in f"\n{result.output}", result.output


def test_a_syntax_error_is_not_followed_by_references_it_hides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ops-admin is declared in access.yaml, which did not parse: no "role 'ops-admin' is
    not declared", but a warning that names the reference it could not check, and where
    it is, as a path that opens from where the user is."""
    repo = _broken_quickstart(tmp_path / "b1")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(repo)])
    assert result.exit_code == 1
    assert "error[yaml-syntax]: while parsing a flow sequence that started at line 4" in (
        result.output
    )
    assert "unknown-reference" not in result.output
    assert "is not declared" not in result.output
    assert (
        "b1/access.yaml: warning[not-checked]: cannot check 1 reference (role 'ops-admin'): "
        "b1/access.yaml did not parse, and what it names may be declared there\n"
        "  hint: fix the error in that file; its references are checked once it is read\n"
        "  see: b1/identities/people.yaml:13:13 (role 'ops-admin')\n"
    ) in result.output
    assert "Error: 1 problem found; nothing was changed." in result.output


def test_references_not_checked_are_listed_in_order_each_saying_what_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three references that access.yaml (which did not parse) may declare, in two files:
    one `see:` line each, by file then line (people.yaml:4 before :14), each saying
    which reference it is; the JSON gives the same places, in the same order, with
    their labels."""
    repo = _broken_quickstart(tmp_path / "a1")
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace("type: human\n", "type: human\n    roles: [zz-admin]\n", 1)
    )
    (repo / "identities" / "contractors.yaml").write_text(
        "identities:\n  mary.shelley:\n    type: human\n    roles: [ops-admin]\n"
        "    attributes:\n      given_name: Mary\n      family_name: Shelley\n"
        "      email: mary.shelley@quickstart.example\n      department: Engineering\n"
        "      employee_number: 1101\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "a1"])
    assert result.exit_code == 1
    assert (
        "a1/access.yaml: warning[not-checked]: cannot check 3 references (role 'ops-admin'; "
        "role 'zz-admin'): a1/access.yaml did not parse, and what they name may be declared "
        "there\n"
        "  hint: fix the error in that file; its references are checked once it is read\n"
        "  see: a1/identities/contractors.yaml:4:13 (role 'ops-admin')\n"
        "  see: a1/identities/people.yaml:4:13 (role 'zz-admin')\n"
        "  see: a1/identities/people.yaml:14:13 (role 'ops-admin')\n"
    ) in result.output
    as_json = CliRunner().invoke(main, ["validate", "a1", "--format", "json"])
    (note,) = [d for d in json.loads(as_json.stdout)["diagnostics"] if d["code"] == "not-checked"]
    assert note["related"] == [
        "identities/contractors.yaml:4:13",
        "identities/people.yaml:4:13",
        "identities/people.yaml:14:13",
    ]
    assert [(r["shown_file"], r["line"], r["label"]) for r in note["related_places"]] == [
        ("a1/identities/contractors.yaml", 4, "role 'ops-admin'"),
        ("a1/identities/people.yaml", 4, "role 'zz-admin'"),
        ("a1/identities/people.yaml", 14, "role 'ops-admin'"),
    ]


def test_json_error_hint_summarises_several_problems(tmp_path: Path) -> None:
    """The top-level hint of two problems is not the first one's ("did you mean 'wiki'?")."""
    import shutil

    repo = tmp_path / "qs"
    shutil.copytree(EXAMPLES / "quickstart", repo)
    access = repo / "access.yaml"
    access.write_text(access.read_text().replace("source: wiki", "source: wik", 1))
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("[ops-admin]", "[ops-admim]", 1))
    result = CliRunner().invoke(main, ["validate", str(repo), "--format", "json"])
    body = json.loads(result.stdout)
    hints = [d["hint"] for d in body["diagnostics"]]
    assert hints == ["did you mean 'wiki'?", "did you mean 'ops-admin'?"]
    assert body["error"]["hint"] == "2 problems, each with its own hint under 'diagnostics'"


def test_json_error_hint_of_one_problem_is_its_own() -> None:
    broken = FIXTURES / "broken" / "dangling_role"
    result = CliRunner().invoke(main, ["validate", str(broken), "--format", "json"])
    assert json.loads(result.stdout)["error"]["hint"] == "did you mean 'staff'?"


def test_json_error_message_counts_the_errors_as_the_text_does(tmp_path: Path) -> None:
    """A syntax error and the warning that references could not be checked: one problem."""
    repo = _broken_quickstart(tmp_path / "b1")
    text = CliRunner().invoke(main, ["validate", str(repo)]).output
    assert text.endswith("Error: 1 problem found; nothing was changed.\n")
    result = CliRunner().invoke(main, ["validate", str(repo), "--format", "json"])
    body = json.loads(result.stdout)
    assert [d["severity"] for d in body["diagnostics"]] == ["warning", "error"]
    assert body["error"]["message"] == "1 problem found in the configuration; nothing was changed"
    assert body["error"]["hint"] == (
        "fix the YAML syntax at this position, or in what started at line 4, column 19 "
        "(a bracket or quote left open?)"
    )
