"""Grant orders of the ``scim`` connector: a grant is a Group membership.

Grant adds the user to the entitlement's Group (``group_names`` maps entitlements to
displayNames); revoke removes it, by a filtered PATCH path, by replacing the whole
member list (``quirks.member_removal: replace``), by naming the member in the value of
a remove on ``members`` (``member_removal: value``, Entra's form), or by PUT of the
Group when PATCH is off. "Already a member" and "not a member" are done; a cached Group
id that went stale is looked up again once. Many grants (or revokes) of one Group are
one PATCH.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from scim2_models import Context, Group, GroupMember

from accesshive.connectors.scim._resources import Collaborator
from accesshive.connectors.scim._session import ScimError, already
from accesshive.connectors.scim._values import _member, _quote, _url


class Grants(Collaborator):
    """grant and revoke, one at a time or many of one Group at once."""

    def grant(self, external_id: str, entitlement: str) -> None:
        svc = self.probe.service()

        def add(gid: str) -> None:
            if svc.patch:
                member = {"op": "add", "path": "members", "value": [{"value": external_id}]}
                self._patch_group(gid, [member])
            else:
                self._put_members(gid, add=external_id)

        self._on_group(entitlement, add)  # "already a member" is done

    def grant_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        """One PATCH adds every member (RFC 7644 3.5.2.1: "add" to a multi-valued
        attribute). A PATCH succeeds or fails whole; when the target refuses it because
        one account is already a member, the grants are made one at a time, where that
        is done. Without PATCH (a PUT of the whole Group each), one at a time."""
        if len(external_ids) < 2 or not self.probe.service().patch:
            self._one_by_one(self.grant, entitlement, external_ids)
            return
        members = [{"value": external_id} for external_id in dict.fromkeys(external_ids)]
        operation = {"op": "add", "path": "members", "value": members}
        if not self._on_group(entitlement, lambda gid: self._patch_group(gid, [operation])):
            self._one_by_one(self.grant, entitlement, external_ids)

    @staticmethod
    def _one_by_one(
        action: Callable[[str, str], None], entitlement: str, external_ids: Sequence[str]
    ) -> None:
        for external_id in external_ids:
            action(external_id, entitlement)

    def _on_group(self, entitlement: str, action: Callable[[str], None]) -> bool:
        """Run ``action`` on the id of the entitlement's Group; False when the target
        answered "already a member". A remembered id that went stale (404) is looked up
        again, once."""
        for attempt in (1, 2):
            gid = self.resources.group_id(entitlement, refresh=attempt == 2)
            if gid is None:
                name = self.settings.group_names.get(entitlement, entitlement)
                raise self.settings.error(f"no Group named '{name}' on the target ({entitlement})")
            try:
                action(gid)
                return True
            except ScimError as exc:
                if already(exc):
                    return False
                if exc.status != 404 or attempt == 2:
                    raise  # 404: the remembered group id went stale, look it up again
        return True  # pragma: no cover - the loop returns or raises

    def revoke_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        """One PATCH of "remove" operations, one filtered path per member; when the
        target refuses it (one is not a member: noTarget), one at a time, where that is
        done. The ``replace`` quirk and PUT-only targets go one at a time too."""
        if (
            len(external_ids) < 2
            or not self.probe.service().patch
            or self.settings.quirks.member_removal == "replace"
        ):
            self._one_by_one(self.revoke, entitlement, external_ids)
            return
        gid = self.resources.group_id(entitlement)
        if gid is None:
            return  # no such group: nobody holds it
        if self.settings.quirks.member_removal == "value":
            self._remove_by_value(gid, list(dict.fromkeys(external_ids)))
            return
        operations: list[dict[str, Any]] = [
            {"op": "remove", "path": f"members[value eq {_quote(external_id)}]"}
            for external_id in dict.fromkeys(external_ids)
        ]
        try:
            self._patch_group(gid, operations)
        except ScimError as exc:
            if exc.status != 404 and exc.scim_type != "noTarget":
                raise
            self._one_by_one(self.revoke, entitlement, external_ids)

    def revoke(self, external_id: str, entitlement: str) -> None:
        svc = self.probe.service()
        gid = self.resources.group_id(entitlement)
        if gid is None:
            return  # no such group: nobody holds it
        try:
            if not svc.patch:
                self._put_members(gid, remove=external_id)
            elif self.settings.quirks.member_removal == "replace":
                self._replace_members(gid, external_id)
            elif self.settings.quirks.member_removal == "value":
                self._remove_by_value(gid, [external_id])
            else:
                path = f"members[value eq {_quote(external_id)}]"
                self._patch_group(gid, [{"op": "remove", "path": path}])
        except ScimError as exc:
            if exc.status == 404 or exc.scim_type == "noTarget":
                return  # not a member (or no group any more): done
            raise

    def _patch_group(
        self, gid: str, operations: list[dict[str, Any]], current: Group | None = None
    ) -> None:
        self.resources.modify(
            self.resources.groups_type(),
            Group,
            current or Group(id=gid),
            operations,
            answered=False,  # never proof of a member (see Reader.get_memberships)
        )

    def _remove_by_value(self, gid: str, user_ids: list[str]) -> None:
        """``{"op": "remove", "path": "members", "value": [{"value": id}]}``: not RFC
        7644's form (a remove carries no value; a filter in the path selects), but the
        one Entra sends and some targets take as their only member removal. Removing a
        non-member is a no-op on them, so this is idempotent as it is."""
        operation = {"op": "remove", "path": "members", "value": [{"value": u} for u in user_ids]}
        self.resources.patch_unchecked(self.resources.groups_type(), gid, [operation])

    def _replace_members(self, gid: str, user_id: str) -> None:
        """Member removal for targets that only take the whole member list (with If-Match)."""
        group = self.resources.fetch_group(gid, ["members"])
        members = group.members or []
        if not any(m.value == user_id for m in members):
            return
        rest = [_member(m) for m in members if m.value != user_id]
        operation: dict[str, Any] = (
            {"op": "replace", "path": "members", "value": rest}
            if rest
            else {"op": "remove", "path": "members"}
        )
        self._patch_group(gid, [operation], group)

    def _put_members(self, gid: str, *, add: str | None = None, remove: str | None = None) -> None:
        rt = self.resources.groups_type()
        group = self.resources.fetch_group(gid)
        members = list(group.members or [])
        held = any(m.value == (add or remove) for m in members)
        if (add and held) or (remove and not held):
            return
        if add:
            members.append(GroupMember(value=add))
        else:
            members = [m for m in members if m.value != remove]
        group.members = members or None
        body = self.settings.quirks.resource_payload(
            group.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        )
        if not members:
            body["members"] = []
        url = _url(rt, gid)
        scim = self.session.client()
        headers = self.resources.if_match(group)
        self.session.call(
            f"PUT {url}",
            lambda: scim.replace(rt, body, check_request_payload=False, url=url, headers=headers),
        )
