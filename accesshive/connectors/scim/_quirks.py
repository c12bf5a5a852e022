"""Quirk profiles of the ``scim`` connector: where a target departs from RFC 7644, and
what accesshive does about it.

A profile overrides what the target announced at ``/ServiceProviderConfig``; each
key can be overridden on its own::

    quirks: entra                        # a profile name, or:
    quirks:
      profile: slack
      writes_per_minute: 300             # any key below overrides the profile's value

Keys (``None``/absent = as the target announces):

- ``patch_op_case``: ``lower`` (RFC) or ``capitalized`` (``Add``/``Replace``/``Remove``).
- ``active_as_string``: send ``active`` as ``"True"``/``"False"`` instead of a boolean.
- ``patch``: ``false`` = never PATCH; updates read the resource and PUT it back.
- ``user_patch``: ``false`` = Users are updated by reading them and PUTting them back;
  Groups still get PATCH (for targets whose PUT of a Group ignores ``members``).
- ``filter``: ``false`` = never send ``filter=``; lookups page through the resources.
- ``member_filter``: ``false`` = never filter Groups by ``members.value``; one account's
  grants come from reading the Groups' members (the other filters are still used).
- ``etag``: ``false`` = never send If-Match, even when the target offers ETags.
- ``max_page_size``: never ask for more than this many resources in one page.
- ``cursor_paging``: ``false`` = page by ``startIndex`` even where the target announces
  RFC 9865 cursors (``pagination.cursor`` in ``/ServiceProviderConfig``); ``true`` = send
  ``cursor=`` even where it does not announce them. Unset: cursors when announced.
- ``member_removal``: ``filter`` (PATCH remove ``members[value eq "id"]``),
  ``replace`` (read the group, PATCH replace its whole member list, with If-Match) or
  ``value`` (PATCH remove ``members`` with ``"value": [{"value": "id"}]``: Entra's
  form, which RFC 7644 does not define, for targets that take no other).
- ``writes_per_minute``: client-side write rate limit for the source (token bucket).
- ``trust_responses``: ``false`` = verify every account write by reading the account
  back, even when the target answered the POST, PUT or PATCH with the User (for targets
  whose answers echo the request rather than say what they stored). Default ``true``:
  an answer that shows what was asked verifies the order; a 204, or an answer that
  does not show it, is read back. Grants and revokes are always verified by reading
  the Group: a Group's answer to a member PATCH is not taken as proof.

The built-in profiles are starting points that describe accesshive's assumptions,
not guarantees about a vendor; override any key your tenant behaves differently on:

- ``generic``: nothing assumed beyond what the target announces.
- ``entra``: targets written against Microsoft Entra's provisioning client, which
  sends capitalised PATCH ops and ``active`` as a string.
- ``okta``: targets written against Okta's client, which updates users with PUT.
- ``slack``: pages of at most 1000, member removal by replacing the member list,
  600 writes a minute.
- ``scimmy``: service providers built on SCIMMY (npm ``scimmy`` 1.3, tested against
  1.3.5 in tests/support/scimmy_server.py): its filter ``members.value eq "..."``
  answers 400 invalidValue ("Cannot convert undefined or null to object") as soon as
  one Group has no members, so ``member_filter`` is off.
- ``django-scim2``: service providers built on django-scim2's default adapters (PyPI
  ``django-scim2`` 0.23, tested against 0.23.0 in tests/support/django_scim_server.py):

  - a member is removed only by naming it in the value of ``remove`` on ``members``
    (a ``members[value eq "id"]`` path answers 501), so ``member_removal`` is ``value``;
  - a User PATCH takes only ``replace`` of ``userName``, ``name.givenName``,
    ``name.familyName``, ``active`` and ``emails``: ``remove`` (an emptied attribute)
    answers 501, so ``user_patch`` is off: Users are read and PUT back, which it
    applies whole; its PUT of a Group ignores ``members``, so Groups keep PATCH;
  - it announces ``filter`` unsupported, and its Group filter (``displayName eq``)
    does answer an empty list for every name: ``filter`` is off even where a
    deployment's ServiceProviderConfig says otherwise.

  It derives ``displayName`` (``givenName familyName``, else ``userName``) and
  ignores the one written: map ``name.givenName``/``name.familyName`` instead
  (verification names ``displayName`` when it is mapped).

Reading is lenient for every target, whatever the profile (``read_leniently``): a
resource is read the way the endpoint that answered implies. Writes stay strictly
RFC-conformant (only the write quirks above change them). Each leniency is tested
against a real server behind ``tests/support/scim_quirk_proxy.py``:

- ``schemas`` (and ``meta``) left out of a resource, or of a ListResponse: the
  schema of the endpoint is assumed (``/Users/{id}`` is a User), with the extension
  URNs the resource carries as keys. RFC 7644 §3.4.3's own example answer does this;
  so did scimgateway plugins (jelhub/scimgateway#44) and laravel-scim-server (#81).
  A ``schemas`` list that names the core schema after an extension is reordered.
- Attribute names in another case (``username``, ``Active``, ``Primary``: RFC 7643
  §2.1 makes them case-insensitive; Microsoft's SCIM reference code and validator
  use ``UserName``/``Active``) and canonical values in another case (``Work``):
  scim2-models reads both.
- Booleans as strings (``"True"``, ``"false"``: Entra-style) or numbers (``1``/``0``:
  Snipe-IT before grokability/snipe-it#13948), numbers for string attributes
  (``employeeNumber: 1042``) and ListResponse numbers as strings (``"totalResults":
  "3"``): numbers inside a User or Group become strings (RFC 7643's core and
  enterprise schemas have no integer attribute) and the models read boolean
  spellings; verification compares the values read, never the representation.
- Attributes and extensions nobody declared (a vendor's ``urn:scim:wso2:schema``
  object): ignored (``POLICY`` in ``scim/_values.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

PatchOpCase = Literal["lower", "capitalized"]
MemberRemoval = Literal["filter", "replace", "value"]


@dataclass(frozen=True)
class Quirks:
    profile: str = "generic"
    patch_op_case: PatchOpCase = "lower"
    active_as_string: bool = False
    patch: bool | None = None
    user_patch: bool | None = None
    filter: bool | None = None
    etag: bool | None = None
    member_filter: bool | None = None
    max_page_size: int | None = None
    cursor_paging: bool | None = None
    member_removal: MemberRemoval = "filter"
    writes_per_minute: float | None = None
    trust_responses: bool = True

    # ------------------------------------------------------------------ payloads

    def resource_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A validated POST/PUT body, as this target wants it."""
        out = copy.deepcopy(payload)
        if self.active_as_string and isinstance(out.get("active"), bool):
            out["active"] = _bool_text(out["active"])
        return out

    def patch_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A validated PatchOp body, as this target wants it."""
        out = copy.deepcopy(payload)
        for operation in out.get("Operations", []):
            if self.patch_op_case == "capitalized":
                operation["op"] = str(operation["op"]).capitalize()
            if not self.active_as_string:
                continue
            value = operation.get("value")
            if str(operation.get("path", "")).lower() == "active" and isinstance(value, bool):
                operation["value"] = _bool_text(value)
            elif (
                "path" not in operation
                and isinstance(value, dict)
                and isinstance(value.get("active"), bool)
            ):
                value["active"] = _bool_text(value["active"])
        return out


LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def read_leniently(payload: Any, schema: str | None, *, listing: bool) -> Any:
    """A JSON answer from an endpoint serving ``schema`` resources, as RFC 7643 spells it.

    ``listing``: the request was a query of the collection (a ListResponse is
    expected); otherwise one resource. Anything that is not a dict, an Error, or an
    answer from an endpoint whose schema is unknown is returned untouched.
    """
    if not isinstance(payload, dict) or schema is None:
        return payload
    out = _schemas_key(payload)
    named = [str(s).lower() for s in out.get("schemas") or [] if isinstance(s, str)]
    if _ERROR.lower() in named:
        return payload
    if listing or LIST_RESPONSE.lower() in named:
        if not named:
            out["schemas"] = [LIST_RESPONSE]
        resources = next((k for k in out if k.lower() == "resources"), None)
        if resources is not None and isinstance(out[resources], list):
            out["Resources"] = [_resource(r, schema) for r in out.pop(resources)]
        return out
    return _resource(out, schema)


def _schemas_key(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    key = next((k for k in out if k.lower() == "schemas"), None)
    if key is not None and key != "schemas":
        out["schemas"] = out.pop(key)
    return out


def _resource(doc: Any, schema: str) -> Any:
    if not isinstance(doc, dict):
        return doc
    out = _schemas_key(doc)
    listed = [s for s in out.get("schemas") or [] if isinstance(s, str)]
    core = [s for s in listed if s.lower() == schema.lower()]
    if not listed:
        extensions = [
            k for k, v in out.items() if k.lower().startswith("urn:") and isinstance(v, dict)
        ]
        out["schemas"] = [schema, *extensions]
    elif not core:
        return out  # another kind of resource: let the models refuse it by name
    elif listed[0].lower() != schema.lower():
        out["schemas"] = [*core, *(s for s in listed if s.lower() != schema.lower())]
    return {k: v if k == "schemas" else _strings(v) for k, v in out.items()}


def _strings(value: Any) -> Any:
    """Numbers inside a User or Group as strings: the core and enterprise schemas have no
    integer or decimal attribute, so a number is a string attribute's value (or a
    boolean's, which the models read from "1"/"0" too)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _strings(v) for k, v in value.items()}
    return value


def _bool_text(value: bool) -> str:
    return "True" if value else "False"


PROFILES: dict[str, Quirks] = {
    "generic": Quirks(),
    "entra": Quirks(profile="entra", patch_op_case="capitalized", active_as_string=True),
    "okta": Quirks(profile="okta", patch=False),
    "scimmy": Quirks(profile="scimmy", member_filter=False),
    "django-scim2": Quirks(
        profile="django-scim2", member_removal="value", user_patch=False, filter=False
    ),
    "slack": Quirks(
        profile="slack", max_page_size=1000, member_removal="replace", writes_per_minute=600
    ),
}

_CHOICES: dict[str, tuple[Any, ...]] = {
    "patch_op_case": ("lower", "capitalized"),
    "member_removal": ("filter", "replace", "value"),
}
_BOOLS = (
    "active_as_string",
    "patch",
    "user_patch",
    "filter",
    "etag",
    "member_filter",
    "cursor_paging",
    "trust_responses",
)


def parse_quirks(value: Any) -> Quirks:
    """``connection.quirks``: a profile name, or a mapping with ``profile`` and overrides.

    Raises ``ValueError`` with a message for users.
    """
    if value is None:
        return PROFILES["generic"]
    if isinstance(value, str):
        value = {"profile": value}
    if not isinstance(value, dict):
        raise ValueError("quirks must be a profile name or a mapping")
    settings = dict(value)
    name = str(settings.pop("profile", "generic"))
    if name not in PROFILES:
        raise ValueError(f"unknown quirk profile '{name}' (known: {', '.join(PROFILES)})")
    known = {f.name for f in fields(Quirks)} - {"profile"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(
            f"unknown quirk(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    for key, item in settings.items():
        if key in _CHOICES and item not in _CHOICES[key]:
            raise ValueError(f"quirks.{key} must be one of {', '.join(_CHOICES[key])}")
        if key in _BOOLS and not isinstance(item, bool | None):
            raise ValueError(f"quirks.{key} must be true or false")
        if key == "trust_responses" and not isinstance(item, bool):
            raise ValueError("quirks.trust_responses must be true or false")
        if key == "max_page_size" and not _positive(item, integer=True):
            raise ValueError("quirks.max_page_size must be a positive integer")
        if key == "writes_per_minute":
            if not _positive(item, integer=False):
                raise ValueError("quirks.writes_per_minute must be a positive number")
            settings[key] = None if item is None else float(item)
    return replace(PROFILES[name], **settings)


def _positive(value: Any, *, integer: bool) -> bool:
    if value is None:
        return True
    kinds = int if integer else int | float
    return not isinstance(value, bool) and isinstance(value, kinds) and value > 0
