"""Several accounts per identity per source: an ``admin`` account beside the default one.

What a user relies on: an identity gets an account of a kind only through a profile
granting to that kind; each account is matched, diffed, gated and removed on its own;
the default account's orders keep the ids they always had; a leaver loses both."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from accesshive.config import load_config
from accesshive.config.account_kinds import account_link, for_connector, split_link, telling_apart
from accesshive.expand.desired import expand
from accesshive.operations import plan_repository, validate_repository
from accesshive.plan.model import Plan

TODAY = dt.date(2026, 11, 29)

SOURCE = """version: 1
name: k
sources:
  app:
    kind: sql
    connection: {url: "sqlite:///app.db", create_tables: true}
    account:
      name_attribute: login
      schema:
        login: {required: true}
        email: {type: email}
      create: {login: "{{ id }}"}
      sync: {email: "{{ email }}"}
      correlation: [login]
KINDS
    entitlements:
      staff: {}
      root: {sensitive: true}
access_profiles:
  base: {source: app, entitlements: [staff]}
PROFILES
"""

KINDS = """      kinds:
        admin:
          description: the privileged account beside the everyday one
          create: {login: "{{ id }}-admin"}"""

ADMIN_PROFILE = "  app-admin: {source: app, account_kind: admin, entitlements: [root]}"


def _repo(root: Path, *, kinds: bool, admin: bool, state: str = "active") -> Path:
    project = SOURCE.replace("KINDS", KINDS if kinds else "").replace(
        "PROFILES", ADMIN_PROFILE if admin else ""
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "accesshive.yaml").write_text(project)
    profiles = "[base, app-admin]" if admin else "[base]"
    (root / "identities.yaml").write_text(
        "identities:\n"
        f"  jdoe: {{type: human, lifecycle_state: {state}, lifecycle_since: 2026-11-28,"
        f" access_profiles: {profiles}, attributes: {{email: jdoe@example.com}}}}\n"
        "  ann: {type: human, access_profiles: [base], attributes: {email: ann@example.com}}\n"
    )
    return root


def _plan(root: Path, accounts: list[dict[str, Any]]) -> Plan:
    (root / "snap.json").write_text(json.dumps({"sources": {"app": {"accounts": accounts}}}))
    return plan_repository(root, TODAY, root / "snap.json", allow_mass_changes=True)


def _account(ext: str, link: str | None, login: str, grants: list[str]) -> dict[str, Any]:
    return {
        "external_id": ext,
        "identity": link,
        "grants": grants,
        "attributes": {"login": login, "email": f"{login.split('-')[0]}@example.com"},
    }


def _lines(plan: Plan) -> list[tuple[str, str | None, str, str | None]]:
    return [
        (o.action, o.change.identity, o.change.account_kind, o.change.entitlement)
        for o in plan.orders
    ]


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")


def test_a_link_names_identity_and_kind_and_the_default_link_is_the_identity() -> None:
    assert account_link("jdoe") == "jdoe"
    assert account_link("jdoe", "admin") == "jdoe#admin"
    assert split_link("jdoe#admin") == ("jdoe", "admin")
    assert split_link("jdoe") == ("jdoe", "default")


def test_only_a_profile_granting_to_a_kind_gives_an_account_of_that_kind(tmp_path: Path) -> None:
    config = load_config(_repo(tmp_path, kinds=True, admin=True))
    desired, problems = expand(config, TODAY)
    assert not problems
    assert sorted(desired.accounts) == [("app", "ann"), ("app", "jdoe"), ("app", "jdoe#admin")]
    admin = desired.accounts[("app", "jdoe#admin")]
    assert (admin.kind, admin.attributes["login"], admin.grants) == (
        "admin",
        "jdoe-admin",
        frozenset({"root"}),
    )
    assert desired.accounts[("app", "jdoe")].grants == frozenset({"staff"})


def test_declaring_a_kind_nobody_is_granted_changes_no_order_id(tmp_path: Path) -> None:
    without = _plan(_repo(tmp_path / "a", kinds=False, admin=False), [])
    with_kinds = _plan(_repo(tmp_path / "b", kinds=True, admin=False), [])
    assert [o.to_json() for o in with_kinds.orders] == [o.to_json() for o in without.orders]


def test_the_admin_account_is_created_beside_the_default_one_and_its_sensitive_grant_gated(
    tmp_path: Path,
) -> None:
    plan = _plan(_repo(tmp_path, kinds=True, admin=True), [])
    by_kind = {(o.change.identity, o.change.account_kind, o.action): o for o in plan.orders}
    create = by_kind[("jdoe", "admin", "create_account")]
    assert create.change.name == "jdoe-admin"
    grant = by_kind[("jdoe", "admin", "grant")]
    assert grant.change.sensitive and grant.gate is not None
    assert grant.depends_on == (create.id,)
    default = by_kind[("jdoe", "default", "create_account")]
    assert default.change.name == "jdoe" and "account_kind" not in default.change.details
    assert len({o.id for o in plan.orders}) == len(plan.orders), "ids distinct per kind"
    assert not by_kind[("jdoe", "default", "grant")].gate


def test_each_account_is_matched_by_its_own_link(tmp_path: Path) -> None:
    root = _repo(tmp_path, kinds=True, admin=True)
    accounts = [
        _account("a-1", "jdoe", "jdoe", ["staff"]),
        _account("a-2", "jdoe#admin", "jdoe-admin", []),
        _account("a-3", "ann", "ann", ["staff"]),
    ]
    plan = _plan(root, accounts)
    assert _lines(plan) == [("grant", "jdoe", "admin", "root")]
    assert plan.orders[0].change.account == "a-2"
    assert not plan.orphans and not plan.warnings


def test_an_unlinked_admin_account_is_adopted_by_its_name_not_taken_as_a_duplicate(
    tmp_path: Path,
) -> None:
    root = _repo(tmp_path, kinds=True, admin=True)
    accounts = [
        _account("a-1", "jdoe", "jdoe", ["staff"]),
        _account("a-2", None, "jdoe-admin", ["root"]),
        _account("a-3", "ann", "ann", ["staff"]),
    ]
    plan = _plan(root, accounts)
    assert [(a.identity, a.account, a.account_kind) for a in plan.adoptions] == [
        ("jdoe", "a-2", "admin")
    ]
    assert plan.body()["adoptions"][0]["account_kind"] == "admin"
    assert not plan.orders and not plan.warnings and not plan.orphans


def test_a_leaver_disables_every_account_and_revokes_the_admin_access(tmp_path: Path) -> None:
    root = _repo(tmp_path, kinds=True, admin=True, state="terminated")
    accounts = [
        _account("a-1", "jdoe", "jdoe", ["staff"]),
        _account("a-2", "jdoe#admin", "jdoe-admin", ["root"]),
        _account("a-3", "ann", "ann", ["staff"]),
    ]
    plan = _plan(root, accounts)
    assert sorted(_lines(plan)) == [
        ("disable_account", "jdoe", "admin", None),
        ("disable_account", "jdoe", "default", None),
        ("revoke", "jdoe", "admin", "root"),
        ("revoke", "jdoe", "default", "staff"),
    ]
    disable_admin = next(
        o for o in plan.orders if o.action == "disable_account" and o.change.account == "a-2"
    )
    revoke_root = next(o for o in plan.orders if o.change.entitlement == "root")
    assert disable_admin.depends_on == (revoke_root.id,)


def test_an_admin_account_no_longer_granted_loses_its_access_and_an_unknown_one_is_an_orphan(
    tmp_path: Path,
) -> None:
    root = _repo(tmp_path, kinds=True, admin=False)
    accounts = [
        _account("a-1", "jdoe", "jdoe", ["staff"]),
        _account("a-2", "jdoe#admin", "jdoe-admin", ["root"]),
        _account("a-3", "ann", "ann", ["staff"]),
        _account("a-4", "gone#admin", "gone-admin", ["root"]),
    ]
    plan = _plan(root, accounts)
    assert _lines(plan) == [("revoke", "jdoe", "admin", "root")]
    assert plan.orders[0].change.account == "a-2" and plan.orders[0].change.sensitive
    assert [(o.account, o.identity) for o in plan.orphans] == [("a-4", "gone#admin")]


def test_the_diff_cache_gives_the_same_plan_with_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path / "repo", kinds=True, admin=True)
    accounts = [_account("a-1", "jdoe", "jdoe", ["staff"]), _account("a-3", "ann", "ann", [])]
    uncached = _plan(root, accounts)
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path / "cache"))
    first = _plan(root, accounts)
    (root / "identities.yaml").write_text(
        (root / "identities.yaml").read_text().replace("ann@example.com", "ann@example.org")
    )
    second = _plan(root, accounts)
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    fresh = _plan(root, accounts)
    assert first.canonical() == uncached.canonical()
    assert second.canonical() == fresh.canonical()


def test_a_second_account_sharing_the_email_is_no_longer_a_duplicate_warning(
    tmp_path: Path,
) -> None:
    """Correlating on email too: without kinds, jdoe-admin (same email) is a duplicate of
    jdoe, a plan warning and nothing else. Declared as the admin kind, it is adopted as
    jdoe's admin account (only its login tells the kinds apart) and its sensitive grant
    is a gated order."""
    accounts = [
        _account("a-1", None, "jdoe", ["staff"]),
        _account("a-2", None, "jdoe-admin", []),
        _account("a-3", "ann", "ann", ["staff"]),
    ]

    def repo(where: Path, kinds: bool) -> Path:
        root = _repo(where, kinds=kinds, admin=kinds)
        text = (root / "accesshive.yaml").read_text()
        (root / "accesshive.yaml").write_text(
            text.replace("correlation: [login]", "correlation: [email, login]")
        )
        return root

    before = _plan(repo(tmp_path / "before", kinds=False), accounts)
    assert [w.split(":")[0:2] for w in before.warnings] == [["source 'app'", " identity 'jdoe'"]]
    after = _plan(repo(tmp_path / "after", kinds=True), accounts)
    assert not after.warnings
    assert sorted((a.identity, a.account) for a in after.adoptions) == [
        ("jdoe", "a-1"),
        ("jdoe", "a-2"),
    ]
    (grant,) = after.orders
    assert (grant.change.account, grant.change.entitlement, grant.change.account_kind) == (
        "a-2",
        "root",
        "admin",
    )
    assert grant.gate is not None


def test_a_connector_adopts_on_create_only_by_what_tells_the_kinds_apart(tmp_path: Path) -> None:
    """A create that meets an existing account adopts it by the correlation attributes
    the connector is given: never the email jdoe and jdoe-admin share."""
    root = _repo(tmp_path, kinds=True, admin=True)
    text = (root / "accesshive.yaml").read_text()
    (root / "accesshive.yaml").write_text(
        text.replace("correlation: [login]", "correlation: [email, login]")
    )
    source = load_config(root).sources["app"]
    assert telling_apart(source) == {
        "default": frozenset({"login"}),
        "admin": frozenset({"login"}),
    }
    assert for_connector(source).account.correlation == ["login"]
    plain = load_config(_repo(tmp_path / "plain", kinds=False, admin=False)).sources["app"]
    assert for_connector(plain) is plain


def test_an_identity_whose_values_name_two_kinds_alike_is_refused_at_the_identity(
    tmp_path: Path,
) -> None:
    root = _repo(tmp_path, kinds=True, admin=True)
    text = (root / "accesshive.yaml").read_text()
    (root / "accesshive.yaml").write_text(
        text.replace('create: {login: "{{ id }}-admin"}', 'create: {login: "{{ admin_login }}"}')
    )
    (root / "identities.yaml").write_text(
        (root / "identities.yaml")
        .read_text()
        .replace("{email: jdoe@example.com}", "{email: jdoe@example.com, admin_login: JDoe}")
    )
    result = validate_repository(root, TODAY)
    errors = [(d.code, str(d.location), d.message) for d in result.diagnostics if d.is_error]
    assert errors == [
        (
            "ambiguous-account",
            "identities.yaml:2:3",
            "identity 'jdoe': its 'default' and 'admin' accounts on source 'app' would both "
            "be named 'JDoe' (login)",
        )
    ]
