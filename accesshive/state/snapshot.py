"""``Snapshot``: the accounts, grants and credentials read from each source.

A snapshot is what plan diffs against and what a saved plan is bound to: each
source's ``fingerprint`` is a hash of its content, so apply can tell a plan made
against an older view of a target (stale) from a current one. Secrets never
appear here: vault entries carry metadata only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from accesshive.config.yamlio import Parse, YamlProblem, parse_bytes
from accesshive.errors import SnapshotError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class SnapshotAccount:
    """One account as read from a source.

    A slotted dataclass rather than a model: a large org's snapshot holds millions of
    them, and a model instance carries a ``__dict__`` and a set of the fields given
    (about 1 KB together) that a slotted instance does not."""

    external_id: str
    """The target's own id for the account (DN, SCIM id, primary key)."""
    identity: str | None = None
    """The identity accesshive linked this account to, when it created or adopted it."""
    enabled: bool = True
    attributes: dict[str, Any] = Field(default_factory=dict)
    grants: list[str] = Field(default_factory=list)
    """Entitlements the account holds on the source."""
    last_login: str | None = None

    @field_validator("attributes")
    @classmethod
    def _sorted_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Targets return attributes in any order; the same content must fingerprint alike."""
        return dict(sorted(value.items()))

    @field_validator("grants")
    @classmethod
    def _sorted_grants(cls, value: list[str]) -> list[str]:
        return sorted(value)


class SnapshotGroup(_Model):
    """The group of a managed entitlement (``managed: true``) as read from a source.

    Only managed entitlements' groups are read: an unmanaged group is known only through
    its members' grants, as it always was."""

    external_id: str
    """The target's own id for the group (SCIM id, LDAP entryUUID, Google group id)."""
    name: str
    """Its name on the target (SCIM displayName, LDAP cn, Google group name)."""
    entitlement: str | None = None
    """The entitlement id the group carries on the target (SCIM externalId, the LDAP
    ``group_key_attribute``, the Google group's email): what finds it again after a
    rename. None: a group accesshive has not created or adopted (found by its name)."""
    attributes: dict[str, Any] = Field(default_factory=dict)
    """The other attributes accesshive manages (``description``), when the target has them."""
    members: int = 0
    """How many members it has, accounts or not (a placeholder member left out): what
    tells a group whose deletion would strip people accesshive does not manage."""


class SnapshotCredential(_Model):
    identity: str
    kind: str
    stored_at: dt.date | None = None
    rotated_at: dt.date | None = None
    key_id: str | None = None


class SourceSnapshot(_Model):
    accounts: list[SnapshotAccount] = Field(default_factory=list)
    credentials: list[SnapshotCredential] = Field(default_factory=list)
    groups: list[SnapshotGroup] = Field(default_factory=list)
    """The groups of the source's managed entitlements (none without any)."""
    read_at: str | None = None
    """When sync read it (not part of the fingerprint)."""

    def fingerprint(self) -> str:
        """SHA-256 of the accounts (by external id), credentials (by identity) and
        managed groups (by external id).

        Serialised by pydantic-core: attributes and grants are kept sorted by the
        models, so the bytes depend on the content only.
        """
        digest = hashlib.sha256()
        digest.update(_ACCOUNTS.dump_json(sorted(self.accounts, key=lambda a: a.external_id)))
        digest.update(b"\0")
        digest.update(_CREDENTIALS.dump_json(sorted(self.credentials, key=lambda c: c.identity)))
        if self.groups:  # a source without managed groups fingerprints as it always did
            digest.update(b"\0")
            digest.update(_GROUPS.dump_json(sorted(self.groups, key=lambda g: g.external_id)))
        return digest.hexdigest()


_ACCOUNTS = TypeAdapter(list[SnapshotAccount])
_CREDENTIALS = TypeAdapter(list[SnapshotCredential])
_GROUPS = TypeAdapter(list[SnapshotGroup])


class Snapshot(_Model):
    version: int = 1
    sources: dict[str, SourceSnapshot] = Field(default_factory=dict)

    def source(self, sid: str) -> SourceSnapshot:
        return self.sources.get(sid) or SourceSnapshot()

    def fingerprints(self) -> dict[str, str]:
        return {sid: snap.fingerprint() for sid, snap in sorted(self.sources.items())}


def load_snapshot(path: Path) -> Snapshot:
    """Read a snapshot from a JSON or YAML file (tests, and `plan --snapshot`)."""
    return read_snapshot(path)[0]


def read_snapshot(path: Path, parse: Parse | None = None) -> tuple[Snapshot, str]:
    """The snapshot in a JSON or YAML file, and the SHA-256 of the file's bytes (what its
    fingerprints can be remembered by). ``parse``: how YAML is parsed (default
    ``yamlio.parse_bytes``; the pipeline passes the parse cache's).

    JSON is parsed straight into the models by pydantic-core (no intermediate
    dicts): a large org's snapshot is mostly JSON written by accesshive itself.
    """
    raw = read_snapshot_bytes(path)
    return parse_snapshot(path, raw, parse or parse_bytes), hashlib.sha256(raw).hexdigest()


def read_snapshot_bytes(path: Path) -> bytes:
    """The bytes of a snapshot file, or ``SnapshotError`` naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc.strerror}") from exc


def parse_snapshot(path: Path, raw: bytes, parse: Parse | None = None) -> Snapshot:
    """The snapshot in these bytes of ``path`` (JSON or YAML), validated."""
    parse = parse or parse_bytes
    try:
        if raw.lstrip()[:1] in (b"{", b"["):
            return Snapshot.model_validate_json(raw)
        parsed = parse(raw, str(path))
        return Snapshot.model_validate(parsed.data or {})
    except YamlProblem as problem:
        raise SnapshotError(f"snapshot {problem.diagnostic.render()}") from problem
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SnapshotError(
            f"snapshot {path} is malformed at {where}: {first['msg']} "
            f"({exc.error_count()} problem(s)); re-create it with `accesshive sync`"
        ) from exc
