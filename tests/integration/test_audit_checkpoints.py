"""Signed checkpoints: someone who can write the store cannot cut or rewrite the audit log
unnoticed, as long as the audit key is not in the store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accesshive.audit.chain import entry_hash
from accesshive.audit.checkpoints import AuditKeys, read_witness, witness_path, write_witness
from accesshive.audit.verify import verify_log
from accesshive.cli import main
from accesshive.errors import StoreError
from accesshive.store import Store, open_store
from accesshive.vault.keys import Keyring, MasterKey

KEY = MasterKey.generate()
OTHER = MasterKey.generate()


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((KEY,)).encode())
    monkeypatch.delenv("ACCESSHIVE_MASTER_KEY", raising=False)
    monkeypatch.delenv("ACCESSHIVE_AUDIT_WITNESS", raising=False)


@pytest.fixture
def store(tmp_path: Path, keyed: None) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        for n in range(6):
            opened.audit("ci", "order_state", f"o{n}", {"state": "verified", "n": n})
        yield opened


def _verify(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", str(root)])
    return result.exit_code, result.output


def _rehash_from(store: Store, seq: int) -> None:
    """What an attacker with the store but not the key does after editing entry ``seq``:
    recompute every hash from there on, so the chain holds again."""
    entries = store.audit_entries()
    prev = next((e.hash for e in reversed(entries) if e.seq < seq), None)
    for e in entries:
        if e.seq < seq:
            continue
        new = entry_hash(e.environment, e.seq, prev, e.at, e.actor, e.event, e.subject, e.details)
        store._execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, new, e.seq))
        prev = new


def test_an_intact_log_verifies_against_its_signed_checkpoint(store: Store, tmp_path: Path) -> None:
    assert len(store.checkpoints()) == 6  # one per append
    code, output = _verify(tmp_path)
    assert code == 0, output
    assert "6 audit entries, chain intact; signed checkpoint at #6" in output


def test_cutting_the_newest_entries_is_found_and_stops_the_next_run(
    store: Store, tmp_path: Path
) -> None:
    store._execute("DELETE FROM audit WHERE seq > 4")
    code, output = _verify(tmp_path)
    assert code == 1
    assert "the log ends at #4, but a checkpoint signed at" in output
    assert "covers up to #6: entries were cut off the end" in output
    with open_store(tmp_path) as again, pytest.raises(StoreError) as info:
        again.audit("ci", "next_run", None, {})
    assert "does not match its checkpoint #6" in str(info.value)
    assert "the log was cut" in str(info.value)
    with open_store(tmp_path) as again:
        assert [e.seq for e in again.audit_entries()] == [1, 2, 3, 4]  # nothing written on top


def test_a_rewritten_and_rehashed_chain_is_found(store: Store, tmp_path: Path) -> None:
    store._execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    _rehash_from(store, 2)
    from accesshive.audit.chain import verify_chain

    assert verify_chain(store.audit_entries()) is None  # the chain alone is fooled
    code, output = _verify(tmp_path)
    assert code == 1
    assert "rewritten and its hashes recomputed" in output
    with open_store(tmp_path) as again, pytest.raises(StoreError, match="rewritten and rehashed"):
        again.audit("ci", "next_run", None, {})


@pytest.mark.parametrize("column", ["actor", "event", "subject", "details"])
def test_an_entry_edited_in_place_since_the_last_checkpoint_stops_the_next_run(
    store: Store, tmp_path: Path, column: str
) -> None:
    """The hash stored with the entry is left as it was: only hashing the entry again
    finds the edit. The entries the latest checkpoint sealed are hashed again before
    anything is written on top of them."""
    value = '{"state": "pending"}' if column == "details" else "mallory"
    store._execute(f"UPDATE audit SET {column} = ? WHERE seq = 6", (value,))
    code, output = _verify(tmp_path)
    assert code == 1
    assert "entry #6: edited" in output
    with open_store(tmp_path) as again, pytest.raises(StoreError) as info:
        again.audit("ci", "next_run", None, {})
    assert "does not match its checkpoint #6" in str(info.value)
    assert "entry #6: edited (" in str(info.value)
    assert "the log was edited in place" in str(info.value)
    with open_store(tmp_path) as again:
        assert [e.seq for e in again.audit_entries()] == [1, 2, 3, 4, 5, 6]


def test_a_checkpoint_forged_without_the_key_is_refused(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attacker cuts the log and signs a checkpoint of the shorter head with a key of
    their own: it does not verify with the real one."""
    store._execute("DELETE FROM audit WHERE seq > 4")
    store._execute("DELETE FROM audit_checkpoints")
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((OTHER,)).encode())
    with open_store(tmp_path) as attacker:
        attacker.audit("mallory", "cover_up", None, {})
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((KEY,)).encode())
    code, output = _verify(tmp_path)
    assert code == 1
    assert "which is not in $ACCESSHIVE_AUDIT_KEY" in output


def test_the_witness_file_catches_a_cut_with_its_checkpoints_removed(
    tmp_path: Path, keyed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness = tmp_path / "elsewhere" / "audit-witness.json"
    monkeypatch.setenv("ACCESSHIVE_AUDIT_WITNESS", str(witness))
    repo = tmp_path / "repo"
    repo.mkdir()
    with open_store(repo) as opened:
        for n in range(5):
            opened.audit("ci", "order_state", f"o{n}", {})
        # the attacker removes the tail and every checkpoint that names it
        opened._execute("DELETE FROM audit WHERE seq > 3")
        opened._execute("DELETE FROM audit_checkpoints WHERE seq > 3")
    assert json.loads(witness.read_text())["default"]["seq"] == 5
    assert witness.stat().st_mode & 0o077 == 0
    code, output = _verify(repo)
    assert code == 1
    assert "covers up to #5: entries were cut off the end" in output


def test_checkpoints_survive_a_master_key_rotation(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((OTHER, KEY)).encode())
    with open_store(tmp_path) as rotated:
        rotated.audit("ci", "after_rotation", None, {})
        report = verify_log(rotated)
    assert report.intact, report.problems
    assert report.latest is not None and report.latest.key_id == OTHER.key_id


def test_without_a_key_verify_says_what_it_cannot_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACCESSHIVE_AUDIT_KEY", raising=False)
    monkeypatch.delenv("ACCESSHIVE_MASTER_KEY", raising=False)
    with open_store(tmp_path) as opened:
        opened.audit("ci", "x", None, {})
        assert opened.checkpoints() == []
    result = CliRunner().invoke(main, ["audit", "verify", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["intact"] is True and payload["signatures_checked"] is False
    assert "cannot be told from the real log" in payload["warnings"][0]


def test_a_malformed_key_is_an_error_not_silence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", "ahk1:nope")
    with open_store(tmp_path) as opened, pytest.raises(StoreError, match="ACCESSHIVE_AUDIT_KEY"):
        opened.audit("ci", "x", None, {})


COLUMNS = ("environment", "seq", "at", "actor", "event", "subject", "details", "prev_hash", "hash")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    index=st.integers(min_value=0, max_value=5),
    column=st.sampled_from(COLUMNS),
    text=st.text(min_size=1, max_size=8),
)
def test_any_edit_to_any_column_of_any_entry_is_found(
    tmp_path_factory: pytest.TempPathFactory,
    keyed: None,
    index: int,
    column: str,
    text: str,
) -> None:
    root = tmp_path_factory.mktemp("audit")
    with open_store(root) as opened:
        for n in range(6):
            opened.audit("ci", "order_state", f"o{n}", {"n": n})
        entry = opened.audit_entries()[index]
        old = getattr(entry, column)
        if column == "seq":
            new: object = 1000 + len(text)
        elif column == "details":
            new = json.dumps({"n": text})
        else:
            new = f"{old}{text}" if old else text
        opened._execute(f"UPDATE audit SET {column} = ? WHERE seq = ?", (new, entry.seq))
        report = verify_log(opened)
    assert not report.intact, (column, index, new)


def test_the_witness_file_keeps_each_environments_latest_as_stable_readable_json(
    store: Store, tmp_path: Path
) -> None:
    """One entry per environment, sorted, indented: it diffs cleanly wherever it is kept;
    an unreadable file is replaced, and no temporary file is left beside it."""
    witness = tmp_path / "witness" / "audit-witness.json"
    witness.parent.mkdir()
    witness.write_text("not json{")
    latest = store.checkpoints()[-1]
    write_witness(witness, dataclasses.replace(latest, environment="prod"))
    write_witness(witness, dataclasses.replace(latest, environment="dev"))
    data = {env: {**latest.to_json(), "environment": env} for env in ("dev", "prod")}
    assert witness.read_text(encoding="utf-8") == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert [p.name for p in witness.parent.iterdir()] == ["audit-witness.json"]
    assert read_witness(witness, "prod") == dataclasses.replace(latest, environment="prod")
    assert read_witness(witness, "staging") is None


def test_the_witness_path_comes_from_the_environment_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCESSHIVE_AUDIT_WITNESS", "/from/process")
    assert witness_path({"ACCESSHIVE_AUDIT_WITNESS": " /from/given "}) == Path("/from/given")
    assert witness_path({}) is None
    assert witness_path() == Path("/from/process")


def test_audit_keys_show_their_ids_and_variable_never_the_key(keyed: None) -> None:
    keys = AuditKeys.from_environment()
    assert keys is not None
    assert repr(keys) == f"AuditKeys(['{KEY.key_id}'], from $ACCESSHIVE_AUDIT_KEY)"
    assert Keyring((KEY,)).encode() not in repr(keys)
