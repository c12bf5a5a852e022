"""SSH signatures (OpenSSH's SSHSIG format, as ``ssh-keygen -Y sign`` writes them and
git uses for commit signing), verified in-process.

Armor: ``-----BEGIN SSH SIGNATURE-----`` / base64 / ``-----END SSH SIGNATURE-----``
around the blob (PROTOCOL.sshsig)::

    byte[6] "SSHSIG"  uint32 version (1)  string publickey  string namespace
    string reserved   string hash_algorithm (sha512 | sha256)  string signature

The key signs ``"SSHSIG" || string namespace || string reserved || string
hash_algorithm || string H(message)``. Key types: ``ssh-ed25519``,
``sk-ssh-ed25519@openssh.com`` (FIDO: the authenticator signs
``SHA256(application) || flags || uint32 counter || SHA256(data)``, PROTOCOL.u2f; user
presence is required), ``ecdsa-sha2-nistp256``, and ``ssh-rsa`` keys with
``rsa-sha2-256``/``rsa-sha2-512`` signatures.

Signing is ssh-keygen's job (:mod:`accesshive.approvals.signing`): it reads passphrases,
talks to ssh-agent and to security keys; accesshive never touches a private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAGIC = b"SSHSIG"
VERSION = 1
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
KEY_TYPES = ("ssh-ed25519", SK_ED25519, "ecdsa-sha2-nistp256", "ssh-rsa")
_RSA_SIGS = {"rsa-sha2-512": hashes.SHA512, "rsa-sha2-256": hashes.SHA256}
_FLAG_USER_PRESENT = 0x01


class SshSigError(ValueError):
    """Not a well-formed SSH signature, or not one this module can check."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise SshSigError("truncated")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())

    def text(self) -> str:
        try:
            return self.string().decode("ascii")
        except UnicodeDecodeError as exc:
            raise SshSigError("a name is not ASCII") from exc

    def done(self) -> None:
        if self.at != len(self.data):
            raise SshSigError("trailing bytes")


def ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@dataclass(frozen=True)
class PublicKey:
    """An OpenSSH public key: its type and wire blob (what ``ssh-keygen`` prints in base64)."""

    key_type: str
    blob: bytes

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """``TYPE BASE64 [COMMENT]``, as in an ``.pub`` file or an allowed-signers line."""
        fields = text.split()
        if len(fields) < 2:
            raise SshSigError("expected 'TYPE BASE64 [COMMENT]'")
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except binascii.Error as exc:
            raise SshSigError("the key is not valid base64") from exc
        key = cls.from_blob(blob)
        if key.key_type != fields[0]:
            raise SshSigError(f"the key says {fields[0]} but holds a {key.key_type} key")
        return key

    @classmethod
    def from_blob(cls, blob: bytes) -> PublicKey:
        reader = _Reader(blob)
        key_type = reader.text()
        if key_type not in KEY_TYPES:
            raise SshSigError(f"unsupported key type {key_type}")
        key = cls(key_type, blob)
        key._fields()  # well-formed?
        return key

    def _fields(self) -> list[bytes]:
        reader = _Reader(self.blob)
        reader.text()
        count = {"ssh-ed25519": 1, SK_ED25519: 2, "ecdsa-sha2-nistp256": 2, "ssh-rsa": 2}
        fields = [reader.string() for _ in range(count[self.key_type])]
        reader.done()
        if self.key_type in ("ssh-ed25519", SK_ED25519) and len(fields[0]) != 32:
            raise SshSigError("an Ed25519 key is 32 bytes")
        if self.key_type == "ecdsa-sha2-nistp256" and fields[0] != b"nistp256":
            raise SshSigError("not a nistp256 key")
        return fields

    def openssh(self) -> str:
        return f"{self.key_type} {base64.b64encode(self.blob).decode()}"

    def fingerprint(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` (the SSH signature encoding) is this key's over ``data``."""
        try:
            return self._verify(_Reader(signature), data)
        except (SshSigError, InvalidSignature, UnsupportedAlgorithm, ValueError):
            return False

    def _verify(self, sig: _Reader, data: bytes) -> bool:
        fields = self._fields()
        algorithm = sig.text()
        raw = sig.string()
        if self.key_type == "ssh-ed25519":
            sig.done()
            if algorithm != "ssh-ed25519":
                return False
            Ed25519PublicKey.from_public_bytes(fields[0]).verify(raw, data)
            return True
        if self.key_type == SK_ED25519:
            flags = sig.take(1)
            counter = sig.take(4)
            sig.done()
            if algorithm != SK_ED25519 or not flags[0] & _FLAG_USER_PRESENT:
                return False
            signed = (
                hashlib.sha256(fields[1]).digest() + flags + counter + hashlib.sha256(data).digest()
            )
            Ed25519PublicKey.from_public_bytes(fields[0]).verify(raw, signed)
            return True
        if self.key_type == "ecdsa-sha2-nistp256":
            sig.done()
            if algorithm != "ecdsa-sha2-nistp256":
                return False
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), fields[1])
            rs = _Reader(raw)
            r, s = _mpint(rs.string()), _mpint(rs.string())
            rs.done()
            point.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
            return True
        sig.done()  # ssh-rsa
        hash_type = _RSA_SIGS.get(algorithm)
        if hash_type is None:
            return False  # ssh-rsa (SHA-1) signatures are not accepted
        e, n = _mpint(fields[0]), _mpint(fields[1])
        if n.bit_length() < 2048:
            return False
        public = rsa.RSAPublicNumbers(e, n).public_key()
        public.verify(raw, data, padding.PKCS1v15(), hash_type())
        return True


def _mpint(raw: bytes) -> int:
    if raw and raw[0] & 0x80:
        raise SshSigError("negative integer")
    return int.from_bytes(raw, "big")


@dataclass(frozen=True)
class SshSignature:
    public_key: PublicKey
    namespace: str
    hash_algorithm: str
    reserved: bytes
    signature: bytes

    def signed_data(self, message: bytes) -> bytes:
        return (
            MAGIC
            + ssh_string(self.namespace.encode())
            + ssh_string(self.reserved)
            + ssh_string(self.hash_algorithm.encode())
            + ssh_string(HASHES[self.hash_algorithm](message).digest())
        )


def is_armored(text: str) -> bool:
    return text.lstrip().startswith(BEGIN)


def parse(armored: str) -> SshSignature:
    """The signature in ``armored`` (``ssh-keygen -Y sign``'s output); SshSigError if malformed."""
    lines = [line.strip() for line in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise SshSigError("not an SSH signature (-----BEGIN SSH SIGNATURE-----)")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error as exc:
        raise SshSigError("the signature is not valid base64") from exc
    reader = _Reader(blob)
    if reader.take(6) != MAGIC:
        raise SshSigError("not an SSHSIG blob")
    version = reader.uint32()
    if version != VERSION:
        raise SshSigError(f"unsupported SSHSIG version {version}")
    key = PublicKey.from_blob(reader.string())
    namespace = reader.text()
    reserved = reader.string()
    hash_algorithm = reader.text()
    signature = reader.string()
    reader.done()
    if hash_algorithm not in HASHES:
        raise SshSigError(f"unsupported hash algorithm {hash_algorithm}")
    return SshSignature(key, namespace, hash_algorithm, reserved, signature)


def armor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode()
    body = "\n".join(text[i : i + 70] for i in range(0, len(text), 70))
    return f"{BEGIN}\n{body}\n{END}\n"


def verify(armored: str, message: bytes, namespace: str) -> PublicKey:
    """The key that made this valid signature of ``message`` in ``namespace``.

    Raises SshSigError saying what is wrong: malformed, another namespace, or a
    signature that does not verify. The caller decides whether the key is trusted.
    """
    sig = parse(armored)
    if sig.namespace != namespace:
        raise SshSigError(f"signed for namespace '{sig.namespace}', not '{namespace}'")
    if not sig.public_key.verify(sig.signature, sig.signed_data(message)):
        raise SshSigError("the signature does not verify")
    return sig.public_key
