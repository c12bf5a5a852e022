"""The credentials' changes: what to store or rotate in a vault, and the credentials kept
for identities config no longer declares.

Why a module of its own: a vault's content is credentials, not accounts, so it is not
matched or converged as a source's accounts are (``plan/diff.py``: ``diffed_sources``
leaves it out); its changes come after every source's, and a managed password's rotation
names the account diff matched for it (``_account_found``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from accesshive.config import Config
from accesshive.expand.desired import DesiredCredential, DesiredState
from accesshive.plan.changes import Orphan, SourceDiff
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot


def vault_orphans(config: Config, desired: DesiredState, snapshot: Snapshot) -> Iterator[Orphan]:
    """Credentials kept for identities that config no longer declares."""
    for sid in config.sources_of_kind("vault"):
        for cred in sorted(snapshot.source(sid).credentials, key=lambda c: c.identity):
            if cred.identity not in desired.credentials:
                yield Orphan(sid, cred.identity, cred.identity, True, identity=cred.identity)


def credential_changes(
    config: Config,
    desired: DesiredState,
    snapshot: Snapshot,
    today: dt.date,
    per_source: Mapping[str, SourceDiff],
) -> Iterator[Change]:
    """A ``store_credential`` for each wanted credential its vault does not hold, a
    ``rotate_credential`` for each held one past its rotation period."""
    stored: dict[str, dict[str, Any]] = {}
    for sid in config.sources_of_kind("vault"):
        for cred in snapshot.source(sid).credentials:
            stored.setdefault(sid, {})[cred.identity] = cred
    for iid, want in sorted(desired.credentials.items()):
        have = stored.get(want.vault, {}).get(iid)
        details = _credential_details(want)
        if have is None:
            yield Change("store_credential", want.vault, iid, details=details)
            continue
        last = have.rotated_at or have.stored_at
        days = want.rotate_every_days
        if days and last and (today - last).days >= days:  # no overflow near year 9999
            details["last_rotated"] = last.isoformat()
            account = _account_found(per_source, want.account_source, iid)
            if want.mode == "managed" and account is not None:
                # the account whose password is rotated, as the snapshot knows it: the
                # plan that created it is long gone
                details["account"] = account
            yield Change("rotate_credential", want.vault, iid, details=details)


def _account_found(per_source: Mapping[str, SourceDiff], sid: str | None, link: str) -> str | None:
    """The external id of the one account diff matched to ``link`` on ``sid`` (by its link,
    or by correlation on a source that keeps no link, such as Google Workspace). With
    duplicates there is none: a password is never set on a guess."""
    source = per_source.get(sid) if sid is not None else None
    found = source.found.get(link) if source is not None else None
    if found is None or isinstance(found, str):
        return found
    ext, _, duplicates = found.match
    return None if duplicates else ext


def _credential_details(want: DesiredCredential) -> dict[str, Any]:
    return {
        "mode": want.mode,
        "credential_kind": want.kind,
        "supplied_by": want.supplied_by,
        "account_source": want.account_source,
        "rotate_every_days": want.rotate_every_days,
    }
