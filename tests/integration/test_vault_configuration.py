"""Where a vault is and where its master key comes from, as the configuration says;
which vault a command means; and what sync and ``vault list`` can see without the key."""

from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.config import load_config
from accesshive.config.policy import PasswordPolicy
from accesshive.errors import VaultError
from accesshive.store import open_store
from accesshive.vault import generate_password, open_vault
from accesshive.vault.keys import Keyring, MasterKey, write_key_file

KEY = MasterKey.from_bytes(bytes(range(32)))
IDENTITIES = """identities:
  ada:
    type: human
    attributes: {email: ada@example.com}
  deploy-key:
    type: service_account
    owner: ada
    credential: {supplied_by: stdin}
  ci-token:
    type: api_key
    owner: ada
    credential: {supplied_by: stdin}
  portal:
    type: oauth_app
    owner: ada
    credential: {supplied_by: stdin}
"""


@pytest.fixture(autouse=True)
def no_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("ACCESSHIVE_MASTER_KEY", "VAULT_KEY", "ACCESSHIVE_AUDIT_KEY"):
        monkeypatch.delenv(variable, raising=False)


def _repo(tmp_path: Path, sources: str, identities: str = IDENTITIES) -> Path:
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    (root / "accesshive.yaml").write_text(
        f"version: 1\nname: vaults\nsources:\n{sources}{identities}"
    )
    return root


def _cli(repo: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*args, "-C", str(repo)], input=input)


def test_the_key_can_come_from_a_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(
        tmp_path,
        "  vault:\n    kind: vault\n    connection: {key: '${env:VAULT_KEY}'}\n",
    )
    monkeypatch.setenv("VAULT_KEY", Keyring((KEY,)).encode())
    put = _cli(repo, "vault", "put", "deploy-key", input="s3cret\n")
    assert put.exit_code == 0, put.output
    assert put.output.strip() == f"stored deploy-key (password, version 1, key {KEY.key_id})"
    assert (repo / ".accesshive" / "vault.db").is_file()  # the default place, in the repo
    with open_vault(load_config(repo)) as vault:
        assert vault.get("deploy-key") == "s3cret"


def test_a_key_file_reference_is_read_from_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(
        tmp_path,
        "  vault:\n    kind: vault\n"
        "    connection: {path: data/secrets.db, key: '${file:keys/master.key}'}\n",
    )
    write_key_file(repo / "keys" / "master.key", Keyring((KEY,)))
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)  # paths are the repository's, wherever the command runs
    put = _cli(repo, "vault", "put", "ci-token", input="t0ken\n")
    assert put.exit_code == 0, put.output
    assert (repo / "data" / "secrets.db").is_file()
    assert not (other / "data").exists()


def test_a_reference_that_does_not_resolve_names_the_vault(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        "  vault:\n    kind: vault\n    connection: {key: '${env:VAULT_KEY}'}\n",
    )
    with pytest.raises(VaultError) as caught:
        open_vault(load_config(repo))
    assert str(caught.value) == (
        "vault 'vault': environment variable VAULT_KEY is not set (referenced as ${env:VAULT_KEY})"
    )


def test_without_key_settings_the_environment_key_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, "  vault:\n    kind: vault\n")
    with pytest.raises(VaultError) as caught:
        open_vault(load_config(repo), "vault")
    assert str(caught.value) == (
        "vault 'vault' has no master key: set connection.key (e.g. "
        "${env:ACCESSHIVE_MASTER_KEY}) or connection.key_file; `accesshive vault init` makes one"
    )
    monkeypatch.setenv("ACCESSHIVE_MASTER_KEY", Keyring((KEY,)).encode())
    with open_vault(load_config(repo), "vault") as vault:
        assert vault.keyring.current.key_id == KEY.key_id


TWO_VAULTS = (
    "  team:\n    kind: vault\n    connection: {path: team.db, key: '${env:VAULT_KEY}'}\n"
    "  ops:\n    kind: vault\n    connection: {path: ops.db, key: '${env:VAULT_KEY}'}\n"
)


def test_with_two_vaults_the_vault_must_be_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(
        tmp_path,
        TWO_VAULTS,
        "identities:\n  ada: {type: human, attributes: {email: ada@example.com}}\n"
        "  deploy-key:\n    type: service_account\n    owner: ada\n"
        "    credential: {supplied_by: stdin, vault: ops}\n",
    )
    monkeypatch.setenv("VAULT_KEY", Keyring((KEY,)).encode())
    with pytest.raises(VaultError) as caught:
        open_vault(load_config(repo))
    assert str(caught.value) == "name the vault source: the configuration has 2"
    unnamed = _cli(repo, "vault", "put", "deploy-key", input="x\n")
    assert unnamed.exit_code != 0
    assert "name the vault with --vault (vault sources: ops, team)" in unnamed.output
    wrong = _cli(repo, "vault", "put", "deploy-key", "--vault", "nope", input="x\n")
    assert wrong.exit_code != 0
    assert "'nope' is not a vault source (vault sources: ops, team)" in wrong.output
    named = _cli(repo, "vault", "put", "deploy-key", "--vault", "ops", input="x\n")
    assert named.exit_code == 0, named.output
    assert (repo / "ops.db").is_file() and not (repo / "team.db").exists()
    listed = _cli(repo, "vault", "list", "--vault", "ops")
    assert "deploy-key" in listed.output
    assert "The vault is empty." in _cli(repo, "vault", "list", "--vault", "team").output


def test_without_a_vault_the_commands_say_so(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        "  wiki:\n    kind: manual\n    owner: ada\n",
        "identities:\n  ada: {type: human, attributes: {email: ada@example.com}}\n",
    )
    result = _cli(repo, "vault", "list")
    assert result.exit_code != 0
    assert "the repository declares no vault source: declare one in sources/" in result.output
    assert "kind: vault" in result.output
    with pytest.raises(VaultError) as caught:
        open_vault(load_config(repo))
    assert str(caught.value) == "name the vault source: the configuration has 0"


def test_list_and_sync_need_no_master_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path, "  vault:\n    kind: vault\n    connection: {key: '${env:VAULT_KEY}'}\n")
    monkeypatch.setenv("VAULT_KEY", Keyring((KEY,)).encode())
    for identity in ("deploy-key", "ci-token", "portal"):
        assert _cli(repo, "vault", "put", identity, input=f"{identity}-v\n").exit_code == 0
    monkeypatch.delenv("VAULT_KEY")
    listed = _cli(repo, "vault", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    today = dt.date.today().isoformat()
    assert [(i["identity"], i["kind"], i["version"]) for i in json.loads(listed.output)] == [
        ("ci-token", "api_key", 1),
        ("deploy-key", "password", 1),
        ("portal", "oauth_client_secret", 1),
    ]
    synced = CliRunner().invoke(main, ["sync", str(repo)])
    assert synced.exit_code == 0, synced.output
    with open_store(repo) as store:
        snap = store.latest_snapshot().source("vault")
    assert snap.read_at is not None
    creds = {c.identity: c for c in snap.credentials}
    assert sorted(creds) == ["ci-token", "deploy-key", "portal"]
    for cred in creds.values():
        assert cred.stored_at == cred.rotated_at == dt.date.fromisoformat(today)
        assert cred.key_id == KEY.key_id
    assert creds["portal"].kind == "oauth_client_secret"


def test_only_non_human_identities_have_vault_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, "  vault:\n    kind: vault\n    connection: {key: '${env:VAULT_KEY}'}\n")
    monkeypatch.setenv("VAULT_KEY", Keyring((KEY,)).encode())
    for who in ("ada", "nobody"):
        result = _cli(repo, "vault", "put", who, input="x\n")
        assert result.exit_code != 0
        assert f"'{who}' is not a non-human identity of this configuration" in result.output


def test_rotating_a_key_from_the_environment_needs_somewhere_to_write_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, "  vault:\n    kind: vault\n    connection: {key: '${env:VAULT_KEY}'}\n")
    monkeypatch.setenv("VAULT_KEY", Keyring((KEY,)).encode())
    assert _cli(repo, "vault", "put", "deploy-key", input="v1\n").exit_code == 0
    refused = _cli(repo, "vault", "rotate-key")
    assert refused.exit_code != 0
    assert (
        "the master key comes from the environment: give --key-out FILE for the new "
        "keyring, then point the vault's key at it"
    ) in refused.output
    out = tmp_path / "new.key"
    rotated = _cli(repo, "vault", "rotate-key", "--key-out", str(out))
    assert rotated.exit_code == 0, rotated.output
    (new,) = Keyring.parse(out.read_text()).keys
    said = rotated.output.strip().splitlines()
    assert said[0] == f"re-wrapped 1 secret(s) under master key {new.key_id}"
    assert "back it up" in said[1]
    monkeypatch.setenv("VAULT_KEY", out.read_text().strip())
    with open_vault(load_config(repo)) as vault:
        assert vault.get("deploy-key") == "v1"
        assert vault.info("deploy-key").key_id == new.key_id  # type: ignore[union-attr]


def test_a_rotation_resumed_with_its_key_out_file_keeps_the_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the new keyring was written: running again with the same --key-out
    finishes with that key, so what was re-wrapped before the crash still opens."""
    repo = _repo(tmp_path, "  vault:\n    kind: vault\n    connection: {key: '${env:VAULT_KEY}'}\n")
    monkeypatch.setenv("VAULT_KEY", Keyring((KEY,)).encode())
    assert _cli(repo, "vault", "put", "deploy-key", input="v1\n").exit_code == 0
    pending = MasterKey.generate()
    out = tmp_path / "new.key"
    write_key_file(out, Keyring((pending, KEY)))  # what the crashed run left
    resumed = _cli(repo, "vault", "rotate-key", "--key-out", str(out))
    assert resumed.exit_code == 0, resumed.output
    assert Keyring.parse(out.read_text()).keys == (pending,)
    # a --key-out file holding only the current key is not a rotation to resume
    monkeypatch.setenv("VAULT_KEY", Keyring((pending,)).encode())
    again = _cli(repo, "vault", "rotate-key", "--key-out", str(out))
    assert again.exit_code == 0, again.output
    (newer,) = Keyring.parse(out.read_text()).keys
    assert newer.key_id not in (pending.key_id, KEY.key_id)


def test_a_key_file_given_relative_is_the_repositorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(
        tmp_path, "  vault:\n    kind: vault\n    connection: {key_file: keys/master.key}\n"
    )
    write_key_file(repo / "keys" / "master.key", Keyring((KEY,)))
    elsewhere = tmp_path / "cwd"
    (elsewhere / "keys").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert _cli(repo, "vault", "put", "deploy-key", input="v1\n").exit_code == 0
    rotated = _cli(repo, "vault", "rotate-key")
    assert rotated.exit_code == 0, rotated.output
    assert not (elsewhere / "keys" / "master.key").exists()
    (new,) = Keyring.parse((repo / "keys" / "master.key").read_text()).keys
    assert new.key_id != KEY.key_id


def test_generated_passwords_use_only_and_every_required_class() -> None:
    policy = PasswordPolicy(length=40, character_classes=["lower", "digit", "symbol"])
    allowed = set(string.ascii_lowercase + string.digits + policy.symbols)
    for _ in range(50):
        password = generate_password(policy)
        assert len(password) == 40
        assert set(password) <= allowed
        assert any(c in string.ascii_lowercase for c in password)
        assert any(c in string.digits for c in password)
        assert any(c in policy.symbols for c in password)
