"""Adopting an account means recording the link on it.

An account matched by correlation (created outside accesshive) is adopted: from then on
it is the identity's account. Where the source keeps a link (the SQL identity column, the
SCIM or LDAP identity attribute), the adoption writes it there, in the ``update_account`` order
that converges the account (``details["link"]``, one added when nothing else differs).
Without it, every later plan would match the account by correlation again and list the
same adoption, and an account whose correlation value changes on the target would be
lost to its identity.

Why only sources that declare where the link lives: a target that keeps no link (Google
Workspace, a manual source, a SQL table without an identity column) would be sent the
same order at every plan, never converging. Pure: decided from config alone.
"""

from __future__ import annotations

from accesshive.config.account_kinds import DEFAULT_KIND
from accesshive.config.model import Source
from accesshive.expand.desired import DesiredAccount
from accesshive.plan.converge import account_name
from accesshive.plan.kinds import OrderKind
from accesshive.plan.orders import LINK_DETAIL, Change
from accesshive.state.snapshot import SnapshotAccount


def keeps_link(source: Source) -> bool:
    """Whether the source's connector records an identity link an adoption can write.

    SQL keeps it in the ``columns.identity`` column, SCIM and LDAP in
    ``identity_attribute`` (``externalId``, ``accesshiveIdentity``), when the source
    declares one."""
    kind = str(source.connection.get("connector", source.kind))
    if kind == "sql":
        columns = source.connection.get("columns") or {}
        return bool(isinstance(columns, dict) and columns.get("identity"))
    if kind in ("scim", "ldap"):
        return bool(source.connection.get("identity_attribute"))
    return False


def with_link(
    source: Source, want: DesiredAccount, have: SnapshotAccount, changes: list[Change]
) -> list[Change]:
    """``changes`` (the orders converging ``have``, adopted for ``want``) with the link
    written by its ``update_account``: the one converge made, or a new one first.

    Nothing changes for an account that carries a link already (another kind's of the
    same identity: never overwritten), one about to be deleted, or a source that keeps
    no link."""
    if have.identity is not None or want.state == "absent" or not keeps_link(source):
        return changes
    link = want.link
    out = list(changes)
    for i, c in enumerate(out):
        if c.action == OrderKind.UPDATE_ACCOUNT and c.account == have.external_id:
            out[i] = Change(
                c.action,
                c.source,
                c.identity,
                c.account,
                c.name,
                attributes=c.attributes,
                details={**c.details, LINK_DETAIL: link},
            )
            return out
    name = account_name(source, have.attributes) or account_name(source, want.attributes)
    details = {} if want.kind == DEFAULT_KIND else {"account_kind": want.kind}
    update = Change(
        OrderKind.UPDATE_ACCOUNT,
        want.source,
        want.identity,
        have.external_id,
        name,
        details={**details, LINK_DETAIL: link},
    )
    return [update, *out]
