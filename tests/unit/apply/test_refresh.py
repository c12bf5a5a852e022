"""The snapshot apply stores after a run that acted on a few accounts: the live snapshot
read before the run, with those accounts as read again (``apply.refresh.merged``)."""

from __future__ import annotations

from accesshive.apply.refresh import Targeted, merged
from accesshive.state.snapshot import (
    SnapshotAccount,
    SnapshotCredential,
    SnapshotGroup,
    SourceSnapshot,
)


def test_accounts_read_again_replace_theirs_and_the_rest_stands() -> None:
    live = SourceSnapshot(
        accounts=[
            SnapshotAccount("a", attributes={"title": "old"}, grants=["wiki", "vpn"]),
            SnapshotAccount("b", grants=["vpn"]),
            SnapshotAccount("c", grants=["vpn"]),
        ],
        groups=[SnapshotGroup(external_id="g1", name="vpn", entitlement="vpn", members=3)],
        read_at="2026-11-29T10:00:00Z",
    )
    # the run revoked vpn from a and deleted c; the read asked about vpn only, so the
    # grants it shows of anything else (here none of wiki) say nothing about them
    read = {"a": SnapshotAccount("a", attributes={"title": "new"}, grants=[])}
    target = Targeted(frozenset({"a", "c"}), frozenset({"vpn"}))
    after = merged(live, read, target, "2026-11-29T10:05:00Z")
    assert after.accounts == [
        SnapshotAccount("a", attributes={"title": "new"}, grants=["wiki"]),
        SnapshotAccount("b", grants=["vpn"]),
    ]
    assert after.groups == live.groups
    assert after.read_at == "2026-11-29T10:05:00Z"


def test_an_account_the_live_read_did_not_hold_is_added_as_read() -> None:
    live = SourceSnapshot(accounts=[SnapshotAccount("a")])
    read = {"z": SnapshotAccount("z", grants=["vpn"])}
    after = merged(live, read, Targeted(frozenset({"z"}), frozenset({"vpn"})), None)
    assert [a.external_id for a in after.accounts] == ["a", "z"]
    assert after.accounts[1].grants == ["vpn"]


def test_an_account_read_again_keeps_what_the_read_left_out() -> None:
    """The read-back is the truth for what it shows: the account's link, whether it is
    enabled and its attributes come from it; a last login the read did not carry stays
    as the live read had it, and the source's credentials and groups are untouched."""
    old = SnapshotAccount(
        "a", identity="ada", enabled=True, grants=["vpn"], last_login="2026-11-01T08:00:00Z"
    )
    live = SourceSnapshot(
        accounts=[old],
        credentials=[SnapshotCredential(identity="wiki-bot", kind="api_key")],
        groups=[SnapshotGroup(external_id="g1", name="vpn", entitlement="vpn", members=1)],
    )
    new = SnapshotAccount("a", identity="ada", enabled=False, attributes={"title": "x"})
    after = merged(live, {"a": new}, Targeted(frozenset({"a"}), frozenset()), None)
    assert after.accounts == [
        SnapshotAccount(
            "a",
            identity="ada",
            enabled=False,
            attributes={"title": "x"},
            grants=["vpn"],
            last_login="2026-11-01T08:00:00Z",
        )
    ]
    assert after.credentials == live.credentials
    assert after.groups == live.groups
    # a last login the read does carry is the newer truth
    newer = SnapshotAccount("a", identity="ada", last_login="2026-11-28T09:00:00Z")
    again = merged(live, {"a": newer}, Targeted(frozenset({"a"}), frozenset()), None)
    assert again.accounts[0].last_login == "2026-11-28T09:00:00Z"
