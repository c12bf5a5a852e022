"""`validate` (and so `plan`) refuses a source's unknown or mistyped connection settings at
their file and line, before any connector runs: a typo'd key (`base_dnn`) or a value of the
wrong type (`create_tables: "yes"`) used to pass and fail, or be misread, at sync or apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.config.connections import SETTINGS
from accesshive.connectors.ldap._settings import KNOWN_KEYS
from accesshive.connectors.scim._settings import CONNECTION_KEYS
from tests.conftest import EXAMPLES

LDAP = """sources:
  corp:
    kind: ldap
    connection:
      url: ldap://127.0.0.1:1
      bind_dn: cn=admin,dc=example,dc=org
      bind_password: ${env:LDAP_PASSWORD}
      users_dn: ou=people,dc=example,dc=org
      base_dnn: dc=example,dc=org
      start_tls: "no"
      page_size: 2.5
    account:
      name_attribute: uid
      create: {uid: "{{ id }}"}
      correlation: [uid]
"""


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def test_the_settings_are_the_connectors_own() -> None:
    """The connectors refuse unknown keys themselves, from their own lists: validate's
    lists are the same, so validate never refuses what a connector takes (or lets through
    what it refuses)."""
    assert set(SETTINGS["ldap"]) == set(KNOWN_KEYS)
    assert set(SETTINGS["scim"]) == set(CONNECTION_KEYS)


@pytest.mark.parametrize("example", ["quickstart", "acme"])
def test_the_examples_are_valid(example: str) -> None:
    result = _run("validate", str(EXAMPLES / example))
    assert result.exit_code == 0, result.output


def test_unknown_and_mistyped_settings_are_refused_at_their_line(repo: Path) -> None:
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(
        wiki.read_text()
        .replace("create_tables: true", 'create_tables: "yes"')
        .replace("accounts_table: users", "accounts_tabel: users")
    )
    (repo / "sources" / "corp.yaml").write_text(LDAP)
    result = _run("validate", str(repo), "--format", "json")
    assert result.exit_code == 1, result.output
    found = {
        (d["file"], d["line"], d["code"], d["message"], d["hint"])
        for d in json.loads(result.stdout)["diagnostics"]
    }
    assert (
        "sources/wiki.yaml",
        10,
        "invalid-value",
        "source 'wiki': connection.create_tables must be true or false, not 'yes' "
        "(YAML 1.2 reads yes/no/on/off as text)",
        "write create_tables as true or false; the connector would refuse it, or worse, "
        "read it otherwise, only at sync or apply",
    ) in found
    assert (
        "sources/wiki.yaml",
        11,
        "unknown-key",
        "source 'wiki': unknown sql connection setting 'accounts_tabel'",
        "did you mean 'accounts_table'?",
    ) in found
    corp = {(line, message) for file, line, _, message, _ in found if file == "sources/corp.yaml"}
    assert corp == {
        (9, "source 'corp': unknown ldap connection setting 'base_dnn'"),
        (
            10,
            "source 'corp': connection.start_tls must be true or false, not 'no' "
            "(YAML 1.2 reads yes/no/on/off as text)",
        ),
        (11, "source 'corp': connection.page_size must be a whole number, not 2.5"),
    }
    # plan validates first: the same refusal, nothing planned
    planned = _run("plan", str(repo), "--out", str(repo / "plan.json"))
    assert planned.exit_code == 1
    assert "sources/wiki.yaml:10:" in planned.output
    assert not (repo / "plan.json").exists()


def test_a_secret_typed_wrong_is_not_repeated(repo: Path) -> None:
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(wiki.read_text().replace("create_tables: true", "password: 271828182845"))
    result = _run("validate", str(repo))
    assert result.exit_code == 1
    assert "connection.password must be a text, not a int" in result.output
    assert "271828182845" not in result.output


def test_an_environments_overlay_is_checked_in_accesshive_yaml(repo: Path) -> None:
    project = repo / "accesshive.yaml"
    lines = len(project.read_text().splitlines())
    project.write_text(
        project.read_text()
        + "default_environment: sandbox\n"
        + "environments:\n"
        + "  sandbox:\n"
        + "    connections:\n"
        + "      wiki: {url: 'sqlite:///.accesshive/sandbox.db'}\n"
        + "  production:\n"
        + "    connections:\n"
        + "      wiki:\n"
        + "        create_tables: 1\n"
    )
    result = _run("validate", str(repo), "--format", "json")
    assert result.exit_code == 1, result.output
    (problem,) = json.loads(result.stdout)["diagnostics"]
    # the line of `create_tables: 1`, in the production overlay (not the one loaded)
    assert (problem["file"], problem["line"]) == ("accesshive.yaml", lines + 9)
    assert problem["message"] == (
        "source 'wiki': connection.create_tables must be true or false, not 1 "
        "(YAML 1.2 reads yes/no/on/off as text)"
    )


def test_a_source_served_by_another_connector_is_its_connectors_to_check(repo: Path) -> None:
    """`connection.connector` names a plugin (or a test stand-in): its settings are its own."""
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(
        wiki.read_text().replace("create_tables: true", "connector: memory\n      store: wiki")
    )
    result = _run("validate", str(repo))
    assert result.exit_code == 0, result.output
