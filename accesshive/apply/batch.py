"""Account orders of one source, run as a batch: sent one by one, verified together.

Every order is ``transmitted`` (one commit) before the first is sent, so a crash
anywhere leaves each order either verified or marked to be looked at on the target
before it is sent again; then each is sent (the grants of one entitlement together, as
one write where the target allows), the lot ``executed`` (one commit), read
back with one ``get_accounts`` (a create the target answered with the new account
needs none) and ``verified`` or ``errored`` (one commit). The
executor releases what depends on an order only after that, so what follows an order
still sees it verified, as with one order at a time.

A mixin of ``Executor`` (which owns the walk, the store and the bookkeeping): this
module owns what happens to one batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from accesshive.apply.credentials import CredentialKeeper
from accesshive.apply.observed import Observed
from accesshive.apply.outage import (
    Breaker,
    SourceUnreachable,
    is_connection_failure,
    target_failure,
    unreachable,
)
from accesshive.apply.pool import ConnectorPool
from accesshive.apply.retry import call_with_retries, is_retryable
from accesshive.apply.steps import Sent, check, send
from accesshive.config import Config
from accesshive.config.model import Source
from accesshive.connectors.base import Connector
from accesshive.errors import VaultError
from accesshive.plan.kinds import OrderKind
from accesshive.plan.orders import Order
from accesshive.plan.states import SENT, IllegalTransition, OrderState
from accesshive.redaction import redact
from accesshive.state.snapshot import SnapshotAccount
from accesshive.store.base import OrderEvent

T = TypeVar("T")
R = TypeVar("R")

Record = tuple[Order, OrderState, str | None, str | None]
"""An order's new state, with its message and result (a created account's id)."""


def _adopted(sent: Sent) -> str | None:
    return "adopted the existing account" if sent.adopted else None


class AccountBatches:
    """What the executor provides to a batch (set in ``Executor.__init__``)."""

    config: Config
    pool: ConnectorPool
    keeper: CredentialKeeper
    observed: Observed
    _prior: dict[str, OrderEvent]
    _accounts: dict[tuple[str, str | None], str]
    breaker: Breaker
    unreachable: Mapping[str, str]
    sleep: Callable[[float], None]

    def _record(
        self,
        order: Order,
        state: OrderState,
        message: str | None = None,
        result: str | None = None,
    ) -> None:
        raise NotImplementedError

    def _record_many(self, records: list[Record]) -> None:
        raise NotImplementedError

    def _account_of(self, order: Order) -> str | None:
        raise NotImplementedError

    def _down(self, source_id: str) -> str | None:
        """Why the orders of ``source_id`` are not sent, when it cannot be used: it could
        not be read when apply started, or it went down during the run."""
        if source_id in self.unreachable:
            return self.unreachable[source_id]
        message = self.breaker.down(source_id)
        return None if message is None else unreachable(source_id, message)

    def _call(
        self,
        source_id: str,
        func: Callable[[], T],
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> T:
        """``func`` with the source's retries, through its breaker: every attempt's outcome
        is counted; once the source is down, no further attempt is made (an order that was
        in its backoff gives up with its last failure)."""
        spec = self.config.sources[source_id].retry
        last: list[BaseException] = []

        def attempt() -> T:
            if self.breaker.down(source_id) is not None:
                if last:
                    message = target_failure(last[-1]) or str(last[-1])
                    raise SourceUnreachable(
                        source_id, f"{message} (gave up: {source_id} is unreachable)"
                    )
                self.breaker.check(source_id)
            try:
                out = func()
            except IllegalTransition:
                raise
            except Exception as exc:
                self.breaker.failure(source_id, exc)
                last.append(exc)
                raise
            self.breaker.success(source_id)
            return out

        try:
            return call_with_retries(attempt, spec, on_retry, self.sleep)
        except SourceUnreachable:
            raise
        except Exception as exc:
            if is_connection_failure(exc) and is_retryable(exc, spec):
                # the order's whole retry budget went on connection failures: down
                message = target_failure(exc) or str(exc)
                self.breaker.open(source_id, message)
                raise SourceUnreachable(
                    source_id, f"{message} (gave up: {source_id} is unreachable)"
                ) from exc
            raise

    def _batch(self, batch: list[Order]) -> None:
        """Run a batch of one source's account orders (see the module docstring)."""
        source_id = batch[0].change.source
        finals: list[Record] = []
        down = self._down(source_id)
        if down is not None:  # never sent: nothing of them can have reached the target
            self._record_many([(o, OrderState.ERRORED, down, None) for o in batch])
            return
        try:
            with self.pool.connector(source_id) as conn:
                todo = self._unknown_accounts(batch, finals)
                todo = self._already_done(conn, todo, finals)
                self._record_many([(o, OrderState.TRANSMITTED, None, None) for o in todo])
                creates = [
                    o.change.attributes for o in todo if o.action == OrderKind.CREATE_ACCOUNT
                ]
                if creates:
                    self._call(source_id, lambda: conn.prepare_creates(creates))
                sent = self._send_all(conn, todo, finals)
                self._record_many(
                    [(o, OrderState.EXECUTED, _adopted(s), s.external_id) for o, s in sent]
                )
                finals += self._verify_all(conn, sent)
        except IllegalTransition:
            raise  # a bug of the executor, not the orders' failure
        except Exception as exc:  # the target failed (errored) or we did (error): keep going
            state, message = failure_of(exc)
            settled = {o.id for o, *_ in finals}
            finals += [(o, state, message, None) for o in batch if o.id not in settled]
        self._record_many(finals)

    def _unknown_accounts(self, batch: list[Order], finals: list[Record]) -> list[Order]:
        todo = []
        for order in batch:
            if order.action != OrderKind.CREATE_ACCOUNT and self._account_of(order) is None:
                message = "the account to act on is unknown (no create recorded)"
                finals.append((order, OrderState.ERROR, message, None))
            else:
                todo.append(order)
        return todo

    def _already_done(
        self, conn: Connector, batch: list[Order], finals: list[Record]
    ) -> list[Order]:
        """Orders a killed run left ``transmitted`` or ``executed`` may have happened:
        look on the target before sending them again."""
        interrupted = {
            o.id: ext
            for o in batch
            if (prior := self._prior.get(o.id)) is not None
            and prior.state in SENT
            and (ext := self._account_of(o))
        }
        if not interrupted:
            return batch
        source = self.config.sources[batch[0].change.source]
        accounts = self._read_back(conn, batch, interrupted)
        todo = []
        for order in batch:
            ext = interrupted.get(order.id)
            if ext and check(source, order, ext, accounts.get(ext)) is None:
                found = "found done on the target after a restart"
                finals.append((order, OrderState.VERIFIED, found, None))
            else:
                todo.append(order)
        return todo

    def _send_all(
        self, conn: Connector, batch: list[Order], finals: list[Record]
    ) -> list[tuple[Order, Sent]]:
        """Send every order of the batch. The orders of a batch never depend on one
        another (the walk releases an order only once what it depends on is verified),
        so grants (and revokes) of one entitlement go together, as one write where the
        connector can (``grant_many``); when that fails, each is sent on its own so that
        each gets its own outcome (a write that failed for all is then tried once more
        per order, which is what tells whose it was)."""
        sent: list[tuple[Order, Sent]] = []
        memberships: dict[tuple[str, str], list[Order]] = {}
        for order in batch:
            if order.action in (OrderKind.GRANT, OrderKind.REVOKE) and order.change.entitlement:
                memberships.setdefault((order.action, order.change.entitlement), []).append(order)
            else:
                self._send_one(conn, order, sent, finals)
        for (action, entitlement), orders in memberships.items():
            together = len(orders) > 1 and conn.capabilities.membership_batches
            if together and self._send_membership(conn, action, entitlement, orders):
                sent += [(o, Sent(self._account_of(o))) for o in orders]
            else:
                for order in orders:
                    self._send_one(conn, order, sent, finals)
        return sent

    def _send_membership(
        self, conn: Connector, action: str, entitlement: str, orders: list[Order]
    ) -> bool:
        """Grant (or revoke) ``entitlement`` for all of ``orders`` at once; False when
        the connector failed, for the orders to be sent one by one."""
        accounts = [ext for o in orders if (ext := self._account_of(o))]
        many = conn.grant_many if action == OrderKind.GRANT else conn.revoke_many

        def note_retry(attempt: int, exc: BaseException, delay: float) -> None:
            note = f"attempt {attempt} failed ({exc}); retrying in {delay:.1f}s"
            self._record_many([(o, OrderState.TRANSMITTED, note, None) for o in orders])

        try:
            self._call(orders[0].change.source, lambda: many(entitlement, accounts), note_retry)
        except IllegalTransition:
            raise
        except Exception:  # each order, sent on its own, gets its own outcome and message
            return False
        return True

    def _send_one(
        self, conn: Connector, order: Order, sent: list[tuple[Order, Sent]], finals: list[Record]
    ) -> None:
        try:
            outcome = self._send(conn, order)
        except IllegalTransition:
            raise
        except Exception as exc:  # the target failed (errored) or we did (error): this order
            state, message = failure_of(exc)
            finals.append((order, state, message, None))
            return
        if isinstance(outcome, str):  # the vault refused a generated password
            finals.append((order, OrderState.ERRORED, outcome, None))
            return
        sent.append((order, outcome))

    def _send(self, conn: Connector, order: Order) -> Sent | str:
        ext = self._account_of(order)

        def note_retry(attempt: int, exc: BaseException, delay: float) -> None:
            note = f"attempt {attempt} failed ({exc}); retrying in {delay:.1f}s"
            self._record(order, OrderState.TRANSMITTED, note)

        secret = (
            self.keeper.new_password() if order.change.details.get("generate_password") else None
        )
        extra = {"password": secret} if secret else None
        sent: Sent = self._call(
            order.change.source, lambda: send(conn, order, ext, extra), note_retry
        )
        if order.action == OrderKind.CREATE_ACCOUNT and sent.external_id:
            # one dict assignment, atomic under the GIL: no lock, so that a send never
            # waits behind another thread's commit
            self._accounts[(order.change.source, order.change.link)] = sent.external_id
        if secret is not None and order.change.identity:
            try:
                self.keeper.keep_generated(order.change.identity, secret)
            except VaultError as exc:
                self._record(order, OrderState.EXECUTED, None, result=sent.external_id)
                return (
                    "the target accepted the generated password but the vault could not "
                    f"store it ({exc}); the next apply rotates it"
                )
        return sent

    def _verify_all(self, conn: Connector, sent: list[tuple[Order, Sent]]) -> list[Record]:
        """Verified: what the target returned with the write shows what was asked; else
        the batch's grants and revokes are checked against the groups read once
        (``get_memberships``, where the connector has it) and the rest against one
        read-back of their accounts (``get_accounts``)."""
        if not sent:
            return []
        source = self.config.sources[sent[0][0].change.source]
        records: list[Record] = []
        shown = [
            (o, s) for o, s in sent if s.account and not check(source, o, s.external_id, s.account)
        ]
        self.observed.note(sent[0][0].change.source, [s.account for _, s in shown if s.account], ())
        records += [(o, OrderState.VERIFIED, None, None) for o, _ in shown]
        done = {o.id for o, _ in shown}
        sent = [(o, s) for o, s in sent if o.id not in done]
        members = [
            (o, s)
            for o, s in sent
            if o.action in (OrderKind.GRANT, OrderKind.REVOKE)
            and o.change.entitlement
            and s.external_id
        ]
        if members:
            ids = sorted({str(s.external_id) for _, s in members})
            entitlements = sorted({str(o.change.entitlement) for o, _ in members})
            read = self._settle(
                source, members, lambda: conn.get_memberships(ids, entitlements), _holding(ids)
            )
            if read is not None:
                records += read
                done = {o.id for o, _ in members}
                sent = [(o, s) for o, s in sent if o.id not in done]
        if sent:
            ids_of = {o.id: s.external_id for o, s in sent if s.external_id}
            batch = [o for o, _ in sent]
            settled = self._settle(
                source, sent, lambda: self._read_back(conn, batch, ids_of), lambda found: found
            )
            records += settled or []
        return records

    def _settle(
        self,
        source: Source,
        sent: list[tuple[Order, Sent]],
        read: Callable[[], R | None],
        accounts_of: Callable[[R], Mapping[str, SnapshotAccount]],
    ) -> list[Record] | None:
        """Each order of ``sent``, verified or errored against what ``read`` finds on the
        target (through the source's retries); None when ``read`` offers nothing (the
        connector has no such read). A target that fails the read errors them all."""
        try:
            found = self._call(sent[0][0].change.source, read)
        except IllegalTransition:
            raise
        except Exception as exc:
            message = target_failure(exc)
            if message is None:
                raise  # our own failure: the batch's handler records it
            return [(o, OrderState.ERRORED, f"verify: {message}", s.external_id) for o, s in sent]
        if found is None:
            return None
        accounts = accounts_of(found)
        records: list[Record] = []
        for order, s in sent:
            ext = s.external_id
            difference = check(source, order, ext, accounts.get(ext) if ext else None)
            if difference:
                records.append((order, OrderState.ERRORED, f"verify: {difference}", None))
            else:
                records.append((order, OrderState.VERIFIED, None, None))
        return records

    def _read_back(
        self, conn: Connector, batch: list[Order], ids: Mapping[str, str | None]
    ) -> dict[str, SnapshotAccount]:
        """The accounts of the orders in ``ids`` (order id → account), with the grants
        those orders are about."""
        wanted = sorted({ext for ext in ids.values() if ext})
        entitlements = sorted(
            {o.change.entitlement for o in batch if o.change.entitlement and o.id in ids}
        )
        source_id = batch[0].change.source
        started = time.monotonic()  # what another batch wrote after this may not show
        found = self._call(source_id, lambda: conn.get_accounts(wanted, entitlements))
        self.observed.note(source_id, found.values(), entitlements, started)
        return found


def _holding(ids: list[str]) -> Callable[[Mapping[str, set[str]]], dict[str, SnapshotAccount]]:
    """Memberships as the accounts ``check`` reads: a grant or revoke looks only at the
    account's grants, so an account the groups do not hold holds none of them."""
    return lambda held: {ext: SnapshotAccount(ext, grants=sorted(held.get(ext, ()))) for ext in ids}


def failure_of(exc: BaseException) -> tuple[OrderState, str]:
    """An order's state and message for what stopped it: ``errored`` with the target's
    words when the target failed (``apply.outage.target_failure``: a ``ConnectorError``,
    or a connector library's exception that leaked), else ``error`` (ours); either
    redacted of every resolved secret."""
    message = target_failure(exc)
    if message is not None:
        return OrderState.ERRORED, message
    return OrderState.ERROR, redact(f"{type(exc).__name__}: {exc}")
