"""Rotation of a managed shared credential end to end, as a user runs it: the CLI in
separate processes, a real vault file, a SQLite or PostgreSQL store, and the Google
Workspace stand-in (tests/support/gws_standin.py, Google's Directory API) as the target
that records every password set through users.insert and users.patch.

The rotation is planned in a later process from the synced snapshot only, so the shared
account must be known from the snapshot, not from the plan that created it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.plan.planfile import read_plan
from accesshive.store import open_store
from tests.support.gws_standin import GoogleStandIn

TOKEN = "standin-static-token"
TODAY = dt.date.today()  # the vault dates what it stores by the real date
LATER = TODAY + dt.timedelta(days=31)

CONFIG = """version: 1
name: rotation-gws
sources:
  workspace:
    kind: google_workspace
    connection:
      base_url: {url}
      token: ${{env:GWS_TOKEN}}
      customer_id: C0standin
      read_retry_delay: 0.01
    account:
      name_attribute: primaryEmail
      create:
        primaryEmail: "{{{{ email }}}}"
        givenName: Support
        familyName: Box
      correlation: [primaryEmail]
  vault:
    kind: vault
    connection: {{path: vault.db, key_file: master.key}}
identities:
  ada:
    type: human
    attributes: {{email: ada@example.com, given_name: Ada, family_name: Lovelace}}
  support-box:
    type: shared_credential
    owner: ada
    platforms: [workspace]
    credential: {{mode: managed, rotate_every_days: 30}}
    attributes: {{email: support@example.com}}
"""


@pytest.fixture
def gws() -> Iterator[GoogleStandIn]:
    with GoogleStandIn(customer_id="C0standin", domains=("example.com",), token=TOKEN) as api:
        yield api


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The state store every command uses (ACCESSHIVE_STORE): the repository's SQLite
    file, or a fresh database on a real PostgreSQL server."""
    if request.param == "sqlite":
        monkeypatch.delenv("ACCESSHIVE_STORE", raising=False)
        return None
    url = str(request.getfixturevalue("postgres_db"))
    monkeypatch.setenv("ACCESSHIVE_STORE", url)
    return url


@pytest.fixture
def repo(tmp_path: Path, gws: GoogleStandIn, store_url: str | None) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "accesshive.yaml").write_text(CONFIG.format(url=gws.url))
    run(root, "vault", "init", "--key-file", str(root / "master.key"))
    return root


def run(repo: Path, *args: str, expect: int = 0) -> str:
    """One CLI command in its own process, as a user types it in the repository (the store
    comes from ACCESSHIVE_STORE, set by ``store_url``)."""
    env = {**os.environ, "GWS_TOKEN": TOKEN, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "accesshive", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == expect, (args, done.stdout, done.stderr)
    return done.stdout + done.stderr


def password_of(gws: GoogleStandIn, email: str) -> str:
    user = gws.user(email)
    assert user is not None
    return gws.state.passwords[user["id"]]


def test_a_managed_password_is_rotated_on_the_account_known_from_the_snapshot(
    repo: Path, gws: GoogleStandIn, store_url: str | None
) -> None:
    seen: list[str] = []
    seen.append(run(repo, "sync"))
    seen.append(run(repo, "plan", "--out", "first.json", "--today", TODAY.isoformat()))
    seen.append(run(repo, "apply", "first.json", "--today", TODAY.isoformat()))
    first = password_of(gws, "support@example.com")
    assert run(repo, "vault", "get", "support-box", "--reveal").strip() == first

    # a later day, a new process: the account is known only from what sync read
    seen.append(run(repo, "sync"))
    seen.append(run(repo, "plan", "--out", "rotate.json", "--today", LATER.isoformat()))
    plan = read_plan(repo / "rotate.json")
    assert [(o.action, o.change.identity) for o in plan.orders] == [
        ("rotate_credential", "support-box")
    ]
    (order,) = plan.orders
    seen.append(run(repo, "apply", "rotate.json", "--today", LATER.isoformat()))

    second = password_of(gws, "support@example.com")
    assert second != first  # the target took a new password...
    assert run(repo, "vault", "get", "support-box", "--reveal").strip() == second  # ...kept
    listing = json.loads(run(repo, "vault", "list", "--format", "json"))
    assert [(i["identity"], i["version"]) for i in listing] == [("support-box", 2)]

    with open_store(repo, url=store_url) as store:
        audit = [(e.event, e.subject) for e in store.audit_entries()]
        history = [(e.state, e.message) for e in store.order_history(plan.digest, order.id)]
    assert history[-1] == ("verified", "password rotated on workspace and stored (version 2)")
    assert audit.count(("vault_reveal", "support-box")) == 2  # each `vault get --reveal`
    assert audit.count(("order_state", order.id)) == 4  # pending → ... → verified

    # no password in any plan, output or audit detail
    seen += [(repo / name).read_text() for name in ("first.json", "rotate.json")]
    with open_store(repo, url=store_url) as store:
        seen += [e.details for e in store.audit_entries()]
    for text in seen:
        assert first not in text and second not in text
