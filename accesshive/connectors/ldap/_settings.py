"""Settings of the ``ldap`` connector: the source's ``connection`` mapping, read and checked
once, when the connector is made, so a bad value fails before any server is contacted.

The source declares where things live. ``url`` and ``users_dn`` are required; where a
key has a default, the comment says so, otherwise the value is an example::

    connection:
      url: ldaps://ldap.acme.example      # ldap://host[:389] or ldaps://host[:636]
      start_tls: false                    # ldap:// only: StartTLS before binding (default false)
      ca_file: /etc/acme/ldap-ca.pem      # CA of the server certificate (default: the
                                          #   system's CAs); relative paths start at the repo
      bind_dn: cn=accesshive,ou=services,dc=acme,dc=example   # absent: anonymous
      bind_password: ${env:ACME_LDAP_PASSWORD}                # ${env:...} or ${file:...}
      users_dn: ou=people,dc=acme,dc=example    # accounts are created as <rdn>,<users_dn>
      users_scope: one                    # one (default): children of users_dn; sub: subtree
      rdn_attribute: uid                  # names the entry: uid=jose.garcia,ou=people,...
                                          #   (default uid)
      object_classes: [inetOrgPerson]     # of new accounts, auxiliary classes too
                                          #   (default [inetOrgPerson])
      account_filter: (objectClass=inetOrgPerson)   # which entries are accounts
                                          #   (default: the first of object_classes)
      id_attribute: entryUUID             # the external id, stable across renames and moves
                                          #   (default entryUUID; objectGUID on AD)
      identity_attribute: accesshiveIdentity  # optional: the identity an account belongs to,
                                          #   written when accesshive creates it
      groups_dn: ou=groups,dc=acme,dc=example   # groups, searched with its subtree
                                          #   (absent: no grants)
      group_object_class: groupOfNames    # or groupOfUniqueNames, posixGroup, group (AD)
                                          #   (default groupOfNames)
      group_name_attribute: cn            # the entitlement name (default cn)
      member_attribute: member            # default by class: member, uniqueMember, memberUid
      member_uid_attribute: uid           # memberUid groups: what they hold (default uid)
      member_of_attribute: memberOf       # optional: the account's back-link to its groups
                                          #   (memberof overlay, Active Directory); verify
                                          #   then reads grants with the account
      empty_group_member: cn=nobody,dc=acme,dc=example   # optional: put into a groupOfNames
                                          #   whose last member goes (it needs one member);
                                          #   needed to create managed groupOfNames groups
      group_key_attribute: businessCategory   # managed groups (entitlements with
                                          #   managed: true) carry their entitlement id in it,
                                          #   which finds them after a rename (default
                                          #   businessCategory: groupOfNames allows it)
      disable:                            # how accounts are disabled (absent: they cannot be)
        method: ou                        # disabled accounts live in another OU ...
        ou: ou=disabled,dc=acme,dc=example
      # disable: {method: attribute, attribute: pwdAccountLockedTime, value: "000001010000Z"}
      #   ... or hold an attribute value; enabling removes the attribute, or sets
      #   `enabled_value` when given
      # disable: {method: active_directory}   ... or userAccountControl's ACCOUNTDISABLE bit
      page_size: 500                      # entries per simple-paged-results page (default 500)
      connect_timeout: 10                 # seconds to open the connection (default 10)
      timeout: 30                         # seconds to wait for any answer (default 30)

Unknown keys are refused, so a typo cannot silently turn a setting off.

This module owns the keys (``KNOWN_KEYS``), their defaults and their checks; the other
modules of the connector receive the ``LdapSettings`` and only read them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from accesshive.config.model import AttributeSpec, Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.ldap._dn import DnError, parse_dn
from accesshive.connectors.ldap._ldap3 import ldap3
from accesshive.connectors.ldap._values import _text
from accesshive.errors import ConnectorError

KNOWN_KEYS = frozenset(
    {
        "connector",
        "url",
        "start_tls",
        "ca_file",
        "bind_dn",
        "bind_password",
        "users_dn",
        "users_scope",
        "rdn_attribute",
        "object_classes",
        "account_filter",
        "id_attribute",
        "identity_attribute",
        "groups_dn",
        "group_object_class",
        "group_name_attribute",
        "member_attribute",
        "member_uid_attribute",
        "member_of_attribute",
        "empty_group_member",
        "group_key_attribute",
        "disable",
        "page_size",
        "connect_timeout",
        "timeout",
    }
)
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$")
_DEFAULT_MEMBER = {"groupofuniquenames": "uniqueMember", "posixgroup": "memberUid"}


@dataclass(frozen=True)
class _Disable:
    method: str
    """"none", "ou", "attribute" or "active_directory"."""
    ou: str = ""
    attribute: str = ""
    value: str = ""
    enabled_value: str | None = None


class LdapSettings:
    """The connection settings, read and checked once; read-only afterwards (setting an
    attribute raises), so every collaborator that holds them sees the same values."""

    source_id: str
    source: Source
    context: ConnectorContext
    managed: Mapping[str, str]
    """Managed entitlement → its group's name (``_managed.py``)."""

    url: str
    use_ssl: bool
    host: str
    port: int
    start_tls: bool
    ca_file: Path | None
    bind_dn: str | None
    users_dn: str
    users_scope: Any
    rdn_attribute: str
    object_classes: list[str]
    account_filter: str
    id_attribute: str
    identity_attribute: str | None
    groups_dn: str
    group_class: str
    group_name: str
    member_attribute: str
    member_by_uid: bool
    member_uid_attribute: str
    member_of: str | None
    empty_member: str
    disable: _Disable
    page_size: int
    connect_timeout: float
    timeout: float
    attributes: list[str]
    """The account attributes the source declares, as named in the directory."""
    schema: dict[str, AttributeSpec]
    read_attributes: list[str]
    """What every account search asks for: the id, the RDN, the attributes and the rest."""

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
        unknown = sorted(set(conn) - KNOWN_KEYS)
        if unknown:
            raise self.error(
                f"unknown connection key(s) {', '.join(unknown)}; the ldap connector knows "
                f"{', '.join(sorted(KNOWN_KEYS - {'connector'}))}"
            )
        self._read_server(conn, context)
        self._read_accounts(conn)
        self._read_groups(conn)
        self.disable = self._disable_settings(conn.get("disable"))
        self.page_size = self._positive("page_size", 500, integer=True)
        self.connect_timeout = self._positive("connect_timeout", 10)
        self.timeout = self._positive("timeout", 30)
        self._read_attributes(source)
        self._sealed = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_sealed", False):
            raise AttributeError(f"the ldap settings are read once: {name} cannot change")
        object.__setattr__(self, name, value)

    def error(self, message: str, *, retryable: bool = False) -> ConnectorError:
        """A failure of this source (what ``Connector.error`` makes)."""
        return ConnectorError(self.source_id, message, retryable=retryable)

    def _read_server(self, conn: Mapping[str, Any], context: ConnectorContext) -> None:
        """Where the directory is, how to reach it securely, and who binds."""
        self.url = str(conn.get("url") or "")
        parts = urlsplit(self.url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise self.error(f"connection.url '{self.url}' is not ldap://host or ldaps://host")
        self.use_ssl = parts.scheme == "ldaps"
        self.host = parts.hostname
        try:
            self.port = parts.port or (636 if self.use_ssl else 389)
        except ValueError as exc:
            raise self.error(f"connection.url '{self.url}': {exc}") from exc
        self.start_tls = bool(conn.get("start_tls", False))
        if self.start_tls and self.use_ssl:
            raise self.error("start_tls is for ldap:// URLs; ldaps:// is already encrypted")
        ca_file = conn.get("ca_file")
        self.ca_file = None
        if ca_file:
            path = Path(str(ca_file))
            self.ca_file = path if path.is_absolute() else context.root / path
        self.bind_dn = str(conn["bind_dn"]) if conn.get("bind_dn") else None

    def _read_accounts(self, conn: Mapping[str, Any]) -> None:
        """Where accounts live, how they are named, found and told apart."""
        self.users_dn = self._dn("users_dn", required=True)
        scope = str(conn.get("users_scope", "one"))
        if scope not in ("one", "sub"):
            raise self.error(f"users_scope must be one or sub, not '{scope}'")
        self.users_scope = ldap3.LEVEL if scope == "one" else ldap3.SUBTREE
        self.rdn_attribute = self._attr(conn.get("rdn_attribute", "uid"), "rdn_attribute")
        classes = conn.get("object_classes", ["inetOrgPerson"])
        if isinstance(classes, str):
            classes = [classes]
        if not isinstance(classes, list) or not classes:
            raise self.error("object_classes must be a list of object class names")
        self.object_classes = [self._attr(c, "object_classes") for c in classes]
        self.account_filter = str(
            conn.get("account_filter") or f"(objectClass={self.object_classes[0]})"
        )
        if not (self.account_filter.startswith("(") and self.account_filter.endswith(")")):
            raise self.error(f"account_filter '{self.account_filter}' must be in parentheses")
        self.id_attribute = self._attr(conn.get("id_attribute", "entryUUID"), "id_attribute")
        identity = conn.get("identity_attribute")
        self.identity_attribute = self._attr(identity, "identity_attribute") if identity else None

    def _read_groups(self, conn: Mapping[str, Any]) -> None:
        """Where groups live and how they hold their members."""
        self.groups_dn = self._dn("groups_dn", required=False)
        self.group_class = self._attr(
            conn.get("group_object_class", "groupOfNames"), "group_object_class"
        )
        self.group_name = self._attr(conn.get("group_name_attribute", "cn"), "group_name_attribute")
        self.member_attribute = self._attr(
            conn.get("member_attribute", _DEFAULT_MEMBER.get(self.group_class.lower(), "member")),
            "member_attribute",
        )
        self.member_by_uid = self.member_attribute.lower() == "memberuid"
        self.member_uid_attribute = self._attr(
            conn.get("member_uid_attribute", "uid"), "member_uid_attribute"
        )
        member_of = conn.get("member_of_attribute")
        self.member_of = self._attr(member_of, "member_of_attribute") if member_of else None
        self.empty_member = self._dn("empty_group_member", required=False)
        self.group_key = self._attr(
            conn.get("group_key_attribute", "businessCategory"), "group_key_attribute"
        )

    def _read_attributes(self, source: Source) -> None:
        """The declared account attributes, and everything an account search reads."""
        declared = {*source.managed_attributes, *source.account.schema_}
        self.attributes = sorted(self._attr(a, "account attribute") for a in declared)
        self.schema = source.account.schema_
        if self.identity_attribute and self.identity_attribute.lower() in {
            a.lower() for a in self.attributes
        }:
            raise self.error(
                f"identity_attribute {self.identity_attribute} is also an account attribute"
            )
        wanted = [self.id_attribute, self.rdn_attribute, *self.attributes]
        if self.identity_attribute:
            wanted.append(self.identity_attribute)
        if self.member_by_uid:
            wanted.append(self.member_uid_attribute)
        if self.disable.attribute:
            wanted.append(self.disable.attribute)
        self.read_attributes = list({a.lower(): a for a in wanted}.values())

    # ------------------------------------------------------------------ checks

    def _attr(self, name: Any, what: str) -> str:
        if not isinstance(name, str) or not _ATTRIBUTE.match(name):
            raise self.error(f"{what}: '{name}' is not an LDAP attribute or object class name")
        return name

    def _dn(self, key: str, *, required: bool) -> str:
        value = self.source.connection.get(key)
        if not value:
            if required:
                raise self.error(f"connection.{key} is missing (a DN like ou=people,dc=...)")
            return ""
        try:
            if not parse_dn(str(value)):
                raise DnError("empty")
        except DnError as exc:
            raise self.error(f"connection.{key} '{value}' is not a DN ({exc})") from exc
        return str(value)

    def _positive(self, key: str, default: float, *, integer: bool = False) -> Any:
        value = self.source.connection.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.error(f"connection.{key} must be a positive number, not {value!r}")
        if integer and not isinstance(value, int):
            raise self.error(f"connection.{key} must be a whole number, not {value!r}")
        return value

    def _disable_settings(self, spec: Any) -> _Disable:
        if spec is None:
            return _Disable("none")
        if not isinstance(spec, dict) or "method" not in spec:
            raise self.error("connection.disable must be a mapping with a method")
        method = spec["method"]
        keys = {
            "ou": {"method", "ou"},
            "attribute": {"method", "attribute", "value", "enabled_value"},
            "active_directory": {"method"},
        }
        if method not in keys:
            raise self.error(
                f"disable.method must be ou, attribute or active_directory, not '{method}'"
            )
        extra = sorted(set(spec) - keys[method])
        if extra:
            raise self.error(f"disable (method {method}) does not take {', '.join(extra)}")
        if method == "ou":
            return _Disable("ou", ou=self._dn_value(spec.get("ou"), "disable.ou"))
        if method == "attribute":
            if spec.get("value") in (None, ""):
                raise self.error("disable.value is missing (the value that marks disabled)")
            enabled_value = spec.get("enabled_value")
            return _Disable(
                "attribute",
                attribute=self._attr(spec.get("attribute"), "disable.attribute"),
                value=_text(spec["value"]),
                enabled_value=None if enabled_value in (None, "") else _text(enabled_value),
            )
        return _Disable("active_directory", attribute="userAccountControl")

    def _dn_value(self, value: Any, what: str) -> str:
        try:
            if not value or not parse_dn(str(value)):
                raise DnError("empty")
        except DnError as exc:
            raise self.error(f"{what} '{value}' is not a DN ({exc})") from exc
        return str(value)
