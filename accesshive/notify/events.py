"""Notification events, built from what a command found. Pure: no I/O.

Each event has a ``key`` derived from what it is about, never from when it was
found: the nightly report that finds the same drift again makes the same key, and
the store delivers it once. A change in what was found (another identity drifted)
is a new key, so a new message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_LINES = 20
"""Lines of detail a message lists before "… and N more": a Slack message, not a report."""


@dataclass(frozen=True)
class Event:
    kind: str
    """One of ``accesshive.config.policy.NOTIFICATION_EVENTS``."""
    key: str
    environment: str
    title: str
    lines: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """What a ``webhook`` target receives (and the store keeps): no secret is ever
        part of an event."""
        return {
            "event": self.kind,
            "id": self.key,
            "environment": self.environment,
            "title": self.title,
            "lines": list(self.lines),
            "details": dict(self.details),
        }


def _key(kind: str, environment: str, *about: Any) -> str:
    text = json.dumps([kind, environment, *about], sort_keys=True, default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _listed(lines: Sequence[str]) -> tuple[str, ...]:
    if len(lines) <= MAX_LINES:
        return tuple(lines)
    return (*lines[:MAX_LINES], f"… and {len(lines) - MAX_LINES} more")


def apply_failed(
    environment: str, plan: str, run_id: int, counts: Mapping[str, int], failed: Mapping[str, str]
) -> Event:
    """An apply that ended ``failed``: which orders, with the target's message."""
    return Event(
        kind="apply_failed",
        key=_key("apply_failed", environment, plan, run_id),
        environment=environment,
        title=f"apply run {run_id} of plan {plan[:12]} failed: {len(failed)} order(s) not done",
        lines=_listed([f"{oid}: {message}" for oid, message in sorted(failed.items())]),
        details={"plan": plan, "run": run_id, "counts": dict(counts), "failed": dict(failed)},
    )


def source_down(environment: str, source: str, message: str, where: str) -> Event:
    """A source that could not be reached; ``where`` names the run or sync that found
    it (one message per run that finds it down, not one per order)."""
    return Event(
        kind="source_down",
        key=_key("source_down", environment, source, where),
        environment=environment,
        title=f"source '{source}' is down ({where})",
        lines=(message,),
        details={"source": source, "message": message, "where": where},
    )


def review_waiting(
    environment: str, plan: str, waiting: Mapping[str, Sequence[str]], hours: float
) -> Event:
    """Gated orders of one plan still unapproved ``hours`` after it was made, with the
    reviewer groups that can approve each."""
    return Event(
        kind="review_waiting",
        key=_key("review_waiting", environment, plan, sorted(waiting)),
        environment=environment,
        title=f"{len(waiting)} order(s) of plan {plan[:12]} waiting for review for over "
        f"{hours:g} h",
        lines=_listed(
            [
                f"{oid}: approve as {', '.join(who) or 'a reviewer'}"
                for oid, who in sorted(waiting.items())
            ]
        ),
        details={"plan": plan, "hours": hours, "orders": {k: list(v) for k, v in waiting.items()}},
    )


def drift_found(environment: str, drifted: Mapping[str, Sequence[str]]) -> Event:
    """Identities whose targets differ from the repository, with each difference."""
    about = sorted((iid, sorted(diffs)) for iid, diffs in drifted.items())
    return Event(
        kind="drift_found",
        key=_key("drift_found", environment, about),
        environment=environment,
        title=f"drift: {len(drifted)} identit{'y' if len(drifted) == 1 else 'ies'} out of sync "
        "with the repository",
        lines=_listed([f"{iid}: {'; '.join(diffs)}" for iid, diffs in about]),
        details={"identities": {iid: diffs for iid, diffs in about}},
    )


def orphans_found(environment: str, orphans: Iterable[tuple[str, str, str | None]]) -> Event:
    """Accounts no identity owns: (source, account id, account name)."""
    about = sorted(orphans, key=lambda o: (o[0], o[1]))
    return Event(
        kind="orphans_found",
        key=_key("orphans_found", environment, [(s, a) for s, a, _ in about]),
        environment=environment,
        title=f"{len(about)} orphan account(s): no identity owns them",
        lines=_listed([f"{s}: {name or account}" for s, account, name in about]),
        details={"orphans": [{"source": s, "account": a, "name": n} for s, a, n in about]},
    )


def idp_leaver(environment: str, source: str, record: str, name: str, at: str) -> Event:
    """An identity provider deactivated someone (``at``: when the push arrived, part of
    the key so that a re-hired person who leaves again is told again)."""
    return Event(
        kind="idp_leaver",
        key=_key("idp_leaver", environment, source, record, at),
        environment=environment,
        title=f"leaver pushed by identity source '{source}': {name}",
        lines=(f"{name} was deactivated; their access is removed by the next apply",),
        details={"source": source, "record": record, "name": name, "at": at},
    )
