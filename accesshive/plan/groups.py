"""Diff of managed groups: the groups of entitlements declared ``managed: true``.

Pure, like the rest of diff. Each managed entitlement's group is found on the target by
the entitlement id it carries (SCIM ``externalId``, the LDAP ``group_key_attribute``, a
Google group's email), so a group whose name changed in the YAML is renamed, never
re-created; failing that by its name, and then adopted (its key written) rather than
duplicated. Then:

- a present entitlement without a group: ``create_group``;
- a group whose name or description differs, or that is being adopted: ``update_group``;
- an entitlement declared ``state: absent`` whose group exists: ``delete_group``, only
  when every member the group has is removed by this same plan (its revokes run first,
  see ``plan/graph.py``). A group that would still hold members accesshive does not
  manage (an orphan account, a person on leave whose access is kept, a member that is
  not an account accesshive reads) is not deleted: the plan says so and who they are,
  and deletes it once they are gone. Deleting it would strip people silently.

Unmanaged entitlements are not looked at here: their groups are not read, and their
plans are what they always were.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from accesshive.config import Config
from accesshive.config.model import AttributeSpec, EntitlementSpec
from accesshive.expand.values import normalize
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot, SnapshotAccount, SnapshotGroup, SourceSnapshot

_EXACT = AttributeSpec(case_exact=True)
"""A description is compared as written (spacing aside)."""


def group_changes(
    config: Config, snapshot: Snapshot, changes: Iterable[Change]
) -> tuple[list[Change], list[str]]:
    """The group orders of every source with managed entitlements, and the conflicts
    (what accesshive refuses to decide: a name two groups share, a deletion that would
    strip people). ``changes``: the account orders of the plan (its revokes)."""
    revoked: dict[tuple[str, str], set[str | None]] = {}
    for c in changes:
        if c.action == "revoke" and c.entitlement is not None:
            revoked.setdefault((c.source, c.entitlement), set()).add(c.account or c.identity)
    out: list[Change] = []
    conflicts: list[str] = []
    for sid in sorted(config.sources):
        managed = {e: s for e, s in sorted(config.sources[sid].entitlements.items()) if s.managed}
        if not managed:
            continue
        snap = snapshot.source(sid)
        finder = _Finder(snap.groups, frozenset(managed))
        for eid, spec in managed.items():
            gone = revoked.get((sid, eid), set())
            named_by = config.sources[sid].account.name_attribute
            for item in _group(sid, eid, spec, finder, snap, gone, named_by):
                if isinstance(item, str):
                    conflicts.append(item)
                else:
                    out.append(item)
    return out, conflicts


class _Finder:
    """A managed entitlement's group: by the key it carries, else by its name."""

    def __init__(self, groups: list[SnapshotGroup], managed: frozenset[str]) -> None:
        self.by_key = {g.entitlement: g for g in groups if g.entitlement in managed}
        self.by_name: dict[str, list[SnapshotGroup]] = {}
        for g in sorted(groups, key=lambda g: g.external_id):
            if g.entitlement not in managed:
                self.by_name.setdefault(g.name.casefold(), []).append(g)

    def find(self, eid: str, name: str) -> tuple[SnapshotGroup | None, list[SnapshotGroup]]:
        """The group and whether it is adopted (found by name); or the several groups
        that share the name (accesshive never guesses which one is meant)."""
        if (group := self.by_key.get(eid)) is not None:
            return group, []
        return None, self.by_name.get(name.casefold(), [])


def _group(
    sid: str,
    eid: str,
    spec: EntitlementSpec,
    finder: _Finder,
    snap: SourceSnapshot,
    revoked: set[str | None],
    named_by: str | None,
) -> Iterator[Change | str]:
    name = spec.target_name(eid)
    have, named = finder.find(eid, name)
    adopted = False
    if have is None and named:
        foreign = [g for g in named if g.entitlement is not None]
        if len(named) > 1 or foreign:
            ids = ", ".join(
                g.external_id + (f" (key {g.entitlement})" if g.entitlement else "") for g in named
            )
            yield (
                f"source '{sid}': managed group '{name}' ({eid}): groups {ids} on the target "
                "are called so and none carries its key; accesshive does not guess which "
                "is meant: rename or remove the others on the target"
            )
            return
        have, adopted = named[0], True
    if spec.state == "absent":
        if have is not None:
            yield from _delete(sid, eid, have, snap, revoked, named_by)
        return
    wanted = _wanted(name, spec)
    if have is None:
        yield Change("create_group", sid, None, name=name, entitlement=eid, attributes=wanted)
        return
    updates: dict[str, Any] = {}
    for attr, value in wanted.items():
        old = have.name if attr == "name" else have.attributes.get(attr)
        if (attr == "name" and value != old) or (
            attr in have.attributes and normalize(value, _EXACT) != normalize(old, _EXACT)
        ):  # a change of case is a rename too
            updates[attr] = {"from": old, "to": value}
    if updates or adopted:
        details: dict[str, Any] = {"adopted": "name"} if adopted else {}
        yield Change(
            "update_group",
            sid,
            None,
            account=have.external_id,
            name=name,
            entitlement=eid,
            attributes=updates,
            details=details,
        )


def _wanted(name: str, spec: EntitlementSpec) -> dict[str, Any]:
    """The name, and the description when one is declared (a description left out of
    the YAML is left alone on the target)."""
    wanted: dict[str, Any] = {"name": name}
    if spec.description is not None:
        wanted["description"] = spec.description
    return wanted


def _label(account: SnapshotAccount, name_attribute: str | None) -> str:
    """How a warning names an account: by the identity that owns it, else by the
    source's name attribute, with the target's id beside it. An LDAP id is an
    entryUUID, which tells the person who must act nothing on its own."""
    name = account.identity
    if name is None and name_attribute:
        value = account.attributes.get(name_attribute)
        name = None if value is None else str(value)
    if name in (None, account.external_id):
        return account.external_id
    return f"{name} [{account.external_id}]"


def _delete(
    sid: str,
    eid: str,
    have: SnapshotGroup,
    snap: SourceSnapshot,
    revoked: set[str | None],
    named_by: str | None,
) -> Iterator[Change | str]:
    holders = [a for a in snap.accounts if eid in a.grants]
    kept = [a for a in holders if a.external_id not in revoked and a.identity not in revoked]
    others = max(have.members - len(holders), 0)
    if kept or others:
        who = ", ".join(_label(a, named_by) for a in kept[:5]) + (", ..." if len(kept) > 5 else "")
        parts = [f"{len(kept)} account(s) no order of this plan removes ({who})"] if kept else []
        if others:
            parts.append(f"{others} member(s) that are not accounts accesshive reads")
        yield (
            f"source '{sid}': managed group '{have.name}' ({eid}) is declared absent but "
            f"still has {' and '.join(parts)}: it is not deleted, so that nobody loses "
            "access silently; remove them from the group on the target (or give them the "
            "access elsewhere), then plan again"
        )
        return
    yield Change(
        "delete_group",
        sid,
        None,
        account=have.external_id,
        name=have.name,
        entitlement=eid,
        details={"members": have.members},
    )
