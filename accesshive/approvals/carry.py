"""Carrying an approval to a re-plan: the "yes" a reviewer gave an order holds for the
identical order of a later plan (``accesshive retry``, the console's Retry, a re-plan
after a failed apply), and for nothing else.

An approval is signed for one plan (its digest is in the signed message). Without
carrying, a gated order that was approved, applied and failed on the target could never
be retried: the retry's plan is another plan, its step waits for an approval that nobody
is asked for. Declines already hold across re-plans of the same content
(``approvals/declines.py``); an approval is carried more narrowly, because a "yes" must
never reach further than what the reviewer saw. It is carried only when all hold:

- the order is identical: same order id (a digest of action, source, identity, account
  kind, entitlement) and the same body (kind, attributes, details, account name,
  sensitivity, assignee: everything the approval's content digest covers), compared
  with the order of the plan it was signed for, kept in the store. One difference is
  allowed: an identity's own account that plan was to create (no external id then) is
  the account created since (its external id now), named by the same identity, kind and
  name. Any other change of the order, however small, ends the approval;
- an apply of the plan it was signed for, in this environment's store, counted it (that
  run's ``apply_started`` audit entry lists the reviewer as an approver of the order):
  an approval of a plan that was never applied, or did not count there, is not carried;
- it verifies again under the current policies, for this plan's order and gate: the
  reviewer is still a reviewer with an unrevoked key in one of the gate's groups, the
  signature verifies over its own plan digest, and neither plan's author approves their
  own change (``model.evaluate`` with the plans carried from);
- the quorum is the current gate's;
- the approved order was not done: its latest state in the plan it was signed for is
  not ``verified`` (nor ``inactive``), and no run since that plan's first verified it,
  or its opposite (the revoke of a grant, the disabling or deletion of an account that
  was granted, created or enabled, and the other way round), in any plan, nor was its
  manual task marked done since. An order id is a hash of what the order does, so the
  re-grant of access that was granted, then removed by a later applied plan, has the
  id and content of the grant approved weeks before: what was approved was done, and
  a new "yes" is needed to do it again. Only the retry of an approved order that did
  not get done (it failed, errored, was blocked, or was left with a person) is carried.

What counts is audited (``approval_carried``) when an apply uses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from accesshive.approvals.files import approvals_files, read_approvals
from accesshive.approvals.model import Approval, Authorship, EarlierPlan, content_digest
from accesshive.errors import PlanFileError
from accesshive.plan.kinds import OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.planfile import from_json
from accesshive.store import Store


def carried(
    root: Path,
    plan: Plan,
    store: Store | None,
    authorship_of: Callable[[Plan], Authorship],
) -> tuple[list[Approval], dict[str, EarlierPlan]]:
    """The approvals of earlier plans that may count for ``plan``'s identical gated orders,
    and the plans they were signed for (for ``model.evaluate``, which checks each again).

    Without a store nothing is carried: no apply is on record."""
    gated = {o.id: o for o in plan.orders if o.gate}
    if not gated or store is None:
        return [], {}
    found = [
        a
        for path in approvals_files(root)
        if path.stem != plan.digest
        for a in read_approvals(path)
        if a.order in gated
    ]
    for signed_for, oid, cd, reviewer, evidence, at in store.approvals_of_orders(gated):
        if signed_for != plan.digest:
            found.append(
                Approval(signed_for, oid, cd, reviewer, at, via="github", evidence=evidence)
            )
    out: list[Approval] = []
    plans: dict[str, EarlierPlan] = {}
    for signed_for in sorted({a.plan_digest for a in found}):
        used = _used_by_apply(store, signed_for)
        mine = [
            a for a in found if a.plan_digest == signed_for and a.reviewer in used.get(a.order, ())
        ]
        content = store.plan_content(signed_for) if mine else None
        if content is None:
            continue
        try:
            earlier = from_json(json.loads(content), "stored plan")
        except (PlanFileError, ValueError):
            continue  # a plan of an older format: its approvals are not carried
        if earlier.digest != signed_for:
            continue  # not the plan the approvals were signed for
        same = {
            o.id: content_digest(o)
            for o in earlier.orders
            if o.id in gated and _identical(o, gated[o.id])
        }
        for oid in _done_since(store, signed_for, {oid: gated[oid] for oid in same}):
            del same[oid]
        plans[signed_for] = EarlierPlan(authorship_of(earlier), same)
        out += [a for a in mine if same.get(a.order) == a.content_digest]
    return out, plans


_DISABLE = (OrderKind.DISABLE_ACCOUNT, False)
_DELETE = (OrderKind.DELETE_ACCOUNT, False)


def _identical(before: Order, now: Order) -> bool:
    """The same order, but for the external id of the identity's own account that
    ``before``'s plan was to create (see the module's docstring)."""
    was, is_ = before.body(), now.body()
    if was["account"] is None and is_["identity"] is not None and before.id == now.id:
        is_["account"] = None  # the id names the identity's account: it is the same one
    return was == is_


def _used_by_apply(store: Store, plan_digest: str) -> dict[str, set[str]]:
    """Per order: the reviewers whose approval an apply of ``plan_digest`` counted."""
    used: dict[str, set[str]] = {}
    for _, details in store.audit_details(plan_digest, ("apply_started",)):
        for oid, reviewers in (json.loads(details).get("approved") or {}).items():
            used.setdefault(oid, set()).update(reviewers)
    return used


_OPPOSITES: dict[str, tuple[tuple[str, bool], ...]] = {
    # action -> (the action that undoes it, whether it keeps the entitlement)
    OrderKind.GRANT: ((OrderKind.REVOKE, True), _DISABLE, _DELETE),
    OrderKind.CREATE_ACCOUNT: (_DISABLE, _DELETE),
    OrderKind.ENABLE_ACCOUNT: (_DISABLE, _DELETE),
    OrderKind.REVOKE: ((OrderKind.GRANT, True),),
    OrderKind.DISABLE_ACCOUNT: (
        (OrderKind.ENABLE_ACCOUNT, False),
        (OrderKind.CREATE_ACCOUNT, False),
    ),
    OrderKind.DELETE_ACCOUNT: ((OrderKind.CREATE_ACCOUNT, False),),
}


def _ids_of(order: Order) -> set[str]:
    """The order's id and those of the orders that undo it (same source, identity,
    account and kind)."""
    change = order.change
    ids = {order.id, change.order_id()}
    for action, keeps in _OPPOSITES.get(change.action, ()):
        entitlement = change.entitlement if keeps else None
        ids.add(replace(change, action=action, entitlement=entitlement).order_id())
    return ids


def _done_since(store: Store, signed_for: str, orders: dict[str, Order]) -> set[str]:
    """Of ``orders``, those whose approval (signed for ``signed_for``) was used up: the
    approved order is done, or was undone, since that plan was first applied (see the
    module's docstring)."""
    runs = store.runs(signed_for)
    if not orders or not runs:
        return set(orders)
    done = store.done_since(
        {i for o in orders.values() for i in _ids_of(o)}, min(int(r["id"]) for r in runs)
    )
    return {oid for oid, o in orders.items() if _ids_of(o) & done}
