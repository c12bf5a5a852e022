"""The executor's less travelled paths, each with what it records: revokes of one
entitlement sent as one write, orders found no longer needed, and credential orders
whose target refuses or whose evaluation fails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.apply.credentials import CredentialKeeper
from accesshive.config import load_config
from accesshive.expand.desired import expand
from accesshive.plan.build import make_plan
from accesshive.plan.model import Plan
from accesshive.state.snapshot import Snapshot, SnapshotAccount, SourceSnapshot
from accesshive.store import Store, open_store
from tests.support.executor import fresh_store_name, memory_accounts, plan_for, run_executor
from tests.support.faults import Fault, FaultPlan
from tests.support.memory_connector import MemoryConnector

TODAY = dt.date(2026, 11, 29)

CONFIG = """version: 1
name: paths
sources:
  app:
    kind: sql
    concurrency: 1  # ready together, sent together
    connection: {{connector: memory, store: {store}}}
    account:
      name_attribute: login
      create: {{login: "{{{{ id }}}}"}}
      correlation: [login]
    entitlements:
      staff: {{}}
      legacy: {{}}
access_profiles:
  base: {{source: app, entitlements: [staff]}}
identities:
  ada: {{type: human, access_profiles: [base]}}
  bob: {{type: human, access_profiles: [base]}}
"""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Plan, Store]]:
    """ada and bob exist on the target with staff and a legacy grant nobody assigns."""
    name = fresh_store_name("paths")
    accounts = MemoryConnector.stores[name] = {}
    for n, who in enumerate(("ada", "bob"), start=1):
        accounts[f"m{n}"] = {
            "identity": who,
            "enabled": True,
            "password": None,
            "attributes": {"login": who},
            "grants": {"staff", "legacy"},
        }
    snapshot = Snapshot(
        sources={
            "app": SourceSnapshot(
                accounts=[
                    SnapshotAccount(
                        external_id=ext,
                        identity=str(acc["identity"]),
                        attributes=dict(acc["attributes"]),
                        grants=sorted(acc["grants"]),
                    )
                    for ext, acc in accounts.items()
                ]
            )
        }
    )
    plan = plan_for(tmp_path, CONFIG.format(store=name), TODAY, snapshot)
    with open_store(tmp_path) as store:
        yield tmp_path, plan, store


def test_revokes_of_one_entitlement_go_in_one_write(
    setup: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    _, plan, _ = setup
    assert sorted((o.action, o.change.entitlement) for o in plan.orders) == [
        ("revoke", "legacy"),
        ("revoke", "legacy"),
    ]
    faults.membership_batches = True
    result = run_executor(setup)
    assert (faults.calls["revoke_many"], faults.calls["grant_many"]) == (1, 0)
    assert set(result.states.values()) == {"verified"}
    assert [a["grants"] for a in memory_accounts(setup[0], "app").values()] == [{"staff"}] * 2


def test_an_order_no_longer_needed_is_recorded_as_such(
    setup: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    _, plan, store = setup
    first = plan.orders[0].id
    result = run_executor(setup, inactive={first})
    assert result.states[first] == "inactive"
    assert result.messages[first] == "no longer needed: the target already matches"
    assert [e.message for e in store.order_history(plan.digest, first)] == [
        None,
        "no longer needed: the target already matches",
    ]
    assert faults.calls["revoke"] == 1  # only the other one was sent


CREDENTIALS = """version: 1
name: creds
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
    connection: {{path: vault.db, key: "${{env:PATHS_VAULT_KEY}}"}}
identities:
  ada:
    type: human
    attributes: {{email: ada@example.com}}
  mailbox:
    type: shared_credential
    owner: ada
    platforms: [workspace]
    credential: {{mode: managed, rotate_every_days: 30}}
    attributes: {{email: mailbox@example.com}}
"""


@pytest.fixture
def rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Plan, Store]]:
    """A managed password due for rotation, on an account the target has."""
    from accesshive.vault import open_vault
    from accesshive.vault.keys import Keyring, MasterKey

    name = fresh_store_name("creds")
    MemoryConnector.stores[name] = {
        "w1": {
            "identity": "mailbox",
            "enabled": True,
            "password": "old",
            "attributes": {"primaryEmail": "mailbox@example.com"},
            "grants": set(),
        }
    }
    monkeypatch.setenv(
        "PATHS_VAULT_KEY", Keyring((MasterKey.from_bytes(bytes(range(32))),)).encode()
    )
    (tmp_path / "accesshive.yaml").write_text(CREDENTIALS.format(store=name))
    config = load_config(tmp_path)
    with open_vault(config, "vault") as vault:
        vault.put("mailbox", "password", "old")
    from accesshive.vault import read_vault

    snapshot = Snapshot(
        sources={
            "workspace": SourceSnapshot(
                accounts=[
                    SnapshotAccount(
                        external_id="w1",
                        identity="mailbox",
                        attributes={"primaryEmail": "mailbox@example.com"},
                    )
                ]
            ),
            "vault": read_vault(config, "vault"),
        }
    )
    later = dt.date.today() + dt.timedelta(days=40)
    desired, _ = expand(config, later)
    plan = make_plan(config, desired, snapshot, later)
    assert [o.action for o in plan.orders] == ["rotate_credential"]
    with open_store(tmp_path) as store:
        yield tmp_path, plan, store


def _passwords(root: Path) -> dict[str, str]:
    return {ext: str(a["password"]) for ext, a in memory_accounts(root, "workspace").items()}


def test_a_rotation_sets_the_password_of_the_account_the_plan_names(
    rotation: tuple[Path, Plan, Store],
) -> None:
    """With no live read of the account source (apply learned no account for it), the
    account the plan's snapshot linked to the identity is the one rotated."""
    root, plan, _ = rotation
    (order,) = plan.orders
    assert order.change.details["account"] == "w1"
    result = run_executor(rotation)
    assert result.states[order.id] == "verified"
    assert result.messages[order.id] == "password rotated on workspace and stored (version 2)"
    assert _passwords(root)["w1"] != "old"


def test_a_rotation_follows_the_account_the_live_read_links_to_the_identity(
    rotation: tuple[Path, Plan, Store],
) -> None:
    """The account was replaced after the plan was made (w2 now holds the mailbox): the
    live read apply made is the truth, so the new account's password is rotated and the
    old one is left alone."""
    root, plan, _ = rotation
    (order,) = plan.orders
    accounts = memory_accounts(root, "workspace")
    accounts["w2"] = {**accounts["w1"]}
    result = run_executor(rotation, accounts={order.id: "w2"})
    assert result.states[order.id] == "verified"
    passwords = _passwords(root)
    assert passwords["w1"] == "old"
    assert passwords["w2"] != "old"


def test_a_rotation_the_target_refuses_is_errored_with_its_words(
    rotation: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    _, plan, _ = rotation
    (order,) = plan.orders
    faults.add("update_account", Fault("fatal", "403 password does not meet the domain policy"))
    result = run_executor(rotation, accounts={order.id: "w1"})
    assert result.states[order.id] == "errored"
    assert result.messages[order.id] == "403 password does not meet the domain policy"


def test_a_credential_step_that_breaks_is_an_error_of_ours(
    rotation: tuple[Path, Plan, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, plan, _ = rotation
    (order,) = plan.orders

    def broken(self: CredentialKeeper, *args: object) -> str:
        raise LookupError("no such policy")

    monkeypatch.setattr(CredentialKeeper, "store", broken)
    result = run_executor(rotation, accounts={order.id: "w1"})
    assert result.states[order.id] == "error"
    assert result.messages[order.id] == "LookupError: no such policy"


def test_a_target_that_fails_the_read_back_errors_each_order_it_was_to_verify(
    setup: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    """The writes went out, but the read that verifies them failed: nothing may be called
    verified, and each order says the verification is what failed (a later run reads
    the target and sends what is still missing)."""
    _, plan, store = setup
    faults.add("get_account", Fault("fatal", "503 Service Unavailable"))
    result = run_executor(setup)
    assert faults.calls["get_account"] == 1  # one read for the batch; it failed
    assert {oid: result.states[oid] for oid in result.states} == {
        o.id: "errored" for o in plan.orders
    }
    for order in plan.orders:
        assert result.messages[order.id] == ("verify: 503 Service Unavailable"), result.messages[
            order.id
        ]
        history = [e.state for e in store.order_history(plan.digest, order.id)]
        assert history[-3:] == ["transmitted", "executed", "errored"], history


def test_our_own_failure_while_verifying_is_an_error_of_ours(
    setup: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    """A bug in accesshive during the read-back is not blamed on the target: the orders
    end ``error`` (ours), not ``errored`` (the target's)."""
    _, plan, _ = setup
    faults.add("get_account", Fault("crash", "a bug"))
    result = run_executor(setup)
    assert {result.states[o.id] for o in plan.orders} == {"error"}
