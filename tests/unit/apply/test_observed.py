"""The snapshot after a run built from what the run read back (``apply/observed.py``):
only when every order the run sent on the source was verified by a read-back of its
account is that the whole truth; else the source is read again."""

from __future__ import annotations

from accesshive.apply.observed import Observed, refreshed, usable
from accesshive.plan.orders import Change, Order
from accesshive.plan.states import OrderState
from accesshive.state.snapshot import (
    SnapshotAccount,
    SnapshotCredential,
    SnapshotGroup,
    SourceSnapshot,
)


def _grant(oid: str, source: str = "dir", kind: str = "grant") -> Order:
    change = Change(action=kind, source=source, identity="ada", entitlement="vpn")
    return Order(id=oid, kind=kind, change=change)


def _seen(*external_ids: str) -> Observed:
    observed = Observed()
    observed.note("dir", [SnapshotAccount(e, grants=["vpn"]) for e in external_ids], ["vpn"])
    return observed


def test_a_source_nothing_was_read_back_from_has_no_accounts() -> None:
    assert Observed().accounts("dir") == {}
    assert _seen("a").accounts("wiki") == {}


def test_read_backs_are_the_truth_only_when_every_sent_order_was_verified_by_one() -> None:
    orders = [_grant("o1"), _grant("o2")]
    accounts = {"o1": "a", "o2": "b"}
    verified = {"o1": OrderState.VERIFIED, "o2": OrderState.VERIFIED}
    assert usable("dir", orders, verified, accounts, _seen("a", "b"))
    # an account the run acted on but never read back
    assert not usable("dir", orders, verified, accounts, _seen("a"))
    # an order whose account is not known
    assert not usable("dir", orders, verified, {"o1": "a", "o2": None}, _seen("a", "b"))
    # an order sent but not verified: what it did is not known
    errored = {"o1": OrderState.VERIFIED, "o2": OrderState.ERRORED}
    assert not usable("dir", orders, errored, accounts, _seen("a", "b"))


def test_orders_never_sent_or_of_other_sources_do_not_count_and_do_not_stop_the_check() -> None:
    orders = [_grant("w1", source="wiki"), _grant("o0"), _grant("o1"), _grant("o2")]
    states = {
        "w1": OrderState.ERRORED,  # another source's failure says nothing of this one
        "o0": OrderState.AWAITING_APPROVAL,  # never sent
        "o1": OrderState.VERIFIED,
        "o2": OrderState.ERRORED,  # after those: still looked at
    }
    accounts = {"w1": "w", "o0": "z", "o1": "a", "o2": "b"}
    assert not usable("dir", orders, states, accounts, _seen("a", "b"))
    states["o2"] = OrderState.VERIFIED
    assert usable("dir", orders, states, accounts, _seen("a", "b"))
    # an order not in this run (no state) is left out
    assert usable("dir", [*orders, _grant("o9")], states, accounts, _seen("a", "b"))


def test_the_refreshed_snapshot_keeps_the_sources_groups_and_credentials() -> None:
    before = SourceSnapshot(
        accounts=[SnapshotAccount("a", grants=["wiki"])],
        groups=[SnapshotGroup(external_id="g", name="vpn", entitlement="vpn", members=0)],
        credentials=[SnapshotCredential(identity="bot", kind="api_key")],
        read_at="2026-11-29T10:00:00Z",
    )
    after = refreshed(before, "dir", _seen("a"), "2026-11-29T10:05:00Z")
    assert after.accounts == [SnapshotAccount("a", grants=["vpn", "wiki"])]
    assert after.groups == before.groups
    assert after.credentials == before.credentials
    assert after.read_at == "2026-11-29T10:05:00Z"


def test_two_reads_of_one_account_keep_what_each_was_asked_about() -> None:
    """A read asked about some entitlements shows only those grants: a later such read
    updates those and keeps what an earlier read showed of the others; a read of every
    grant (``None``) is the whole truth, and stays so when a narrower read follows."""
    observed = Observed()
    observed.note("dir", [SnapshotAccount("a1", grants=["vpn", "wiki"])], None)
    observed.note("dir", [SnapshotAccount("a1", grants=["ops"], enabled=False)], ["ops", "vpn"])
    account, covered = observed.accounts("dir")["a1"]
    # vpn was revoked (the second read was asked about it), ops granted, wiki as before;
    # the rest of the account is the latest read's
    assert (account.grants, account.enabled, covered) == (["ops", "wiki"], False, None)

    narrow = Observed()
    narrow.note("dir", [SnapshotAccount("a1", grants=["vpn"])], ["vpn"])
    narrow.note("dir", [SnapshotAccount("a1", grants=[])], ["wiki"])
    account, covered = narrow.accounts("dir")["a1"]
    assert (account.grants, covered) == (["vpn"], frozenset({"vpn", "wiki"}))
    # another source's reads are its own
    assert narrow.accounts("other") == {}


def test_a_read_that_started_before_another_batchs_write_does_not_undo_it() -> None:
    """Batches of one source run on several threads: a grant batch's read-back of ann
    started before the update batch changed her mail, and is noted after that update's
    own read-back. The update's read stands (her new mail); the earlier read adds only
    the grant the later did not ask about."""
    observed = Observed()
    new = SnapshotAccount("ann", attributes={"mail": "ann@example.com"}, grants=["staff"])
    observed.note("dir", [new], ["staff"], at=2.0)  # the update's read-back
    old = SnapshotAccount("ann", attributes={"mail": "old@x"}, grants=["staff", "vpn"])
    observed.note("dir", [old], ["vpn"], at=1.0)  # started first, noted last
    account, covered = observed.accounts("dir")["ann"]
    assert account.attributes == {"mail": "ann@example.com"}
    assert (account.grants, covered) == (["staff", "vpn"], frozenset({"staff", "vpn"}))
    # an earlier read of every grant yields to what the later read asked about only
    whole = Observed()
    whole.note("dir", [SnapshotAccount("ann", grants=[])], ["vpn"], at=2.0)  # vpn revoked
    whole.note("dir", [SnapshotAccount("ann", grants=["vpn", "wiki"])], None, at=1.0)
    account, covered = whole.accounts("dir")["ann"]
    assert (account.grants, covered) == (["wiki"], None)
