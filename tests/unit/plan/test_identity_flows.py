"""The provisioning flows per identity type (ARCHITECTURE.md, "Identity types and
dependency rules"), as orders and edges of the acme plan."""

from __future__ import annotations

import datetime as dt
from functools import cache

from accesshive.config import load_config
from accesshive.expand.templates import render
from accesshive.operations import plan_repository
from accesshive.plan.model import Plan
from tests.conftest import EXAMPLES

ACME = EXAMPLES / "acme"
TODAY = dt.date(2026, 11, 29)


@cache
def _plan() -> Plan:
    return plan_repository(ACME, TODAY)


def _orders(identity: str) -> dict[tuple[str, str], str]:
    return {
        (o.action, o.change.source): o.id
        for o in _plan().orders
        if o.change.identity == identity and o.action != "grant"
    }


def test_human_on_google_workspace_platform_goes_idp_then_workspace_then_platform() -> None:
    config = load_config(ACME)
    needs_gws = {sid for sid, s in config.sources.items() if s.requires_google_workspace}
    gws, idp = config.google_workspace, config.identity_provider
    checked = 0
    for o in _plan().orders:
        if o.action == "create_account" and o.change.source in needs_gws:
            mine = _orders(o.change.identity or "")
            assert mine[("create_account", gws)] in o.depends_on
            gws_order = _plan().order(mine[("create_account", gws)])
            assert mine[("create_account", idp)] in gws_order.depends_on
            checked += 1
    assert checked >= 3


def test_managed_shared_credential_is_workspace_user_then_vault() -> None:
    config = load_config(ACME)
    managed = [
        iid
        for iid, i in config.identities.items()
        if i.type == "shared_credential" and i.credential and i.credential.mode == "managed"
    ]
    assert managed
    for iid in managed:
        mine = _orders(iid)
        create = _plan().order(mine[("create_account", config.google_workspace)])
        assert create.change.details["generate_password"] is True
        store = _plan().order(mine[("store_credential", "vault")])
        assert create.id in store.depends_on
        assert {src for (_, src) in mine} == {config.google_workspace, "vault"}


def test_credential_only_identities_get_the_vault_and_nothing_else() -> None:
    config = load_config(ACME)
    for iid, ident in config.identities.items():
        external = (
            ident.type == "shared_credential"
            and ident.credential
            and ident.credential.mode == "external"
        )
        if ident.type in ("service_account", "api_key", "oauth_app") or external:
            sources = {o.change.source for o in _plan().orders if o.change.identity == iid}
            assert sources <= {"vault"}, (iid, sources)


def test_the_plan_carries_no_secret_values() -> None:
    """Passwords are generated at apply time; the plan only says that one will be."""
    from accesshive.config.secrets import find_inline_secrets

    body = _plan().body()
    assert list(find_inline_secrets(body)) == []
    creates = [o for o in _plan().orders if o.change.details.get("generate_password")]
    assert creates
    for o in creates:
        assert not any("password" in attr.lower() for attr in o.change.attributes)


def test_ascii_filter_transliterates() -> None:
    assert render("{{ n|ascii }}", {"n": "Bjørn Łukasz Straße Zoë"}) == "Bjorn Lukasz Strasse Zoe"
    assert render("{{ n|slug }}", {"n": "José  García"}) == "jose.garcia"
