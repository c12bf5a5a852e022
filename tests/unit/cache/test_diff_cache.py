"""The diff cache: whatever changed between two plans, a plan made with what earlier
runs found is byte-identical to one made from scratch; and only the changed files'
identities are diffed again (joiners and leavers too), unless they contend for an
account with an unchanged identity."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accesshive.plan.diff as diff_mod
from accesshive.operations import plan_repository
from accesshive.plan.planfile import dumps

TODAY = dt.date(2026, 11, 29)

PROJECT = """version: 1
name: diff-cache
sources:
  app:
    kind: sql
    connection: {url: "sqlite:///app.db", create_tables: true}
    account:
      name_attribute: login
      schema:
        login: {required: true}
        email: {type: email}
        title: {}
      create: {login: "{{ id }}"}
      sync: {email: "{{ mail }}", title: "{{ title }}"}
      correlation: [email]
    entitlements: {staff: {}, ops: {}}
  wiki:
    kind: sql
    connection: {url: "sqlite:///wiki.db", create_tables: true}
    account:
      name_attribute: user
      create: {user: "{{ id }}"}
      sync: {mail: "{{ mail }}"}
      correlation: [mail]
    entitlements: {readers: {}}
access_profiles:
  base: {source: app, entitlements: [staff]}
  ops: {source: app, entitlements: [ops]}
  wiki: {source: wiki, entitlements: [readers]}
roles:
  everyone: {access_profiles: [base, wiki]}
"""

FILES = ("a", "b", "c")


def _org(seed: int) -> dict[str, dict[str, dict[str, Any]]]:
    """file → identity → (title, email, roles, state): a few people per file."""
    rng = random.Random(seed)
    return {
        f: {
            f"{f}{n}": {
                "title": rng.choice(["Engineer", "Analyst", "Lead"]),
                "email": f"{f}{n}@example.com",
                "roles": ["everyone"] + (["ops"] if rng.random() < 0.3 else []),
            }
            for n in range(4)
        }
        for f in FILES
    }


def _write(root: Path, org: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Identities hold their correlation value as ``mail``: two identities with one
    ``email`` are refused by validate, and two that contend for an account (on any other
    correlated value) are what the cache must get right."""
    (root / "identities").mkdir(parents=True, exist_ok=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    for path in (root / "identities").glob("*.yaml"):
        path.unlink()
    for file, people in org.items():
        lines = ["identities:"]
        for iid, p in people.items():
            roles = [r for r in p["roles"] if r == "everyone"]
            profiles = [r for r in p["roles"] if r == "ops"]
            lines.append(
                f"  {iid}: {{type: human, roles: {roles}, access_profiles: {profiles}, "
                f"attributes: {{mail: {p['email']}, title: {p['title']}}}}}"
            )
        (root / "identities" / f"{file}.yaml").write_text("\n".join(lines) + "\n")


def _snapshot(org: dict[str, dict[str, dict[str, Any]]], seed: int) -> dict[str, Any]:
    """Accounts for most people, some linked, some to adopt, some drifted, a duplicate
    and orphans."""
    rng = random.Random(seed)
    app: list[dict[str, Any]] = []
    wiki: list[dict[str, Any]] = []
    n = 0
    for people in org.values():
        for iid, p in people.items():
            n += 1
            roll = rng.random()
            if roll < 0.15:
                continue  # missing: created
            linked = iid if roll < 0.7 else None  # else adopted by email
            title = p["title"] if rng.random() < 0.8 else "Drifted"
            grants = ["staff"] + (["ops"] if rng.random() < 0.3 else [])
            app.append(
                {
                    "external_id": f"app-{n}",
                    "identity": linked,
                    "attributes": {"login": iid, "email": p["email"], "title": title},
                    "grants": grants,
                }
            )
            if rng.random() < 0.1:  # a second account with the same email
                app.append(
                    {
                        "external_id": f"app-dup-{n}",
                        "attributes": {"login": f"{iid}2", "email": p["email"]},
                        "grants": ["staff"],
                    }
                )
            if rng.random() < 0.8:
                wiki.append(
                    {
                        "external_id": f"wiki-{n}",
                        "identity": linked,
                        "attributes": {"user": iid, "mail": p["email"]},
                        "grants": ["readers"],
                    }
                )
    app.append({"external_id": "app-orphan", "attributes": {"login": "ghost"}, "grants": []})
    wiki.append(
        {"external_id": "wiki-gone", "identity": "left.long.ago", "attributes": {"user": "x"}}
    )
    return {"sources": {"app": {"accounts": app}, "wiki": {"accounts": wiki}}}


def _plans(root: Path, snap: Path, monkeypatch: pytest.MonkeyPatch, cache: Path) -> str:
    """The plan with the cache (as left by earlier runs), after checking it against the
    plan made with no cache at all."""
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(cache))
    warm = dumps(plan_repository(root, TODAY, snap, allow_mass_changes=True))
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    cold = dumps(plan_repository(root, TODAY, snap, allow_mass_changes=True))
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(cache))
    assert warm == cold
    return warm


EDITS = ("title", "email", "joiner", "leaver", "drift", "role", "ops")


def _edit(kind: str, org: dict[str, Any], snap: dict[str, Any], rng: random.Random) -> None:
    file = rng.choice(FILES)
    people = org[file]
    if not people:
        return
    iid = rng.choice(sorted(people))
    if kind == "title":
        people[iid]["title"] += " (acting)"
    elif kind == "email":  # a correlation value: matching may change
        people[iid]["email"] = f"{iid}.new@example.com"
    elif kind == "joiner":  # often with someone's email, maybe from another file
        someone = rng.choice(sorted(i for p in org.values() for i in p) or [iid])
        people[f"{file}j{rng.randrange(1000)}"] = {
            "title": "New",
            "email": f"{someone}@example.com" if rng.random() < 0.5 else f"j{file}@example.com",
            "roles": ["everyone"],
        }
    elif kind == "leaver":
        del people[iid]
    elif kind == "drift":
        accounts = snap["sources"]["app"]["accounts"]
        rng.choice(accounts).setdefault("attributes", {})["title"] = "Changed on the target"
    elif kind == "role":
        people[iid]["roles"] = ["everyone", "ops"] if "ops" not in people[iid]["roles"] else []
    elif kind == "ops":
        for p in people.values():
            p["roles"] = ["everyone", "ops"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 10_000),
    edits=st.lists(st.sampled_from(EDITS), min_size=1, max_size=4),
)
def test_a_plan_from_kept_results_is_the_plan_from_scratch(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    edits: list[str],
) -> None:
    tmp = tmp_path_factory.mktemp("diff-cache")
    root, cache, snap_path = tmp / "repo", tmp / "cache", tmp / "snapshot.json"
    org = _org(seed)
    snap = _snapshot(org, seed)
    rng = random.Random(seed)
    _write(root, org)
    snap_path.write_text(json.dumps(snap))
    _plans(root, snap_path, monkeypatch, cache)
    for kind in edits:
        _edit(kind, org, snap, rng)
        _write(root, org)
        snap_path.write_text(json.dumps(snap))
        _plans(root, snap_path, monkeypatch, cache)


@pytest.fixture
def diffed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every identity diffed (matched or re-diffed), not recalled."""
    calls: list[str] = []
    real = diff_mod.found_for

    def spy(desired, source, want, have, matched_on, duplicates):  # type: ignore[no-untyped-def]
        calls.append(want.identity)
        return real(desired, source, want, have, matched_on, duplicates)

    monkeypatch.setattr(diff_mod, "found_for", spy)
    monkeypatch.setattr("accesshive.cache.diff.found_for", spy)
    return calls


def test_only_the_changed_files_identities_are_diffed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, diffed: list[str]
) -> None:
    root, cache, snap_path = tmp_path / "repo", tmp_path / "cache", tmp_path / "snap.json"
    org = _org(1)
    _write(root, org)
    snap_path.write_text(json.dumps(_snapshot(org, 1)))
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(cache))
    plan_repository(root, TODAY, snap_path, allow_mass_changes=True)
    assert len(diffed) > 12  # the first plan diffs every account
    diffed.clear()
    org["b"]["b1"]["title"] = "Principal"
    _write(root, org)
    plan_repository(root, TODAY, snap_path, allow_mass_changes=True)
    assert diffed and set(diffed) <= set(org["b"])
    diffed.clear()
    org["c"]["c2"]["email"] = "c2.moved@example.com"  # a correlation value no one else's
    del org["b"]["b0"]  # a leaver
    org["c"]["c9"] = {"title": "New", "email": "c9@example.com", "roles": ["everyone"]}
    _write(root, org)
    plan_repository(root, TODAY, snap_path, allow_mass_changes=True)
    assert diffed and {iid[0] for iid in diffed} == {"b", "c"}
    diffed.clear()
    _plans(root, snap_path, monkeypatch, cache)  # and each agrees with a plan from scratch

    # a joiner with the email of an account someone in file a would adopt: the two
    # contend for it, so every identity is matched again
    snap = json.loads(snap_path.read_text())
    adoptable = next(
        acc["attributes"]["email"]
        for acc in snap["sources"]["app"]["accounts"]
        if acc.get("identity") is None and acc["attributes"].get("email", "").startswith("a")
    )
    org["c"]["c8"] = {"title": "New", "email": adoptable, "roles": ["everyone"]}
    _write(root, org)
    diffed.clear()
    plan_repository(root, TODAY, snap_path, allow_mass_changes=True)
    assert {iid[0] for iid in diffed} == set(FILES)
    _plans(root, snap_path, monkeypatch, cache)


def test_a_corrupt_entry_diffs_everything_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache, snap_path = tmp_path / "repo", tmp_path / "cache", tmp_path / "snap.json"
    org = _org(2)
    _write(root, org)
    snap_path.write_text(json.dumps(_snapshot(org, 2)))
    first = _plans(root, snap_path, monkeypatch, cache)
    for entry in cache.rglob("*.pickle"):
        entry.write_bytes(b"\x80\x05not a pickle")
    assert _plans(root, snap_path, monkeypatch, cache) == first


def test_the_cache_holds_one_state_per_repository_not_one_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every new snapshot makes a full diff; what the one before kept is removed."""
    root, cache, snap_path = tmp_path / "repo", tmp_path / "cache", tmp_path / "snap.json"
    org = _org(3)
    snap = _snapshot(org, 3)
    _write(root, org)
    snap_path.write_text(json.dumps(snap))
    _plans(root, snap_path, monkeypatch, cache)
    scoped = list(cache.rglob("scoped/*/*/*.pickle"))
    assert scoped
    for n in range(3):
        snap["sources"]["app"]["accounts"][0]["attributes"]["title"] = f"drift {n}"
        snap_path.write_text(json.dumps(snap))
        _plans(root, snap_path, monkeypatch, cache)
    assert len(list(cache.rglob("scoped/*/*/*.pickle"))) == len(scoped)
