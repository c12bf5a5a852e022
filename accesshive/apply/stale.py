"""Is a saved plan genuine, and still right for the targets? Checked just before apply.

Why apply plans again: a plan file is an artefact anyone with write access to a
pull request or a CI cache can edit, and its digest is an unkeyed hash that the
package's own functions recompute. So apply trusts nothing in it but the order ids
and their dependencies: it recomputes the plan from the repository (its policies
included) and the snapshot, and every remaining order must be what that gives.

The sources the remaining orders touch are read live (vaults and manual sources
are taken as stored). Where a source's fingerprint still matches the plan's, the
snapshot is the one the plan was made from, and each order must come out of the
recomputed plan exactly, review gate and sensitivity included: anything else is a
forged or corrupted plan, refused. Where the fingerprint differs, the target
changed, and the orders are compared by substance:
- an order that is no longer needed becomes ``inactive`` when reached;
- an order whose substance changed, or work the saved plan does not contain,
  makes the plan stale: apply refuses and lists what changed;
- an order whose review gate or sensitivity differs from what the policies give
  now is refused as forged.
Changes that leave the orders as they were (someone else's edits elsewhere,
or our own earlier partial run) do not stop apply.
And the plan must not lack anything: an order planning gives on an unchanged source
that the plan does not hold, or dependencies among its remaining orders other than
planning's, is forged too (``apply/omissions.py``).

The sources are read at once, each on a thread (``apply/reads.py``), each read whole or
failed alone, as ``sync`` reads them; what they gave is looked at in sorted order.

A source that cannot be read (refusing connections, timing out) is not checked: its
orders cannot be proven current, so none of them is sent (``unreadable``: apply marks
them ``errored``, "could not read <source> to check the plan is current: <message>",
and blocks what depends on them), while the other sources' orders are checked as above
and run. Its stored snapshot stands in for it in the recomputed plan; where that is
the snapshot the plan was made from, its orders must still come out of it exactly (a
forged order is refused even on a source that is down).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from accesshive.apply.omissions import as_cut, omissions
from accesshive.apply.outage import target_failure
from accesshive.apply.reads import at_once
from accesshive.config import Config
from accesshive.expand.desired import DesiredState
from accesshive.plan.build import make_plan
from accesshive.plan.changes import Changes
from accesshive.plan.diff import diff
from accesshive.plan.kinds import OrderKind
from accesshive.plan.known_accounts import TaskRecord
from accesshive.plan.model import Plan
from accesshive.plan.orders import Change, Order
from accesshive.policies_in_force import policy_warnings
from accesshive.state.snapshot import Snapshot, SourceSnapshot
from accesshive.sync import READERS, read_source


@dataclass
class Staleness:
    changed_sources: list[str] = field(default_factory=list)
    inactive: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)
    """Orders that are not what planning gives from this repository and snapshot."""
    live: dict[str, SourceSnapshot] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    """order id → the account it acts on, as the live state shows it (for orders whose
    account was created by an earlier, interrupted run), or, for the rotation of a managed
    password, the account the snapshot links to the identity on its account source."""
    unreadable: dict[str, str] = field(default_factory=dict)
    """source → why it could not be read: its orders are not sent."""
    planned_on_another_day: str | None = None
    """The day the plan was made for, when only the date makes it differ (``problems``
    then say what is due now that was not then)."""


def _substance(order: Order) -> dict[str, Any]:
    """What an order does, without what only the moment of planning decided."""
    c = order.change
    attrs: Any = (
        {k: v["to"] for k, v in c.attributes.items()}
        if c.action == "update_account"
        else dict(c.attributes)
    )
    return {
        "kind": order.kind,
        "action": c.action,
        "source": c.source,
        "identity": c.identity,
        "entitlement": c.entitlement,
        "attributes": attrs,
    }


def check_stale(
    config: Config,
    desired: DesiredState,
    plan: Plan,
    done: set[str],
    stored: Callable[[], tuple[Snapshot, dict[str, str]]],
    today: dt.date,
    known_tasks: Mapping[str, TaskRecord] | None = None,
    guard: Callable[[Plan], Plan] = lambda fresh: fresh,
    readers: int = READERS,
    part: Callable[[Plan], Plan] | None = None,
    known: Callable[[Changes, Snapshot], Changes] = lambda found, snapshot: found,
    desired_on: Callable[[dt.date], DesiredState] | None = None,
) -> Staleness:
    """``stored``: reads the stored snapshot and its fingerprints (what the sources apply
    does not read live are taken from). ``known_tasks``: as ``make_plan`` takes them
    (the plan was made with them: the recomputed one must be too). ``guard``: gates the
    recomputed plan by the review policies in force too, as ``plan`` did
    (``plan.gates.guarded``), from the store, never from the plan file. ``readers``:
    sources read live at once (1: one after the other). ``known``: what ``plan`` drops
    from diff's changes as the store knows them done (``as_the_store_knows``), so that
    the re-plan is what ``plan`` gives. ``part``: how the plan was cut
    from planning's whole one when not by its scope alone (a leaver's immediate orders;
    ``apply/omissions.py``). ``desired_on``: the desired state on another day (a plan
    made for an earlier day is compared on its own day too: see ``planned_on``).

    A plan with no order at all is checked too: one with every order deleted must not
    pass (its run would cancel every open task as no longer needed). One whose orders
    were all done by earlier runs of it was checked then, and runs nothing now."""
    result = Staleness()
    remaining = [o for o in plan.orders if o.id not in done]
    if not remaining and done:
        return result
    involved = sorted({o.change.source for o in remaining})
    readable = [sid for sid in involved if _readable(config, sid)]
    # at once, each on a thread (apply/reads.py): whole or failed, in sorted order
    for sid, read in at_once(readable, lambda sid: read_source(config, sid), readers):
        if isinstance(read, Exception):
            message = target_failure(read)
            if message is None:
                raise read  # not the target failing: a bug, keep its traceback
            result.unreadable[sid] = message
        else:
            result.live[sid] = read
    snapshot, stored_fingerprints = stored()
    compare = partial(
        _compared,
        config=config,
        desired=desired,
        plan=plan,
        done=done,
        remaining=remaining,
        involved=involved,
        snapshot=snapshot,
        stored_fingerprints=stored_fingerprints,
        known_tasks=known_tasks,
        guard=guard,
        part=part,
        known=known,
    )
    compare(result, today)
    day = plan.planned_on
    if result.forged and day is not None and day != today.isoformat():
        # made on another day: what is due changed with the date (a rotation, a retention
        # deletion). On its own day the plan must be exactly what planning gave: else
        # forged; if it is, the date made it stale, and it is planned again
        then = Staleness(live=result.live, unreadable=result.unreadable)
        on = dt.date.fromisoformat(day)
        compare(then, on, desired=desired_on(on) if desired_on else desired)
        if not then.forged:
            result.problems = [
                *(
                    f"{line} (on {today.isoformat()}; it was planned on {day})"
                    for line in result.forged
                ),
                *result.problems,
            ]
            result.forged = []
            result.planned_on_another_day = day
    return result


def _compared(
    result: Staleness,
    today: dt.date,
    *,
    config: Config,
    desired: DesiredState,
    plan: Plan,
    done: set[str],
    remaining: list[Order],
    involved: list[str],
    snapshot: Snapshot,
    stored_fingerprints: dict[str, str],
    known_tasks: Mapping[str, TaskRecord] | None,
    guard: Callable[[Plan], Plan],
    part: Callable[[Plan], Plan] | None,
    known: Callable[[Changes, Snapshot], Changes],
) -> None:
    """The plan's remaining orders compared with planning's on ``today``, into
    ``result`` (whose ``live`` and ``unreadable`` sources are read already)."""
    sources = {**snapshot.sources, **result.live}

    def unchanged(sid: str) -> bool:
        """The source's snapshot (read now, else stored) is the one the plan was made from."""
        current = (
            result.live[sid].fingerprint()
            if sid in result.live
            else stored_fingerprints.get(sid) or SourceSnapshot().fingerprint()
        )
        return current == plan.fingerprints.get(sid)

    result.changed_sources.extend(sid for sid in involved if not unchanged(sid))
    current = Snapshot(sources=sources)
    found = diff(config, desired, current, today)
    settled = known(found, current)
    fresh = guard(
        make_plan(
            config,
            desired,
            current,
            today,
            allow_mass_changes=True,
            found=settled,
            fingerprints={},  # only its orders are compared with the plan's
            known_tasks=known_tasks,
        )
    )
    # work the store knows done since the plan (a manual task marked done meanwhile):
    # the re-plan no longer gives it, which is no forgery; the executor records the
    # task's handover and verifies the order (its task is done), as before. The order
    # must still say what diff gives: only the moment it was done differs
    known_done: dict[str, Change] = {}
    if settled.changes is not found.changes:
        kept = {c.order_id() for c in settled.changes}
        known_done = {oid: c for c in found.changes if (oid := c.order_id()) not in kept}
    fresh_by_id = {o.id: o for o in fresh.orders}
    result.accounts.update(_rotated_accounts(remaining, sources))
    changed = set(result.changed_sources)
    # the saved orders' JSON was built when the plan file's digest was checked: reused
    saved_json = dict(zip((o.id for o in plan.orders), plan.body()["orders"], strict=True))
    for order in remaining:
        if order.id in known_done:
            if replace(order.change, sensitive=False) != replace(
                known_done[order.id], sensitive=False
            ):
                result.forged.append(_not_planned(order, None))
            continue
        now = fresh_by_id.get(order.id)
        if order.change.source not in changed:
            if now is None or _exact(now) != _exact(order, saved_json[order.id]):
                result.forged.append(_not_planned(order, now))
            continue
        if order.change.source in result.unreadable:
            continue  # not read: nothing to compare with, and it is not sent
        if now is not None and now.change.account:
            result.accounts[order.id] = now.change.account
        if now is None:
            result.inactive.add(order.id)
        elif _substance(now) != _substance(order):
            result.problems.append(
                f"order {order.id} ({order.action} on {order.change.source}) would now be "
                f"different: {_substance(order)} → {_substance(now)}"
            )
        elif _review(now) != _review(order):
            result.forged.append(_not_planned(order, now))
    _warned(plan, fresh, result)
    left_out = omissions(
        plan,
        as_cut(plan, part)(fresh).orders,
        done | result.inactive | set(known_done),  # nothing is held back by these any more
        unchanged,
        result.unreadable,
    )
    result.forged.extend(left_out.forged)
    result.problems.extend(left_out.problems)
    result.changed_sources.extend(sorted(left_out.changed - set(result.changed_sources)))


def _in_force_named(warning: str) -> str:
    """The digest of the policies in force a policy warning names (``(policies in force
    1a2b3c4d5e6f)``), or the whole warning when it names none."""
    found = re.search(r"\(policies in force ([0-9a-f]{12})\)", warning)
    return found.group(1) if found else warning


def _warned(plan: Plan, fresh: Plan, result: Staleness) -> None:
    """The warning that the change edits the review policies in force is what a
    reviewer reads first: a plan without it, where planning gives it, is forged (its
    gates are checked order by order, but the reviewer was not told why they are what
    they are). One with another such warning was planned under other policies in force:
    stale."""
    if plan.scope is None and plan.policy_change != fresh.policy_change:
        # what the change adds to or loosens in the policies in force, for the reviewer
        # (its approval is judged by what apply computes, never by this)
        if plan.policy_change is None:
            result.forged.append(
                "the plan lacks the policy change planning gives, which the policies in "
                f"force must approve: {fresh.policy_change.summary()[:160]}"  # type: ignore[union-attr]
            )
        else:
            result.problems.append(
                "the change to the review policies that the policies in force must approve "
                "is not the one planning gives now (the policies in force changed since "
                "the plan was made)"
            )
    wanted = policy_warnings(fresh.warnings)
    held = policy_warnings(plan.warnings)
    if not wanted or set(wanted) <= set(plan.warnings):
        return
    if held and not {_in_force_named(w) for w in held} & {_in_force_named(w) for w in wanted}:
        result.problems.append(
            "the review policies in force changed since the plan was made (its first "
            "warning names other policies in force than planning does now)"
        )
    elif held:  # the same policies in force, another text: edited, not made stale
        result.forged.append(
            "the plan's warning that this change edits the review policies in force is "
            f"not the one planning gives for the same policies in force: {wanted[0][:160]}…"
        )
    else:
        result.forged.append(
            "the plan lacks the warning planning gives first, that this change edits the "
            f"review policies in force: {wanted[0][:160]}…"
        )


def _rotated_accounts(remaining: list[Order], sources: dict[str, SourceSnapshot]) -> dict[str, str]:
    """order id → the account whose password a managed rotation sets: the one the snapshot
    links to the identity on the credential's account source (no order of the plan
    names it: the account was created by an earlier apply)."""
    found: dict[str, str] = {}
    linked: dict[str, dict[str, str]] = {}  # source → identity → account, built once
    for order in remaining:
        source = order.change.details.get("account_source")
        if order.action != OrderKind.ROTATE_CREDENTIAL or source not in sources:
            continue
        if source not in linked:
            linked[source] = {
                a.identity: a.external_id for a in sources[source].accounts if a.identity
            }
        account = linked[source].get(order.change.identity or "")
        if account is not None:
            found[order.id] = account
    return found


def _exact(order: Order, as_json: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything an order says but its dependencies (which a partial run or a retry
    legitimately narrows to the orders still in the plan); ``as_json``: its
    ``to_json()``, when the plan already holds it."""
    out = dict(as_json) if as_json is not None else order.to_json()
    del out["depends_on"]
    return out


def _review(order: Order) -> tuple[Any, bool]:
    return (order.gate.to_json() if order.gate else None, order.change.sensitive)


def _not_planned(order: Order, now: Order | None) -> str:
    what = f"order {order.id} ({order.action} on {order.change.source})"
    if now is None:
        return f"{what} is not an order planning gives for this repository and snapshot"
    if _review(now) != _review(order):
        gate = f"gated for {', '.join(now.gate.reviewer_groups)}" if now.gate else "not gated"
        sensitive = "sensitive" if now.change.sensitive else "not sensitive"
        return (
            f"{what} carries a review gate or sensitivity the policies do not give it "
            f"(they say: {gate}, {sensitive})"
        )
    fields = sorted(k for k, v in _exact(order).items() if _exact(now).get(k) != v)
    return f"{what} differs from what planning gives in {', '.join(fields)}"


def _readable(config: Config, sid: str) -> bool:
    source = config.sources.get(sid)
    return (
        source is not None
        and source.kind != "vault"
        and source.effective_provisioning == "automatic"
    )
