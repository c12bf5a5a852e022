"""Account kinds on a real scim2-server: the admin account's link (``jdoe#admin``) is
written to externalId beside the everyday account's (``jdoe``), read back, and each
account is matched by its own link: the plan converges, and a leaver disables both."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from tests.support.scim_server import ScimServer, scim_server

TODAY = dt.date(2026, 11, 29)

PROJECT = """version: 1
name: kinds-scim
sources:
  app:
    kind: scim
    connection: {base_url: "URL", token: "${env:KINDS_SCIM_TOKEN}", identity_attribute: externalId}
    account:
      name_attribute: userName
      schema: {userName: {required: true}, displayName: {}}
      create: {userName: "{{ id }}"}
      sync: {displayName: "{{ given_name }}"}
      correlation: [userName]
      kinds:
        admin:
          create: {userName: "{{ id }}-admin"}
          sync: {displayName: "{{ given_name }} (admin)"}
    entitlements: {staff: {}, admins: {sensitive: true}}
access_profiles:
  user: {source: app, entitlements: [staff]}
  admin: {source: app, account_kind: admin, entitlements: [admins]}
"""

IDENTITIES = """identities:
  jdoe: {type: human, lifecycle_state: STATE, lifecycle_since: 2026-11-28,
         access_profiles: [user, admin], attributes: {given_name: Jane}}
"""


@pytest.fixture
def server() -> Iterator[ScimServer]:
    with scim_server() as running:
        running.create_group("staff")
        running.create_group("admins")
        yield running


@pytest.fixture
def repo(tmp_path: Path, server: ScimServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "policies").mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT.replace("URL", server.url))
    (root / "identities.yaml").write_text(IDENTITIES.replace("STATE", "active"))
    (root / "policies" / "review.yaml").write_text("review:\n  rules: []\n")
    monkeypatch.setenv("KINDS_SCIM_TOKEN", server.token)
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    return root


def _plan(repo: Path) -> Plan:
    synced = CliRunner().invoke(main, ["sync", str(repo)])
    assert synced.exit_code == 0, synced.output
    return plan_repository(repo, TODAY, store=StoreRef(), allow_mass_changes=True)


def _users(server: ScimServer) -> dict[str, tuple[str | None, bool, str | None]]:
    found = server.http().get("Users").json()["Resources"]
    return {
        u["userName"]: (u.get("externalId"), bool(u.get("active", True)), u.get("displayName"))
        for u in found
    }


def test_each_kind_is_linked_and_matched_on_its_own(repo: Path, server: ScimServer) -> None:
    plan = _plan(repo)
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert set(result.states.values()) == {"verified"}, result.messages
    assert _users(server) == {
        "jdoe": ("jdoe", True, "Jane"),
        "jdoe-admin": ("jdoe#admin", True, "Jane (admin)"),
    }
    assert _plan(repo).orders == ()

    (repo / "identities.yaml").write_text(IDENTITIES.replace("STATE", "terminated"))
    leaving = _plan(repo)
    done = apply_plan(repo, leaving, StoreRef(), TODAY, "ci")
    assert set(done.states.values()) == {"verified"}, done.messages
    assert {name: active for name, (_, active, _) in _users(server).items()} == {
        "jdoe": False,
        "jdoe-admin": False,
    }
    assert json.dumps(_plan(repo).body()["orders"]) == "[]"
