"""Managed groups of the ``scim`` connector: the Groups of entitlements declared
``managed: true``, created, renamed and deleted by accesshive.

A managed Group carries its entitlement id as its ``externalId`` (RFC 7643 3.1: "an
identifier for the resource as defined by the provisioning client"): that is what finds
it after its ``displayName`` changes in the YAML, and what its members' grants are read
by. A Group of the managed name without that key is adopted (its ``externalId``
written), never duplicated. SCIM's core Group has no description: only the name is kept.

A delete refuses a Group that still has members: its revokes ran before it, so a member
left is one accesshive does not manage, and deleting the Group would strip them silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim2_models import Context, Group

from accesshive.connectors.base import Created
from accesshive.connectors.scim._resources import Collaborator
from accesshive.connectors.scim._session import ScimError
from accesshive.connectors.scim._values import _url
from accesshive.state.snapshot import SnapshotGroup

_READ = ["displayName", "externalId", "members"]


class ManagedGroups(Collaborator):
    """read_groups, get_group, create_group, update_group, delete_group."""

    def read_groups(self) -> list[SnapshotGroup]:
        managed = self.settings.managed
        names = {name.casefold() for name in managed.values()}
        return [
            _snapshot(g)
            for g in self.resources.all_groups(_READ)
            if g.external_id in managed or (g.display_name or "").casefold() in names
        ]

    def get_group(self, entitlement: str) -> SnapshotGroup | None:
        group = self.resources.keyed(entitlement, _READ)
        return _snapshot(group) if group is not None else None

    def create_group(self, entitlement: str, attributes: Mapping[str, Any]) -> Created:
        """Look before creating (a Group carrying the key is done; one of the name is
        adopted), since a target need not refuse a second Group of one displayName."""
        name = str(attributes["name"])
        mine = self.resources.keyed(entitlement, ["displayName"])
        if mine is not None:
            return Created(str(mine.id))
        named = [g for g in self.resources.named(name) if not g.external_id]
        if len(named) == 1:
            self.update_group(str(named[0].id), entitlement, {})
            return Created(str(named[0].id), adopted=True)
        rt = self.resources.groups_type()
        body = {"schemas": [str(Group.__schema__)], "displayName": name, "externalId": entitlement}
        url = rt.endpoint or "/Groups"
        scim = self.session.client()
        created = self.session.call(
            f"POST {url}", lambda: scim.create(rt, body, check_request_payload=False, url=url)
        )
        new_id = created.get("id") if isinstance(created, dict) else getattr(created, "id", None)
        if not new_id:
            raise self.settings.error(
                f"POST {url}: the target created the Group but returned no id"
            )
        return Created(str(new_id))

    def update_group(
        self, external_id: str, entitlement: str, attributes: Mapping[str, Any]
    ) -> None:
        operations: list[dict[str, Any]] = [
            {"op": "replace", "path": "externalId", "value": entitlement}
        ]
        if "name" in attributes:
            operations.append({"op": "replace", "path": "displayName", "value": attributes["name"]})
        rt = self.resources.groups_type()
        # PATCH needs only the id; a PUT-only target gets the whole Group back, members too
        current = (
            Group(id=external_id)
            if self.probe.service().patch
            else self.resources.fetch_group(external_id)
        )
        try:
            self.resources.modify(rt, Group, current, operations)
        except ScimError as exc:
            if exc.status != 501 or not self.probe.service().patch:
                raise
            # PATCH of these attributes not implemented (django-scim2 patches only
            # members): the Group read whole, changed and PUT back, its members with it
            self._put_group(external_id, entitlement, attributes.get("name"))
        self.resources.forget_groups()  # names changed: look them up again

    def _put_group(self, external_id: str, entitlement: str, name: Any) -> None:
        rt = self.resources.groups_type()
        group = self.resources.fetch_group(external_id)
        group.external_id = entitlement
        if name is not None:
            group.display_name = str(name)
        body = self.settings.quirks.resource_payload(
            group.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        )
        url = _url(rt, external_id)
        scim = self.session.client()
        headers = self.resources.if_match(group)
        self.session.call(
            f"PUT {url}",
            lambda: scim.replace(rt, body, check_request_payload=False, url=url, headers=headers),
        )

    def delete_group(self, external_id: str, entitlement: str) -> None:
        rt = self.resources.groups_type()
        try:
            group = self.resources.fetch_group(external_id, _READ)
        except ScimError as exc:
            if exc.status == 404:
                return  # already gone: done
            raise
        if group.members:
            raise self.settings.error(
                f"Group '{group.display_name}' ({entitlement}) still has "
                f"{len(group.members)} member(s) that accesshive did not remove: it is not "
                "deleted; remove them on the target, then apply again"
            )
        scim = self.session.client()
        try:
            self.session.call(
                f"DELETE {_url(rt, external_id)}", lambda: scim.delete(rt, external_id)
            )
        except ScimError as exc:
            if exc.status != 404:
                raise
        self.resources.forget_groups()


def _snapshot(group: Group) -> SnapshotGroup:
    return SnapshotGroup(
        external_id=str(group.id),
        name=group.display_name or "",
        entitlement=group.external_id,
        members=len(group.members or []),
    )
