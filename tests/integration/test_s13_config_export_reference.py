"""A manual source's ``export: ${env:NAME}`` is named, never echoed: a pull request picks
the variable, so its value may be any secret the syncing job holds (a source's token,
the master key). ``${file:..}`` is no way to write a path (the file's content would be
taken as one) and is refused, by validate at its line and by the connector."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.manual import ManualConnector
from accesshive.errors import ConnectorError

SECRET = "supersecretvalue123"


def _export(repo: Path, value: str) -> None:
    badges = repo / "sources" / "badges.yaml"
    lines = badges.read_text().splitlines()
    lines = [f"      export: {value}" if ln.strip().startswith("export:") else ln for ln in lines]
    badges.write_text("\n".join(lines) + "\n")


def _run(*args: str) -> str:
    return CliRunner().invoke(main, list(args)).output


def test_an_export_reference_to_a_secret_is_named_not_echoed(
    synced_quickstart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = str(synced_quickstart)
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    _export(synced_quickstart, "${env:SECRET_TOKEN}")
    text = _run("sync", repo)
    assert "no export at ${env:SECRET_TOKEN}: ask the source owner" in text
    as_json = _run("sync", repo, "--format", "json")
    assert "no export at ${env:SECRET_TOKEN}" in as_json
    report = _run("report", repo, "--format", "markdown")
    assert "badges could not be read: no export at ${env:SECRET_TOKEN}" in report
    audit = _run("audit", "export", repo, "--format", "jsonl")
    assert "${env:SECRET_TOKEN}" in audit
    for output in (text, as_json, report, audit):
        assert SECRET not in output


def test_an_export_named_by_the_runner_that_is_no_csv_is_named_not_echoed(
    synced_quickstart: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A variable that does hold a path (of a file that is no export) is named too."""
    key = tmp_path / f"{SECRET}.key"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    monkeypatch.setenv("SSH_KEY_PATH", str(key))
    _export(synced_quickstart, "${env:SSH_KEY_PATH}")
    output = _run("sync", str(synced_quickstart))
    assert "${env:SSH_KEY_PATH}: the export has no column external_id" in output
    assert SECRET not in output and "OPENSSH" not in output


def test_a_file_reference_as_export_is_refused_by_validate_at_its_line(
    quickstart: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "master.key"
    secret.write_text(f"ahk1:{SECRET}")
    secret.chmod(0o600)
    _export(quickstart, f"${{file:{secret}}}")
    for command in ("validate", "sync", "plan"):
        output = _run(command, str(quickstart))
        assert "sources/badges.yaml:7:7: error[invalid-value]: source 'badges': " in output
        assert f"connection.export is ${{file:{secret}}}: an export path is written" in output
        assert "${env:NAME}" in output
        assert SECRET not in output


def test_the_connector_refuses_a_file_reference_without_reading_it(tmp_path: Path) -> None:
    secret = tmp_path / "master.key"
    secret.write_text(f"ahk1:{SECRET}")
    secret.chmod(0o600)
    source = Source.model_validate(
        {"kind": "manual", "connection": {"export": f"${{file:{secret}}}"}}
    )
    connector = ManualConnector("badges", source, ConnectorContext(root=tmp_path))
    with pytest.raises(ConnectorError) as raised:
        list(connector.read())
    assert "a ${file:..} or ${vault:..} reference would use a secret's content" in str(raised.value)
    assert SECRET not in str(raised.value)
