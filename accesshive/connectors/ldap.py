"""The ``ldap`` connector: accounts and groups in an LDAP directory (OpenLDAP, 389 DS,
Active Directory), through ldap3.

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
                                          #   whose last member goes (it needs one member)
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

Accounts are the entries under ``users_dn`` (and the disabled OU) that match
``account_filter``; their attributes are the ones the source declares (``account.schema``,
``create`` and ``sync``), named as in the directory. A value comes back plain (the first
one), or as a sorted list when the schema says ``multi_valued``; ``integer``, ``number``
and ``boolean`` attributes are converted. An empty value in a write removes the attribute.

Creating first looks for the account by the correlation attributes and the RDN attribute
(in users_dn and the disabled OU) and adopts the one it finds; an add that still meets
entryAlreadyExists adopts the entry at that DN. An entry whose ``identity_attribute``
names another identity is never adopted.

Grants are group memberships: the groups under ``groups_dn`` are read once per read,
and their member DNs (normalised: case and spacing do not matter) or ``memberUid``
values are mapped to accounts. The entitlement name is the group's ``cn``.

Renaming (a new value of ``rdn_attribute``) is a modrdn, so the entry keeps its
entryUUID; group memberships that still point at the old DN or uid are repointed,
whether or not the server runs the refint overlay. Deleting an account first takes it out
of its groups, so a later account with the same DN inherits nothing. Disabling by OU
moves the entry (modrdn with a new superior); enabling moves it back to ``users_dn``.

Reads fail closed: an error on any page, a referral or a ranged (partial) member list
raises ``ConnectorError``. Busy, unavailable, time limits, timeouts and lost or refused
connections are retryable; every other result code is not (nor are certificate
failures), and the message carries the server's own words.
"""

from __future__ import annotations

import ast
import re
import ssl
import uuid
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

with warnings.catch_warnings():
    # pyasn1 0.6.1+ deprecates tagMap/typeMap, which ldap3 2.9.1 imports once, here
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3  # type: ignore[import-untyped]
    from ldap3.core import exceptions as lexc  # type: ignore[import-untyped]
    from ldap3.protocol.rfc4527 import post_read_control  # type: ignore[import-untyped]
    from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]

from accesshive.config.model import AttributeSpec, Source
from accesshive.connectors.base import Capabilities, Connector, ConnectorContext, Created, Page
from accesshive.connectors.ldap_dn import (
    DnError,
    is_within,
    normalize_dn,
    parse_dn,
    rdn_string,
    rdn_value,
    same_dn,
    split_rdn,
)
from accesshive.connectors.references import resolve
from accesshive.errors import ConnectorError
from accesshive.state.snapshot import SnapshotAccount

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
        "disable",
        "page_size",
        "connect_timeout",
        "timeout",
    }
)
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_PAGED_RESULTS = "1.2.840.113556.1.4.319"
_POST_READ = "1.3.6.1.1.13.2"
_DEFAULT_MEMBER = {"groupofuniquenames": "uniqueMember", "posixgroup": "memberUid"}

# result codes
NO_SUCH_ATTRIBUTE = 16
ATTRIBUTE_OR_VALUE_EXISTS = 20
NO_SUCH_OBJECT = 32
OBJECT_CLASS_VIOLATION = 65
ENTRY_ALREADY_EXISTS = 68
RETRYABLE_CODES = frozenset({3, 51, 52})
FILTER_CHUNK = 100
"""Accounts looked up by one OR filter (servers limit a filter's size)."""
"""timeLimitExceeded, busy, unavailable (unwillingToPerform is not: it is a refusal)."""

ACCOUNTDISABLE = 2
NORMAL_ACCOUNT = 512


class LdapError(ConnectorError):
    """A ``ConnectorError`` that remembers the LDAP result code (None: not a result)."""

    def __init__(self, source: str, message: str, *, retryable: bool, code: int | None) -> None:
        super().__init__(source, message, retryable=retryable)
        self.code = code


@dataclass(frozen=True)
class _Entry:
    dn: str
    values: dict[str, list[bytes]]
    """Attribute name (lower case) → raw values."""

    def strings(self, attribute: str) -> list[str]:
        return [v.decode("utf-8", "replace") for v in self.values.get(attribute.lower(), [])]

    def first(self, attribute: str) -> str | None:
        found = self.strings(attribute)
        return found[0] if found else None


@dataclass(frozen=True)
class _Disable:
    method: str
    """"none", "ou", "attribute" or "active_directory"."""
    ou: str = ""
    attribute: str = ""
    value: str = ""
    enabled_value: str | None = None


class _VerifiedTls(ldap3.Tls):  # type: ignore[misc]
    """TLS for LDAPS and StartTLS, verified by the standard library: the server's
    certificate must chain to ``ca_file`` (or the system's CAs) and name the host.

    ldap3 checks host names itself, with ``ssl.match_hostname`` (deprecated, gone in
    Python 3.12) or a backport that refuses IP addresses; this does it the standard way.
    """

    def __init__(self, ca_file: str | None, hostname: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self.verified_ca_file = ca_file
        self.verified_hostname = hostname

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        context = ssl.create_default_context(cafile=self.verified_ca_file)
        connection.socket = context.wrap_socket(
            connection.socket,
            server_hostname=self.verified_hostname,
            do_handshake_on_connect=do_handshake,
        )


class LdapConnector(Connector):
    kind = "ldap"
    capabilities = Capabilities(page_size=500)

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        conn = source.connection
        unknown = sorted(set(conn) - KNOWN_KEYS)
        if unknown:
            raise self.error(
                f"unknown connection key(s) {', '.join(unknown)}; the ldap connector knows "
                f"{', '.join(sorted(KNOWN_KEYS - {'connector'}))}"
            )
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
        self.disable = self._disable_settings(conn.get("disable"))
        self.page_size = self._positive("page_size", 500, integer=True)
        self.connect_timeout = self._positive("connect_timeout", 10)
        self.timeout = self._positive("timeout", 30)
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
        self._conn: Any = None
        self._groups: dict[str, str] = {}
        """Group name → DN, filled as groups are looked up."""
        self._member_values: dict[str, str] = {}
        """external id → what groups hold for it (DN or uid), as last read in this session."""
        self._looked_up: dict[tuple[str, str], list[_Entry]] = {}
        """(correlation attribute, casefolded value) → accounts found by ``prepare_creates``."""

    # ------------------------------------------------------------------ settings

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

    # ------------------------------------------------------------------ transport

    def _connect(self) -> Any:
        if self._conn is not None:
            return self._conn
        password = resolve(
            self.source.connection.get("bind_password"),
            self.source_id,
            self.context.root,
            self.context.environ,
        )
        tls = None
        if self.use_ssl or self.start_tls:
            if self.ca_file is not None and not self.ca_file.is_file():
                raise self.error(f"ca_file {self.ca_file} does not exist")
            tls = _VerifiedTls(str(self.ca_file) if self.ca_file else None, self.host)
        server = ldap3.Server(
            self.host,
            port=self.port,
            use_ssl=self.use_ssl,
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=self.connect_timeout,
        )
        conn = ldap3.Connection(
            server,
            user=self.bind_dn,
            password=None if password is None else str(password),
            auto_bind=ldap3.AUTO_BIND_NONE,
            raise_exceptions=True,
            receive_timeout=self.timeout,
            auto_referrals=False,
            check_names=False,
            return_empty_attributes=False,
        )
        try:
            conn.open()
            if self.start_tls:
                conn.start_tls()
            conn.bind()
        except Exception as exc:
            error = self._classify(exc, f"connect to {self.url}")
            with suppress(Exception):  # closing a connection that never worked
                conn.unbind()
            with suppress(Exception):  # ldap3 leaves the socket of a failed connect open
                conn.socket.close()
            if error is exc:
                raise
            raise error from exc
        self._conn = conn
        return conn

    def _op(self, what: str, call: Callable[[Any], Any]) -> Any:
        conn = self._connect()
        try:
            return call(conn)
        except Exception as exc:
            error = self._classify(exc, what)
            if error is exc:
                raise  # not from LDAP: a bug, keep its traceback
            raise error from exc

    def _modify(self, dn: str, changes: Mapping[str, list[tuple[Any, list[str]]]]) -> None:
        self._op(f"modify {dn}", lambda conn: conn.modify(dn, dict(changes)))

    def _classify(self, exc: Exception, what: str) -> Exception:
        if isinstance(exc, lexc.LDAPOperationResult):
            code = int(exc.result) if exc.result is not None else None
            text = f"{what}: {exc.description or 'error'}"
            if code is not None:
                text += f" ({code})"
            if exc.message:
                text += f": {exc.message}"
            return LdapError(self.source_id, text, retryable=code in RETRYABLE_CODES, code=code)
        if isinstance(exc, lexc.LDAPCertificateError):
            text = _exception_text(exc)
            return LdapError(self.source_id, f"{what}: {text}", retryable=False, code=None)
        transport = (
            lexc.LDAPCommunicationError,
            lexc.LDAPResponseTimeoutError,
            lexc.LDAPStartTLSError,
            OSError,
        )
        if isinstance(exc, transport):
            self._drop()
            text = _exception_text(exc)
            certificate = "certificate" in text.lower()
            refused = isinstance(exc, lexc.LDAPStartTLSError) and "wrap socket" not in text
            return LdapError(
                self.source_id,
                f"{what}: {text}",
                retryable=not (certificate or refused),
                code=None,
            )
        if isinstance(exc, lexc.LDAPException):
            text = _exception_text(exc)
            return LdapError(self.source_id, f"{what}: {text}", retryable=False, code=None)
        return exc

    def _drop(self) -> None:
        """Forget a connection that failed: the next operation opens a new one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # it is already broken
                conn.unbind()

    def close(self) -> None:
        self._drop()

    def _search(
        self, base: str, scope: Any, search_filter: str, attributes: list[str]
    ) -> list[_Entry]:
        """Every entry of a lookup (one or a few entries): no paging control, whose
        encoding costs as much as the search itself; a result cut short by the server's
        size limit raises (sizeLimitExceeded), never passes for the whole."""
        what = f"search {base}"

        def run(conn: Any) -> list[Any]:
            conn.search(base, search_filter, scope, attributes=attributes)
            return list(conn.response or [])

        return self._entries(self._op(what, run), what)

    def _paged(
        self, base: str, scope: Any, search_filter: str, attributes: list[str]
    ) -> Iterator[list[_Entry]]:
        """One list of entries per page of a simple-paged-results search."""
        cookie: bytes | None = None
        what = f"search {base}"
        while True:

            def run(conn: Any, cookie: bytes | None = cookie) -> tuple[Any, Any]:
                conn.search(
                    base,
                    search_filter,
                    scope,
                    attributes=attributes,
                    paged_size=self.page_size,
                    paged_cookie=cookie,
                    paged_criticality=True,
                )
                return list(conn.response or []), dict(conn.result or {})

            response, result = self._op(what, run)
            yield self._entries(response, what)
            control = (result.get("controls") or {}).get(_PAGED_RESULTS) or {}
            cookie = (control.get("value") or {}).get("cookie")
            if not cookie:
                return

    def _entries(self, response: list[Any], what: str) -> list[_Entry]:
        entries = []
        for item in response:
            kind = item.get("type")
            if kind == "searchResRef":
                raise self.error(
                    f"{what}: the directory referred part of the search to "
                    f"{', '.join(item.get('uri') or [])}; referrals are not followed, "
                    "so the result would be incomplete"
                )
            if kind != "searchResEntry":
                continue
            raw = item.get("raw_attributes") or {}
            values: dict[str, list[bytes]] = {}
            for name, vals in raw.items():
                if ";range=" in name.lower():
                    raise self.error(
                        f"{what}: the directory returned {name} for {item['dn']}, only part "
                        "of the values (ranged retrieval is not supported); refusing a "
                        "partial read"
                    )
                values[name.lower()] = [
                    v if isinstance(v, bytes) else str(v).encode() for v in vals
                ]
            entries.append(_Entry(str(item["dn"]), values))
        return entries

    # ------------------------------------------------------------------ accounts

    def _bases(self) -> list[tuple[str, Any]]:
        """Where accounts are: users_dn, and the disabled OU unless users_dn covers it."""
        bases = [(self.users_dn, self.users_scope)]
        if self.disable.method == "ou":
            covered = self.users_scope == ldap3.SUBTREE and is_within(
                self.disable.ou, self.users_dn
            )
            if not covered and not same_dn(self.disable.ou, self.users_dn):
                bases.append((self.disable.ou, self.users_scope))
        return bases

    def _external_id(self, entry: _Entry) -> str | None:
        raw = entry.values.get(self.id_attribute.lower())
        if not raw:
            return None
        if self.id_attribute.lower() == "objectguid" and len(raw[0]) == 16:
            return str(uuid.UUID(bytes_le=raw[0]))
        return raw[0].decode("utf-8", "replace")

    def _id_filter(self, external_id: str) -> str | None:
        """The filter that finds ``external_id``; None when it cannot be an id here."""
        name = self.id_attribute.lower()
        if name in ("entryuuid", "objectguid"):
            if not _UUID.match(external_id):
                return None
            if name == "objectguid":
                escaped = "".join(f"\\{b:02x}" for b in uuid.UUID(external_id).bytes_le)
                return f"({self.id_attribute}={escaped})"
        return f"({self.id_attribute}={escape_filter_chars(external_id)})"

    def _find_by_id(self, external_id: str) -> _Entry | None:
        id_filter = self._id_filter(external_id)
        if id_filter is None:
            return None
        for base, scope in self._bases():
            found = self._search(
                base, scope, f"(&{self.account_filter}{id_filter})", self.read_attributes
            )
            if found:
                self._remember(found[0])
                return found[0]
        return None

    def _remember(self, entry: _Entry) -> None:
        """Keep the account's member value: a grant right after a create or a verify
        then needs no search to find the DN it adds to the group."""
        external_id = self._external_id(entry)
        member = self._member_value(entry)
        if external_id is not None and member:
            self._member_values[external_id] = member

    def _member_of_account(self, external_id: str) -> str:
        known = self._member_values.get(external_id)
        if known is not None:
            return known
        entry = self._require(external_id)
        member = self._member_value(entry)
        if not member:
            raise self.error(f"{entry.dn} has no {self.member_uid_attribute} to be a member by")
        return member

    def _require(self, external_id: str) -> _Entry:
        entry = self._find_by_id(external_id)
        if entry is None:
            raise self.error(
                f"no account with {self.id_attribute} {external_id} under {self.users_dn}"
            )
        return entry

    def _enabled(self, entry: _Entry) -> bool:
        method = self.disable.method
        if method == "ou":
            return not is_within(entry.dn, self.disable.ou)
        if method == "attribute":
            wanted = self.disable.value.casefold()
            return all(v.casefold() != wanted for v in entry.strings(self.disable.attribute))
        if method == "active_directory":
            flags = entry.first(self.disable.attribute)
            return not (flags and flags.lstrip("-").isdigit() and int(flags) & ACCOUNTDISABLE)
        return True

    def _snapshot(self, entry: _Entry, grants: set[str]) -> SnapshotAccount:
        external_id = self._external_id(entry)
        if external_id is None:
            raise self.error(
                f"{entry.dn} has no {self.id_attribute}; it cannot be told apart across "
                "renames (is id_attribute right?)"
            )
        attributes: dict[str, Any] = {}
        for name in self.attributes:
            values = entry.strings(name)
            if not values:
                continue
            spec = self.schema.get(name)
            if spec is not None and spec.multi_valued:
                attributes[name] = sorted(
                    (_typed(v, spec) for v in values), key=lambda v: (str(type(v)), v)
                )
            else:
                attributes[name] = _typed(values[0], spec)
        identity = entry.first(self.identity_attribute) if self.identity_attribute else None
        return SnapshotAccount(
            external_id=external_id,
            identity=identity,
            enabled=self._enabled(entry),
            attributes=attributes,
            grants=sorted(grants),
        )

    def _member_value(self, entry: _Entry) -> str | None:
        """What a group holds for this account: its DN, or its uid for memberUid groups."""
        return entry.first(self.member_uid_attribute) if self.member_by_uid else entry.dn

    def _member_key(self, value: str) -> str:
        if self.member_by_uid:
            return value  # memberUid matches case-exactly (RFC 2307)
        try:
            return normalize_dn(value)
        except DnError:
            return value

    # ------------------------------------------------------------------ reading

    def check(self) -> None:
        self._op(
            f"search {self.users_dn}",
            lambda conn: conn.search(
                self.users_dn, "(objectClass=*)", ldap3.BASE, attributes=["1.1"]
            ),
        )

    def _memberships(self) -> dict[str, set[str]]:
        """Member key (normalised DN or uid) → names of the groups that hold it."""
        held: dict[str, set[str]] = {}
        if not self.groups_dn:
            return held
        for page in self._paged(
            self.groups_dn,
            ldap3.SUBTREE,
            f"(objectClass={self.group_class})",
            [self.group_name, self.member_attribute],
        ):
            for group in page:
                name = group.first(self.group_name)
                if not name:
                    continue
                self._groups[name] = group.dn
                for member in group.strings(self.member_attribute):
                    held.setdefault(self._member_key(member), set()).add(name)
        return held

    def read(self) -> Iterator[Page]:
        held = self._memberships()
        seen: set[str] = set()
        yielded = False
        for base, scope in self._bases():
            for entries in self._paged(base, scope, self.account_filter, self.read_attributes):
                accounts = []
                for entry in entries:
                    member = self._member_value(entry)
                    grants = held.get(self._member_key(member), set()) if member else set()
                    account = self._snapshot(entry, grants)
                    if account.external_id not in seen:
                        seen.add(account.external_id)
                        accounts.append(account)
                if accounts:
                    yielded = True
                    yield Page(accounts)
        if not yielded:
            yield Page([])

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        entry = self._find_by_id(external_id)
        if entry is None:
            return None
        return self._snapshot(entry, set(self._groups_of(entry)))

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        """One search per ``FILTER_CHUNK`` accounts (an OR of their ids) per base; grants,
        when asked for, from the accounts' ``member_of_attribute`` when it is set, else one
        group search per account (not one per grant)."""
        filters = {i: f for i in dict.fromkeys(external_ids) if (f := self._id_filter(i))}
        ids = list(filters)
        attributes = self.read_attributes
        if entitlements and self.member_of:
            attributes = [*attributes, self.member_of]
        entries: dict[str, _Entry] = {}
        for start in range(0, len(ids), FILTER_CHUNK):
            any_of = "".join(filters[i] for i in ids[start : start + FILTER_CHUNK])
            for base, scope in self._bases():
                for entry in self._search(
                    base, scope, f"(&{self.account_filter}(|{any_of}))", attributes
                ):
                    external_id = self._external_id(entry)
                    if external_id in filters and external_id not in entries:
                        entries[external_id] = entry
                        self._remember(entry)
        groups = {}  # normalised group DN → entitlement, for member_of_attribute
        if entitlements and self.member_of:
            for name in entitlements:
                if (dn := self._group_dn(name)) is not None:
                    groups[normalize_dn(dn)] = name
        return {
            external_id: self._snapshot(entry, self._grants_among(entry, entitlements, groups))
            for external_id, entry in entries.items()
        }

    def _grants_among(
        self, entry: _Entry, entitlements: Collection[str], groups: Mapping[str, str]
    ) -> set[str]:
        if not entitlements:
            return set()
        if not self.member_of:
            return set(self._groups_of(entry))
        held = set()
        for value in entry.strings(self.member_of):
            with suppress(DnError):  # not a DN: not one of our groups
                if (name := groups.get(normalize_dn(value))) is not None:
                    held.add(name)
        return held

    def _groups_of(self, entry: _Entry) -> dict[str, str]:
        """The groups that hold the account: name → DN."""
        member = self._member_value(entry)
        if not self.groups_dn or not member:
            return {}
        found = self._search(
            self.groups_dn,
            ldap3.SUBTREE,
            f"(&(objectClass={self.group_class})"
            f"({self.member_attribute}={escape_filter_chars(member)}))",
            [self.group_name],
        )
        return {name: g.dn for g in found if (name := g.first(self.group_name))}

    # ------------------------------------------------------------------ orders

    def _correlation_attributes(self) -> list[str]:
        names = dict.fromkeys(
            a for a in [*self.source.account.correlation, self.rdn_attribute] if _ATTRIBUTE.match(a)
        )
        return list({a.lower(): a for a in reversed(names)}.values())[::-1]

    def prepare_creates(self, accounts: Sequence[Mapping[str, Any]]) -> None:
        """Look up every correlation value of a batch of new accounts in a few OR searches,
        so that each create's check for an existing account needs no search of its own."""
        self._looked_up.clear()
        for attr in self._correlation_attributes():
            values = sorted(
                {v[0] for a in accounts if len(v := _values(a.get(attr))) == 1}, key=str.casefold
            )
            for start in range(0, len(values), FILTER_CHUNK):
                chunk = values[start : start + FILTER_CHUNK]
                any_of = "".join(f"({attr}={escape_filter_chars(v)})" for v in chunk)
                found: dict[str, list[_Entry]] = {v.casefold(): [] for v in chunk}
                for base, scope in self._bases():
                    for entry in self._search(
                        base, scope, f"(&{self.account_filter}(|{any_of}))", self.read_attributes
                    ):
                        for value in {v.casefold() for v in entry.strings(attr)}:
                            if value in found:
                                found[value].append(entry)
                for value, entries in found.items():
                    self._looked_up[(attr.lower(), value)] = entries

    def _find(self, attributes: Mapping[str, Any]) -> _Entry | None:
        """The one account that correlates with ``attributes`` (correlation, then the RDN);
        from what ``prepare_creates`` looked up, when it did (once: a second create of the
        same value searches again)."""
        for attr in self._correlation_attributes():
            value = _values(attributes.get(attr))
            if len(value) != 1:
                continue
            found = self._looked_up.pop((attr.lower(), value[0].casefold()), None)
            if found is None:
                found = []
                for base, scope in self._bases():
                    found += self._search(
                        base,
                        scope,
                        f"(&{self.account_filter}({attr}={escape_filter_chars(value[0])}))",
                        self.read_attributes,
                    )
            if len(found) == 1:
                return found[0]
        return None

    def _entry_at(self, dn: str) -> _Entry | None:
        try:
            found = self._search(dn, ldap3.BASE, self.account_filter, self.read_attributes)
        except LdapError as exc:
            if exc.code == NO_SUCH_OBJECT:
                return None
            raise
        return found[0] if found else None

    def _adopted(self, entry: _Entry, identity: str) -> Created:
        external_id = self._external_id(entry)
        if external_id is None:
            raise self.error(f"{entry.dn} exists but has no {self.id_attribute} to adopt it by")
        owner = entry.first(self.identity_attribute) if self.identity_attribute else None
        if owner and owner != identity:
            raise self.error(
                f"{entry.dn} already exists and belongs to identity '{owner}' "
                f"({self.identity_attribute}); it is not adopted for '{identity}'"
            )
        return Created(external_id, adopted=True)

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        existing = self._find(attributes)
        if existing is not None:
            return self._adopted(existing, identity)
        name = _values(_get(attributes, self.rdn_attribute))
        if len(name) != 1:
            raise self.error(
                f"cannot name the new entry: {self.rdn_attribute} (the rdn_attribute) must "
                f"have one value, not {name!r}"
            )
        container = self.users_dn
        if not enabled and self.disable.method == "ou":
            container = self.disable.ou
        dn = f"{rdn_string(self.rdn_attribute, name[0])},{container}"
        values = {attr: _values(value) for attr, value in attributes.items()}
        entry = {attr: vals for attr, vals in values.items() if vals}
        if self.identity_attribute:
            entry[self.identity_attribute] = [identity]
        if self.disable.method == "attribute":
            if not enabled:
                entry[self.disable.attribute] = [self.disable.value]
            elif self.disable.enabled_value is not None:
                entry[self.disable.attribute] = [self.disable.enabled_value]
        elif self.disable.method == "active_directory":
            flags = _values(_get(attributes, self.disable.attribute))
            current = int(flags[0]) if flags and flags[0].isdigit() else NORMAL_ACCOUNT
            entry[self.disable.attribute] = [str(_with_flag(current, not enabled))]
        try:
            read = self._op(f"add {dn}", lambda conn: self._add(conn, dn, entry))
        except LdapError as exc:
            if exc.code != ENTRY_ALREADY_EXISTS:
                raise
            # created meanwhile, by a concurrent apply or by hand: adopt it if it is an account
            again = self._entry_at(dn) or self._find(attributes)
            if again is None:
                raise
            return self._adopted(again, identity)
        created = read or self._entry_at(dn)
        external_id = self._external_id(created) if created else None
        if external_id is None:
            raise self.error(f"added {dn}, but cannot read back its {self.id_attribute}")
        self._remember(created)  # type: ignore[arg-type]  # read back just above
        return Created(external_id)

    def _add(self, conn: Any, dn: str, entry: dict[str, list[str]]) -> _Entry | None:
        """Add the entry and, when the server honours the RFC 4527 post-read control, have
        it return the new entry's id in the same round trip; None otherwise."""
        binary_id = self.id_attribute.lower() == "objectguid"
        controls = None if binary_id else [post_read_control(self.read_attributes, False)]
        conn.add(dn, self.object_classes, entry, controls=controls)
        control = ((conn.result or {}).get("controls") or {}).get(_POST_READ) or {}
        attributes = (control.get("value") or {}).get("result")
        if not attributes:
            return None
        values = {
            name.lower(): [v if isinstance(v, bytes) else str(v).encode() for v in vals]
            for name, vals in attributes.items()
        }
        return _Entry(dn, values)

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        try:
            self._update_account(external_id, attributes)
        finally:
            self._member_values.pop(external_id, None)  # it may have moved

    def _update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        entry = self._require(external_id)
        before = self._member_value(entry)
        dn = entry.dn
        changes: dict[str, list[tuple[Any, list[str]]]] = {}
        new_uid: str | None = None
        for attr, value in attributes.items():
            vals = _values(value)
            if attr.lower() == self.member_uid_attribute.lower():
                new_uid = vals[0] if vals else None
            if attr.lower() == self.rdn_attribute.lower():
                if len(vals) != 1:
                    raise self.error(
                        f"{self.rdn_attribute} names the entry {dn}; it needs one value, "
                        f"not {vals!r}"
                    )
                if rdn_value(dn, self.rdn_attribute) != vals[0]:
                    dn = self._move(dn, rdn_string(self.rdn_attribute, vals[0]), None)
                continue
            changes[attr] = [(ldap3.MODIFY_REPLACE, vals)]
        if changes:
            self._modify(dn, changes)
        after = (new_uid or before) if self.member_by_uid else dn
        if before and after and before != after:
            self._repoint(before, after)

    def _move(self, dn: str, new_rdn: str, new_superior: str | None) -> str:
        """modrdn (rename and/or move); the entry keeps its entryUUID. Returns the new DN."""
        parent = new_superior or split_rdn(dn)[1]
        self._op(
            f"rename {dn} to {new_rdn},{parent}",
            lambda conn: conn.modify_dn(dn, new_rdn, delete_old_dn=True, new_superior=new_superior),
        )
        return f"{new_rdn},{parent}"

    def _repoint(self, old: str, new: str) -> None:
        """Groups that still hold the account's old DN (or uid) get the new one instead."""
        if not self.groups_dn or self._same_member(old, new):
            return  # e.g. a DN that changed case only: the server sees the same member
        stale = self._search(
            self.groups_dn,
            ldap3.SUBTREE,
            f"(&(objectClass={self.group_class})"
            f"({self.member_attribute}={escape_filter_chars(old)}))",
            [self.group_name, self.member_attribute],
        )
        for group in stale:
            # the values as the group holds them (DN case and spacing may differ)
            olds = [v for v in group.strings(self.member_attribute) if self._same_member(v, old)]
            holds_new = any(self._same_member(v, new) for v in group.strings(self.member_attribute))
            mods: list[tuple[Any, list[str]]] = []
            if not holds_new:
                mods.append((ldap3.MODIFY_ADD, [new]))
            if olds:
                mods.append((ldap3.MODIFY_DELETE, olds))
            if mods:
                self._modify(group.dn, {self.member_attribute: mods})

    def _same_member(self, a: str, b: str) -> bool:
        return self._member_key(a) == self._member_key(b)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        try:
            self._set_enabled(external_id, enabled)
        finally:
            self._member_values.pop(external_id, None)  # it may have moved

    def _set_enabled(self, external_id: str, enabled: bool) -> None:
        method = self.disable.method
        if method == "none":
            raise self.error(
                "this source cannot disable accounts: set connection.disable "
                "(method ou, attribute or active_directory)"
            )
        entry = self._require(external_id)
        if self._enabled(entry) == enabled:
            return
        dn = entry.dn
        if method == "ou":
            rdn = split_rdn(dn)[0]
            target = self.users_dn if enabled else self.disable.ou
            new_dn = self._move(dn, rdn, target)
            if not self.member_by_uid:
                self._repoint(dn, new_dn)
        elif method == "attribute":
            if enabled:
                values = [] if self.disable.enabled_value is None else [self.disable.enabled_value]
            else:
                values = [self.disable.value]
            change = {self.disable.attribute: [(ldap3.MODIFY_REPLACE, values)]}
            self._modify(dn, change)
        else:
            flags = entry.first(self.disable.attribute)
            if flags is None or not flags.lstrip("-").isdigit():
                mods = [(ldap3.MODIFY_REPLACE, [str(_with_flag(NORMAL_ACCOUNT, not enabled))])]
            else:
                # delete the value read + add the new one: fails if someone changed it since
                new = str(_with_flag(int(flags), not enabled))
                mods = [(ldap3.MODIFY_DELETE, [flags]), (ldap3.MODIFY_ADD, [new])]
            try:
                self._modify(dn, {self.disable.attribute: mods})
            except LdapError as exc:
                if exc.code == NO_SUCH_ATTRIBUTE:
                    raise self.error(
                        f"{exc.message} ({self.disable.attribute} changed while being "
                        "updated; try again)",
                        retryable=True,
                    ) from exc
                raise

    def delete_account(self, external_id: str) -> None:
        self._member_values.pop(external_id, None)  # it may move or go
        entry = self._find_by_id(external_id)
        if entry is None:
            return
        member = self._member_value(entry)
        if member:
            for group_dn in self._groups_of(entry).values():
                try:
                    self._remove_member(group_dn, member)
                except LdapError as exc:
                    if exc.code != NO_SUCH_OBJECT:  # the group went meanwhile: done
                        raise
        try:
            self._op(f"delete {entry.dn}", lambda conn: conn.delete(entry.dn))
        except LdapError as exc:
            if exc.code != NO_SUCH_OBJECT:
                raise

    # ------------------------------------------------------------------ grants

    def _group_dn(self, name: str) -> str | None:
        if name in self._groups:
            return self._groups[name]
        if not self.groups_dn:
            raise self.error("connection.groups_dn is missing; this source has no groups")
        found = self._search(
            self.groups_dn,
            ldap3.SUBTREE,
            f"(&(objectClass={self.group_class})({self.group_name}={escape_filter_chars(name)}))",
            [self.group_name],
        )
        if len(found) > 1:
            raise self.error(
                f"{len(found)} groups under {self.groups_dn} are called {name}: "
                f"{'; '.join(g.dn for g in found)}"
            )
        if not found:
            return None
        self._groups[name] = found[0].dn
        return found[0].dn

    def _on_group(self, entitlement: str, action: Callable[[str], None]) -> bool:
        """Run ``action`` on the group's DN; False when there is no such group.

        Group DNs are remembered; one that has moved or gone since is looked up again,
        so a stale DN never turns a revoke into a silent no-op.
        """
        for attempt in (1, 2):
            group = self._group_dn(entitlement)
            if group is None:
                return False
            try:
                action(group)
                return True
            except LdapError as exc:
                if exc.code != NO_SUCH_OBJECT or attempt == 2:
                    raise
                self._groups.pop(entitlement, None)
        return False  # pragma: no cover - the loop returns or raises

    def grant(self, external_id: str, entitlement: str) -> None:
        member = self._member_of_account(external_id)
        change = {self.member_attribute: [(ldap3.MODIFY_ADD, [member])]}

        def add(group: str) -> None:
            try:
                self._modify(group, change)
            except LdapError as exc:
                if exc.code != ATTRIBUTE_OR_VALUE_EXISTS:  # already a member: done
                    raise

        if not self._on_group(entitlement, add):
            raise self.error(
                f"no {self.group_class} with {self.group_name}={entitlement} under {self.groups_dn}"
            )

    def revoke(self, external_id: str, entitlement: str) -> None:
        entry = self._find_by_id(external_id)
        member = self._member_value(entry) if entry is not None else None
        if member is None:
            return  # no account, no membership
        self._on_group(entitlement, lambda group: self._remove_member(group, member))

    def _remove_member(self, group: str, member: str) -> None:
        """Take ``member`` out of ``group``; not a member is done. A missing group raises
        (noSuchObject), for the caller to decide."""
        remove = {self.member_attribute: [(ldap3.MODIFY_DELETE, [member])]}
        try:
            self._modify(group, remove)
        except LdapError as exc:
            if exc.code == NO_SUCH_ATTRIBUTE:
                return  # not a member: done
            if exc.code != OBJECT_CLASS_VIOLATION or self.member_by_uid:
                raise
            if not self.empty_member:
                raise self.error(
                    f"{exc.message}; the group cannot lose its last member: set "
                    "connection.empty_group_member to a placeholder DN"
                ) from exc
            swap = {
                self.member_attribute: [
                    (ldap3.MODIFY_ADD, [self.empty_member]),
                    (ldap3.MODIFY_DELETE, [member]),
                ]
            }
            self._modify(group, swap)


# ---------------------------------------------------------------------- values


def _get(attributes: Mapping[str, Any], name: str) -> Any:
    for key, value in attributes.items():
        if key.lower() == name.lower():
            return value
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _values(value: Any) -> list[str]:
    """The LDAP values of an attribute value: empty (None, "", []) means no value."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple | set) else [value]
    return [_text(v) for v in items if v is not None and _text(v) != ""]


def _typed(value: str, spec: AttributeSpec | None) -> Any:
    kind = spec.type if spec is not None else "string"
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    return value


def _exception_text(exc: Exception) -> str:
    """ldap3's message, unwrapped: it nests messages as reprs of argument tuples."""
    text = str(exc)
    for _ in range(5):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            break
        if isinstance(parsed, tuple) and len(parsed) == 1:
            parsed = parsed[0]
        if not isinstance(parsed, str):
            break
        text = parsed
    return text.strip() or type(exc).__name__


def _with_flag(flags: int, disabled: bool) -> int:
    return flags | ACCOUNTDISABLE if disabled else flags & ~ACCOUNTDISABLE
