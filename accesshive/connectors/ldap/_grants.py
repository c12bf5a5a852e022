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

from accesshive.connectors.ldap._account_entries import AccountEntries
from accesshive.connectors.ldap._ldap3 import escape_filter_chars, ldap3
from accesshive.connectors.ldap._search import LdapSearch, _Entry
from accesshive.connectors.ldap._settings import LdapSettings
from accesshive.connectors.ldap._transport import (
    ATTRIBUTE_OR_VALUE_EXISTS,
    NO_SUCH_ATTRIBUTE,
    NO_SUCH_OBJECT,
    OBJECT_CLASS_VIOLATION,
    LdapError,
    LdapTransport,
)


class Grants:
    """Group lookups and the grant/revoke orders."""

    def __init__(
        self,
        settings: LdapSettings,
        transport: LdapTransport,
        search: LdapSearch,
        entries: AccountEntries,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.search = search
        self.entries = entries
        self._known: dict[str, str] = {}
        """Group name → DN, filled as groups are looked up."""

    def remember_group(self, entitlement: str, dn: str) -> None:
        """A group seen by a read: a grant to it right after needs no search."""
        self._known[entitlement] = dn

    def forget_groups(self) -> None:
        """Group names or DNs changed (a managed group renamed or deleted): look them up
        again."""
        self._known.clear()

    def group_attributes(self) -> list[str]:
        """What a group search reads to tell its entitlement: its name, and the key a
        managed group carries (only when the source has managed groups)."""
        return (
            [self.settings.group_name, self.settings.group_key]
            if self.settings.managed
            else [self.settings.group_name]
        )

    def entitlement_of(self, group: _Entry) -> str | None:
        """The entitlement a group is: the managed entitlement whose key it carries (whatever
        its name now), or whose name it has; else its name."""
        if self.settings.managed:
            for key in group.strings(self.settings.group_key):
                if key in self.settings.managed:
                    return key
            name = group.first(self.settings.group_name)
            for eid, managed_name in self.settings.managed.items():
                if name is not None and name.casefold() == managed_name.casefold():
                    return eid
        return group.first(self.settings.group_name)

    def _group_filter(self, name: str) -> str:
        """The group of an entitlement: by name, or a managed one by its key or name."""
        target_name = escape_filter_chars(self.settings.managed.get(name, name))
        by_name = f"({self.settings.group_name}={target_name})"
        if name in self.settings.managed:
            by_name = f"(|({self.settings.group_key}={escape_filter_chars(name)}){by_name})"
        return f"(&(objectClass={self.settings.group_class}){by_name})"

    def group_dn(self, name: str) -> str | None:
        if name in self._known:
            return self._known[name]
        if not self.settings.groups_dn:
            raise self.settings.error("connection.groups_dn is missing; this source has no groups")
        found = self.search.lookup(
            self.settings.groups_dn,
            ldap3.SUBTREE,
            self._group_filter(name),
            self.group_attributes(),
        )
        if len(found) > 1 and name in self.settings.managed:  # the keyed one is it; others wait
            found = [g for g in found if name in g.strings(self.settings.group_key)] or found
        if len(found) > 1:
            raise self.settings.error(
                f"{len(found)} groups under {self.settings.groups_dn} are called {name}: "
                f"{'; '.join(g.dn for g in found)}"
            )
        if not found:
            return None
        self._known[name] = found[0].dn
        return found[0].dn

    def on_group(self, entitlement: str, action: Callable[[str], None]) -> bool:
        """Run ``action`` on the group's DN; False when there is no such group.

        Group DNs are remembered; one that has moved or gone since is looked up again,
        so a stale DN never turns a revoke into a silent no-op.
        """
        for attempt in (1, 2):
            group = self.group_dn(entitlement)
            if group is None:
                return False
            try:
                action(group)
                return True
            except LdapError as exc:
                if exc.code != NO_SUCH_OBJECT or attempt == 2:
                    raise
                self._known.pop(entitlement, None)
        return False  # pragma: no cover - the loop returns or raises

    def groups_of(self, entry: _Entry) -> dict[str, str]:
        """The groups that hold the account: entitlement → DN."""
        member = self.entries.member_value(entry)
        if not self.settings.groups_dn or not member:
            return {}
        found = self.search.lookup(
            self.settings.groups_dn,
            ldap3.SUBTREE,
            f"(&(objectClass={self.settings.group_class})"
            f"({self.settings.member_attribute}={escape_filter_chars(member)}))",
            self.group_attributes(),
        )
        return {name: g.dn for g in found if (name := self.entitlement_of(g))}

    def grant(self, external_id: str, entitlement: str) -> None:
        member = self.entries.member_of_account(external_id)
        change = {self.settings.member_attribute: [(ldap3.MODIFY_ADD, [member])]}

        def add(group: str) -> None:
            try:
                self.transport.modify(group, change)
            except LdapError as exc:
                if exc.code != ATTRIBUTE_OR_VALUE_EXISTS:  # already a member: done
                    raise

        if not self.on_group(entitlement, add):
            raise self._no_group(entitlement)

    def _no_group(self, entitlement: str) -> Exception:
        return self.settings.error(
            f"no {self.settings.group_class} with {self.settings.group_name}={entitlement} "
            f"under {self.settings.groups_dn}"
        )

    @staticmethod
    def _one_by_one(
        order: Callable[[str, str], None], entitlement: str, external_ids: Sequence[str]
    ) -> None:
        """One grant (or revoke) per account, where "already a member" (or "not a
        member") is done: the path a batch falls back to."""
        for external_id in external_ids:
            order(external_id, entitlement)

    def grant_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        """One modify adds every member. LDAP applies a modify whole or not at all, so
        when one account is already a member (attributeOrValueExists) nothing was added:
        the grants are then made one at a time, where "already a member" is done."""
        members = self._members_of_accounts(external_ids)
        if members is None or len(members) < 2:
            self._one_by_one(self.grant, entitlement, external_ids)
            return
        change = {self.settings.member_attribute: [(ldap3.MODIFY_ADD, members)]}
        try:
            found = self.on_group(entitlement, lambda group: self.transport.modify(group, change))
        except LdapError as exc:
            if exc.code != ATTRIBUTE_OR_VALUE_EXISTS:
                raise
            self._one_by_one(self.grant, entitlement, external_ids)
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
            self._one_by_one(self.revoke, entitlement, external_ids)
            return
        remove = {self.settings.member_attribute: [(ldap3.MODIFY_DELETE, members)]}
        try:
            self.on_group(entitlement, lambda group: self.transport.modify(group, remove))
        except LdapError as exc:
            if exc.code not in (NO_SUCH_ATTRIBUTE, OBJECT_CLASS_VIOLATION):
                raise
            self._one_by_one(self.revoke, entitlement, external_ids)

    def _members_of_accounts(self, external_ids: Sequence[str]) -> list[str] | None:
        """What groups hold for each account (one OR search for those not yet known);
        None when one of them cannot be found, for the one-at-a-time path to report."""
        missing = [i for i in external_ids if self.entries.known_member(i) is None]
        if missing:
            filters = {i: f for i in missing if (f := self.entries.id_filter(i))}
            for entry in self.entries.by_ids(filters, self.settings.read_attributes):
                self.entries.remember(entry)
        members = [self.entries.known_member(i) for i in external_ids]
        if any(m is None for m in members):
            return None
        return list(dict.fromkeys(m for m in members if m is not None))

    def revoke(self, external_id: str, entitlement: str) -> None:
        member = self.entries.known_member(external_id)  # as grant: no search when known
        if member is None:
            entry = self.entries.find_by_id(external_id)
            member = self.entries.member_value(entry) if entry is not None else None
        if member is None:
            return  # no account, no membership
        self.on_group(entitlement, lambda group: self.remove_member(group, member))

    def remove_member(self, group: str, member: str) -> None:
        """Take ``member`` out of ``group``; not a member is done. A missing group raises
        (noSuchObject), for the caller to decide."""
        remove = {self.settings.member_attribute: [(ldap3.MODIFY_DELETE, [member])]}
        try:
            self.transport.modify(group, remove)
        except LdapError as exc:
            if exc.code == NO_SUCH_ATTRIBUTE:
                return  # not a member: done
            if exc.code != OBJECT_CLASS_VIOLATION or self.settings.member_by_uid:
                raise
            if not self.settings.empty_member:
                raise self.settings.error(
                    f"{exc.message}; the group cannot lose its last member: set "
                    "connection.empty_group_member to a placeholder DN"
                ) from exc
            swap = {
                self.settings.member_attribute: [
                    (ldap3.MODIFY_ADD, [self.settings.empty_member]),
                    (ldap3.MODIFY_DELETE, [member]),
                ]
            }
            self.transport.modify(group, swap)
