"""``Plan``: the orders to execute, bound to the inputs they were computed from.

A plan is data. It carries the format version, the tool version, the config
digest and each source's snapshot fingerprint, so apply can refuse a plan that
no longer matches its inputs; ``digest`` is the SHA-256 of its canonical JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from hashlib import sha256
from typing import Any

from accesshive import jsontext
from accesshive.plan.changes import Adoption, Orphan
from accesshive.plan.orders import Gate, Order, digest

FORMAT_VERSION = 1

POLICY_CHANGE = "policy-change"
"""The id an approval of a plan's policy change names in place of an order's."""


@dataclass(frozen=True)
class PolicyChange:
    """What a plan's change to the review policies adds or loosens, and who must approve
    it: the reviewers of the policies in force (``gate``)."""

    in_force: str
    """Digest of the policies in force (``PoliciesInForce.digest``)."""
    proposed: str
    """Digest of the repository's policies: what is put in force once approved."""
    loosens: tuple[str, ...]
    """What the change adds or loosens, for the reviewer (``loosening``)."""
    gate: Gate

    def to_json(self) -> dict[str, Any]:
        return {
            "in_force": self.in_force,
            "proposed": self.proposed,
            "loosens": list(self.loosens),
            "gate": self.gate.to_json(),
        }

    @property
    def content_digest(self) -> str:
        """What an approval of it signs: the move from these policies to those, with why
        and by whose review (as an order's content digest covers the order)."""
        return digest(self.to_json())

    def summary(self) -> str:
        return "change the review policies: " + "; ".join(self.loosens)


@dataclass(frozen=True)
class Plan:
    project: str
    tool_version: str
    config_digest: str
    fingerprints: dict[str, str]
    orders: tuple[Order, ...]
    orphans: tuple[Orphan, ...]
    adoptions: tuple[Adoption, ...]
    warnings: tuple[str, ...] = ()
    allow_mass_changes: bool = False
    identities: dict[str, dict[str, Any]] | None = None
    """id → type and lifecycle state, for identities that have orders."""
    author: str | None = None
    """Who proposed the change (a pull request's author): they cannot approve it."""
    scope: tuple[str, ...] | None = None
    """The identities a partial plan is cut down to (``retry``, a leaver's immediate
    orders); None for a plan of the whole repository. What is not in a whole plan is no
    longer needed by anyone; what is not in a partial one may still be."""
    environment: str | None = None
    """The environment the plan was made for (None: made without a store, or before it
    was kept). Part of the digest, so an approval of the sandbox's plan is not one of
    production's, even when both plans hold the same orders; apply refuses a plan of
    another environment."""
    after_run: int | None = None
    """The store's latest run in the environment when the plan was made (None: made
    without a store, or before any run). Part of the digest: a plan made after other runs
    is another plan, even with the same orders (a grant revoked and given again the same
    day is not the first grant's plan, whose orders are done and whose approvals were
    given for it)."""
    planned_on: str | None = None
    """The day the plan was made for (ISO date; None in plans made before it was kept):
    what is due (a rotation, a retention deletion, a lifecycle step) depends on it, so
    apply, on a later day, tells a plan the date made stale from a forged one
    (``apply/stale.py``)."""
    policy_change: PolicyChange | None = None
    """What the change adds to or loosens in the review policies in force, which must
    approve it before its policies are put in force (``accesshive/policy_change.py``).
    For the reviewer: approvals and apply compute it again, never from the plan file."""

    @property
    def has_changes(self) -> bool:
        return bool(self.orders)

    def order(self, oid: str) -> Order:
        for o in self.orders:
            if o.id == oid:
                return o
        raise KeyError(oid)

    def for_identity(self, identity: str) -> Plan:
        """The part of the plan that concerns one identity (for `accesshive retry`)."""
        return self.only(lambda o: o.change.identity == identity, (identity,))

    def only(self, keep: Callable[[Order], bool], scope: tuple[str, ...] | None = None) -> Plan:
        """The orders ``keep`` selects, with the dependencies among them: a new plan,
        partial, of the identities in ``scope`` (default: those of the orders kept)."""
        kept = tuple(o for o in self.orders if keep(o))
        ids = {o.id for o in kept}
        identities = {o.change.identity for o in kept}
        orders = tuple(
            replace(o, depends_on=tuple(d for d in o.depends_on if d in ids)) for o in kept
        )
        return replace(
            self,
            orders=orders,
            orphans=(),
            adoptions=tuple(a for a in self.adoptions if a.identity in identities),
            identities={k: v for k, v in (self.identities or {}).items() if k in identities},
            scope=tuple(sorted(scope if scope is not None else {i for i in identities if i})),
        )

    def summary(self) -> dict[str, Any]:
        kinds = Counter(o.kind if o.kind == "manual_task" else o.action for o in self.orders)
        sources = Counter(o.change.source for o in self.orders)
        return {
            "orders": len(self.orders),
            "gated": sum(1 for o in self.orders if o.gate),
            "manual_tasks": sum(1 for o in self.orders if o.kind == "manual_task"),
            "by_kind": dict(sorted(kinds.items())),
            "by_source": dict(sorted(sources.items())),
            "orphans": len(self.orphans),
            "adoptions": len(self.adoptions),
            "identities": len({o.change.identity for o in self.orders if o.change.identity}),
        }

    def body(self) -> dict[str, Any]:
        """Everything the digest covers (no timestamps: same inputs, same bytes)."""
        return dict(self._body)

    @cached_property
    def _body(self) -> dict[str, Any]:
        """Built once: the digest, the plan file and the store all serialise it."""
        return {
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "project": self.project,
            "config_digest": self.config_digest,
            "snapshot_fingerprints": dict(sorted(self.fingerprints.items())),
            "options": {"allow_mass_changes": self.allow_mass_changes},
            "author": self.author,
            "orders": [o.to_json() for o in self.orders],
            "edges": [[dep, o.id] for o in self.orders for dep in o.depends_on],
            "orphans": [vars(x) for x in self.orphans],
            "adoptions": [x.to_json() for x in self.adoptions],
            "identities": self.identities or {},
            "warnings": list(self.warnings),
            "summary": self.summary(),
            **({} if self.scope is None else {"scope": list(self.scope)}),
            **({} if self.planned_on is None else {"planned_on": self.planned_on}),
            **({} if self.environment is None else {"environment": self.environment}),
            **({} if self.after_run is None else {"after_run": self.after_run}),
            **(
                {}
                if self.policy_change is None
                else {"policy_change": self.policy_change.to_json()}
            ),
        }

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the canonical body (computed once: a plan never changes)."""
        return sha256(jsontext.canonical(self._body, self.plain).encode("utf-8")).hexdigest()

    @cached_property
    def plain(self) -> bool:
        """``jsontext.is_plain`` of the body, found once for the digest and the plan file."""
        return jsontext.is_plain(self._body)

    def canonical(self) -> str:
        return jsontext.canonical(self._body, self.plain)
