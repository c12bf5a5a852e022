"""Groups and grants of the ``ldap`` connector: a grant is a group membership.

It owns finding a group by its entitlement name (``group_name_attribute`` under
``groups_dn``; DNs remembered, and looked up again when one has moved or gone, so a
stale DN never turns a revoke into a silent no-op), the groups that hold an account,
and the grant and revoke orders: "already a member" and "not a member" are done, and a
groupOfNames that would lose its last member gets ``empty_group_member`` instead. Many
grants (or revokes) of one group are one modify.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.ldap._account_entries import _AccountEntries
from accesshive.connectors.ldap._ldap3 import escape_filter_chars, ldap3
from accesshive.connectors.ldap._search import _Entry
from accesshive.connectors.ldap._transport import (
    ATTRIBUTE_OR_VALUE_EXISTS,
    NO_SUCH_ATTRIBUTE,
    NO_SUCH_OBJECT,
    OBJECT_CLASS_VIOLATION,
    LdapError,
)


class _Grants(_AccountEntries):
    """Group lookups and the grant/revoke orders."""

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self._groups: dict[str, str] = {}
        """Group name → DN, filled as groups are looked up."""

    def _group_attributes(self) -> list[str]:
        """What a group search reads to tell its entitlement: its name, and the key a
        managed group carries (only when the source has managed groups)."""
        return [self.group_name, self.group_key] if self._managed else [self.group_name]

    def _entitlement_of(self, group: _Entry) -> str | None:
        """The entitlement a group is: the managed entitlement whose key it carries (whatever
        its name now), or whose name it has; else its name."""
        if self._managed:
            for key in group.strings(self.group_key):
                if key in self._managed:
                    return key
            name = group.first(self.group_name)
            for eid, managed_name in self._managed.items():
                if name is not None and name.casefold() == managed_name.casefold():
                    return eid
        return group.first(self.group_name)

    def _group_filter(self, name: str) -> str:
        """The group of an entitlement: by name, or a managed one by its key or name."""
        by_name = f"({self.group_name}={escape_filter_chars(self._managed.get(name, name))})"
        if name in self._managed:
            by_name = f"(|({self.group_key}={escape_filter_chars(name)}){by_name})"
        return f"(&(objectClass={self.group_class}){by_name})"

    def _group_dn(self, name: str) -> str | None:
        if name in self._groups:
            return self._groups[name]
        if not self.groups_dn:
            raise self.error("connection.groups_dn is missing; this source has no groups")
        found = self._search(
            self.groups_dn, ldap3.SUBTREE, self._group_filter(name), self._group_attributes()
        )
        if len(found) > 1 and name in self._managed:  # the keyed one is it; others wait
            found = [g for g in found if name in g.strings(self.group_key)] or found
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

    def _groups_of(self, entry: _Entry) -> dict[str, str]:
        """The groups that hold the account: entitlement → DN."""
        member = self._member_value(entry)
        if not self.groups_dn or not member:
            return {}
        found = self._search(
            self.groups_dn,
            ldap3.SUBTREE,
            f"(&(objectClass={self.group_class})"
            f"({self.member_attribute}={escape_filter_chars(member)}))",
            self._group_attributes(),
        )
        return {name: g.dn for g in found if (name := self._entitlement_of(g))}

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
            raise self._no_group(entitlement)

    def _no_group(self, entitlement: str) -> Exception:
        return self.error(
            f"no {self.group_class} with {self.group_name}={entitlement} under {self.groups_dn}"
        )

    def grant_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        """One modify adds every member. LDAP applies a modify whole or not at all, so
        when one account is already a member (attributeOrValueExists) nothing was added:
        the grants are then made one at a time, where "already a member" is done."""
        members = self._members_of_accounts(external_ids)
        if members is None or len(members) < 2:
            super().grant_many(entitlement, external_ids)
            return
        change = {self.member_attribute: [(ldap3.MODIFY_ADD, members)]}
        try:
            found = self._on_group(entitlement, lambda group: self._modify(group, change))
        except LdapError as exc:
            if exc.code != ATTRIBUTE_OR_VALUE_EXISTS:
                raise
            super().grant_many(entitlement, external_ids)
            return
        if not found:
            raise self._no_group(entitlement)

    def revoke_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        """One modify removes every member; when one is not a member (noSuchAttribute) or
        the group would be left empty, nothing was removed and the revokes are made one
        at a time, where "not a member" is done and the last member is swapped for
        ``empty_group_member``."""
        members = self._members_of_accounts(external_ids)
        if members is None or len(members) < 2:
            super().revoke_many(entitlement, external_ids)
            return
        remove = {self.member_attribute: [(ldap3.MODIFY_DELETE, members)]}
        try:
            self._on_group(entitlement, lambda group: self._modify(group, remove))
        except LdapError as exc:
            if exc.code not in (NO_SUCH_ATTRIBUTE, OBJECT_CLASS_VIOLATION):
                raise
            super().revoke_many(entitlement, external_ids)

    def _members_of_accounts(self, external_ids: Sequence[str]) -> list[str] | None:
        """What groups hold for each account (one OR search for those not yet known);
        None when one of them cannot be found, for the one-at-a-time path to report."""
        missing = [i for i in external_ids if i not in self._member_values]
        if missing:
            filters = [f for i in missing if (f := self._id_filter(i))]
            for entry in self._accounts_matching(filters, self.read_attributes):
                self._remember(entry)
        members = [self._member_values.get(i) for i in external_ids]
        if any(m is None for m in members):
            return None
        return list(dict.fromkeys(m for m in members if m is not None))

    def revoke(self, external_id: str, entitlement: str) -> None:
        member = self._member_values.get(external_id)  # as grant: no search when known
        if member is None:
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
