"""Bearer tokens as accesshive keeps them: made here, shown once to whoever asked for one,
and stored only as a SHA-256 hash (``idp_tokens`` in the store, ``store/_idp.py``).

Why a module of its own: ``scim serve`` (identity providers) and ``console`` (operators)
both hand out tokens, and neither should import the other's web framework to do it.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str = "ahs_") -> tuple[str, str]:
    """A token to show once, and the hash to keep. The prefix says what it is for
    (``ahs_``: SCIM service provider; ``ahc_``: console operator), so a token pasted into
    the wrong place, or found in a log, is recognised."""
    token = prefix + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CONSOLE = "@console"
"""The ``source`` under which console operator tokens are kept, beside the identity
sources' tokens in the same table: no source id of a configuration can start with ``@``,
so an operator token never opens ``scim serve`` nor a SCIM token the console."""
