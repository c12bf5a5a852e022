"""A ``sql`` source's SQLite file is a file of the repository: a pull request that points
``connection.url`` elsewhere would have accesshive open, create (``create_tables``) and
write any file the runner can. Refused by validate at its line, and by the connector
before anything is opened; a url the runner names (``${env:NAME}``) may lead anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.sql import SqlConnector
from accesshive.errors import ConnectorError
from tests.support.targets.sql_sqlite import sql_source


def _url(repo: Path, value: str) -> None:
    wiki = repo / "sources" / "wiki.yaml"
    lines = wiki.read_text().splitlines()
    lines = [f"      url: {value}" if ln.strip().startswith("url:") else ln for ln in lines]
    wiki.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_sqlite_file_outside_the_repository_is_refused_and_not_created(
    quickstart: Path, how: str
) -> None:
    outside = quickstart.parent / "outside.db"
    if how == "absolute":
        url, said = f"sqlite:///{outside}", f"{outside} is outside it"
    elif how == "dotdot":
        url, said = "sqlite:///../outside.db", "../outside.db is outside it"
    else:
        (quickstart / "data").symlink_to(quickstart.parent)
        url, said = "sqlite:///data/outside.db", "leads to"
    _url(quickstart, url)
    for command in ("validate", "plan", "sync"):
        output = CliRunner().invoke(main, [command, str(quickstart)]).output
        assert "sources/wiki.yaml:9:7: error[invalid-value]: source 'wiki': " in output
        assert "connection.url must name an SQLite file inside the repository (" in output
        assert said in output
        assert "${env:NAME}" in output
    assert not outside.exists()


def test_an_absolute_path_inside_the_repository_is_inside(quickstart: Path) -> None:
    """Written absolute, the quickstart's own wiki database is still the repository's:
    accepted (and planned on as the relative url is); through a link that leads out, not."""
    _url(quickstart, f"sqlite:///{quickstart.resolve()}/.accesshive/wiki-app.db")
    for command in ("validate", "sync", "plan"):
        done = CliRunner().invoke(main, [command, str(quickstart)])
        assert done.exit_code == 0, done.output
        assert "outside" not in done.output
    (quickstart / "data").symlink_to(quickstart.parent)
    _url(quickstart, f"sqlite:///{quickstart.resolve()}/data/outside.db")
    output = CliRunner().invoke(main, ["validate", str(quickstart)]).output
    assert "connection.url must name an SQLite file inside the repository (" in output
    assert "leads to" in output
    assert not (quickstart.parent / "outside.db").exists()


def test_the_connector_refuses_a_sqlite_file_outside_before_opening_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    outside = tmp_path / "outside.db"
    for url in (f"sqlite:///{outside}", "sqlite:///../outside.db"):
        connector = SqlConnector("wiki", sql_source(url), ConnectorContext(root=repo))
        with pytest.raises(ConnectorError, match="must name an SQLite file inside the repo"):
            list(connector.read())
        assert not outside.exists()


def test_a_sqlite_url_named_by_the_runner_may_be_elsewhere(
    quickstart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere" / "wiki.db"
    monkeypatch.setenv("WIKI_URL", f"sqlite:///{elsewhere}")
    _url(quickstart, "${env:WIKI_URL}")
    assert CliRunner().invoke(main, ["validate", str(quickstart)]).exit_code == 0
    result = CliRunner().invoke(main, ["sync", str(quickstart)])
    assert result.exit_code == 0, result.output
    assert elsewhere.is_file()


def test_the_shipped_examples_still_validate(examples: Path) -> None:
    for name in ("quickstart", "acme"):
        result = CliRunner().invoke(main, ["validate", str(examples / name)])
        assert result.exit_code == 0, result.output
