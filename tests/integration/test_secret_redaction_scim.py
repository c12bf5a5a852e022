"""A source's own credential, echoed back by its target, is shown and kept nowhere.

A real scim2-server on 127.0.0.1 behind a gateway (the tests' SCIM proxy) that, after a
few writes, answers every write 503 with a detail quoting the bearer token it was sent,
as a misconfigured gateway does. The source's token is ``${env:APP_TOKEN}``. Every
command runs as its own process, as a user runs it: apply's output, ``status``, ``state
show``, ``audit export``, and every byte of the store and the run's files hold the
reference where the target put the token, never the token itself (nor its
percent-encoded or base64 forms)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import EXAMPLES
from tests.support.scim_server import WRITES, QuirkProxy, Rules, ScimServer, scim_server

TOKEN = "tok-123"
SHOWN = "[redacted: ${env:APP_TOKEN}]"
TODAY = "2026-11-29"
GOOD_WRITES = 6
"""Writes the gateway lets through before it starts failing (the apply is partway)."""

APP = """
sources:
  app:
    kind: scim
    owner: it-ops
    concurrency: 2
    retry: {attempts: 2, initial_delay: 0.01, max_delay: 0.02}
    connection:
      base_url: URL
      token: "${env:APP_TOKEN}"
    account:
      name_attribute: userName
      schema:
        userName: {type: email, required: true}
        displayName: {type: string}
      create:
        userName: "{{ email|lower }}"
      sync:
        displayName: "{{ given_name }} {{ family_name }}"
      correlation: [userName]
    entitlements:
      staff: {type: group, description: Everyone}
"""


class EchoingGateway(QuirkProxy):
    """After ``GOOD_WRITES`` writes, every write answers 503 quoting the caller's token,
    in clear, percent-encoded and as the Basic credentials it would have been."""

    def __init__(self, backend: ScimServer) -> None:
        self.passed = 0
        self._count = threading.Lock()
        super().__init__(backend, Rules())

    def _refuse(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]] | None:
        if method in WRITES:
            with self._count:
                self.passed += 1
                failing = self.passed > GOOD_WRITES
            if failing:
                sent = self.requests[-1].headers.get("authorization", "").removeprefix("Bearer ")
                basic = base64.b64encode(f"svc:{sent}".encode()).decode()
                detail = (
                    f"upstream refused token {sent} (as {quote(sent)}, Basic {basic}); "
                    "try again later"
                )
                error = "urn:ietf:params:scim:api:messages:2.0:Error"
                return 503, {"schemas": [error], "status": "503", "detail": detail}, []
        return super()._refuse(method, path, query, body)


@contextmanager
def echoing_gateway() -> Iterator[EchoingGateway]:
    with scim_server(TOKEN) as backend:
        backend.create_group("staff")
        backend.create_group("admins")
        proxy = EchoingGateway(backend)
        try:
            yield proxy
        finally:
            proxy.stop()


@pytest.fixture
def gateway() -> Iterator[EchoingGateway]:
    with echoing_gateway() as proxy:
        yield proxy


def _repo(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "org"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    (root / "sources" / "app.yaml").write_text(APP.replace("URL", url))
    access = (root / "access.yaml").read_text()
    access = access.replace(
        "access_profiles:\n",
        "access_profiles:\n  app-staff:\n    source: app\n    entitlements: [staff]\n",
        1,
    ).replace("[wiki-read, badge-office]", "[wiki-read, badge-office, app-staff]")
    (root / "access.yaml").write_text(access)
    lines = ["identities:"]
    for n in range(12):
        lines += [
            f"  person{n:02d}.test:",
            "    type: human",
            "    attributes:",
            "      given_name: Person",
            f"      family_name: Test{n:02d}",
            f"      email: person{n:02d}@quickstart.example",
            "      department: Sales",
            f"      employee_number: {5000 + n}",
        ]
    (root / "identities" / "many.yaml").write_text("\n".join(lines) + "\n")
    return root


def _accesshive(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APP_TOKEN": TOKEN, "ACCESSHIVE_CACHE_DIR": "off"}
    return subprocess.run(
        [sys.executable, "-m", "accesshive", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


FORMS = (TOKEN, base64.b64encode(f"svc:{TOKEN}".encode()).decode()[6:].rstrip("="))
"""The token, and what of its Basic form depends on the token alone."""


def _clear(text: str, where: str) -> None:
    for form in FORMS:
        assert form not in text, f"{where} holds {form!r}:\n{text[-3000:]}"


def test_a_token_the_target_echoes_is_redacted_from_output_store_and_audit(
    tmp_path: Path, gateway: EchoingGateway
) -> None:
    root = _repo(tmp_path, gateway.url)
    synced = _accesshive("sync", str(root))
    assert synced.returncode == 0, synced.stdout + synced.stderr

    applied = _accesshive("apply", str(root), "--auto-approve", "--today", TODAY)
    output = applied.stdout + applied.stderr
    assert applied.returncode == 1, output  # orders failed: the gateway refused them
    assert gateway.passed > GOOD_WRITES  # the gateway did answer with the token
    _clear(output, "apply's output")
    assert SHOWN in output  # the target's words are shown, with the reference in place

    person = "person11.test"
    for args in (
        ("status", str(root), "--format", "json"),
        ("status", str(root), person, "--format", "json"),
        ("state", "show", str(root), "--format", "json"),
        ("audit", "export", str(root)),
    ):
        shown = _accesshive(*args)
        assert shown.returncode in (0, 1), shown.stdout + shown.stderr
        _clear(shown.stdout + shown.stderr, " ".join(args[:2]))

    exported = _accesshive("audit", "export", str(root)).stdout
    assert SHOWN in exported  # the order_state entries keep the target's words, redacted

    store = root / ".accesshive"
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    for path in files:
        _clear(path.read_bytes().decode("latin-1"), str(path.relative_to(root)))
