"""The connector contract: every connector, against its real server (or stand-in), obeys
the obligations written in accesshive/connectors/base.py."""

from __future__ import annotations

from typing import Any

import pytest

from accesshive.apply.steps import verify
from accesshive.config.model import EntitlementSpec
from accesshive.connectors.base import Connector
from accesshive.errors import ConnectorError
from accesshive.plan.kinds import GROUP_ACTIONS
from accesshive.plan.orders import Change, Order
from tests.support.targets import Target


def _all(connector: Connector) -> list[Any]:
    return [a for page in connector.read() for a in page.accounts]


def _create(connector: Connector, target: Target, n: int) -> str:
    return connector.create_account(f"person{n}", target.account(n), True).external_id


def test_create_is_idempotent(target: Target) -> None:
    with target.connector() as conn:
        first = conn.create_account("person1", target.account(1), True)
        assert not first.adopted
        second = conn.create_account("person1", target.account(1), True)
        assert second.adopted
        assert second.external_id == first.external_id
        accounts = _all(conn)
        assert [a.external_id for a in accounts] == [first.external_id]


def test_update_changes_only_what_it_names(target: Target) -> None:
    with target.connector() as conn:
        ext = _create(conn, target, 2)
        conn.update_account(ext, {target.changeable: "Changed Name"})
        account = conn.get_account(ext)
        assert account is not None
        assert account.attributes[target.changeable] == "Changed Name"
        original = target.account(2)
        for attr, value in original.items():
            if attr != target.changeable:
                assert str(account.attributes[attr]).lower() == str(value).lower(), attr


def test_rename_keeps_the_external_id(target: Target) -> None:
    with target.connector() as conn:
        ext = _create(conn, target, 3)
        new_name = target.account(903)[target.name_attribute]
        conn.update_account(ext, {target.name_attribute: new_name})
        account = conn.get_account(ext)
        assert account is not None
        assert str(account.attributes[target.name_attribute]).lower() == str(new_name).lower()
        assert len(_all(conn)) == 1


def test_enable_and_disable(target: Target) -> None:
    with target.connector() as conn:
        ext = _create(conn, target, 4)
        conn.set_enabled(ext, False)
        assert conn.get_account(ext).enabled is False  # type: ignore[union-attr]
        conn.set_enabled(ext, True)
        assert conn.get_account(ext).enabled is True  # type: ignore[union-attr]


def test_grant_and_revoke_are_idempotent(target: Target) -> None:
    first, second = target.entitlements
    with target.connector() as conn:
        ext = _create(conn, target, 5)
        conn.grant(ext, first)
        conn.grant(ext, first)  # already a member: done
        conn.grant(ext, second)
        conn.revoke(ext, second)
        conn.revoke(ext, second)  # not a member: done
        assert conn.get_account(ext).grants == [first]  # type: ignore[union-attr]


def test_delete_of_a_missing_account_is_done(target: Target) -> None:
    with target.connector() as conn:
        ext = _create(conn, target, 6)
        conn.delete_account(ext)
        conn.delete_account(ext)
        assert conn.get_account(ext) is None
        assert _all(conn) == []


def test_full_read_returns_exactly_what_was_written(target: Target) -> None:
    count = 2 * target.page_size + 3
    first = target.entitlements[0]
    with target.connector() as conn:
        written = {}
        for n in range(count):
            ext = _create(conn, target, 100 + n)
            if n % 3 == 0:
                conn.grant(ext, first)
            written[ext] = target.account(100 + n)
        pages = list(conn.read())
    assert len(pages) >= 3
    accounts = {a.external_id: a for p in pages for a in p.accounts}
    assert set(accounts) == set(written)
    for ext, attrs in written.items():
        for attr, value in attrs.items():
            assert str(accounts[ext].attributes[attr]).lower() == str(value).lower()
    assert sum(1 for a in accounts.values() if first in a.grants) == len(range(0, count, 3))


def test_a_read_that_breaks_part_way_raises(target: Target) -> None:
    with target.connector() as conn:
        for n in range(2 * target.page_size + 1):
            _create(conn, target, 300 + n)
    with target.connector() as conn:
        pages = iter(conn.read())
        next(pages)
        target.break_target()
        with pytest.raises(ConnectorError) as info:
            list(pages)
        assert info.value.message


def test_verify_detects_an_out_of_band_change(target: Target) -> None:
    with target.connector() as conn:
        attrs = target.account(7)
        ext = _create(conn, target, 7)
        order = Order(
            id="o1",
            kind="create_account",
            change=Change("create_account", "contract", "person7", attributes=attrs),
        )
        assert verify(conn, order, ext) is None
        target.out_of_band_change(ext, target.changeable, "Someone Else")
        difference = verify(conn, order, ext)
        assert difference is not None and target.changeable in difference


def test_errors_are_classified_with_the_target_message(target: Target) -> None:
    with target.connector() as conn:
        with pytest.raises(ConnectorError) as missing:
            conn.update_account("does-not-exist-0000", {target.changeable: "x"})
        assert missing.value.message
        assert not missing.value.retryable
    with target.unreachable() as conn, pytest.raises(ConnectorError) as down:
        list(conn.read())
    assert down.value.message
    assert down.value.retryable is target.extras.get("unreachable_retryable", True)


def test_a_batched_read_back_matches_one_by_one(target: Target) -> None:
    """``get_accounts`` (what apply verifies a batch with) sees what ``get_account`` sees,
    grants included, across more accounts than a page, leaving out a deleted one."""
    first, second = target.entitlements
    with target.connector() as conn:
        ids = [_create(conn, target, 400 + n) for n in range(target.page_size + 2)]
        for n, ext in enumerate(ids):
            if n % 2 == 0:
                conn.grant(ext, first)
            if n % 3 == 0:
                conn.grant(ext, second)
        conn.set_enabled(ids[1], False)
        gone = _create(conn, target, 399)
        conn.delete_account(gone)
        target.out_of_band_change(ids[2], target.changeable, "Someone Else")
    with target.connector() as conn:
        batch = conn.get_accounts([*ids, gone], [first, second])
        one_by_one = {ext: conn.get_account(ext) for ext in ids}
        without_grants = conn.get_accounts(ids[:2])
    assert set(batch) == set(ids)
    for ext in ids:
        expected = one_by_one[ext]
        assert expected is not None
        got = batch[ext]
        assert (got.enabled, got.attributes) == (expected.enabled, expected.attributes), ext
        assert sorted(got.grants) == sorted(g for g in expected.grants if g in (first, second))
    assert batch[ids[2]].attributes[target.changeable] == "Someone Else"
    assert batch[ids[1]].enabled is False
    assert set(without_grants) == set(ids[:2])


def test_prepared_creates_still_adopt_and_never_duplicate(target: Target) -> None:
    """What ``prepare_creates`` looks up ahead is used once: an account that exists is
    adopted, a new one is created, and a second create of it adopts it."""
    with target.connector() as conn:
        existing = _create(conn, target, 501)
    with target.connector() as conn:
        conn.prepare_creates([target.account(501), target.account(502)])
        adopted = conn.create_account("person501", target.account(501), True)
        created = conn.create_account("person502", target.account(502), True)
        again = conn.create_account("person502", target.account(502), True)
        accounts = _all(conn)
    assert (adopted.adopted, adopted.external_id) == (True, existing)
    assert not created.adopted
    assert (again.adopted, again.external_id) == (True, created.external_id)
    assert sorted(a.external_id for a in accounts) == sorted([existing, created.external_id])


def test_many_grants_and_revokes_of_one_entitlement(target: Target) -> None:
    """``grant_many``/``revoke_many`` (what apply sends a batch's grants of one
    entitlement with) are as idempotent as one at a time: a member already there, a
    member already gone and a group emptied of every member are all done."""
    first, second = target.entitlements
    with target.connector() as conn:
        ids = [_create(conn, target, 600 + n) for n in range(5)]
        conn.grant(ids[0], first)
        conn.grant_many(first, ids[:3])  # ids[0] is already a member
        conn.grant_many(first, ids[:3])  # all are
        conn.grant_many(second, ids)
        conn.revoke_many(second, ids[3:])
        conn.revoke(ids[2], first)
        conn.revoke_many(first, ids[1:3])  # ids[2] is no longer a member
        conn.revoke_many(second, ids)  # the group loses every member it has
        conn.revoke_many(second, ids)  # and again: nobody is
        conn.grant_many(second, ids[3:])
    with target.connector() as conn:
        grants = {
            ext: sorted(a.grants) for ext, a in conn.get_accounts(ids, target.entitlements).items()
        }
    assert grants == {ids[0]: [first], ids[1]: [], ids[2]: [], ids[3]: [second], ids[4]: [second]}


def test_the_account_a_create_returns_is_the_account_on_the_target(target: Target) -> None:
    """What a create hands back as the new account (apply verifies with it instead of a
    read) is what the target holds, enabled or not."""
    with target.connector() as conn:
        for n, enabled in ((700, True), (701, False)):
            created = conn.create_account(f"person{n}", target.account(n), enabled)
            held = conn.get_account(created.external_id)
            assert held is not None
            if created.account is not None:
                got = created.account
                assert (got.external_id, got.enabled) == (held.external_id, enabled)
                assert got.attributes == held.attributes


def _managing(conn: Connector, entitlement: str, name: str) -> Connector:
    """The same target, with ``entitlement`` declared a managed group named ``name``."""
    source = conn.source.model_copy(
        update={
            "entitlements": {
                **conn.source.entitlements,
                entitlement: EntitlementSpec(managed=True, name=name),
            }
        }
    )
    return type(conn)(conn.source_id, source, conn.context)


def test_a_managed_group_is_created_renamed_and_deleted(target: Target) -> None:
    """create_group (idempotent), a rename that keeps the group and its members, and a
    delete that refuses a group someone is still in, then deletes the emptied one."""
    with target.connector() as base:
        if not base.capabilities.order_kinds >= GROUP_ACTIONS:
            pytest.skip(f"{target.kind} does not manage groups")
        email = base.kind == "google_workspace"
        eid = "contract-oncall@example.com" if email else "contract-oncall"
        with _managing(base, eid, "Contract On-call") as conn:
            assert conn.read_groups() == []
            created = conn.create_group(eid, {"name": "Contract On-call"})
            again = conn.create_group(eid, {"name": "Contract On-call"})
            assert again.external_id == created.external_id  # never a second group
            group = conn.get_group(eid)
            assert group is not None
            assert (group.external_id, group.name, group.entitlement, group.members) == (
                created.external_id,
                "Contract On-call",
                eid,
                0,
            )
            ext = _create(conn, target, 7)
            conn.grant(ext, eid)
            assert eid in conn.get_accounts([ext], [eid])[ext].grants
        with _managing(base, eid, "Contract rota") as conn:
            conn.update_group(created.external_id, eid, {"name": "Contract rota"})
            renamed = conn.get_group(eid)
            assert renamed is not None
            assert (renamed.external_id, renamed.name) == (created.external_id, "Contract rota")
            assert [a.grants for a in _all(conn) if a.external_id == ext] == [[eid]]
            with pytest.raises(ConnectorError, match="member"):
                conn.delete_group(created.external_id, eid)  # someone is still in it
            assert conn.get_group(eid) is not None
            conn.revoke(ext, eid)
            conn.delete_group(created.external_id, eid)
            assert conn.get_group(eid) is None
            conn.delete_group(created.external_id, eid)  # a missing group: done
