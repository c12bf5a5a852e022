"""An adoption's update on a real scim2-server writes the link in the identity attribute.

The plan's ``update_account`` of an adopted account carries ``details.link``
(``plan/adoption.py``); apply sends it (``apply/steps.py``) and verifies it on the
account read back, by PATCH, or by PUT on a target without PATCH.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.apply.steps import send, verify
from accesshive.plan.orders import Order
from tests.integration.test_scim_connector import connect
from tests.support.plans import adoption
from tests.support.scim_server import Rules, ScimServer, quirk_proxy, scim_server


@pytest.fixture
def server() -> Iterator[ScimServer]:
    with scim_server() as running:
        yield running


def _adoption(ext: str, attributes: dict[str, dict[str, str]]) -> Order:
    return adoption("app", ext, attributes)


@pytest.mark.parametrize("no_patch", [False, True], ids=["patch", "put"])
def test_an_adoption_writes_the_link_and_verifies_it(
    server: ScimServer, tmp_path: Path, no_patch: bool
) -> None:
    ext = server.create_user("carl", displayName="C. F. Gauss")
    order = _adoption(ext, {"displayName": {"from": "C. F. Gauss", "to": "Carl Gauss"}})
    with quirk_proxy(server, Rules(no_patch=no_patch)) as proxy:
        with connect(proxy.url, tmp_path, server.token, identity_attribute="externalId") as conn:
            assert verify(conn, order, ext) is not None  # not linked yet: it would say so
            send(conn, order, ext)
            assert verify(conn, order, ext) is None
            account = conn.get_account(ext)
            assert account is not None and account.identity == "carl.gauss"
            proxy.clear()
            send(conn, _adoption(ext, {}), ext)  # linked already: nothing is written
            assert proxy.writes() == []
    stored = server.get("Users", ext)
    assert stored["externalId"] == "carl.gauss"
    assert stored["displayName"] == "Carl Gauss"
