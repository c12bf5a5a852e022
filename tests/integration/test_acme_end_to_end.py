"""examples/acme end to end: plan and apply against a local slapd, a local scim2-server,
the Google Workspace stand-in, a SQLite ledger, the badge export and the vault; then
re-plan to zero changes.

The acme repository is used as it is, through an environment named ``local`` whose
connection overlays point each source at the local servers: the way a team tests a
change in a sandbox.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.config import load_config
from accesshive.expand.desired import expand
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.support import slapd as slapd_mod
from tests.support.gws_standin import GoogleStandIn
from tests.support.scim_server import scim_server

TODAY = dt.date(2026, 11, 29)
GWS_TOKEN = "standin-static-token"


@pytest.fixture
def servers() -> Iterator[dict[str, Any]]:
    slapd_mod.require()
    with (
        slapd_mod.slapd_server() as ldap,
        scim_server() as scim,
        GoogleStandIn(customer_id="C03x7acme", domains=("acme.example",), token=GWS_TOKEN) as gws,
    ):
        yield {"ldap": ldap, "scim": scim, "gws": gws}


def _overlay(servers: dict[str, Any], root: Path) -> str:
    ldap, scim, gws = servers["ldap"], servers["scim"], servers["gws"]
    env = {
        "corp-ldap": {
            "url": ldap.url,
            "ca_file": None,
            "bind_dn": slapd_mod.ADMIN_DN,
            "users_dn": slapd_mod.PEOPLE,
            "groups_dn": slapd_mod.GROUPS,
            "empty_group_member": slapd_mod.NOBODY,
            "disable": {"method": "ou", "ou": slapd_mod.DISABLED},
        },
        "figma": {"base_url": scim.url},
        "google-workspace": {
            "base_url": gws.url,
            "licensing_base_url": gws.url,
            "token": "${env:GWS_TOKEN}",
            "credentials": None,
        },
        "ledger": {"url": "sqlite:///ledger.db", "create_tables": True, "password": None},
        "badges": {"export": "exports/badges.csv"},
        "vault": {"path": "vault.db", "key": None, "key_file": "master.key"},
    }
    return (
        "\ndefault_environment: local\nenvironments:\n  local:\n    connections: "
        + json.dumps(env)
        + "\n"
    )


def _seed(servers: dict[str, Any], root: Path) -> None:
    config = load_config(root)
    ldap, scim, gws = servers["ldap"], servers["scim"], servers["gws"]
    for name in config.sources["corp-ldap"].entitlements:
        dn = f"cn={name},{slapd_mod.GROUPS}"
        if ldap.entry(dn) is None:
            ldap.add(dn, ["groupOfNames"], {"cn": name, "member": [slapd_mod.NOBODY]})
    for name in config.sources["figma"].entitlements:
        scim.create_group(name)
    licences = config.sources["google-workspace"].connection.get("licenses", {})
    for name in config.sources["google-workspace"].entitlements:
        if name in licences:
            product, sku = licences[name].split("/")
            gws.add_sku(product, sku)
        elif "@" in name:
            gws.add_group(name)
    desired, _ = expand(config, TODAY)
    for (sid, _), account in desired.accounts.items():  # the org units the templates name
        ou = account.attributes.get("orgUnitPath")
        if sid == "google-workspace" and isinstance(ou, str):
            gws.add_org_unit(ou)


@pytest.fixture
def acme(tmp_path: Path, servers: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "acme"
    shutil.copytree(EXAMPLES / "acme", root)
    (root / "accesshive.yaml").write_text(
        (root / "accesshive.yaml").read_text() + _overlay(servers, root)
    )
    # everyone may approve in this test: the review gates are exercised elsewhere
    (root / "policies" / "review.yaml").write_text("review:\n  rules: []\n")
    (root / "exports").mkdir(exist_ok=True)
    (root / "exports" / "badges.csv").write_text("external_id,enabled,grants,badge_holder,email\n")
    monkeypatch.setenv("ACME_LDAP_PASSWORD", slapd_mod.ADMIN_PASSWORD)
    monkeypatch.setenv("FIGMA_SCIM_TOKEN", servers["scim"].token)
    monkeypatch.setenv("GWS_TOKEN", GWS_TOKEN)
    for var in (
        "AWS_ROOT_PASSWORD",
        "LINKEDIN_PAGE_PASSWORD",
        "STRIPE_SECRET_KEY",
        "BACKSTAGE_GITHUB_CLIENT_SECRET",
    ):
        monkeypatch.setenv(var, f"value-of-{var.lower()}")
    runner = CliRunner()
    assert (
        runner.invoke(main, ["vault", "init", "--key-file", str(root / "master.key")]).exit_code
        == 0
    )
    _seed(servers, root)
    config = load_config(root)
    for iid, ident in config.identities.items():  # file-supplied secrets are put beforehand
        if ident.credential and str(ident.credential.supplied_by or "").startswith("${file:"):
            put = runner.invoke(
                main, ["vault", "put", iid, "-C", str(root)], input=f"secret-{iid}\n"
            )
            assert put.exit_code == 0, put.output
    return root


def _badge_owner_does_the_tasks(root: Path) -> None:
    """The facilities team works through its checklist and sends a new export."""
    export = root / "exports" / "badges.csv"
    with export.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open_store(root, "local") as store:
        tasks = store.tasks("open")
    for task in tasks:
        c = task.content
        if c["action"] == "create_account":
            rows.append(
                {
                    "external_id": f"B-{len(rows):03}",
                    "enabled": "true",
                    "grants": "",
                    **c["attributes"],
                }
            )
            continue
        row = next(
            r
            for r in rows
            if r["external_id"] == c.get("account") or r.get("badge_holder") == c.get("name")
        )
        grants = set(filter(None, row["grants"].split(";")))
        if c["action"] == "grant":
            grants.add(c["entitlement"])
        elif c["action"] == "revoke":
            grants.discard(c["entitlement"])
        row["grants"] = ";".join(sorted(grants))
    columns = ["external_id", "enabled", "grants"]
    columns += sorted({k for r in rows for k in r} - set(columns))
    with export.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def test_acme_plans_applies_and_converges(acme: Path) -> None:
    runner = CliRunner()
    synced = runner.invoke(main, ["sync", str(acme), "--format", "json"])
    assert synced.exit_code == 0, synced.output
    plan = plan_repository(acme, TODAY, store=StoreRef(), allow_mass_changes=True)
    sources = {o.change.source for o in plan.orders}
    assert sources == {"corp-ldap", "figma", "google-workspace", "ledger", "badges", "vault"}
    for _ in range(3):  # apply; the badge owner does the tasks; what waited on them goes next
        result = apply_plan(acme, plan, StoreRef(), TODAY, "ci")
        failed = {
            oid: result.messages.get(oid)
            for oid, s in result.states.items()
            if s in ("errored", "error", "blocked")
        }
        assert failed == {}, failed
        _badge_owner_does_the_tasks(acme)
        assert runner.invoke(main, ["sync", str(acme)]).exit_code == 0
        plan = plan_repository(acme, TODAY, store=StoreRef(), allow_mass_changes=True)
        if not plan.orders:
            break
    assert [(o.action, o.change.source, o.change.identity) for o in plan.orders] == []
    with open_store(acme, "local") as store:
        assert store.tasks("open") == []
