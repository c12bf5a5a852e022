"""Managed groups of the ``google_workspace`` connector: the groups of entitlements
declared ``managed: true``, created, renamed and deleted by accesshive through the
Directory API (``groups.insert``, ``groups.get``, ``groups.patch``, ``groups.delete``).

An entitlement is a group's email, and the email is the group's key: ``groups.get`` finds
the group by it, so a rename is a change of the group's ``name`` (and ``description``),
and a group that exists already is the group (adopted, never duplicated: an insert that
meets "Entity already exists" takes the existing one). A delete refuses a group that
still has members (``directMembersCount``): its revokes ran before it, so a member left
is one accesshive does not manage, and deleting the group would strip them silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accesshive.connectors.base import Created
from accesshive.connectors.google_workspace._client import GoogleApiError
from accesshive.connectors.google_workspace._grants import GrantOrders
from accesshive.connectors.google_workspace._session import GwsSession
from accesshive.connectors.google_workspace._settings import GwsSettings
from accesshive.state.snapshot import SnapshotGroup

_FIELDS = "id,email,name,description,directMembersCount"


class ManagedGroups:
    """read_groups, get_group, create_group, update_group, delete_group."""

    def __init__(self, settings: GwsSettings, session: GwsSession, grants: GrantOrders) -> None:
        self.settings = settings
        self.session = session
        self.grants = grants

    def read_groups(self) -> list[SnapshotGroup]:
        return [g for eid in self.settings.managed if (g := self.get_group(eid)) is not None]

    def get_group(self, entitlement: str) -> SnapshotGroup | None:
        group = self._get_group(entitlement)
        return _snapshot(entitlement, group) if group is not None else None

    def _get_group(self, key: str) -> dict[str, Any] | None:
        try:
            group = self.session.client.call(
                "GET",
                self.session.dir("groups", key),
                f"groups.get {key}",
                params={"fields": _FIELDS},
            )
        except GoogleApiError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(group, dict) or not group.get("id"):
            raise self.settings.error(f"groups.get {key}: the response holds no group")
        return group

    def create_group(self, entitlement: str, attributes: Mapping[str, Any]) -> Created:
        email = self.grants.group_email(entitlement)
        body = {"email": email, "name": str(attributes["name"])}
        if attributes.get("description") is not None:
            body["description"] = str(attributes["description"])
        try:
            created = self.session.client.call(
                "POST",
                self.session.dir("groups"),
                f"groups.insert {email}",
                params={"fields": _FIELDS},
                body=body,
            )
        except GoogleApiError as exc:
            if exc.status != 409:
                raise
            existing = self._get_group(email)  # "Entity already exists": adopt it
            if existing is None:
                raise self.settings.error(
                    f"{exc.message}: {email} is taken, but not by a group (a user or an "
                    "alias has it); choose another email for the group"
                ) from exc
            return Created(str(existing["id"]), adopted=True)
        if not isinstance(created, dict) or not created.get("id"):
            raise self.settings.error(f"groups.insert {email}: the response holds no group id")
        return Created(str(created["id"]))

    def update_group(
        self, external_id: str, entitlement: str, attributes: Mapping[str, Any]
    ) -> None:
        body = {k: attributes[k] for k in ("name", "description") if k in attributes}
        if not body:
            return  # the email is the key: nothing to write to adopt the group
        self.session.client.call(
            "PATCH",
            self.session.dir("groups", external_id),
            f"groups.patch {entitlement}",
            params={"fields": _FIELDS},
            body=body,
        )

    def delete_group(self, external_id: str, entitlement: str) -> None:
        group = self._get_group(external_id)
        if group is None:
            return  # already gone: done
        members = int(group.get("directMembersCount") or 0)
        if members:
            raise self.settings.error(
                f"group {entitlement} still has {members} member(s) that accesshive did not "
                "remove: it is not deleted; remove them in the Admin console, then apply again"
            )
        try:
            self.session.client.call(
                "DELETE", self.session.dir("groups", external_id), f"groups.delete {entitlement}"
            )
        except GoogleApiError as exc:
            if exc.status != 404:
                raise


def _snapshot(entitlement: str, group: Mapping[str, Any]) -> SnapshotGroup:
    return SnapshotGroup(
        external_id=str(group["id"]),
        name=str(group.get("name") or ""),
        entitlement=entitlement,
        attributes={"description": group.get("description") or None},
        members=int(group.get("directMembersCount") or 0),
    )
