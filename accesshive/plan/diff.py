"""Diff stage: ``DesiredState`` × ``Snapshot`` → ``Changes``.

Pure. For each source, existing accounts are matched to identities (the link
accesshive recorded, then each correlation attribute in turn), so an account
created outside accesshive is adopted, never duplicated. Only attributes
accesshive manages and entitlements declared in config are compared, after
normalising (case, spacing, list order, boolean spellings): a converged target
diffs to nothing. Accounts nobody owns are orphans: reported, and removed only
when the guardrail policy says so.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from accesshive.config import Config
from accesshive.config.account_kinds import (
    DEFAULT_KIND,
    link_identity,
    split_link,
    telling_apart,
)
from accesshive.config.model import AttributeSpec, Source
from accesshive.expand.desired import DesiredAccount, DesiredCredential, DesiredState
from accesshive.expand.values import TEXT_TYPES, is_empty, normalize
from accesshive.plan.groups import group_changes
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot, SnapshotAccount, SourceSnapshot


@dataclass(frozen=True)
class Orphan:
    source: str
    account: str
    name: str | None
    enabled: bool
    last_login: str | None = None
    identity: str | None = None
    """Set when the account was linked to an identity that no longer exists in config."""


@dataclass(frozen=True)
class Adoption:
    source: str
    identity: str
    account: str
    matched_on: str
    account_kind: str = DEFAULT_KIND
    """Which of the identity's accounts it became (in a plan file only when not default)."""

    def to_json(self) -> dict[str, str]:
        out = vars(self).copy()
        if self.account_kind == DEFAULT_KIND:
            del out["account_kind"]
        return out


@dataclass(frozen=True)
class Changes:
    changes: tuple[Change, ...]
    orphans: tuple[Orphan, ...]
    adoptions: tuple[Adoption, ...]
    conflicts: tuple[str, ...] = ()
    """Accounts accesshive refuses to decide about (several match one identity)."""


Match = tuple[str | None, str, tuple[str, ...]]
"""How an identity's account was matched: its external id (None: no account), what it
matched on ("link", a correlation attribute, or "") and the duplicates' external ids."""


@dataclass(frozen=True)
class Found:
    """What diff found for one identity's account on one source."""

    changes: tuple[Change, ...]
    conflict: str | None
    adoption: Adoption | None
    match: Match


@dataclass(frozen=True)
class SourceDiff:
    """What diff found on one source: per identity, then for the accounts nobody claimed."""

    found: Mapping[str, Found | str]
    """link (the identity id for its default account, ``<identity>#<kind>`` for another
    kind: ``config/account_kinds.py``) → what was found for that account, for every
    account wanted there; just
    the external id for the most common case, an account found by its link with nothing
    to do (a large org has hundreds of thousands: they must cost no object each)."""
    unclaimed: tuple[Change, ...]
    orphans: tuple[Orphan, ...]


def diff(config: Config, desired: DesiredState, snapshot: Snapshot, today: dt.date) -> Changes:
    return assemble(config, desired, snapshot, today, diff_sources(config, desired, snapshot))


def diff_sources(
    config: Config, desired: DesiredState, snapshot: Snapshot
) -> dict[str, SourceDiff]:
    """Every diffed source, matched and compared afresh."""
    wanted = wanted_by_source(desired)
    return {
        sid: diff_source(config, desired, sid, snapshot.source(sid), wanted.get(sid, []))
        for sid in diffed_sources(config)
    }


def diffed_sources(config: Config) -> list[str]:
    """The sources diff compares (the vault's content is credentials, not accounts)."""
    return [sid for sid in sorted(config.sources) if config.sources[sid].kind != "vault"]


def wanted_by_source(desired: DesiredState) -> dict[str, list[DesiredAccount]]:
    """source → the accounts wanted there, in matching order (``matching_order``)."""
    by_source: dict[str, list[DesiredAccount]] = {}
    for (sid, _), account in desired.accounts.items():
        by_source.setdefault(sid, []).append(account)
    for sid, accounts in by_source.items():
        by_source[sid] = matching_order(accounts)
    return by_source


def matching_order(accounts: list[DesiredAccount]) -> list[DesiredAccount]:
    """The order in which wanted accounts claim existing ones: by link, the accounts of
    kinds other than the default first. Such a kind matches only by the correlation
    attributes that tell it apart (``Matcher.by_kind``), so what it claims is its own;
    the default accounts then match by every correlation attribute among what is left,
    exactly as before any kind was declared (an identity's master badge, which shares
    its mail with the everyday one, is taken by its kind first, never as a duplicate)."""
    accounts.sort(key=_BY_IDENTITY)  # expand gives them in order: a linear sort
    if all(a.kind == DEFAULT_KIND for a in accounts):
        return accounts
    return [a for a in accounts if a.kind != DEFAULT_KIND] + [
        a for a in accounts if a.kind == DEFAULT_KIND
    ]


def diff_source(
    config: Config,
    desired: DesiredState,
    sid: str,
    snap: SourceSnapshot,
    wanted: list[DesiredAccount],
) -> SourceDiff:
    """Match every wanted account (in identity order: claims are first come, first
    served), then decide what becomes of the accounts nobody claimed."""
    source = config.sources[sid]
    matcher = Matcher(source, snap)
    found: dict[str, Found | str] = {}
    for want in wanted:
        have, matched_on, duplicates = matcher.match(want)
        if have is not None and matched_on == "link" and not duplicates:
            # the common case, found_for's answer without its general bookkeeping
            converge = _converge(desired, source, want, have)
            found[want.link] = (
                Found(tuple(converge), None, None, (have.external_id, "link", ()))
                if converge
                else have.external_id
            )
            continue
        found[want.link] = settled(found_for(desired, source, want, have, matched_on, duplicates))
    unclaimed: list[Change] = []
    orphans: list[Orphan] = []
    for have in matcher.unclaimed():
        changes, orphan = unclaimed_outcome(config, desired, sid, have)
        unclaimed.extend(changes)
        if orphan is not None:
            orphans.append(orphan)
    return SourceDiff(found, tuple(unclaimed), tuple(orphans))


def unclaimed_outcome(
    config: Config, desired: DesiredState, sid: str, have: SnapshotAccount
) -> tuple[list[Change], Orphan | None]:
    """What becomes of an account no wanted account claimed: an identity's account on a
    source it is no longer assigned loses its managed access; anyone else's is an orphan."""
    source = config.sources[sid]
    if have.identity and link_identity(have.identity) in desired.identities:
        return list(_unassigned(desired, source, sid, have)), None
    orphan = _orphan(source, sid, have)
    return list(_orphan_changes(config, orphan)), orphan


_NOTHING = Found((), None, None, (None, "", ()))


def settled(found: Found) -> Found | str:
    """How ``SourceDiff.found`` holds ``found``: the external id alone for an account
    found by its link with nothing to do."""
    ext, matched_on, duplicates = found.match
    quiet = not found.changes and found.conflict is None and found.adoption is None
    if ext is not None and quiet and matched_on == "link" and not duplicates:
        return ext
    return found


def found_for(
    desired: DesiredState,
    source: Source,
    want: DesiredAccount,
    have: SnapshotAccount | None,
    matched_on: str,
    duplicates: list[SnapshotAccount],
) -> Found:
    """What becomes of one wanted account, given the account it matched (if any) and the
    duplicates that matched it too."""
    sid = want.source
    changes: list[Change] = []
    conflict = None
    if duplicates:
        on = matched_on if matched_on != "link" else _deciding_attribute(source, want)
        conflict = _duplicates_message(sid, want, have, on, duplicates)
        for dup in duplicates:
            changes.extend(
                replace(c, details={**c.details, "duplicate": True})
                for c in _converge(desired, source, want, dup, duplicate=True)
            )
    dup_ids = tuple(d.external_id for d in duplicates)
    if have is None:
        if not duplicates:
            changes.extend(_create(source, want))
        if not changes and not dup_ids and not matched_on:
            return _NOTHING
        return Found(tuple(changes), conflict, None, (None, matched_on, dup_ids))
    adoption = (
        Adoption(sid, want.identity, have.external_id, matched_on, want.kind)
        if matched_on != "link"
        else None
    )
    changes.extend(_converge(desired, source, want, have))
    return Found(tuple(changes), conflict, adoption, (have.external_id, matched_on, dup_ids))


def assemble(
    config: Config,
    desired: DesiredState,
    snapshot: Snapshot,
    today: dt.date,
    per_source: Mapping[str, SourceDiff],
) -> Changes:
    """The changes of every source, in one order whatever computed them (source, then
    identity, then the unclaimed accounts), then the managed groups' (which need the
    revokes, ``plan/groups.py``), with the credentials' after them."""
    changes: list[Change] = []
    orphans: list[Orphan] = []
    adoptions: list[Adoption] = []
    conflicts: list[str] = []
    for sid in sorted(per_source):
        result = per_source[sid]
        for iid in sorted(result.found):
            found = result.found[iid]
            if isinstance(found, str):
                continue  # linked, nothing to do
            if found.conflict:
                conflicts.append(found.conflict)
            changes.extend(found.changes)
            if found.adoption:
                adoptions.append(found.adoption)
        changes.extend(result.unclaimed)
        orphans.extend(result.orphans)
    groups, refused = group_changes(config, snapshot, changes)
    changes.extend(groups)
    conflicts.extend(refused)
    changes.extend(_credentials(config, desired, snapshot, today, per_source))
    orphans.extend(_vault_orphans(config, desired, snapshot))
    return Changes(tuple(changes), tuple(orphans), tuple(adoptions), tuple(conflicts))


def _vault_orphans(config: Config, desired: DesiredState, snapshot: Snapshot) -> Iterator[Orphan]:
    """Credentials kept for identities that config no longer declares."""
    for sid in config.sources_of_kind("vault"):
        for cred in sorted(snapshot.source(sid).credentials, key=lambda c: c.identity):
            if cred.identity not in desired.credentials:
                yield Orphan(sid, cred.identity, cred.identity, True, identity=cred.identity)


class Matcher:
    """Finds the existing account of an identity: by link first, then by correlation.

    Only accounts correlation can ever return are indexed by their correlation values:
    the unlinked ones, and those linked to an identity that already has a linked account.
    An identity's (first) linked account is claimed by its link before correlation is
    tried, and no other identity may take it; on a target accesshive manages that is
    nearly every account, so the index stays small and most lookups find nothing.
    """

    def __init__(self, source: Source, snap: SourceSnapshot) -> None:
        self.source = source
        self.accounts = sorted(snap.accounts, key=_BY_EXTERNAL_ID)
        self.claimed: set[str] = set()
        self.by_link: dict[str, SnapshotAccount] = {}
        schema = source.account.schema_
        correlation = [(attr, schema.get(attr)) for attr in source.account.correlation]
        self.by_attr: dict[str, dict[Any, list[SnapshotAccount]]] = {
            attr: {} for attr in source.account.correlation
        }
        by_link = self.by_link
        for acc in self.accounts:
            if acc.identity is not None and by_link.setdefault(acc.identity, acc) is acc:
                continue
            for attr, spec in correlation:
                value = acc.attributes.get(attr)
                if value not in (None, ""):
                    index = self.by_attr[attr]
                    index.setdefault(_key(normalize(value, spec)), []).append(acc)
        # every attribute stays (the first one an identity has a value for decides, even
        # where no account can be found by it); one no account is indexed by is not looked up
        self.correlation = [
            (attr, spec, self.by_attr[attr], _text_fold(spec)) for attr, spec in correlation
        ]
        self.by_kind = {
            kind: [c for c in self.correlation if c[0] in telling]
            for kind, telling in telling_apart(source).items()
            if kind != DEFAULT_KIND
        }
        """Per account kind other than the default, when the source declares kinds: only
        the correlation attributes whose template differs from every other kind's (an
        identity's admin account shares its email with the everyday one; only its uid
        tells them apart). The default account keeps every correlation attribute: declaring
        a kind never changes what an existing account matches (those of the other kinds
        are claimed first, ``matching_order``)."""
        self.indexed = any(self.by_attr.values())
        """Whether any account could be found by correlation at all."""

    def match(
        self, want: DesiredAccount
    ) -> tuple[SnapshotAccount | None, str, list[SnapshotAccount]]:
        """The account, how it matched ("link" or a correlation attribute), and duplicates:
        other unlinked accounts that correlate with the same identity.

        With several equally good matches and no link, there is no account, only
        duplicates: accesshive never guesses which one is the person's.
        """
        iid = want.link
        linked = self.by_link.get(iid)
        if linked is not None:
            if linked.external_id in self.claimed:
                linked = None
            else:
                self.claimed.add(linked.external_id)
        for attr, spec, index, fold in self.by_kind.get(want.kind, self.correlation):
            value = want.attributes.get(attr)
            if value is None or value == "":
                continue
            bucket = _lookup(index, spec, fold, value) if index else None
            found = (
                [
                    acc
                    for acc in bucket
                    if acc.external_id not in self.claimed
                    # an account linked to someone else is never taken
                    and acc.identity in (None, iid)
                ]
                if bucket
                else []
            )
            if found:
                self.claimed.update(acc.external_id for acc in found)
            if linked is not None:
                return linked, "link", found
            if len(found) == 1:
                return found[0], attr, []
            if found:
                return None, attr, found
        return linked, "link" if linked else "", []

    def unclaimed(self) -> Iterator[SnapshotAccount]:
        return (a for a in self.accounts if a.external_id not in self.claimed)

    def reach(self, want: DesiredAccount) -> list[str]:
        """Every account ``match`` could ever take or name as a duplicate for ``want``,
        whatever was claimed before it: the accounts identities can contend for. Two
        groups of identities whose reaches do not meet match independently."""
        iid = want.link
        out: list[str] = []
        for attr, spec, index, fold in self.by_kind.get(want.kind, self.correlation):
            value = want.attributes.get(attr)
            if not index or value is None or value == "":
                continue
            bucket = _lookup(index, spec, fold, value)
            if bucket:
                out.extend(acc.external_id for acc in bucket if acc.identity in (None, iid))
        return out


_BY_EXTERNAL_ID = operator.attrgetter("external_id")
_BY_IDENTITY = operator.attrgetter("link")
"""An account's place among the wanted ones: by link, i.e. by identity, then kind."""


def _lookup(
    index: dict[Any, list[SnapshotAccount]],
    spec: AttributeSpec | None,
    fold: bool | None,
    value: Any,
) -> list[SnapshotAccount] | None:
    """The indexed accounts with this correlation value (normalised as the index is)."""
    if fold is not None and type(value) is str:  # normalize's text case, without its dispatch
        return index.get(" ".join(value.split()).casefold() if fold else value)
    return index.get(_key(normalize(value, spec)))


def _text_fold(spec: AttributeSpec | None) -> bool | None:
    """How ``normalize`` treats a text value of this attribute: True folds case and
    spacing, False keeps it exact, None: not as text (``normalize`` decides)."""
    if spec is None or spec.type in TEXT_TYPES:
        return not (spec is not None and spec.case_exact)
    return None


def _key(value: Any) -> Any:
    """A normalised value as a dict key: text as itself, anything else (a tuple for a
    list, a number) by type and repr, so that no two kinds of value collide."""
    return value if type(value) is str else (type(value).__name__, repr(value))


def _name(source: Source, attributes: Mapping[str, Any]) -> str | None:
    attr = source.account.name_attribute
    value = attributes.get(attr) if attr else None
    return str(value) if value is not None else None


def _create(source: Source, want: DesiredAccount) -> Iterator[Change]:
    if want.state == "absent" or not want.create_if_missing:
        return
    name = _name(source, want.attributes)
    yield Change(
        "create_account",
        want.source,
        want.identity,
        name=name,
        attributes=dict(want.attributes),
        details={
            "enabled": want.state == "enabled",
            "generate_password": want.generate_password,
            "reason": want.reason,
        }
        if want.kind == DEFAULT_KIND
        else {
            "enabled": want.state == "enabled",
            "generate_password": want.generate_password,
            "reason": want.reason,
            "account_kind": want.kind,
        },
    )
    if want.access == "granted":
        for ent in sorted(want.grants):
            yield _grant_change("grant", want, None, name, ent)


def _grant_change(
    action: str, want: DesiredAccount, account: str | None, name: str | None, ent: str
) -> Change:
    via = want.grant_via.get(ent)
    return Change(
        action,
        want.source,
        want.identity,
        account=account,
        name=name,
        entitlement=ent,
        details=_grant_details(via, want.kind),
    )


def _grant_details(via: str | None, kind: str) -> dict[str, str]:
    """A grant's or revoke's details: the access profile behind it, and the account kind
    when it is not the default (one dict, no merging: diff builds one per grant)."""
    details = {"access_profile": via} if via else {}
    if kind != DEFAULT_KIND:
        details["account_kind"] = kind
    return details


def _kind_of(want: DesiredAccount) -> dict[str, str]:
    """The details that name a wanted account's kind: none for the default account."""
    return {} if want.kind == DEFAULT_KIND else {"account_kind": want.kind}


def _deciding_attribute(source: Source, want: DesiredAccount) -> str:
    """The correlation attribute that found a linked identity's duplicates: the first one
    it has a value for among those its kind correlates on (``Matcher.match``)."""
    telling = telling_apart(source).get(want.kind) if want.kind != DEFAULT_KIND else None
    for attr in source.account.correlation:
        if telling is not None and attr not in telling:
            continue
        if want.attributes.get(attr) not in (None, ""):
            return attr
    return "link"


def _duplicates_message(
    sid: str,
    want: DesiredAccount,
    have: SnapshotAccount | None,
    attr: str,
    duplicates: list[SnapshotAccount],
) -> str:
    ids = ", ".join(d.external_id for d in duplicates)
    what = (
        f"besides its linked account {have.external_id}, accounts {ids} also match"
        if have
        else f"accounts {ids} all match"
    )
    action = (
        "they are disabled or deleted with it"
        if want.state != "enabled"
        else "they are left alone: link one, remove the others on the target, or declare "
        "the second one as an account kind (account.kinds) that an access profile grants to"
    )
    who = f"identity '{want.identity}'" + (
        f" ({want.kind} account)" if want.kind != DEFAULT_KIND else ""
    )
    return f"source '{sid}': {who}: {what} on {attr}; {action}"


def _converge(
    desired: DesiredState,
    source: Source,
    want: DesiredAccount,
    have: SnapshotAccount,
    duplicate: bool = False,
) -> list[Change]:
    """Orders that bring an existing account to what is wanted (most often none: it is
    decided before anything is built, for the hundreds of thousands of converged ones).

    A duplicate account (one more account matching the identity) only ever loses
    access: a leaver must not keep a second way in, and nothing is added to it.
    """
    state = want.state
    if duplicate and state == "enabled":
        return []
    if not duplicate and _converged(source, want, have):
        return []
    sid, ext = want.source, have.external_id
    to_grant: list[str] = []
    to_revoke: list[str] = []
    if want.access == "granted":
        if not duplicate and (missing := want.grants.difference(have.grants)):
            to_grant = sorted(missing)
        managed = desired.managed_entitlements.get(sid, frozenset())
        if extra := managed.intersection(have.grants).difference(want.grants):
            to_revoke = sorted(extra)
    elif want.access == "revoked":
        to_revoke = sorted(set(have.grants))
    keeps = state != "absent" and not duplicate
    updates = _attribute_updates(source, want, have) if keeps else {}
    enable = keeps and state == "enabled" and not have.enabled
    disable = state == "disabled" and have.enabled
    if not (updates or enable or to_grant or to_revoke or disable or state == "absent"):
        return []
    name = _name(source, have.attributes) or _name(source, want.attributes)
    kind = _kind_of(want)
    iid = want.identity
    out = []
    if updates:
        out.append(Change("update_account", sid, iid, ext, name, attributes=updates, details=kind))
    if enable:
        out.append(Change("enable_account", sid, iid, ext, name, details=kind))
    out += [_grant_change("grant", want, ext, name, ent) for ent in to_grant]
    out += [_grant_change("revoke", want, ext, name, ent) for ent in to_revoke]
    if disable:
        out.append(Change("disable_account", sid, iid, ext, name, details=kind))
    if state == "absent":
        out.append(Change("delete_account", sid, iid, ext, name, details=kind))
    return out


def _converged(source: Source, want: DesiredAccount, have: SnapshotAccount) -> bool:
    """Whether an account kept as it is already is exactly what is wanted: the answer for
    nearly every account of a managed target, found without building anything. False
    only means "look closer" (``_converge`` then works out what differs, if anything)."""
    state = want.state
    if state == "absent" or have.enabled is not (state == "enabled"):
        return False
    access = want.access
    if access == "granted":
        if have.grants != _sorted(want.grants):
            return False
    elif access == "revoked" and have.grants:
        return False
    # Values equal as they are are equal normalised too (``normalize`` maps numbers and
    # booleans that are equal to equal values, and every kind of "nothing" to None), so
    # the closer look would find nothing to update.
    pick = _picker(want.synced)
    try:
        return bool(pick(want.attributes) == pick(have.attributes))
    except KeyError:  # an attribute one side lacks (targets drop empty ones)
        pass
    wanted, held = want.attributes, have.attributes
    for attr in _in_order(want.synced):
        new = wanted.get(attr, _ABSENT)
        if new is _ABSENT or new == (old := held.get(attr)):
            continue
        if not (is_empty(new) and is_empty(old)):
            return False
    return True


_ABSENT = object()


@functools.lru_cache(maxsize=256)
def _picker(names: frozenset[str]) -> Callable[[Mapping[str, Any]], Any]:
    """The synced attributes' values of an account, for comparing two accounts whole."""
    return operator.itemgetter(*sorted(names)) if names else lambda _: ()


@functools.lru_cache(maxsize=4096)
def _sorted(grants: frozenset[str]) -> list[str]:
    """An account's wanted entitlements as a snapshot lists them (sorted); the few
    distinct sets are shared by every account, so each is sorted once. Never changed."""
    return sorted(grants)


def _attribute_updates(
    source: Source, want: DesiredAccount, have: SnapshotAccount
) -> dict[str, Any]:
    schema = source.account.schema_
    out: dict[str, Any] = {}
    wanted, held = want.attributes, have.attributes
    for attr in _in_order(want.synced):
        new = wanted.get(attr, _ABSENT)
        if new is _ABSENT:
            continue
        old = held.get(attr)
        if new == old and type(new) is type(old):
            continue  # the common case on a converged target: no need to normalise
        if normalize(new, schema.get(attr)) != normalize(old, schema.get(attr)):
            out[attr] = {"from": old, "to": new}
    return out


@functools.lru_cache(maxsize=256)
def _in_order(names: frozenset[str]) -> tuple[str, ...]:
    """Sorted once per source: every account of a source shares its ``synced`` set."""
    return tuple(sorted(names))


def _unassigned(
    desired: DesiredState, source: Source, sid: str, have: SnapshotAccount
) -> Iterator[Change]:
    """An identity's account on a source it is no longer assigned (or one more account
    linked to it): its managed access goes. Named by its external id, as duplicates are:
    an identity may hold several such accounts."""
    managed = desired.managed_entitlements.get(sid, frozenset())
    name = _name(source, have.attributes)
    iid, kind = split_link(have.identity or "")
    details: dict[str, Any] = {"unassigned": True}
    if kind != DEFAULT_KIND:
        details["account_kind"] = kind
    for ent in sorted(set(have.grants) & managed):
        yield Change(
            "revoke",
            sid,
            iid,
            have.external_id,
            name,
            entitlement=ent,
            details=details,
        )


def _orphan(source: Source, sid: str, have: SnapshotAccount) -> Orphan:
    return Orphan(
        source=sid,
        account=have.external_id,
        name=_name(source, have.attributes),
        enabled=have.enabled,
        last_login=have.last_login,
        identity=have.identity,
    )


def _orphan_changes(config: Config, orphan: Orphan) -> Iterator[Change]:
    policy = config.policies.guardrails.orphans
    details = {"orphan": True}
    if policy == "disable" and orphan.enabled:
        yield Change(
            "disable_account", orphan.source, None, orphan.account, orphan.name, details=details
        )
    elif policy == "delete":
        yield Change(
            "delete_account", orphan.source, None, orphan.account, orphan.name, details=details
        )


def _credentials(
    config: Config,
    desired: DesiredState,
    snapshot: Snapshot,
    today: dt.date,
    per_source: Mapping[str, SourceDiff],
) -> Iterator[Change]:
    stored: dict[str, dict[str, Any]] = {}
    for sid in config.sources_of_kind("vault"):
        for cred in snapshot.source(sid).credentials:
            stored.setdefault(sid, {})[cred.identity] = cred
    for iid, want in sorted(desired.credentials.items()):
        have = stored.get(want.vault, {}).get(iid)
        details = _credential_details(want)
        if have is None:
            yield Change("store_credential", want.vault, iid, details=details)
            continue
        last = have.rotated_at or have.stored_at
        days = want.rotate_every_days
        if days and last and today >= last + dt.timedelta(days=days):
            details["last_rotated"] = last.isoformat()
            account = _account_found(per_source, want.account_source, iid)
            if want.mode == "managed" and account is not None:
                # the account whose password is rotated, as the snapshot knows it: the
                # plan that created it is long gone
                details["account"] = account
            yield Change("rotate_credential", want.vault, iid, details=details)


def _account_found(per_source: Mapping[str, SourceDiff], sid: str | None, link: str) -> str | None:
    """The external id of the one account diff matched to ``link`` on ``sid`` (by its link,
    or by correlation on a source that keeps no link, such as Google Workspace). With
    duplicates there is none: a password is never set on a guess."""
    source = per_source.get(sid) if sid is not None else None
    found = source.found.get(link) if source is not None else None
    if found is None or isinstance(found, str):
        return found
    ext, _, duplicates = found.match
    return None if duplicates else ext


def _credential_details(want: DesiredCredential) -> dict[str, Any]:
    return {
        "mode": want.mode,
        "credential_kind": want.kind,
        "supplied_by": want.supplied_by,
        "account_source": want.account_source,
        "rotate_every_days": want.rotate_every_days,
    }
