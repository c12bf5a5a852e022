"""Graph stage: ``Changes`` → orders in a dependency DAG.

The dependency rules (ARCHITECTURE.md, "Identity types and dependency rules"):
- identity provider account → Google Workspace user → accounts on platforms that
  require Google Workspace (for one identity);
- managed shared credential: its Google Workspace account → credential stored;
- an account is created before its grants;
- revokes come before the disable or delete of the same account;
- a managed group is created (or renamed, or adopted) before the grants and revokes of
  its entitlement, and deleted after its revokes.
A dependency already satisfied on the target is no edge: only orders in the plan
depend on each other. A cycle is a bug in config or rules and refuses the plan.

Why the standard library (``graphlib``, ``heapq``) and not a graph package: the plan
needs only a cycle check and one topological order, and importing networkx took a
tenth of a cold plan.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from accesshive.config import Config
from accesshive.errors import PlanError
from accesshive.plan.orders import KIND_RANK, Change


def dependencies(config: Config, by_id: Mapping[str, Change]) -> dict[str, set[str]]:
    """order id → ids of the orders it depends on (``by_id``: order id → change). An
    account is named by its source and link (identity and account kind)."""
    creates: dict[tuple[str, str | None], str] = {}
    revokes: dict[tuple[str, str | None, str | None], list[str]] = {}
    groups: dict[tuple[str, str | None], str] = {}
    """(source, entitlement) → the create_group or update_group of its managed group."""
    removals: dict[tuple[str, str | None], list[str]] = {}
    """(source, entitlement) → its revokes."""
    for oid, c in by_id.items():
        if c.action == "create_account":
            creates[(c.source, c.link)] = oid
        elif c.action == "revoke":
            revokes.setdefault((c.source, c.identity, c.account), []).append(oid)
            removals.setdefault((c.source, c.entitlement), []).append(oid)
        elif c.action in ("create_group", "update_group"):
            groups[(c.source, c.entitlement)] = oid
    deps: dict[str, set[str]] = {oid: set() for oid in by_id}
    gws, idp = config.google_workspace, config.identity_provider
    for oid, c in by_id.items():
        if c.identity is not None:
            _flow_edges(config, c, oid, creates, deps, gws, idp)
        if c.action in ("disable_account", "delete_account"):
            deps[oid].update(revokes.get((c.source, c.identity, c.account), []))
        if c.action in ("grant", "revoke") and (group := groups.get((c.source, c.entitlement))):
            deps[oid].add(group)
        if c.action == "delete_group":
            deps[oid].update(removals.get((c.source, c.entitlement), []))
    return deps


def _flow_edges(
    config: Config,
    c: Change,
    oid: str,
    creates: dict[tuple[str, str | None], str],
    deps: dict[str, set[str]],
    gws: str | None,
    idp: str | None,
) -> None:
    def need(source: str | None) -> None:
        # the flow's accounts (IdP, Google Workspace) are the identity's default ones
        if source is not None and source != c.source:
            dep = creates.get((source, c.identity))
            if dep is not None:
                deps[oid].add(dep)

    if c.action == "grant":
        dep = creates.get((c.source, c.link))
        if dep is not None:
            deps[oid].add(dep)
    if c.action == "store_credential":
        need(c.details.get("account_source"))
    if c.action != "create_account":
        return
    source = config.sources.get(c.source)
    if source is not None and source.requires_google_workspace:
        need(gws)
        need(idp)
    if c.source == gws:
        need(idp)


@dataclass(frozen=True)
class Graph:
    """The orders (``nodes``, sorted) and who depends on whom (``successors``: order id →
    the ids of the orders that depend on it, in the order the edges were added)."""

    nodes: tuple[str, ...]
    successors: dict[str, list[str]]


def build_graph(ids: Iterable[str], deps: dict[str, set[str]]) -> Graph:
    """The DAG of ``ids`` with an edge from each dependency to its dependant; a cycle
    raises ``PlanError`` naming the orders on it."""
    nodes = dict.fromkeys(sorted(ids))
    successors: dict[str, list[str]] = {oid: [] for oid in nodes}
    for oid in sorted(deps):
        for dep in sorted(deps[oid]):
            successors.setdefault(dep, []).append(oid)
            successors.setdefault(oid, [])
    sorter = TopologicalSorter({oid: deps.get(oid, ()) for oid in successors})
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle: list[str] = exc.args[1]
        path = " → ".join(cycle[:-1])  # graphlib repeats the first order at the end
        raise PlanError(f"the orders depend on each other in a cycle: {path}") from None
    return Graph(tuple(successors), successors)


def ordered(graph: Graph, changes: dict[str, Change]) -> list[str]:
    """A deterministic topological order: dependencies first, then by identity, source, kind.

    Kahn's algorithm taking the least ready order by ``key`` each time: since the key
    ends with the order id, this one order exists whatever the order of ``changes``."""

    def key(oid: str) -> tuple[str, str, int, str, str]:
        c = changes[oid]
        return (c.link or "~", c.source, KIND_RANK.get(c.action, 99), c.entitlement or "", oid)

    waiting = dict.fromkeys(graph.nodes, 0)
    for dependants in graph.successors.values():
        for oid in dependants:
            waiting[oid] += 1
    ready = [(key(oid), oid) for oid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, oid = heapq.heappop(ready)
        out.append(oid)
        for dependant in graph.successors[oid]:
            waiting[dependant] -= 1
            if waiting[dependant] == 0:
                heapq.heappush(ready, (key(dependant), dependant))
    return out
