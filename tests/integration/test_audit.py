"""The audit trail: every kind of tampering is found; export formats; forwarding resumes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.audit.chain import verify_chain
from accesshive.audit.export import to_cef
from accesshive.audit.forward import forward
from accesshive.cli import main
from accesshive.config.model import RetrySpec
from accesshive.store import Store, open_store

FAST = RetrySpec(attempts=3, initial_delay=0.01, max_delay=0.02)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        for n in range(6):
            opened.audit("ci", "order_state", f"o{n}", {"state": "verified", "n": n})
        yield opened


def test_an_intact_chain_verifies(store: Store, tmp_path: Path) -> None:
    assert verify_chain(store.audit_entries()) is None
    result = CliRunner().invoke(main, ["audit", "verify", str(tmp_path)])
    assert result.exit_code == 0
    assert "6 audit entries, chain intact" in result.output


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ('UPDATE audit SET details = \'{"state":"errored"}\' WHERE seq = 3', "entry #3: edited"),
        ("UPDATE audit SET actor = 'mallory' WHERE seq = 5", "entry #5: edited"),
        (
            "DELETE FROM audit WHERE seq = 2",
            "entry #3: the entry before it was removed or reordered",
        ),
        ("DELETE FROM audit WHERE seq = 1", "entry #2: the first entry was removed"),
        (
            "UPDATE audit SET seq = 100 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; "
            "UPDATE audit SET seq = 4 WHERE seq = 100",
            "entry #3: the entry before it was removed or reordered",
        ),
    ],
)
def test_every_kind_of_tampering_is_found(
    store: Store, tmp_path: Path, tamper: str, expected: str
) -> None:
    for statement in tamper.split("; "):
        store._execute(statement)
    problem = verify_chain(store.audit_entries())
    assert problem is not None and str(problem).startswith(expected)
    result = CliRunner().invoke(main, ["audit", "verify", str(tmp_path)])
    assert result.exit_code == 1
    assert expected in result.output


def test_cutting_off_forwarded_entries_is_found(store: Store) -> None:
    last = store.audit_entries()[-1]
    store.set_cursor("forward:x", last.seq, last.hash)
    store._execute("DELETE FROM audit WHERE seq = ?", (last.seq,))
    problem = verify_chain(store.audit_entries(), store.anchors())
    assert problem is not None and "already sent to the SIEM" in str(problem)


def test_exports(store: Store, tmp_path: Path) -> None:
    lines = CliRunner().invoke(main, ["audit", "export", str(tmp_path)]).output.splitlines()
    assert [json.loads(line)["subject"] for line in lines] == [f"o{n}" for n in range(6)]
    # one entry a line, keys sorted: the same log always exports to the same bytes
    assert lines == [json.dumps(e.to_json(), sort_keys=True) for e in store.audit_entries()]
    assert list(json.loads(lines[0])) == sorted(json.loads(lines[0]))
    cef = to_cef(store.audit_entries()[:1]).strip()
    assert cef.startswith("CEF:0|accesshive|accesshive|")
    assert "|order_state|order state|3|" in cef
    assert "suser=ci" in cef and "duid=o0" in cef
    assert 'cs1={"n":0,"state":"verified"}' in cef.replace("\\=", "=")


class _Siem(BaseHTTPRequestHandler):
    received: list[dict] = []
    keys: set[str] = set()
    fail_next = 0

    def log_message(self, *args: object) -> None:
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Siem.fail_next:
            _Siem.fail_next -= 1
            self.send_response(503)
            self.end_headers()
            return
        key = self.headers["Idempotency-Key"]
        if key not in _Siem.keys:  # a receiver that honours the key keeps each entry once
            _Siem.keys.add(key)
            _Siem.received.extend(body["entries"])
        self.send_response(202)
        self.end_headers()


@pytest.fixture
def siem() -> Iterator[str]:
    _Siem.received, _Siem.keys, _Siem.fail_next = [], set(), 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Siem)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ingest"
    server.shutdown()
    server.server_close()


def test_forwarding_retries_and_resumes_after_a_crash(store: Store, siem: str) -> None:
    _Siem.fail_next = 1  # the first post meets a 503 and is retried

    def crash_after_first_batch(seq: int) -> None:
        if seq == 2:
            raise KeyboardInterrupt("killed between the receiver's ack and the cursor")

    with pytest.raises(KeyboardInterrupt):
        forward(store, siem, batch_size=2, retry=FAST, after_send=crash_after_first_batch)
    assert store.cursor(siem)[0] == 0  # the crash came before the cursor moved
    sent = forward(store, siem, batch_size=2, retry=FAST)
    assert sent == 6  # the first batch again (same Idempotency-Key), then the rest
    store.audit("ci", "later", None, {})
    assert forward(store, siem, batch_size=2, retry=FAST) == 1
    assert [e["seq"] for e in _Siem.received] == [1, 2, 3, 4, 5, 6, 7]
    assert verify_chain(store.audit_entries(), store.anchors()) is None


def test_unreachable_siem_keeps_the_cursor(store: Store) -> None:
    from accesshive.errors import ConnectorError

    with pytest.raises(ConnectorError, match="cannot reach"):
        forward(store, "http://127.0.0.1:1/ingest", retry=FAST)
    assert store.cursor("http://127.0.0.1:1/ingest") == (0, None)


def test_apply_and_vault_access_are_audited(tmp_path: Path) -> None:
    """Order transitions go into the chain with everything else."""
    with open_store(tmp_path) as s:
        run = s.start_run("p", "ci")
        s.record_order_state(run, "p", "o1", "pending")
        events = [e.event for e in s.audit_entries()]
    assert events == ["order_state"]
