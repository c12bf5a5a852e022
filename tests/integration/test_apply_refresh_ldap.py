"""After apply, the snapshot it stores is the directory's truth, whether it comes from the
run's own read-backs (every write verified: no second read of the whole directory) or,
when a write failed, from reading the directory again. On a real slapd, with grants read
from ``memberOf`` and from the groups' members."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import accesshive.operations.refresh as refresh_module
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.state.snapshot import SourceSnapshot
from accesshive.sync import read_source
from tests.support import slapd

TODAY = dt.date(2026, 11, 29)
PASSWORD_VARIABLE = "REFRESH_LDAP_PASSWORD"
USERS = 12


@pytest.fixture
def server() -> Iterator[slapd.Slapd]:
    slapd.require()
    with slapd.slapd_server() as running:
        yield running


def _repo(root: Path, server: slapd.Slapd, member_of: bool) -> Path:
    connection: dict[str, Any] = {
        **slapd.connection(server.url, PASSWORD_VARIABLE),
        "page_size": 5,
        **({"member_of_attribute": "memberOf"} if member_of else {}),
    }
    config = {
        "version": 1,
        "name": "refresh",
        "sources": {
            "directory": {
                "kind": "ldap",
                "connection": connection,
                "account": {
                    "name_attribute": "uid",
                    "schema": {"uid": {"required": True}, "cn": {}, "sn": {}, "mail": {}},
                    "create": {"uid": "{{ id }}", "cn": "{{ id }}", "sn": "{{ id }}"},
                    "sync": {"mail": "{{ email }}"},
                    "correlation": ["uid"],
                },
                "entitlements": {"staff": {}, "builders": {}, "vpn-users": {}},
            }
        },
        "access_profiles": {
            "all": {"source": "directory", "entitlements": ["staff", "builders"]},
        },
        "policies": {"use_defaults": False},
    }
    root.mkdir()
    (root / "accesshive.yaml").write_text(json.dumps(config))
    people = [f"u{n:02}" for n in range(USERS)] + ["ann"]
    (root / "people.yaml").write_text(
        "identities:\n"
        + "".join(
            f"  {p}: {{type: human, access_profiles: [all], "
            f"attributes: {{email: {p}@example.com}}}}\n"
            for p in people
        )
    )
    # ann is there already, in builders (kept: no order reads it back) and vpn-users (not
    # assigned: revoked), with a stale mail (updated); carol, whom no identity owns, is in
    # staff (left alone)
    add = slapd.ldap3_module().MODIFY_ADD
    for uid, groups in (("ann", ("builders", "vpn-users")), ("carol", ("staff",))):
        dn = f"uid={uid},{slapd.PEOPLE}"
        server.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": uid, "sn": uid, "mail": "old@x"})
        for group in groups:
            server.modify(f"cn={group},{slapd.GROUPS}", {"member": [(add, [dn])]})
    return root


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources apply reads again, whole, after its run."""
    seen: list[str] = []

    def counted(config: Any, sid: str, *args: Any) -> SourceSnapshot:
        seen.append(sid)
        return read_source(config, sid, *args)

    monkeypatch.setattr(refresh_module, "read_source", counted)
    monkeypatch.setenv(PASSWORD_VARIABLE, slapd.ADMIN_PASSWORD)
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    return seen


def _apply(root: Path) -> dict[str, str]:
    synced = CliRunner().invoke(main, ["sync", str(root)])
    assert synced.exit_code == 0, synced.output
    plan = plan_repository(root, TODAY, store=StoreRef(), allow_mass_changes=True)
    assert plan.orders
    return dict(apply_plan(root, plan, StoreRef(), TODAY, "ci").states)


def _stored_and_true(root: Path) -> tuple[SourceSnapshot, SourceSnapshot]:
    with StoreRef().open(root) as store:
        stored = store.latest_snapshot().sources["directory"]
    return stored, read_source(load_config(root), "directory")


def _ids(snap: SourceSnapshot) -> dict[str, tuple[Any, ...]]:
    return {
        str(a.attributes.get("uid")): (a.identity, a.enabled, a.attributes, a.grants)
        for a in snap.accounts
    }


@pytest.mark.parametrize("member_of", [True, False], ids=["memberOf", "group-members"])
def test_every_write_verified_the_stored_snapshot_is_the_truth_without_a_second_read(
    tmp_path: Path, server: slapd.Slapd, reads: list[str], member_of: bool
) -> None:
    root = _repo(tmp_path / "repo", server, member_of)
    states = _apply(root)
    assert set(states.values()) == {"verified"}
    assert reads == []  # taken from the read-backs
    stored, true = _stored_and_true(root)
    assert _ids(stored) == _ids(true)
    assert stored.fingerprint() == true.fingerprint()
    assert _ids(stored)["ann"][3] == ["builders", "staff"]  # vpn-users revoked
    assert _ids(stored)["carol"][3] == ["staff"]
    again = plan_repository(root, TODAY, store=StoreRef())
    assert again.orders == ()


def test_a_failed_write_makes_apply_read_the_directory_again(
    tmp_path: Path, server: slapd.Slapd, reads: list[str]
) -> None:
    root = _repo(tmp_path / "repo", server, member_of=True)
    synced = CliRunner().invoke(main, ["sync", str(root)])
    assert synced.exit_code == 0, synced.output
    plan = plan_repository(root, TODAY, store=StoreRef(), allow_mass_changes=True)
    conn = server.admin()  # staff disappears between plan and apply: its grants fail
    conn.delete(f"cn=staff,{slapd.GROUPS}")
    conn.unbind()
    states = apply_plan(root, plan, StoreRef(), TODAY, "ci").states
    assert "errored" in set(states.values())
    assert reads == ["directory"]
    stored, true = _stored_and_true(root)
    assert stored.fingerprint() == true.fingerprint()
