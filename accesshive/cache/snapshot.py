"""The snapshot cache: a snapshot file as validated, kept by the SHA-256 of its bytes, so
that ``plan --snapshot FILE`` does not validate the same hundreds of thousands of
accounts again on every run. It wraps ``state/snapshot.py``: ``parse_snapshot``
(``read`` below).

Why: at 100,000 identities the snapshot file holds some 450,000 accounts, and
validating them (pydantic, the attributes and grants sorted by the model) was a
quarter of a warm plan. A pull request's plans all read the same file.

An entry is JSON (``store.py``: ``put_json``; plain data, read faster than a pickle of
the same): per source its accounts as rows of their six fields, exactly as validation
left them (attributes and grants sorted), and its credentials and groups as the fields
they were given. Only a JSON snapshot file is kept, and only when its values read back
from JSON as they are (no ``NaN`` or infinity, no integer past 64 bits). Its key
is the SHA-256 of the file's bytes and ``code_digest()`` (accesshive's own source:
the models and their validators), so an entry only ever stands for what validating
those bytes with this code gives. It is written only after validation succeeded (a
malformed file is refused every time, by the stage). Reading an entry back checks
each row's shape and types and builds the accounts without validating them again;
an entry that does not fit is a miss, and the file is validated as without the cache.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, TypeVar

import orjson

from accesshive.cache import parse, store
from accesshive.cache.contract import Contract
from accesshive.state.snapshot import (
    Snapshot,
    SnapshotAccount,
    SnapshotCredential,
    SnapshotGroup,
    SourceSnapshot,
    parse_snapshot,
    read_snapshot_bytes,
)

FORMAT = 1
"""Bump when an entry's rows change shape."""

CONTRACT = Contract(
    name="snapshot",
    wraps="state/snapshot.py: parse_snapshot (of a snapshot file, `plan --snapshot`)",
    key="code_digest() (accesshive's own source: the models and their validators) and "
    "the SHA-256 of the snapshot file's bytes",
    covers="per snapshot file: every source's accounts, credentials and groups as "
    "validated, which are then not validated again",
    safe="an entry is what validating exactly those bytes with this code gave, written "
    "only after validation succeeded; read back as plain data, each row checked for its "
    "shape and types (an entry that does not fit is a miss)",
    cleared="a changed file or checkout is another key; `accesshive cache prune` removes "
    "unused entries",
)


def read(path: Path) -> tuple[Snapshot, str]:
    """``state/snapshot.py``: ``read_snapshot`` (the snapshot and the SHA-256 of the
    file's bytes), from the entry of those bytes when there is one."""
    if store.cache_dir() is not None:
        # hashed as it streams: the file's bytes are not held beside the entry's
        try:
            with path.open("rb") as fh:
                seen = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            seen = None  # reading it below says why
        kept = _snapshot(store.get_json(_key(seen))) if seen is not None else None
        if kept is not None:
            return kept, str(seen)
        del kept
    raw = read_snapshot_bytes(path)
    content = hashlib.sha256(raw).hexdigest()  # the bytes parsed (the file may have changed)
    if store.cache_dir() is None:
        return parse_snapshot(path, raw, parse.parse_bytes), content
    key = _key(content)
    snapshot = parse_snapshot(path, raw, parse.parse_bytes)
    is_json = raw.lstrip()[:1] in (b"{", b"[")
    del raw  # the file's bytes are not needed while the entry is written
    if is_json:  # a YAML file's values (dates...) would not read back from JSON alike
        entry = _entry(snapshot)
        if entry is not None:
            store.put_json(key, entry)
    return snapshot, content


def _key(content: str) -> str:
    return hashlib.sha256(
        f"accesshive snapshot cache\0{FORMAT}\0{store.code_digest()}\0{content}".encode()
    ).hexdigest()


# --------------------------------------------------------------------------- rows


def _entry(snapshot: Snapshot) -> bytes | None:
    """The entry's JSON text; None when a value would not read back as it is."""
    rows = _rows(snapshot)
    for source in rows["sources"].values():
        for row in source["accounts"]:
            for value in row[3].values():  # most are text: not a call each
                if value.__class__ is not str and not _round_trips(value):
                    return None
    try:
        return orjson.dumps(rows)
    except (orjson.JSONEncodeError, TypeError):  # an integer past 64 bits, a surrogate
        return None


def _round_trips(value: Any) -> bool:
    """Whether JSON holds ``value`` as it is: orjson writes NaN and infinity as null."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_round_trips(v) for v in value)
    if kind is dict:
        return all(_round_trips(v) for v in value.values())
    return False


def _rows(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": snapshot.version,
        "fields": sorted(snapshot.model_fields_set),
        "sources": {
            sid: {
                "fields": sorted(source.model_fields_set),
                "accounts": [
                    [a.external_id, a.identity, a.enabled, a.attributes, a.grants, a.last_login]
                    for a in source.accounts
                ],
                "credentials": [c.model_dump(exclude_unset=True) for c in source.credentials],
                "groups": [g.model_dump(exclude_unset=True) for g in source.groups],
                "read_at": source.read_at,
            }
            for sid, source in snapshot.sources.items()
        },
    }


class _Unfit(Exception):
    """An entry that does not have the shape this module writes."""


def _snapshot(entry: Any) -> Snapshot | None:
    """The snapshot an entry holds; None for a miss or an entry that does not fit."""
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        return None
    try:
        sources = entry["sources"]
        if not isinstance(sources, dict) or not isinstance(entry["version"], int):
            raise _Unfit
        built = {_text(sid): _source(value) for sid, value in sources.items()}
        return Snapshot.model_construct(
            _fields_set=_fields(entry["fields"], Snapshot.model_fields),
            version=entry["version"],
            sources=built,
        )
    except (_Unfit, KeyError, TypeError, ValueError):
        return None


def _source(value: Any) -> SourceSnapshot:
    if not isinstance(value, dict):
        raise _Unfit
    read_at = value["read_at"]
    if read_at is not None:
        _text(read_at)
    # credentials and groups are few: validated again, which checks them
    credentials = [_model(SnapshotCredential, c) for c in _list(value["credentials"])]
    groups = [_model(SnapshotGroup, g) for g in _list(value["groups"])]
    return SourceSnapshot.model_construct(
        _fields_set=_fields(value["fields"], SourceSnapshot.model_fields),
        accounts=_accounts(_list(value["accounts"])),
        credentials=credentials,
        groups=groups,
        read_at=read_at,
    )


def _accounts(rows: list[Any]) -> list[SnapshotAccount]:
    """The accounts of the rows, built as validation built them (the rows were taken
    from validated accounts) after checking each row's types: not validated again."""
    new = SnapshotAccount.__new__
    put = object.__setattr__  # the dataclass is frozen: how its own __init__ sets fields
    accounts = []
    for row in rows:
        if type(row) is not list or len(row) != 6:
            raise _Unfit
        external_id, identity, enabled, attributes, grants, last_login = row
        if (
            type(external_id) is not str
            or (identity is not None and type(identity) is not str)
            or type(enabled) is not bool
            or type(attributes) is not dict
            or type(grants) is not list
            or not all(type(g) is str for g in grants)
            or (last_login is not None and type(last_login) is not str)
        ):
            raise _Unfit
        account = new(SnapshotAccount)
        put(account, "external_id", external_id)
        put(account, "identity", identity)
        put(account, "enabled", enabled)
        put(account, "attributes", attributes)
        put(account, "grants", grants)
        put(account, "last_login", last_login)
        accounts.append(account)
    return accounts


_M = TypeVar("_M", SnapshotCredential, SnapshotGroup)


def _model(model: type[_M], value: Any) -> _M:
    if not isinstance(value, dict):
        raise _Unfit
    return model.model_validate(value)


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Unfit
    return value


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _Unfit
    return value


def _fields(value: Any, known: dict[str, Any]) -> set[str]:
    if type(value) is not list or not all(isinstance(v, str) and v in known for v in value):
        raise _Unfit
    return set(value)
