"""Real OpenSSH for the approval tests: keys made by ``ssh-keygen``, a throwaway
``ssh-agent`` on its own socket, and passphrases given through an SSH_ASKPASS script
(``SSH_ASKPASS_REQUIRE=force``) that reads them from the environment, never from argv
or a file."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PASSPHRASE_VAR = "ACCESSHIVE_TEST_PASSPHRASE"


def have_openssh() -> bool:
    return all(shutil.which(tool) for tool in ("ssh-keygen", "ssh-agent", "ssh-add"))


def keygen(path: Path, passphrase: str = "", key_type: str = "ed25519") -> str:
    """A new key pair at ``path`` (and ``path.pub``); returns the public key line."""
    args = ["ssh-keygen", "-q", "-t", key_type, "-f", str(path), "-C", path.name]
    if key_type == "rsa":
        args += ["-b", "3072"]
    subprocess.run([*args, "-N", passphrase], check=True, stdin=subprocess.DEVNULL)
    return Path(f"{path}.pub").read_text().strip()


def keygen_sign(key: Path, data: bytes, namespace: str = "accesshive") -> str:
    """What ``ssh-keygen -Y sign`` makes of ``data`` (on stdin) with the private key at
    ``key``: an armored SSH signature, made independently of accesshive."""
    done = subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", str(key)],
        input=data,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode()


def askpass_env(directory: Path, passphrase: str) -> dict[str, str]:
    """Environment that makes ssh-keygen and ssh-add take ``passphrase`` from a script."""
    script = directory / "askpass.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "${PASSPHRASE_VAR}"\n')
    script.chmod(0o700)
    return {
        "SSH_ASKPASS": str(script),
        "SSH_ASKPASS_REQUIRE": "force",
        "DISPLAY": os.environ.get("DISPLAY", ":0"),
        PASSPHRASE_VAR: passphrase,
    }


@contextmanager
def agent() -> Iterator[dict[str, str]]:
    """An ssh-agent of this test, in the foreground on its own socket; yields the
    environment that points at it (SSH_AUTH_SOCK)."""
    directory = Path(tempfile.mkdtemp(prefix="ah-agent-", dir="/tmp"))  # short socket path
    socket = directory / "agent.sock"
    proc = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ssh-agent did not start")
            time.sleep(0.02)
        yield {"SSH_AUTH_SOCK": str(socket)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def ssh_add(key: Path, env: dict[str, str]) -> None:
    """``ssh-add KEY`` into the agent of ``env`` (its passphrase through SSH_ASKPASS)."""
    result = subprocess.run(
        ["ssh-add", str(key)],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,  # no controlling terminal: askpass it is
    )
    assert result.returncode == 0, result.stderr
