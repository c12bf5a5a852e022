"""Credential orders past their first store: rotation of a managed password (new password
on the target, then in the vault), rotation of a supplied secret, what each order says
it did, and the refusals when a rotation cannot be done safely."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.apply.executor import ApplyResult
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.store import open_store
from accesshive.vault import open_vault
from tests.support.executor import memory_accounts
from tests.support.memory_connector import MemoryConnector

TODAY = dt.date.today()  # the vault dates what it stores by the real date
LATER = TODAY + dt.timedelta(days=31)

CONFIG = """version: 1
name: rotation
sources:
  workspace:
    kind: google_workspace
    connection: {{connector: memory, store: {store}}}
    account:
      name_attribute: primaryEmail
      create: {{primaryEmail: "{{{{ email }}}}"}}
      correlation: [primaryEmail]
  vault:
    kind: vault
    connection: {{path: vault.db, key_file: master.key}}
identities:
  ada:
    type: human
    attributes: {{email: ada@example.com}}
  support-mailbox:
    type: shared_credential
    owner: ada
    platforms: [workspace]
    credential: {{mode: managed, rotate_every_days: 30}}
    attributes: {{email: support@example.com}}
  ci-token:
    type: api_key
    owner: ada
    credential: {{supplied_by: "${{env:CI_TOKEN}}", rotate_every_days: 30}}
  deploy-key:
    type: service_account
    owner: ada
    credential: {{supplied_by: stdin, rotate_every_days: 30}}
  oauth-app:
    type: oauth_app
    owner: ada
    credential: {{supplied_by: "${{file:secrets/oauth.txt}}"}}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = f"rotation-{tmp_path.name}"
    MemoryConnector.stores.pop(store, None)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "accesshive.yaml").write_text(CONFIG.format(store=store))
    (root / "secrets").mkdir()
    (root / "secrets" / "oauth.txt").write_text("oauth-client-secret-1\n")
    (root / "secrets" / "oauth.txt").chmod(0o600)  # others may not read a secret file
    init = CliRunner().invoke(main, ["vault", "init", "--key-file", str(root / "master.key")])
    assert init.exit_code == 0, init.output
    monkeypatch.setenv("CI_TOKEN", "ci-token-1")
    return root


def _put(repo: Path, identity: str, value: str) -> None:
    put = CliRunner().invoke(main, ["vault", "put", identity, "-C", str(repo)], input=value + "\n")
    assert put.exit_code == 0, put.output


def _apply(repo: Path, plan: Plan) -> tuple[ApplyResult, dict[tuple[str, str | None], str]]:
    result = apply_plan(repo, plan, StoreRef(), plan_today(plan), "ci")
    ids = {(o.action, o.change.identity): o.id for o in plan.orders}
    messages = {key: result.messages.get(oid, "") for key, oid in ids.items()}
    states = {key: str(result.states[oid]) for key, oid in ids.items()}
    assert all(s == "verified" for s in states.values()), (states, messages)
    return result, messages


_planned_on: dict[str, dt.date] = {}


def plan_today(plan: Plan) -> dt.date:
    return _planned_on[plan.digest]


def _plan(repo: Path, today: dt.date) -> Plan:
    sync = CliRunner().invoke(main, ["sync", str(repo)])
    assert sync.exit_code == 0, sync.output
    plan = plan_repository(repo, today, store=StoreRef())
    _planned_on[plan.digest] = today
    return plan


def _vault(repo: Path) -> dict[str, tuple[str, str, int]]:
    with open_vault(load_config(repo), "vault") as vault:
        return {i.identity: (vault.get(i.identity), i.kind, i.version) for i in vault.list()}


def test_first_store_says_where_each_secret_came_from(repo: Path) -> None:
    plan = _plan(repo, TODAY)
    _put(repo, "deploy-key", "dk-1")  # after the plan: its order finds the value stored
    _, messages = _apply(repo, plan)
    with open_vault(load_config(repo), "vault") as vault:
        key_id = vault.keyring.current.key_id
    assert messages[("store_credential", "support-mailbox")] == (
        "stored when its account was created"
    )
    assert messages[("store_credential", "deploy-key")] == (
        "supplied earlier with `accesshive vault put`"
    )
    assert messages[("store_credential", "ci-token")] == f"stored (version 1, key {key_id})"
    ci_token = next(o.id for o in plan.orders if o.change.identity == "ci-token")
    with open_store(repo) as store:
        history = [(e.state, e.message) for e in store.order_history(plan.digest, ci_token)]
    assert history == [
        ("pending", None),
        ("transmitted", None),
        ("executed", f"stored (version 1, key {key_id})"),
        ("verified", f"stored (version 1, key {key_id})"),
    ]
    held = _vault(repo)
    assert held["ci-token"] == ("ci-token-1", "api_key", 1)
    assert held["oauth-app"] == ("oauth-client-secret-1", "oauth_client_secret", 1)
    assert held["deploy-key"][1:] == ("password", 1)
    assert held["support-mailbox"][1:] == ("password", 1)


def test_rotation_sets_a_new_password_on_the_target_and_keeps_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put(repo, "deploy-key", "dk-1")
    _apply(repo, _plan(repo, TODAY))
    before = _vault(repo)
    (account,) = memory_accounts(repo, "workspace").values()
    assert account["password"] == before["support-mailbox"][0]

    monkeypatch.setenv("CI_TOKEN", "ci-token-2")
    plan = _plan(repo, LATER)
    assert sorted((o.action, o.change.identity) for o in plan.orders) == [
        ("rotate_credential", "ci-token"),
        ("rotate_credential", "deploy-key"),
        ("rotate_credential", "support-mailbox"),
    ]
    plan = plan.only(lambda o: o.change.identity != "deploy-key")  # needs a new `vault put`
    _planned_on[plan.digest] = LATER
    _, messages = _apply(repo, plan)
    after = _vault(repo)
    with open_vault(load_config(repo), "vault") as vault:
        key_id = vault.keyring.current.key_id

    assert messages[("rotate_credential", "support-mailbox")] == (
        "password rotated on workspace and stored (version 2)"
    )
    password, kind, version = after["support-mailbox"]
    assert (kind, version) == ("password", 2)
    assert password != before["support-mailbox"][0]
    (account,) = memory_accounts(repo, "workspace").values()
    assert account["password"] == password  # the target and the vault agree

    assert messages[("rotate_credential", "ci-token")] == f"stored (version 2, key {key_id})"
    assert after["ci-token"] == ("ci-token-2", "api_key", 2)
    assert after["oauth-app"] == before["oauth-app"]


def test_rotating_a_stdin_secret_needs_a_new_value(repo: Path) -> None:
    _put(repo, "deploy-key", "dk-1")
    _apply(repo, _plan(repo, TODAY))
    plan = _plan(repo, LATER)
    result = apply_plan(repo, plan, StoreRef(), LATER, "ci")
    oid = next(o.id for o in plan.orders if o.change.identity == "deploy-key")
    assert result.states[oid] == "errored"
    assert result.messages[oid] == (
        "no value supplied for 'deploy-key': run `accesshive vault put deploy-key` "
        "(reads stdin), or set credential.supplied_by"
    )
    assert _vault(repo)["deploy-key"][2] == 1


def test_a_rotation_without_a_known_account_changes_nothing(repo: Path) -> None:
    _put(repo, "deploy-key", "dk-1")
    _apply(repo, _plan(repo, TODAY))
    before = _vault(repo)["support-mailbox"]
    accounts = memory_accounts(repo, "workspace")
    (account,) = accounts.values()
    account["identity"] = None  # the link is gone and two accounts hold the mailbox's
    accounts["m-copy"] = {**account, "password": "other-password-1"}  # address: which?
    plan = _plan(repo, LATER).only(lambda o: o.change.identity == "support-mailbox")
    (order,) = plan.orders
    result = apply_plan(repo, plan, StoreRef(), LATER, "ci")
    assert result.states[order.id] == "errored"
    assert result.messages[order.id] == (
        "the account of 'support-mailbox' on 'workspace' is unknown; sync first"
    )
    assert account["password"] == before[0]
    assert _vault(repo)["support-mailbox"] == before


def test_a_password_the_vault_refuses_after_the_target_took_it_is_reported(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accesshive.errors import VaultError
    from accesshive.vault.store import Vault

    _put(repo, "deploy-key", "dk-1")
    _apply(repo, _plan(repo, TODAY))
    plan = _plan(repo, LATER).only(lambda o: o.change.identity == "support-mailbox")
    (order,) = plan.orders

    def refuse(self: Vault, identity: str, kind: str, value: str) -> None:
        raise VaultError("the vault file is read-only")

    monkeypatch.setattr(Vault, "put", refuse)
    result = apply_plan(repo, plan, StoreRef(), LATER, "ci")
    assert result.states[order.id] == "errored"
    assert result.messages[order.id] == (
        "the new password was set on workspace but the vault refused it (the vault file is "
        "read-only); the next apply rotates it again"
    )


TWO_VAULTS = """version: 1
name: two-vaults
sources:
  workspace:
    kind: google_workspace
    connection: {{connector: memory, store: {store}}}
    account:
      name_attribute: primaryEmail
      create: {{primaryEmail: "{{{{ email }}}}"}}
      correlation: [primaryEmail]
  team:
    kind: vault
    connection: {{path: team.db, key_file: master.key}}
  ops:
    kind: vault
    connection: {{path: ops.db, key_file: master.key}}
identities:
  ada:
    type: human
    attributes: {{email: ada@example.com}}
  support-mailbox:
    type: shared_credential
    owner: ada
    platforms: [workspace]
    credential: {{mode: managed, vault: ops}}
    attributes: {{email: support@example.com}}
"""


def test_a_generated_password_goes_to_the_credentials_own_vault(tmp_path: Path) -> None:
    store = f"two-vaults-{tmp_path.name}"
    MemoryConnector.stores.pop(store, None)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "accesshive.yaml").write_text(TWO_VAULTS.format(store=store))
    init = CliRunner().invoke(main, ["vault", "init", "--key-file", str(repo / "master.key")])
    assert init.exit_code == 0, init.output
    _, messages = _apply(repo, _plan(repo, TODAY))
    assert messages[("store_credential", "support-mailbox")] == (
        "stored when its account was created"
    )
    config = load_config(repo)
    with open_vault(config, "ops") as ops, open_vault(config, "team") as team:
        assert [i.identity for i in ops.list()] == ["support-mailbox"]
        assert team.list() == []
        (account,) = MemoryConnector.stores[store].values()
        assert ops.get("support-mailbox") == account["password"]
