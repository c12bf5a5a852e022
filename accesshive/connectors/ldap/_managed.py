"""Managed groups of the ``ldap`` connector: group entries of entitlements declared
``managed: true``, created, renamed and deleted by accesshive.

A managed group carries its entitlement id in ``group_key_attribute`` (default
``businessCategory``, which groupOfNames and groupOfUniqueNames allow): that finds it
after its ``cn`` changed in the YAML. A rename is a modrdn, so the entry keeps its
entryUUID (its external id) and its members. A group of the managed name without the key
is adopted (the key added beside any value it has), never duplicated.

groupOfNames and groupOfUniqueNames must have a member: a new group is created holding
``empty_group_member`` (the placeholder revokes already use), which is not counted as a
member. posixGroup needs a gidNumber accesshive does not allocate, so it cannot be created.

A delete refuses a group that still has a member other than the placeholder: its revokes
ran before it, so a member left is one accesshive does not manage, and deleting the group
would strip them silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accesshive.connectors.base import Created
from accesshive.connectors.ldap._dn import rdn_string, same_dn, split_rdn
from accesshive.connectors.ldap._ldap3 import escape_filter_chars, ldap3
from accesshive.connectors.ldap._parts import Collaborator
from accesshive.connectors.ldap._search import _Entry
from accesshive.connectors.ldap._transport import NO_SUCH_OBJECT, LdapError
from accesshive.state.snapshot import SnapshotGroup

_NEEDS_A_MEMBER = frozenset({"groupofnames", "groupofuniquenames"})


class ManagedGroups(Collaborator):
    """read_groups, get_group, create_group, update_group, delete_group."""

    def _managed_attributes(self) -> list[str]:
        return [
            self.settings.id_attribute,
            self.settings.group_name,
            self.settings.group_key,
            "description",
            self.settings.member_attribute,
        ]

    def _groups_where(self, condition: str) -> list[_Entry]:
        if not self.settings.groups_dn:
            raise self.settings.error("connection.groups_dn is missing: managed groups need it")
        return self.search.lookup(
            self.settings.groups_dn,
            ldap3.SUBTREE,
            f"(&(objectClass={self.settings.group_class}){condition})",
            self._managed_attributes(),
        )

    def read_groups(self) -> list[SnapshotGroup]:
        either = "".join(
            f"({self.settings.group_key}={escape_filter_chars(eid)})"
            f"({self.settings.group_name}={escape_filter_chars(name)})"
            for eid, name in self.settings.managed.items()
        )
        return [self._snapshot_group(g) for g in self._groups_where(f"(|{either})")]

    def get_group(self, entitlement: str) -> SnapshotGroup | None:
        entry = self._keyed(entitlement)
        return self._snapshot_group(entry) if entry is not None else None

    def _keyed(self, entitlement: str) -> _Entry | None:
        found = self._groups_where(
            f"({self.settings.group_key}={escape_filter_chars(entitlement)})"
        )
        if len(found) > 1:
            dns = "; ".join(g.dn for g in found)
            raise self.settings.error(
                f"groups {dns} all carry the key {entitlement}; remove the extra"
            )
        return found[0] if found else None

    def _by_id(self, external_id: str) -> _Entry | None:
        id_filter = self.entries.id_filter(external_id)
        found = self._groups_where(id_filter) if id_filter else []
        return found[0] if found else None

    def _snapshot_group(self, entry: _Entry) -> SnapshotGroup:
        keys = [k for k in entry.strings(self.settings.group_key) if k in self.settings.managed]
        return SnapshotGroup(
            external_id=self.entries.external_id(entry) or entry.dn,
            name=entry.first(self.settings.group_name) or "",
            entitlement=keys[0] if keys else None,
            attributes={"description": entry.first("description")},
            members=len(self._real_members(entry)),
        )

    def _real_members(self, entry: _Entry) -> list[str]:
        """The group's members, the placeholder (``empty_group_member``) left out."""
        return [
            m
            for m in entry.strings(self.settings.member_attribute)
            if not (
                self.settings.empty_member
                and not self.settings.member_by_uid
                and same_dn(m, self.settings.empty_member)
            )
        ]

    def create_group(self, entitlement: str, attributes: Mapping[str, Any]) -> Created:
        name = str(attributes["name"])
        mine = self._keyed(entitlement)
        if mine is not None:
            return Created(self.entries.external_id(mine) or mine.dn)
        named = [
            g
            for g in self._groups_where(f"({self.settings.group_name}={escape_filter_chars(name)})")
            if not any(k in self.settings.managed for k in g.strings(self.settings.group_key))
        ]
        if len(named) == 1:
            external_id = self.entries.external_id(named[0]) or named[0].dn
            self.update_group(external_id, entitlement, {})
            return Created(external_id, adopted=True)
        dn = f"{rdn_string(self.settings.group_name, name)},{self.settings.groups_dn}"
        entry: dict[str, list[str]] = {
            self.settings.group_name: [name],
            self.settings.group_key: [entitlement],
        }
        if attributes.get("description"):
            entry["description"] = [str(attributes["description"])]
        if self.settings.group_class.lower() == "posixgroup":
            raise self.settings.error(
                "a posixGroup needs a gidNumber, which accesshive does not allocate: create "
                f"the group {name} on the directory and drop 'managed: true'"
            )
        if self.settings.group_class.lower() in _NEEDS_A_MEMBER:
            if not self.settings.empty_member:
                raise self.settings.error(
                    f"a {self.settings.group_class} must have a member, and accesshive adds the "
                    f"members of {name} after creating it: set connection.empty_group_member "
                    "to a placeholder DN"
                )
            entry[self.settings.member_attribute] = [self.settings.empty_member]
        self.transport.op(
            f"add {dn}", lambda conn: conn.add(dn, [self.settings.group_class], entry)
        )
        created = self._keyed(entitlement)
        if created is None or self.entries.external_id(created) is None:
            raise self.settings.error(
                f"added {dn}, but cannot read back its {self.settings.id_attribute}"
            )
        return Created(str(self.entries.external_id(created)))

    def update_group(
        self, external_id: str, entitlement: str, attributes: Mapping[str, Any]
    ) -> None:
        entry = self._by_id(external_id)
        if entry is None:
            raise self.settings.error(
                f"no group with {self.settings.id_attribute} {external_id} "
                f"under {self.settings.groups_dn}"
            )
        dn = entry.dn
        name = attributes.get("name")
        if name is not None and entry.first(self.settings.group_name) != name:
            new_rdn = rdn_string(self.settings.group_name, str(name))
            self.transport.op(
                f"rename {dn} to {new_rdn}",
                lambda conn: conn.modify_dn(dn, new_rdn, delete_old_dn=True),
            )
            dn = f"{new_rdn},{split_rdn(dn)[1]}"
        changes: dict[str, list[tuple[Any, list[str]]]] = {}
        if entitlement not in entry.strings(self.settings.group_key):
            changes[self.settings.group_key] = [(ldap3.MODIFY_ADD, [entitlement])]
        if "description" in attributes:
            value = attributes["description"]
            changes["description"] = [(ldap3.MODIFY_REPLACE, [str(value)] if value else [])]
        if changes:
            self.transport.modify(dn, changes)
        self.grants.forget_groups()  # names and DNs changed: look them up again

    def delete_group(self, external_id: str, entitlement: str) -> None:
        entry = self._by_id(external_id)
        if entry is None:
            return  # already gone: done
        members = self._real_members(entry)
        if members:
            raise self.settings.error(
                f"group {entry.dn} ({entitlement}) still has {len(members)} member(s) that "
                "accesshive did not remove: it is not deleted; remove them on the directory, "
                "then apply again"
            )
        try:
            self.transport.op(f"delete {entry.dn}", lambda conn: conn.delete(entry.dn))
        except LdapError as exc:
            if exc.code != NO_SUCH_OBJECT:
                raise
        self.grants.forget_groups()
