"""``accesshive scim serve`` as a production endpoint: a real process on 127.0.0.1, over
HTTP and TLS, stopped with SIGTERM in the middle of traffic."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from accesshive.store import open_store
from tests.support.scim_serve import cli, make_repo, scim_serve, self_signed, token, user


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "quickstart")


def _headers(bearer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}", "Content-Type": "application/scim+json"}


def _stored_user_names(repo: Path) -> list[str]:
    import json

    with open_store(repo) as store:
        return [json.loads(body)["userName"] for kind, _, body in store.records("okta")
                if kind == "User"]  # fmt: skip


def test_serves_at_the_path_help_names_and_says_where(repo: Path) -> None:
    code, help_text, _ = cli("scim", "serve", "--help")
    assert code == 0 and "/scim/v2" in help_text
    bearer = token(repo)
    with scim_serve(repo) as served:
        assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/scim/v2")
        with httpx.Client(base_url=served.url, headers=_headers(bearer)) as scim:
            created = scim.post("/Users", json=user("kay.jones"))
            assert created.status_code == 201, created.text
            location = created.json()["meta"]["location"]
            assert location == f"{served.url}/Users/{created.json()['id']}"
            assert scim.get(location).json()["userName"] == "kay.jones@quickstart.example"
            config = scim.get("/ServiceProviderConfig")
            assert config.status_code == 200
        assert served.terminate() == 0
    assert _stored_user_names(repo) == ["kay.jones@quickstart.example"]


def test_startup_line_names_the_source(repo: Path) -> None:
    token(repo)
    with scim_serve(repo) as served:
        assert served.line == f"accesshive scim serve: identity source 'okta' at {served.url}"
        assert served.terminate() == 0
    assert any("stopped" in line for line in served.stderr)


def test_tls_with_a_self_signed_certificate(repo: Path, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    bearer = token(repo)
    with scim_serve(repo, "--tls-cert", str(cert), "--tls-key", str(key)) as served:
        assert served.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=served.url, headers=_headers(bearer), verify=trusted) as scim:
            created = scim.post("/Users", json=user("tls.user"))
            assert created.status_code == 201, created.text
            assert created.json()["meta"]["location"].startswith("https://")
        # a client that does not trust the certificate is refused by the handshake
        with httpx.Client(base_url=served.url, headers=_headers(bearer)) as untrusting:
            with pytest.raises(httpx.ConnectError):
                untrusting.get("/Users")
        # plain HTTP on the TLS port gets no SCIM answer
        plain = served.url.replace("https://", "http://")
        with httpx.Client(base_url=plain, headers=_headers(bearer)) as http:
            try:
                answer = http.get("/Users")
            except httpx.HTTPError:
                pass
            else:
                assert answer.status_code == 400
        assert served.terminate() == 0
    assert _stored_user_names(repo) == ["tls.user@quickstart.example"]


def test_tls_needs_both_certificate_and_key(repo: Path, tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    code, _, err = cli(
        "scim", "serve", "--source", "okta", "-C", str(repo), "--port", "0",
        "--tls-cert", str(cert),
    )  # fmt: skip
    assert code != 0 and "--tls-key" in err
    (tmp_path / "bad.pem").write_text("not a key")
    code, _, err = cli(
        "scim", "serve", "--source", "okta", "-C", str(repo), "--port", "0",
        "--tls-cert", str(cert), "--tls-key", str(tmp_path / "bad.pem"),
    )  # fmt: skip
    assert code != 0 and "cannot use the TLS certificate" in err


def _refuses_connections(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except OSError:
        return True
    return False


def test_sigterm_mid_traffic_keeps_every_acknowledged_push(repo: Path) -> None:
    """Clients push without pause; SIGTERM comes once 40 pushes were acknowledged. Every
    push answered 201 is in the store, a request the server was reading when the signal
    came is still answered, and the process exits 0."""
    bearer = token(repo)
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    with scim_serve(repo) as served:
        parts = urlsplit(served.url)
        # a request in flight: headers sent, the server's "100 Continue" proves a worker
        # holds it, and the body comes only after the server stopped listening
        body = httpx.Request("POST", "http://x", json=user("in.flight")).content
        held = socket.create_connection((parts.hostname, parts.port), timeout=120)
        held.sendall(
            (
                f"POST {parts.path}/Users HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Authorization: Bearer {bearer}\r\nContent-Type: application/scim+json\r\n"
                f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
            ).encode()
        )
        assert held.recv(100).startswith(b"HTTP/1.1 100 Continue")

        def push(client: int) -> None:
            with httpx.Client(base_url=served.url, headers=_headers(bearer)) as scim:
                for n in range(10_000):
                    name = f"c{client}.n{n}"
                    try:
                        answer = scim.post("/Users", json=user(name))
                    except httpx.HTTPError:
                        return  # the server stopped: this push was never acknowledged
                    if answer.status_code == 201:
                        with lock:
                            acknowledged.append(f"{name}@quickstart.example")
                            if len(acknowledged) >= 40:
                                enough.set()
                    elif answer.status_code >= 500:
                        raise AssertionError(answer.text)

        clients = [threading.Thread(target=push, args=(c,)) for c in range(6)]
        for thread in clients:
            thread.start()
        assert enough.wait(timeout=300)
        served.process.send_signal(15)
        while not _refuses_connections(served.url):
            threading.Event().wait(0.05)
        held.sendall(body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = held.recv(65536)
            if not chunk:
                break
            answer += chunk
        held.close()
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
        for thread in clients:
            thread.join()
        assert served.process.wait(timeout=300) == 0
    stored = _stored_user_names(repo)
    assert len(stored) == len(set(stored))
    assert set(acknowledged) | {"in.flight@quickstart.example"} <= set(stored)
