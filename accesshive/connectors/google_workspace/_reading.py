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

from accesshive.connectors.base import Page
from accesshive.connectors.google_workspace._client import GoogleApiError
from accesshive.connectors.google_workspace._consistency import Consistency
from accesshive.connectors.google_workspace._session import GwsSession
from accesshive.connectors.google_workspace._settings import GwsSettings
from accesshive.connectors.google_workspace._values import _get_path, _render_fields
from accesshive.state.snapshot import SnapshotAccount

MAX_MEMBERS_PAGE = 200
MAX_LICENSES_PAGE = 1000


class Reader:
    """check, read, get_account, and the user and licence lookups the orders share."""

    def __init__(
        self,
        settings: GwsSettings,
        session: GwsSession,
        consistency: Consistency,
    ) -> None:
        self.settings = settings
        self.session = session
        self.consistency = consistency
        self._emails: dict[str, str] = {}
        """external id → primaryEmail, as last read or created in this session: a grant
        (members.insert, licences) names the user by email, and a batch of grants
        after a create would otherwise look it up once per grant."""

    def known_email(self, external_id: str) -> str | None:
        """The user's primaryEmail, when this session has read or created it."""
        return self._emails.get(external_id)

    def remember_email(self, external_id: str, email: str) -> None:
        self._emails[external_id] = email

    def forget_email(self, external_id: str) -> None:
        """The user was renamed or deleted: ask again when it is needed."""
        self._emails.pop(external_id, None)

    def fields(self) -> str:
        """The User fields read (a partial response: ``fields=``)."""
        tree: dict[str, Any] = {"id": {}, "primaryEmail": {}, "suspended": {}}
        if self.settings.super_admin:
            tree["isAdmin"] = {}
        for path in self.settings.attribute_paths.values():
            node = tree
            for part in path.split("."):
                node = node.setdefault(part, {})
        return _render_fields(tree)

    def account(self, user: Mapping[str, Any], grants: set[str]) -> SnapshotAccount:
        attributes = {}
        for name, path in self.settings.attribute_paths.items():
            value = _get_path(user, path)
            if value is not None:
                attributes[name] = value
        if self.settings.super_admin and user.get("isAdmin"):
            grants = {*grants, self.settings.super_admin}
        return SnapshotAccount(
            external_id=str(user["id"]),
            enabled=not bool(user.get("suspended", False)),
            attributes=attributes,
            grants=sorted(grants),
        )

    def group_entitlements(self) -> list[str]:
        return sorted(
            name
            for name in self.settings.source.entitlements
            if name not in self.settings.licenses and name != self.settings.super_admin
        )

    def _user_list_params(self, max_results: int) -> dict[str, Any]:
        params: dict[str, Any] = {"maxResults": max_results, "orderBy": "email"}
        if self.settings.domain:
            params["domain"] = self.settings.domain
        else:
            params["customer"] = self.settings.customer
        if self.settings.query:
            params["query"] = self.settings.query
        return params

    def read(self) -> Iterator[Page]:
        """Grants first (each declared group's members, each declared licence's users),
        then the users page by page. Any failed page raises: never a partial view."""
        by_id: dict[str, set[str]] = {}
        managed = self.settings.managed
        for group in self.group_entitlements():
            try:
                for member_id in self._members(group):
                    by_id.setdefault(member_id, set()).add(group)
            except GoogleApiError as exc:
                if exc.status != 404 or group not in managed:
                    raise
                # a managed group not created yet: nobody holds it (read_groups says so)
        by_email: dict[str, set[str]] = {}
        for name, (product, sku) in sorted(self.settings.licenses.items()):
            for email in self._licensed(product, sku):
                by_email.setdefault(email, set()).add(name)
        params = {
            **self._user_list_params(self.settings.page_size),
            "fields": f"nextPageToken,users({self.fields()})",
        }
        for users in self.session.client.pages(
            self.session.dir("users"), "users.list", params, "users"
        ):
            accounts = []
            for user in users:
                if not isinstance(user, dict) or not user.get("id"):
                    raise self.settings.error("users.list returned a user without an id")
                email = str(user.get("primaryEmail", "")).lower()
                grants = by_id.get(str(user["id"]), set()) | by_email.get(email, set())
                accounts.append(self.account(user, grants))
            yield Page(accounts)

    def _members(self, group: str) -> Iterator[str]:
        params = {
            "maxResults": min(self.settings.page_size, MAX_MEMBERS_PAGE),
            "fields": "nextPageToken,members(id,type)",
        }
        url = self.session.dir("groups", group, "members")
        for members in self.session.client.pages(url, f"members.list {group}", params, "members"):
            for member in members:
                if isinstance(member, dict) and member.get("type", "USER") == "USER":
                    yield str(member.get("id"))

    def _licensed(self, product: str, sku: str) -> Iterator[str]:
        params = {
            "customerId": self._licensing_customer(),
            "maxResults": min(self.settings.page_size, MAX_LICENSES_PAGE),
            "fields": "nextPageToken,items(userId)",
        }
        url = self.session.lic(product, sku, "users")
        what = f"licenseAssignments.listForProductAndSku {product}/{sku}"
        for items in self.session.client.pages(url, what, params, "items"):
            for item in items:
                if isinstance(item, dict) and item.get("userId"):
                    yield str(item["userId"]).lower()

    def _licensing_customer(self) -> str:
        if self.settings.customer != "my_customer":
            return self.settings.customer
        if self.settings.domain:
            return self.settings.domain
        raise self.settings.error(
            "licences need connection.customer_id (the C0... id) or connection.domain: "
            "the licensing API does not accept my_customer"
        )

    def check(self) -> None:
        params = {**self._user_list_params(1), "fields": "nextPageToken,users(id)"}
        self.session.client.call("GET", self.session.dir("users"), "users.list", params=params)

    def get_user(self, key: str, fields: str | None = None) -> dict[str, Any] | None:
        try:
            user = self.consistency.patiently(
                key,
                lambda: self.session.client.call(
                    "GET",
                    self.session.dir("users", key),
                    f"users.get {key}",
                    params={"fields": fields or self.fields()},
                ),
            )
        except GoogleApiError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(user, dict) or not user.get("id"):
            raise self.settings.error(f"users.get {key}: the response holds no user")
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
        user = self.get_user(external_id)
        if user is None:
            return None
        grants: set[str] = set()
        declared = {g.lower(): g for g in self.group_entitlements() if about is None or g in about}
        if declared:
            params = {
                "userKey": str(user["id"]),
                "maxResults": MAX_MEMBERS_PAGE,
                "fields": "nextPageToken,groups(email,aliases)",
            }
            for groups in self.session.client.pages(
                self.session.dir("groups"), "groups.list", params, "groups"
            ):
                for group in groups:
                    for address in [group.get("email"), *(group.get("aliases") or [])]:
                        if address and str(address).lower() in declared:
                            grants.add(declared[str(address).lower()])
        email = str(user.get("primaryEmail", ""))
        for name, (product, sku) in sorted(self.settings.licenses.items()):
            if (about is None or name in about) and self.has_license(product, sku, email):
                grants.add(name)
        return self.account(user, grants)

    def has_license(self, product: str, sku: str, email: str) -> bool:
        try:
            self.session.client.call(
                "GET",
                self.session.lic(product, sku, "user", email),
                f"licenseAssignments.get {product}/{sku}",
                params={"fields": "userId,skuId"},
            )
        except GoogleApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True
