"""The ``google_workspace`` connector: users, group memberships, licences and super-admin
status in a Google Workspace tenant, through the Admin SDK Directory API v1 (and the
Enterprise License Manager API for licences).

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

Accounts are users; the external id is the user's immutable ``id``. Account attributes
are flat names mapped to User fields: ``primaryEmail``, ``orgUnitPath``,
``givenName`` (``name.givenName``), ``familyName`` (``name.familyName``); any other
name is taken as a (dotted) field path, e.g. ``name.givenName`` or
``includeInGlobalAddressList``. Enabled is ``not suspended``. A ``password`` in
``create_account``/``update_account`` attributes is sent, never read back and never put
in a message; users.insert requires one, so a random one is set when none is given
(people then sign in through SSO or get a reset). The account's identity is not
stored in Google: accounts are linked by correlation (``primaryEmail``), and a
users.insert answered 409 "duplicate" adopts the user holding that primaryEmail (never
one holding it as an alias). Right after this connector creates or changes a user, a 404
for it is retried for up to ``consistency_seconds`` (Google is eventually consistent).

Entitlements are group emails (grant = members.insert, "Member already exists" is
done; revoke = members.delete, 404 is done), licences named in ``licenses`` (a grant
reassigns the user's other declared SKU of the same product: Google allows one per
product) and the ``super_admin`` entitlement (users.makeAdmin, read from ``isAdmin``).
"""

from __future__ import annotations

import datetime as dt
import secrets as random_secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from accesshive.config.model import Source
from accesshive.connectors.base import Capabilities, Connector, ConnectorContext, Created, Page
from accesshive.connectors.google_workspace_client import (
    SCOPE_GROUP,
    SCOPE_GROUP_MEMBER,
    SCOPE_LICENSING,
    SCOPE_USER,
    Auth,
    GoogleApiError,
    GoogleClient,
    ServiceAccount,
    StaticToken,
)
from accesshive.connectors.references import resolve
from accesshive.state.snapshot import SnapshotAccount

DEFAULT_BASE_URL = "https://admin.googleapis.com"
DEFAULT_LICENSING_URL = "https://licensing.googleapis.com"
DIRECTORY = "/admin/directory/v1"
LICENSING = "/apps/licensing/v1"

DEFAULT_ATTRIBUTE_MAP = {
    "givenName": "name.givenName",
    "familyName": "name.familyName",
    "fullName": "name.fullName",
}
WRITE_ONLY = frozenset({"password"})
"""Attributes sent on create/update but never returned by the API."""
MEMBER_ROLES = frozenset({"MEMBER", "MANAGER", "OWNER"})
MAX_MEMBERS_PAGE = 200
MAX_LICENSES_PAGE = 1000


class GoogleWorkspaceConnector(Connector):
    kind = "google_workspace"
    capabilities = Capabilities(page_size=500)

    _touched: ClassVar[dict[tuple[str, str], float]] = {}
    """(source, user id) → when a connector last created or changed that user (monotonic);
    shared by every instance, since apply may verify on another pooled connector."""
    _touched_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
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
        self._client: GoogleClient | None = None

    # ------------------------------------------------------------------ settings

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

    def _path_of(self, attribute: str) -> str:
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

    # ------------------------------------------------------------------ transport

    @property
    def client(self) -> GoogleClient:
        if self._client is None:
            self._client = GoogleClient(
                self.source_id,
                self._auth(),
                timeout=self.timeout,
                read_retries=self.read_retries,
                read_retry_delay=self.read_retry_delay,
            )
        return self._client

    def _auth(self) -> Auth:
        conn = self.source.connection
        root, env = self.context.root, self.context.environ
        if conn.get("token") and conn.get("credentials"):
            raise self.error("set connection.credentials or connection.token, not both")
        if conn.get("token"):
            token = resolve(conn["token"], self.source_id, root, env)
            if not isinstance(token, str) or not token.strip():
                raise self.error("connection.token resolved to an empty value")
            return StaticToken(token.strip())
        if not conn.get("credentials"):
            raise self.error(
                "connection.credentials is not set (a service account JSON key, e.g. "
                "${file:/etc/gws-sa.json}), nor connection.token"
            )
        subject = conn.get("subject")
        if not subject:
            raise self.error(
                "connection.subject is not set: the admin the service account acts as "
                "(domain-wide delegation needs one)"
            )
        key = resolve(conn["credentials"], self.source_id, root, env)
        token_uri = str(conn["token_uri"]) if conn.get("token_uri") else None
        return ServiceAccount(self.source_id, str(key), str(subject), self.scopes, token_uri)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _dir(self, *parts: str) -> str:
        return self.base_url + DIRECTORY + "".join("/" + quote(p, safe="@") for p in parts)

    def _lic(self, product: str, sku: str, *rest: str) -> str:
        parts = ["product", product, "sku", sku, *rest]
        return self.licensing_url + LICENSING + "".join("/" + quote(p, safe="@") for p in parts)

    # ------------------------------------------------------------------ eventual consistency

    def _touch(self, external_id: str) -> None:
        now = time.monotonic()
        with self._touched_lock:
            stale = [k for k, t in self._touched.items() if now - t > self.consistency_seconds]
            for k in stale:
                del self._touched[k]
            self._touched[(self.source_id, external_id)] = now

    def _forget(self, external_id: str) -> None:
        with self._touched_lock:
            self._touched.pop((self.source_id, external_id), None)

    def _settle_deadline(self, external_id: str) -> float | None:
        """Until when a 404 for this user may be the API catching up with our own change."""
        with self._touched_lock:
            touched = self._touched.get((self.source_id, external_id))
        if touched is None:
            return None
        deadline = touched + self.consistency_seconds
        return deadline if deadline > time.monotonic() else None

    def _patiently(
        self, external_id: str, call: Callable[[], Any], about_user: Callable[[str], bool] = bool
    ) -> Any:
        """``call()``; a 404 right after we created or changed the user is retried until
        ``consistency_seconds`` have passed since that change, then raised.
        ``about_user(message)`` tells a 404 for the user from one for something else."""
        deadline: float | None = None
        pause = 0.1
        while True:
            try:
                return call()
            except GoogleApiError as exc:
                if exc.status != 404 or not about_user(exc.message):
                    raise
                if deadline is None:
                    deadline = self._settle_deadline(external_id)
                if deadline is None or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)

    # ------------------------------------------------------------------ reading

    def _fields(self) -> str:
        """The User fields read (a partial response: ``fields=``)."""
        tree: dict[str, Any] = {"id": {}, "primaryEmail": {}, "suspended": {}}
        if self.super_admin:
            tree["isAdmin"] = {}
        for path in self.attribute_paths.values():
            node = tree
            for part in path.split("."):
                node = node.setdefault(part, {})
        return _render_fields(tree)

    def _account(self, user: Mapping[str, Any], grants: set[str]) -> SnapshotAccount:
        attributes = {}
        for name, path in self.attribute_paths.items():
            value = _get_path(user, path)
            if value is not None:
                attributes[name] = value
        if self.super_admin and user.get("isAdmin"):
            grants = {*grants, self.super_admin}
        return SnapshotAccount(
            external_id=str(user["id"]),
            enabled=not bool(user.get("suspended", False)),
            attributes=attributes,
            grants=sorted(grants),
        )

    def _group_entitlements(self) -> list[str]:
        return sorted(
            name
            for name in self.source.entitlements
            if name not in self.licenses and name != self.super_admin
        )

    def _user_list_params(self, max_results: int) -> dict[str, Any]:
        params: dict[str, Any] = {"maxResults": max_results, "orderBy": "email"}
        if self.domain:
            params["domain"] = self.domain
        else:
            params["customer"] = self.customer
        if self.query:
            params["query"] = self.query
        return params

    def read(self) -> Iterator[Page]:
        """Grants first (each declared group's members, each declared licence's users),
        then the users page by page. Any failed page raises: never a partial view."""
        by_id: dict[str, set[str]] = {}
        for group in self._group_entitlements():
            for member_id in self._members(group):
                by_id.setdefault(member_id, set()).add(group)
        by_email: dict[str, set[str]] = {}
        for name, (product, sku) in sorted(self.licenses.items()):
            for email in self._licensed(product, sku):
                by_email.setdefault(email, set()).add(name)
        params = {
            **self._user_list_params(self.page_size),
            "fields": f"nextPageToken,users({self._fields()})",
        }
        for users in self.client.pages(self._dir("users"), "users.list", params, "users"):
            accounts = []
            for user in users:
                if not isinstance(user, dict) or not user.get("id"):
                    raise self.error("users.list returned a user without an id")
                email = str(user.get("primaryEmail", "")).lower()
                grants = by_id.get(str(user["id"]), set()) | by_email.get(email, set())
                accounts.append(self._account(user, grants))
            yield Page(accounts)

    def _members(self, group: str) -> Iterator[str]:
        params = {
            "maxResults": min(self.page_size, MAX_MEMBERS_PAGE),
            "fields": "nextPageToken,members(id,type)",
        }
        url = self._dir("groups", group, "members")
        for members in self.client.pages(url, f"members.list {group}", params, "members"):
            for member in members:
                if isinstance(member, dict) and member.get("type", "USER") == "USER":
                    yield str(member.get("id"))

    def _licensed(self, product: str, sku: str) -> Iterator[str]:
        params = {
            "customerId": self._licensing_customer(),
            "maxResults": min(self.page_size, MAX_LICENSES_PAGE),
            "fields": "nextPageToken,items(userId)",
        }
        url = self._lic(product, sku, "users")
        what = f"licenseAssignments.listForProductAndSku {product}/{sku}"
        for items in self.client.pages(url, what, params, "items"):
            for item in items:
                if isinstance(item, dict) and item.get("userId"):
                    yield str(item["userId"]).lower()

    def _licensing_customer(self) -> str:
        if self.customer != "my_customer":
            return self.customer
        if self.domain:
            return self.domain
        raise self.error(
            "licences need connection.customer_id (the C0... id) or connection.domain: "
            "the licensing API does not accept my_customer"
        )

    def check(self) -> None:
        params = {**self._user_list_params(1), "fields": "nextPageToken,users(id)"}
        self.client.call("GET", self._dir("users"), "users.list", params=params)

    def _get_user(self, key: str, fields: str | None = None) -> dict[str, Any] | None:
        try:
            user = self._patiently(
                key,
                lambda: self.client.call(
                    "GET",
                    self._dir("users", key),
                    f"users.get {key}",
                    params={"fields": fields or self._fields()},
                ),
            )
        except GoogleApiError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(user, dict) or not user.get("id"):
            raise self.error(f"users.get {key}: the response holds no user")
        return user

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        user = self._get_user(external_id)
        if user is None:
            return None
        grants: set[str] = set()
        declared = {g.lower(): g for g in self._group_entitlements()}
        if declared:
            params = {
                "userKey": str(user["id"]),
                "maxResults": MAX_MEMBERS_PAGE,
                "fields": "nextPageToken,groups(email,aliases)",
            }
            for groups in self.client.pages(self._dir("groups"), "groups.list", params, "groups"):
                for group in groups:
                    for address in [group.get("email"), *(group.get("aliases") or [])]:
                        if address and str(address).lower() in declared:
                            grants.add(declared[str(address).lower()])
        email = str(user.get("primaryEmail", ""))
        for name, (product, sku) in sorted(self.licenses.items()):
            if self._has_license(product, sku, email):
                grants.add(name)
        return self._account(user, grants)

    def _has_license(self, product: str, sku: str, email: str) -> bool:
        try:
            self.client.call(
                "GET",
                self._lic(product, sku, "user", email),
                f"licenseAssignments.get {product}/{sku}",
                params={"fields": "userId,skuId"},
            )
        except GoogleApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ------------------------------------------------------------------ users

    def _body(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in attributes.items():
            if name in WRITE_ONLY:
                body[name] = str(value)
                continue
            _set_path(body, self._path_of(name), _json_value(value))
        return body

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        body = self._body(attributes)
        email = str(body.get("primaryEmail") or "")
        if not email:
            raise self.error("create_account: primaryEmail is required to create a user")
        if not body.get("password"):
            body["password"] = random_secrets.token_urlsafe(24)
        body["suspended"] = not enabled
        password = str(body["password"])
        try:
            user = self.client.call(
                "POST",
                self._dir("users"),
                f"users.insert {email}",
                params={"fields": "id,primaryEmail"},
                body=body,
                secrets=(password,),
            )
        except GoogleApiError as exc:
            if exc.status == 409:  # duplicate: the user exists already: adopt it
                return Created(self._adopt(email, exc), adopted=True)
            raise
        if not isinstance(user, dict) or not user.get("id"):
            raise self.error(f"users.insert {email}: the response holds no user id")
        external_id = str(user["id"])
        self._touch(external_id)
        return Created(external_id)

    def _adopt(self, email: str, conflict: GoogleApiError) -> str:
        """The id of the existing user whose primaryEmail is ``email``."""
        deadline = time.monotonic() + self.consistency_seconds
        while True:
            found = self._get_user_by_email(email)
            if found is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.5)  # 409 but not visible yet: a user created moments ago
        if found is None:
            raise self.error(
                f"users.insert {email}: {conflict.message.split(': ', 1)[-1]}, but no user has "
                "that address (a group or a deleted user may hold it)"
            )
        if str(found.get("primaryEmail", "")).lower() != email.lower():
            raise self.error(
                f"users.insert {email}: the address is an alias of {found.get('primaryEmail')} "
                f"(user {found.get('id')}); not adopted"
            )
        return str(found["id"])

    def _get_user_by_email(self, email: str) -> dict[str, Any] | None:
        try:
            user = self.client.call(
                "GET",
                self._dir("users", email),
                f"users.get {email}",
                params={"fields": "id,primaryEmail"},
            )
        except GoogleApiError as exc:
            if exc.status == 404:
                return None
            raise
        return user if isinstance(user, dict) and user.get("id") else None

    def _patch(self, external_id: str, body: dict[str, Any], what: str) -> None:
        hidden = (str(body["password"]),) if body.get("password") else ()
        self._patiently(
            external_id,
            lambda: self.client.call(
                "PATCH",
                self._dir("users", external_id),
                f"{what} {external_id}",
                params={"fields": "id"},
                body=body,
                secrets=hidden,
            ),
        )
        self._touch(external_id)

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        if not attributes:
            return
        self._patch(external_id, self._body(attributes), "users.patch")

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        self._patch(external_id, {"suspended": not enabled}, "users.patch (suspended)")

    def delete_account(self, external_id: str) -> None:
        try:  # a user we created moments ago may 404 here too: wait, or it would stay
            self._patiently(
                external_id,
                lambda: self.client.call(
                    "DELETE", self._dir("users", external_id), f"users.delete {external_id}"
                ),
            )
        except GoogleApiError as exc:
            if exc.status != 404:  # already gone: done
                raise
        self._forget(external_id)

    # ------------------------------------------------------------------ grants

    def _email_of(self, external_id: str) -> str:
        user = self._get_user(external_id, "id,primaryEmail")
        if user is None:
            raise GoogleApiError(
                self.source_id, f"users.get {external_id}: no such user", status=404
            )
        return str(user["primaryEmail"])

    def grant(self, external_id: str, entitlement: str) -> None:
        if entitlement == self.super_admin:
            self._make_admin(external_id, True)
        elif entitlement in self.licenses:
            self._assign_license(external_id, entitlement)
        else:
            self._add_member(external_id, self._group(entitlement))

    def revoke(self, external_id: str, entitlement: str) -> None:
        try:
            if entitlement == self.super_admin:
                self._make_admin(external_id, False)
            elif entitlement in self.licenses:
                product, sku = self.licenses[entitlement]
                email = self._email_of(external_id)
                self.client.call(
                    "DELETE",
                    self._lic(product, sku, "user", email),
                    f"licenseAssignments.delete {product}/{sku} {email}",
                )
            else:
                group = self._group(entitlement)
                self.client.call(
                    "DELETE",
                    self._dir("groups", group, "members", external_id),
                    f"members.delete {group} {external_id}",
                )
        except GoogleApiError as exc:
            if exc.status != 404:  # not a member / no such user / no licence: done
                raise

    def _group(self, entitlement: str) -> str:
        if "@" not in entitlement:
            raise self.error(
                f"entitlement '{entitlement}' is not a group email; name licences under "
                "connection.licenses and the super admin role as connection.super_admin"
            )
        return entitlement

    def _add_member(self, external_id: str, group: str) -> None:
        email = self._email_of(external_id)
        try:
            self._patiently(
                external_id,
                lambda: self.client.call(
                    "POST",
                    self._dir("groups", group, "members"),
                    f"members.insert {group} {email}",
                    params={"fields": "id"},
                    body={"email": email, "role": self.member_role},
                ),
                about_user=lambda message: "groupKey" not in message,
            )
        except GoogleApiError as exc:
            if exc.status == 409 and (
                exc.reason == "duplicate" or "already exists" in exc.message.lower()
            ):
                return  # Member already exists: done
            raise

    def _make_admin(self, external_id: str, status: bool) -> None:
        self._patiently(
            external_id,
            lambda: self.client.call(
                "POST",
                self._dir("users", external_id, "makeAdmin"),
                f"users.makeAdmin {external_id} status={str(status).lower()}",
                body={"status": status},
            ),
        )

    def _assign_license(self, external_id: str, entitlement: str) -> None:
        product, sku = self.licenses[entitlement]
        email = self._email_of(external_id)
        what = f"licenseAssignments.insert {product}/{sku} {email}"
        try:
            self._patiently(
                external_id,
                lambda: self.client.call(
                    "POST", self._lic(product, sku, "user"), what, body={"userId": email}
                ),
            )
            return
        except GoogleApiError as exc:
            if exc.retryable or exc.status in (401, 404):
                raise
            refused = exc
        # the user may hold this SKU already (done), or another SKU of the product:
        # Google allows one per product, so reassign it
        if self._has_license(product, sku, email):
            return
        for other_product, other_sku in sorted(set(self.licenses.values())):
            if other_product != product or other_sku == sku:
                continue
            if self._has_license(product, other_sku, email):
                self.client.call(
                    "PATCH",
                    self._lic(product, other_sku, "user", email),
                    f"licenseAssignments.patch {product}/{other_sku} -> {sku} {email}",
                    body={"skuId": sku},
                )
                return
        raise refused


# ---------------------------------------------------------------------------- helpers


def _render_fields(tree: Mapping[str, Any]) -> str:
    """{"id": {}, "name": {"givenName": {}}} → "id,name(givenName)"."""
    parts = []
    for key, sub in sorted(tree.items()):
        parts.append(f"{key}({_render_fields(sub)})" if sub else key)
    return ",".join(parts)


def _get_path(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value
