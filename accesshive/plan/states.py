"""The states of an order, and the one table of the transitions between them.

A plan gives each order its first state (``pending``, or ``awaiting_approval`` when a
review gate holds it); apply moves it on, and the store refuses a move the table does
not hold (``IllegalTransition``): every write of an order's state, by any writer, is
checked against the order's latest recorded state in the same plan.

What the table says, and why:

- ``verified`` and ``inactive`` are final: nothing moves an order out of them, so a
  re-run never repeats it (``DONE``).
- Only an order that was sent can be ``executed`` or ``verified`` (the target's answer,
  or its read-back, decides): no order is verified without having been ``transmitted``
  first. ``errored`` is the target's failure: its answer to an order that was sent, or
  its source being unreachable, which fails an order that was never sent (held,
  blocked, approved, or failed before) without sending it: the source could not be
  read to check the plan is current, or it went down during the run
  (``accesshive.apply.outage``). That is the target's failure, not ours (``error``).
- An order that may have reached its target (``transmitted``, ``executed``) never goes
  back to ``pending`` or ``blocked``: that would forget that it must be looked at on
  the target before it is sent again. A re-run either finds it done there
  (``verified``), sends it again (``transmitted``), finds it no longer needed
  (``inactive``), or holds it for an approval that is no longer there
  (``awaiting_approval``; once approved again it is sent without that look, which the
  connectors' idempotent writes make safe).
- What depends on an order runs only once the order is ``DONE``, which is final, so an
  order that was ever attempted has every dependency done for good: it is never held
  (``pending``) or ``blocked`` again. An order that failed (``errored``, ``error``) is
  retried by the next run straight away: ``transmitted`` again, ``error`` when our own
  evaluation fails before it is sent, ``inactive`` or ``awaiting_approval`` as above.
- ``blocked`` (below a failure) and ``pending`` (held) orders were never attempted:
  a later run holds, blocks, gates or runs them again.
- ``declined``: a reviewer declined the order (``accesshive decline``, or from the pull
  request), so this run does not apply it and blocks what depends on it. Any order not
  final may be declined, since a reviewer may say no at any time before it is done. It
  is final for that run only: a later run where the decline was withdrawn (or the
  order's content changed) treats it like an order never attempted, which may be held,
  blocked, gated or sent. An order declined after a killed run had already sent it is
  then sent again without the look on the target; the connectors' writes are idempotent
  (a create adopts), as for an order that lost its approval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType


class OrderState(StrEnum):
    """The state of an order; the values are what the store, JSON and files hold."""

    PENDING = "pending"
    """Not sent yet: new, or held until what it depends on is done."""
    AWAITING_APPROVAL = "awaiting_approval"
    """Held by its review gate until approved."""
    TRANSMITTED = "transmitted"
    """Being sent (marked before the call), or a task handed to a person."""
    EXECUTED = "executed"
    """The target accepted it; not read back yet."""
    VERIFIED = "verified"
    """The target shows what the order intended. Final."""
    INACTIVE = "inactive"
    """No longer needed: the target already matched it. Final."""
    ERRORED = "errored"
    """The target refused it, or does not show it when read back."""
    ERROR = "error"
    """accesshive's own evaluation failed."""
    BLOCKED = "blocked"
    """Below a failed (or declined) order: not attempted."""
    DECLINED = "declined"
    """A reviewer declined it: not applied in this run; what depends on it is blocked."""


_S = OrderState

INITIAL: frozenset[OrderState] = frozenset({_S.PENDING, _S.AWAITING_APPROVAL})
"""The states an order may start in (its first recorded state)."""

_RETRY = {_S.TRANSMITTED, _S.ERROR, _S.ERRORED, _S.AWAITING_APPROVAL, _S.INACTIVE}
"""What a later run does with an order that was attempted: send it (again), fail
before sending it (our failure, or its source unreachable), hold it for an approval
it lost, or find it no longer needed."""

_NOT_ATTEMPTED = {
    _S.PENDING,
    _S.AWAITING_APPROVAL,
    _S.BLOCKED,
    _S.TRANSMITTED,
    _S.ERROR,
    _S.ERRORED,
    _S.INACTIVE,
    _S.DECLINED,
}
"""What may happen to an order never attempted: held, gated, blocked, sent, failed
before sending (``error``: ours; ``errored``: its source is unreachable, so it is not
sent), found no longer needed, or declined by a reviewer."""

TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = MappingProxyType(
    {
        _S.PENDING: frozenset(_NOT_ATTEMPTED),
        _S.AWAITING_APPROVAL: frozenset(_NOT_ATTEMPTED),
        _S.BLOCKED: frozenset(_NOT_ATTEMPTED),
        _S.DECLINED: frozenset(_NOT_ATTEMPTED),
        _S.TRANSMITTED: frozenset(_RETRY | {_S.EXECUTED, _S.VERIFIED, _S.ERRORED, _S.DECLINED}),
        _S.EXECUTED: frozenset(_RETRY | {_S.VERIFIED, _S.ERRORED, _S.DECLINED}),
        _S.ERRORED: frozenset(_RETRY | {_S.DECLINED}),
        _S.ERROR: frozenset(_RETRY | {_S.DECLINED}),
        _S.VERIFIED: frozenset(),
        _S.INACTIVE: frozenset(),
    }
)
"""For each state, the states an order in it may move to (itself included where it
may be written again: a retry's note while ``transmitted``, a held order held again)."""

DONE: frozenset[OrderState] = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
"""Final: what depends on the order may run, and no run touches it again."""
FAILED: frozenset[OrderState] = frozenset({_S.ERRORED, _S.ERROR, _S.BLOCKED, _S.DECLINED})
"""The run failed on the order (or below a failure), or a reviewer declined it: apply
exits 1, and what depends on it is blocked."""
SENT: frozenset[OrderState] = frozenset({_S.TRANSMITTED, _S.EXECUTED})
"""It may have reached the target: look there before sending it again."""
WAITING: frozenset[OrderState] = frozenset({_S.PENDING, _S.AWAITING_APPROVAL})
"""Not sent, and not failed: it waits for a dependency or an approval."""


class IllegalTransition(AssertionError):
    """A write of an order's state that the transition table does not allow.

    Never the user's doing: a bug in the writer, or a store edited by hand. It is not an
    ``AccessHiveError``, so it is never mistaken for a target's failure (nothing records
    it as an order's ``error``) and it keeps its traceback."""

    def __init__(self, order_id: str, was: str | None, to: str, plan_digest: str = "") -> None:
        self.order_id = order_id
        self.was = was
        self.to = to
        where = f" of plan {plan_digest[:12]}" if plan_digest else ""
        if was is not None and was not in _VALUES:
            why = f"its recorded state '{was}' is not an order state"
        elif to not in _VALUES:
            why = f"'{to}' is not an order state ({', '.join(OrderState)})"
        else:
            allowed = allowed_after(OrderState(was) if was is not None else None)
            why = "allowed: " + (", ".join(sorted(allowed)) or "nothing, it is final")
        super().__init__(
            f"illegal order state transition for order {order_id}{where}: "
            f"{was or '(none)'} -> {to} ({why})"
        )


_VALUES = frozenset(s.value for s in OrderState)


def allowed_after(state: OrderState | None) -> frozenset[OrderState]:
    """The states an order may move to from ``state`` (None: nothing recorded yet)."""
    return INITIAL if state is None else TRANSITIONS[state]


def check_transition(order_id: str, was: str | None, to: str, plan_digest: str = "") -> OrderState:
    """``to`` as an ``OrderState`` when an order in ``was`` (None: no state recorded yet)
    may move to it; else ``IllegalTransition`` naming the order, ``was`` and ``to``."""
    if to not in _VALUES or (was is not None and was not in _VALUES):
        raise IllegalTransition(order_id, was, to, plan_digest)
    new = OrderState(to)
    if new not in allowed_after(OrderState(was) if was is not None else None):
        raise IllegalTransition(order_id, was, to, plan_digest)
    return new


def check_transitions(
    latest: Mapping[str, str],
    events: Iterable[tuple[str, str]],
    plan_digest: str = "",
) -> list[OrderState]:
    """Check (order id, new state) moves in the order given, each from the order's
    state in ``latest`` (its latest recorded state; absent: none yet) or from its
    previous move in ``events``; return the new states. Raises ``IllegalTransition``
    at the first illegal one, before anything is written."""
    current = dict(latest)
    out = []
    for order_id, to in events:
        new = check_transition(order_id, current.get(order_id), to, plan_digest)
        current[order_id] = new
        out.append(new)
    return out
