"""Console operator tokens: who may press Retry.

Made by ``accesshive console token create`` and shown once; the store keeps only the
hash, in the table of the SCIM service provider's tokens under the source ``@console``
(``idp.tokens.CONSOLE``), so both kinds share one way to make, list, expire and revoke a
token. Each is made for a named operator, and the audit log records the name with the
token's id: every action the console takes says ``console:<id>`` as its actor.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from accesshive.errors import ImportProblem
from accesshive.idp.tokens import CONSOLE, new_token, token_hash
from accesshive.operations import StoreRef
from accesshive.store import Store, TokenInfo

PREFIX = "ahc_"


@dataclass(frozen=True)
class Operator:
    """A signed-in operator: the token's id (the actor of what they do) and the name
    the token was made for."""

    token_id: int
    name: str

    @property
    def actor(self) -> str:
        return f"console:{self.token_id}"


@dataclass(frozen=True)
class NewOperatorToken:
    token: str
    """Shown once; kept nowhere."""
    id: int
    operator: str
    expires_at: str | None


def create_operator_token(
    root: Path, store: StoreRef, operator: str, actor: str, expires_at: dt.datetime | None = None
) -> NewOperatorToken:
    """A new operator token for ``operator`` (a person's name or login), audited."""
    if not operator.strip():
        raise ImportProblem("--operator is empty: name the person the token is for")
    if expires_at is not None and expires_at <= dt.datetime.now(dt.UTC):
        raise ImportProblem(f"the expiry {expires_at.isoformat()} is already past")
    expires = expires_at.astimezone(dt.UTC).isoformat(timespec="seconds") if expires_at else None
    token, digest = new_token(PREFIX)
    with store.open(root) as opened:
        token_id, _ = opened.new_token(CONSOLE, digest, expires, keep=True)
        opened.audit(
            actor,
            "console_token_created",
            CONSOLE,
            {"id": token_id, "operator": operator.strip(), "expires": expires},
        )
    return NewOperatorToken(token, token_id, operator.strip(), expires)


def list_operator_tokens(root: Path, store: StoreRef) -> list[tuple[TokenInfo, str]]:
    """Each operator token with the name it was made for (never the token)."""
    with store.open(root) as opened:
        names = _names(opened)
        return [(t, names.get(t.id, "?")) for t in opened.tokens(CONSOLE)]


def revoke_operator_token(root: Path, store: StoreRef, token_id: int, actor: str) -> TokenInfo:
    """Revoke an operator token: its next request is read-only."""
    with store.open(root) as opened:
        if not any(t.id == token_id for t in opened.tokens(CONSOLE)):
            raise ImportProblem(
                f"no console token {token_id} in environment '{opened.environment}' "
                "(`accesshive console token list` shows them)"
            )
        found = opened.revoke_token(token_id)
        assert found is not None
        opened.audit(actor, "console_token_revoked", CONSOLE, {"id": token_id})
    return found


def operator_for(opened: Store, token: str) -> Operator | None:
    """The operator holding ``token``, if it is an active operator token (sign-in)."""
    if not token.startswith(PREFIX):
        return None
    found = opened.token_for(CONSOLE, token_hash(token))
    if found is None or found.state() != "active":
        return None
    return Operator(found.id, _names(opened).get(found.id, "?"))


def operator_of_session(opened: Store, token_id: int) -> Operator | None:
    """The operator of a session made with token ``token_id``, while that token is
    active: revoking or expiring it ends every session made with it."""
    found = next((t for t in opened.tokens(CONSOLE) if t.id == token_id), None)
    if found is None or found.state() != "active":
        return None
    return Operator(found.id, _names(opened).get(found.id, "?"))


def used(opened: Store, operator: Operator) -> None:
    """Record that the operator's token was just used (a sign-in, an action): what
    ``console token list`` shows as last used."""
    opened.token_used(operator.token_id)


def _names(opened: Store) -> dict[int, str]:
    """Token id → operator name, from the audit entries that made them."""
    out: dict[int, str] = {}
    for _, details in opened.audit_details(CONSOLE, ("console_token_created",)):
        made = json.loads(details)
        out[int(made["id"])] = str(made["operator"])
    return out
