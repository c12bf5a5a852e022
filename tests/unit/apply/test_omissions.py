"""``omissions``: what a plan file lacks of the re-plan, forged where the source is
unchanged since the plan, stale where it changed; edges among the orders still to run."""

from __future__ import annotations

from accesshive.apply.omissions import Omissions, as_cut, omissions
from accesshive.plan.model import Plan
from accesshive.plan.orders import Change, Order


def _order(oid: str, action: str, source: str, who: str, deps: tuple[str, ...] = ()) -> Order:
    return Order(id=oid, kind=action, change=Change(action, source, who), depends_on=deps)


CREATE = _order("c1", "create_account", "wiki", "ada")
GRANT = _order("g1", "grant", "wiki", "ada", ("c1",))
REVOKE = _order("r1", "revoke", "crm", "bob")
PLANNED = (CREATE, GRANT, REVOKE)


def _plan(*orders: Order, scope: tuple[str, ...] | None = None) -> Plan:
    return Plan("p", "0", "cfg", {}, orders, (), (), scope=scope)


def _check(
    plan: Plan, changed: frozenset[str] = frozenset(), done: frozenset[str] = frozenset()
) -> Omissions:
    return omissions(
        plan, as_cut(plan, None)(_plan(*PLANNED)).orders, set(done), lambda s: s not in changed, {}
    )


def test_the_plan_as_planned_lacks_nothing() -> None:
    found = _check(_plan(*PLANNED))
    assert (found.forged, found.problems) == ([], [])


def test_an_order_deleted_on_an_unchanged_source_is_forged() -> None:
    found = _check(_plan(CREATE, GRANT))
    assert found.forged == [
        "order r1 (revoke on crm, for bob) is missing: planning gives it for this "
        "repository and snapshot, and the plan does not hold it"
    ]


def test_an_order_missing_on_a_changed_source_is_new_work() -> None:
    found = _check(_plan(CREATE, GRANT), changed=frozenset({"crm"}))
    assert found.forged == []
    assert found.problems == ["new work on crm not in the plan: revoke for bob"]
    assert found.changed == {"crm"}


def test_a_deleted_edge_is_forged_unless_its_order_is_done() -> None:
    unwaiting = Order(GRANT.id, GRANT.kind, GRANT.change)
    found = _check(_plan(CREATE, unwaiting, REVOKE))
    assert found.forged == [
        "order g1 (grant on wiki, for ada) does not wait for order c1 (create_account on "
        "wiki, for ada), as planning makes it wait"
    ]
    assert _check(_plan(CREATE, unwaiting, REVOKE), done=frozenset({"c1"})).forged == []


def test_an_edge_the_re_plan_no_longer_needs_on_a_changed_source_is_kept() -> None:
    extra = Order(REVOKE.id, REVOKE.kind, REVOKE.change, ("c1",))
    assert _check(_plan(CREATE, GRANT, extra)).forged != []  # unchanged: forged
    found = _check(_plan(CREATE, GRANT, extra), changed=frozenset({"crm"}))
    assert (found.forged, found.problems) == ([], [])


def test_a_scoped_plan_must_hold_every_order_of_its_identities_only() -> None:
    assert _check(_plan(REVOKE, scope=("bob",))).forged == []
    found = _check(_plan(CREATE, scope=("ada",)))
    assert [f.split(" (")[0] for f in found.forged] == ["order g1"]
