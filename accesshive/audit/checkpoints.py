"""Signed checkpoints: what makes a cut or rehashed audit log show.

Why: the hash chain alone proves only that the entries agree with each other.
Someone who can write the store can delete the newest entries, or edit one and
recompute every later hash, and the chain still holds. A checkpoint is the
chain's head (environment, seq, hash) signed with a key that does not live in the
store; every append records one, and every later append and ``audit verify``
check the log against the latest. Without the key, a checkpoint cannot be made,
so a log rewritten below a checkpoint, or cut short of one, is found.

The key: an Ed25519 key derived (HKDF-SHA256) from a master key in the
``ahk1:<id>:<base64>`` form, taken from ``ACCESSHIVE_AUDIT_KEY`` (a dedicated
audit key) or else ``ACCESSHIVE_MASTER_KEY`` (the vault's master keyring). Every
key of the ring can verify (so checkpoints survive a master key rotation); the
first one signs.

What it cannot do, by design: an attacker who can write the store can delete the
newest checkpoints together with the entries after the older ones they keep. To
see that too, keep a copy of the latest checkpoint where the store's writers
cannot reach: ``ACCESSHIVE_AUDIT_WITNESS`` names a file that every checkpoint is
also written to and that the checks read; entries forwarded to a SIEM are
pinned the same way (their cursors).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from accesshive.audit.chain import Problem

if TYPE_CHECKING:
    from accesshive.vault.keys import Keyring

KEY_VARIABLES = ("ACCESSHIVE_AUDIT_KEY", "ACCESSHIVE_MASTER_KEY")
WITNESS_VARIABLE = "ACCESSHIVE_AUDIT_WITNESS"
_INFO = b"accesshive audit checkpoint signing key v1"


@dataclass(frozen=True)
class Checkpoint:
    """The audit log's head as it was at ``at``, signed."""

    environment: str
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        return _message(self.environment, self.seq, self.hash, self.at)

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        return cls(
            str(data["environment"]),
            int(data["seq"]),
            str(data["hash"]),
            str(data["at"]),
            str(data["key_id"]),
            str(data["signature"]),
        )


def _message(environment: str, seq: int, hash_: str, at: str) -> bytes:
    return "\0".join(["accesshive audit checkpoint v1", environment, str(seq), hash_, at]).encode()


class AuditKeys:
    """The signing keys derived from a master keyring (never shown, never stored)."""

    def __init__(self, keyring: Keyring, variable: str) -> None:
        self.variable = variable
        self._keys = {k.key_id: _derive(k.key) for k in keyring.keys}
        self._current = keyring.current.key_id

    def __repr__(self) -> str:
        return f"AuditKeys({sorted(self._keys)}, from ${self.variable})"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AuditKeys | None:
        """The audit key of this process's environment; None when none is set. A value
        that is set but malformed is an error (a typo must not switch checkpoints off)."""
        from accesshive.errors import StoreError
        from accesshive.vault.keys import Keyring

        env = os.environ if environ is None else environ
        for variable in KEY_VARIABLES:
            text = env.get(variable, "").strip()
            if text:
                try:
                    return cls(Keyring.parse(text), variable)
                except Exception as exc:  # VaultError: the keyring's own message
                    raise StoreError(f"${variable} cannot sign audit checkpoints: {exc}") from exc
        return None

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def sign(self, environment: str, seq: int, hash_: str, at: str) -> Checkpoint:
        key = self._keys[self._current]
        signature = key.sign(_message(environment, seq, hash_, at)).hex()
        return Checkpoint(environment, seq, hash_, at, self._current, signature)

    def verify(self, checkpoint: Checkpoint) -> str | None:
        """None when the signature holds, else why not."""
        key = self._keys.get(checkpoint.key_id)
        if key is None:
            return (
                f"signed by key {checkpoint.key_id}, which is not in ${self.variable} "
                f"({', '.join(sorted(self._keys))}); add the old key to the ring to check it"
            )
        try:
            key.public_key().verify(bytes.fromhex(checkpoint.signature), checkpoint.message())
        except (InvalidSignature, ValueError):
            return "its signature is not valid (forged, or edited after it was signed)"
        return None


def _derive(master: bytes) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master)
    return Ed25519PrivateKey.from_private_bytes(seed)


def witness_path(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    raw = env.get(WITNESS_VARIABLE, "").strip()
    return Path(raw) if raw else None


def read_witness(path: Path, environment: str) -> Checkpoint | None:
    """The checkpoint the witness file holds for ``environment`` (None: none yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        from accesshive.errors import StoreError

        raise StoreError(f"cannot read the audit witness file {path}: {exc}") from exc
    entry = data.get(environment) if isinstance(data, dict) else None
    return Checkpoint.from_json(entry) if isinstance(entry, dict) else None


def write_witness(path: Path, checkpoint: Checkpoint) -> None:
    """Keep ``checkpoint`` as its environment's latest in the witness file (atomic)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data[checkpoint.environment] = checkpoint.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def check_checkpoints(
    heads: Mapping[int, str],
    last_seq: int,
    checkpoints: list[Checkpoint],
    keys: AuditKeys | None,
) -> list[Problem]:
    """What the checkpoints say is wrong with the log whose entries' hashes are ``heads``
    (seq → hash) and whose newest entry is ``last_seq``; signatures are checked when the
    keys are at hand (without them a checkpoint proves nothing against a forger, but
    still catches a careless cut)."""
    problems: list[Problem] = []
    for cp in sorted(checkpoints, key=lambda c: (c.seq, c.at)):
        if keys is not None:
            why = keys.verify(cp)
            if why is not None:
                problems.append(Problem(cp.seq, f"the checkpoint signed at {cp.at}: {why}"))
                continue
        if cp.seq > last_seq:
            problems.append(
                Problem(
                    cp.seq,
                    f"missing: the log ends at #{last_seq}, but a checkpoint signed at "
                    f"{cp.at} covers up to #{cp.seq}: entries were cut off the end",
                )
            )
        elif heads.get(cp.seq) != cp.hash:
            problems.append(
                Problem(
                    cp.seq,
                    f"not the entry the checkpoint signed at {cp.at} holds: the log up to "
                    "here was rewritten and its hashes recomputed, or the entry removed",
                )
            )
    return problems
