"""Who is assigned what: roles (direct or by rule), access profiles, and sources.

Why a module of its own: ``validate`` needs it to refuse an API key that would
get a directory account, and ``expand`` needs it to build the desired state;
both must agree, so the rules live here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accesshive.config.config import Config
from accesshive.config.model import CREDENTIAL_ONLY_TYPES, Identity, Role


@dataclass(frozen=True)
class Assignment:
    """What one identity is assigned, each item with why (for plans and errors)."""

    roles: Mapping[str, str]
    """role id → "direct" or "rule"."""
    profiles: Mapping[str, str]
    """access profile id → "direct" or "role:<id>"."""
    sources: Mapping[str, str]
    """source id → why the identity needs an account there."""


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


def matches_rule(attributes: Mapping[str, Any], rule: Mapping[str, Any]) -> bool:
    """Every rule entry must match; a list in the rule means any of its values.

    Comparison is case-insensitive: HR feeds disagree on "Engineering"/"engineering".
    """
    for key, wanted in rule.items():
        have = attributes.get(key)
        if have is None:
            return False
        have_set = {_fold(v) for v in (have if isinstance(have, list) else [have])}
        want_set = {_fold(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
        if not have_set & want_set:
            return False
    return True


def _fold(value: Any) -> str:
    return str(value).casefold()


def rule_roles(roles: Mapping[str, Role], identity: Identity) -> list[str]:
    if identity.type != "human":
        return []
    return sorted(
        rid
        for rid, role in roles.items()
        if role.members_where and matches_rule(identity.attributes, role.members_where)
    )


def assign(config: Config, identity: Identity) -> Assignment:
    """The roles, profiles and sources of one identity (references assumed valid or skipped)."""
    roles: dict[str, str] = dict.fromkeys(identity.roles, "direct")
    for rid in rule_roles(config.roles, identity):
        roles.setdefault(rid, "rule")
    profiles: dict[str, str] = dict.fromkeys(identity.access_profiles, "direct")
    for rid in sorted(roles):
        role = config.roles.get(rid)
        for pid in role.access_profiles if role else ():
            profiles.setdefault(pid, f"role:{rid}")
    sources: dict[str, str] = dict.fromkeys(identity.platforms, "platform")
    for pid in sorted(profiles):
        profile = config.access_profiles.get(pid)
        if profile is not None:
            sources.setdefault(profile.source, f"access profile {pid}")
    _add_flow_sources(config, identity, sources)
    return Assignment(roles=roles, profiles=profiles, sources=sources)


def _add_flow_sources(config: Config, identity: Identity, sources: dict[str, str]) -> None:
    """The accounts an identity type's provisioning flow implies (DESIGN: dependency rules)."""
    gws = config.google_workspace
    vault = config.vault_for(identity)
    if identity.type == "human":
        needing = sorted(
            s
            for s in sources
            if s in config.sources and config.sources[s].requires_google_workspace
        )
        if needing and gws:
            sources.setdefault(gws, f"required by {needing[0]}")
            idp = config.identity_provider
            if idp:
                sources.setdefault(idp, "identity provider")
    elif identity.type == "shared_credential" and credential_mode(identity) == "managed":
        if gws:
            sources.setdefault(gws, "managed shared credential")
        if vault:
            sources.setdefault(vault, "credential")
    elif vault:
        sources.setdefault(vault, "credential")
