"""The policy language: classification, review, guardrails and password rules.

Policies live apart from the organisation's config because security owns them:
shipped defaults in the top-level ``policies/``, overridden section by section
by the repository's own ``policies/`` directory. A section given in the
repository replaces the default section of the same name, whole: what a
reviewer reads in the repository is what applies.
"""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import Field, field_validator, model_validator

from accesshive.config.model import Id, Model, OrderKind
from accesshive.sshsig import PublicKey, SshSigError


class EntitlementSelector(Model):
    source: str = "*"
    """Glob over source ids."""
    entitlements: list[str] = Field(default_factory=lambda: ["*"])
    """Globs over entitlement names on those sources."""

    def matches(self, source: str, entitlement: str) -> bool:
        return fnmatch.fnmatchcase(source, self.source) and any(
            fnmatch.fnmatchcase(entitlement, pat) for pat in self.entitlements
        )


class ClassificationPolicy(Model):
    sensitive: list[EntitlementSelector] = Field(default_factory=list)
    """Entitlements whose grants need review. Source-declared ``sensitive: true`` counts too."""


class Reviewer(Model):
    groups: list[Id] = Field(default_factory=list)
    """Reviewer groups this person belongs to (review rules name groups)."""
    github: str | None = None
    public_key: str | None = None
    """One SSH public key (``ssh-ed25519 AAAA... [comment]``) that verifies this
    reviewer's approvals; shorthand for a one-line ``public_keys``."""
    public_keys: list[str] = Field(default_factory=list)
    """This reviewer's SSH public keys, one per line as in an allowed-signers file or a
    ``.pub`` file (``TYPE BASE64 [COMMENT]``): ssh-ed25519,
    sk-ssh-ed25519@openssh.com (FIDO), ecdsa-sha2-nistp256, ssh-rsa (2048 bits or more).
    An approval counts when one of them signed it."""
    revoked: bool = False
    """The reviewer's keys are revoked: approvals they signed count for nothing."""

    @field_validator("public_key")
    @classmethod
    def _one_key(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_key(value)
        return value

    @field_validator("public_keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for line in value:
            _parse_key(line)
        return value

    def ssh_keys(self) -> list[PublicKey]:
        """Every key that verifies this reviewer's approvals."""
        lines = [self.public_key] if self.public_key else []
        return [PublicKey.parse(line) for line in [*lines, *self.public_keys]]


def _parse_key(line: str) -> PublicKey:
    try:
        return PublicKey.parse(line)
    except SshSigError as exc:
        raise ValueError(f"not an SSH public key ({exc}): {line[:40]}...") from exc


class ReviewRule(Model):
    name: Id
    order_kinds: list[OrderKind] = Field(default_factory=list)
    """Order kinds this rule gates; empty means any kind."""
    sensitive_only: bool = False
    """Only orders on entitlements classified sensitive."""
    sources: list[str] = Field(default_factory=lambda: ["*"])
    """Globs over source ids."""
    access_profiles: list[str] = Field(default_factory=list)
    """Only grants coming from these access profiles (globs); empty means any."""
    reviewer_groups: list[Id] = Field(min_length=1)
    quorum: int = Field(default=1, ge=1)
    """How many distinct reviewers must approve."""


class ReviewPolicy(Model):
    reviewers: dict[Id, Reviewer] = Field(default_factory=dict)
    rules: list[ReviewRule] = Field(default_factory=list)
    allow_self_approval: bool = False
    require_author: bool = False
    """Count approvals only for plans whose author the store attests (``accesshive plan
    --author`` against this store, or the pull request read by ``approvals from-github``):
    without it, whoever makes the plan file can leave their own name out of it."""

    @model_validator(mode="after")
    def _one_reviewer_per_key(self) -> ReviewPolicy:
        """A key listed for two reviewers would let one person count twice in a quorum."""
        owner: dict[bytes, str] = {}
        for name, reviewer in sorted(self.reviewers.items()):
            for key in reviewer.ssh_keys():
                other = owner.setdefault(key.blob, name)
                if other != name:
                    raise ValueError(
                        f"the key {key.key_type} {key.fingerprint()} is listed for both "
                        f"'{other}' and '{name}': a key belongs to one reviewer"
                    )
        return self


class GuardrailPolicy(Model):
    max_removal_share: float = Field(default=0.10, ge=0, le=1)
    """Refuse a plan that disables or deletes more than this share of a source's accounts."""
    max_removal_count: int = Field(default=50, ge=0)
    """... or more than this many accounts on one source."""
    min_accounts_for_share: int = Field(default=20, ge=0)
    """The share rule applies only to sources with at least this many accounts."""
    orphans: Literal["report", "disable", "delete"] = "report"
    """What plan does with accounts no identity owns."""


CharacterClass = Literal["lower", "upper", "digit", "symbol"]
CHARACTER_CLASSES: tuple[CharacterClass, ...] = ("lower", "upper", "digit", "symbol")


class PasswordPolicy(Model):
    length: int = Field(default=24, ge=12, le=256)
    character_classes: list[CharacterClass] = Field(default_factory=lambda: list(CHARACTER_CLASSES))
    symbols: str = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
    max_age_days: int = Field(default=90, ge=1)

    @model_validator(mode="after")
    def _classes_fit(self) -> PasswordPolicy:
        if len(self.character_classes) > self.length:
            raise ValueError("length is shorter than the number of required character classes")
        return self


class LeaverPolicy(Model):
    immediate: list[Literal["revoke", "disable_account"]] = Field(default_factory=list)
    """Orders run at once, as their own audited apply, when an identity provider
    deactivates someone; everything else waits for the normal plan and apply."""
    sensitive_only: bool = False
    """Revoke only sensitive entitlements immediately."""


class PolicyDocument(Model):
    """A file in policies/: any of its sections."""

    classification: ClassificationPolicy | None = None
    review: ReviewPolicy | None = None
    guardrails: GuardrailPolicy | None = None
    password: PasswordPolicy | None = None
    leavers: LeaverPolicy | None = None


class Policies(Model):
    """The policies in force, after merging shipped defaults and the repository's own."""

    classification: ClassificationPolicy = Field(default_factory=ClassificationPolicy)
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)
    guardrails: GuardrailPolicy = Field(default_factory=GuardrailPolicy)
    password: PasswordPolicy = Field(default_factory=PasswordPolicy)
    leavers: LeaverPolicy = Field(default_factory=LeaverPolicy)


POLICY_SECTIONS = ("classification", "review", "guardrails", "password", "leavers")
