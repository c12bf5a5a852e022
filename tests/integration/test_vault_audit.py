"""Every vault command that touches a secret or the master key leaves exactly its audit
entry (event, actor, subject), and no entry ever holds the secret or a key in clear.

Run through the CLI (``accesshive vault put | get --reveal | rotate-key``), as an
operator would, and read back from the store the entries each command appended.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.store import open_store

SECRET = "deploy-secret-value-7f3a9c1e"
ACTOR = "oncall-erin"

CONFIG = """version: 1
name: vault-audit
sources:
  vault:
    kind: vault
    connection: {path: vault.db, key_file: master.key}
identities:
  ada:
    type: human
    attributes: {email: ada@example.com}
  deploy-key:
    type: service_account
    owner: ada
    credential: {supplied_by: stdin}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "accesshive.yaml").write_text(CONFIG)
    init = CliRunner().invoke(main, ["vault", "init", "--key-file", str(root / "master.key")])
    assert init.exit_code == 0, init.output
    return root


def _invoke(repo: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main, [*args, "-C", str(repo)], input=input, env={"ACCESSHIVE_ACTOR": ACTOR}
    )
    assert result.exit_code == 0, result.output
    return result


def _entries(repo: Path) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with open_store(repo) as store:
        return [(e.event, e.actor, e.subject, json.loads(e.details)) for e in store.audit_entries()]


def _new_entries(repo: Path, before: int) -> list[tuple[str, str, str | None, dict[str, object]]]:
    return _entries(repo)[before:]


def _assert_not_in_store(repo: Path, *secrets: str) -> None:
    """Neither the entries nor anything else in the state store holds these in clear."""
    for entry in _entries(repo):
        for secret in secrets:
            assert secret not in json.dumps(entry), entry
    for path in (repo / ".accesshive").rglob("*"):
        if path.is_file() and path.name != "vault.db":
            for secret in secrets:
                assert secret.encode() not in path.read_bytes(), path


def _put(repo: Path) -> None:
    _invoke(repo, "vault", "put", "deploy-key", input=SECRET + "\n")


def test_vault_put_leaves_exactly_its_audit_entry(repo: Path) -> None:
    before = len(_entries(repo))
    _put(repo)
    assert _new_entries(repo, before) == [
        ("vault_put", ACTOR, "deploy-key", {"vault": "vault", "version": 1})
    ]
    _assert_not_in_store(repo, SECRET)


def test_vault_get_reveal_leaves_exactly_its_audit_entry(repo: Path) -> None:
    _put(repo)
    before = len(_entries(repo))
    revealed = _invoke(repo, "vault", "get", "deploy-key", "--reveal")
    assert revealed.output.strip() == SECRET
    assert _new_entries(repo, before) == [("vault_reveal", ACTOR, "deploy-key", {"vault": "vault"})]
    _assert_not_in_store(repo, SECRET)


def test_a_reveal_that_fails_is_audited_too(repo: Path) -> None:
    _put(repo)
    (repo / "master.key").unlink()  # the vault no longer opens
    before = len(_entries(repo))
    result = CliRunner().invoke(
        main,
        ["vault", "get", "deploy-key", "--reveal", "-C", str(repo)],
        env={"ACCESSHIVE_ACTOR": ACTOR},
    )
    assert result.exit_code != 0
    assert SECRET not in result.output
    new = _new_entries(repo, before)
    assert [(event, actor, subject) for event, actor, subject, _ in new] == [
        ("vault_reveal_failed", ACTOR, "deploy-key")
    ]
    _assert_not_in_store(repo, SECRET)


def test_master_key_rotation_leaves_exactly_its_audit_entry(repo: Path) -> None:
    _put(repo)
    old_key = (repo / "master.key").read_text().strip()
    before = len(_entries(repo))
    _invoke(repo, "vault", "rotate-key")
    new_key = (repo / "master.key").read_text().strip()
    assert new_key != old_key
    new_key_id = new_key.split(":")[1]
    assert new_key_id in new_key and new_key_id not in old_key
    assert _new_entries(repo, before) == [
        ("vault_key_rotated", ACTOR, "vault", {"new_key_id": new_key_id, "rewrapped": 1})
    ]
    # neither the secret nor any key material: only the new key's id
    key_material = [k.split(":")[-1] for k in (old_key, new_key)]
    _assert_not_in_store(repo, SECRET, *key_material)
    revealed = _invoke(repo, "vault", "get", "deploy-key", "--reveal")
    assert revealed.output.strip() == SECRET
