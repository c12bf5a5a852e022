"""The policy language: classification, review, guardrails, password and notification
rules.

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
from accesshive.config.secrets import is_reference
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
    identity: Id | None = None
    """The reviewer's own identity id, when it is not their reviewer name. An approval
    never counts for an order on the reviewer's own identity (one whose id is this, or
    their reviewer name, or whose ``email`` attribute is their ``email``) nor on an
    identity it owns (``owner:``): nobody reviews their own access
    (``approvals/beneficiary.py``)."""
    email: str | None = None
    """The reviewer's email: an identity whose ``email`` attribute equals it (case
    ignored) is the reviewer's own."""

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


class PolicyChangeReview(Model):
    """Who approves a change that adds to or loosens the review policies in force
    (``accesshive/policy_change.py``); unset: every rule in force's reviewers."""

    reviewer_groups: list[Id] = Field(min_length=1)
    quorum: int = Field(default=1, ge=1)


class ReviewPolicy(Model):
    reviewers: dict[Id, Reviewer] = Field(default_factory=dict)
    rules: list[ReviewRule] = Field(default_factory=list)
    policy_changes: PolicyChangeReview | None = None
    """Who approves a change to these policies that adds or loosens anything (a reviewer,
    a key, a rule removed...), judged by the policies in force: by default, each rule's
    reviewer groups and quorum."""
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


NotificationEvent = Literal[
    "apply_failed", "source_down", "review_waiting", "drift_found", "orphans_found", "idp_leaver"
]
NOTIFICATION_EVENTS: tuple[str, ...] = NotificationEvent.__args__  # type: ignore[attr-defined]


class NotificationTarget(Model):
    """Where notifications go: a Slack-compatible incoming webhook (``{"text": ...}``) or
    a generic JSON POST signed with HMAC-SHA256 (``webhook``)."""

    kind: Literal["slack", "webhook"]
    url: str
    """A Slack webhook URL is itself the secret (whoever has it can post): it must be a
    reference (``${env:NAME}``, ``${file:PATH}``). A ``webhook`` URL may be written out."""
    secret: str | None = None
    """``webhook`` only, as a reference: the key of the ``X-Accesshive-Signature``
    header, so the receiver knows the message is accesshive's and unchanged."""

    @model_validator(mode="after")
    def _secrets_are_references(self) -> NotificationTarget:
        if self.kind == "slack" and not is_reference(self.url):
            raise ValueError(
                "a Slack webhook URL is a secret: write it as a reference, for example "
                "url: ${env:SLACK_WEBHOOK_URL}"
            )
        if self.kind == "slack" and self.secret is not None:
            raise ValueError("secret is for kind webhook; Slack checks its own URL")
        if self.secret is not None and not is_reference(self.secret):
            raise ValueError(
                "secret must be a reference (${env:NAME} or ${file:PATH}), never the value"
            )
        if not is_reference(self.url) and not self.url.startswith(("https://", "http://")):
            raise ValueError(f"url '{self.url}' is not an http(s) URL or a reference")
        return self


class NotificationRule(Model):
    events: list[NotificationEvent] = Field(min_length=1)
    to: list[Id] = Field(min_length=1)
    """Names of targets declared in ``targets``."""


class NotificationPolicy(Model):
    """Who is told when something needs them: an apply that failed, a source that is
    down, orders waiting for review too long, drift or orphans found by the nightly
    report, a leaver pushed by an identity provider."""

    targets: dict[Id, NotificationTarget] = Field(default_factory=dict)
    rules: list[NotificationRule] = Field(default_factory=list)
    review_waiting_hours: float = Field(default=24.0, gt=0)
    """A gated order unapproved (and not declined) this long after its plan was made
    is reported as waiting."""

    @model_validator(mode="after")
    def _rules_name_targets(self) -> NotificationPolicy:
        for rule in self.rules:
            unknown = sorted(set(rule.to) - set(self.targets))
            if unknown:
                known = ", ".join(sorted(self.targets)) or "none declared"
                raise ValueError(
                    f"a rule sends to {', '.join(unknown)}, which is not among the "
                    f"targets ({known}); declare it under notifications.targets"
                )
        return self

    def targets_for(self, event: str) -> list[str]:
        """The targets an event goes to, each once, in a stable order."""
        return sorted({t for rule in self.rules if event in rule.events for t in rule.to})


class PolicyDocument(Model):
    """A file in policies/: any of its sections."""

    classification: ClassificationPolicy | None = None
    review: ReviewPolicy | None = None
    guardrails: GuardrailPolicy | None = None
    password: PasswordPolicy | None = None
    leavers: LeaverPolicy | None = None
    notifications: NotificationPolicy | None = None


class Policies(Model):
    """The policies in force, after merging shipped defaults and the repository's own."""

    classification: ClassificationPolicy = Field(default_factory=ClassificationPolicy)
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)
    guardrails: GuardrailPolicy = Field(default_factory=GuardrailPolicy)
    password: PasswordPolicy = Field(default_factory=PasswordPolicy)
    leavers: LeaverPolicy = Field(default_factory=LeaverPolicy)
    notifications: NotificationPolicy = Field(default_factory=NotificationPolicy)


POLICY_SECTIONS = (
    "classification",
    "review",
    "guardrails",
    "password",
    "leavers",
    "notifications",
)
