"""The ``django-scim2`` quirk profile and the keys it brought, as configuration reads them."""

from __future__ import annotations

import pytest

from accesshive.connectors.scim._quirks import parse_quirks


def test_the_django_scim2_profile() -> None:
    quirks = parse_quirks("django-scim2")
    assert (quirks.member_removal, quirks.user_patch, quirks.filter) == ("value", False, False)
    assert quirks.patch is None  # Groups keep PATCH: its PUT of a Group ignores members


def test_member_removal_by_value_and_user_patch_are_settable_on_any_profile() -> None:
    quirks = parse_quirks({"profile": "entra", "member_removal": "value", "user_patch": False})
    assert quirks.patch_op_case == "capitalized"
    assert (quirks.member_removal, quirks.user_patch) == ("value", False)
    with pytest.raises(ValueError, match=r"quirks\.user_patch must be true or false"):
        parse_quirks({"user_patch": "no"})
    with pytest.raises(ValueError, match="member_removal must be one of filter, replace, value"):
        parse_quirks({"member_removal": "values"})


def test_answers_are_trusted_unless_a_source_says_otherwise() -> None:
    assert all(parse_quirks(name).trust_responses for name in ("generic", "entra", "slack"))
    assert parse_quirks({"profile": "okta", "trust_responses": False}).trust_responses is False
    for wrong in ("no", None):
        with pytest.raises(ValueError, match=r"quirks\.trust_responses must be true or false"):
            parse_quirks({"trust_responses": wrong})
