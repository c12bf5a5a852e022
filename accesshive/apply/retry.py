"""Retrying what is retryable: bounded exponential backoff with jitter (tenacity).

Retryable: what the connector classified so (refused connections, timeouts,
DNS failures, 429/502/503/504, LDAP busy/unavailable), a connection failure that
leaked unwrapped from a connector (``apply.outage``), and any message matching
one of the source's own ``retry.errors`` patterns. A wait the target asked for
(Retry-After) is honoured, capped by ``max_delay``. Everything else fails at
once with the target's message. Attempts and total time are bounded per source.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from accesshive.apply.outage import is_connection_failure
from accesshive.config.model import RetrySpec
from accesshive.errors import ConnectorError

T = TypeVar("T")


def is_retryable(exc: BaseException, spec: RetrySpec) -> bool:
    if not isinstance(exc, ConnectorError):
        # a connection failure that leaked from a connector unwrapped is retried as the
        # connector would have retried it wrapped
        return is_connection_failure(exc)
    if exc.retryable:
        return True
    return any(re.search(pattern, exc.message) for pattern in spec.errors)


def call_with_retries(
    func: Callable[[], T],
    spec: RetrySpec,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``func``; retry retryable ``ConnectorError``s within the source's limits."""
    backoff = wait_exponential(multiplier=spec.initial_delay, max=spec.max_delay) + wait_random(
        0, spec.initial_delay
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ConnectorError) and exc.retry_after is not None:
            return min(exc.retry_after, spec.max_delay)
        return float(backoff(state))

    def before_sleep(state: RetryCallState) -> None:
        if on_retry and state.outcome is not None:
            exc = state.outcome.exception()
            delay = state.next_action.sleep if state.next_action else 0.0
            if exc is not None:
                on_retry(state.attempt_number, exc, delay)

    retrying = Retrying(
        stop=stop_after_attempt(spec.attempts) | stop_after_delay(spec.max_seconds),
        wait=wait,
        retry=retry_if_exception(lambda e: is_retryable(e, spec)),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return retrying(func)
