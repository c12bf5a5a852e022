"""Property: for random orgs and random target states, applying a plan converges.

plan → apply every order with the in-memory simulator → plan again gives no
orders; and every plan's order respects the dependency rules.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accesshive.operations import plan_repository
from accesshive.plan.model import Plan
from accesshive.state.snapshot import Snapshot
from tests.support.simulator import simulate

TODAY = dt.date(2026, 11, 29)
DEPARTMENTS = ["Engineering", "Sales", "Operations"]
STATES = ["active", "active", "leave", "terminated", "prehire"]
ENTITLEMENTS = ["readers", "editors", "admins", "legacy"]

PROJECT = """version: 1
name: prop
identity_attributes:
  given_name: {type: string, required: true}
  family_name: {type: string, required: true}
  email: {type: email, required: true}
  department: {type: string, required: true}
"""
SOURCES = """sources:
  wiki:
    kind: sql
    account:
      name_attribute: login
      schema:
        login: {type: string, required: true}
        email: {type: email}
        full_name: {type: string}
      create:
        login: "{{ given_name|slug }}.{{ family_name|slug }}"
      sync:
        email: "{{ email }}"
        full_name: "{{ given_name }} {{ family_name }}"
      correlation: [email, login]
    entitlements:
      readers: {}
      editors: {}
      admins: {sensitive: true}
  badges:
    kind: manual
    owner: facilities
    account:
      create:
        holder: "{{ given_name }} {{ family_name }}"
      sync:
        email: "{{ email }}"
      correlation: [email]
    entitlements:
      hq: {}
  vault:
    kind: vault
access_profiles:
  read: {source: wiki, entitlements: [readers]}
  edit: {source: wiki, entitlements: [readers, editors]}
  admin: {source: wiki, entitlements: [admins]}
  badge: {source: badges, entitlements: [hq]}
roles:
  staff:
    access_profiles: [read, badge]
    members_where: {department: [Engineering, Sales, Operations]}
  engineer: {access_profiles: [edit], members_where: {department: Engineering}}
  wiki-admin: {access_profiles: [admin]}
"""

person = st.fixed_dictionaries(
    {
        "department": st.sampled_from(DEPARTMENTS),
        "state": st.sampled_from(STATES),
        "since_days": st.integers(0, 60),
        "admin": st.booleans(),
        "platform_only": st.booleans(),
    }
)
account = st.fixed_dictionaries(
    {
        "owner": st.integers(0, 7),
        "source": st.sampled_from(["wiki", "badges"]),
        "linked": st.booleans(),
        "enabled": st.booleans(),
        "grants": st.lists(st.sampled_from([*ENTITLEMENTS, "hq"]), unique=True, max_size=4),
        "email_case": st.booleans(),
        "stale_name": st.booleans(),
    }
)


def _identities(people: list[dict[str, Any]]) -> str:
    lines = ["identities:"]
    for i, p in enumerate(people):
        since = TODAY - dt.timedelta(days=p["since_days"])
        lines += [
            f"  p{i}:",
            "    type: human",
            f"    lifecycle_state: {p['state']}",
            f"    lifecycle_since: {since.isoformat()}",
            f"    roles: [{'wiki-admin' if p['admin'] else ''}]",
            "    attributes:",
            f"      given_name: Given{i}",
            f"      family_name: Family{i}",
            f"      email: p{i}@example.com",
            f"      department: {p['department']}",
        ]
    lines += [
        "  bot:",
        "    type: api_key",
        "    owner: p0",
    ]
    return "\n".join(lines) + "\n"


def _snapshot(people: list[dict[str, Any]], accounts: list[dict[str, Any]]) -> dict[str, Any]:
    sources: dict[str, Any] = {"wiki": {"accounts": []}, "badges": {"accounts": []}}
    for n, a in enumerate(accounts):
        i = a["owner"]
        email = f"p{i}@example.com"
        entry = {
            "external_id": f"x{n}",
            "enabled": a["enabled"],
            "attributes": {
                "email": email.upper() if a["email_case"] else email,
                "full_name": "Old Name" if a["stale_name"] else f"Given{i} Family{i}",
                "login": f"given{i}.family{i}",
            },
            "grants": [g for g in a["grants"] if (g == "hq") == (a["source"] == "badges")],
        }
        if a["linked"] and i < len(people):
            entry["identity"] = f"p{i}"
        sources[a["source"]]["accounts"].append(entry)
    return {"version": 1, "sources": sources}


def _check_dependencies(plan: Plan) -> None:
    position = {o.id: i for i, o in enumerate(plan.orders)}
    creates = {
        (o.change.source, o.change.identity): o.id
        for o in plan.orders
        if o.action == "create_account"
    }
    for o in plan.orders:
        assert all(position[d] < position[o.id] for d in o.depends_on)
        if o.action == "grant" and (o.change.source, o.change.identity) in creates:
            assert creates[(o.change.source, o.change.identity)] in o.depends_on
        if o.action in ("disable_account", "delete_account"):
            for r in plan.orders:
                same = (r.change.source, r.change.account) == (o.change.source, o.change.account)
                if r.action == "revoke" and same and r.change.identity == o.change.identity:
                    assert r.id in o.depends_on


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(person, min_size=1, max_size=6),
    accounts=st.lists(account, max_size=8),
)
def test_plan_then_apply_converges(
    people: list[dict[str, Any]], accounts: list[dict[str, Any]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        (root / "accesshive.yaml").write_text(PROJECT)
        (root / "sources.yaml").write_text(SOURCES)
        (root / "identities.yaml").write_text(_identities(people))
        snap_file = Path(tmp) / "snapshot.json"
        snap_file.write_text(json.dumps(_snapshot(people, accounts)))
        plan = plan_repository(root, TODAY, snap_file, allow_mass_changes=True)
        _check_dependencies(plan)
        after = simulate(plan, Snapshot.model_validate_json(snap_file.read_text()), TODAY)
        snap_file.write_text(after.model_dump_json())
        again = plan_repository(root, TODAY, snap_file, allow_mass_changes=True)
        assert [o.change for o in again.orders] == []
