"""Ready orders, queued per source, taken by the executor a batch at a time.

Why batches: a source's orders that are ready together are sent one by one but read
back together (one ``get_accounts`` per batch), and their state transitions are
written in one commit each; the executor's walk decides what is ready, this decides
how it is grouped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping

from accesshive.config import Config
from accesshive.plan.kinds import CREDENTIAL_ACTIONS, GROUP_ACTIONS, OrderKind
from accesshive.plan.orders import Order

BATCH = 100
"""Orders of one source sent, then verified, together (one read-back per batch)."""


class Lanes:
    """Ready orders, queued per source so that one job can take a batch of them.

    Account orders of a source share its lane and are taken up to ``BATCH`` at a time,
    split so that every one of the source's ``concurrency`` slots gets work; manual
    tasks, credentials, managed groups and inactive orders go one at a time (lane ``None``).
    """

    def __init__(self, config: Config, orders: Mapping[str, Order], single: Collection[str]):
        self.config = config
        self.orders = orders
        self.single = frozenset(single)
        self.queues: dict[str | None, deque[str]] = {None: deque()}
        self.busy: dict[str, int] = {}

    def __bool__(self) -> bool:
        return any(self.queues.values())

    def add(self, ready: list[str]) -> None:
        for oid in ready:
            order = self.orders[oid]
            batchable = not (
                oid in self.single
                or order.kind == OrderKind.MANUAL_TASK
                or order.action in CREDENTIAL_ACTIONS
                or order.action in GROUP_ACTIONS
            )
            lane = order.change.source if batchable else None
            self.queues.setdefault(lane, deque()).append(oid)

    def take(self) -> tuple[str | None, list[str]]:
        """The next job: one order, or a batch of one source's; empty when none may start."""
        if self.queues[None]:
            return None, [self.queues[None].popleft()]
        for lane in sorted(k for k, q in self.queues.items() if k is not None and q):
            concurrency = self.config.sources[lane].concurrency
            free = concurrency - self.busy.get(lane, 0)
            if free <= 0:
                continue
            queue = self.queues[lane]
            size = min(BATCH, -(-len(queue) // concurrency))
            self.busy[lane] = self.busy.get(lane, 0) + 1
            return lane, [queue.popleft() for _ in range(size)]
        return None, []

    def finished(self, lane: str | None) -> None:
        if lane is not None:
            self.busy[lane] -= 1
