"""``audit verify`` as its readers see it: the JSON report, every problem named with its
entry, the warnings about what could not be checked, and checkpoints that stay
verifiable across releases and environments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accesshive.audit.checkpoints import AuditKeys, Checkpoint, read_witness
from accesshive.cli import main
from accesshive.errors import StoreError
from accesshive.store import open_store
from accesshive.vault.keys import Keyring, MasterKey

KEY = MasterKey.from_bytes(bytes(range(32)))
OTHER = MasterKey.from_bytes(bytes(range(1, 33)))


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("ACCESSHIVE_AUDIT_KEY", "ACCESSHIVE_MASTER_KEY", "ACCESSHIVE_AUDIT_WITNESS"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((KEY,)).encode())


def _fill(root: Path, n: int = 4, environment: str = "default") -> None:
    with open_store(root, environment) as store:
        for i in range(n):
            store.audit("ci", "order_state", f"o{i}", {"n": i})


def _report(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["audit", "verify", str(root), "--format", "json", *args])
    return result.exit_code, json.loads(result.stdout)


def _text(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", str(root)])
    return result.exit_code, result.output


def test_the_json_report_of_an_intact_signed_log(tmp_path: Path, keyed: None) -> None:
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        latest = store.checkpoints()[-1]
    code, report = _report(tmp_path)
    assert code == 0
    assert report == {
        "environment": "default",
        "intact": True,
        "entries": 4,
        "problems": [],
        "checkpoints": 4,
        "latest_checkpoint": latest.to_json(),
        "signatures_checked": True,
        "witness_checked": False,
        "warnings": [],
    }
    assert report["latest_checkpoint"]["seq"] == 4


def test_the_json_report_names_each_problem_with_its_entry(tmp_path: Path, keyed: None) -> None:
    _fill(tmp_path, environment="production")
    with open_store(tmp_path, "production") as store:
        store._execute("DELETE FROM audit WHERE seq = 4")
    code, report = _report(tmp_path, "--env", "production")
    assert code == 1
    assert report["environment"] == "production"
    assert report["intact"] is False
    assert report["entries"] == 3
    assert [p["seq"] for p in report["problems"]] == [4]
    assert report["problems"][0]["what"].startswith("missing: the log ends at #3")


def test_an_empty_log_verifies(tmp_path: Path, keyed: None) -> None:
    with open_store(tmp_path):
        pass
    code, report = _report(tmp_path)
    assert code == 0
    assert report["entries"] == 0 and report["intact"] is True
    assert report["latest_checkpoint"] is None
    assert report["warnings"] == []
    code, output = _text(tmp_path)
    assert code == 0 and "0 audit entries, chain intact" in output


def test_deleting_the_whole_log_is_a_cut_not_an_empty_log(tmp_path: Path, keyed: None) -> None:
    _fill(tmp_path, n=1)
    with open_store(tmp_path) as store:
        store._execute("DELETE FROM audit")
        at = store.checkpoints()[0].at
    code, report = _report(tmp_path)
    assert code == 1
    assert report["problems"] == [
        {
            "seq": 1,
            "what": f"missing: the log ends at #0, but a checkpoint signed at {at} covers up "
            "to #1: entries were cut off the end",
        }
    ]


def test_without_a_key_forwarded_entries_still_pin_the_log(tmp_path: Path) -> None:
    """No audit key, so no checkpoints: what was forwarded to a SIEM is what shows a cut."""
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        last = store.audit_entries()[-1]
        store.set_cursor("forward:siem", last.seq, last.hash)
        store._execute("DELETE FROM audit WHERE seq = ?", (last.seq,))
    code, report = _report(tmp_path)
    assert code == 1
    assert report["problems"] == [
        {"seq": 4, "what": "an entry already sent to the SIEM is missing or different here"}
    ]


def test_without_a_key_the_report_says_what_it_cannot_check(tmp_path: Path) -> None:
    _fill(tmp_path, n=2)
    code, report = _report(tmp_path)
    assert code == 0
    assert report["signatures_checked"] is False
    assert report["checkpoints"] == 0
    assert report["warnings"] == [
        "no audit key ($ACCESSHIVE_AUDIT_KEY or $ACCESSHIVE_MASTER_KEY): checkpoints are not "
        "signed or their signatures not checked, so a cut tail or a rehashed chain written by "
        "someone who can write the store cannot be told from the real log"
    ]


def test_a_log_written_before_the_key_was_set_is_not_pinned_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(tmp_path, n=2)  # no key: no checkpoint
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((KEY,)).encode())
    code, report = _report(tmp_path)
    assert code == 0
    assert report["warnings"] == [
        "the log has no checkpoint yet (written before checkpoints, or without a key): "
        "its end is not pinned until the next entry is written with the key set"
    ]


def test_entries_written_without_the_key_after_a_checkpoint_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyed: None
) -> None:
    _fill(tmp_path, n=2)
    code, report = _report(tmp_path)
    assert report["warnings"] == []  # the latest checkpoint covers the last entry
    monkeypatch.delenv("ACCESSHIVE_AUDIT_KEY")
    with open_store(tmp_path) as store:
        store.audit("ci", "keyless", None, {})
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((KEY,)).encode())
    code, report = _report(tmp_path)
    assert code == 0
    assert report["warnings"] == [
        "entries after #2 were written without the audit key and are not pinned by a checkpoint"
    ]


def test_an_edited_checkpoint_does_not_verify(tmp_path: Path, keyed: None) -> None:
    """Every field of a checkpoint is signed: moving one to another entry breaks it."""
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        at = next(c.at for c in store.checkpoints() if c.seq == 3)
        store._execute("UPDATE audit_checkpoints SET seq = 2 WHERE seq = 3")
    code, report = _report(tmp_path)
    assert code == 1
    assert report["problems"] == [
        {
            "seq": 2,
            "what": f"the checkpoint signed at {at}: its signature is not valid (forged, or "
            "edited after it was signed)",
        }
    ]


def test_every_bad_checkpoint_is_named(tmp_path: Path, keyed: None) -> None:
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        store._execute("UPDATE audit_checkpoints SET signature = '00' WHERE seq IN (1, 3)")
    code, report = _report(tmp_path)
    assert code == 1
    assert [p["seq"] for p in report["problems"]] == [1, 3]


def test_a_rewritten_entry_is_named_by_the_checkpoint_over_it(tmp_path: Path, keyed: None) -> None:
    _fill(tmp_path)
    with open_store(tmp_path) as store:
        at = next(c.at for c in store.checkpoints() if c.seq == 2)
        store._execute("UPDATE audit_checkpoints SET hash = 'f00' WHERE seq = 2")
        forged = AuditKeys(Keyring((KEY,)), "ACCESSHIVE_AUDIT_KEY").sign("default", 2, "f00", at)
        store._execute(
            "UPDATE audit_checkpoints SET signature = ? WHERE seq = 2", (forged.signature,)
        )
    code, report = _report(tmp_path)
    assert code == 1
    assert report["problems"] == [
        {
            "seq": 2,
            "what": f"not the entry the checkpoint signed at {at} holds: the log up to here "
            "was rewritten and its hashes recomputed, or the entry removed",
        }
    ]


def test_a_checkpoint_of_a_key_not_in_the_ring_names_the_ring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stray = MasterKey.from_bytes(bytes(range(2, 34)))
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((stray,)).encode())
    _fill(tmp_path, n=1)
    monkeypatch.setenv("ACCESSHIVE_AUDIT_KEY", Keyring((KEY, OTHER)).encode())
    code, report = _report(tmp_path)
    assert code == 1
    ring = ", ".join(sorted([KEY.key_id, OTHER.key_id]))
    assert report["problems"][0]["what"].endswith(
        f"signed by key {stray.key_id}, which is not in $ACCESSHIVE_AUDIT_KEY ({ring}); add "
        "the old key to the ring to check it"
    )


def test_a_checkpoint_signed_by_an_earlier_release_still_verifies() -> None:
    """Known answer: checkpoints already in stores and witness files must keep verifying
    after an upgrade (Ed25519 signatures are deterministic, so this one is fixed)."""
    stored = Checkpoint.from_json(
        {
            "environment": "production",
            "seq": 42,
            "hash": "ab" * 32,
            "at": "2026-11-29T10:00:00+00:00",
            "key_id": "0e9a1c66192922f6",
            "signature": "008fbb20086a65767f3df004e44a8438f522ff2a009e04c26151d292be5f120c"
            "4ce8a77c2cc938ac87065ea6c32ca2d4beda9061a24c036bafea53ce27319c02",
        }
    )
    keys = AuditKeys(Keyring((KEY,)), "ACCESSHIVE_AUDIT_KEY")
    assert KEY.key_id == stored.key_id
    assert keys.verify(stored) is None
    again = keys.sign(stored.environment, stored.seq, stored.hash, stored.at)
    assert again == stored


# ------------------------------------------------------------------ the witness file


def test_one_witness_file_keeps_every_environment(
    tmp_path: Path, keyed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness = tmp_path / "outside" / "of" / "the-store" / "witness.json"
    monkeypatch.setenv("ACCESSHIVE_AUDIT_WITNESS", str(witness))
    _fill(tmp_path, n=2, environment="sandbox")
    _fill(tmp_path, n=3, environment="production")
    _fill(tmp_path, n=1, environment="sandbox")
    held = json.loads(witness.read_text())
    assert sorted(held) == ["production", "sandbox"]
    production = read_witness(witness, "production")
    sandbox = read_witness(witness, "sandbox")
    assert production is not None and sandbox is not None
    with open_store(tmp_path, "production") as store:
        assert production == store.checkpoints()[-1]
    with open_store(tmp_path, "sandbox") as store:
        assert sandbox == store.checkpoints()[-1]
    assert read_witness(witness, "staging") is None
    code, report = _report(tmp_path, "--env", "production")
    assert code == 0 and report["witness_checked"] is True
    assert report["checkpoints"] == 4  # three in the store and the witness's copy


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', '{"default": "not a checkpoint"}'])
def test_a_witness_file_holding_no_checkpoint_is_rewritten_not_fatal(
    tmp_path: Path, keyed: None, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    witness = tmp_path / "witness.json"
    witness.write_text(content)
    monkeypatch.setenv("ACCESSHIVE_AUDIT_WITNESS", str(witness))
    assert read_witness(witness, "default") is None
    _fill(tmp_path, n=2)
    held = read_witness(witness, "default")
    assert held is not None and held.seq == 2


def test_an_unreadable_witness_file_is_an_error(
    tmp_path: Path, keyed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness = tmp_path / "witness.json"
    witness.write_text("{not json")
    with pytest.raises(StoreError) as caught:
        read_witness(witness, "default")
    assert str(caught.value).startswith(f"cannot read the audit witness file {witness}: ")
