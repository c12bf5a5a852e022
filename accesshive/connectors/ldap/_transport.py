"""Transport of the ``ldap`` connector: the one connection, and what its failures mean.

It owns opening the connection (LDAPS or StartTLS, verified by the standard library,
then the bind), running one operation on it (``LdapTransport.op``), and turning every ldap3 failure
into an ``LdapError`` with the server's words and whether a retry can help
(``classify``): busy, unavailable, time limits, timeouts and lost or refused
connections are retryable; every other result code is not, nor are certificate
failures. A connection that failed is dropped; the next operation opens a new one.
No provisioning logic lives here.
"""

from __future__ import annotations

import ast
import ssl
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from accesshive.connectors.ldap._ldap3 import ldap3, lexc
from accesshive.connectors.ldap._settings import LdapSettings
from accesshive.connectors.references import resolve
from accesshive.errors import ConnectorError

# result codes
NO_SUCH_ATTRIBUTE = 16
ATTRIBUTE_OR_VALUE_EXISTS = 20
NO_SUCH_OBJECT = 32
OBJECT_CLASS_VIOLATION = 65
ENTRY_ALREADY_EXISTS = 68
RETRYABLE_CODES = frozenset({3, 51, 52})
"""timeLimitExceeded, busy, unavailable (unwillingToPerform is not: it is a refusal)."""


class LdapError(ConnectorError):
    """A ``ConnectorError`` that remembers the LDAP result code (None: not a result)."""

    def __init__(self, source: str, message: str, *, retryable: bool, code: int | None) -> None:
        super().__init__(source, message, retryable=retryable)
        self.code = code


class _VerifiedTls(ldap3.Tls):  # type: ignore[misc]
    """TLS for LDAPS and StartTLS, verified by the standard library: the server's
    certificate must chain to ``ca_file`` (or the system's CAs) and name the host.

    ldap3 checks host names itself, with ``ssl.match_hostname`` (deprecated, gone in
    Python 3.12) or a backport that refuses IP addresses; this does it the standard way.
    """

    def __init__(self, ca_file: str | None, hostname: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self.verified_ca_file = ca_file
        self.verified_hostname = hostname

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        context = ssl.create_default_context(cafile=self.verified_ca_file)
        connection.socket = context.wrap_socket(
            connection.socket,
            server_hostname=self.verified_hostname,
            do_handshake_on_connect=do_handshake,
        )


class LdapTransport:
    """The one connection of a connector and its operations; all it knows of the source
    is ``settings``."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        self._conn: Any = None

    def connect(self) -> Any:
        if self._conn is not None:
            return self._conn
        password = resolve(
            self.settings.source.connection.get("bind_password"),
            self.settings.source_id,
            self.settings.context.root,
            self.settings.context.environ,
        )
        tls = None
        if self.settings.use_ssl or self.settings.start_tls:
            if self.settings.ca_file is not None and not self.settings.ca_file.is_file():
                raise self.settings.error(f"ca_file {self.settings.ca_file} does not exist")
            tls = _VerifiedTls(
                str(self.settings.ca_file) if self.settings.ca_file else None, self.settings.host
            )
        server = ldap3.Server(
            self.settings.host,
            port=self.settings.port,
            use_ssl=self.settings.use_ssl,
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=self.settings.connect_timeout,
        )
        conn = ldap3.Connection(
            server,
            user=self.settings.bind_dn,
            password=None if password is None else str(password),
            auto_bind=ldap3.AUTO_BIND_NONE,
            raise_exceptions=True,
            receive_timeout=self.settings.timeout,
            auto_referrals=False,
            check_names=False,
            return_empty_attributes=False,
        )
        try:
            conn.open()
            if self.settings.start_tls:
                conn.start_tls()
            conn.bind()
        except Exception as exc:
            error = self.classify(exc, f"connect to {self.settings.url}")
            with suppress(Exception):  # closing a connection that never worked
                conn.unbind()
            with suppress(Exception):  # ldap3 leaves the socket of a failed connect open
                conn.socket.close()
            if error is exc:
                raise
            raise error from exc
        self._conn = conn
        return conn

    def op(self, what: str, call: Callable[[Any], Any]) -> Any:
        conn = self.connect()
        try:
            return call(conn)
        except Exception as exc:
            error = self.classify(exc, what)
            if error is exc:
                raise  # not from LDAP: a bug, keep its traceback
            raise error from exc

    def modify(self, dn: str, changes: Mapping[str, list[tuple[Any, list[str]]]]) -> None:
        self.op(f"modify {dn}", lambda conn: conn.modify(dn, dict(changes)))

    def classify(self, exc: Exception, what: str) -> Exception:
        if isinstance(exc, lexc.LDAPOperationResult):
            code = int(exc.result) if exc.result is not None else None
            text = f"{what}: {exc.description or 'error'}"
            if code is not None:
                text += f" ({code})"
            if exc.message:
                text += f": {exc.message}"
            return LdapError(
                self.settings.source_id, text, retryable=code in RETRYABLE_CODES, code=code
            )
        if isinstance(exc, lexc.LDAPCertificateError):
            text = _exception_text(exc)
            return LdapError(self.settings.source_id, f"{what}: {text}", retryable=False, code=None)
        transport = (
            lexc.LDAPCommunicationError,
            lexc.LDAPResponseTimeoutError,
            lexc.LDAPStartTLSError,
            OSError,
        )
        if isinstance(exc, transport):
            self.drop()
            text = _exception_text(exc)
            certificate = "certificate" in text.lower()
            refused = isinstance(exc, lexc.LDAPStartTLSError) and "wrap socket" not in text
            return LdapError(
                self.settings.source_id,
                f"{what}: {text}",
                retryable=not (certificate or refused),
                code=None,
            )
        if isinstance(exc, lexc.LDAPException):
            text = _exception_text(exc)
            return LdapError(self.settings.source_id, f"{what}: {text}", retryable=False, code=None)
        return exc

    def drop(self) -> None:
        """Forget a connection that failed: the next operation opens a new one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # it is already broken
                conn.unbind()

    def close(self) -> None:
        self.drop()


def _exception_text(exc: Exception) -> str:
    """ldap3's message, unwrapped: it nests messages as reprs of argument tuples."""
    text = str(exc)
    for _ in range(5):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            break
        if isinstance(parsed, tuple) and len(parsed) == 1:
            parsed = parsed[0]
        if not isinstance(parsed, str):
            break
        text = parsed
    return text.strip() or type(exc).__name__
