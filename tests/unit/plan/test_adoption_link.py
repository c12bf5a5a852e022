"""Which adoptions write the link (``plan/adoption.py``): only where the source keeps one,
so a target without a link never gets an order at every plan that cannot converge."""

from __future__ import annotations

from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.expand.desired import DesiredAccount
from accesshive.plan.adoption import with_link
from accesshive.plan.orders import Change
from accesshive.state.snapshot import SnapshotAccount

ACCOUNT: dict[str, Any] = {"name_attribute": "login", "correlation": ["email"]}


def _source(kind: str, connection: dict[str, Any]) -> Source:
    return Source.model_validate({"kind": kind, "connection": connection, "account": ACCOUNT})


def _want(state: str = "enabled", kind: str = "default") -> DesiredAccount:
    return DesiredAccount(
        source="app",
        identity="carl.gauss",
        state=state,  # type: ignore[arg-type]
        create_if_missing=True,
        attributes={"login": "carl", "email": "carl@example.com"},
        synced=frozenset({"email"}),
        access="granted",
        grants=frozenset(),
        kind=kind,
    )


HAVE = SnapshotAccount(external_id="7", attributes={"login": "cgauss"})
KEEPS = {
    "sql": {"url": "sqlite:///app.db", "columns": {"identity": "accesshive_identity"}},
    "scim": {"base_url": "https://app.example/scim/v2", "identity_attribute": "externalId"},
    "ldap": {"url": "ldap://127.0.0.1", "identity_attribute": "accesshiveIdentity"},
}
KEEPS_NONE = {
    "sql": {"url": "sqlite:///app.db", "columns": {"external_id": "id"}},
    "scim": {"base_url": "https://app.example/scim/v2"},
    "ldap": {"url": "ldap://127.0.0.1"},
    "google_workspace": {"domain": "example.com"},
    "manual": {},
}


@pytest.mark.parametrize("kind", sorted(KEEPS))
def test_a_converged_adoption_gets_an_update_that_writes_the_link(kind: str) -> None:
    (update,) = with_link(_source(kind, KEEPS[kind]), _want(), HAVE, [])
    assert update.action == "update_account" and update.account == "7"
    assert update.name == "cgauss" and dict(update.attributes) == {}
    assert dict(update.details) == {"link": "carl.gauss"}


def test_the_link_rides_on_the_update_converge_made_and_names_the_kind() -> None:
    update = Change(
        "update_account",
        "app",
        "carl.gauss",
        "7",
        "cgauss",
        attributes={"email": {"from": "x", "to": "carl@example.com"}},
        details={"account_kind": "admin"},
    )
    grant = Change("grant", "app", "carl.gauss", "7", "cgauss", entitlement="staff")
    out = with_link(_source("sql", KEEPS["sql"]), _want(kind="admin"), HAVE, [update, grant])
    assert [c.action for c in out] == ["update_account", "grant"]
    assert dict(out[0].details) == {"account_kind": "admin", "link": "carl.gauss#admin"}
    assert out[0].attributes == update.attributes
    assert out[0].order_id() == update.order_id()  # the same step: its id is kept


@pytest.mark.parametrize("kind", sorted(KEEPS_NONE))
def test_a_source_that_keeps_no_link_is_sent_nothing_more(kind: str) -> None:
    assert with_link(_source(kind, KEEPS_NONE[kind]), _want(), HAVE, []) == []


def test_no_link_for_an_account_about_to_go_or_linked_already() -> None:
    source = _source("sql", KEEPS["sql"])
    assert with_link(source, _want(state="absent"), HAVE, []) == []
    linked = SnapshotAccount(external_id="7", identity="carl.gauss#admin")
    assert with_link(source, _want(), linked, []) == []
