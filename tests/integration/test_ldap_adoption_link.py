"""An adoption's update on a real slapd writes the link in ``identity_attribute``.

The entry was made by hand (inetOrgPerson only): the link needs the auxiliary class
that allows it (``accesshiveAccount``), which the same modify adds; apply verifies the
link on the entry read back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.apply.steps import send, verify
from accesshive.connectors.ldap import LdapConnector
from accesshive.plan.orders import Order
from tests.support import slapd
from tests.support.plans import adoption
from tests.support.targets.ldap import context, ldap_source


@pytest.fixture
def server() -> Iterator[slapd.Slapd]:
    slapd.require()
    with slapd.slapd_server() as running:
        yield running


def _adoption(ext: str, attributes: dict[str, dict[str, str]]) -> Order:
    return adoption("corp", ext, attributes)


def test_an_adoption_writes_the_link_on_an_entry_made_by_hand(
    server: slapd.Slapd, tmp_path: Path
) -> None:
    dn = f"uid=carl,{slapd.PEOPLE}"
    server.add(dn, ["inetOrgPerson"], {"uid": "carl", "cn": "C. F. Gauss", "sn": "Gauss"})
    found = server.entry(dn, "entryUUID")
    assert found is not None
    ext = found["entryuuid"][0]
    order = _adoption(ext, {"cn": {"from": "C. F. Gauss", "to": "Carl Gauss"}})
    with LdapConnector("corp", ldap_source(server.url), context(tmp_path)) as conn:
        assert verify(conn, order, ext) is not None  # not linked yet: it would say so
        send(conn, order, ext)
        assert verify(conn, order, ext) is None
        account = conn.get_account(ext)
        assert account is not None and account.identity == "carl.gauss"
        send(conn, _adoption(ext, {}), ext)  # linked already: nothing to write, no error
    entry = server.entry(dn, "*")
    assert entry is not None
    assert entry["accesshiveidentity"] == ["carl.gauss"]
    assert sorted(entry["objectclass"]) == ["accesshiveAccount", "inetOrgPerson"]
    assert entry["cn"] == ["Carl Gauss"]
