"""``Config``: the whole validated configuration of one repository, as one value.

Every entity keeps its origin (file and key path) so that any later stage can
point a user at the YAML that caused a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accesshive.config.documents import ProjectDocument
from accesshive.config.model import (
    AccessProfile,
    Identity,
    LifecycleState,
    Role,
    Source,
)
from accesshive.config.policy import Policies
from accesshive.diagnostics import Diagnostic, Location


@dataclass(frozen=True)
class Config:
    root: Path
    project: ProjectDocument
    sources: Mapping[str, Source]
    identities: Mapping[str, Identity]
    access_profiles: Mapping[str, AccessProfile]
    roles: Mapping[str, Role]
    lifecycle_states: Mapping[str, LifecycleState]
    policies: Policies
    origins: Mapping[tuple[str, str], Location]
    """(collection, id) → where it is declared."""
    files: tuple[tuple[str, str], ...]
    """(display name, digest of its meaning) of every file read, sorted: what ``digest``
    covers (``meaning.meaning_digest``: comments and layout are not part of it)."""
    digest: str
    """SHA-256 over the meaning of every file read: the config digest a plan is bound to."""
    paths: Mapping[str, Path] = field(default_factory=dict)
    """Display name → real path, for placing diagnostics."""
    warnings: tuple[Diagnostic, ...] = ()
    invalid: frozenset[tuple[str, str]] = frozenset()
    """(collection, id) of entities declared but invalid: references to them are not
    reported again as dangling."""

    environment: str = "default"
    """The environment this config is seen in (connection overlays applied)."""
    policy_origins: Mapping[str, str] = field(default_factory=dict)
    """policy section → the file it was taken from."""
    memo: dict[Any, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Derived values computed once per config (assignments, sources by kind); never part
    of its meaning. Not an init field: a config made with ``dataclasses.replace`` (other
    sources, other identities) starts with an empty one."""

    def policy_origin(self, section: str, *path: str | int) -> Location:
        return Location(self.policy_origins.get(section, "policies"), (section, *path))

    def declares(self, collection: str, ident: str) -> bool:
        return ident in getattr(self, collection) or (collection, ident) in self.invalid

    def origin(self, collection: str, ident: str, *path: str | int) -> Location:
        base = self.origins.get((collection, ident))
        if base is None:
            return Location("accesshive.yaml", (collection, ident, *path))
        return base.child(*path)

    def sources_of_kind(self, kind: str) -> list[str]:
        key = ("sources_of_kind", kind)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = sorted(
                sid for sid, s in self.sources.items() if s.kind == kind
            )
        return list(found)

    @property
    def google_workspace(self) -> str | None:
        found = self.sources_of_kind("google_workspace")
        return found[0] if found else None

    @property
    def identity_provider(self) -> str | None:
        found = self.memo.get("identity_provider", False)
        if found is False:
            providers = sorted(sid for sid, s in self.sources.items() if s.identity_provider)
            found = self.memo["identity_provider"] = providers[0] if providers else None
        return found  # type: ignore[no-any-return]

    def vault_for(self, identity: Identity) -> str | None:
        if identity.credential and identity.credential.vault:
            return identity.credential.vault
        vaults = self.sources_of_kind("vault")
        return vaults[0] if len(vaults) == 1 else None
