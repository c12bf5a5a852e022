"""Reading of the ``google_workspace`` connector: check, the whole tenant, one account.

``read`` takes grants first (each declared group's members, each declared licence's
users), then the users page by page, with a partial response (``fields=``) of only
what is managed; any failed page raises, never a partial view. ``get_account`` reads
one user, its declared groups and licences; ``get_accounts`` only the grants a batch is
about. Enabled is ``not suspended``; the
``super_admin`` entitlement is read from ``isAdmin``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext, Page
from accesshive.connectors.google_workspace._client import GoogleApiError
from accesshive.connectors.google_workspace._consistency import _Consistency
from accesshive.connectors.google_workspace._values import _get_path, _render_fields
from accesshive.state.snapshot import SnapshotAccount

MAX_MEMBERS_PAGE = 200
MAX_LICENSES_PAGE = 1000


class _Reading(_Consistency):
    """check, read, get_account, and the user and licence lookups the orders share."""

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self._emails: dict[str, str] = {}
        """external id → primaryEmail, as last read or created in this session: a grant
        (members.insert, licences) names the user by email, and a batch of grants
        after a create would otherwise look it up once per grant."""

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
        managed = self.managed_groups()
        for group in self._group_entitlements():
            try:
                for member_id in self._members(group):
                    by_id.setdefault(member_id, set()).add(group)
            except GoogleApiError as exc:
                if exc.status != 404 or group not in managed:
                    raise
                # a managed group not created yet: nobody holds it (read_groups says so)
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
        if user.get("primaryEmail"):
            self._emails[str(user["id"])] = str(user["primaryEmail"])
        return user

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        return self._read_account(external_id, None)

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        """One ``users.get`` per account, and its groups and licences only when the batch
        is about one of them: verifying a batch of creates reads no grants, a batch of
        group grants reads no licences (the Directory API has no read of many users by
        id; a filtered ``users.list`` would not see a user created seconds ago)."""
        about = set(entitlements)
        found = {}
        for external_id in dict.fromkeys(external_ids):
            account = self._read_account(external_id, about)
            if account is not None:
                found[external_id] = account
        return found

    def _read_account(self, external_id: str, about: set[str] | None) -> SnapshotAccount | None:
        """The account with its grants among ``about`` (None: all declared)."""
        user = self._get_user(external_id)
        if user is None:
            return None
        grants: set[str] = set()
        declared = {g.lower(): g for g in self._group_entitlements() if about is None or g in about}
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
            if (about is None or name in about) and self._has_license(product, sku, email):
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
