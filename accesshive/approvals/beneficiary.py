"""Whose access an order changes, as a reviewer sees it: nobody reviews their own.

``allow_self_approval`` keeps the author of a change from approving it; this keeps a
reviewer from approving an order on their *own* identity, whoever proposed it: a
change by carol that makes reviewer alice a wiki admin needs someone other than
alice. A reviewer's own identity is, in the review policy and the identities:

- the identity whose id is the reviewer's name (``alice`` reviews as ``alice``);
- the identity the reviewer's ``identity:`` names (``identity: alice.smith``);
- every identity whose ``email`` attribute is the reviewer's ``email:`` (case, spaces and
  a ``+tag`` in the local part ignored: ``ada+ops@acme.example`` is ada's);

and the identities any of those own (``owner:`` of a service account or bot): the
owner of a service account does not approve its access either. Matching is
deliberately wide: an approval refused for a false match is replaced by another
reviewer's, an approval counted for a missed one is access nobody reviewed. So ids
are compared without case too (``Ada.Lovelace`` reviews as ``ada.lovelace``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from accesshive.config.model import Identity
from accesshive.config.policy import ReviewPolicy

Own = Mapping[str, Mapping[str, str]]
"""Reviewer → {identity id: why it is theirs}."""


def own_identities(policies: Iterable[ReviewPolicy], identities: Mapping[str, Identity]) -> Own:
    """Per reviewer of any of ``policies`` (the repository's and the one in force: what
    either says is the reviewer's counts), the identities whose orders they may not
    approve, each with why."""
    by_email: dict[str, set[str]] = {}
    for iid, ident in identities.items():
        email = ident.attributes.get("email")
        if isinstance(email, str) and email.strip():
            by_email.setdefault(_mailbox(email), set()).add(iid)
    spelled = {iid.lower(): iid for iid in identities}  # as the identities spell it
    own: dict[str, dict[str, str]] = {}
    for policy in policies:
        for name, reviewer in policy.reviewers.items():
            mine = own.setdefault(name, {})
            same = spelled.get(name.lower(), name)
            mine.setdefault(name.lower(), f"the order is on {same}, the reviewer's own identity")
            if reviewer.identity:
                named = spelled.get(reviewer.identity.lower(), reviewer.identity)
                mine.setdefault(
                    reviewer.identity.lower(),
                    f"the order is on {named}, the reviewer's own identity "
                    "(identity: in the review policy)",
                )
            if reviewer.email:
                for iid in sorted(by_email.get(_mailbox(reviewer.email), ())):
                    mine.setdefault(
                        iid.lower(),
                        f"the order is on {iid}, the reviewer's own identity "
                        f"(its email is the reviewer's, {reviewer.email})",
                    )
    for mine in own.values():
        selves = set(mine)
        for iid, ident in sorted(identities.items()):
            if ident.owner is not None and ident.owner.lower() in selves:
                mine.setdefault(
                    iid.lower(),
                    f"the order is on {iid}, an identity the reviewer owns ({ident.owner})",
                )
    return own


def why_own(own: Own, reviewer: str, identity: str | None) -> str | None:
    """Why ``identity`` is ``reviewer``'s own (so their approval of an order on it does
    not count), or None."""
    if identity is None:
        return None
    return own.get(reviewer, {}).get(identity.lower())


def _mailbox(email: str) -> str:
    """The mailbox an address delivers to, as far as can be told: case, spaces and a
    ``+tag`` of the local part ignored."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return domain
    return f"{local.split('+', 1)[0]}@{domain}"
