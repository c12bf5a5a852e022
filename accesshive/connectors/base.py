"""The connector protocol: what every connector to a managed system must do.

Obligations (the contract tests hold every connector to them):
- ``read()`` streams every account with its grants, in pages, and fails closed:
  a broken page, a timeout or a count that does not add up raises
  ``ConnectorError``; it never yields a partial view as if it were whole.
- ``create_account`` is idempotent: when the target already has the account
  (a uniqueness conflict), it adopts it and returns its id, never a duplicate.
- ``grant``/``revoke`` are idempotent: "already a member" and "not a member" are done;
  so are ``grant_many``/``revoke_many``, which do the same for several accounts at once.
- ``delete_account`` of a missing account is done.
- A connector that manages groups (``Capabilities.order_kinds`` holds the group kinds)
  finds a managed group by the entitlement id it carries, creates one idempotently
  (adopting a group of its name), renames it keeping its id and members, treats the
  delete of a missing group as done and refuses to delete one that still has a member.
- Every failure is a ``ConnectorError`` carrying the target's own message and
  whether retrying may help (``retryable``): refused connections, timeouts,
  throttling (429) and 502/503/504 are; bad data, permissions and other errors are not.

Logic stays apart from transport: a connector builds requests and reads
responses; a thin client (sqlite3, psycopg, httpx, ldap3) does the I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from accesshive.config.model import Source
from accesshive.errors import ConnectorError
from accesshive.plan.kinds import ACCOUNT_ACTIONS, GROUP_ACTIONS
from accesshive.state.snapshot import SnapshotAccount, SnapshotGroup

ALL_ORDER_KINDS: frozenset[str] = ACCOUNT_ACTIONS
"""What a connector performs (the account actions of ``accesshive.plan.kinds``)."""
WITH_GROUPS: frozenset[str] = ACCOUNT_ACTIONS | GROUP_ACTIONS
"""What a connector that manages groups performs."""


@dataclass(frozen=True)
class Capabilities:
    order_kinds: frozenset[str] = ALL_ORDER_KINDS
    can_read: bool = True
    page_size: int = 500
    executes_orders: bool = True
    """False for manual sources: orders become tasks for a person."""
    membership_batches: bool = False
    """``grant_many``/``revoke_many`` write several members in one request; apply then
    sends a batch's grants of one entitlement together, else one by one."""
    read_back_complete: bool = False
    """``get_accounts`` (and a create's returned account) gives an account exactly as
    ``read`` would, the grants it was asked for included: apply then refreshes the
    snapshot after a run from its read-backs instead of reading the source again
    (``apply/observed.py``)."""


@dataclass(frozen=True)
class Page:
    accounts: list[SnapshotAccount]
    total: int | None = None
    """How many accounts the target says it has, when it says so (checked by sync)."""


@dataclass(frozen=True)
class Created:
    external_id: str
    adopted: bool = False
    """True when the account already existed and was adopted."""
    account: SnapshotAccount | None = None
    """The new account as the target returned it with the write (LDAP's post-read
    control, a SCIM POST's response): apply verifies the create against it and reads
    the account back only when it does not show what was asked."""


@dataclass
class ConnectorContext:
    """What a connector may use from its surroundings."""

    root: Path
    """The config repository (relative paths in connection settings start here)."""
    environ: Mapping[str, str] = field(default_factory=dict)
    write_limits: WriteLimits | None = None
    """Where a source's write rate limit is kept when it must hold across processes
    (``apply --workers``: one bucket in the shared store); None: in this process."""


class WriteGate(Protocol):
    """A source's write rate limit, as a connector uses it before each write."""

    def acquire(self) -> float:
        """Wait for the right to write once; return how long that took (seconds)."""
        ...

    def pause(self, seconds: float) -> None:
        """The target said to slow down (429): no writer of the source writes for a while."""
        ...


class WriteLimits(Protocol):
    """The write gate of a source, for its limit in writes a minute."""

    def __call__(self, source: str, per_minute: float) -> WriteGate: ...


class Connector(ABC):
    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        self.source_id = source_id
        self.source = source
        self.context = context

    def error(
        self, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> ConnectorError:
        return ConnectorError(self.source_id, message, retryable=retryable, retry_after=retry_after)

    # -- reading

    @abstractmethod
    def read(self) -> Iterator[Page]:
        """Every account with its grants, page by page."""

    def check(self) -> None:
        """Raise ``ConnectorError`` when the target cannot be reached."""
        next(iter(self.read()), None)

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        """One account as the target holds it now (for verify); None when it does not exist."""
        for page in self.read():
            for account in page.accounts:
                if account.external_id == external_id:
                    return account
        return None

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        """Several accounts as the target holds them now, to verify a batch of orders in a
        few reads rather than one or two per order. Missing accounts are left out.

        An account's ``grants`` must be exact for every entitlement in ``entitlements``
        (those the batch's grants and revokes are about); other grants may be left out.
        Connectors override this with a batched read (an OR filter, one read per group);
        this default reads one account at a time.
        """
        found = {}
        for external_id in dict.fromkeys(external_ids):
            account = self.get_account(external_id)
            if account is not None:
                found[external_id] = account
        return found

    def get_memberships(
        self, external_ids: Collection[str], entitlements: Collection[str]
    ) -> dict[str, set[str]] | None:
        """Which of ``entitlements`` each of ``external_ids`` holds, read from the target
        now without reading the accounts themselves: what verifies a batch of grants and
        revokes (a grant is shown when the group holds the account; a revoke when it does
        not). Accounts that hold none may be left out. None (the default): the connector
        has no cheaper read than ``get_accounts``, which apply then uses."""
        return None

    # -- orders (automatic sources)

    def prepare_creates(self, accounts: Sequence[Mapping[str, Any]]) -> None:
        """A batch of accounts (their attributes) is about to be created, one by one.

        A connector may look up, in a few reads, what each create would otherwise check
        on its own (an existing account to adopt); what it learns must be used at most
        once and only for the creates that follow. The default does nothing.
        """
        return None

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        raise self.error("this connector cannot create accounts")

    def update_account(
        self, external_id: str, attributes: Mapping[str, Any]
    ) -> SnapshotAccount | None:
        """Change the account's attributes. A connector may return the account as the
        target answered the write (a SCIM PATCH's response), as ``Created.account`` does:
        apply verifies the order against it and reads the account back only when it does
        not show what was asked. None: apply reads it back."""
        raise self.error("this connector cannot update accounts")

    def link_account(self, external_id: str, link: str) -> None:
        """Record ``link`` (the identity, ``identity#kind`` for another account kind) on an
        account accesshive adopted, where the connector keeps links (``plan/adoption.py``
        plans it only for those), so later plans find the account by it."""
        raise self.error("this connector cannot record the identity link of an account")

    def set_enabled(self, external_id: str, enabled: bool) -> SnapshotAccount | None:
        """Enable or disable the account; returns as ``update_account`` does."""
        raise self.error("this connector cannot enable or disable accounts")

    def delete_account(self, external_id: str) -> None:
        raise self.error("this connector cannot delete accounts")

    def grant(self, external_id: str, entitlement: str) -> None:
        raise self.error("this connector cannot grant entitlements")

    def revoke(self, external_id: str, entitlement: str) -> None:
        raise self.error("this connector cannot revoke entitlements")

    def grant_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        """Grant one entitlement to several accounts, as few writes as the target allows
        (one LDAP modify, one SCIM PATCH): what lets a batch of grants cost a write per
        group rather than one per member.

        Same idempotence as ``grant``. On ``ConnectorError`` some of the grants may have
        been made and others not: the caller then sends each grant on its own, so that
        each order gets its own outcome. The default grants one account at a time;
        a connector that does better says so with ``Capabilities.membership_batches``.
        """
        for external_id in external_ids:
            self.grant(external_id, entitlement)

    def revoke_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        """Revoke one entitlement from several accounts; as ``grant_many``."""
        for external_id in external_ids:
            self.revoke(external_id, entitlement)

    # -- managed groups (entitlements declared ``managed: true``)

    def managed_groups(self) -> dict[str, str]:
        """The source's managed entitlements (present or absent): entitlement id → the
        name its group has on the target."""
        return {
            eid: spec.target_name(eid)
            for eid, spec in sorted(self.source.entitlements.items())
            if spec.managed
        }

    def read_groups(self) -> list[SnapshotGroup]:
        """The groups of the managed entitlements, found by the key they carry or by their
        name (both may be returned: diff decides). Only called for a source with managed
        entitlements; a connector that cannot manage groups refuses."""
        raise self.error("this connector cannot manage groups")

    def get_group(self, entitlement: str) -> SnapshotGroup | None:
        """A managed entitlement's group as the target holds it now, found by the key it
        carries (for verify); None when there is none."""
        raise self.error("this connector cannot manage groups")

    def create_group(self, entitlement: str, attributes: Mapping[str, Any]) -> Created:
        """Create the group (``attributes``: its ``name``, maybe ``description``), carrying
        ``entitlement`` as its key. Idempotent: a group of that name that exists already is
        adopted (its key written), never duplicated."""
        raise self.error("this connector cannot create groups")

    def update_group(
        self, external_id: str, entitlement: str, attributes: Mapping[str, Any]
    ) -> None:
        """Rename the group or set its attributes (``attributes``: the new values), and
        write ``entitlement`` as its key (what adopts a group found by name)."""
        raise self.error("this connector cannot update groups")

    def delete_group(self, external_id: str, entitlement: str) -> None:
        """Delete the group; a missing group is done. A group that still has members (the
        placeholder of a groupOfNames aside) is refused: its revokes ran first, so a
        member left is one accesshive does not manage, and nobody loses access silently."""
        raise self.error("this connector cannot delete groups")

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing
        """Release connections."""

    def share_with(self, sibling: Connector) -> None:  # noqa: B027 - optional hook
        """Use what ``sibling`` (a connector of the same source, in the same run) has
        learnt about the target, such as where an account it created is: apply's
        connectors of one source run in parallel, and a grant then needs no search for
        an account another of them created. Most connectors learn nothing."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
