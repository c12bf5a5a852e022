"""The operator's session and the CSRF token of the console's forms.

The session is the operator token itself, in a cookie the page's scripts cannot read
(``HttpOnly``) and the browser sends only from the console's own pages
(``SameSite=Strict``): checked against its hash on every request, so revoking the token
ends every session made with it, and the server keeps no session state.

Every form that acts carries a CSRF token: an HMAC of the session's token, which a page
of another origin can neither read nor compute. An action whose form token does not match
is refused (403) and does nothing, whatever the cookie says (defence in depth beside
``SameSite``).
"""

from __future__ import annotations

import hashlib
import hmac

COOKIE = "accesshive_operator"
CSRF_FIELD = "csrf"


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"accesshive console csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_token), given)
