"""Reading of the ``scim`` connector: check, the whole source, one account or a batch.

``check`` probes the service afresh, checks the mapped attributes against ``/Schemas``
and the entitlements against the Groups, then reads one user (credentials). ``read``
takes every Group's members once, then pages through the Users with ``attributes=``
(only what is managed). ``get_accounts`` (verify after a batch of orders) fetches users
by an ``id eq … or …`` filter, ``FILTER_CHUNK`` at a time, and grants from one GET per
Group the batch is about.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from scim2_models import Group, Resource, Schema

from accesshive.connectors.base import Page
from accesshive.connectors.scim._resources import Collaborator
from accesshive.connectors.scim._session import ScimError, filter_refused
from accesshive.connectors.scim._values import _in_schemas, _quote
from accesshive.state.snapshot import SnapshotAccount

FILTER_CHUNK = 50
"""Users looked up by one ``id eq … or …`` filter (it travels in the URL)."""


class Reader(Collaborator):
    """check, read, get_account, get_accounts."""

    def check(self) -> None:
        self.probe.forget()
        svc = self.probe.service()
        scim = self.session.client()
        schemas = self.session.optional("GET /Schemas", lambda: scim.query(Schema))
        published = [s for s in getattr(schemas, "resources", None) or [] if isinstance(s, Schema)]
        if published:
            missing = [
                f"{a.key} ({a.path})"
                for a in self.settings.attrs.values()
                if a.kind != "secret" and not _in_schemas(published, a.path)
            ]
            if self.settings.identity_path and not _in_schemas(
                published, self.settings.identity_path
            ):
                missing.append(f"identity_attribute ({self.settings.identity_path})")
            if missing:
                raise self.settings.error(
                    f"the target's /Schemas does not have: {', '.join(missing)}; map these "
                    "attributes elsewhere with connection.attributes"
                )
        self.paging.page(svc.users, 1, 1, ["userName"])
        # a managed group may not exist yet: accesshive creates it
        unmanaged = [e for e in self.settings.source.entitlements if e not in self.settings.managed]
        wanted = {self.settings.group_names.get(e, e): e for e in unmanaged}
        if wanted and svc.groups is None:
            raise self.settings.error(
                "the target publishes no Group resource type to grant entitlements"
            )
        if wanted:
            found = {str(g.display_name) for _, g in self.resources.groups(["displayName"])}
            absent = sorted(e for name, e in wanted.items() if name not in found)
            if absent:
                raise self.settings.error(
                    f"no Group on the target for entitlement(s) {', '.join(absent)} "
                    "(map them with connection.group_names)"
                )

    def _memberships(self) -> dict[str, set[str]]:
        """User id -> entitlements, from every Group's members."""
        held: dict[str, set[str]] = {}
        for entitlement, group in self.resources.groups(["displayName", "members"]):
            _add_users(held, group, entitlement)
        return held

    def read(self) -> Iterator[Page]:
        svc = self.probe.service()
        held = self._memberships()
        for users, total in self.paging.pages(svc.users, self.settings.user_attributes()):
            yield Page(
                [self.settings.snapshot(u, held.get(str(u.id), set())) for u in users], total
            )

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        svc = self.probe.service()
        try:
            user = self.resources.fetch(svc.users, external_id, self.settings.user_attributes())
        except ScimError as exc:
            if exc.status == 404:
                return None
            raise
        return self.settings.snapshot(user, self._grants_of(external_id))

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        """Users by an ``id eq … or …`` filter, ``FILTER_CHUNK`` at a time (one GET per user
        when the target refuses filters); grants from one GET per Group the batch is about,
        or one membership query per user when there are more groups than users."""
        users = self._users_by_id(list(dict.fromkeys(external_ids)))
        held = self.get_memberships(users, entitlements) if entitlements and users else {}
        return {
            uid: self.settings.snapshot(user, held.get(uid, set())) for uid, user in users.items()
        }

    def get_memberships(
        self, external_ids: Collection[str], entitlements: Collection[str]
    ) -> dict[str, set[str]]:
        """Which of ``entitlements`` each account holds, without reading the accounts: one
        GET per Group (its members), or one ``members.value`` query per account when there
        are more Groups than accounts. A Group's answer to our own PATCH is not used: a
        target that takes a member and drops it shows it only on a later read."""
        wanted = sorted(set(entitlements))
        ids = list(dict.fromkeys(external_ids))
        if not wanted or not ids:
            return {}
        if len(wanted) <= len(ids):
            return self._members_of(wanted)
        return {uid: self._grants_of(uid) for uid in ids}  # all it holds: more than asked

    def _users_by_id(self, ids: list[str]) -> dict[str, Resource[Any]]:
        svc = self.probe.service()
        found: dict[str, Resource[Any]] = {}
        if svc.filter and len(ids) > 1:
            try:
                for start in range(0, len(ids), FILTER_CHUNK):
                    chunk = set(ids[start : start + FILTER_CHUNK])
                    any_of = " or ".join(f"id eq {_quote(i)}" for i in sorted(chunk))
                    for users, _ in self.paging.pages(
                        svc.users, self.settings.user_attributes(), any_of
                    ):
                        found.update((str(u.id), u) for u in users if str(u.id) in chunk)
                return found
            except ScimError as exc:
                if not filter_refused(exc):
                    raise
        for user_id in ids:
            try:
                found[user_id] = self.resources.fetch(
                    svc.users, user_id, self.settings.user_attributes()
                )
            except ScimError as exc:
                if exc.status != 404:
                    raise
        return found

    def _members_of(self, entitlements: list[str]) -> dict[str, set[str]]:
        """User id → which of ``entitlements`` it holds, from one GET per Group."""
        held: dict[str, set[str]] = {}
        for entitlement in entitlements:
            for value, kind in self._group_members(entitlement) or ():
                if kind.lower() == "user":  # nested groups are not users
                    held.setdefault(value, set()).add(entitlement)
        return held

    def _group_members(self, entitlement: str) -> list[tuple[str, str]] | None:
        """The members of the entitlement's Group; None when there is none (a cached id
        that went stale is looked up again once)."""
        for refresh in (False, True):
            gid = self.resources.group_id(entitlement, refresh=refresh)
            if gid is None:
                return None
            try:
                return self.resources.members(gid)
            except ScimError as exc:
                if exc.status != 404:
                    raise
        return None

    def _grants_of(self, user_id: str) -> set[str]:
        svc = self.probe.service()
        if svc.groups is None:
            return set()
        if svc.filter and self.settings.quirks.member_filter is not False:
            try:
                return {
                    self.settings.entitlement(str(g.display_name))
                    for groups, _ in self.paging.pages(
                        svc.groups, ["displayName"], f"members.value eq {_quote(user_id)}"
                    )
                    for g in groups
                    if isinstance(g, Group) and g.display_name
                }
            except ScimError as exc:
                if not filter_refused(exc):
                    if exc.status == 400:
                        raise self.settings.error(
                            f"{exc.message} (if the target cannot filter Groups by "
                            "members.value, set connection.quirks.member_filter: false)",
                            retryable=exc.retryable,
                        ) from exc
                    raise
        return self._memberships().get(user_id, set())


def _add_users(held: dict[str, set[str]], group: Group, entitlement: str) -> None:
    """Record ``entitlement`` for each user member of ``group`` (nested groups are not users)."""
    for member in group.members or []:
        if member.value and (member.type or "User").lower() == "user":
            held.setdefault(member.value, set()).add(entitlement)
