"""Envelope encryption with AES-256-GCM: a fresh data key per secret, wrapped by a master key.

Why envelope: rotating the master key re-wraps 32-byte data keys, never
re-encrypts the secrets, and a leaked data key opens one secret only. The
identity and kind of the secret are authenticated data, so a ciphertext moved
to another identity does not open.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from accesshive.errors import VaultError
from accesshive.vault.keys import Keyring


@dataclass(frozen=True)
class Sealed:
    key_id: str
    wrapped_key: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"Sealed(key_id={self.key_id!r}, {len(self.ciphertext)} bytes)"


def _aad(identity: str, kind: str) -> bytes:
    return f"accesshive/v1/{identity}/{kind}".encode()


def seal(plaintext: str, keyring: Keyring, identity: str, kind: str) -> Sealed:
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = nonce + AESGCM(data_key).encrypt(
        nonce, plaintext.encode("utf-8"), _aad(identity, kind)
    )
    master = keyring.current
    wrap_nonce = os.urandom(12)
    wrapped = wrap_nonce + AESGCM(master.key).encrypt(wrap_nonce, data_key, master.key_id.encode())
    return Sealed(master.key_id, wrapped, ciphertext)


def unseal(sealed: Sealed, keyring: Keyring, identity: str, kind: str) -> str:
    data_key = _unwrap(sealed, keyring)
    try:
        plain = AESGCM(data_key).decrypt(
            sealed.ciphertext[:12], sealed.ciphertext[12:], _aad(identity, kind)
        )
    except InvalidTag:
        raise VaultError(
            f"the secret of '{identity}' does not open: its ciphertext was altered or "
            "belongs to another identity"
        ) from None
    return plain.decode("utf-8")


def rewrap(sealed: Sealed, keyring: Keyring) -> Sealed:
    """The same secret with its data key wrapped by the keyring's current master key."""
    if sealed.key_id == keyring.current.key_id:
        return sealed
    data_key = _unwrap(sealed, keyring)
    master = keyring.current
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(master.key).encrypt(nonce, data_key, master.key_id.encode())
    return Sealed(master.key_id, wrapped, sealed.ciphertext)


def _unwrap(sealed: Sealed, keyring: Keyring) -> bytes:
    master = keyring.get(sealed.key_id)
    try:
        return AESGCM(master.key).decrypt(
            sealed.wrapped_key[:12], sealed.wrapped_key[12:], master.key_id.encode()
        )
    except InvalidTag:
        raise VaultError(
            f"a data key wrapped by master key {sealed.key_id} does not open: wrong key or "
            "altered record"
        ) from None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)
