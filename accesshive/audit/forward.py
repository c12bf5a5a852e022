"""Forwarding the audit log to a SIEM webhook, resuming where it stopped.

Entries go in batches as JSON (``{"entries": [...]}``) with an
``Idempotency-Key`` header (the batch's last entry hash) and each entry's own
hash, so a receiver that keeps hashes sees each entry once. The cursor moves
only after the receiver acknowledged (2xx); a crash between the two resends the
same batch with the same key on the next run: no entry is lost, and none is
counted twice by a receiver that honours the key. Retries use bounded
exponential backoff on connection errors, 429 and 5xx.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx

from accesshive.apply.retry import call_with_retries
from accesshive.config.model import RetrySpec
from accesshive.connectors.http import refuse_unacknowledged
from accesshive.errors import ConnectorError
from accesshive.store import Store


def cursor_name(url: str) -> str:
    return "forward:" + hashlib.sha256(url.encode()).hexdigest()[:16]


def forward(
    store: Store,
    url: str,
    batch_size: int = 200,
    retry: RetrySpec | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
    after_send: Callable[[int], None] | None = None,
) -> int:
    """Send every entry after the cursor; return how many were sent."""
    retry = retry or RetrySpec(attempts=5, initial_delay=1.0, max_delay=30.0, max_seconds=300)
    name = cursor_name(url)
    last, _ = store.cursor(name)
    entries = store.audit_entries(after_seq=last)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    own = client is None
    http = client or httpx.Client(timeout=30)
    sent = 0
    try:
        for start in range(0, len(entries), batch_size):
            batch = entries[start : start + batch_size]
            key = batch[-1].hash or str(batch[-1].seq)
            body = {"entries": [e.to_json() for e in batch]}

            def post(body: dict[str, Any] = body, key: str = key) -> None:
                try:
                    response = http.post(
                        url, json=body, headers={**headers, "Idempotency-Key": key}
                    )
                except httpx.HTTPError as exc:
                    raise ConnectorError(
                        "siem", f"cannot reach {url}: {exc}", retryable=True
                    ) from exc
                refuse_unacknowledged(response, "siem", f" from {url}")

            call_with_retries(post, retry)
            if after_send:
                after_send(batch[-1].seq)
            store.set_cursor(name, batch[-1].seq, batch[-1].hash)
            sent += len(batch)
    finally:
        if own:
            http.close()
    return sent
