"""The operator's session and the CSRF token of the console's forms.

Signing in exchanges the operator token for a session: a cookie holding only the token's
id and a random session id, signed (``itsdangerous``) with a secret the console draws when
it starts, and dated. The token itself never reaches the browser again. The cookie is
``HttpOnly`` (the page's scripts cannot read it), ``SameSite=Strict`` (the browser sends it
only from the console's own pages) and ``Secure`` when the console is served over https.

A session ends when it is ``SESSION_SECONDS`` old, when the operator signs out (its id is
remembered as ended, so a copy of the cookie is refused too), when the console restarts
(a new secret), and when its token is revoked or expires: every request checks the token's
state in the store.

Every form that acts carries a CSRF token: an HMAC of the session cookie under the
console's secret, which a page of another origin can neither read nor compute. An action
whose form token does not match is refused (403) and does nothing, whatever the cookie
says (defence in depth beside ``SameSite``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "accesshive_session"
CSRF_FIELD = "csrf"
SESSION_SECONDS = 8 * 3600
"""How long a session lasts after sign-in: a working day; then sign in again."""


@dataclass(frozen=True)
class Session:
    token_id: int
    """The operator token the session was made with (checked on every request)."""
    sid: str


class Sessions:
    """The sessions of one console process: issued, read back, ended."""

    def __init__(self, secret: bytes | None = None, max_age: int = SESSION_SECONDS) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._signer = URLSafeTimedSerializer(self._secret, salt="accesshive console session")
        self.max_age = max_age
        self._ended: set[str] = set()
        self._lock = threading.Lock()

    def issue(self, token_id: int) -> str:
        """The cookie value of a new session of operator token ``token_id``."""
        return self._signer.dumps({"t": token_id, "s": secrets.token_urlsafe(16)})

    def read(self, cookie: str) -> Session | None:
        """The session a cookie holds; None if it is forged, too old or ended."""
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is one
            return None
        if not isinstance(data, dict) or not isinstance(data.get("t"), int):
            return None
        sid = str(data.get("s", ""))
        with self._lock:
            if sid in self._ended:
                return None
        return Session(data["t"], sid)

    def end(self, cookie: str) -> None:
        """Sign out: the session is refused from now on, even from a copy of the cookie."""
        found = self.read(cookie)
        if found is not None:
            with self._lock:
                self._ended.add(found.sid)

    def csrf(self, cookie: str) -> str:
        return hmac.new(self._secret, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie: str, given: str) -> bool:
        return bool(cookie) and bool(given) and hmac.compare_digest(self.csrf(cookie), given)
