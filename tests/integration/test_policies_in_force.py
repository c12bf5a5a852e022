"""A change to the review policy or the classification never loosens the review of the
very change that makes it: until it is applied, the policies in force (the last
complete apply's, kept in the store) judge it too. Real SQLite store, the quickstart's
real SQLite wiki, approvals signed with real ssh-keygen keys."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.approvals.model import content_digest
from accesshive.cli import main
from accesshive.errors import ForgedPlanError, GuardrailError, StoreError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.planfile import read_plan, write_plan
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.integration.test_security_invariants import (
    STORE,
    TODAY,
    _holders,
    _plan,
    _reviewed,
    _signed,
    _signed_policy_change,
    _sync,
    _wiki_admins,
    _wiki_gate,
    _write_file,
)
from tests.support.ssh import keygen

IN_FORCE = "under the review policy in force"


@pytest.fixture
def applied(tmp_path: Path) -> Path:
    """The quickstart with alice and bob (security) and carol (finance); one apply
    has run (grace's wiki-admins grant waits for security), so these policies are in
    force in the store."""
    repo = _reviewed(tmp_path, quorum=1)
    plan = _plan(repo)
    gate = _wiki_gate(plan)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    with open_store(repo) as store:
        assert store.policies_in_force() is not None
    return repo


def _review(repo: Path) -> Path:
    return repo / "policies" / "review.yaml"


def _add_reviewer(repo: Path, name: str, groups: str) -> None:
    public = keygen(repo.parent / "keys" / name)
    text = (
        _review(repo)
        .read_text()
        .replace(
            "  rules:\n",
            f'    {name}:\n      groups: [{groups}]\n      public_key: "{public}"\n  rules:\n',
        )
    )
    _review(repo).write_text(text)


def _add_ops_admin_mallory(repo: Path) -> None:
    """The pull request's identity: mallory.m, an ops admin (wiki-admins, sensitive)."""
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "identities:\n",
            "identities:\n  mallory.m:\n    type: human\n    roles: [ops-admin]\n"
            "    attributes:\n      given_name: Mallory\n      family_name: M\n"
            "      email: mallory.m@quickstart.example\n      department: Operations\n"
            "      employee_number: 1099\n",
            1,
        )
    )


def test_a_reviewer_added_by_the_change_cannot_approve_it(applied: Path, tmp_path: Path) -> None:
    _add_reviewer(applied, "sec-bot", "security, facilities")
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    assert "reviewers added: sec-bot" in plan.warnings[0]
    assert "What this change adds or loosens takes effect once it is applied" in plan.warnings[0]
    _write_file(
        applied, plan, [_signed(applied, plan, gate, "sec-bot", "2026-11-29T10:00:00+00:00")]
    )
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    why = result.messages[gate]
    assert "sec-bot (" + IN_FORCE in why and "not a reviewer there" in why, why
    assert _wiki_admins(applied) == set()
    # the PR comment says it first, and approvals verify refuses the approval
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    shown = CliRunner().invoke(
        main, ["show", str(plan_file), "--format", "markdown", "-C", str(applied)]
    )
    assert shown.exit_code == 0, shown.output
    first = shown.output.index("reviewers added: sec-bot")
    assert first < shown.output.index(gate)
    verify = CliRunner().invoke(main, ["approvals", "verify", str(plan_file), "-C", str(applied)])
    assert verify.exit_code != 0 and IN_FORCE in verify.output, verify.output
    # ... with the change to the policies said first, as the comment does
    assert verify.output.startswith("warning: " + plan.warnings[0]), verify.output
    # and whoever signs with a key only this change lists is told the same
    key = applied.parent / "keys" / "sec-bot"
    signed = CliRunner().invoke(
        main, ["approve", str(plan_file), "--order", gate, "--key", str(key), "-C", str(applied)]
    )
    assert signed.exit_code == 6, signed.output  # nothing it signed counts: said first
    assert signed.output.startswith("none of the 1 approval(s) signed as sec-bot will count")
    assert "not a reviewer there" in signed.output.splitlines()[1]
    assert f"note: {plan.warnings[0]}" in signed.output


def test_a_rule_added_by_the_change_gates_at_once(applied: Path) -> None:
    """Tightening takes effect at once: a rule the change adds gates its orders in the
    very plan that adds it, beside what the policies in force gate."""
    _review(applied).write_text(
        _review(applied).read_text()
        + "    - name: wiki-editors\n      sources: [wiki]\n      access_profiles: [wiki-edit]\n"
        "      reviewer_groups: [finance]\n      quorum: 1\n"
    )
    people = applied / "identities" / "people.yaml"
    people.write_text(
        people.read_text()
        + "  new.engineer:\n    type: human\n    attributes:\n      given_name: New\n"
        "      family_name: Engineer\n      email: new.engineer@quickstart.example\n"
        "      department: Engineering\n      employee_number: 1006\n"
    )
    plan = _plan(applied)
    assert "rules added: wiki-editors" in plan.warnings[0]
    editors = [o for o in plan.orders if o.change.details.get("access_profile") == "wiki-edit"]
    assert editors and all(o.gate is not None for o in editors)
    assert {o.gate.rules for o in editors if o.gate} == {("wiki-editors",)}
    assert plan.order(_wiki_gate(plan)).gate.rules == ("sensitive-grants",)  # type: ignore[union-attr]
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert {result.states[o.id] for o in editors} == {"awaiting_approval"}


def test_a_rule_removed_by_the_change_still_gates_it(applied: Path) -> None:
    text = _review(applied).read_text()
    _review(applied).write_text(text[: text.index("  rules:")])
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    assert plan.order(gate).gate.rules == ("sensitive-grants",)  # type: ignore[union-attr]
    assert "rules removed: sensitive-grants" in plan.warnings[0]
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    assert _wiki_admins(applied) == set()


def test_a_source_renamed_by_the_change_keeps_the_review_of_its_grants(applied: Path) -> None:
    """The wiki renamed (and its flag dropped on the way): the policies in force flag
    wiki/wiki-admins sensitive, and no source is called wiki any more. The grant on the
    renamed source stays sensitive and gated, and the warning says why."""
    for path in (applied / "sources" / "wiki.yaml", applied / "access.yaml"):
        text = path.read_text()
        text = text.replace("  wiki:\n", "  wikiz:\n").replace("source: wiki", "source: wikiz")
        path.write_text(text.replace(", sensitive: true}", "}"))
    plan = _plan(applied)
    (gate,) = [
        o.id
        for o in plan.orders
        if o.change.source == "wikiz" and o.change.entitlement == "wiki-admins"
    ]
    order = plan.order(gate)
    assert order.change.sensitive and order.gate is not None
    assert order.gate.rules == ("sensitive-grants",)
    assert "sources the policies in force name that are gone" in plan.warnings[0]
    assert "wiki" in plan.warnings[0]


def test_a_second_source_on_the_same_target_added_by_the_change_is_reviewed(
    tmp_path: Path,
) -> None:
    """The wiki flags `editors` sensitive, and that is in force. The change adds
    `wiki-mirror`: the wiki's database under another name, without the flag, and grants
    editors through it. The policies in force do not know the source, so its grants are
    sensitive, and gated, until the change is applied."""
    repo = _reviewed(tmp_path, quorum=1)
    wiki = repo / "sources" / "wiki.yaml"
    flagged = "editors: {description: Edit team spaces, sensitive: true}"
    wiki.write_text(wiki.read_text().replace("editors: {description: Edit team spaces}", flagged))
    apply_plan(repo, _plan(repo), STORE, TODAY, "ci")  # the flag is in force
    mirror = wiki.read_text().replace("  wiki:\n", "  wiki-mirror:\n", 1)
    (repo / "sources" / "wiki-mirror.yaml").write_text(mirror.replace(", sensitive: true}", "}"))
    access = repo / "access.yaml"
    access.write_text(
        access.read_text()
        .replace(
            "  badge-office:\n",
            "  mirror-edit:\n    source: wiki-mirror\n    entitlements: [editors]\n"
            "  badge-office:\n",
        )
        .replace("access_profiles: [wiki-edit]", "access_profiles: [wiki-edit, mirror-edit]")
    )
    synced = CliRunner().invoke(main, ["sync", str(repo)])
    assert synced.exit_code == 0, synced.output
    plan = _plan(repo)
    mirrored = [
        o
        for o in plan.orders
        if o.change.source == "wiki-mirror" and o.change.entitlement == "editors"
    ]
    assert mirrored and all(o.change.sensitive and o.gate for o in mirrored)
    assert (
        "sources added (their grants are reviewed as sensitive until this change is "
        in (plan.warnings[0])
    )
    assert "applied): wiki-mirror" in plan.warnings[0]
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert {result.states[o.id] for o in mirrored} == {"awaiting_approval"}


def _approve_everything_and_apply(repo: Path) -> None:
    """Alice approves every gated order, and the whole plan is applied: its policies
    are in force."""
    plan = _plan(repo)
    at = "2026-11-29T10:00:00+00:00"
    _write_file(repo, plan, [_signed(repo, plan, o.id, "alice", at) for o in plan.orders if o.gate])
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert "awaiting_approval" not in result.states.values(), result.states
    with open_store(repo) as store:
        in_force = store.policies_in_force()
    assert in_force is not None and json.loads(in_force)["sources"] == sorted(
        p.stem for p in (repo / "sources").glob("*.yaml")
    )


LEDGER = "      finance-ledger: {description: The books, sensitive: true}\n"


def _mirror_of_the_wiki(repo: Path, name: str, url: str | None = None) -> None:
    """The wiki declares finance-ledger, flagged sensitive (nobody holds it yet); a source
    ``name`` on the wiki's own tables (or on ``url``) declares it too, without the flag,
    and nothing else (the wiki's other grants are none of its business)."""
    wiki = repo / "sources" / "wiki.yaml"
    text = wiki.read_text()
    wiki.write_text(text + LEDGER)
    head = text[: text.index("    entitlements:\n")].replace("  wiki:\n", f"  {name}:\n", 1)
    if url is not None:
        head = head.replace("url: sqlite:///.accesshive/wiki-app.db", f"url: {url}")
    unflagged = LEDGER.replace(", sensitive: true}", "}")
    (repo / "sources" / f"{name}.yaml").write_text(head + "    entitlements:\n" + unflagged)


def _ledger_grants_wait(repo: Path, plan: Plan, source: str) -> None:
    """The plan's finance-ledger grants on ``source`` are sensitive and gated; applied,
    they wait for review, and nobody holds finance-ledger in the wiki's database."""
    grants = [o for o in plan.orders if o.change.source == source and o.change.action == "grant"]
    assert grants and all(o.change.sensitive and o.gate for o in grants)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert {result.states[o.id] for o in grants} == {"awaiting_approval"}
    assert _holders(repo, "finance-ledger") == set()


def _grant_through(repo: Path, source: str, entitlement: str) -> None:
    """Every wiki user also gets ``entitlement`` on ``source`` (through wiki-edit's
    holders: a profile the change adds)."""
    access = repo / "access.yaml"
    access.write_text(
        access.read_text()
        .replace(
            "  badge-office:\n",
            f"  via-{source}:\n    source: {source}\n    entitlements: [{entitlement}]\n"
            "  badge-office:\n",
        )
        .replace("access_profiles: [wiki-edit]", f"access_profiles: [wiki-edit, via-{source}]")
    )


def test_an_alias_put_in_force_by_one_change_is_reviewed_in_the_next(tmp_path: Path) -> None:
    """The first change adds `wiki-mirror`, the wiki's tables under another name, whose
    finance-ledger has no flag, and grants nothing on it: it is applied, and the alias
    is in force. The next change grants finance-ledger through the alias: the wiki's
    flag holds for every name of the wiki's tables, in the repository's own policies,
    so the grant is gated."""
    repo = _reviewed(tmp_path, quorum=1)
    _mirror_of_the_wiki(repo, "wiki-mirror")
    _sync(repo)
    _approve_everything_and_apply(repo)
    _grant_through(repo, "wiki-mirror", "finance-ledger")
    _sync(repo)
    plan = _plan(repo)
    assert not any("changed since the last apply" in w for w in plan.warnings)
    _ledger_grants_wait(repo, plan, "wiki-mirror")


def test_two_sources_that_swap_names_keep_each_system_s_review(tmp_path: Path) -> None:
    """`wiki` (flags finance-ledger) and `scratch` (another database, no flag) are in
    force. The change swaps their databases: finance-ledger granted on `scratch`, now
    the wiki's tables, is judged by the flag the wiki's tables have in force."""
    repo = _reviewed(tmp_path, quorum=1)
    _mirror_of_the_wiki(repo, "scratch", url="sqlite:///.accesshive/scratch.db")
    _sync(repo)
    _approve_everything_and_apply(repo)
    wiki, scratch = repo / "sources" / "wiki.yaml", repo / "sources" / "scratch.yaml"
    wiki_db, scratch_db = "wiki-app.db\n", "scratch.db\n"
    wiki.write_text(wiki.read_text().replace(wiki_db, scratch_db))
    scratch.write_text(scratch.read_text().replace(scratch_db, wiki_db))
    _grant_through(repo, "scratch", "finance-ledger")
    _sync(repo)
    plan = _plan(repo)
    assert "sources now on another system" in plan.warnings[0]
    _ledger_grants_wait(repo, plan, "scratch")


def test_a_source_moved_onto_another_system_is_reviewed_as_new(tmp_path: Path) -> None:
    """`scratch` is in force on its own database. The change points it at another one
    the policies in force never saw (it could be a flagged system under another
    spelling): its grants are sensitive, and gated, until the change is applied."""
    repo = _reviewed(tmp_path, quorum=1)
    _mirror_of_the_wiki(repo, "scratch", url="sqlite:///.accesshive/scratch.db")
    _sync(repo)
    _approve_everything_and_apply(repo)
    scratch = repo / "sources" / "scratch.yaml"
    scratch.write_text(scratch.read_text().replace("scratch.db\n", "elsewhere.db\n"))
    _grant_through(repo, "scratch", "finance-ledger")
    _sync(repo)
    plan = _plan(repo)
    assert "sources now on another system" in plan.warnings[0]
    grants = [o for o in plan.orders if o.change.source == "scratch" and o.action == "grant"]
    assert grants and all(o.change.sensitive and o.gate for o in grants)


@pytest.mark.parametrize("how", ["deleted", "edited"])
def test_policies_in_force_removed_from_the_store_stop_plan_and_apply(
    applied: Path, how: str
) -> None:
    """Someone who can write the store deletes the row (or loosens it): the audit log
    names the digest put in force, so nothing is planned or applied on top of it."""
    _add_reviewer(applied, "sec-bot", "security")
    with open_store(applied) as store:
        if how == "deleted":
            store._execute("DELETE FROM policies_in_force")
        else:
            store._execute("UPDATE policies_in_force SET content = replace(content, '1', '2')")
    with pytest.raises(StoreError) as refused:
        _plan(applied)
    assert "the review policies in force of 'default'" in str(refused.value)
    assert ("are missing" if how == "deleted" else "are not the ones it put in force") in str(
        refused.value
    )
    assert _wiki_admins(applied) == set()


def test_an_environment_the_change_makes_the_default_is_judged_by_the_policies_in_force(
    applied: Path,
) -> None:
    """The change adds an environment, makes it the default, and adds a reviewer with its
    author's key: the store has policies in force for 'default' only. The new environment
    borrows them until its own first complete apply, so the added reviewer's approval
    does not count there either, and the plan says so first."""
    project = applied / "accesshive.yaml"
    project.write_text(
        project.read_text()
        + "default_environment: evil\nenvironments:\n  default: {}\n  evil: {}\n"
    )
    _add_reviewer(applied, "sec-bot", "security")
    shared = StoreRef(None, str(applied / ".accesshive" / "default.db"))  # one store, as in CI
    plan = plan_repository(applied, TODAY, store=shared, author="dave")
    assert plan.warnings[0] == (
        "no review policies are in force in 'evil' yet (this store has some for default): "
        "until its first complete apply, its changes are judged by the policies in force "
        "in 'default' as well as the repository's"
    ), plan.warnings
    assert "reviewers added: sec-bot" in plan.warnings[1]
    gate = _wiki_gate(plan)
    _write_file(
        applied, plan, [_signed(applied, plan, gate, "sec-bot", "2026-11-29T10:00:00+00:00")]
    )
    result = apply_plan(applied, plan, shared, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    assert "not a reviewer there" in result.messages[gate], result.messages[gate]
    assert _wiki_admins(applied) == set()
    # the incomplete apply did not put the change's policies in force in 'evil'
    with open_store(applied, "evil", url=shared.url) as store:
        assert store.borrowed_policies_from() == "default"


@pytest.mark.parametrize(
    ("environments", "store_file"),
    [
        # a SQLite file per environment: the new default environment's store is new
        ("default_environment: evil\nenvironments:\n  default: {}\n  evil: {}\n", "evil.db"),
        # the environment's store pointed at a new file, out of .accesshive/
        (
            "environments:\n  default: {store: 'sqlite:///state/new.db'}\n",
            "../state/new.db",
        ),
    ],
    ids=["new-environment-file", "store-redirected"],
)
def test_a_new_store_the_change_points_at_borrows_the_repository_s_policies_in_force(
    applied: Path, environments: str, store_file: str
) -> None:
    """The change makes the store a new SQLite file (a new default environment, whose
    file is its own, or `store:` pointed elsewhere) and adds a reviewer with its author's
    key. The new store has nothing on record; the repository's store
    (.accesshive/default.db) has the policies in force: they judge the change too, and
    the plan says so first."""
    (applied / "state").mkdir()
    project = applied / "accesshive.yaml"
    project.write_text(project.read_text() + environments)
    _add_reviewer(applied, "sec-bot", "security")
    made = _run(
        "plan",
        str(applied),
        "--out",
        str(applied / "plan.json"),
        "--author",
        "dave",
        "--today",
        TODAY.isoformat(),
    )
    assert made.exit_code == 0, made.output
    plan = read_plan(applied / "plan.json")
    assert plan.warnings[0].startswith(
        "no review policies are on record in this store yet, and the repository's store of "
        "'default' in default.db has some: until an apply completes a plan here"
    ), plan.warnings
    assert "reviewers added: sec-bot" in plan.warnings[1]
    gate = _wiki_gate(plan)
    _write_file(
        applied, plan, [_signed(applied, plan, gate, "sec-bot", "2026-11-29T10:00:00+00:00")]
    )
    result = _run(
        "apply",
        str(applied / "plan.json"),
        "-C",
        str(applied),
        "--format",
        "json",
        "--today",
        TODAY.isoformat(),
    )
    out = json.loads(result.stdout)
    assert out["orders"][gate]["state"] == "awaiting_approval", out
    assert "not a reviewer there" in out["orders"][gate]["message"]
    assert _wiki_admins(applied) == set()


def test_a_classification_removed_by_the_change_still_gates_it(applied: Path) -> None:
    wiki = applied / "sources" / "wiki.yaml"
    wiki.write_text(wiki.read_text().replace(", sensitive: true}", "}"))
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    assert plan.order(gate).change.sensitive
    assert "entitlements no longer flagged sensitive: wiki/wiki-admins" in plan.warnings[0]
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    assert _wiki_admins(applied) == set()


def test_a_classification_rule_removed_by_the_change_still_gates_it(tmp_path: Path) -> None:
    repo = _reviewed(tmp_path, quorum=1)
    (repo / "policies" / "classification.yaml").write_text(
        "classification:\n  sensitive:\n    - {source: wiki, entitlements: [editors]}\n"
    )
    apply_plan(repo, _plan(repo), STORE, TODAY, "ci")  # these policies now in force
    (repo / "policies" / "classification.yaml").unlink()
    plan = _plan(repo)
    editors = [o for o in plan.orders if o.change.entitlement == "editors"]
    assert editors and all(o.gate and o.change.sensitive for o in editors)
    assert "sensitive classifications removed: wiki:editors" in plan.warnings[0]
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert {result.states[o.id] for o in editors} == {"awaiting_approval"}


def test_a_key_added_for_a_reviewer_by_the_change_does_not_count(applied: Path) -> None:
    keys = applied.parent / "keys"
    mallory = keygen(keys / "mallory")
    text = _review(applied).read_text()
    alice = text.split("    alice:\n")[1].split("public_key: ")[1].split("\n")[0]
    _review(applied).write_text(
        text.replace(
            f"      public_key: {alice}\n",
            f'      public_keys:\n        - {alice}\n        - "{mallory}"\n',
        )
    )
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    assert "keys added: alice" in plan.warnings[0]
    for suffix in ("", ".pub"):  # mallory signs as alice with her own key
        (keys / f"alice{suffix}").rename(keys / f"alice.real{suffix}")
        (keys / f"mallory{suffix}").rename(keys / f"alice{suffix}")
    _write_file(applied, plan, [_signed(applied, plan, gate, "alice", "2026-11-29T10:00:00+00:00")])
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    assert f"alice ({IN_FORCE}" in result.messages[gate]
    assert _wiki_admins(applied) == set()


@pytest.mark.parametrize("edit", ["revoked", "removed"])
def test_a_reviewer_revoked_or_removed_by_the_change_stops_counting_at_once(
    applied: Path, edit: str
) -> None:
    text = _review(applied).read_text()
    if edit == "revoked":
        text = text.replace(
            "      github: alice-gh\n", "      github: alice-gh\n      revoked: true\n"
        )
    else:
        start = text.index("    alice:\n")
        text = text[:start] + text[text.index("    bob:\n") :]
    _review(applied).write_text(text)
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    _write_file(applied, plan, [_signed(applied, plan, gate, "alice", "2026-11-29T10:00:00+00:00")])
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    assert _wiki_admins(applied) == set()


def test_once_the_change_is_applied_its_policies_are_in_force(applied: Path) -> None:
    _add_reviewer(applied, "sec-bot", "security")
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    # every gated order approved by alice, whom both policies accept: the whole plan is
    # applied (the wiki grant verified, the badge task handed to its owner, the badge
    # grant held until that task is done)
    at = "2026-11-29T10:00:00+00:00"
    gated = [o.id for o in plan.orders if o.gate]
    # and the policy change (sec-bot added) approved by alice, a reviewer in force
    entries = [_signed(applied, plan, oid, "alice", at) for oid in gated]
    _write_file(applied, plan, [*entries, _signed_policy_change(applied, plan, "alice", at)])
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "verified"
    assert "awaiting_approval" not in result.states.values()
    assert _wiki_admins(applied) == {"grace.hopper"}
    # the next change is judged by the new policy alone: sec-bot's approval counts
    _add_ops_admin_mallory(applied)
    plan = _plan(applied)
    assert not any("changed since the last apply" in w for w in plan.warnings)
    (gate,) = [o.id for o in plan.orders if o.gate and o.change.entitlement == "wiki-admins"]
    _write_file(
        applied, plan, [_signed(applied, plan, gate, "sec-bot", "2026-11-29T11:00:00+00:00")]
    )
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "verified", result.messages.get(gate)
    assert "mallory.m" in _wiki_admins(applied)
    with open_store(applied) as store:
        events = [e for e in store.audit_details(plan.digest, ("policies_in_force",))]
    assert events == [] or json.loads(events[0][1])["digest"]


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_the_attack_end_to_end_on_both_stores(tmp_path: Path, store_args: list[str]) -> None:
    """As the fresh-user trial ran it, with the CLI: a pull request adds a reviewer
    sec-bot with the author's key and an identity with ops-admin, its author approves
    every gated order as sec-bot, and apply refuses to count it (SQLite and PostgreSQL
    stores alike)."""
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    (tmp_path / "keys").mkdir()
    alice = keygen(tmp_path / "keys" / "alice")
    (repo / "policies").mkdir()
    _review(repo).write_text(
        "review:\n  reviewers:\n    alice:\n      groups: [security]\n"
        f'      public_key: "{alice}"\n  rules:\n'
        "    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true, "
        "reviewer_groups: [security]}\n"
    )
    today = ["--today", TODAY.isoformat()]
    assert _run("sync", str(repo), *store_args).exit_code == 0
    first = tmp_path / "first.json"
    assert _run("plan", str(repo), "--out", str(first), *today, *store_args).exit_code == 0
    applied = _run("apply", str(first), "-C", str(repo), *today, *store_args)
    assert "awaiting" in applied.output, applied.output  # alice's policy is now in force
    # the pull request
    _add_reviewer(repo, "sec-bot", "security, facilities")
    plan_file = tmp_path / "plan.json"
    made = _run(
        "plan", str(repo), "--out", str(plan_file), "--author", "mallory-gh", *today, *store_args
    )
    assert made.exit_code == 0, made.output
    # said first, before the orders it makes wait for more review
    assert made.output.index("reviewers added: sec-bot") < made.output.index("grace.hopper")
    key = str(tmp_path / "keys" / "sec-bot")
    signed = _run("approve", str(plan_file), "--all-gated", "--key", key, "-C", str(repo))
    assert "as sec-bot" in signed.output, signed.output
    result = _run("apply", str(plan_file), "-C", str(repo), "--format", "json", *today, *store_args)
    out = json.loads(result.stdout)
    grant = _wiki_gate(read_plan(plan_file))
    assert out["orders"][grant]["state"] == "awaiting_approval", out
    why = out["orders"][grant]["message"]
    assert f"sec-bot ({IN_FORCE}" in why and "not a reviewer there" in why, why
    assert _wiki_admins(repo) == set()


def test_a_plan_file_without_the_gate_in_force_is_refused_as_forged(applied: Path) -> None:
    """The gate the policies in force add comes from the store at apply, never from the
    plan file: a plan edited to drop it (as the repository's policies alone would make
    it) is refused, nothing applied."""
    text = _review(applied).read_text()
    _review(applied).write_text(text[: text.index("  rules:")])
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    edited = replace(
        plan,
        orders=tuple(replace(o, gate=None) if o.id == gate else o for o in plan.orders),
        warnings=plan.warnings[1:],
    )
    with pytest.raises(ForgedPlanError, match=gate):
        apply_plan(applied, edited, STORE, TODAY, "ci")
    assert _wiki_admins(applied) == set()


def test_a_plan_file_without_the_policy_warning_is_refused_as_forged(applied: Path) -> None:
    """The gates stay, but the warning that tells the reviewer the change edits the
    review policies is cut from the plan file (what the PR comment and `show` print
    first): the reviewer was not told, so the plan is refused, nothing applied."""
    _add_reviewer(applied, "sec-bot", "security")
    plan = _plan(applied)
    assert "reviewers added: sec-bot" in plan.warnings[0]
    edited = replace(plan, warnings=plan.warnings[1:])
    with pytest.raises(ForgedPlanError, match="lacks the warning planning gives first"):
        apply_plan(applied, edited, STORE, TODAY, "ci")
    assert _wiki_admins(applied) == set()
    # the plan as made is not refused
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[_wiki_gate(plan)] == "awaiting_approval"


def test_a_plan_file_whose_policy_warning_was_edited_is_refused_as_forged(applied: Path) -> None:
    """The warning is there, naming the policies in force, but edited to hide what the
    change adds: the policies in force are the ones the plan was made under, so this is
    no stale plan (planning again would not help the reviewer): forged."""
    _add_reviewer(applied, "sec-bot", "security")
    plan = _plan(applied)
    hidden = plan.warnings[0].replace("reviewers added: sec-bot", "the policies differ")
    edited = replace(plan, warnings=(hidden, *plan.warnings[1:]))
    with pytest.raises(ForgedPlanError, match="not the one planning gives for the same"):
        apply_plan(applied, edited, STORE, TODAY, "ci")
    assert _wiki_admins(applied) == set()


def test_a_change_that_loosens_the_guardrail_is_planned_under_the_one_in_force(
    tmp_path: Path,
) -> None:
    """The guardrail in force allows one removal per source. The change terminates two
    people and raises the limit to 1000 in the same pull request: the plan is refused by
    the guardrail in force (and says the guardrail changed when the change is within
    both)."""
    repo = _reviewed(tmp_path, quorum=1)
    rails = repo / "policies" / "guardrails.yaml"
    rails.write_text("guardrails:\n  max_removal_count: 1\n  min_accounts_for_share: 100\n")
    _approve_everything_and_apply(repo)
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    for who in ("ada.lovelace", "grace.hopper"):
        text = text.replace(
            f"  {who}:\n",
            f"  {who}:\n    lifecycle_state: terminated\n    lifecycle_since: 2026-09-01\n",
            1,
        )
    people.write_text(text)
    rails.write_text("guardrails:\n  max_removal_count: 1000\n  min_accounts_for_share: 100\n")
    with pytest.raises(GuardrailError, match="guardrail"):
        _plan(repo)
    # within both: one leaver; the warning says what changed
    people.write_text(text.replace("    lifecycle_state: terminated\n", "", 1))
    plan = _plan(repo)
    assert "guardrails changed: max_removal_count 1 → 1000" in plan.warnings[0]


def test_a_github_login_remapped_by_the_change_does_not_count(applied: Path) -> None:
    """The change maps alice to the author's GitHub login: the author's approving review,
    recorded as alice's from the pull request, is not alice's under the policy in force."""
    _review(applied).write_text(
        _review(applied).read_text().replace("github: alice-gh", "github: mallory-gh")
    )
    plan = _plan(applied)
    gate = _wiki_gate(plan)
    assert "GitHub logins changed: alice" in plan.warnings[0]
    with open_store(applied) as store:
        store.record_approval(
            plan.digest,
            gate,
            content_digest(plan.order(gate)),
            "alice",
            "https://github.com/acme/access/pull/7#pullrequestreview-1",
            "2026-11-29T12:00:00+00:00",
        )
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    assert "GitHub login there is another" in result.messages[gate]
    assert _wiki_admins(applied) == set()


def test_an_order_held_behind_a_task_keeps_the_policies_in_force_until_it_runs(
    applied: Path,
) -> None:
    """The change makes the server-room badge non-sensitive; its grant, approved, waits
    for the badge account's task. Until it runs, the policies in force stay (it is gated
    by them), and applying the same plan again is not refused as forged."""
    badges = applied / "sources" / "badges.yaml"
    badges.write_text(badges.read_text().replace(", sensitive: true}", "}"))
    plan = _plan(applied)
    at = "2026-11-29T10:00:00+00:00"
    gated = [o.id for o in plan.orders if o.gate]
    (room,) = [o.id for o in plan.orders if o.change.entitlement == "server-room"]
    assert room in gated
    _write_file(applied, plan, [_signed(applied, plan, oid, "alice", at) for oid in gated])
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.states[room] == "pending"
    assert "awaiting_approval" not in result.states.values()
    assert (
        "entitlements no longer flagged sensitive: badges/server-room" in _plan(applied).warnings[0]
    )
    again = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert again.states[room] == "pending"


def test_stores_that_disagree_lend_nothing_and_stop_the_plan(applied: Path) -> None:
    """A store file committed in the pull request (looser policies in force, made on a
    scratch repository) beside the genuine one: which judges the change cannot be told,
    so a new store borrows from neither and nothing is planned. A store named by the
    runner (ACCESSHIVE_STORE, --store) is what it is."""
    import sqlite3

    planted = applied / ".accesshive" / "zz.db"
    shutil.copy(applied / ".accesshive" / "default.db", planted)
    with sqlite3.connect(planted) as db:
        db.execute("UPDATE policies_in_force SET content = replace(content, 'security', 'x')")
        db.execute("DELETE FROM audit")
    project = applied / "accesshive.yaml"
    project.write_text(
        project.read_text() + "default_environment: prod2\nenvironments:\n  prod2: {}\n"
    )
    made = _run("plan", str(applied), "--today", TODAY.isoformat())
    assert made.exit_code != 0
    assert "the repository's other stores hold different ones" in made.output, made.output
    assert "zz.db" in made.output and "default.db" in made.output
    named = _run(
        "plan", str(applied), "--today", TODAY.isoformat(), "--store",
        str(applied / "state-prod2.db"),
    )  # fmt: skip
    assert named.exit_code == 0, named.output


def test_a_nearby_store_whose_policies_its_audit_log_did_not_put_in_force_stops_the_plan(
    applied: Path,
) -> None:
    """The store a new environment would borrow from was edited (its policies in force
    loosened behind its audit log's back): it is checked as the store checks its own,
    and nothing is planned; the error names the store."""
    import sqlite3

    with sqlite3.connect(applied / ".accesshive" / "default.db") as db:
        db.execute("UPDATE policies_in_force SET content = replace(content, 'security', 'x')")
    project = applied / "accesshive.yaml"
    project.write_text(
        project.read_text() + "default_environment: prod2\nenvironments:\n  prod2: {}\n"
    )
    made = _run("plan", str(applied), "--today", TODAY.isoformat())
    assert made.exit_code != 0
    assert f"the store {applied / '.accesshive' / 'default.db'}" in made.output, made.output
    assert "are not the ones it put in force" in made.output


def test_a_store_the_change_points_at_a_new_database_is_said_first(
    applied: Path, postgres_db: str, tmp_path: Path
) -> None:
    """As the attacker trial ran it: the change adds an environment whose `store:` is a new
    PostgreSQL database, makes it the default and drops the review rules. Nothing is on
    record there to judge it by, so the repository's policies are trusted as written:
    the plan (and the PR comment) says so first, for the reviewer of the pull request."""
    project = applied / "accesshive.yaml"
    project.write_text(
        project.read_text()
        + f'default_environment: prod\nenvironments:\n  prod:\n    store: "{postgres_db}"\n'
    )
    text = _review(applied).read_text()
    _review(applied).write_text(text[: text.index("  rules:")] + "  rules: []\n")
    assert CliRunner().invoke(main, ["sync", str(applied)]).exit_code == 0
    plan_file = tmp_path / "plan.json"
    made = CliRunner().invoke(
        main, ["plan", str(applied), "--out", str(plan_file), "--today", TODAY.isoformat()]
    )
    assert made.exit_code == 0, made.output
    first = read_plan(plan_file).warnings[0]
    assert first.startswith("no review policies are on record in the store accesshive.yaml")
    assert "the repository's are trusted as written" in first
    shown = (
        CliRunner()
        .invoke(main, ["show", str(plan_file), "--format", "markdown", "-C", str(applied)])
        .output
    )
    assert shown.index("no review policies are on record") < shown.index("####")
    # named by the runner instead, the store is what it is: nothing to say
    runner = CliRunner().invoke(
        main, ["plan", str(applied), "--store", postgres_db, "--today", TODAY.isoformat()]
    )
    assert "no review policies are on record in the store" not in runner.output
