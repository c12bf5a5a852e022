"""Delivering notification events to the targets the ``notifications`` policy names.

Each (event, target) is delivered once: the store remembers what was acknowledged
(2xx), and an event that could not be delivered (the receiver down, a reference that
does not resolve) is kept ``pending`` and sent again, first, by the next run. Every
attempt is audited with the target's name, never its URL (a Slack webhook URL is a
secret). Nothing here raises: a notification that fails is reported to the caller and
never changes the outcome of the command that found the event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accesshive.apply.retry import call_with_retries
from accesshive.config.model import RetrySpec
from accesshive.config.policy import NotificationPolicy, NotificationTarget
from accesshive.connectors.http import refuse_unacknowledged
from accesshive.connectors.references import resolve
from accesshive.errors import ConnectorError
from accesshive.notify.events import Event
from accesshive.store import Store

if TYPE_CHECKING:  # imported when there is something to send: most runs have nothing
    import httpx

RETRY = RetrySpec(attempts=4, initial_delay=1.0, max_delay=10.0, max_seconds=60)
"""Bounded: a receiver that is down costs a run about a minute, then the event waits
for the next run."""


@dataclass(frozen=True)
class Outcome:
    target: str
    event: str
    key: str
    error: str | None = None
    """None when the target acknowledged the event."""

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def notify(
    store: Store,
    policy: NotificationPolicy,
    events: Sequence[Event],
    root: Path,
    environ: Mapping[str, str],
    actor: str,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    """Send pending deliveries of earlier runs, then ``events``: each to each target its
    rules name, once."""
    todo: list[tuple[str, str, str, dict[str, Any]]] = [
        (d.target, d.event_key, d.event, d.payload)
        for d in store.pending_notifications()
        if d.target in policy.targets
    ]
    for event in events:
        for target in policy.targets_for(event.kind):
            if store.notification(target, event.key) is None:
                todo.append((target, event.key, event.kind, event.payload()))
    if not todo:
        return []
    import httpx

    own = client is None
    http = client or httpx.Client(timeout=10)
    outcomes: list[Outcome] = []
    try:
        for target, key, kind, payload in dict.fromkeys(
            (t, k, e, json.dumps(p, sort_keys=True)) for t, k, e, p in todo
        ):
            body = json.loads(payload)
            error = _deliver(http, target, policy.targets[target], body, root, environ, sleep)
            store.record_notification(target, key, kind, body, error)
            store.audit(
                actor,
                "notification_failed" if error else "notification_sent",
                key,
                {"target": target, "event": kind, **({"error": error} if error else {})},
            )
            outcomes.append(Outcome(target, kind, key, error))
    finally:
        if own:
            http.close()
    return outcomes


def _deliver(
    http: httpx.Client,
    name: str,
    target: NotificationTarget,
    payload: dict[str, Any],
    root: Path,
    environ: Mapping[str, str],
    sleep: Callable[[float], None],
) -> str | None:
    """None once the target acknowledged; else why not (without the URL)."""
    where = f"notification target '{name}'"
    try:
        url = str(resolve(target.url, where, root, environ))
        secret = resolve(target.secret, where, root, environ) if target.secret else None
    except ConnectorError as exc:
        return f"{where}: {exc.message}"
    if target.kind == "slack":
        body = json.dumps({"text": slack_text(payload)}).encode()
        headers = {"Content-Type": "application/json"}
    else:
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": str(payload["id"]),
            "X-Accesshive-Event": str(payload["event"]),
            **(signature_headers(str(secret), body) if secret else {}),
        }

    import httpx

    def post() -> None:
        try:
            response = http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            # the exception text can hold the URL: name the target and the kind only
            raise ConnectorError(
                where, f"cannot reach it ({type(exc).__name__})", retryable=True
            ) from None
        refuse_unacknowledged(response, where)  # the URL can be a secret: not shown

    try:
        call_with_retries(post, RETRY, sleep=sleep)
    except ConnectorError as exc:
        return f"{where}: {exc.message}"
    return None


def signature_headers(secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    """``X-Accesshive-Signature: sha256=HMAC(secret, "<timestamp>.<body>")``, the scheme
    GitHub and Stripe webhooks use: the timestamp inside the MAC lets a receiver refuse a
    replay of an old message."""
    stamp = str(int(time.time()) if at is None else at)
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Accesshive-Timestamp": stamp, "X-Accesshive-Signature": f"sha256={mac}"}


def slack_text(payload: Mapping[str, Any]) -> str:
    """The message a Slack-compatible webhook shows: environment, title, details."""
    lines = [f"*accesshive* [{payload['environment']}] {payload['title']}"]
    lines += [f"• {line}" for line in payload.get("lines", [])]
    return "\n".join(lines)
