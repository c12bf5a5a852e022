"""The render cache: a warm plan renders only the identity files that changed, and plans
exactly as a cold one."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import accesshive.expand.desired as desired_mod
from accesshive.cache import store as cache
from accesshive.operations import plan_repository
from accesshive.plan.planfile import dumps

TODAY = dt.date(2026, 11, 29)

PROJECT = """version: 1
name: render-cache
sources:
  app:
    kind: sql
    connection: {url: "sqlite:///app.db", create_tables: true}
    account:
      name_attribute: login
      schema:
        login: {required: true}
        email: {type: email}
        title: {}
      create:
        login: "{{ id }}"
      sync:
        email: "{{ email }}"
        title: "{% if type == 'human' %}{{ title | default('staff') }}{% endif %}"
      correlation: [login]
    entitlements: {staff: {}}
access_profiles:
  base: {source: app, entitlements: [staff]}
"""


def _people(prefix: str, n: int, title: str = "Engineer") -> str:
    lines = ["identities:"]
    for i in range(n):
        lines += [
            f"  {prefix}{i}:",
            "    type: human",
            "    access_profiles: [base]",
            f"    attributes: {{email: {prefix}{i}@example.com, title: {title}}}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    (root / "identities").mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    (root / "identities" / "a.yaml").write_text(_people("a", 5))
    (root / "identities" / "b.yaml").write_text(_people("b", 5))
    return root


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every identity whose account attributes are rendered (not recalled)."""
    calls: list[str] = []
    real = desired_mod._render_identity

    def spy(config, made, planned, iid, ident, known, problems):  # type: ignore[no-untyped-def]
        if known is None or None in known:
            calls.append(iid)
        return real(config, made, planned, iid, ident, known, problems)

    monkeypatch.setattr(desired_mod, "_render_identity", spy)
    return calls


def _plan(root: Path) -> str:
    return dumps(plan_repository(root, TODAY))


def test_a_warm_plan_renders_only_the_changed_file_and_plans_the_same(
    repo: Path, rendered: list[str]
) -> None:
    cold = _plan(repo)
    assert len(rendered) == 10
    rendered.clear()
    assert _plan(repo) == cold  # byte-identical, nothing rendered
    assert rendered == []

    (repo / "identities" / "b.yaml").write_text(_people("b", 5, title="Manager"))
    changed = _plan(repo)
    assert sorted(rendered) == [f"b{i}" for i in range(5)]
    assert "Manager" in changed

    # the same result as without any cache
    shutil.rmtree(cache.cache_dir())  # type: ignore[arg-type]
    rendered.clear()
    assert _plan(repo) == changed
    assert len(rendered) == 10


def test_a_changed_template_renders_everything_again(repo: Path, rendered: list[str]) -> None:
    _plan(repo)
    rendered.clear()
    project = repo / "accesshive.yaml"
    project.write_text(project.read_text().replace("default('staff')", "default('crew')"))
    _plan(repo)
    assert len(rendered) == 10


def test_a_corrupt_entry_is_rendered_again(repo: Path, rendered: list[str]) -> None:
    cold = _plan(repo)
    base = cache.cache_dir()
    assert base is not None
    for entry in base.rglob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    rendered.clear()
    assert _plan(repo) == cold
    assert len(rendered) == 10


def test_off_keeps_nothing(
    repo: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    _plan(repo)
    _plan(repo)
    assert len(rendered) == 20
