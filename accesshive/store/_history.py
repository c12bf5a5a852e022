"""What happened in an environment, as tables: saved plans, apply runs and the events of
their orders, promotions between environments, and the totals of past reports.

Why together: apply, status, promote and report all read this history; each write of an
order's state is checked against the transition table (``accesshive.plan.states``) and
audited in the same transaction."""

from __future__ import annotations

import json
from typing import Any, Literal

from accesshive.plan.states import SENT, check_transitions
from accesshive.redaction import redact_optional
from accesshive.store._audit import AuditLog
from accesshive.store._snapshots import Snapshots
from accesshive.store._values import OrderEvent, now

_RUN = ("id", "plan_digest", "actor", "started_at", "finished_at", "status", "targeted")
"""The columns of a run, as its dict's keys (``targeted``: what a targeted run was
targeted at, ``{"source": ...}`` / ``{"identity": ...}``, or None for the whole plan)."""

_IDS_PER_QUERY = 500
"""Order ids looked up in one ``IN (...)`` (well under every backend's parameter limit)."""


def _run(row: Any) -> dict[str, Any]:
    """A run's row as its dict, ``targeted`` read back from its JSON."""
    run = dict(zip(_RUN, row, strict=True))
    run["targeted"] = json.loads(run["targeted"]) if run["targeted"] else None
    return run


class History(Snapshots, AuditLog):
    """Plans, runs, order events, promotions and report totals (and, from ``Snapshots``,
    the sources' snapshots)."""

    # ------------------------------------------------------------------ plans and runs

    def save_plan(self, digest: str, config_digest: str, content: str) -> None:
        with self.transaction():
            if self._execute("SELECT 1 FROM plans WHERE digest = ?", (digest,)):
                return
            self._execute(
                "INSERT INTO plans (digest, environment, created_at, config_digest, content) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest, self.environment, now(), config_digest, content),
            )

    def plan_content(self, digest: str) -> str | None:
        rows = self._execute("SELECT content FROM plans WHERE digest = ?", (digest,))
        return str(rows[0][0]) if rows else None

    def start_run(
        self, plan_digest: str, actor: str, targeted: dict[str, str] | None = None
    ) -> int:
        """A new run of the plan; ``targeted``: what an ``apply --source``/``--identity``
        run is limited to, kept with the run so that ``state show`` says it was partial."""
        with self.transaction():
            self._execute(
                "INSERT INTO runs (environment, plan_digest, actor, started_at, status, "
                "targeted) VALUES (?, ?, ?, ?, 'running', ?)",
                (
                    self.environment,
                    plan_digest,
                    actor,
                    now(),
                    json.dumps(targeted, sort_keys=True) if targeted else None,
                ),
            )
            rows = self._execute(
                "SELECT MAX(id) FROM runs WHERE environment = ? AND plan_digest = ?",
                (self.environment, plan_digest),
            )
        return int(rows[0][0])

    def finish_run(self, run_id: int, status: str) -> None:
        with self.transaction():
            self._execute(
                "UPDATE runs SET finished_at = ?, status = ? WHERE id = ?",
                (now(), status, run_id),
            )

    def runs(self, plan_digest: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(_RUN)} FROM runs WHERE environment = ?"
        params: list[Any] = [self.environment]
        if plan_digest:
            sql += " AND plan_digest = ?"
            params.append(plan_digest)
        rows = self._execute(sql + " ORDER BY id", params)
        return [_run(r) for r in rows]

    def record_order_state(
        self,
        run_id: int,
        plan_digest: str,
        order_id: str,
        state: str,
        message: str | None = None,
        result: str | None = None,
    ) -> None:
        self.record_order_states(run_id, plan_digest, [(order_id, state, message, result)])

    def record_order_states(
        self,
        run_id: int,
        plan_digest: str,
        events: list[tuple[str, str, str | None, str | None]],
        actor: str = "apply",
    ) -> None:
        """(order id, state, message, result) for several orders, with their audit entries
        (by ``actor``: apply, or who marked a manual task done), in one commit.

        Every move is checked against the transition table, from the order's latest state
        in this plan (read in the same transaction, one query per few hundred orders):
        ``IllegalTransition`` names the first illegal one, and nothing is written."""
        if not events:
            return
        # the last line of defence: no resolved secret is kept, whoever built the message
        events = [(oid, state, redact_optional(msg), res) for oid, state, msg, res in events]
        at = now()
        with self.transaction():
            latest = self._latest_states(plan_digest, {oid for oid, *_ in events})
            states = [
                s.value
                for s in check_transitions(
                    latest, [(oid, state) for oid, state, _, _ in events], plan_digest
                )
            ]
            self._executemany(
                "INSERT INTO order_events (run_id, plan_digest, order_id, state, at, message, "
                "result) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, plan_digest, oid, state, at, msg, res)
                    for (oid, _, msg, res), state in zip(events, states, strict=True)
                ],
            )
            self.audit_many(
                actor,
                "order_state",
                [
                    (oid, {"plan": plan_digest, "run": run_id, "state": state, "message": msg})
                    for (oid, _, msg, _), state in zip(events, states, strict=True)
                ],
            )

    def _latest_states(self, plan_digest: str, order_ids: set[str]) -> dict[str, str]:
        """order id → its latest recorded state in this plan, for the orders that have one."""
        rows = self._latest_of(plan_digest, order_ids, "e.order_id, e.state")
        return {str(r[0]): str(r[1]) for r in rows}

    def _latest_of(self, plan_digest: str, order_ids: set[str], columns: str) -> list[Any]:
        """``columns`` of the latest event in this plan of each of ``order_ids`` that has
        one (the table is ``e``).

        Why one index look-up per order (the subquery, on ``order_events_by_order``)
        rather than ``order_id IN (...)`` with a correlated ``MAX``: PostgreSQL planned
        that as a scan of every event of the plan, filtered by the list, so each batch's
        commit read all the plan's events while it held the store's write lock (113 ms
        for 100 orders among 16,000 events; quadratic over an apply, and the lock every
        worker waits for). This form costs the same whatever the plan's size, on SQLite
        and PostgreSQL alike (a ``VALUES`` list's column is ``column1`` in both)."""
        ids = sorted(order_ids)
        rows: list[Any] = []
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            rows += self._execute(
                f"SELECT {columns} FROM (VALUES {', '.join(['(?)'] * len(chunk))}) AS o "
                "JOIN order_events e ON e.id = (SELECT f.id FROM order_events f "
                "WHERE f.plan_digest = ? AND f.order_id = o.column1 ORDER BY f.id DESC LIMIT 1)",
                (*chunk, plan_digest),
            )
        return rows

    def handed_over(self, order_id: str) -> list[tuple[int, str]]:
        """(run, plan digest) of each plan of this environment whose latest state of
        ``order_id`` is ``transmitted`` or ``executed``: sent (a manual task handed over),
        not known done. Oldest first."""
        rows = self._execute(
            "SELECT e.run_id, e.plan_digest, e.state FROM order_events e JOIN runs r "
            "ON r.id = e.run_id WHERE r.environment = ? AND e.order_id = ? "
            "AND e.id = (SELECT MAX(f.id) FROM order_events f "
            "WHERE f.plan_digest = e.plan_digest AND f.order_id = e.order_id) ORDER BY e.id",
            (self.environment, order_id),
        )
        return [(int(r[0]), str(r[1])) for r in rows if r[2] in SENT]

    def order_states(self, plan_digest: str) -> dict[str, OrderEvent]:
        """The latest state of every order of a plan, across all its runs."""
        return self._latest_per_order("plan_digest", plan_digest)

    def run_states(self, run_id: int) -> dict[str, OrderEvent]:
        """The last state each order reached in one run (the orders that run touched):
        what that run did, where ``order_states`` says where the plan stands now."""
        return self._latest_per_order("run_id", run_id)

    def _latest_per_order(
        self, column: Literal["plan_digest", "run_id"], value: str | int
    ) -> dict[str, OrderEvent]:
        """order id → its latest event among those whose ``column`` is ``value``."""
        rows = self._execute(
            "SELECT order_id, state, at, message, result FROM order_events e "
            f"WHERE {column} = ? AND id = (SELECT MAX(id) FROM order_events f "
            f"WHERE f.{column} = e.{column} AND f.order_id = e.order_id)",
            (value,),
        )
        return {r[0]: OrderEvent(r[0], r[1], r[2], r[3], r[4]) for r in rows}

    def latest_events(
        self, plan_digest: str, order_ids: set[str]
    ) -> dict[str, tuple[int, OrderEvent]]:
        """order id → (its run, its latest event) in this plan, for ``order_ids`` only: what
        a worker and the apply that waits for it read after each job, without reading the
        whole plan's states again."""
        rows = self._latest_of(
            plan_digest, order_ids, "e.run_id, e.order_id, e.state, e.at, e.message, e.result"
        )
        return {r[1]: (int(r[0]), OrderEvent(r[1], r[2], r[3], r[4], r[5])) for r in rows}

    def latest_outcomes(self) -> dict[str, OrderEvent]:
        """order id → its latest recorded event in this environment, across every plan and
        run (an order id is a hash of what the order does, so the same step keeps it from
        one plan to the next). One query, whatever the number of orders."""
        rows = self._execute(
            "SELECT e.order_id, e.state, e.at, e.message, e.result FROM order_events e "
            "WHERE e.id IN (SELECT MAX(f.id) FROM order_events f JOIN runs r "
            "ON r.id = f.run_id WHERE r.environment = ? GROUP BY f.order_id)",
            (self.environment,),
        )
        return {r[0]: OrderEvent(r[0], r[1], r[2], r[3], r[4]) for r in rows}

    def done_orders(self, order_ids: set[str]) -> set[str]:
        """Those of ``order_ids`` that a run of this environment verified, or whose manual
        task was done (a few hundred ids a query)."""
        ids = sorted(order_ids)
        out: set[str] = set()
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = self._execute(
                "SELECT e.order_id FROM order_events e JOIN runs r ON r.id = e.run_id "
                f"WHERE r.environment = ? AND e.state = 'verified' AND e.order_id IN ({marks}) "
                "UNION SELECT order_id FROM tasks WHERE environment = ? AND state = 'verified' "
                f"AND order_id IN ({marks})",
                (self.environment, *chunk, self.environment, *chunk),
            )
            out.update(str(r[0]) for r in rows)
        return out

    def done_since(self, order_ids: set[str], run_id: int) -> set[str]:
        """Those of ``order_ids`` that a run of this environment numbered ``run_id`` or
        later left done (``verified``, ``inactive``), or whose manual task was marked done
        since that run started: what ends the carrying of an approval
        (``approvals/carry.py``)."""
        ids = sorted(order_ids)
        out: set[str] = set()
        started = self._execute("SELECT started_at FROM runs WHERE id = ?", (run_id,))
        since = str(started[0][0]) if started else ""
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = self._execute(
                "SELECT e.order_id FROM order_events e JOIN runs r ON r.id = e.run_id "
                "WHERE r.environment = ? AND r.id >= ? AND e.state IN ('verified', 'inactive') "
                f"AND e.order_id IN ({marks}) UNION SELECT order_id FROM tasks "
                "WHERE environment = ? AND state = 'verified' AND done_at >= ? "
                f"AND order_id IN ({marks})",
                (self.environment, run_id, *chunk, self.environment, since, *chunk),
            )
            out.update(str(r[0]) for r in rows)
        return out

    def results(self, plan_digest: str) -> dict[str, str]:
        """order id → the last result any run recorded for it (e.g. a created account's id)."""
        rows = self._execute(
            "SELECT order_id, result FROM order_events WHERE plan_digest = ? "
            "AND result IS NOT NULL ORDER BY id",
            (plan_digest,),
        )
        return {r[0]: r[1] for r in rows}

    def results_of(self, plan_digest: str, order_ids: set[str]) -> dict[str, str]:
        """``results``, for ``order_ids`` only: what a worker's job reads (the creates of
        the accounts its orders act on) instead of every result of the plan."""
        ids = sorted(order_ids)
        out: dict[str, str] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            rows = self._execute(
                "SELECT order_id, result FROM order_events WHERE plan_digest = ? "
                f"AND order_id IN ({', '.join('?' * len(chunk))}) AND result IS NOT NULL "
                "ORDER BY id",
                (plan_digest, *chunk),
            )
            out.update((r[0], r[1]) for r in rows)
        return out

    def latest_run(self) -> dict[str, Any] | None:
        rows = self._execute(
            f"SELECT {', '.join(_RUN)} FROM runs WHERE environment = ? ORDER BY id DESC LIMIT 1",
            (self.environment,),
        )
        return _run(rows[0]) if rows else None

    def order_history(self, plan_digest: str, order_id: str) -> list[OrderEvent]:
        rows = self._execute(
            "SELECT order_id, state, at, message, result FROM order_events "
            "WHERE plan_digest = ? AND order_id = ? ORDER BY id",
            (plan_digest, order_id),
        )
        return [OrderEvent(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # ------------------------------------------------------------------ promotion

    def applied_runs(self, config_digest: str) -> list[dict[str, Any]]:
        """Apply runs in this environment of plans made from ``config_digest``, oldest first."""
        rows = self._execute(
            "SELECT r.id, r.plan_digest, r.status, r.finished_at FROM runs r JOIN plans p "
            "ON p.digest = r.plan_digest WHERE r.environment = ? AND p.config_digest = ? "
            "ORDER BY r.id",
            (self.environment, config_digest),
        )
        return [
            dict(zip(("id", "plan_digest", "status", "finished_at"), r, strict=True)) for r in rows
        ]

    def latest_applied_config(self) -> str | None:
        rows = self._execute(
            "SELECT p.config_digest FROM runs r JOIN plans p ON p.digest = r.plan_digest "
            "WHERE r.environment = ? ORDER BY r.id DESC LIMIT 1",
            (self.environment,),
        )
        return str(rows[0][0]) if rows else None

    def record_promotion(
        self, config_digest: str, source_env: str, plan_digest: str, actor: str
    ) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO promotions (environment, config_digest, from_environment, "
                "plan_digest, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.environment, config_digest, source_env, plan_digest, actor, now()),
            )

    def promoted(self, config_digest: str, source_env: str) -> bool:
        return bool(
            self._execute(
                "SELECT 1 FROM promotions WHERE environment = ? AND config_digest = ? "
                "AND from_environment = ?",
                (self.environment, config_digest, source_env),
            )
        )

    # ------------------------------------------------------------------ reports and sightings

    def save_report_totals(self, totals: dict[str, Any]) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO reports (environment, at, totals) VALUES (?, ?, ?)",
                (self.environment, now(), json.dumps(totals, sort_keys=True)),
            )

    def previous_report_totals(self) -> tuple[str, dict[str, Any]] | None:
        rows = self._execute(
            "SELECT at, totals FROM reports WHERE environment = ? ORDER BY id DESC LIMIT 1",
            (self.environment,),
        )
        return (str(rows[0][0]), json.loads(rows[0][1])) if rows else None
