"""Resolved secrets never reach a message: each form a target may echo one in is redacted.

The values are registered the way apply registers them, by resolving the reference
(``connectors/references.py``: ``resolve``); the texts are what a target or a library
says (a 503's detail, a Basic header echoed, a driver's URL)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from accesshive import redaction
from accesshive.apply.batch import failure_of
from accesshive.apply.outage import target_failure
from accesshive.connectors.references import resolve
from accesshive.errors import ConnectorError
from accesshive.store import open_store

TOKEN = "tok-123/+ä"
ENV = {"APP_TOKEN": TOKEN}
SHOWN = "[redacted: ${env:APP_TOKEN}]"


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    redaction.forget()
    assert resolve("${env:APP_TOKEN}", "app", Path("."), ENV) == TOKEN
    yield
    redaction.forget()


def test_the_value_is_replaced_by_its_reference() -> None:
    said = f"503 Service Unavailable: upstream refused token {TOKEN} (retry later)"
    assert redaction.redact(said) == (
        f"503 Service Unavailable: upstream refused token {SHOWN} (retry later)"
    )


@pytest.mark.parametrize(
    "form",
    [
        quote(TOKEN, safe=""),
        quote(TOKEN, safe="").lower(),  # hex digits in lower case
        quote(TOKEN),
        quote_plus(TOKEN),
        json.dumps(TOKEN)[1:-1],  # ä as \u00e4
        TOKEN.upper(),  # a target that upper-cases what it quotes
        TOKEN.lower(),
        TOKEN.encode().hex(),  # in hex, either case
        TOKEN.encode().hex().upper(),
    ],
    ids=[
        "percent",
        "percent-lower",
        "percent-path",
        "percent-plus",
        "json-escaped",
        "upper",
        "lower",
        "hex",
        "hex-upper",
    ],
)
def test_percent_encoded_and_escaped_forms_are_redacted(form: str) -> None:
    assert TOKEN not in redaction.redact(f"GET /x?token={form}")
    assert form not in redaction.redact(f"GET /x?token={form}")


@pytest.mark.parametrize("user", ["a", "ab", "abc", "client-7", "svc.accesshive"])
def test_a_basic_auth_header_holding_the_secret_is_redacted_whatever_the_user(
    user: str,
) -> None:
    """The secret sits at the user's length (plus one) mod 3 in the base64 text: all
    three alignments are registered."""
    header = base64.b64encode(f"{user}:{TOKEN}".encode()).decode()
    shown = redaction.redact(f"rejected Authorization: Basic {header}")
    assert SHOWN in shown
    decoded = base64.b64decode(header)
    # what is left of the header decodes to the user and at most a byte of the secret
    left = shown.split("Basic ")[1].split("[redacted")[0]
    assert len(left) <= len(base64.b64encode(f"{user}:".encode())) + 1
    assert TOKEN.encode() in decoded  # the test's header did hold it


def test_the_password_of_a_url_is_redacted_wherever_it_appears() -> None:
    url = "postgresql://app:hunter%2F22@db.internal/iam"
    resolve("${env:STORE_URL}", "store", Path("."), {"STORE_URL": url})
    said = redaction.redact(f"cannot connect to {url}; password hunter/22 refused")
    assert "hunter" not in said
    assert said.count("[redacted: ${env:STORE_URL}]") == 2


def test_the_secret_fields_of_a_json_key_are_redacted() -> None:
    key = json.dumps({"type": "service_account", "private_key_id": "0123456789abcdef"})
    resolve("${env:GWS_KEY}", "gws", Path("."), {"GWS_KEY": key})
    assert redaction.redact("key 0123456789abcdef refused") == (
        "key [redacted: ${env:GWS_KEY}] refused"
    )
    assert redaction.redact("service_account") == "service_account"  # not a secret field


def test_values_shorter_than_four_characters_are_left_alone() -> None:
    """Replacing every "a" or "503" would make messages unreadable and hide nothing."""
    resolve("${env:PIN}", "badge", Path("."), {"PIN": "503"})
    assert redaction.redact("HTTP 503 from badge") == "HTTP 503 from badge"
    resolve("${env:CODE}", "badge", Path("."), {"CODE": "5030"})
    assert redaction.redact("HTTP 5030") == "HTTP [redacted: ${env:CODE}]"


def test_a_path_resolved_as_not_secret_is_not_registered() -> None:
    resolve("${env:EXPORT}", "badge", Path("."), {"EXPORT": "/srv/exports/badge.csv"}, secret=False)
    assert redaction.redact("cannot read /srv/exports/badge.csv") == (
        "cannot read /srv/exports/badge.csv"
    )


def test_a_connector_error_carries_the_redacted_words_in_message_and_text() -> None:
    exc = ConnectorError("app", f"HTTP 503: token {TOKEN} unknown", retryable=True)
    assert exc.message == f"HTTP 503: token {SHOWN} unknown"
    assert TOKEN not in str(exc)
    assert target_failure(exc) == exc.message


def test_a_library_exception_and_an_evaluation_failure_are_redacted() -> None:
    import httpx

    leaked = httpx.ConnectError(f"cannot connect with {TOKEN}")
    assert target_failure(leaked) == f"ConnectError: cannot connect with {SHOWN}"
    state, message = failure_of(KeyError(TOKEN))
    assert state == "error" and TOKEN not in message and SHOWN in message


def test_the_store_keeps_no_secret_whoever_built_the_message(tmp_path: Path) -> None:
    """The last line of defence: order events, their audit entries, any audit detail."""
    with open_store(tmp_path) as store:
        run = store.start_run("p" * 64, "ci")
        store.record_order_states(run, "p" * 64, [("o1", "pending", f"note {TOKEN}", None)])
        store.audit("ci", "sync", None, {"results": [{"error": f"said {TOKEN}"}]})
        events = store.order_history("p" * 64, "o1")
        entries = store.audit_log()
    assert [e.message for e in events] == [f"note {SHOWN}"]
    assert TOKEN not in json.dumps([e["details"] for e in entries])
    assert SHOWN in json.dumps([e["details"] for e in entries])


def test_a_secret_that_begins_another_is_not_left_half_shown() -> None:
    """The longest registered form wins: ``tok-123/+ä-old`` is not shown as the
    redaction of ``tok-123/+ä`` followed by ``-old``."""
    resolve("${env:OLD}", "app", Path("."), {"OLD": TOKEN + "-old"})
    assert redaction.redact(f"{TOKEN}-old and {TOKEN}") == (f"[redacted: ${{env:OLD}}] and {SHOWN}")


def test_an_audit_detail_with_a_quote_in_the_secret_is_redacted(tmp_path: Path) -> None:
    """The store looks for a secret in the JSON it writes (escaped), then redacts."""
    quoted = 'pa"ss\\word'
    resolve("${env:BIND}", "dir", Path("."), {"BIND": quoted})
    with open_store(tmp_path) as store:
        store.audit("ci", "sync", None, {"error": f"bind as {quoted} refused"})
        [entry] = [e for e in store.audit_log() if e["event"] == "sync"]
    assert entry["details"] == {"error": "bind as [redacted: ${env:BIND}] refused"}


def test_a_notification_kept_for_a_retry_holds_no_secret(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        payload = {"event": "apply_failed", "messages": [f"HTTP 503: token {TOKEN}"]}
        store.record_notification("soc", "k1", "apply_failed", payload, f"refused {TOKEN}")
        kept = store.notification("soc", "k1")
    assert kept is not None
    assert kept.payload == {"event": "apply_failed", "messages": [f"HTTP 503: token {SHOWN}"]}
    assert kept.last_error == f"refused {SHOWN}"
