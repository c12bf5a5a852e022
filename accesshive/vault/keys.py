"""Master keys: the keys that wrap every secret's own data key.

A master key is written ``ahk1:<key id>:<base64 of 32 bytes>``; a keyring is one
or more of them separated by commas, the first being current (new secrets and
re-wrapping use it; the others only open older secrets). The key id is derived
from the key (a truncated SHA-256), so a wrong key is recognised, never used.
Keys come from an environment variable or a key file (``accesshive vault init``);
the design leaves room for a KMS or HashiCorp Vault to hold them instead. A key file
is written with mode 600, and one that its group or others may read or write is
refused, on reading as on writing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from accesshive.errors import VaultError
from accesshive.private_files import make_private_dir, open_to_others

PREFIX = "ahk1"


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    key: bytes

    def __repr__(self) -> str:  # never show the key itself
        return f"MasterKey(key_id={self.key_id!r})"

    @classmethod
    def generate(cls) -> MasterKey:
        return cls.from_bytes(secrets.token_bytes(32))

    @classmethod
    def from_bytes(cls, key: bytes) -> MasterKey:
        if len(key) != 32:
            raise VaultError("a master key is 32 bytes (AES-256)")
        return cls(hashlib.sha256(b"accesshive-key-id" + key).hexdigest()[:16], key)

    def encode(self) -> str:
        return f"{PREFIX}:{self.key_id}:{base64.b64encode(self.key).decode()}"


@dataclass(frozen=True)
class Keyring:
    keys: tuple[MasterKey, ...]

    def __repr__(self) -> str:
        return f"Keyring({[k.key_id for k in self.keys]})"

    @property
    def current(self) -> MasterKey:
        return self.keys[0]

    def get(self, key_id: str) -> MasterKey:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise VaultError(
            f"the secret is wrapped by master key {key_id}, which is not in the keyring "
            f"({', '.join(k.key_id for k in self.keys)}); add the old key to open it"
        )

    def encode(self) -> str:
        return ",".join(k.encode() for k in self.keys)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        keys = []
        for n, item in enumerate(t.strip() for t in text.split(",") if t.strip()):
            parts = item.split(":")
            if len(parts) != 3 or parts[0] != PREFIX:
                raise VaultError(f"master key #{n + 1} is not in the form {PREFIX}:<id>:<base64>")
            try:
                raw = base64.b64decode(parts[2], validate=True)
            except ValueError as exc:
                raise VaultError(f"master key #{n + 1} is not valid base64") from exc
            key = MasterKey.from_bytes(raw)
            if key.key_id != parts[1]:
                raise VaultError(f"master key #{n + 1} does not match its id {parts[1]}")
            keys.append(key)
        if not keys:
            raise VaultError("no master key given")
        return cls(tuple(keys))


def _refuse_open_mode(path: Path, mode: int) -> None:
    if open_to_others(mode):
        raise VaultError(
            f"the master key file {path} has mode {stat.S_IMODE(mode):04o}: its group or "
            f"others can read or write it, so accesshive refuses it; make it readable by "
            f"you only with `chmod 600 {path}` (and, if others could read it, rotate the "
            "master key: `accesshive vault rotate-key`)"
        )


def read_key_file(path: Path) -> str:
    """The text of a key file, refused when its group or others may read or write it."""
    try:
        with open(path, encoding="utf-8") as fh:
            _refuse_open_mode(path, os.fstat(fh.fileno()).st_mode)
            return fh.read().strip()
    except OSError as exc:
        raise VaultError(f"cannot read the key file {path} ({exc.strerror})") from exc


def write_key_file(path: Path, keyring: Keyring, *, overwrite: bool = True) -> None:
    """Write a keyring readable by its owner only (mode 600), atomically.

    The keyring goes to a new file created 600 beside ``path`` (``mkstemp``), which
    then takes its place, so a reader sees the old keyring or the new one, never a
    part, and the file is never open to others, whatever the umask. An existing file
    open to others is refused, not rewritten. ``overwrite=False`` refuses an existing
    file, even one created meanwhile by another process. A symbolic link is followed:
    the file it points to is replaced."""
    path = Path(os.path.realpath(path))
    try:
        _write_key_file(path, keyring.encode() + "\n", overwrite)
    except OSError as exc:
        raise VaultError(f"cannot write the key file {path} ({exc.strerror})") from exc


def _write_key_file(path: Path, text: str, overwrite: bool) -> None:
    try:
        _refuse_open_mode(path, path.stat().st_mode)
    except FileNotFoundError:
        pass
    else:
        if not overwrite:
            raise VaultError(f"{path} exists; a master key is never overwritten")
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path, text)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _sync_directory(path.parent)


def _link_new(tmp: str, path: Path, text: str) -> None:
    """Give the written file its name only if nothing has that name yet."""
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        raise VaultError(f"{path} exists; a master key is never overwritten") from exc
    except OSError:  # a file system without hard links: create it exclusively instead
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise VaultError(f"{path} exists; a master key is never overwritten") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def _sync_directory(directory: Path) -> None:
    """Make the new name durable (a key lost on a power cut loses the vault)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
