"""What an identity source's templates see of a user an identity provider pushed."""

from __future__ import annotations

from accesshive.expand.templates import render
from accesshive.idp.merge import ENTERPRISE, template_context

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "userName": "ada@example.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"type": "work", "value": "ada@example.com", "primary": True}],
    "title": "Analyst",
    ENTERPRISE: {
        "department": "Engineering",
        "employeeNumber": "1815",
        "manager": {"value": "mgr-42"},
    },
}


def test_the_enterprise_extension_is_reachable_by_a_name_a_template_can_write() -> None:
    context = template_context(USER, ["Staff", "Admins"])
    assert render("{{ enterprise.department }}", context) == "Engineering"
    assert render("{{ enterprise.employeeNumber }}", context) == "1815"
    assert render("{{ enterprise.manager.value }}", context) == "mgr-42"
    assert render("{{ name.givenName }} {{ title }}", context) == "Ada Analyst"
    assert render("{{ groups }}", context) == "Admins;Staff"


def test_a_user_without_the_extension_has_an_empty_one() -> None:
    plain = {k: v for k, v in USER.items() if k != ENTERPRISE}
    context = template_context(plain, None)
    assert context["enterprise"] == {}
    assert "groups" not in context
    assert render("{{ enterprise.department|default('none') }}", context) == "none"
