"""Converging one account: the orders that create a wanted account, or bring an existing
one to what is wanted (attributes, enabled, grants, revokes, disable, delete).

Why a module of its own: it is the comparison at the heart of diff, run for every account
of every source (hundreds of thousands in a large org), so it decides "nothing to do"
before it builds anything (``_converged``). Only attributes accesshive manages and
entitlements declared in config are compared, after normalising (case, spacing, list
order, boolean spellings): a converged target diffs to nothing.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from accesshive.config.account_kinds import DEFAULT_KIND
from accesshive.config.model import Source
from accesshive.expand.desired import DesiredAccount, DesiredState
from accesshive.expand.values import is_empty, normalize
from accesshive.plan.orders import Change
from accesshive.state.snapshot import SnapshotAccount


def account_name(source: Source, attributes: Mapping[str, Any]) -> str | None:
    attr = source.account.name_attribute
    value = attributes.get(attr) if attr else None
    return str(value) if value is not None else None


def creation(source: Source, want: DesiredAccount) -> Iterator[Change]:
    if want.state == "absent" or not want.create_if_missing:
        return
    name = account_name(source, want.attributes)
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


def converge(
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
    name = account_name(source, have.attributes) or account_name(source, want.attributes)
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
    only means "look closer" (``converge`` then works out what differs, if anything)."""
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
