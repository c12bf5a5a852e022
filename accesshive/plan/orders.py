"""``Order``: one provisioning step of a plan, and ``Change``: what diff found.

Why ids are hashes of *what* an order does (action, source, account,
entitlement) and not of its position: an approval given to an order in a pull
request must still point at the same order after an unrelated change is pushed.
The ``content_digest`` covers everything the order would do, so an approval is
void if the order itself changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accesshive import jsontext
from accesshive.config.account_kinds import DEFAULT_KIND, account_link
from accesshive.plan.kinds import ACTIONS, ADDING, CHANGING, KIND_RANK, REMOVING, OrderKind
from accesshive.plan.states import OrderState

# ADDING, CHANGING, REMOVING and KIND_RANK: from ``kinds``, the one list of order kinds
__all__ = [
    "ADDING",
    "CHANGING",
    "KIND_RANK",
    "LINK_DETAIL",
    "NO_SNAPSHOT",
    "REMOVING",
    "Change",
    "Gate",
    "Need",
    "Order",
    "canonical_json",
    "digest",
]


LINK_DETAIL = "link"
"""The ``update_account`` detail that carries the identity link to record on an adopted
account (``plan/adoption.py`` sets it; apply writes and verifies it; ``show`` says it)."""

NO_SNAPSHOT = " has no snapshot: planned as if it were empty"
"""How a plan's warning about a source never synced ends: ``plan`` then says to sync."""


def canonical_json(value: Any) -> str:
    """The one serialisation that digests are computed over (``json.dumps``'s bytes with
    sorted keys and no whitespace, written by ``jsontext``)."""
    return jsontext.canonical(value)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Change:
    """One difference between desired and actual state: an order before it has an id."""

    action: str
    """The provisioning action (an order kind other than manual_task)."""
    source: str
    identity: str | None
    account: str | None = None
    """The target's external id, when the account exists."""
    name: str | None = None
    """The account's name on the target, for people reading the plan."""
    entitlement: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    """create: every managed attribute; update: {attribute: {"from": old, "to": new}}."""
    details: Mapping[str, Any] = field(default_factory=dict)
    sensitive: bool = False

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(
                f"'{self.action}' is not an order action ({', '.join(sorted(ACTIONS))})"
            )

    @property
    def account_kind(self) -> str:
        """The kind of account the order is about (``details["account_kind"]``, set only
        when it is not ``default``: a default account's order is as it always was)."""
        return str(self.details.get("account_kind", DEFAULT_KIND))

    @property
    def link(self) -> str | None:
        """What names the account's identity and kind on the target (``account_link``)."""
        return None if self.identity is None else account_link(self.identity, self.account_kind)

    def key(self) -> dict[str, Any]:
        """What identifies the step, whatever its attribute values; the account kind only
        when it is not the default (so a default account's order keeps its id)."""
        key = {
            "action": self.action,
            "source": self.source,
            "identity": self.identity,
            # an identity's one account is named by the identity (ids survive re-creation);
            # orphans, duplicates and accounts it is no longer assigned by their external id
            "account": self.account
            if self.identity is None
            or self.details.get("duplicate")
            or self.details.get("unassigned")
            else None,
            "entitlement": self.entitlement,
        }
        kind = self.details.get("account_kind")
        if kind:
            key["account_kind"] = kind
        return key

    def order_id(self) -> str:
        return digest(self.key())[:12]


@dataclass(frozen=True)
class Need:
    """What one review rule asks of an order: ``quorum`` approvals from ``groups``."""

    groups: tuple[str, ...]
    quorum: int

    def to_json(self) -> dict[str, Any]:
        return {"groups": list(self.groups), "quorum": self.quorum}


@dataclass(frozen=True)
class Gate:
    """The review an order needs: ``rules`` that matched it, their reviewer groups (all
    of them) and the largest quorum among them. When several rules match, ``requires``
    holds each rule's own need, and every one must be met: a sensitive grant that the
    security rule gates still needs security's approval when another rule lets the
    source's owners approve it too."""

    rules: tuple[str, ...]
    reviewer_groups: tuple[str, ...]
    quorum: int
    requires: tuple[Need, ...] = ()

    def needs(self) -> tuple[Need, ...]:
        """Every need to meet: each rule's, or the one rule's."""
        return self.requires or (Need(self.reviewer_groups, self.quorum),)

    def wanted(self, unit: str = "") -> str:
        """``1 of security`` (``unit``: ``1 approval(s) from security``); each rule's need
        joined by "and" when several rules gate the order."""
        joiner = f" {unit} from " if unit else " of "
        return " and ".join(f"{n.quorum}{joiner}{', '.join(n.groups)}" for n in self.needs())

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "rules": list(self.rules),
            "reviewer_groups": list(self.reviewer_groups),
            "quorum": self.quorum,
        }
        if self.requires:  # absent for one rule: such a plan reads as it always did
            body["requires"] = [n.to_json() for n in self.requires]
        return body


@dataclass(frozen=True)
class Order:
    id: str
    kind: str
    """The order kind; ``manual_task`` when the source is provisioned by a person."""
    change: Change
    depends_on: tuple[str, ...] = ()
    gate: Gate | None = None
    assignee: str | None = None
    """For manual tasks: the source owner who performs it."""

    def __post_init__(self) -> None:
        if self.kind not in (self.change.action, OrderKind.MANUAL_TASK):
            raise ValueError(
                f"order {self.id}: kind '{self.kind}' is neither its action "
                f"'{self.change.action}' nor manual_task"
            )

    @property
    def action(self) -> str:
        return self.change.action

    @property
    def state(self) -> OrderState:
        """The state the order starts in."""
        return OrderState.AWAITING_APPROVAL if self.gate else OrderState.PENDING

    def body(self) -> dict[str, Any]:
        """What the order does: the part an approval's content digest covers."""
        c = self.change
        return {
            "id": self.id,
            "kind": self.kind,
            "action": c.action,
            "source": c.source,
            "identity": c.identity,
            "account": c.account,
            "name": c.name,
            "entitlement": c.entitlement,
            "attributes": dict(c.attributes),
            "details": dict(c.details),
            "sensitive": c.sensitive,
            "assignee": self.assignee,
        }

    def to_json(self) -> dict[str, Any]:
        body = self.body()
        return {
            **body,
            "content_digest": digest(body),
            "depends_on": list(self.depends_on),
            "gate": self.gate.to_json() if self.gate else None,
            "state": self.state,
        }
