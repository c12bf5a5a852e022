"""Apply against a target that changed since the plan: an update that still sets the same
values goes ahead, whatever the attribute held meanwhile; one already done is not sent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.operations import StoreRef, apply_plan, plan_repository
from tests.support.memory_connector import MemoryConnector

TODAY = dt.date(2026, 11, 29)

CONFIG = """version: 1
name: moving
sources:
  app:
    kind: sql
    connection: {{connector: memory, store: {store}}}
    account:
      name_attribute: login
      create: {{login: "{{{{ id }}}}"}}
      sync: {{title: "{{{{ title }}}}"}}
      correlation: [login]
identities:
  ada:
    type: human
    platforms: [app]
    attributes: {{title: {title}}}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    store = f"moving-{tmp_path.name}"
    MemoryConnector.stores.pop(store, None)
    (tmp_path / "accesshive.yaml").write_text(CONFIG.format(store=store, title="Engineer"))
    _sync(tmp_path)
    plan = plan_repository(tmp_path, TODAY, store=StoreRef())
    assert apply_plan(tmp_path, plan, StoreRef(), TODAY, "ci").status == "complete"
    return tmp_path


def _sync(repo: Path) -> None:
    result = CliRunner().invoke(main, ["sync", str(repo)])
    assert result.exit_code == 0, result.output


def _account(repo: Path) -> dict[str, object]:
    (account,) = MemoryConnector.stores[f"moving-{repo.name}"].values()
    return account


def _retitle(repo: Path, title: str) -> None:
    config = repo / "accesshive.yaml"
    config.write_text(config.read_text().replace("title: Engineer", f"title: {title}"))


def test_an_update_whose_old_value_moved_still_applies(repo: Path) -> None:
    _retitle(repo, "Staff Engineer")
    _sync(repo)
    plan = plan_repository(repo, TODAY, store=StoreRef())
    (update,) = plan.orders
    assert dict(update.change.attributes) == {"title": {"from": "Engineer", "to": "Staff Engineer"}}
    _account(repo)["attributes"]["title"] = "Senior Engineer"  # someone else, meanwhile
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert result.states[update.id] == "verified"
    assert _account(repo)["attributes"]["title"] == "Staff Engineer"


def test_an_update_done_by_hand_meanwhile_is_not_sent(repo: Path) -> None:
    _retitle(repo, "Staff Engineer")
    _sync(repo)
    plan = plan_repository(repo, TODAY, store=StoreRef())
    _account(repo)["attributes"]["title"] = "Staff Engineer"  # done by hand meanwhile
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    (update,) = plan.orders
    assert result.states[update.id] == "inactive"  # nothing left to do: not sent
