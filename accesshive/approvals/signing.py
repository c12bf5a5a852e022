"""Ed25519 signatures over approvals: what is signed, and how keys are read.

The signed message binds an approval to one plan, one order and that order's
exact content: an approval for another plan or for an order that changed since
does not verify.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from accesshive.errors import ApprovalError
from accesshive.plan.orders import canonical_json


def message(plan_digest: str, order_id: str, content_digest: str, reviewer: str, at: str) -> bytes:
    return canonical_json(
        {
            "purpose": "accesshive-approval-v1",
            "plan_digest": plan_digest,
            "order": order_id,
            "content_digest": content_digest,
            "reviewer": reviewer,
            "signed_at": at,
        }
    ).encode("utf-8")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ApprovalError(f"cannot read the signing key {path} ({exc.strerror})") from exc
    key: object
    try:
        if b"OPENSSH PRIVATE KEY" in raw:
            key = serialization.load_ssh_private_key(raw, password=None)
        else:
            key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise ApprovalError(f"{path} is not an unencrypted private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ApprovalError(
            f"{path} is not an Ed25519 key; generate one with ssh-keygen -t ed25519"
        )
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_ssh_public_key(text.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ApprovalError(f"not an OpenSSH public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ApprovalError("not an Ed25519 public key")
    return key


def public_openssh(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def sign(key: Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload)).decode()


def verify(public_key: str, payload: bytes, signature: str) -> bool:
    try:
        load_public_key(public_key).verify(base64.b64decode(signature, validate=True), payload)
    except (InvalidSignature, ValueError, ApprovalError):
        return False
    return True
