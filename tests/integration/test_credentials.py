"""Credentials end to end: managed passwords generated on the Workspace account and kept in
the vault, external secrets supplied and stored, and no secret anywhere else."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.apply.credentials import CredentialKeeper
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import VaultError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.planfile import write_plan
from accesshive.vault import open_vault
from tests.conftest import EXAMPLES
from tests.support.memory_connector import MemoryConnector

TODAY = dt.date(2026, 11, 29)
EXTERNAL_SECRET = "ghp_supplied_value_0123456789abcdef"

CONFIG = """version: 1
name: creds
sources:
  workspace:
    kind: google_workspace
    connection: {connector: memory, store: creds-gws}
    account:
      name_attribute: primaryEmail
      create: {primaryEmail: "{{ email }}"}
      correlation: [primaryEmail]
  vault:
    kind: vault
    connection: {path: vault.db, key_file: master.key}
identities:
  ada:
    type: human
    attributes: {email: ada@example.com}
  support-mailbox:
    type: shared_credential
    owner: ada
    platforms: [workspace]
    credential: {mode: managed}
    attributes: {email: support@example.com}
  ci-token:
    type: api_key
    owner: ada
    credential: {supplied_by: "${env:CI_TOKEN}"}
  deploy-key:
    type: service_account
    owner: ada
    credential: {supplied_by: stdin}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    MemoryConnector.stores.pop("creds-gws", None)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "accesshive.yaml").write_text(CONFIG)
    runner = CliRunner()
    assert (
        runner.invoke(main, ["vault", "init", "--key-file", str(root / "master.key")]).exit_code
        == 0
    )
    monkeypatch.setenv("CI_TOKEN", EXTERNAL_SECRET)
    return root


def test_credentials_flow_and_no_secret_leaks(repo: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    put = runner.invoke(
        main, ["vault", "put", "deploy-key", "-C", str(repo)], input="stdin-secret-value\n"
    )
    assert put.exit_code == 0, put.output
    plan = plan_repository(repo, TODAY, store=StoreRef())
    actions = sorted((o.action, o.change.identity) for o in plan.orders)
    assert actions == [
        ("create_account", "support-mailbox"),
        ("store_credential", "ci-token"),
        ("store_credential", "deploy-key"),
        ("store_credential", "support-mailbox"),
    ]
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert result.status == "complete", result.messages
    # apply reads back the vault too: a plan made right away, without a sync, stores no
    # secret again (it used to plan every store_credential a second time)
    right_after = plan_repository(repo, TODAY, store=StoreRef())
    assert [o.action for o in right_after.orders] == []

    config = load_config(repo)
    with open_vault(config, "vault") as vault:
        generated = vault.get("support-mailbox")
        assert vault.get("ci-token") == EXTERNAL_SECRET
        assert vault.get("deploy-key") == "stdin-secret-value"
    assert len(generated) == 24
    (account,) = MemoryConnector.stores["creds-gws"].values()
    assert account["password"] == generated  # the target got the same password the vault keeps

    listed = runner.invoke(main, ["vault", "list", "-C", str(repo)])
    assert "support-mailbox" in listed.output
    revealed = runner.invoke(main, ["vault", "get", "ci-token", "--reveal", "-C", str(repo)])
    assert revealed.output.strip() == EXTERNAL_SECRET
    status = runner.invoke(main, ["status", "-C", str(repo)])
    sync = runner.invoke(main, ["sync", str(repo), "--format", "json"])
    again = plan_repository(repo, TODAY, store=StoreRef())
    assert again.orders == ()

    # every artefact of the run, except the vault itself, is free of every secret
    secrets = [generated, EXTERNAL_SECRET, "stdin-secret-value"]
    artefacts = [
        plan_file.read_bytes(),
        listed.output.encode(),
        status.output.encode(),
        sync.output.encode(),
    ]
    for path in (repo / ".accesshive").rglob("*"):
        if path.is_file():
            artefacts.append(path.read_bytes())
    for blob in artefacts:
        for secret in secrets:
            assert secret.encode() not in blob

    audit = runner.invoke(main, ["state", "show", str(repo), "--format", "json"])
    assert audit.exit_code == 0


def test_rotation_of_the_master_key_keeps_every_secret(repo: Path) -> None:
    plan = plan_repository(repo, TODAY, store=StoreRef())
    CliRunner().invoke(main, ["vault", "put", "deploy-key", "-C", str(repo)], input="v\n")
    apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    config = load_config(repo)
    with open_vault(config, "vault") as vault:
        before = {i.identity: vault.get(i.identity) for i in vault.list()}
        old_key = vault.list()[0].key_id
    rotated = CliRunner().invoke(main, ["vault", "rotate-key", "-C", str(repo)])
    assert rotated.exit_code == 0, rotated.output
    with open_vault(load_config(repo), "vault") as vault:
        assert {i.identity: vault.get(i.identity) for i in vault.list()} == before
        assert {i.key_id for i in vault.list()} != {old_key}


def test_missing_supplied_value_is_a_clear_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI_TOKEN")
    plan = plan_repository(repo, TODAY, store=StoreRef())
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    by_identity = {o.change.identity: o.id for o in plan.orders if o.action == "store_credential"}
    assert result.states[by_identity["ci-token"]] == "errored"
    assert "CI_TOKEN is not set" in result.messages[by_identity["ci-token"]]
    assert "accesshive vault put deploy-key" in result.messages[by_identity["deploy-key"]]


def test_a_generated_password_without_a_vault_to_keep_it_says_whose(tmp_path: Path) -> None:
    """The quickstart has no vault: a password a target accepted cannot be kept, and the
    error (which apply reports for the order) names the identity."""
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    keeper = CredentialKeeper(load_config(dest))
    with pytest.raises(VaultError) as caught:
        keeper.keep_generated("grace.hopper", "generated-pw-1")
    assert str(caught.value) == "identity 'grace.hopper' has no vault source"
