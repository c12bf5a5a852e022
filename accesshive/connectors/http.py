"""What every HTTP connector reads the same way."""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING

from accesshive.errors import ConnectorError

if TYPE_CHECKING:
    import httpx


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def refuse_unacknowledged(response: httpx.Response, source: str, shown: str = "") -> None:
    """A webhook's answer, unless 2xx, as a ``ConnectorError``: 429 and 5xx retryable (with
    the Retry-After asked for), any other non-2xx not. ``shown`` follows the status in the
    message (``" from URL"`` where the URL is no secret)."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise ConnectorError(
            source,
            f"HTTP {status}{shown}",
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 300:
        raise ConnectorError(source, f"HTTP {status}{shown}: {response.text[:200]}")
