"""The ``google_workspace`` connector's session: its API client and the URLs it calls.

It owns authentication (a service account with domain-wide delegation acting as
``subject``, or a ready ``token``; never both), the ``GoogleClient`` made on first use
and closed with the connector, and the Directory and Licensing API URLs. The HTTP
itself, Google's error bodies and paging are in ``_client``.
"""

from __future__ import annotations

from urllib.parse import quote

from accesshive.connectors.google_workspace._client import (
    Auth,
    GoogleClient,
    ServiceAccount,
    StaticToken,
)
from accesshive.connectors.google_workspace._settings import GwsSettings
from accesshive.connectors.references import resolve

DIRECTORY = "/admin/directory/v1"
LICENSING = "/apps/licensing/v1"


class GwsSession:
    """The API client and URLs; all it knows of the source is ``settings``."""

    def __init__(self, settings: GwsSettings) -> None:
        self.settings = settings
        self._client: GoogleClient | None = None

    @property
    def client(self) -> GoogleClient:
        if self._client is None:
            self._client = GoogleClient(
                self.settings.source_id,
                self._auth(),
                timeout=self.settings.timeout,
                read_retries=self.settings.read_retries,
                read_retry_delay=self.settings.read_retry_delay,
            )
        return self._client

    def _auth(self) -> Auth:
        conn = self.settings.source.connection
        root, env = self.settings.context.root, self.settings.context.environ
        if conn.get("token") and conn.get("credentials"):
            raise self.settings.error("set connection.credentials or connection.token, not both")
        if conn.get("token"):
            token = resolve(conn["token"], self.settings.source_id, root, env)
            if not isinstance(token, str) or not token.strip():
                raise self.settings.error("connection.token resolved to an empty value")
            return StaticToken(token.strip())
        if not conn.get("credentials"):
            raise self.settings.error(
                "connection.credentials is not set (a service account JSON key, e.g. "
                "${file:/etc/gws-sa.json}), nor connection.token"
            )
        subject = conn.get("subject")
        if not subject:
            raise self.settings.error(
                "connection.subject is not set: the admin the service account acts as "
                "(domain-wide delegation needs one)"
            )
        key = resolve(conn["credentials"], self.settings.source_id, root, env)
        token_uri = str(conn["token_uri"]) if conn.get("token_uri") else None
        return ServiceAccount(
            self.settings.source_id, str(key), str(subject), self.settings.scopes, token_uri
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def dir(self, *parts: str) -> str:
        return self.settings.base_url + DIRECTORY + "".join("/" + quote(p, safe="@") for p in parts)

    def lic(self, product: str, sku: str, *rest: str) -> str:
        parts = ["product", product, "sku", sku, *rest]
        return (
            self.settings.licensing_url
            + LICENSING
            + "".join("/" + quote(p, safe="@") for p in parts)
        )
