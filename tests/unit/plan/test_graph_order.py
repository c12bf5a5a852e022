"""The order graph (``plan/graph.py``): one deterministic topological order, and a cycle
refused with the orders on it named.

Why: the golden plans check the order of real plans, these the two rules on their own."""

from __future__ import annotations

import random

import pytest

from accesshive.errors import PlanError
from accesshive.plan.graph import build_graph, ordered
from accesshive.plan.orders import Change


def _changes() -> dict[str, Change]:
    return {
        "c1": Change("create_account", "wiki", "bob"),
        "g1": Change("grant", "wiki", "bob", entitlement="editors"),
        "g2": Change("grant", "wiki", "bob", entitlement="admins"),
        "a1": Change("create_account", "wiki", "alice"),
        "r1": Change("revoke", "wiki", "alice", account="u7", entitlement="editors"),
        "d1": Change("disable_account", "wiki", "alice", account="u7"),
    }


def test_by_identity_source_kind_and_entitlement_once_dependencies_are_met() -> None:
    changes = _changes()
    deps = {"g1": {"c1"}, "g2": {"c1"}, "d1": {"r1"}}
    # alice before bob; an account's create, then its grants (by entitlement), its
    # revokes, its disable
    assert ordered(build_graph(changes, deps), changes) == ["a1", "r1", "d1", "c1", "g2", "g1"]
    # a dependency comes first whatever the key says: alice's create waits for bob's grant
    deps["a1"] = {"g1"}
    assert ordered(build_graph(changes, deps), changes) == ["r1", "d1", "c1", "g2", "g1", "a1"]


def test_the_order_does_not_depend_on_the_order_changes_are_found_in() -> None:
    changes = _changes()
    deps = {"g1": {"c1"}, "g2": {"c1"}, "d1": {"r1"}}
    expected = ordered(build_graph(changes, deps), changes)
    rnd = random.Random(5)
    for _ in range(20):
        keys = list(changes)
        rnd.shuffle(keys)
        shuffled = {k: changes[k] for k in keys}
        assert ordered(build_graph(keys, deps), shuffled) == expected


def test_a_cycle_refuses_the_plan_naming_its_orders() -> None:
    changes = _changes()
    with pytest.raises(PlanError) as caught:
        build_graph(changes, {"g1": {"c1"}, "c1": {"g2"}, "g2": {"g1"}})
    message = str(caught.value)
    assert message.startswith("the orders depend on each other in a cycle: ")
    on_cycle = message.rpartition(": ")[2].split(" → ")
    assert sorted(on_cycle) == ["c1", "g1", "g2"]


def test_an_order_depending_on_itself_is_a_cycle() -> None:
    with pytest.raises(PlanError, match=r"in a cycle: c1$"):
        build_graph(["c1"], {"c1": {"c1"}})
