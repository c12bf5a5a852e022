"""Security invariants, each held by a test that fails when the invariant is broken.

- a review rule's quorum counts distinct reviewers of the allowed groups, and apply
  leaves the gated order waiting until it is met;
- a valid signed approval of one plan approves nothing in another plan, even an order
  the two plans share, and says so (the plan-digest mismatch, not a bad signature);
- a target that accepts a grant and keeps nothing ends the order ``errored`` after
  read-back, never ``verified``;
- a plan gone stale on a target is refused (here: an attribute edited behind
  accesshive on the in-memory target; ``test_apply`` holds an added grant on SQL);
- a read that breaks part way is never taken for the target's state: sync keeps the
  previous snapshot (here: rows deleted during a paged SQL read) and apply refuses
  to run on it (here: the in-memory target dropping the connection after a page).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.approvals.files import approvals_path, read_approvals
from accesshive.approvals.model import content_digest
from accesshive.approvals.operations import check, sign_approvals
from accesshive.approvals.signing import message, sign
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.connectors.sql import SqlConnector
from accesshive.errors import StalePlanError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import POLICY_CHANGE, Plan
from accesshive.plan.planfile import write_plan
from accesshive.store import open_store
from accesshive.sync import sync
from tests.conftest import EXAMPLES, copy_quickstart, reviewed_quickstart
from tests.support.memory_connector import MemoryConnector
from tests.support.ssh import keygen

TODAY = dt.date(2026, 11, 29)
STORE = StoreRef()
REVIEWERS = {"alice": "security", "bob": "security", "carol": "finance"}


def _sync(repo: Path) -> None:
    result = CliRunner().invoke(main, ["sync", str(repo)])
    assert result.exit_code == 0, result.output


def _reviewed(tmp_path: Path, quorum: int) -> Path:
    """The quickstart, synced, with reviewers and one rule: sensitive grants need
    ``quorum`` approvals from security."""
    keys = tmp_path / "keys"
    keys.mkdir()
    lines = ["review:", "  reviewers:"]
    for name, group in REVIEWERS.items():
        public = keygen(keys / name)
        lines += [
            f"    {name}:",
            f"      groups: [{group}]",
            f"      github: {name}-gh",
            f'      public_key: "{public}"',
        ]
    lines += [
        "  rules:",
        "    - name: sensitive-grants",
        "      order_kinds: [grant]",
        "      sensitive_only: true",
        "      reviewer_groups: [security]",
        f"      quorum: {quorum}",
    ]
    return reviewed_quickstart(tmp_path / "quickstart", "\n".join(lines) + "\n")


def _key(repo: Path, reviewer: str) -> Path:
    return repo.parent / "keys" / reviewer


def _plan(repo: Path) -> Plan:
    return plan_repository(repo, TODAY, store=STORE, author="dave")


def _wiki_gate(plan: Plan) -> str:
    """grace.hopper's wiki-admins grant: sensitive, so gated."""
    (gate,) = [
        o.id
        for o in plan.orders
        if o.gate and o.change.source == "wiki" and o.change.entitlement == "wiki-admins"
    ]
    return gate


def _signed(repo: Path, plan: Plan, order: str, reviewer: str, at: str) -> dict[str, str]:
    """One approvals-file entry, validly signed by ``reviewer``'s own key."""
    cd = content_digest(plan.order(order))
    return {
        "order": order,
        "content_digest": cd,
        "reviewer": reviewer,
        "signed_at": at,
        "signature": sign(_key(repo, reviewer), [message(plan.digest, order, cd, reviewer, at)])[0],
    }


def _signed_policy_change(repo: Path, plan: Plan, reviewer: str, at: str) -> dict[str, str]:
    """An approvals-file entry approving the plan's policy change (``policy-change``),
    validly signed by ``reviewer``'s own key."""
    assert plan.policy_change is not None
    cd = plan.policy_change.content_digest
    return {
        "order": POLICY_CHANGE,
        "content_digest": cd,
        "reviewer": reviewer,
        "signed_at": at,
        "signature": sign(
            _key(repo, reviewer), [message(plan.digest, POLICY_CHANGE, cd, reviewer, at)]
        )[0],
    }


def _write_file(repo: Path, plan: Plan, entries: list[dict[str, str]]) -> None:
    """The approvals file as given, entry for entry (``accesshive approve`` would merge
    entries of one reviewer; a hand-edited file need not)."""
    path = approvals_path(repo, plan.digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"plan_digest": plan.digest, "approvals": entries}))


def _gate_after_apply(repo: Path, plan: Plan, gate: str) -> tuple[str, str]:
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    return result.states[gate], result.messages.get(gate, "")


# ------------------------------------------------------------------------------ quorum


@pytest.fixture
def quorum2(tmp_path: Path) -> Path:
    return _reviewed(tmp_path, quorum=2)


def test_quorum_of_two_is_not_met_by_one_approval(quorum2: Path) -> None:
    plan = _plan(quorum2)
    gate = _wiki_gate(plan)
    assert plan.order(gate).gate.quorum == 2  # type: ignore[union-attr]
    _write_file(quorum2, plan, [_signed(quorum2, plan, gate, "alice", "2026-11-29T10:00:00+00:00")])
    verdict = check(load_config(quorum2), plan, None)[gate]
    assert (verdict.approved, verdict.approvers, verdict.missing) == (False, ["alice"], 1)
    state, why = _gate_after_apply(quorum2, plan, gate)
    assert state == "awaiting_approval"
    assert "needs 1 more approval(s) from security (approved by alice)" in why


def test_quorum_of_two_is_not_met_by_the_same_reviewer_twice(quorum2: Path) -> None:
    plan = _plan(quorum2)
    gate = _wiki_gate(plan)
    twice = [
        _signed(quorum2, plan, gate, "alice", "2026-11-29T10:00:00+00:00"),
        _signed(quorum2, plan, gate, "alice", "2026-11-29T11:00:00+00:00"),
    ]
    _write_file(quorum2, plan, twice)
    # and once more through the pull request: still one reviewer
    with open_store(quorum2) as store:
        assert store.record_approval(
            plan.digest,
            gate,
            content_digest(plan.order(gate)),
            "alice",
            "https://github.com/acme/access/pull/7#pullrequestreview-1",
            "2026-11-29T12:00:00+00:00",
        )
        verdict = check(load_config(quorum2), plan, store)[gate]
    assert (verdict.approved, verdict.approvers, verdict.missing) == (False, ["alice"], 1)
    assert verdict.rejected == []  # every one of them is valid: alice just counts once
    state, why = _gate_after_apply(quorum2, plan, gate)
    assert state == "awaiting_approval"
    assert "needs 1 more approval(s) from security (approved by alice)" in why


def test_quorum_of_two_is_not_met_with_a_reviewer_outside_the_groups(quorum2: Path) -> None:
    plan = _plan(quorum2)
    gate = _wiki_gate(plan)
    at = "2026-11-29T10:00:00+00:00"
    _write_file(
        quorum2,
        plan,
        [_signed(quorum2, plan, gate, "alice", at), _signed(quorum2, plan, gate, "carol", at)],
    )
    state, why = _gate_after_apply(quorum2, plan, gate)
    assert state == "awaiting_approval"
    assert "carol (not in security)" in why


def _wiki_admins(repo: Path) -> set[str]:
    """Who holds wiki-admins on the wiki's own database."""
    return _holders(repo, "wiki-admins")


def _holders(repo: Path, group: str) -> set[str]:
    """Who holds ``group`` on the wiki's own database."""
    import sqlite3

    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        rows = db.execute(
            "SELECT u.login FROM users u JOIN user_groups g ON g.user_id = u.id "
            "WHERE g.group_name = ?",
            (group,),
        ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture
def two_rules(tmp_path: Path) -> Path:
    """Sensitive grants need security; every grant on the wiki also needs its owners
    (carol, in finance here): grace's wiki-admins grant is gated by both rules."""
    repo = _reviewed(tmp_path, quorum=1)
    review = repo / "policies" / "review.yaml"
    review.write_text(
        review.read_text()
        + "    - name: wiki-grants\n"
        + "      order_kinds: [grant]\n"
        + "      sources: [wiki]\n"
        + "      reviewer_groups: [finance]\n"
    )
    return repo


def test_an_order_two_rules_gate_needs_each_rules_approval(two_rules: Path) -> None:
    """One approval from either rule's group must not let it through: a sensitive grant
    stays behind security's review whatever other rule also gates it."""
    plan = _plan(two_rules)
    gate = _wiki_gate(plan)
    assert plan.order(gate).gate.rules == ("sensitive-grants", "wiki-grants")  # type: ignore[union-attr]
    at = "2026-11-29T10:00:00+00:00"
    for alone in ("alice", "carol"):
        _write_file(two_rules, plan, [_signed(two_rules, plan, gate, alone, at)])
        verdict = check(load_config(two_rules), plan, None)[gate]
        assert (verdict.approved, verdict.approvers, verdict.missing) == (False, [alone], 1)
        state, why = _gate_after_apply(two_rules, plan, gate)
        assert state == "awaiting_approval", (alone, why)
        lacking = "security" if alone == "carol" else "finance"
        assert f"needs 1 more approval(s) from {lacking} (approved by {alone})" in why
    assert _wiki_admins(two_rules) == set()
    _write_file(
        two_rules,
        plan,
        [_signed(two_rules, plan, gate, "alice", at), _signed(two_rules, plan, gate, "carol", at)],
    )
    assert _gate_after_apply(two_rules, plan, gate)[0] == "verified"
    assert _wiki_admins(two_rules) == {"grace.hopper"}


def test_approve_all_gated_signs_only_where_the_reviewers_approval_counts(
    two_rules: Path, tmp_path: Path
) -> None:
    """alice (security) approving everything signs the orders security gates, not the
    wiki grants only finance may approve, and says which she left and whom they need."""
    plan = _plan(two_rules)
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    key = _key(two_rules, "alice")
    args = ["approve", str(plan_file), "--all-gated", "--key", str(key), "-C", str(two_rules)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    needs = {o.id: {n.groups for n in o.gate.needs()} for o in plan.orders if o.gate}
    hers = sorted(oid for oid, groups in needs.items() if ("security",) in groups)
    others = sorted(oid for oid, groups in needs.items() if ("security",) not in groups)
    assert hers and others
    signed = read_approvals(approvals_path(two_rules, plan.digest))
    assert sorted(a.order for a in signed) == hers
    assert (
        f"not signed: {len(others)} gated order(s) that need approval from groups alice "
        "is not in (1 of finance)"
    ) in result.output


def test_quorum_of_two_is_met_by_two_distinct_reviewers_of_the_group(quorum2: Path) -> None:
    plan = _plan(quorum2)
    gate = _wiki_gate(plan)
    at = "2026-11-29T10:00:00+00:00"
    _write_file(
        quorum2,
        plan,
        [_signed(quorum2, plan, gate, "alice", at), _signed(quorum2, plan, gate, "bob", at)],
    )
    verdict = check(load_config(quorum2), plan, None)[gate]
    assert (verdict.approved, sorted(verdict.approvers)) == (True, ["alice", "bob"])
    state, _ = _gate_after_apply(quorum2, plan, gate)
    assert state == "verified"


# ------------------------------------------------------------- approval of another plan


def test_a_valid_approval_of_plan_a_does_not_count_for_plan_b(tmp_path: Path) -> None:
    repo = _reviewed(tmp_path, quorum=1)
    plan_a = _plan(repo)
    gate = _wiki_gate(plan_a)
    path_a, (approval,) = sign_approvals(
        load_config(repo), plan_a, _key(repo, "alice"), "alice", [gate], False
    )
    assert check(load_config(repo), plan_a, None)[gate].approved  # valid for plan A

    # plan B: a joiner is added; grace's gated grant is the very same order
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text() + "  katherine.johnson:\n"
        "    type: human\n"
        "    attributes:\n"
        "      given_name: Katherine\n"
        "      family_name: Johnson\n"
        "      email: katherine.johnson@quickstart.example\n"
        "      department: Engineering\n"
        "      employee_number: 1006\n"
    )
    plan_b = _plan(repo)
    assert plan_b.digest != plan_a.digest
    assert plan_b.order(gate).body() == plan_a.order(gate).body()
    assert content_digest(plan_b.order(gate)) == approval.content_digest

    # A's approvals file presented with B, as it is: alice's signature is genuine
    shutil.copy(path_a, approvals_path(repo, plan_b.digest))
    verdict = check(load_config(repo), plan_b, None)[gate]
    assert not verdict.approved
    assert verdict.approvers == []
    assert verdict.rejected == [("alice", f"it approves another plan ({plan_a.digest[:12]})")]
    state, why = _gate_after_apply(repo, plan_b, gate)
    assert state == "awaiting_approval"
    assert f"alice (it approves another plan ({plan_a.digest[:12]}))" in why
    assert "signature" not in why


# ------------------------------------------------------------------- in-memory wiki


def _memory_wiki(repo: Path, store: str, **connection: object) -> None:
    """Point the quickstart's wiki at the tests' in-memory target ``store``."""
    wiki = repo / "sources" / "wiki.yaml"
    text = (EXAMPLES / "quickstart" / "sources" / "wiki.yaml").read_text()
    settings = f"      connector: memory\n      store: {store}\n"
    settings += "".join(f"      {k}: {json.dumps(v)}\n" for k, v in connection.items())
    text = text.replace("    connection:\n", "    connection:\n" + settings)
    text = text.replace(
        "    owner: it-ops\n",
        "    owner: it-ops\n    retry: {attempts: 3, initial_delay: 0.01, max_delay: 0.02}\n",
    )
    wiki.write_text(text)


def _forget_wiki_faults() -> None:
    """The fault counters are per source id, shared by every test of the session."""
    for counts in (MemoryConnector.failures, MemoryConnector.fired):
        for key in [k for k in counts if k[0] == "wiki"]:
            del counts[key]


@pytest.fixture
def memory_store() -> Iterator[str]:
    name = f"security-{uuid.uuid4().hex}"
    _forget_wiki_faults()
    yield name
    MemoryConnector.stores.pop(name, None)
    MemoryConnector.broken.discard(name)
    _forget_wiki_faults()


def _wiki_grants(plan: Plan) -> list[str]:
    return [
        o.id
        for o in plan.orders
        if o.action == "grant" and o.change.source == "wiki" and not o.gate
    ]


def test_a_grant_the_target_accepts_and_drops_ends_errored(
    tmp_path: Path, memory_store: str
) -> None:
    repo = copy_quickstart(tmp_path / "quickstart")
    _memory_wiki(repo, memory_store, fail={"grant": {"drop": True}})
    _sync(repo)
    plan = plan_repository(repo, TODAY, store=STORE)
    grants = _wiki_grants(plan)
    assert len(grants) == 3  # ada: readers, editors; grace: readers
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    for oid in grants:
        order = plan.order(oid)
        assert result.states[oid] == "errored", (oid, result.states[oid])
        assert result.messages[oid] == f"verify: {order.change.entitlement} is not granted"
    # the fault fired on every grant sent, and the target indeed holds no grant
    assert MemoryConnector.fired[("wiki", "grant")] == len(grants), MemoryConnector.fired
    accounts = MemoryConnector.stores[memory_store].values()
    assert len(accounts) == 2
    assert all(account["grants"] == set() for account in accounts)
    # the creates themselves went through and were verified
    creates = [
        o.id for o in plan.orders if o.action == "create_account" and o.change.source == "wiki"
    ]
    assert {result.states[c] for c in creates} == {"verified"}


def _seed_ada(store: str) -> None:
    """ada's wiki account as accesshive would have made it, and three strangers."""
    MemoryConnector.stores[store] = {
        "w-ada": {
            "identity": "ada.lovelace",
            "enabled": True,
            "password": None,
            "attributes": {
                "login": "ada.lovelace",
                "email": "ada.lovelace@quickstart.example",
                "full_name": "Ada Lovelace",
                "employee_number": 1001,
            },
            "grants": {"readers", "editors"},
        },
        **{
            f"w-x{n}": {
                "identity": None,
                "enabled": True,
                "password": None,
                "attributes": {"login": f"stranger{n}", "email": f"s{n}@elsewhere.example"},
                "grants": set(),
            }
            for n in range(3)
        },
    }


def test_a_plan_stale_on_an_edited_attribute_is_refused(tmp_path: Path, memory_store: str) -> None:
    """The second stale-plan refusal: another connector (in-memory, not SQL) and another
    kind of change (an attribute edited behind accesshive, not a grant added)."""
    repo = copy_quickstart(tmp_path / "quickstart")
    _memory_wiki(repo, memory_store)
    _seed_ada(memory_store)
    _sync(repo)
    plan = plan_repository(repo, TODAY, store=STORE)
    wiki = {(o.action, o.change.identity) for o in plan.orders if o.change.source == "wiki"}
    assert ("create_account", "grace.hopper") in wiki
    assert not any(identity == "ada.lovelace" for _, identity in wiki)  # ada converged
    held = MemoryConnector.stores[memory_store]
    held["w-ada"]["attributes"]["full_name"] = "Countess of Lovelace"
    with pytest.raises(StalePlanError) as info:
        apply_plan(repo, plan, STORE, TODAY, "ci")
    text = str(info.value)
    assert "wiki changed since it was made" in text
    assert "new work on wiki not in the plan: update_account for ada.lovelace" in text
    # refused before anything was sent: grace was not created
    assert sorted(held) == ["w-ada", "w-x0", "w-x1", "w-x2"]
    with open_store(repo) as store:
        assert all(store.order_history(plan.digest, o.id) == [] for o in plan.orders)


def test_a_plan_whose_order_would_now_do_more_is_refused(tmp_path: Path, memory_store: str) -> None:
    """The third stale-plan refusal: the order is still planned under the same id, but it
    would now do something else (the update would also change the email someone edited
    on the target since): applying the reviewed plan would leave that edit in place, so
    apply refuses and shows what the order did and would now do."""
    repo = copy_quickstart(tmp_path / "quickstart")
    _memory_wiki(repo, memory_store)
    _seed_ada(memory_store)
    held = MemoryConnector.stores[memory_store]
    held["w-ada"]["attributes"]["full_name"] = "A. Lovelace"
    _sync(repo)
    plan = plan_repository(repo, TODAY, store=STORE)
    (update,) = [o for o in plan.orders if o.action == "update_account"]
    held["w-ada"]["attributes"]["email"] = "ada@elsewhere.example"
    with pytest.raises(StalePlanError) as info:
        apply_plan(repo, plan, STORE, TODAY, "ci")
    was = {
        "kind": "update_account",
        "action": "update_account",
        "source": "wiki",
        "identity": "ada.lovelace",
        "entitlement": None,
        "attributes": {"full_name": "Ada Lovelace"},
    }
    now = dict(was, attributes={"email": "ada.lovelace@quickstart.example", **was["attributes"]})
    assert (
        f"order {update.id} (update_account on wiki) would now be different: {was} → {now}"
    ) in str(info.value)
    # nothing was sent: the target still holds both edits
    assert held["w-ada"]["attributes"]["full_name"] == "A. Lovelace"
    assert held["w-ada"]["attributes"]["email"] == "ada@elsewhere.example"


# ------------------------------------------------------------------------ partial reads


def test_apply_refuses_when_the_live_read_breaks_part_way(
    tmp_path: Path, memory_store: str
) -> None:
    """The second partial-read refusal, at apply: the target drops the connection after
    the first page of the read that checks the plan; apply must not take the accounts
    read so far for the target's state, and sends nothing to it (its orders are errored,
    unsent: the plan cannot be proven current for that source)."""
    repo = copy_quickstart(tmp_path / "quickstart")
    _memory_wiki(repo, memory_store)
    _seed_ada(memory_store)
    _sync(repo)
    plan = plan_repository(repo, TODAY, store=STORE)
    wiki = [o for o in plan.orders if o.change.source == "wiki"]
    assert any(not o.gate for o in wiki)
    MemoryConnector.broken.add(memory_store)  # every page after the first fails
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert result.status == "failed"
    assert sorted(MemoryConnector.stores[memory_store]) == ["w-ada", "w-x0", "w-x1", "w-x2"]
    with open_store(repo) as store:
        for order in wiki:
            history = [e.state for e in store.order_history(plan.digest, order.id)]
            assert "transmitted" not in history, (order.id, history)
    failed = [result.messages[o.id] for o in wiki if result.states[o.id] == "errored"]
    assert failed
    for why in failed:
        assert why.startswith("could not read wiki to check the plan is current: ")
        assert "connection reset by peer" in why


@pytest.mark.parametrize(
    ("behind_our_back", "refusal"),
    [
        # fewer rows come back than the target counted at the start of the read
        ("DELETE FROM users WHERE login = 'user2'", "announced 3 accounts but 2 were read"),
        # the next page fails outright
        ("DROP TABLE users", "no such table: users"),
    ],
    ids=["rows-deleted", "table-dropped"],
)
def test_sync_keeps_the_previous_snapshot_when_a_paged_sql_read_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behind_our_back: str, refusal: str
) -> None:
    """The second partial-read refusal, at sync: another connector (SQL on SQLite, not the
    in-memory one), broken after its first page by a change made behind its back."""
    import sqlite3

    repo = copy_quickstart(tmp_path / "quickstart")
    _sync(repo)  # creates the wiki's tables
    db = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    for n in range(3):
        db.execute(
            "INSERT INTO users (login, email, active) VALUES (?, ?, 1)",
            (f"user{n}", f"user{n}@elsewhere.example"),
        )
    db.commit()
    config = load_config(repo)
    with open_store(repo) as store:
        (first,) = sync(config, store, ["wiki"])
        assert (first.ok, first.accounts) == (True, 3)
        kept = store.latest_snapshot().source("wiki")
        (info,) = [i for i in store.snapshot_info() if i.source == "wiki"]
        assert info.fingerprint == kept.fingerprint()

    monkeypatch.setattr(
        SqlConnector, "capabilities", replace(SqlConnector.capabilities, page_size=1)
    )
    pages: list[int] = []

    def break_after_the_first_page(source: str, done: int, total: int | None) -> None:
        if source == "wiki" and not pages:
            db.execute(behind_our_back)
            db.commit()
        pages.append(done)

    with open_store(repo) as store:
        (second,) = sync(config, store, ["wiki"], progress=break_after_the_first_page)
        assert pages[0] == 1  # the read was paged, and broke after its first page
        assert not second.ok
        assert refusal in (second.error or "")
        assert second.kept == info.read_at
        latest = store.latest_snapshot().source("wiki")
        assert [a.external_id for a in latest.accounts] == [a.external_id for a in kept.accounts]
        assert latest.fingerprint() == kept.fingerprint()
    db.close()
