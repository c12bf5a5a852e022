"""The ``google_workspace`` connector's session: its API client and the URLs it calls.

It owns authentication (a service account with domain-wide delegation acting as
``subject``, or a ready ``token``; never both), the ``GoogleClient`` made on first use
and closed with the connector, and the Directory and Licensing API URLs. The HTTP
itself, Google's error bodies and paging are in ``_client``.
"""

from __future__ import annotations

from urllib.parse import quote

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.google_workspace._client import (
    Auth,
    GoogleClient,
    ServiceAccount,
    StaticToken,
)
from accesshive.connectors.google_workspace._settings import _GwsSettings
from accesshive.connectors.references import resolve

DIRECTORY = "/admin/directory/v1"
LICENSING = "/apps/licensing/v1"


class _GwsSession(_GwsSettings):
    """The API client and URLs, on top of the settings."""

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self._client: GoogleClient | None = None

    @property
    def client(self) -> GoogleClient:
        if self._client is None:
            self._client = GoogleClient(
                self.source_id,
                self._auth(),
                timeout=self.timeout,
                read_retries=self.read_retries,
                read_retry_delay=self.read_retry_delay,
            )
        return self._client

    def _auth(self) -> Auth:
        conn = self.source.connection
        root, env = self.context.root, self.context.environ
        if conn.get("token") and conn.get("credentials"):
            raise self.error("set connection.credentials or connection.token, not both")
        if conn.get("token"):
            token = resolve(conn["token"], self.source_id, root, env)
            if not isinstance(token, str) or not token.strip():
                raise self.error("connection.token resolved to an empty value")
            return StaticToken(token.strip())
        if not conn.get("credentials"):
            raise self.error(
                "connection.credentials is not set (a service account JSON key, e.g. "
                "${file:/etc/gws-sa.json}), nor connection.token"
            )
        subject = conn.get("subject")
        if not subject:
            raise self.error(
                "connection.subject is not set: the admin the service account acts as "
                "(domain-wide delegation needs one)"
            )
        key = resolve(conn["credentials"], self.source_id, root, env)
        token_uri = str(conn["token_uri"]) if conn.get("token_uri") else None
        return ServiceAccount(self.source_id, str(key), str(subject), self.scopes, token_uri)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _dir(self, *parts: str) -> str:
        return self.base_url + DIRECTORY + "".join("/" + quote(p, safe="@") for p in parts)

    def _lic(self, product: str, sku: str, *rest: str) -> str:
        parts = ["product", product, "sku", sku, *rest]
        return self.licensing_url + LICENSING + "".join("/" + quote(p, safe="@") for p in parts)
