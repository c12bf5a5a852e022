"""Forwarding the audit log to a SIEM, as the receiver sees it: what each request carries,
which answers are retried, which stop forwarding, and that the cursor (and the anchor
``audit verify`` checks) moves only past what the receiver acknowledged."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from accesshive.audit.chain import verify_chain
from accesshive.audit.forward import forward
from accesshive.cli import main
from accesshive.config.model import RetrySpec
from accesshive.errors import ConnectorError
from accesshive.store import Store, open_store

FAST = RetrySpec(attempts=3, initial_delay=0.01, max_delay=0.02)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        for n in range(5):
            opened.audit("ci", "order_state", f"o{n}", {"n": n})
        yield opened


Answer = Callable[[httpx.Request], httpx.Response]


class Receiver:
    """A SIEM endpoint: answers each request from a script, records what it was sent."""

    def __init__(self, *answers: int | httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 202
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else httpx.Response(answer)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def bodies(self) -> list[list[int]]:
        return [[e["seq"] for e in json.loads(r.content)["entries"]] for r in self.requests]


def _seqs(store: Store) -> list[int]:
    return [e.seq for e in store.audit_entries()]


def test_each_batch_carries_its_entries_and_the_last_ones_hash_as_idempotency_key(
    store: Store,
) -> None:
    receiver = Receiver()
    with receiver.client() as client:
        assert forward(store, "https://siem.test/in", batch_size=2, client=client) == 5
        assert not client.is_closed  # the caller's client is the caller's to close
    entries = store.audit_entries()
    assert receiver.bodies() == [[1, 2], [3, 4], [5]]
    keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
    assert keys == [entries[1].hash, entries[3].hash, entries[4].hash]
    sent = json.loads(receiver.requests[0].content)["entries"]
    assert sent == [e.to_json() for e in entries[:2]]
    assert all(r.headers["Content-Type"] == "application/json" for r in receiver.requests)
    assert all("Authorization" not in r.headers for r in receiver.requests)


def test_the_token_is_sent_as_a_bearer_token(store: Store) -> None:
    receiver = Receiver()
    with receiver.client() as client:
        forward(store, "https://siem.test/in", token="s3cret", client=client)
    assert [r.headers["Authorization"] for r in receiver.requests] == ["Bearer s3cret"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_failing_receivers_are_retried(store: Store, status: int) -> None:
    receiver = Receiver(status)
    with receiver.client() as client:
        assert forward(store, "https://siem.test/in", retry=FAST, client=client) == 5
    assert receiver.bodies() == [[1, 2, 3, 4, 5]] * 2
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_receiver_that_stays_busy_ends_forwarding_with_its_status(
    store: Store, status: int
) -> None:
    receiver = Receiver(*[status] * 3)
    with receiver.client() as client, pytest.raises(ConnectorError) as caught:
        forward(store, "https://siem.test/in", retry=FAST, client=client)
    assert len(receiver.requests) == 3
    assert str(caught.value) == f"source 'siem': HTTP {status} from https://siem.test/in"
    assert store.anchors() == {}


def test_an_unreachable_receiver_is_retried(store: Store) -> None:
    receiver = Receiver(httpx.ConnectError("connection refused"))
    with receiver.client() as client:
        assert forward(store, "https://siem.test/in", retry=FAST, client=client) == 5
    assert len(receiver.requests) == 2


def test_an_unreachable_receiver_says_so_and_keeps_the_cursor(store: Store) -> None:
    receiver = Receiver(*[httpx.ConnectError("connection refused")] * 3)
    with receiver.client() as client, pytest.raises(ConnectorError) as caught:
        forward(store, "https://siem.test/in", retry=FAST, client=client)
    assert str(caught.value) == (
        "source 'siem': cannot reach https://siem.test/in: connection refused"
    )
    assert len(receiver.requests) == 3
    again = Receiver()
    with again.client() as client:
        assert forward(store, "https://siem.test/in", client=client) == 5


def test_retry_after_is_waited_for(store: Store) -> None:
    receiver = Receiver(httpx.Response(429, headers={"Retry-After": "0.5"}))
    spec = RetrySpec(attempts=3, initial_delay=0.01, max_delay=5.0)
    start = time.monotonic()
    with receiver.client() as client:
        assert forward(store, "https://siem.test/in", retry=spec, client=client) == 5
    assert time.monotonic() - start >= 0.45
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("status", [300, 301, 400, 401, 403, 404, 422])
def test_any_other_answer_stops_forwarding_and_moves_nothing(store: Store, status: int) -> None:
    """Only a 2xx acknowledges: an entry the receiver did not take is never skipped."""
    reason = "x" * 300
    receiver = Receiver(httpx.Response(status, text=reason))
    with receiver.client() as client, pytest.raises(ConnectorError) as caught:
        forward(store, "https://siem.test/in", retry=FAST, client=client)
    assert len(receiver.requests) == 1  # not retried
    assert caught.value.retryable is False
    assert str(caught.value) == (
        f"source 'siem': HTTP {status} from https://siem.test/in: {'x' * 200}"
    )
    assert store.anchors() == {}
    again = Receiver()
    with again.client() as client:
        assert forward(store, "https://siem.test/in", client=client) == 5
    assert again.bodies() == [[1, 2, 3, 4, 5]]


def test_a_failure_after_the_first_batch_keeps_what_was_acknowledged(store: Store) -> None:
    receiver = Receiver(202, 400)
    with receiver.client() as client, pytest.raises(ConnectorError):
        forward(store, "https://siem.test/in", batch_size=3, retry=FAST, client=client)
    entries = store.audit_entries()
    assert store.anchors() == {3: entries[2].hash}
    again = Receiver()
    with again.client() as client:
        assert forward(store, "https://siem.test/in", batch_size=3, client=client) == 2
    assert again.bodies() == [[4, 5]]


def test_forwarded_entries_pin_the_log(store: Store) -> None:
    """What the SIEM holds cannot be cut off the store's log unnoticed."""
    receiver = Receiver()
    with receiver.client() as client:
        forward(store, "https://siem.test/in", client=client)
    assert verify_chain(store.audit_entries(), store.anchors()) is None
    store._execute("DELETE FROM audit WHERE seq = 5")
    problem = verify_chain(store.audit_entries(), store.anchors())
    assert problem is not None
    assert str(problem) == (
        "entry #5: an entry already sent to the SIEM is missing or different here"
    )


def test_each_url_has_its_own_cursor(store: Store) -> None:
    first, second = Receiver(), Receiver()
    with first.client() as client:
        assert forward(store, "https://siem-a.test/in", client=client) == 5
    with second.client() as client:
        assert forward(store, "https://siem-b.test/in", client=client) == 5
    with first.client() as client:
        assert forward(store, "https://siem-a.test/in", client=client) == 0


class _Siem(BaseHTTPRequestHandler):
    seen: list[tuple[dict[str, str], dict[str, object]]] = []

    def log_message(self, *args: object) -> None:
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Siem.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()


@pytest.fixture
def siem() -> Iterator[str]:
    _Siem.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Siem)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ingest"
    server.shutdown()
    server.server_close()


def test_the_command_forwards_with_the_token_from_the_environment(
    tmp_path: Path, siem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(tmp_path) as s:
        for n in range(3):
            s.audit("ci", "order_state", f"o{n}", {"n": n})
        last = s.audit_entries()[-1]
    monkeypatch.setenv("ACCESSHIVE_SIEM_TOKEN", "tok-1")
    result = CliRunner().invoke(main, ["audit", "forward", str(tmp_path), "--url", siem])
    assert result.exit_code == 0, result.output
    assert f"forwarded 3 entries to {siem}" in result.output
    [(headers, body)] = _Siem.seen
    assert headers["authorization"] == "Bearer tok-1"
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == last.hash
    assert [e["seq"] for e in body["entries"]] == [1, 2, 3]  # type: ignore[index]
    again = CliRunner().invoke(main, ["audit", "forward", str(tmp_path), "--url", siem])
    assert "forwarded 0 entries" in again.output
    assert len(_Siem.seen) == 1


def test_the_default_batch_is_200_entries(store: Store) -> None:
    for n in range(5, 201):
        store.audit("ci", "order_state", f"o{n}", {"n": n})
    receiver = Receiver()
    with receiver.client() as client:
        assert forward(store, "https://siem.test/in", client=client) == 201
    assert [len(b) for b in receiver.bodies()] == [200, 1]


def test_without_a_retry_policy_forwarding_retries_five_times_within_five_minutes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default is bounded: 5 attempts, 1 s doubling to at most 30 s, 300 s in all."""
    import accesshive.audit.forward as forwarding

    specs: list[RetrySpec] = []

    def once(func: Callable[[], None], spec: RetrySpec) -> None:
        specs.append(spec)
        func()

    monkeypatch.setattr(forwarding, "call_with_retries", once)
    receiver = Receiver()
    with receiver.client() as client:
        assert forward(store, "https://siem.test/in", batch_size=3, client=client) == 5
    assert specs == [RetrySpec(attempts=5, initial_delay=1.0, max_delay=30.0, max_seconds=300)] * 2


def test_the_client_forward_opens_times_out_and_is_closed(
    store: Store, siem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIEM that never answers cannot hang forwarding: 30 s per request."""
    opened: list[httpx.Client] = []

    class Client(httpx.Client):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            opened.append(self)

    monkeypatch.setattr("accesshive.audit.forward.httpx.Client", Client)
    assert forward(store, siem) == 5
    [client] = opened
    assert client.timeout == httpx.Timeout(30)
    assert client.is_closed
    assert [e["seq"] for e in _Siem.seen[0][1]["entries"]] == [1, 2, 3, 4, 5]  # type: ignore[index]


def test_entries_without_a_hash_are_keyed_by_the_batch_last_seq(store: Store) -> None:
    """Rows written before the hash chain carry no hash: the key is still one per batch."""
    store._execute("UPDATE audit SET hash = NULL, prev_hash = NULL")
    receiver = Receiver()
    with receiver.client() as client:
        assert forward(store, "https://siem.test/in", batch_size=3, client=client) == 5
    assert [r.headers["Idempotency-Key"] for r in receiver.requests] == ["3", "5"]


def test_after_send_is_told_the_last_seq_of_each_batch(store: Store) -> None:
    told: list[int] = []
    receiver = Receiver()
    with receiver.client() as client:
        forward(store, "https://siem.test/in", batch_size=3, client=client, after_send=told.append)
    assert told == [3, 5]


def test_the_cursor_is_named_after_the_url(store: Store) -> None:
    """Stores keep it: a changed name would resend the whole log to the SIEM after an upgrade."""
    receiver = Receiver()
    with receiver.client() as client:
        forward(store, "https://siem.test/in", client=client)
    name = "forward:" + hashlib.sha256(b"https://siem.test/in").hexdigest()[:16]
    assert store.cursor(name)[0] == 5
