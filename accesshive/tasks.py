"""Manual tasks: the orders of manual sources, written for the person who performs them.

A task is the order's body plus who does it. It is verified when a later sync
shows the change on the source (``task_satisfied``), or when its owner marks it
done (``accesshive tasks done``), which the audit log records. Its order moves to
``verified`` then too (``mark_done``), in every plan that handed it over, so that
``status``, ``plan`` and the next apply see the work done at once.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from accesshive.config.account_kinds import DEFAULT_KIND, account_link, telling_apart
from accesshive.config.model import Source
from accesshive.csv_export import csv_text
from accesshive.errors import LockedError
from accesshive.plan.changes import Changes
from accesshive.plan.orders import Change, Order
from accesshive.plan.states import OrderState
from accesshive.render.describe import summary_line
from accesshive.render.markup import md
from accesshive.state.snapshot import SnapshotAccount, SourceSnapshot
from accesshive.store import Store, Task
from accesshive.store.base import now


def task_id(plan_digest: str, order_id: str) -> str:
    """The task of an order: named by the order id alone (a hash of the source and what
    must be done), so every plan and apply that still needs the work finds the same
    task. ``plan_digest`` does not enter it (it names the plan that asks, not the work)."""
    del plan_digest
    return f"T-{order_id}"


def new_task(plan_digest: str, order: Order) -> Task:
    """The task that hands a manual source's order to its owner: open, with the order's
    body as what to do."""
    return Task(
        id=task_id(plan_digest, order.id),
        plan_digest=plan_digest,
        order_id=order.id,
        source=order.change.source,
        assignee=order.assignee or "source owner",
        description=summary_line(order).split(": ", 1)[-1],
        content=order.body(),
        state="open",
        created_at=now(),
    )


def _account(
    order: Mapping[str, Any], snap: SourceSnapshot, source: Source | None = None
) -> SnapshotAccount | None:
    """The account of the export the task is about: by external id, by the link the
    export records (``identity`` and ``account_kind`` columns), else by its attributes.
    With account kinds, an account linked to another identity or kind is never it, and
    only the attributes that tell the task's kind apart count (an admin badge's task is
    not done because the everyday badge carries the same mail): as the diff matches."""
    ext, identity, name = order.get("account"), order.get("identity"), order.get("name")
    kind = (order.get("details") or {}).get("account_kind", DEFAULT_KIND)
    link = account_link(identity, kind) if identity else None
    for acc in snap.accounts:
        if ext and acc.external_id == ext:
            return acc
    for acc in snap.accounts:
        if link and acc.identity == link:
            return acc
    telling = telling_apart(source).get(kind) if source is not None else None
    attrs = {
        k: v for k, v in (order.get("attributes") or {}).items() if telling is None or k in telling
    }
    by_name = telling is None or (
        source is not None and source.account.name_attribute in (telling or ())
    )
    for acc in snap.accounts:
        if telling is not None and acc.identity and acc.identity != link:
            continue  # linked to someone else, or to another of this identity's accounts
        for key, value in attrs.items():
            if not isinstance(value, dict) and value and acc.attributes.get(key) == value:
                return acc
        if by_name and name and name in {str(v) for v in acc.attributes.values()}:
            return acc
    return None


def task_satisfied(
    order: Mapping[str, Any], snap: SourceSnapshot, source: Source | None = None
) -> bool:
    """Whether ``snap`` shows the change the task asked for. ``source``: the task's
    source as configured, whose account kinds say which attributes find its account."""
    action = order.get("action")
    acc = _account(order, snap, source)
    if action == "delete_account":
        # an account known only from a done task (``plan/known_accounts.py``) was never in
        # an export: its absence from one proves nothing, its owner marks it done
        return acc is None and not (order.get("details") or {}).get("known_from")
    if acc is None:
        return False
    if action == "create_account":
        return True
    if action == "grant":
        return order.get("entitlement") in acc.grants
    if action == "revoke":
        return order.get("entitlement") not in acc.grants
    if action == "enable_account":
        return acc.enabled
    if action == "disable_account":
        return not acc.enabled
    if action == "update_account":
        changes = order.get("attributes") or {}
        return all(
            str(acc.attributes.get(k, "")).casefold() == str(v.get("to", "")).casefold()
            for k, v in changes.items()
        )
    return False


def done_since_read(
    found: Changes, done: Iterable[Task], read_at: Mapping[str, str], manual: Collection[str]
) -> Changes:
    """``found`` without the changes on the ``manual`` sources whose task is done (its
    owner marked it done, or a sync saw it) since the source's export was first read as
    it is now (``read_at``: source → that time; ``Store.unchanged_since``): the export
    predates the work, so the diff still asks for it, but the work is done. Once a new
    export still lacks it, the change is planned again (the owner's export says so)."""
    done_at = {t.order_id: t.done_at for t in done if t.source in manual and t.done_at}
    if not done_at:
        return found

    def is_done(change: Change) -> bool:
        at = done_at.get(change.order_id()) if change.source in manual else None
        # an export read within the second the task was marked done predates the work
        return at is not None and at >= read_at.get(change.source, "")

    kept = tuple(c for c in found.changes if not is_done(c))
    return found if len(kept) == len(found.changes) else replace(found, changes=kept)


def mark_done(store: Store, task_id: str, by: str, event: str) -> tuple[Task, bool]:
    """Mark a task done by ``by`` (its owner, or ``sync``), audited as ``event``, and move
    its order from ``transmitted`` to ``verified`` in each plan that handed it over
    ("task T-... done by ..."), audited as every order's move is, in one transaction;
    return the task and whether this call did. A task done already is returned as it
    is, nothing recorded again (who did the work is never rewritten).

    The orders move under the environment's lock: while an apply holds it, that apply
    may be about to verify the same order itself (``apply/executor.py`` reads the task),
    so the task alone is marked and the order is left to that apply."""
    return mark_all_done(store, [task_id], by, event)[0]


def mark_all_done(
    store: Store, task_ids: Iterable[str], by: str, event: str
) -> list[tuple[Task, bool]]:
    """``mark_done`` for several tasks (what a sync saw done), under one take of the lock;
    each task in a transaction of its own."""
    ids = list(task_ids)
    if not ids:
        return []
    try:
        with store.lock(by, "tasks done"):
            return [_mark_done(store, tid, by, event, move_orders=True) for tid in ids]
    except LockedError:
        return [_mark_done(store, tid, by, event, move_orders=False) for tid in ids]


def _mark_done(
    store: Store, task_id: str, by: str, event: str, move_orders: bool
) -> tuple[Task, bool]:
    with store.transaction():
        found = store.task(task_id)
        if found is not None and found.state == "verified":
            return found, False
        task = store.complete_task(task_id, by=by, state="verified")
        store.audit(by, event, task.id, {"order": task.order_id, "source": task.source})
        message = f"task {task.id} done by {by}"
        for run_id, digest in store.handed_over(task.order_id) if move_orders else ():
            store.record_order_states(
                run_id, digest, [(task.order_id, OrderState.VERIFIED, message, None)], actor=by
            )
        return task, True


def tasks_csv(tasks: Iterable[Task]) -> str:
    """The tasks as CSV for a spreadsheet (``csv_export``: no cell can run as a formula)."""
    header = [
        "task",
        "source",
        "assignee",
        "action",
        "account",
        "entitlement",
        "what",
        "state",
        "reason",
    ]
    return csv_text(
        header,
        (
            [
                t.id,
                t.source,
                t.assignee,
                t.content.get("action"),
                t.content.get("name") or t.content.get("account") or "",
                t.content.get("entitlement") or "",
                t.description,
                t.state,
                t.reason or "",
            ]
            for t in tasks
        ),
    )


def tasks_markdown(tasks: Iterable[Task], repository: Path | None = None) -> str:
    """The checklist for source owners; names are Markdown-escaped, one task per item.
    ``repository``: named in the closing command with ``-C`` (a run's ``tasks.md`` is read
    far from where it was written), as ``tasks list`` names it."""
    tasks = list(tasks)
    lines = ["# Manual provisioning tasks", ""]
    by_source: dict[str, list[Task]] = {}
    for t in tasks:
        by_source.setdefault(t.source, []).append(t)
    for source, items in sorted(by_source.items()):
        lines.append(f"## {md(source)} — for {md(items[0].assignee)}")
        lines.append("")
        for t in items:
            if t.state == "cancelled":
                lines.append(f"- ~~`{t.id}` {md(t.description)}~~ cancelled: {md(t.reason or '')}")
            else:
                box = "x" if t.state == "verified" else " "
                lines.append(f"- [{box}] `{t.id}` {md(t.description)}")
        lines.append("")
    first_open = next((t.id for t in tasks if t.state == "open"), None)
    if first_open is not None:
        # a real id, so the command runs as printed (--by defaults to whoever runs it)
        lines.append(
            f"When a task is done, run `accesshive tasks done {first_open}"
            + (f" -C {shlex.quote(str(repository))}" if repository is not None else "")
            + "` (with that task's "
            "id), or send a new export: the next sync verifies what it shows."
        )
    return "\n".join(lines) + "\n"
