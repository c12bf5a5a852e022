"""Orders on managed groups (``create_group``, ``update_group``, ``delete_group``): sent
one at a time, each read back and verified before anything that depends on it runs.

Why not in the account batches: a group order is never one of many alike (there is one
per managed entitlement that changes), and the grants of its entitlement must not start
before the group they are made in is verified. As for accounts, every state is written
before and after each call to the target, and an order a killed run left ``transmitted``
is first looked for on the target.
"""

from __future__ import annotations

from accesshive.apply.batch import AccountBatches
from accesshive.connectors.base import Connector, Created
from accesshive.expand.values import normalize
from accesshive.plan.orders import Order
from accesshive.plan.states import SENT, OrderState
from accesshive.state.snapshot import SnapshotGroup


def send_group(connector: Connector, order: Order) -> Created | None:
    """Perform a group order on the target: the created (or adopted) group for a create."""
    c = order.change
    entitlement = c.entitlement or ""
    if c.action == "create_group":
        return connector.create_group(entitlement, dict(c.attributes))
    if c.account is None:
        raise connector.error(f"{c.action} {entitlement}: the group to act on is unknown")
    if c.action == "update_group":
        connector.update_group(
            c.account, entitlement, {k: v["to"] for k, v in c.attributes.items()}
        )
    elif c.action == "delete_group":
        connector.delete_group(c.account, entitlement)
    else:
        raise connector.error(f"{c.action} is not a group order")
    return None


def check_group(order: Order, group: SnapshotGroup | None) -> str | None:
    """Does ``group`` (as just read from the target, by its key) show what ``order``
    intended? None when it does; else the difference."""
    c = order.change
    if c.action == "delete_group":
        return None if group is None else f"group {c.entitlement} ({group.name}) still exists"
    if group is None:
        return f"no group carrying the key {c.entitlement} on the target"
    wanted = (
        dict(c.attributes)
        if c.action == "create_group"
        else {k: v["to"] for k, v in c.attributes.items()}
    )
    out = []
    for attr, value in sorted(wanted.items()):
        have = group.name if attr == "name" else group.attributes.get(attr, value)
        if normalize(value, None) != normalize(have, None):
            out.append(f"{attr}: expected {value!r}, target has {have!r}")
    return "; ".join(out) or None


class GroupOrders(AccountBatches):
    """The executor's group orders (a mixin, as ``AccountBatches`` is)."""

    def _group(self, order: Order) -> None:
        source_id, entitlement = order.change.source, order.change.entitlement or ""
        down = self._down(source_id)
        if down is not None:
            self._record(order, OrderState.ERRORED, down)
            return
        with self.pool.connector(source_id) as conn:
            prior = self._prior.get(order.id)
            if prior is not None and prior.state in SENT:
                found = self._call(source_id, lambda: conn.get_group(entitlement))
                if check_group(order, found) is None:
                    done = "found done on the target after a restart"
                    self._record(order, OrderState.VERIFIED, done)
                    return
            self._record(order, OrderState.TRANSMITTED)

            def note_retry(attempt: int, exc: BaseException, delay: float) -> None:
                note = f"attempt {attempt} failed ({exc}); retrying in {delay:.1f}s"
                self._record(order, OrderState.TRANSMITTED, note)

            created = self._call(source_id, lambda: send_group(conn, order), note_retry)
            adopted = "adopted the existing group" if created and created.adopted else None
            result = created.external_id if created else order.change.account
            self._record(order, OrderState.EXECUTED, adopted, result)
            group = self._call(source_id, lambda: conn.get_group(entitlement))
        difference = check_group(order, group)
        if difference:
            self._record(order, OrderState.ERRORED, f"verify: {difference}")
        else:
            self._record(order, OrderState.VERIFIED, adopted)
