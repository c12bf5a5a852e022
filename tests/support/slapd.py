"""A throwaway OpenLDAP server for the tests, started on 127.0.0.1 in a temporary directory.

Each server gets its own cn=config, generated with ``slapadd`` from Debian's schema files
(core, cosine, inetorgperson, nis) plus a small test schema (``accesshiveAccount``: the
``accesshiveIdentity`` link attribute and Active Directory's ``userAccountControl``), an
mdb database for ``dc=example,dc=com`` with the memberof, refint and ppolicy overlays,
and a few OUs and groups. Starting one takes a fraction of a second, so every test gets a
fresh server. With ``tls=True`` it also listens for LDAPS and StartTLS, with a
certificate signed by a CA generated on the spot (``Slapd.ca_file``).

Outside CI, a machine without slapd skips these tests; in CI (``CI`` set) a missing
slapd is a failure.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SUFFIX = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
PEOPLE = f"ou=people,{SUFFIX}"
DISABLED = f"ou=disabled,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
UNIQUE_GROUPS = f"ou=unique-groups,{SUFFIX}"
POSIX_GROUPS = f"ou=posix-groups,{SUFFIX}"
NOBODY = f"cn=nobody,{SUFFIX}"
"""Placeholder member that keeps a groupOfNames valid when it has no real member."""
GROUP_NAMES = ("staff", "builders", "vpn-users")
"""Groups created in each of the three group OUs."""

SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

_TEST_SCHEMA = """\
dn: cn=accesshive,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: accesshive
olcAttributeTypes: ( 1.3.6.1.4.1.99999.1.1 NAME 'accesshiveIdentity'
  DESC 'The accesshive identity this account belongs to'
  EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  DESC 'Active Directory account flags (bit 2: disabled)'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcObjectClasses: ( 1.3.6.1.4.1.99999.2.1 NAME 'accesshiveAccount'
  DESC 'An account managed by accesshive' SUP top AUXILIARY
  MAY ( accesshiveIdentity $ userAccountControl ) )
"""


def connection(url: str, password_variable: str) -> dict[str, Any]:
    """The ``connection`` of an LDAP source on a test server at ``url``: bound as its
    admin (the password read from the environment variable ``password_variable``),
    ``inetOrgPerson`` accounts with the ``accesshiveAccount`` identity link under
    ou=people, ``groupOfNames`` groups under ou=groups (``NOBODY`` holding an empty
    one), disabled accounts moved to ou=disabled. Tests add their own settings to it."""
    return {
        "url": url,
        "bind_dn": ADMIN_DN,
        "bind_password": f"${{env:{password_variable}}}",
        "users_dn": PEOPLE,
        "rdn_attribute": "uid",
        "object_classes": ["inetOrgPerson", "accesshiveAccount"],
        "account_filter": "(objectClass=inetOrgPerson)",
        "identity_attribute": "accesshiveIdentity",
        "groups_dn": GROUPS,
        "group_object_class": "groupOfNames",
        "empty_group_member": NOBODY,
        "disable": {"method": "ou", "ou": DISABLED},
    }


def _bin(name: str) -> str | None:
    for candidate in (Path("/usr/sbin") / name, Path("/usr/local/sbin") / name):
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def available() -> bool:
    return (
        _bin("slapd") is not None
        and _bin("slapadd") is not None
        and (SCHEMA_DIR / "core.ldif").exists()
        and (MODULE_DIR / "back_mdb.la").exists()
    )


def require() -> None:
    """Skip (or, in CI, fail) the calling test when slapd is not installed."""
    if not available():
        if os.environ.get("CI"):
            pytest.fail("OpenLDAP slapd is not installed, but CI must run the LDAP tests")
        pytest.skip("OpenLDAP slapd is not installed here")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Slapd:
    """A running slapd; ``stop()`` and ``start()`` may be called at will."""

    base: Path
    port: int
    tls_port: int | None = None
    ca_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        assert self.tls_port is not None, "started without tls=True"
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def start(self) -> None:
        slapd = _bin("slapd")
        assert slapd
        listen = f"ldap://127.0.0.1:{self.port}/"
        if self.tls_port is not None:
            listen += f" ldaps://127.0.0.1:{self.tls_port}/"
        log = (self.base / "slapd.log").open("ab")
        # -d 0: stay in the foreground (no fork), so the Popen handle is the server
        self.process = subprocess.Popen(
            [slapd, "-d", "0", "-h", listen, "-F", str(self.base / "config")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited at start:\n{self.log()}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError(f"slapd did not answer on port {self.port}:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def log(self) -> str:
        path = self.base / "slapd.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # -- direct access for setting up and inspecting (behind the connector's back)

    def admin(self) -> Any:
        """An ldap3 connection bound as the root DN."""
        ldap3 = ldap3_module()

        server = ldap3.Server("127.0.0.1", port=self.port, get_info=ldap3.NONE)
        return ldap3.Connection(
            server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True
        )

    def entry(self, dn: str, *attributes: str) -> dict[str, list[str]] | None:
        """An entry's attributes (lower-case names, string values); None when it is missing."""
        ldap3 = ldap3_module()
        from ldap3.core.exceptions import LDAPNoSuchObjectResult

        conn = self.admin()
        try:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=list(attributes) or ["*"])
            raw = conn.response[0]["raw_attributes"]
        except LDAPNoSuchObjectResult:
            return None
        finally:
            conn.unbind()
        return {k.lower(): [v.decode() for v in vals] for k, vals in raw.items() if vals}

    def add(self, dn: str, object_classes: list[str], attributes: dict[str, Any]) -> None:
        conn = self.admin()
        try:
            conn.add(dn, object_classes, attributes)
        finally:
            conn.unbind()

    def modify(self, dn: str, changes: dict[str, Any]) -> None:
        conn = self.admin()
        try:
            conn.modify(dn, changes)
        finally:
            conn.unbind()


def ldap3_module() -> Any:
    """ldap3, imported as the connector imports it (quiet about pyasn1's deprecations)."""
    from accesshive.connectors.ldap import _ldap3

    return _ldap3.ldap3


def _config_ldif(base: Path, tls: bool) -> str:
    schemas = "\n".join(f"include: file://{SCHEMA_DIR / name}.ldif" for name in SCHEMAS)
    tls_settings = ""
    if tls:
        tls_settings = (
            f"olcTLSCACertificateFile: {base / 'ca.pem'}\n"
            f"olcTLSCertificateFile: {base / 'server.pem'}\n"
            f"olcTLSCertificateKeyFile: {base / 'server.key'}\n"
        )
    return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {base / "slapd.pid"}
olcArgsFile: {base / "slapd.args"}
olcLogLevel: none
{tls_settings}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}

{_TEST_SCHEMA}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {base / "data"}
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcDbMaxSize: 67108864
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: uid,mail,cn eq
olcDbIndex: member,uniqueMember,memberUid eq
olcAccess: {{0}}to * by anonymous auth by * read

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfRefInt: TRUE

dn: olcOverlay={{1}}refint,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {{1}}refint
olcRefintAttribute: member uniqueMember
olcRefintNothing: {NOBODY}

dn: olcOverlay={{2}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{2}}ppolicy
"""


def _data_ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n"
    ]
    for ou in ("people", "disabled", "groups", "unique-groups", "posix-groups", "services"):
        entries.append(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n")
    for gid, name in enumerate(GROUP_NAMES, start=5000):
        entries.append(
            f"dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\nmember: {NOBODY}\n"
        )
        entries.append(
            f"dn: cn={name},{UNIQUE_GROUPS}\nobjectClass: groupOfUniqueNames\ncn: {name}\n"
            f"uniqueMember: {NOBODY}\n"
        )
        entries.append(
            f"dn: cn={name},{POSIX_GROUPS}\nobjectClass: posixGroup\ncn: {name}\ngidNumber: {gid}\n"
        )
    return "\n".join(entries)


def _certificates(base: Path) -> None:
    """A CA and a server certificate for localhost/127.0.0.1, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accesshive test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (base / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (base / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (base / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@contextmanager
def slapd_server(*, tls: bool = False) -> Iterator[Slapd]:
    """A fresh, running slapd with the seed data; killed and removed afterwards."""
    slapadd = _bin("slapadd")
    assert slapadd
    base = Path(tempfile.mkdtemp(prefix="accesshive-slapd-"))
    try:
        (base / "config").mkdir()
        (base / "data").mkdir()
        if tls:
            _certificates(base)
        (base / "config.ldif").write_text(_config_ldif(base, tls))
        (base / "data.ldif").write_text(_data_ldif())
        for args in (
            ["-n", "0", "-l", str(base / "config.ldif")],
            ["-n", "1", "-q", "-l", str(base / "data.ldif")],
        ):
            done = subprocess.run(
                [slapadd, "-F", str(base / "config"), *args], capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"slapadd {' '.join(args)} failed:\n{done.stderr}")
        server = Slapd(base, free_port(), free_port() if tls else None, base / "ca.pem")
        if not tls:
            server.ca_file = None
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        with suppress(OSError):
            shutil.rmtree(base)
