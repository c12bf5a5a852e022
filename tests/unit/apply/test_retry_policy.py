"""The retry policy a source's ``retry`` settings describe: what is retried, how often, how
long it waits (and what a target's Retry-After changes), and what each retry reports."""

from __future__ import annotations

import pytest

from accesshive.apply.retry import call_with_retries, is_retryable
from accesshive.config.model import RetrySpec
from accesshive.errors import ConnectorError


class Target:
    """Fails with the given errors, in order, then answers "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _busy(message: str = "HTTP 503", retry_after: float | None = None) -> ConnectorError:
    return ConnectorError("app", message, retryable=True, retry_after=retry_after)


def _run(target: Target, spec: RetrySpec) -> tuple[str, list[float], list[tuple[int, str, float]]]:
    slept: list[float] = []
    notes: list[tuple[int, str, float]] = []
    result = call_with_retries(
        target, spec, lambda n, exc, delay: notes.append((n, str(exc), delay)), slept.append
    )
    return result, slept, notes


def test_what_is_retried() -> None:
    spec = RetrySpec(errors=["deadlock detected", r"^lock wait timeout"])
    assert is_retryable(_busy(), spec)
    assert is_retryable(ConnectorError("app", "ERROR: deadlock detected (40P01)"), spec)
    assert is_retryable(ConnectorError("app", "lock wait timeout exceeded"), spec)
    assert not is_retryable(ConnectorError("app", "the lock wait timeout"), spec)
    assert not is_retryable(ConnectorError("app", "400 Bad Request"), spec)
    assert not is_retryable(ValueError("deadlock detected"), spec)
    assert not is_retryable(ConnectorError("app", "deadlock detected"), RetrySpec())


def test_retries_wait_exponentially_with_jitter_and_report_each_retry() -> None:
    spec = RetrySpec(attempts=4, initial_delay=1.0, max_delay=60.0, max_seconds=300)
    target = Target(_busy("HTTP 503 one"), _busy("HTTP 503 two"), _busy("HTTP 503 three"))
    result, slept, notes = _run(target, spec)
    assert (result, target.calls) == ("ok", 4)
    assert len(slept) == 3
    for n, (low, high) in enumerate([(1.0, 2.0), (2.0, 3.0), (4.0, 5.0)]):
        assert low <= slept[n] <= high, slept
    assert [(n, text) for n, text, _ in notes] == [
        (1, "source 'app': HTTP 503 one"),
        (2, "source 'app': HTTP 503 two"),
        (3, "source 'app': HTTP 503 three"),
    ]
    assert [delay for _, _, delay in notes] == slept


def test_the_wait_never_exceeds_max_delay_plus_jitter() -> None:
    spec = RetrySpec(attempts=8, initial_delay=1.0, max_delay=3.0, max_seconds=300)
    _, slept, _ = _run(Target(*[_busy() for _ in range(7)]), spec)
    assert len(slept) == 7
    assert all(s <= 4.0 for s in slept)
    assert all(s >= 3.0 for s in slept[2:])


def test_a_wait_the_target_asks_for_is_honoured_up_to_max_delay() -> None:
    spec = RetrySpec(attempts=4, initial_delay=1.0, max_delay=30.0)
    _, slept, _ = _run(Target(_busy(retry_after=12.5), _busy(retry_after=90.0), _busy()), spec)
    assert slept[:2] == [12.5, 30.0]
    assert 4.0 <= slept[2] <= 5.0  # no Retry-After: the backoff again


def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    spec = RetrySpec(attempts=3, initial_delay=0.5, max_delay=1.0)
    target = Target(_busy("first"), _busy("second"), _busy("third"), _busy("never"))
    with pytest.raises(ConnectorError) as caught:
        _run(target, spec)
    assert caught.value.message == "third"
    assert target.calls == 3


def test_one_attempt_means_no_retry() -> None:
    target = Target(_busy("busy"))
    with pytest.raises(ConnectorError, match="busy"):
        _run(target, RetrySpec(attempts=1))
    assert target.calls == 1


def test_the_total_time_is_bounded() -> None:
    """max_seconds counts from the first attempt: past it, no further retry."""
    import time

    spec = RetrySpec(attempts=50, initial_delay=0.05, max_delay=0.05, max_seconds=0.3)
    target = Target(*[_busy() for _ in range(49)])
    start = time.monotonic()
    with pytest.raises(ConnectorError):
        call_with_retries(target, spec, sleep=time.sleep)
    assert time.monotonic() - start < 2.0
    assert 2 <= target.calls < 49


def test_errors_that_are_not_retryable_fail_at_once() -> None:
    target = Target(ConnectorError("app", "403 Forbidden"))
    with pytest.raises(ConnectorError, match="403 Forbidden"):
        _run(target, RetrySpec(attempts=5))
    assert target.calls == 1
    crash = Target(KeyError("mapping"))
    with pytest.raises(KeyError):
        _run(crash, RetrySpec(attempts=5))
    assert crash.calls == 1
