"""Graph stage: ``Changes`` → orders in a dependency DAG (networkx).

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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

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


def build_graph(ids: Iterable[str], deps: dict[str, set[str]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(ids))
    for oid in sorted(deps):
        for dep in sorted(deps[oid]):
            graph.add_edge(dep, oid)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        path = " → ".join(edge[0] for edge in cycle)
        raise PlanError(f"the orders depend on each other in a cycle: {path}")
    return graph


def ordered(graph: nx.DiGraph, changes: dict[str, Change]) -> list[str]:
    """A deterministic topological order: dependencies first, then by identity, source, kind."""

    def key(oid: str) -> tuple[str, str, int, str, str]:
        c = changes[oid]
        return (c.link or "~", c.source, KIND_RANK.get(c.action, 99), c.entitlement or "", oid)

    return list(nx.lexicographical_topological_sort(graph, key=key))
