"""What a target's failure is (errored) and what is ours (error), and when a source is
down: with the exceptions the connectors' libraries really raise against a closed port."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from accesshive.apply.batch import failure_of
from accesshive.apply.outage import (
    THRESHOLD,
    Breaker,
    SourceUnreachable,
    is_connection_failure,
    target_failure,
)
from accesshive.apply.retry import is_retryable
from accesshive.config.model import RetrySpec
from accesshive.connectors.ldap._ldap3 import ldap3, lexc
from accesshive.errors import ConnectorError
from accesshive.plan.states import OrderState


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port


def _raised(call: object) -> BaseException:
    assert callable(call)
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("nothing raised")


def _ldap_refused(port: int) -> BaseException:
    conn = ldap3.Connection(
        ldap3.Server("127.0.0.1", port=port, connect_timeout=2), raise_exceptions=True
    )
    try:
        return _raised(conn.open)
    finally:
        if conn.socket is not None:
            conn.socket.close()  # ldap3 leaves the socket of a failed connect open


def test_refused_connections_leaking_from_libraries_are_the_targets_failure(
    closed_port: int,
) -> None:
    refused = [
        _raised(lambda: httpx.get(f"http://127.0.0.1:{closed_port}/Users", timeout=2)),
        _raised(lambda: socket.create_connection(("127.0.0.1", closed_port), timeout=2)),
        _ldap_refused(closed_port),
    ]
    psycopg = pytest.importorskip("psycopg")
    refused.append(_raised(lambda: psycopg.connect(f"postgresql://x@127.0.0.1:{closed_port}/x")))
    for exc in refused:
        state, message = failure_of(exc)
        assert state == OrderState.ERRORED, exc
        assert message, exc
        assert is_connection_failure(exc), exc
        assert is_retryable(exc, RetrySpec()), exc
    # wrapped by a connector, with what it wrapped as the cause: the same
    wrapped = ConnectorError("dir", "connect to ldap://x: refused", retryable=True)
    wrapped.__cause__ = refused[-1]
    assert failure_of(wrapped) == (OrderState.ERRORED, "connect to ldap://x: refused")
    assert is_connection_failure(wrapped)


def test_a_protocol_answer_is_errored_but_not_a_connection_failure() -> None:
    answers: list[BaseException] = [
        sqlite3.IntegrityError("UNIQUE constraint failed: users.login"),
        lexc.LDAPInvalidDnError("bad dn"),
        ConnectorError("dir", "modify uid=x: insufficientAccessRights (50)"),
    ]
    for exc in answers:
        assert failure_of(exc)[0] == OrderState.ERRORED, exc
        assert not is_connection_failure(exc), exc
    # a missing local file is no network failure either
    assert not is_connection_failure(FileNotFoundError(2, "no such file", "export.csv"))


def test_our_own_failures_stay_error() -> None:
    for exc in (KeyError("login"), TypeError("unsupported operand"), ValueError("bad")):
        state, message = failure_of(exc)
        assert state == OrderState.ERROR
        assert message.startswith(type(exc).__name__)
        assert target_failure(exc) is None


def test_the_breaker_opens_after_consecutive_connection_failures_only() -> None:
    refused = ConnectorError("dir", "connect: [Errno 111] Connection refused", retryable=True)
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    answer = ConnectorError("dir", "busy (51)", retryable=True)
    breaker = Breaker()
    for _ in range(THRESHOLD - 1):
        breaker.failure("dir", refused)
    breaker.failure("dir", answer)  # the server answered: it is up
    for _ in range(THRESHOLD - 1):
        breaker.failure("dir", refused)
    assert breaker.down("dir") is None
    breaker.success("dir")
    for _ in range(THRESHOLD):
        breaker.failure("dir", refused)
    assert breaker.down("dir") == "connect: [Errno 111] Connection refused"
    assert breaker.down("other") is None
    with pytest.raises(SourceUnreachable) as info:
        breaker.check("dir")
    assert info.value.message == (
        "dir is unreachable: connect: [Errno 111] Connection refused; not attempted"
    )
    assert info.value.source == "dir"
    assert info.value.retryable is False  # never retried: the order was not sent


def test_an_order_that_gave_up_opens_the_breaker_with_the_first_reason() -> None:
    """When an order's whole retry budget went on connection failures, its source is down
    for the rest of the run; what it went down with first is what every later order says."""
    breaker = Breaker()
    breaker.open("dir", "connect: [Errno 111] Connection refused")
    breaker.open("dir", "connect: timed out")
    assert breaker.down("dir") == "connect: [Errno 111] Connection refused"
    assert breaker.down("wiki") is None
    assert breaker.down_sources() == {"dir": "connect: [Errno 111] Connection refused"}


def test_a_library_error_that_leaked_is_named_by_its_type_then_its_words() -> None:
    """An exception a connector let through unwrapped is still the target's failure:
    the order says which error it was and what it said, and no dangling colon when it
    said nothing."""
    assert failure_of(httpx.ReadTimeout("timed out")) == (
        OrderState.ERRORED,
        "ReadTimeout: timed out",
    )
    assert failure_of(httpx.ReadTimeout("")) == (OrderState.ERRORED, "ReadTimeout")
    assert failure_of(sqlite3.OperationalError("no such table: X")) == (
        OrderState.ERRORED,
        "OperationalError: no such table: X",
    )


def test_a_connection_failure_wrapped_by_our_own_code_takes_its_words_from_the_wrapper() -> None:
    """An exception of ours around a refused connection (no target message of its own)
    still counts towards the breaker, and the source goes down saying what it said."""
    lost = RuntimeError("lost the directory while reading page 3")
    lost.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert target_failure(lost) is None
    breaker = Breaker()
    for _ in range(THRESHOLD):
        breaker.failure("dir", lost)
    assert breaker.down("dir") == "lost the directory while reading page 3"


def test_a_chain_of_causes_that_loops_is_not_a_connection_failure() -> None:
    """Causes are followed a bounded number of links: a loop of answers (an exception
    that is its own cause, as re-raising code can make) is an answer, not an outage."""
    answer = ConnectorError("dir", "busy (51)", retryable=True)
    answer.__cause__ = answer
    assert not is_connection_failure(answer)
