"""SSH signatures over approvals: what is signed, how ssh-keygen signs it, how it is checked.

The signed message binds an approval to one plan, one order and that order's
exact content: an approval for another plan or for an order that changed since
does not verify. It is signed in the ``accesshive`` namespace of OpenSSH's SSHSIG
format (``ssh-keygen -Y sign -n accesshive``, as git signs commits), so a reviewer's
existing key works however it is kept: a key file (ssh-keygen asks its passphrase),
ssh-agent (give the public key: ``--key ~/.ssh/id_ed25519.pub``) or a FIDO security key.
accesshive never reads a private key; it verifies in-process (:mod:`accesshive.sshsig`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from accesshive.errors import ApprovalError
from accesshive.plan.orders import canonical_json
from accesshive.sshsig import PublicKey, SshSigError
from accesshive.sshsig import parse as parse_sshsig

NAMESPACE = "accesshive"
"""The SSHSIG namespace: a signature made for git, or for anything else, is not an approval."""


def message(plan_digest: str, order_id: str, content_digest: str, reviewer: str, at: str) -> bytes:
    return canonical_json(
        {
            "purpose": "accesshive-approval-v2",
            "plan_digest": plan_digest,
            "order": order_id,
            "content_digest": content_digest,
            "reviewer": reviewer,
            "signed_at": at,
        }
    ).encode("utf-8")


def public_key_of(key_path: Path) -> PublicKey | None:
    """The public half of ``--key``: the file itself when it is a ``.pub``, else the
    ``.pub`` beside it; None when there is none (it is then read from the signature)."""
    candidates = [key_path] if key_path.suffix == ".pub" else [Path(f"{key_path}.pub")]
    for path in candidates:
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            continue
        try:
            return PublicKey.parse(text)
        except SshSigError as exc:
            raise ApprovalError(f"{path} is not an OpenSSH public key ({exc})") from exc
    return None


def _keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise ApprovalError(
            "ssh-keygen was not found on PATH: approvals are signed with it; install "
            "OpenSSH's client (apt-get install openssh-client, brew install openssh)"
        )
    return found


def sign(key_path: Path, messages: list[bytes]) -> list[str]:
    """Sign each message with ``ssh-keygen -Y sign -n accesshive -f KEY``: one run for
    all of them (one passphrase prompt). Returns the armored signatures, in order.

    ssh-keygen reads the passphrase from the terminal (or SSH_ASKPASS), uses the agent
    at SSH_AUTH_SOCK when KEY is a public key it holds, and asks for a security key's
    touch; what it says goes to stderr as it says it.
    """
    keygen = _keygen()
    with tempfile.TemporaryDirectory(prefix="accesshive-approve-") as tmp:
        files = []
        for i, payload in enumerate(messages):
            path = Path(tmp) / f"approval-{i}"
            path.write_bytes(payload)
            files.append(str(path))
        said: list[str] = []
        with subprocess.Popen(
            [keygen, "-Y", "sign", "-n", NAMESPACE, "-f", str(key_path), *files],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        ) as proc:
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith(("Signing file ", "Write signature to ")):
                    continue  # our temporary files: nothing for the reviewer
                said.append(line.strip())
                sys.stderr.write(line)
                sys.stderr.flush()
            code = proc.wait()
        if code != 0:
            raise ApprovalError(_failure(key_path, said))
        try:
            return [Path(f"{f}.sig").read_text(encoding="ascii") for f in files]
        except OSError as exc:
            raise ApprovalError(f"ssh-keygen wrote no signature ({exc.strerror})") from exc


_PROMPT = re.compile(r"^(Enter passphrase[^:]*:\s*)+")


def _failure(key_path: Path, said: list[str]) -> str:
    # the passphrase prompt, printed on the same line as what follows when there is no
    # terminal ("Enter passphrase: Load key ...: incorrect passphrase"): drop the prompt,
    # keep the reason
    reasons = (_PROMPT.sub("", line).strip() for line in said)
    why = "; ".join(line for line in reasons if line)
    text = f"ssh-keygen could not sign with {key_path}" + (f": {why}" if why else "")
    if key_path.suffix == ".pub":
        agent = os.environ.get("SSH_AUTH_SOCK")
        if not agent:
            text += (
                ". With a public key, the private key is used through ssh-agent, and "
                "SSH_AUTH_SOCK is not set: start the agent and `ssh-add` the key"
            )
        else:
            text += (
                f". With a public key, the private key is used through ssh-agent ({agent}): "
                "check `ssh-add -l` lists it, or `ssh-add` it"
            )
    return text


def verify(
    allowed: Iterable[PublicKey], payload: bytes, signature: str
) -> tuple[PublicKey | None, str | None]:
    """(the key that signed, None) when ``signature`` is a valid ``accesshive`` SSH
    signature of ``payload`` by one of ``allowed``; else (key if known, why not)."""
    try:
        sig = parse_sshsig(signature)
    except SshSigError as exc:
        return None, f"the signature is malformed ({exc})"
    key = sig.public_key
    if sig.namespace != NAMESPACE:
        return key, f"signed for namespace '{sig.namespace}', not '{NAMESPACE}'"
    if not key.verify(sig.signature, sig.signed_data(payload)):
        return key, "the signature does not verify (forged or edited)"
    if key.blob not in {k.blob for k in allowed}:
        return key, f"signed by {key.key_type} {key.fingerprint()}, not a key of this reviewer"
    return key, None
