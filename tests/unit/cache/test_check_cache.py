"""The check cache: a warm load skips the per-identity checks of identity files that
passed and have not changed, and reports exactly what a cold load reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from accesshive.config import validate_identities as checks
from accesshive.errors import ConfigError
from accesshive.pipeline import load_config

PROJECT = """version: 1
name: check-cache
identity_attributes:
  email: {type: email, required: true}
sources:
  app:
    kind: sql
    connection: {url: "sqlite:///app.db", create_tables: true}
    account:
      name_attribute: login
      create: {login: "{{ id }}"}
      correlation: [login]
    entitlements: {staff: {}}
  vault:
    kind: vault
    connection: {path: vault.json}
access_profiles:
  base: {source: app, entitlements: [staff]}
roles:
  automation: {access_profiles: []}
"""

PEOPLE = """identities:
  ada: {type: human, access_profiles: [base], attributes: {email: ada@example.com}}
  bob: {type: human, access_profiles: [base], attributes: {email: bob@example.com}}
"""

ROBOTS = """identities:
  deploy-key: {type: api_key, roles: [automation], owner: ada}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    (root / "identities").mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    (root / "identities" / "people.yaml").write_text(PEOPLE)
    (root / "identities" / "robots.yaml").write_text(ROBOTS)
    return root


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every identity the provisioning-flow check looked at (not skipped)."""
    calls: list[str] = []
    real = checks._flow_sources

    def spy(config, iid):  # type: ignore[no-untyped-def]
        calls.append(iid)
        return real(config, iid)

    monkeypatch.setattr(checks, "_flow_sources", spy)
    return calls


def _problems(root: Path) -> list[str]:
    try:
        load_config(root)
    except ConfigError as exc:
        return sorted(d.render() for d in exc.diagnostics)
    return []


def test_a_warm_load_checks_only_the_changed_file(repo: Path, checked: list[str]) -> None:
    load_config(repo)
    assert sorted(checked) == ["ada", "bob", "deploy-key"]
    checked.clear()
    load_config(repo)
    assert checked == []
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("bob@example.com", "robert@example.com"))
    load_config(repo)
    assert sorted(checked) == ["ada", "bob"]


def test_a_change_around_an_identity_checks_it_again(repo: Path) -> None:
    """The identity file is unchanged, but its role now gives an API key a directory
    account: the cached verdict must not hide that."""
    assert _problems(repo) == []
    project = repo / "accesshive.yaml"
    project.write_text(
        project.read_text().replace(
            "automation: {access_profiles: []}", "automation: {access_profiles: [base]}"
        )
    )
    problems = _problems(repo)
    assert len(problems) == 1 and "deploy-key" in problems[0]
    assert "is credential-only" in problems[0]


def test_a_file_with_a_problem_is_reported_on_every_run(repo: Path, checked: list[str]) -> None:
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace(", attributes: {email: bob@example.com}", ""))
    cold = _problems(repo)
    assert any("lacks the required attribute 'email'" in p for p in cold)
    checked.clear()
    assert _problems(repo) == cold
    assert sorted(checked) == ["ada", "bob"]  # never kept: checked again, the same way


def test_warm_and_cold_agree_on_an_inline_secret(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "email: ada@example.com", "email: ada@example.com, note: AKIAABCDEFGHIJKLMNOP"
        )
    )
    warm_first = _problems(repo)
    assert _problems(repo) == warm_first
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    assert _problems(repo) == warm_first
    assert any("an AWS access key" in p for p in warm_first)
