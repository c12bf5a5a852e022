"""Diff stage: ``DesiredState`` × ``Snapshot`` → ``Changes``.

Pure. For each source, existing accounts are matched to identities (``plan/matching.py``:
the link accesshive recorded, then each correlation attribute in turn), so an account
created outside accesshive is adopted, never duplicated; each matched account is
converged (``plan/converge.py``: only attributes accesshive manages and entitlements
declared in config are compared, after normalising, so a converged target diffs to
nothing). Accounts nobody owns are orphans: reported, and removed only when the
guardrail policy says so. The managed groups' changes (``plan/groups.py``) and the
credentials' (``plan/credentials.py``) come after every source's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from accesshive.config import Config
from accesshive.config.account_kinds import (
    DEFAULT_KIND,
    link_identity,
    split_link,
    telling_apart,
)
from accesshive.config.model import Source
from accesshive.expand.desired import DesiredAccount, DesiredState
from accesshive.plan.adoption import with_link
from accesshive.plan.changes import Adoption, Changes, Found, Orphan, SourceDiff
from accesshive.plan.converge import account_name, converge, creation
from accesshive.plan.credentials import credential_changes, vault_orphans
from accesshive.plan.groups import group_changes
from accesshive.plan.matching import Matcher, matching_order
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot, SnapshotAccount, SourceSnapshot


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
            orders = converge(desired, source, want, have)
            found[want.link] = (
                Found(tuple(orders), None, None, (have.external_id, "link", ()))
                if orders
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
                for c in converge(desired, source, want, dup, duplicate=True)
            )
    dup_ids = tuple(d.external_id for d in duplicates)
    if have is None:
        if not duplicates:
            changes.extend(creation(source, want))
        if not changes and not dup_ids and not matched_on:
            return _NOTHING
        return Found(tuple(changes), conflict, None, (None, matched_on, dup_ids))
    if matched_on == "link":
        changes.extend(converge(desired, source, want, have))
        return Found(tuple(changes), conflict, None, (have.external_id, matched_on, dup_ids))
    adoption = Adoption(sid, want.identity, have.external_id, matched_on, want.kind)
    # an adoption records the link, so the next plan finds the account by it
    changes.extend(with_link(source, want, have, converge(desired, source, want, have)))
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
    changes.extend(credential_changes(config, desired, snapshot, today, per_source))
    orphans.extend(vault_orphans(config, desired, snapshot))
    return Changes(tuple(changes), tuple(orphans), tuple(adoptions), tuple(conflicts))


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


def _unassigned(
    desired: DesiredState, source: Source, sid: str, have: SnapshotAccount
) -> Iterator[Change]:
    """An identity's account on a source it is no longer assigned (or one more account
    linked to it): its managed access goes. Named by its external id, as duplicates are:
    an identity may hold several such accounts."""
    managed = desired.managed_entitlements.get(sid, frozenset())
    name = account_name(source, have.attributes)
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
        name=account_name(source, have.attributes),
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
