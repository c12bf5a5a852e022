"""Settings of the ``google_workspace`` connector: the source's ``connection`` mapping,
read and checked once, when the connector is made.

The source declares::


    connection:
      credentials: ${file:/etc/acme/gws-sa.json}  # service account JSON key (domain-wide
                                                   # delegation); or, instead:
      # token: ${env:GWS_ACCESS_TOKEN}            # a ready OAuth access token (tests, CI)
      subject: accesshive-admin@acme.example      # the admin the service account acts as
      customer_id: C03x7acme                      # default my_customer
      domain: acme.example                        # optional: read only this domain's users
      query: "orgUnitPath='/Staff'"               # optional: users.list query filter
      max_results: 500                            # users per page, 1..500 (members: <= 200)
      member_role: MEMBER                         # role of granted group members
      licenses:                                   # entitlements that are licences
        workspace-business-standard: Google-Apps/1010020028   # productId/skuId
      super_admin: super-admin                    # the entitlement meaning "super admin"
      attribute_map: {recovery: recoveryEmail}    # attribute -> User field (dotted path)
      timeout: 30                                 # seconds per request
      consistency_seconds: 10                     # how long a user we just changed may 404
      read_retries: 3                             # retries of a throttled/5xx page in read()
      read_retry_delay: 1.0                       # first wait (doubles), unless Retry-After
      base_url: https://admin.googleapis.com      # default; tests point it at a stand-in
      licensing_base_url: https://licensing.googleapis.com  # default: base_url when set
      token_uri: https://oauth2.googleapis.com/token        # default: the key's token_uri
      scopes: [...]                               # default: user, group, group.member
                                                  # (+ apps.licensing with licenses)

Account attributes map to User fields through ``attribute_map`` on top of
``DEFAULT_ATTRIBUTE_MAP``; ``id``, ``suspended`` and ``isAdmin`` are refused there,
since accesshive manages them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.google_workspace._client import (
    SCOPE_GROUP,
    SCOPE_GROUP_MEMBER,
    SCOPE_LICENSING,
    SCOPE_USER,
)
from accesshive.errors import ConnectorError

DEFAULT_BASE_URL = "https://admin.googleapis.com"
DEFAULT_LICENSING_URL = "https://licensing.googleapis.com"

DEFAULT_ATTRIBUTE_MAP = {
    "givenName": "name.givenName",
    "familyName": "name.familyName",
    "fullName": "name.fullName",
}
WRITE_ONLY = frozenset({"password"})
"""Attributes sent on create/update but never returned by the API."""
MEMBER_ROLES = frozenset({"MEMBER", "MANAGER", "OWNER"})


class GwsSettings:
    """The connection settings, read and checked once; read-only afterwards (setting an
    attribute raises), so every collaborator that holds them sees the same values."""

    managed: Mapping[str, str]
    """Managed entitlement → its group's name (``_groups.py``)."""

    def __init__(
        self,
        source_id: str,
        source: Source,
        context: ConnectorContext,
        managed: Mapping[str, str],
    ) -> None:
        self.source_id = source_id
        self.source = source
        self.context = context
        self.managed = dict(managed)
        conn = source.connection
        self.customer = str(conn.get("customer_id") or "my_customer")
        self.domain = str(conn["domain"]) if conn.get("domain") else None
        self.query = str(conn["query"]) if conn.get("query") else None
        explicit_base = conn.get("base_url")
        for key in ("base_url", "licensing_base_url", "token_uri"):
            if conn.get(key) and not str(conn[key]).startswith(("https://", "http://")):
                raise self.error(f"connection.{key} must be an http(s) URL")
        self.base_url = str(explicit_base or DEFAULT_BASE_URL).rstrip("/")
        self.licensing_url = str(
            conn.get("licensing_base_url") or explicit_base or DEFAULT_LICENSING_URL
        ).rstrip("/")
        self.page_size = self._int("max_results", 500, 1, 500)
        self.timeout = self._number("timeout", 30.0)
        self.consistency_seconds = self._number("consistency_seconds", 10.0, minimum=0.0)
        self.read_retries = self._int("read_retries", 3, 0, 10)
        self.read_retry_delay = self._number("read_retry_delay", 1.0, minimum=0.0)
        role = str(conn.get("member_role", "MEMBER")).upper()
        if role not in MEMBER_ROLES:
            raise self.error(f"connection.member_role must be one of {sorted(MEMBER_ROLES)}")
        self.member_role = role
        self.licenses = self._licenses(conn.get("licenses") or {})
        self.super_admin = str(conn["super_admin"]) if conn.get("super_admin") else None
        self.attribute_paths = self._attribute_paths(conn.get("attribute_map") or {})
        self._sealed = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_sealed", False):
            raise AttributeError(
                f"the google_workspace settings are read once: {name} cannot change"
            )
        object.__setattr__(self, name, value)

    def error(self, message: str, *, retryable: bool = False) -> ConnectorError:
        """A failure of this source (what ``Connector.error`` makes)."""
        return ConnectorError(self.source_id, message, retryable=retryable)

    def _int(self, key: str, default: int, low: int, high: int) -> int:
        value = self.source.connection.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(f"connection.{key} must be an integer from {low} to {high}")
        return value

    def _number(self, key: str, default: float, minimum: float = 0.001) -> float:
        value = self.source.connection.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.error(f"connection.{key} must be a number of seconds >= {minimum:g}")
        return float(value)

    def _licenses(self, raw: Any) -> dict[str, tuple[str, str]]:
        if not isinstance(raw, dict):
            raise self.error("connection.licenses maps entitlement names to 'productId/skuId'")
        out: dict[str, tuple[str, str]] = {}
        for name, spec in raw.items():
            product, _, sku = str(spec).partition("/")
            if not product or not sku:
                raise self.error(
                    f"connection.licenses.{name}: '{spec}' is not 'productId/skuId' "
                    "(e.g. Google-Apps/1010020028)"
                )
            out[str(name)] = (product, sku)
        return out

    def _attribute_paths(self, raw: Any) -> dict[str, str]:
        """Attribute → dotted User field path, for every attribute this source manages."""
        if not isinstance(raw, dict):
            raise self.error("connection.attribute_map maps attribute names to API fields")
        mapping = {**DEFAULT_ATTRIBUTE_MAP, **{str(k): str(v) for k, v in raw.items()}}
        account = self.source.account
        names = {
            *self.source.managed_attributes,
            *account.schema_,
            *account.correlation,
            *([account.name_attribute] if account.name_attribute else []),
        }
        paths = {}
        for name in sorted(names - WRITE_ONLY):
            path = mapping.get(name, name)
            if path in ("id", "suspended", "isAdmin"):
                raise self.error(
                    f"attribute '{name}' maps to '{path}', which accesshive manages itself "
                    "(external id, enabled, super_admin)"
                )
            paths[name] = path
        return paths

    def path_of(self, attribute: str) -> str:
        return self.attribute_paths.get(attribute) or DEFAULT_ATTRIBUTE_MAP.get(
            attribute, attribute
        )

    @property
    def scopes(self) -> list[str]:
        configured = self.source.connection.get("scopes")
        if configured:
            return [str(s) for s in configured]
        scopes = [SCOPE_USER, SCOPE_GROUP, SCOPE_GROUP_MEMBER]
        if self.licenses:
            scopes.append(SCOPE_LICENSING)
        return scopes
