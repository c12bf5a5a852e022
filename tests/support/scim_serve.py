"""``accesshive scim serve`` as a real process, the way an operator runs it.

The server is started on 127.0.0.1 with ``--port 0``; its startup line gives the URL.
Nothing here mocks the server: requests go over TCP (and TLS) to the process."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES
from tests.support.startup import STARTUP, started

SOURCE = """
identity_sources:
  okta:
    kind: scim
    id: "{{ name.givenName|slug }}.{{ name.familyName|slug }}"
    attributes:
      given_name: "{{ name.givenName }}"
      family_name: "{{ name.familyName }}"
      email: "{{ userName }}"
      department: "{{ title }}"
    roles: {Admins: ops-admin}
    leaver_state: terminated
"""
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def make_repo(dest: Path) -> Path:
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (dest / "accesshive.yaml").write_text((dest / "accesshive.yaml").read_text() + SOURCE)
    return dest


def cli(*args: str, store: str | None = None) -> tuple[int, str, str]:
    env = {"ACCESSHIVE_STORE": store} if store else {}
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def token(repo: Path, *extra: str, store: str | None = None) -> str:
    code, out, err = cli("scim", "token", "create", "--source", "okta", "-C", str(repo), *extra,
                         store=store)  # fmt: skip
    assert code == 0, err
    return out.strip()


def user(name: str, **extra: object) -> dict[str, object]:
    given, family = name.split(".")
    return {
        "schemas": [USER],
        "userName": f"{name}@quickstart.example",
        "name": {"givenName": given.title(), "familyName": family.title()},
        **extra,
    }


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    line: str
    stderr: list[str] = field(default_factory=list)

    def terminate(self) -> int:
        """SIGTERM, then the exit code (a hung process fails the test after a while)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STARTUP)


@contextmanager
def scim_serve(repo: Path, *args: str, store: str | None = None) -> Iterator[Served]:
    """Start ``accesshive scim serve --source okta`` and yield it once it listens."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if store:
        env["ACCESSHIVE_STORE"] = store
    command = [sys.executable, "-m", "accesshive", "scim", "serve", "--source", "okta"]
    argv = [*command, "--port", "0", "-C", str(repo), *args]
    with started(argv, env, "SCIM server") as server:
        assert " at " in server.line, server.line
        url = server.line.rsplit(" at ", 1)[1]
        yield Served(server.process, url, server.line, server.stderr)


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` (and its key), made with ``cryptography``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path
