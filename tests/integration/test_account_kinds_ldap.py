"""Several accounts per identity on one real directory (a fresh slapd): jdoe gets
``jdoe`` and ``jdoe-admin``; the admin account's sensitive group waits behind its review
gate until a reviewer signs; the report lists the admin account's sensitive access on
its own line and an admin account nobody owns as an orphan; a leaver loses both."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.planfile import write_plan
from tests.support import slapd
from tests.support.ssh import keygen

TODAY = dt.date(2026, 11, 29)
PASSWORD_VARIABLE = "KINDS_LDAP_PASSWORD"

SOURCES = """
sources:
  corp:
    kind: ldap
    connection: CONNECTION
    account:
      name_attribute: uid
      schema:
        uid: {required: true}
        cn: {required: true}
        sn: {required: true}
      create: {uid: "{{ id }}"}
      sync: {cn: "{{ given_name }} {{ family_name }}", sn: "{{ family_name }}"}
      correlation: [uid]
      kinds:
        admin:
          description: the privileged account beside the everyday one
          create: {uid: "{{ id }}-admin"}
          sync: {cn: "{{ given_name }} {{ family_name }} (admin)"}
    entitlements:
      staff: {}
      domain-admins: {sensitive: true}
access_profiles:
  corp-user: {source: corp, entitlements: [staff]}
  corp-admin: {source: corp, account_kind: admin, entitlements: [domain-admins]}
"""

IDENTITIES = """identities:
  jdoe:
    type: human
    lifecycle_state: STATE
    lifecycle_since: 2026-11-28
    access_profiles: [corp-user, corp-admin]
    attributes: {given_name: Jane, family_name: Doe}
  ann:
    type: human
    access_profiles: [corp-user]
    attributes: {given_name: Ann, family_name: Lee}
"""


@pytest.fixture
def server() -> Iterator[slapd.Slapd]:
    slapd.require()
    with slapd.slapd_server() as running:
        yield running


@pytest.fixture
def repo(tmp_path: Path, server: slapd.Slapd, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "policies").mkdir(parents=True)
    connection = slapd.connection(server.url, PASSWORD_VARIABLE)
    (root / "accesshive.yaml").write_text(
        "version: 1\nname: kinds\n" + SOURCES.replace("CONNECTION", json.dumps(connection))
    )
    (root / "identities.yaml").write_text(IDENTITIES.replace("STATE", "active"))
    public = keygen(tmp_path / "alice")
    (root / "policies" / "review.yaml").write_text(
        "review:\n  reviewers:\n    alice:\n      groups: [security]\n"
        f'      public_key: "{public}"\n'
        "  rules:\n    - name: sensitive-grants\n      order_kinds: [grant]\n"
        "      sensitive_only: true\n      reviewer_groups: [security]\n      quorum: 1\n"
    )
    monkeypatch.setenv(PASSWORD_VARIABLE, slapd.ADMIN_PASSWORD)
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    server.add(
        f"cn=domain-admins,{slapd.GROUPS}",
        ["groupOfNames"],
        {"cn": "domain-admins", "member": [slapd.NOBODY]},
    )
    # an admin account made by hand, that no identity owns
    server.add(
        f"uid=ghost-admin,{slapd.PEOPLE}",
        ["inetOrgPerson"],
        {"uid": "ghost-admin", "cn": "Ghost", "sn": "Ghost"},
    )
    return root


def _run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _plan(repo: Path) -> Plan:
    _run("sync", str(repo))
    return plan_repository(repo, TODAY, store=StoreRef(), author="dave", allow_mass_changes=True)


def _members(server: slapd.Slapd, group: str) -> list[str]:
    entry = server.entry(f"cn={group},{slapd.GROUPS}", "member")
    assert entry is not None
    return sorted(m.split(",")[0] for m in entry["member"] if m != slapd.NOBODY)


def test_an_admin_account_beside_the_everyday_one_gated_reported_and_removed_on_leaving(
    repo: Path, server: slapd.Slapd, tmp_path: Path
) -> None:
    plan = _plan(repo)
    gated = [o for o in plan.orders if o.gate]
    assert [(o.change.name, o.change.account_kind, o.change.entitlement) for o in gated] == [
        ("jdoe-admin", "admin", "domain-admins")
    ]
    assert [o.account for o in plan.orphans] == [
        server.entry(f"uid=ghost-admin,{slapd.PEOPLE}", "entryUUID")["entryuuid"][0]  # type: ignore[index]
    ]

    first = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert first.states[gated[0].id] == "awaiting_approval"
    admin = server.entry(f"uid=jdoe-admin,{slapd.PEOPLE}", "accesshiveIdentity", "cn")
    assert admin == {"accesshiveidentity": ["jdoe#admin"], "cn": ["Jane Doe (admin)"]}
    everyday = server.entry(f"uid=jdoe,{slapd.PEOPLE}", "accesshiveIdentity")
    assert everyday == {"accesshiveidentity": ["jdoe"]}
    assert _members(server, "staff") == ["uid=ann", "uid=jdoe"]
    assert _members(server, "domain-admins") == []

    status = json.loads(
        _run("status", "-C", str(repo), "--identity", "jdoe", "--format", "json").output
    )
    assert [
        (s["action"], s["account"], s["account_kind"], s["state"]) for s in status[0]["steps"]
    ] == [("grant", "jdoe-admin", "admin", "awaiting_approval")]

    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    _run(
        "approve",
        str(plan_file),
        "--order",
        gated[0].id,
        "--key",
        str(tmp_path / "alice"),
        "--as",
        "alice",
        "-C",
        str(repo),
    )
    second = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert second.states[gated[0].id] == "verified"
    assert _members(server, "domain-admins") == ["uid=jdoe-admin"]
    assert _plan(repo).orders == ()

    report = json.loads(_run("report", "-C", str(repo), "--format", "json").output)
    sensitive = [
        (a["name"], a["identity"], a["account_kind"], a["entitlements"])
        for a in report["sensitive_access"]
    ]
    assert sensitive == [("jdoe-admin", "jdoe", "admin", ["domain-admins"])]
    assert [o["name"] for o in report["orphans"]] == ["ghost-admin"]
    text = _run("report", "-C", str(repo), "--no-sync", "--format", "text").output
    assert "Sensitive access (1):\n  corp: jdoe-admin (jdoe, admin): domain-admins\n" in text
    markdown = _run("report", "-C", str(repo), "--no-sync").output
    assert "| corp | jdoe-admin | jdoe | admin | enabled | domain-admins |" in markdown

    (repo / "identities.yaml").write_text(IDENTITIES.replace("STATE", "terminated"))
    leaving = _plan(repo)
    assert sorted(
        (o.action, o.change.name, o.change.account_kind, o.change.entitlement)
        for o in leaving.orders
    ) == [
        ("disable_account", "jdoe", "default", None),
        ("disable_account", "jdoe-admin", "admin", None),
        ("revoke", "jdoe", "default", "staff"),
        ("revoke", "jdoe-admin", "admin", "domain-admins"),
    ]
    done = apply_plan(repo, leaving, StoreRef(), TODAY, "ci")
    assert set(done.states.values()) == {"verified"}
    assert _members(server, "domain-admins") == []
    assert _members(server, "staff") == ["uid=ann"]
    for uid in ("jdoe", "jdoe-admin"):
        assert server.entry(f"uid={uid},{slapd.PEOPLE}") is None
        assert server.entry(f"uid={uid},{slapd.DISABLED}") is not None
    assert _plan(repo).orders == ()
