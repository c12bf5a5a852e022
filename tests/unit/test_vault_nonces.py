"""AES-GCM never sees a nonce twice under one key: the vault's envelope, over many seals.

A repeated nonce under one AES-GCM key gives away the XOR of the two plaintexts
and the key's authentication subkey. Every seal draws a fresh data key, but the
master key wraps all of them: a fixed wrapping nonce would repeat under the same
master key at the second seal. These tests seal the same secret for the same
identity, kind and keyring many times and look at the stored fields themselves.
"""

from __future__ import annotations

from accesshive.vault.envelope import Sealed, rewrap, seal, unseal
from accesshive.vault.keys import Keyring, MasterKey

SEALS = 200
NONCE = 12


def _seals(ring: Keyring) -> list[Sealed]:
    return [seal("the-same-secret", ring, "ci-token", "api_key") for _ in range(SEALS)]


def _assert_all_distinct(values: list[bytes], what: str) -> None:
    assert len(set(values)) == len(values), f"{what} repeats across {len(values)} seals"


def test_data_key_nonces_and_ciphertexts_never_repeat() -> None:
    ring = Keyring((MasterKey.generate(),))
    sealed = _seals(ring)
    assert {s.key_id for s in sealed} == {ring.current.key_id}
    _assert_all_distinct([s.ciphertext[:NONCE] for s in sealed], "the data-key nonce")
    _assert_all_distinct([s.ciphertext for s in sealed], "the ciphertext")
    assert all(s.ciphertext[:NONCE] != bytes(NONCE) for s in sealed)
    assert {unseal(s, ring, "ci-token", "api_key") for s in sealed} == {"the-same-secret"}


def test_wrapping_nonces_and_wrapped_keys_never_repeat() -> None:
    ring = Keyring((MasterKey.generate(),))
    sealed = _seals(ring)
    # every data key is wrapped by the one master key: its nonces must all differ
    _assert_all_distinct([s.wrapped_key[:NONCE] for s in sealed], "the wrapping nonce")
    _assert_all_distinct([s.wrapped_key for s in sealed], "the wrapped key")
    assert all(s.wrapped_key[:NONCE] != bytes(NONCE) for s in sealed)


def test_rewrapping_under_a_new_master_key_draws_fresh_nonces() -> None:
    old = Keyring((MasterKey.generate(),))
    sealed = _seals(old)
    new = Keyring((MasterKey.generate(), *old.keys))
    rewrapped = [rewrap(s, new) for s in sealed]
    assert {s.key_id for s in rewrapped} == {new.current.key_id}
    _assert_all_distinct([s.wrapped_key[:NONCE] for s in rewrapped], "the re-wrapping nonce")
    _assert_all_distinct([s.wrapped_key for s in rewrapped], "the re-wrapped key")
    assert {unseal(s, new, "ci-token", "api_key") for s in rewrapped} == {"the-same-secret"}
