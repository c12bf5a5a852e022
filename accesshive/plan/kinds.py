"""The kinds of orders, in one place, and the groups every other module takes from it.

An order's kind is its action (what a change does to an account, a grant, a
credential or a managed group), or ``manual_task`` when a person performs that action
on a manual source. The declaration order is the order a plan lists one identity's
orders of a source in.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class OrderKind(StrEnum):
    CREATE_GROUP = "create_group"
    UPDATE_GROUP = "update_group"
    CREATE_ACCOUNT = "create_account"
    UPDATE_ACCOUNT = "update_account"
    ENABLE_ACCOUNT = "enable_account"
    GRANT = "grant"
    STORE_CREDENTIAL = "store_credential"
    ROTATE_CREDENTIAL = "rotate_credential"
    REVOKE = "revoke"
    DISABLE_ACCOUNT = "disable_account"
    DELETE_ACCOUNT = "delete_account"
    DELETE_GROUP = "delete_group"
    MANUAL_TASK = "manual_task"


_K = OrderKind

ORDER_KINDS: tuple[OrderKind, ...] = tuple(OrderKind)
"""Every kind, in plan order."""
KIND_RANK: Mapping[str, int] = MappingProxyType({k: i for i, k in enumerate(ORDER_KINDS)})
"""Where a kind sorts among one identity's orders of a source."""

ACCOUNT_ACTIONS: frozenset[OrderKind] = frozenset(
    {
        _K.CREATE_ACCOUNT,
        _K.UPDATE_ACCOUNT,
        _K.ENABLE_ACCOUNT,
        _K.DISABLE_ACCOUNT,
        _K.DELETE_ACCOUNT,
        _K.GRANT,
        _K.REVOKE,
    }
)
"""What a connector performs on a target: accounts and their grants."""
GROUP_ACTIONS: frozenset[OrderKind] = frozenset({_K.CREATE_GROUP, _K.UPDATE_GROUP, _K.DELETE_GROUP})
"""What a connector performs on the group of a managed entitlement (``managed: true``):
create it (or adopt one of its name), rename it or change its attributes, delete it."""
CREDENTIAL_ACTIONS: frozenset[OrderKind] = frozenset({_K.STORE_CREDENTIAL, _K.ROTATE_CREDENTIAL})
"""What apply performs on a vault."""
ACTIONS: frozenset[OrderKind] = ACCOUNT_ACTIONS | CREDENTIAL_ACTIONS | GROUP_ACTIONS
"""What a change does: every kind but ``manual_task`` (which is one of these, done by a
person)."""

# grouped by what they do to access (for +/~/- markers and guardrails)
ADDING: frozenset[OrderKind] = frozenset(
    {_K.CREATE_ACCOUNT, _K.ENABLE_ACCOUNT, _K.GRANT, _K.STORE_CREDENTIAL, _K.CREATE_GROUP}
)
CHANGING: frozenset[OrderKind] = frozenset(
    {_K.UPDATE_ACCOUNT, _K.ROTATE_CREDENTIAL, _K.UPDATE_GROUP}
)
REMOVING: frozenset[OrderKind] = frozenset(
    {_K.DISABLE_ACCOUNT, _K.DELETE_ACCOUNT, _K.REVOKE, _K.DELETE_GROUP}
)

if ADDING | CHANGING | REMOVING != ACTIONS or len(ADDING) + len(CHANGING) + len(REMOVING) != len(
    ACTIONS
):  # pragma: no cover - a kind added to one list and not the others
    raise AssertionError("every action is exactly one of adding, changing or removing access")
if set(ORDER_KINDS) != ACTIONS | {_K.MANUAL_TASK}:  # pragma: no cover
    raise AssertionError("every order kind is an action or manual_task")
