"""The documents of a config repository: any config file (``ConfigDocument``), the project
file ``accesshive.yaml`` (``ProjectDocument``) with the settings only it holds (policies,
environments, identity sources), and the collections a document may declare.

Why a module of its own: the loader (``config/loader.py``), the JSON Schemas
(``config/schema.py``) and the environments (``config/environments.py``) work on whole
documents, while most of the code needs only the items they declare
(``config/model.py``: ``Source``, ``Identity``...). Same rules as there: ``extra="forbid"``,
strict scalars, attribute docstrings as the schema's descriptions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from accesshive.config.model import (
    AccessProfile,
    AttributeSpec,
    Id,
    Identity,
    IdentitySource,
    LifecycleState,
    Model,
    Role,
    Source,
)


class PolicySettings(Model):
    use_defaults: bool = True
    """Load the shipped default policies before the repository's own."""
    paths: list[str] = Field(default_factory=lambda: ["policies"])
    """Directories of policy files, relative to the repository root."""


class Environment(Model):
    """One environment (sandbox, production...): its own store and connection overlays."""

    description: str | None = None
    store: str | None = None
    """State store: a SQLite path (relative to the repository) or postgresql://...; secrets only
    as references (${env:NAME}). Default: .accesshive/<environment>.db."""
    connections: dict[Id, dict[str, Any]] = Field(default_factory=dict)
    """Per source: connection settings that replace the source's own in this environment."""
    require_promotion_from: Id | None = None
    """Apply here only a config digest promoted from this environment (sandbox first)."""


class ConfigDocument(Model):
    """Any YAML file of a config repository."""

    sources: dict[Id, Source] = Field(default_factory=dict)
    identities: dict[Id, Identity] = Field(default_factory=dict)
    access_profiles: dict[Id, AccessProfile] = Field(default_factory=dict)
    roles: dict[Id, Role] = Field(default_factory=dict)
    lifecycle_states: dict[Id, LifecycleState] = Field(default_factory=dict)


class ProjectDocument(ConfigDocument):
    """accesshive.yaml, the root of a config repository."""

    version: Literal[1]
    """Config language version."""
    name: Id
    description: str | None = None
    include: list[str] = Field(default_factory=lambda: ["**/*.yaml", "**/*.yml"])
    """Glob patterns of config files, relative to the root."""
    exclude: list[str] = Field(default_factory=list)
    """Glob patterns to skip (policies/, approvals/ and hidden directories always are)."""
    policies: PolicySettings = Field(default_factory=PolicySettings)
    identity_attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    """The identity schema: attributes identities carry. When set, templates may only use these."""
    environments: dict[Id, Environment] = Field(default_factory=dict)
    """Environments with their own stores and connection overlays (sandbox, production...)."""
    default_environment: Id | None = None
    """The environment commands use without --env."""
    identity_sources: dict[Id, IdentitySource] = Field(default_factory=dict)
    """HR exports and directories that identities are imported from."""


COLLECTIONS: tuple[str, ...] = (
    "sources",
    "identities",
    "access_profiles",
    "roles",
    "lifecycle_states",
)

ITEM_MODELS: dict[str, type[Model]] = {
    "sources": Source,
    "identities": Identity,
    "access_profiles": AccessProfile,
    "roles": Role,
    "lifecycle_states": LifecycleState,
}
SINGULAR = {
    "sources": "source",
    "identities": "identity",
    "access_profiles": "access profile",
    "roles": "role",
    "lifecycle_states": "lifecycle state",
}
