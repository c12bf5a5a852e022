"""What people do for a plan, as tables: approvals of gated orders (read from a pull
request) and the manual tasks of sources that a person provisions."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from accesshive.approvals.declines import Decline
from accesshive.errors import StoreError
from accesshive.store._db import Database
from accesshive.store._values import Task, now


class Reviews(Database):
    """Approvals and manual tasks."""

    # ------------------------------------------------------------------ approvals

    def record_approval(
        self,
        plan_digest: str,
        order_id: str,
        content_digest: str,
        reviewer: str,
        evidence: str,
        at: str,
    ) -> bool:
        """Keep an approval read from a pull request (once per reviewer and order)."""
        with self.transaction():
            if self._execute(
                "SELECT 1 FROM approvals WHERE plan_digest = ? AND order_id = ? AND reviewer = ?",
                (plan_digest, order_id, reviewer),
            ):
                return False
            self._execute(
                "INSERT INTO approvals (plan_digest, order_id, content_digest, reviewer, "
                "signature, at) VALUES (?, ?, ?, ?, ?, ?)",
                (plan_digest, order_id, content_digest, reviewer, evidence, at),
            )
        return True

    def approvals(self, plan_digest: str) -> list[tuple[str, str, str, str, str]]:
        """(order id, content digest, reviewer, evidence, at) recorded for a plan."""
        rows = self._execute(
            "SELECT order_id, content_digest, reviewer, signature, at FROM approvals "
            "WHERE plan_digest = ? ORDER BY id",
            (plan_digest,),
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def approvals_of_orders(
        self, order_ids: Collection[str]
    ) -> list[tuple[str, str, str, str, str, str]]:
        """(plan digest, order id, content digest, reviewer, evidence, at) recorded for
        these order ids, whatever plan they were read for: the approvals an identical
        order of a re-plan may carry (``approvals/carry.py`` decides which may)."""
        wanted = sorted(set(order_ids))
        out: list[tuple[str, str, str, str, str, str]] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._execute(
                "SELECT plan_digest, order_id, content_digest, reviewer, signature, at "
                f"FROM approvals WHERE order_id IN ({marks}) ORDER BY id",
                tuple(chunk),
            )
            out += [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
        return out

    # ------------------------------------------------------------------ declines

    def record_decline(
        self,
        plan_digest: str,
        order_id: str,
        content_digest: str,
        reviewer: str,
        reason: str,
        withdrawn: bool,
        evidence: str,
        at: str,
    ) -> bool:
        """Keep a decline (or its withdrawal) read from a pull request, once per review or
        comment, order and kind; return whether it is new."""
        with self.transaction():
            if self._execute(
                "SELECT 1 FROM declines WHERE environment = ? AND order_id = ? "
                "AND content_digest = ? AND reviewer = ? AND evidence = ? AND withdrawn = ? "
                "AND at = ?",
                (
                    self.environment,
                    order_id,
                    content_digest,
                    reviewer,
                    evidence,
                    int(withdrawn),
                    at,
                ),
            ):
                return False
            self._execute(
                "INSERT INTO declines (environment, plan_digest, order_id, content_digest, "
                "reviewer, reason, withdrawn, evidence, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.environment,
                    plan_digest,
                    order_id,
                    content_digest,
                    reviewer,
                    reason,
                    int(withdrawn),
                    evidence,
                    at,
                ),
            )
        return True

    def declines(self, order_ids: Collection[str]) -> list[Decline]:
        """Every decline and withdrawal recorded in this environment for these order ids,
        whatever plan it was read for (they hold by order content, not plan)."""
        wanted = sorted(set(order_ids))
        out: list[Decline] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._execute(
                "SELECT plan_digest, order_id, content_digest, reviewer, reason, withdrawn, "
                f"evidence, at FROM declines WHERE environment = ? AND order_id IN ({marks}) "
                "ORDER BY id",
                (self.environment, *chunk),
            )
            out += [
                Decline(
                    plan_digest=r[0],
                    order=r[1],
                    content_digest=r[2],
                    reviewer=r[3],
                    reason=r[4],
                    signed_at=r[7],
                    withdrawn=bool(r[5]),
                    via="github",
                    evidence=r[6],
                )
                for r in rows
            ]
        return out

    # ------------------------------------------------------------------ manual tasks

    def save_task(self, task: Task) -> bool:
        """Record a task once (idempotent by id in this environment); return whether it is
        new. A cancelled task needed again is opened again, for the plan that asks."""
        with self.transaction():
            rows = self._execute(
                "SELECT state FROM tasks WHERE id = ? AND environment = ?",
                (task.id, self.environment),
            )
            if rows and rows[0][0] == "cancelled":
                self._execute(
                    "UPDATE tasks SET state = 'open', reason = NULL, done_at = NULL, "
                    "plan_digest = ?, content = ?, description = ?, assignee = ? "
                    "WHERE id = ? AND environment = ?",
                    (
                        task.plan_digest,
                        json.dumps(task.content, sort_keys=True),
                        task.description,
                        task.assignee,
                        task.id,
                        self.environment,
                    ),
                )
                return True
            if rows:
                return False
            self._execute(
                "INSERT INTO tasks (id, environment, plan_digest, order_id, source, assignee, "
                "description, content, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.id,
                    self.environment,
                    task.plan_digest,
                    task.order_id,
                    task.source,
                    task.assignee,
                    task.description,
                    json.dumps(task.content, sort_keys=True),
                    task.state,
                    task.created_at,
                ),
            )
        return True

    _TASK_COLUMNS = (
        "SELECT id, plan_digest, order_id, source, assignee, description, content, state, "
        "created_at, done_at, done_by, reason FROM tasks WHERE environment = ?"
    )

    def tasks(self, *states: str) -> list[Task]:
        """The tasks in ``states`` (all of them when none is named)."""
        sql = self._TASK_COLUMNS
        params: list[Any] = [self.environment]
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            params.extend(states)
        return [_task(r) for r in self._execute(sql + " ORDER BY created_at, id", params)]

    def task(self, task_id: str) -> Task | None:
        """One task by id (apply asks once per manual order; sync once per open task)."""
        rows = self._execute(self._TASK_COLUMNS + " AND id = ?", (self.environment, task_id))
        return _task(rows[0]) if rows else None

    def complete_task(self, task_id: str, by: str, state: str = "verified") -> Task:
        with self.transaction():
            rows = self._execute(
                "SELECT state FROM tasks WHERE id = ? AND environment = ?",
                (task_id, self.environment),
            )
            if not rows:
                raise StoreError(f"no manual task '{task_id}'; `accesshive tasks list` shows them")
            self._execute(
                "UPDATE tasks SET state = ?, done_at = ?, done_by = ?, reason = NULL "
                "WHERE id = ? AND environment = ?",
                (state, now(), by, task_id, self.environment),
            )
        done = self.task(task_id)
        assert done is not None  # updated just above
        return done

    def cancel_tasks_not_in(
        self, order_ids: set[str], identities: set[str] | None, reason: str
    ) -> list[Task]:
        """Close as ``cancelled`` the open tasks of ``identities`` (None: of anyone) whose
        order is not in ``order_ids`` (the person left, the change was reverted); return
        them."""
        cancelled = [
            t
            for t in self.tasks("open")
            if t.order_id not in order_ids
            and (identities is None or t.content.get("identity") in identities)
        ]
        if not cancelled:
            return []
        at = now()
        with self.transaction():
            self._executemany(
                "UPDATE tasks SET state = 'cancelled', reason = ?, done_at = ? "
                "WHERE id = ? AND environment = ? AND state = 'open'",
                [(reason, at, t.id, self.environment) for t in cancelled],
            )
        return [replace(t, state="cancelled", reason=reason, done_at=at) for t in cancelled]


def _task(r: tuple[Any, ...]) -> Task:
    return Task(
        r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9], r[10], r[11]
    )
