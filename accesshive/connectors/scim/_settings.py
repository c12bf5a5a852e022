"""Settings of the ``scim`` connector: the source's ``connection`` mapping and the
attribute mapping, read and checked once, when the connector is made.

The source declares where the service is, how to authenticate and how its quirks
differ from the RFC::

    connection:
      base_url: https://www.figma.com/scim/v2/acme-org   # the SCIM root, where /Users lives
      token: ${env:FIGMA_SCIM_TOKEN}             # a bearer token, or OAuth 2.0 client credentials:
      oauth:
        token_url: https://login.example.com/oauth2/token
        client_id: accesshive
        client_secret: ${env:SCIM_CLIENT_SECRET}
        scope: scim.provisioning                 # optional
        client_auth: basic                       # basic (default, RFC 6749 §2.3.1) | body
      quirks: generic                            # generic | entra | okta | slack | scimmy, or
                                                 # {profile: slack, writes_per_minute: 300, ...}
                                                 # (see accesshive/connectors/scim/_quirks.py)
      page_size: 100                             # resources per read request (default 100)
      attributes:                                # flat attribute -> SCIM path, beside the built-ins
        cost_center: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter
      group_names: {team-design: Design Team}    # entitlement -> Group displayName (default: same)
      identity_attribute: externalId             # optional: the SCIM attribute that records
                                                 # the identity (written at create, read back)
      timeout: 30                                # seconds per HTTP request (default 30)
      verify: true                               # TLS: true | false | path/to/ca-bundle.pem

Account attributes are the flat keys the source declares (``account.schema``,
``create``, ``sync``), each mapped to a SCIM User path: a key that is a User path
maps to itself (``userName``, ``displayName``, ``name.givenName``,
``name.familyName``, ``title``, ``externalId``, ``nickName``, ``userType``,
``locale``, ``timezone``, ``preferredLanguage``, ``profileUrl``, or a full
extension path ``urn:...:enterprise:2.0:User:department``); ``department``,
``employeeNumber``, ``costCenter``, ``organization`` and ``division`` map to the
enterprise extension; ``emails`` (alias ``email``) and ``phoneNumbers`` (alias
``phone``) are the primary work value (a list of values when the attribute is
declared ``multi_valued``; the first is primary); ``password`` is write-only.
``active`` is not an attribute: it is the account's enabled state. The SCIM
resource ``id`` is the account's external id; grants are Group memberships, the
entitlement being the Group's ``displayName`` (or its ``group_names`` entry).
"""

from __future__ import annotations

from typing import Any

from scim2_models import Resource

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim._quirks import Quirks, parse_quirks
from accesshive.connectors.scim._values import (
    ALIASES,
    ENTERPRISE,
    NOT_WRITABLE,
    PRIMARY,
    STATIC_USER,
    Attr,
    _binding,
    _get,
    _plain,
)
from accesshive.errors import ConnectorError
from accesshive.state.snapshot import SnapshotAccount

DEFAULT_PAGE_SIZE = 100
CONNECTION_KEYS = frozenset(
    {
        "base_url",
        "token",
        "oauth",
        "quirks",
        "page_size",
        "attributes",
        "group_names",
        "identity_attribute",
        "timeout",
        "verify",
        "connector",  # read by the registry: a connector other than the kind's
    }
)


class ScimSettings:
    """The connection settings and the attribute mapping, read and checked once; read-only
    afterwards (setting an attribute raises), so every collaborator sees the same values.
    It also turns a User into the ``SnapshotAccount`` accesshive compares (``snapshot``):
    that is where the attribute mapping is read back."""

    def __init__(
        self,
        source_id: str,
        source: Source,
        context: ConnectorContext,
        managed: dict[str, str],
    ) -> None:
        self.source_id = source_id
        self.source = source
        self.context = context
        conn = source.connection
        unknown = sorted(set(conn) - CONNECTION_KEYS)
        if unknown:
            raise self.error(
                f"connection: unknown key(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(CONNECTION_KEYS))})"
            )
        self.base_url = str(conn.get("base_url") or "").rstrip("/")
        try:
            self.quirks: Quirks = parse_quirks(conn.get("quirks"))
        except ValueError as exc:
            raise self.error(f"connection.quirks: {exc}") from None
        self.page_size = int(self._positive("page_size", DEFAULT_PAGE_SIZE))
        self.timeout = self._positive("timeout", 30)
        self.group_names = {str(k): str(v) for k, v in (conn.get("group_names") or {}).items()}
        self.managed = dict(managed)
        """Managed entitlement → its Group's displayName (``_groups.py``)."""
        self.entitlement_of = {v: k for k, v in self.group_names.items()}
        """Group displayName → entitlement (``group_names`` reversed, managed names too)."""
        self.entitlement_of.update({name: eid for eid, name in self.managed.items()})
        self.attrs = self._mapping()
        identity = conn.get("identity_attribute")
        self.identity_path = self._plain_path("identity_attribute", identity) if identity else None
        self._sealed = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_sealed", False):
            raise AttributeError(f"the scim settings are read once: {name} cannot change")
        object.__setattr__(self, name, value)

    def error(
        self, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> ConnectorError:
        """A failure of this source (what ``Connector.error`` makes)."""
        return ConnectorError(self.source_id, message, retryable=retryable, retry_after=retry_after)

    def entitlement(self, display_name: str) -> str:
        """The entitlement a Group of this displayName is."""
        return self.entitlement_of.get(display_name, display_name)

    def user_attributes(self) -> list[str]:
        """What a read of Users asks for (``attributes=``): only what is managed."""
        paths = {"userName", "active"}
        paths |= {a.path for a in self.attrs.values() if a.kind != "secret"}
        if self.identity_path:
            paths.add(self.identity_path)
        return sorted(paths)

    def _positive(self, key: str, default: float) -> float:
        value = self.source.connection.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.error(f"connection.{key} must be a positive number")
        if key == "page_size" and value != int(value):
            raise self.error(f"connection.{key} must be a whole number")
        return float(value)

    def _mapping(self) -> dict[str, Attr]:
        explicit = self.source.connection.get("attributes") or {}
        if not isinstance(explicit, dict):
            raise self.error("connection.attributes must map attribute names to SCIM paths")
        keys = {*self.source.account.schema_, *self.source.managed_attributes}
        keys.discard("active")  # enable/disable, never an attribute
        return {key: self._attr(key, explicit.get(key)) for key in sorted(keys)}

    def _attr(self, key: str, explicit: Any = None) -> Attr:
        path = str(explicit or ALIASES.get(key, key))
        if path.lower() in PRIMARY:
            return Attr(key, "emails" if path.lower() == "emails" else "phoneNumbers", "primary")
        if path.lower() == "password":
            return Attr(key, "password", "secret")
        return Attr(key, self._plain_path(key, path), "plain")

    def _plain_path(self, key: str, path: Any) -> str:
        binding = _binding(STATIC_USER, str(path))
        if binding is None or binding.field_name in NOT_WRITABLE:
            raise self.error(
                f"attribute '{key}' maps to '{path}', which is not a writable SCIM User "
                "attribute; map it with connection.attributes (e.g. "
                f"{key}: {ENTERPRISE}:department)"
            )
        return str(path)

    def lookup_attr(self, key: str) -> Attr:
        found = self.attrs.get(key)
        if found is None:
            found = self._attr(key, (self.source.connection.get("attributes") or {}).get(key))
        return found

    def snapshot(self, user: Resource[Any], grants: set[str]) -> SnapshotAccount:
        """A User as accesshive compares it: the mapped attributes (secrets never)."""
        attributes = {}
        for attr in self.attrs.values():
            if attr.kind != "secret":
                value = self.value(user, attr)
                if value not in (None, "", []):
                    attributes[attr.key] = value
        identity = _get(user, self.identity_path) if self.identity_path else None
        active = _get(user, "active")
        return SnapshotAccount(
            external_id=str(user.id),
            identity=str(identity) if identity not in (None, "") else None,
            enabled=active is not False,
            attributes=attributes,
            grants=sorted(grants),
        )

    def value(self, user: Resource[Any], attr: Attr) -> Any:
        raw = _get(user, attr.path)
        if attr.kind == "plain":
            return _plain(raw)
        entries = sorted(raw or [], key=lambda e: not getattr(e, "primary", False))
        values = [str(e.value) for e in entries if getattr(e, "value", None)]
        spec = self.source.account.schema_.get(attr.key)
        if spec is not None and spec.multi_valued:
            return values
        return values[0] if values else None
