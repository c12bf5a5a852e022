"""The SCIM connector reads an account's attributes through paths resolved once per
model (``_values._get``): what it reads must be what scim2-models' ``Path.get`` reads,
for plain attributes in any case, sub-attributes, extension URNs and unknown paths."""

from __future__ import annotations

from typing import Any, cast

import pytest
from scim2_models import EnterpriseUser, Path, User

from accesshive.connectors.scim._values import _get

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FULL = {
    "userName": "ada",
    "displayName": "Ada Lovelace",
    "active": False,
    "title": "Countess",
    "externalId": "1042",
    "name": {"givenName": "Ada", "familyName": "King"},
    "emails": [{"value": "ada@example.com", "primary": True}],
    "phoneNumbers": [{"value": "+44 20 7946 0000"}],
    ENTERPRISE: {"department": "Analytical Engines"},
}
PATHS = [
    "userName",
    "USERNAME",
    "displayName",
    "active",
    "title",
    "externalId",
    "emails",
    "phoneNumbers",
    "name",
    "name.givenName",
    "emails.value",
    f"{ENTERPRISE}:department",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "nickName",
    "noSuchAttribute",
    "not..a.path",
]


@pytest.mark.parametrize("document", [FULL, {"userName": "grace"}], ids=["full", "sparse"])
def test_an_attribute_is_read_as_scim2_models_reads_it(document: dict[str, Any]) -> None:
    model = cast(Any, User)[EnterpriseUser]
    user = model.model_validate(document)
    for path in PATHS:
        try:
            expected = cast(Any, Path)[model](path).get(user, strict=False)
        except Exception:  # a path the models refuse reads as nothing
            expected = None
        assert _get(user, path) == expected, path
        assert _get(user, path) == expected, f"{path} (resolved before)"
