"""The SSHSIG verifier against signatures made by the real ssh-keygen, and each way a
signature blob can be wrong (PROTOCOL.sshsig): every one is refused, none raises
anything but SshSigError."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from accesshive.sshsig import (
    SK_ED25519,
    PublicKey,
    SshSigError,
    armor,
    is_armored,
    parse,
    ssh_string,
    verify,
)
from tests.support.ssh import have_openssh, keygen, keygen_sign

pytestmark = pytest.mark.skipif(
    not have_openssh() and not os.environ.get("CI"), reason="needs openssh-client"
)

MESSAGE = b'{"purpose":"accesshive-approval-v2"}'


def _sign(key: Path, data: bytes = MESSAGE, namespace: str = "accesshive") -> str:
    return keygen_sign(key, data, namespace)


def _blob(armored: str) -> bytes:
    return base64.b64decode("".join(armored.strip().splitlines()[1:-1]))


def _fields(blob: bytes) -> list[bytes]:
    """publickey, namespace, reserved, hash_algorithm, signature of an SSHSIG blob."""
    at, out = 10, []
    for _ in range(5):
        (n,) = struct.unpack(">I", blob[at : at + 4])
        out.append(blob[at + 4 : at + 4 + n])
        at += 4 + n
    return out


def _build(fields: list[bytes], magic: bytes = b"SSHSIG", version: int = 1) -> str:
    return armor(magic + struct.pack(">I", version) + b"".join(ssh_string(f) for f in fields))


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PublicKey]:
    path = tmp_path_factory.mktemp("keys") / "k"
    return path, PublicKey.parse(keygen(path))


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa", "rsa"])
def test_ssh_keygen_signatures_verify_and_name_their_key(tmp_path: Path, key_type: str) -> None:
    public = PublicKey.parse(keygen(tmp_path / "k", key_type=key_type))
    signature = _sign(tmp_path / "k")
    assert is_armored(signature)
    assert verify(signature, MESSAGE, "accesshive") == public
    with pytest.raises(SshSigError) as caught:
        verify(signature, MESSAGE + b" ", "accesshive")
    assert str(caught.value) == "the signature does not verify"


def test_another_namespace_is_refused(key: tuple[Path, PublicKey]) -> None:
    with pytest.raises(SshSigError, match="namespace 'git', not 'accesshive'"):
        verify(_sign(key[0], namespace="git"), MESSAGE, "accesshive")


def test_a_rebuilt_blob_verifies_and_each_field_matters(key: tuple[Path, PublicKey]) -> None:
    fields = _fields(_blob(_sign(key[0])))
    assert verify(_build(fields), MESSAGE, "accesshive") == key[1]  # the rebuild is faithful
    for i, value in ((2, b"x"), (3, b"sha256")):  # reserved, hash algorithm: both are signed
        changed = list(fields)
        changed[i] = value
        with pytest.raises(SshSigError, match="does not verify"):
            verify(_build(changed), MESSAGE, "accesshive")


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda f: _build(f, magic=b"SSHSIH"), "not an SSHSIG blob"),
        (lambda f: _build(f, version=2), "unsupported SSHSIG version 2"),
        (lambda f: _build([*f[:3], b"md5", f[4]]), "unsupported hash algorithm md5"),
        (lambda f: _build(f)[:-40] + "\n-----END SSH SIGNATURE-----\n", "truncated|base64"),
        (lambda f: armor(_blob(_build(f)) + b"\0"), "trailing bytes"),
        (lambda f: _build([ssh_string(b"ssh-dss") + f[0][15:], *f[1:]]), "unsupported key"),
        (lambda f: _build(f).replace("-----BEGIN SSH SIGNATURE-----", ""), "not an SSH sig"),
        (lambda f: _build(f).replace("U1NIU0lH", "U1NIU0l*"), "base64"),
    ],
)
def test_malformed_signatures_are_refused(
    key: tuple[Path, PublicKey], mangle: object, why: str
) -> None:
    fields = _fields(_blob(_sign(key[0])))
    with pytest.raises(SshSigError, match=why):
        verify(mangle(fields), MESSAGE, "accesshive")  # type: ignore[operator]


def test_a_signature_by_another_algorithm_than_the_key_is_refused(
    key: tuple[Path, PublicKey],
) -> None:
    fields = _fields(_blob(_sign(key[0])))
    sig = fields[4]
    raw = sig[4 + 11 :]  # after string "ssh-ed25519"
    fields[4] = ssh_string(b"ssh-ed25518") + raw
    with pytest.raises(SshSigError, match="does not verify"):
        verify(_build(fields), MESSAGE, "accesshive")


def test_rsa_sha1_and_short_rsa_keys_are_refused(tmp_path: Path) -> None:
    keygen(tmp_path / "r", key_type="rsa")
    fields = _fields(_blob(_sign(tmp_path / "r")))
    sig_type = fields[4][4:16]
    assert sig_type == b"rsa-sha2-512"
    fields[4] = ssh_string(b"ssh-rsa") + fields[4][16:]
    with pytest.raises(SshSigError, match="does not verify"):
        verify(_build(fields), MESSAGE, "accesshive")
    # a genuine ssh-rsa (SHA-1) signature of the same data, made with the same key
    private = serialization.load_ssh_private_key((tmp_path / "r").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    data = parse(_build(fields)).signed_data(MESSAGE)
    sha1 = private.sign(data, padding.PKCS1v15(), hashes.SHA1())
    fields[4] = ssh_string(b"ssh-rsa") + ssh_string(sha1)
    with pytest.raises(SshSigError, match="does not verify"):
        verify(_build(fields), MESSAGE, "accesshive")
    sha512 = private.sign(data, padding.PKCS1v15(), hashes.SHA512())
    fields[4] = ssh_string(b"rsa-sha2-512") + ssh_string(sha512)
    assert verify(_build(fields), MESSAGE, "accesshive").key_type == "ssh-rsa"  # the control
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(tmp_path / "s")],
        check=True,
        capture_output=True,
    )
    with pytest.raises(SshSigError, match="does not verify"):
        verify(_sign(tmp_path / "s"), MESSAGE, "accesshive")


def test_public_key_lines_are_checked(key: tuple[Path, PublicKey]) -> None:
    line = key[1].openssh()
    assert PublicKey.parse(line + " alice@laptop") == key[1]
    assert key[1].fingerprint().startswith("SHA256:")
    for bad, why in (
        ("ssh-ed25519", "expected 'TYPE BASE64"),
        ("ssh-ed25519 !!!!", "base64"),
        ("ecdsa-sha2-nistp256 " + line.split()[1], "says ecdsa-sha2-nistp256 but holds"),
        ("ssh-ed25519 " + base64.b64encode(key[1].blob[:-1]).decode(), "truncated"),
        ("ssh-ed25519 " + base64.b64encode(key[1].blob + b"\0").decode(), "trailing"),
    ):
        with pytest.raises(SshSigError, match=why):
            PublicKey.parse(bad)
    assert not parse(_sign(key[0])).public_key.verify(b"", MESSAGE)


def _key_blob(*fields: bytes) -> bytes:
    return b"".join(ssh_string(f) for f in fields)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ((b"ssh-ed25519", b"\0" * 31), "an Ed25519 key is 32 bytes"),
        ((SK_ED25519.encode(), b"\0" * 33, b"ssh:"), "an Ed25519 key is 32 bytes"),
        ((SK_ED25519.encode(), b"\0" * 32), "truncated"),  # its application is missing
        ((b"ecdsa-sha2-nistp256", b"nistp384", b"\x04" + b"\0" * 96), "not a nistp256 key"),
        ((b"ecdsa-sha2-nistp256", b"nistp256"), "truncated"),  # no point
        ((b"ssh-rsa", b"\x01\x00\x01"), "truncated"),  # no modulus
        ((b"ssh-rsa", b"\x01\x00\x01", b"\0" * 16, b"x"), "trailing bytes"),
        ((b"ssh-dss", b"\0" * 16), "unsupported key type ssh-dss"),
        ((b"ssh-ed\xff",), "a name is not ASCII"),
    ],
)
def test_a_malformed_public_key_of_each_type_is_refused_saying_why(
    fields: tuple[bytes, ...], why: str
) -> None:
    """A reviewer's key in policies/review.yaml is read field by field: each type has its
    own count of fields, an Ed25519 key is 32 bytes, an ECDSA key is on nistp256."""
    with pytest.raises(SshSigError) as refused:
        PublicKey.from_blob(_key_blob(*fields))
    assert str(refused.value) == why


def test_a_well_formed_key_of_each_type_is_read_whole() -> None:
    sk = _key_blob(SK_ED25519.encode(), b"\1" * 32, b"ssh:")
    assert PublicKey.from_blob(sk) == PublicKey(SK_ED25519, sk)
    ecdsa = _key_blob(b"ecdsa-sha2-nistp256", b"nistp256", b"\x04" + b"\2" * 64)
    assert PublicKey.from_blob(ecdsa).key_type == "ecdsa-sha2-nistp256"
    rsa_key = _key_blob(b"ssh-rsa", b"\x01\x00\x01", b"\0" + b"\3" * 256)
    assert PublicKey.from_blob(rsa_key).key_type == "ssh-rsa"
