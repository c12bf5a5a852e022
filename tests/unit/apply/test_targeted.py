"""Which accounts apply reads again after a run (``apply.refresh.targeted``): exactly the
ones its orders acted on, and the source whole whenever a targeted read could miss what
the run did. Reading too little leaves the next plan working from a stale snapshot, so
each case that must fall back to a full read is pinned here."""

from __future__ import annotations

from accesshive.apply.refresh import SHARE, Targeted, targeted
from accesshive.plan.orders import Order
from accesshive.plan.states import OrderState as S
from accesshive.state.snapshot import SnapshotAccount, SourceSnapshot
from tests.support.plans import order, plan_of

LIVE = SourceSnapshot(accounts=[SnapshotAccount(external_id=f"a{n}") for n in range(40)])


def _order(
    oid: str,
    action: str,
    account: str | None,
    entitlement: str | None = None,
    source: str = "wiki",
) -> Order:
    return order(oid, action, "ada", source=source, entitlement=entitlement, account=account)


def test_the_accounts_acted_on_and_the_entitlements_granted_or_revoked() -> None:
    plan = plan_of(
        _order("g1", "grant", "a1", "editors"),
        _order("r1", "revoke", "a2", "admins"),
        _order("u1", "update_account", "a3", "ignored"),
        _order("d1", "disable_account", "a4"),
    )
    states = {o.id: S.VERIFIED for o in plan.orders}
    assert targeted(plan, states, "wiki", LIVE) == Targeted(
        frozenset({"a1", "a2", "a3", "a4"}), frozenset({"editors", "admins"})
    )


def test_what_the_run_did_not_send_and_other_sources_are_left_out() -> None:
    plan = plan_of(
        _order("g1", "grant", "a1", "editors"),
        # never sent: held, gated, blocked, declined, or no longer needed
        _order("g2", "grant", "a2", "admins"),
        _order("g3", "grant", "a3", "ops"),
        # another source's create would force a full read if it were counted here
        _order("c1", "create_account", None, source="crm"),
        # sent but failed: it may have reached the target
        _order("g4", "grant", "a4", "auditors"),
    )
    states = {
        "g1": S.VERIFIED,
        "g2": S.AWAITING_APPROVAL,
        "g3": S.INACTIVE,
        "c1": S.VERIFIED,
        "g4": S.ERRORED,
    }
    assert targeted(plan, states, "wiki", LIVE) == Targeted(
        frozenset({"a1", "a4"}), frozenset({"editors", "auditors"})
    )


def test_the_account_apply_learned_live_is_read_rather_than_the_plans() -> None:
    plan = plan_of(_order("g1", "grant", "a1", "editors"), _order("g2", "grant", "a2", "ops"))
    states = {"g1": S.VERIFIED, "g2": S.VERIFIED}
    # the account was replaced since the plan: apply's live read linked g1 to a9
    assert targeted(plan, states, "wiki", LIVE, {"g1": "a9"}) == Targeted(
        frozenset({"a9", "a2"}), frozenset({"editors", "ops"})
    )


def test_a_create_or_an_order_without_an_account_reads_the_source_whole() -> None:
    done = {"c1": S.VERIFIED, "g1": S.VERIFIED}
    create = plan_of(_order("g1", "grant", "a1", "editors"), _order("c1", "create_account", None))
    assert targeted(create, done, "wiki", LIVE) is None
    # a grant on an account the plan creates: no account id known when planned
    unknown = plan_of(_order("g1", "grant", None, "editors"))
    assert targeted(unknown, done, "wiki", LIVE) is None
    group = plan_of(_order("c1", "create_group", None, "oncall"))
    assert targeted(group, done, "wiki", LIVE) is None


def test_touching_more_than_one_account_in_share_reads_the_source_whole() -> None:
    limit = len(LIVE.accounts) // SHARE
    at_limit = plan_of(*(_order(f"g{n}", "grant", f"a{n}", "e") for n in range(limit)))
    states = {o.id: S.VERIFIED for o in at_limit.orders}
    assert targeted(at_limit, states, "wiki", LIVE) is not None
    beyond = plan_of(*(_order(f"g{n}", "grant", f"a{n}", "e") for n in range(limit + 1)))
    states = {o.id: S.VERIFIED for o in beyond.orders}
    assert targeted(beyond, states, "wiki", LIVE) is None
