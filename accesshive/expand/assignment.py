"""Who is assigned what: roles (direct or by rule), access profiles, and sources.

Why a module of its own: ``validate`` needs it to refuse an API key that would
get a directory account, and ``expand`` needs it to build the desired state;
both must agree, so the rules live here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accesshive.config.account_kinds import DEFAULT_KIND
from accesshive.config.config import Config
from accesshive.config.model import CREDENTIAL_ONLY_TYPES, Identity


@dataclass(frozen=True)
class Assignment:
    """What one identity is assigned, each item with why (for plans and errors)."""

    roles: Mapping[str, str]
    """role id → "direct" or "rule"."""
    profiles: Mapping[str, str]
    """access profile id → "direct" or "role:<id>"."""
    sources: Mapping[str, str]
    """source id → why the identity needs its default account there."""
    kinds: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(source id, account kind) → why, for the accounts of a kind other than ``default``
    (an access profile grants to that kind)."""


def is_credential_only(identity: Identity) -> bool:
    """Identities that are a secret in the vault and never a directory account."""
    if identity.type in CREDENTIAL_ONLY_TYPES:
        return True
    return identity.type == "shared_credential" and credential_mode(identity) == "external"


def credential_mode(identity: Identity) -> str | None:
    if identity.type == "human":
        return None
    if identity.credential and identity.credential.mode:
        return identity.credential.mode
    return None if identity.type == "shared_credential" else "external"


def is_managed_credential(identity: Identity) -> bool:
    """A shared credential whose password accesshive generates on its Workspace account."""
    return identity.type == "shared_credential" and credential_mode(identity) == "managed"


def _fold(value: Any) -> str:
    return str(value).casefold()


def rule_roles(config: Config, identity: Identity) -> list[str]:
    """Roles whose membership rule the identity's attributes match (humans only)."""
    if identity.type != "human":
        return []
    rules = _folded_rules(config)
    if not rules:
        return []
    folded: dict[str, set[str]] = {}
    attributes = identity.attributes
    for key in _rule_keys(config):  # only the attributes some rule reads
        if key in attributes:
            value = attributes[key]
            folded[key] = {_fold(v) for v in (value if isinstance(value, list) else [value])}
    return sorted(
        rid
        for rid, rule in rules.items()
        if all(key in folded and folded[key] & wanted for key, wanted in rule.items())
    )


def _rule_keys(config: Config) -> frozenset[str]:
    keys = config.memo.get("rule_keys")
    if keys is None:
        keys = config.memo["rule_keys"] = frozenset(
            key for rule in _folded_rules(config).values() for key in rule
        )
    return keys


def _sorted_rule_keys(config: Config) -> tuple[str, ...]:
    keys = config.memo.get("sorted_rule_keys")
    if keys is None:
        keys = config.memo["sorted_rule_keys"] = tuple(sorted(_rule_keys(config)))
    return keys


def _folded_rules(config: Config) -> dict[str, dict[str, set[str]]]:
    """Each rule-based role's rule, case-folded once per config."""
    rules = config.memo.get("rules")
    if rules is None:
        rules = config.memo["rules"] = {
            rid: {
                key: {_fold(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
                for key, wanted in role.members_where.items()
            }
            for rid, role in config.roles.items()
            if role.members_where
        }
    return rules


def assign(config: Config, identity: Identity) -> Assignment:
    """The roles, profiles and sources of one identity (references assumed valid or skipped).

    Computed once per identity and config (validation and expansion both ask), and once
    for all identities alike in what it reads. The result is shared: never change it."""
    key = ("assign", id(identity))
    found = config.memo.get(key)
    if found is None or found[0] is not identity:  # the memo holds the identity: ids stay
        same = _alike(config, identity)
        shared = config.memo.get(same)
        if shared is None:
            shared = config.memo[same] = _assign(config, identity)
        found = config.memo[key] = (identity, shared)
    return found[1]


def _alike(config: Config, identity: Identity) -> tuple[Any, ...]:
    """Everything ``_assign`` reads of an identity: identities alike in these (most of
    a department, say) share one assignment, computed once."""
    credential = identity.credential
    if identity.type == "human":
        get = identity.attributes.get
        rule_values = tuple([_hashable(get(k)) for k in _sorted_rule_keys(config)])
    else:
        rule_values = ()
    return (
        "assignment of",
        identity.type,
        credential.mode if credential else None,
        credential.vault if credential else None,
        tuple(identity.roles),
        tuple(identity.access_profiles),
        tuple(identity.platforms),
        rule_values,
    )


def _hashable(value: Any) -> Any:
    """A value as part of a dict key: text as itself, anything else by type and repr."""
    return value if type(value) is str else (type(value).__name__, repr(value))


def _assign(config: Config, identity: Identity) -> Assignment:
    roles: dict[str, str] = dict.fromkeys(identity.roles, "direct")
    for rid in rule_roles(config, identity):
        roles.setdefault(rid, "rule")
    profiles: dict[str, str] = dict.fromkeys(identity.access_profiles, "direct")
    for rid in sorted(roles):
        role = config.roles.get(rid)
        for pid in role.access_profiles if role else ():
            profiles.setdefault(pid, f"role:{rid}")
    sources: dict[str, str] = dict.fromkeys(identity.platforms, "platform")
    kinds: dict[tuple[str, str], str] = {}
    for pid in sorted(profiles):
        profile = config.access_profiles.get(pid)
        if profile is None:
            continue
        if profile.account_kind == DEFAULT_KIND:
            sources.setdefault(profile.source, f"access profile {pid}")
        else:
            kinds.setdefault((profile.source, profile.account_kind), f"access profile {pid}")
    _add_flow_sources(config, identity, sources, {sid for sid, _ in kinds})
    return Assignment(roles=roles, profiles=profiles, sources=sources, kinds=kinds)


def _add_flow_sources(
    config: Config, identity: Identity, sources: dict[str, str], others: set[str]
) -> None:
    """The accounts an identity type's provisioning flow implies (ARCHITECTURE.md:
    identity types and dependency rules). ``others``: sources where the identity holds
    an account of another kind only (an admin account needs the IdP account too)."""
    gws = config.google_workspace
    vault = config.vault_for(identity)
    if identity.type == "human":
        needing = sorted(
            s
            for s in {*sources, *others}
            if s in config.sources and config.sources[s].requires_google_workspace
        )
        if needing and gws:
            sources.setdefault(gws, f"required by {needing[0]}")
            idp = config.identity_provider
            if idp:
                sources.setdefault(idp, "identity provider")
    elif is_managed_credential(identity):
        if gws:
            sources.setdefault(gws, "managed shared credential")
        if vault:
            sources.setdefault(vault, "credential")
    elif vault:
        sources.setdefault(vault, "credential")
