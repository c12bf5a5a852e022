"""The review policies in force in the environment (``accesshive.policies_in_force``):
those of the last apply that completed its plan. One row per environment, replaced
when an apply completes a plan whose policies differ."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, closing
from hashlib import sha256
from pathlib import Path
from typing import Any

from accesshive.errors import StoreError
from accesshive.store._db import Database
from accesshive.store._values import now


class PoliciesInForce(Database):
    def policies_in_force(self) -> str | None:
        """The JSON of the policies in force, or None before any apply recorded them.

        An environment with none on record, in a store where another has some, borrows
        the latest put in force (``borrowed_policies_from``) until its own first complete
        apply: the environment is named by the repository (``default_environment``, an
        ``environments:`` entry), so a change that adds one, or makes a new one the
        default, would otherwise judge its own approvals by the review policies it
        brings (a reviewer it adds with its author's key).

        Checked against the audit log, whose latest ``policies_in_force`` entry names the
        digest put in force: someone who can write the store but not forge the log
        (signed checkpoints) must not loosen the review by deleting or editing this row."""
        lender = self.borrowed_policies_from()
        held = self._checked_in_force(lender or self.environment)
        if held is None and lender is None:
            nearby = self.nearby_policies_in_force()
            return nearby[1] if nearby is not None else None
        return held

    neighbours: tuple[Path, ...] = ()
    """The repository's other SQLite stores (``open_store`` sets them): where a store with
    nothing on record looks for policies in force (``nearby_policies_in_force``)."""

    _nearby: tuple[tuple[str, str] | None] | None = None
    """What ``nearby_policies_in_force`` found, once looked for (a store lives for one
    command)."""

    def nearby_policies_in_force(self) -> tuple[str, str] | None:
        """(where, JSON) of the latest policies in force in the repository's other stores,
        when this one has none on record for any environment, else None.

        Why: with a SQLite file per environment (or a change to ``store:``), a store can
        be new while the repository is not; a change that makes it so (a new environment,
        a new store path) must not be judged by the policies it brings. Each one read is
        checked against its own audit log, as this store's are; a file that is not a
        store is passed over."""
        if self._nearby is not None:
            return self._nearby[0]
        found = None if self._anything_on_record() else latest_kept_in(self.neighbours)
        self._nearby = (found,)
        return found

    def _anything_on_record(self) -> bool:
        return bool(
            self._execute("SELECT 1 FROM policies_in_force LIMIT 1")
            or self._execute("SELECT 1 FROM audit WHERE event = 'policies_in_force' LIMIT 1")
        )

    def borrowed_policies_from(self) -> str | None:
        """The environment whose policies in force this one borrows: it has none on record
        (neither an audit entry nor a row: a row with no entry is an older store's) and
        another has (the one whose audit entry put them in force last), else None."""
        if self._latest_put_in_force(self.environment) is not None:
            return None
        if self._execute(
            "SELECT 1 FROM policies_in_force WHERE environment = ?", (self.environment,)
        ):
            return None
        rows = self._execute(
            "SELECT environment FROM audit WHERE event = 'policies_in_force' "
            "ORDER BY seq DESC LIMIT 1"
        )
        if rows:
            return str(rows[0][0])
        rows = self._execute(  # on record before the audit entry was written with it
            "SELECT environment FROM policies_in_force ORDER BY recorded_at DESC, environment "
            "LIMIT 1"
        )
        return str(rows[0][0]) if rows else None

    def _latest_put_in_force(self, environment: str) -> tuple[int, str | None] | None:
        """(seq, digest) of the latest audit entry that put policies in force there."""
        audited = self._execute(
            "SELECT seq, details FROM audit WHERE environment = ? AND event = "
            "'policies_in_force' ORDER BY seq DESC LIMIT 1",
            (environment,),
        )
        if not audited:
            return None
        digest = json.loads(str(audited[0][1])).get("digest")
        return int(audited[0][0]), None if digest is None else str(digest)

    def _checked_in_force(self, environment: str) -> str | None:
        rows = self._execute(
            "SELECT content FROM policies_in_force WHERE environment = ?", (environment,)
        )
        content = str(rows[0][0]) if rows else None
        latest = self._latest_put_in_force(environment)
        if latest is not None:
            seq, digest = latest
            held = sha256(content.encode("utf-8")).hexdigest() if content is not None else None
            if held != digest:
                what = "are missing" if content is None else "are not the ones it put in force"
                raise StoreError(
                    f"the review policies in force of '{environment}' {what} (audit "
                    f"entry #{seq} put {str(digest)[:12]} in force): someone "
                    "who could write the store changed them, which would loosen the review "
                    "of every change; nothing is planned or applied. Restore the store from "
                    "a backup, and run `accesshive audit verify`"
                )
        return content

    def policies_in_force_everywhere(self) -> list[tuple[str, str]]:
        """(where, JSON) of the policies in force of every environment of this store and
        of the repository's other SQLite stores (``neighbours``): what a revocation is
        looked for in (a key revoked in one environment counts in none). Another store
        that fails its own audit check is passed over: what is read here only ever adds
        revocations, so a store file a change brings can make the review stricter only."""
        found = []
        for environment in self.environments_with_policies_in_force():
            content = self._checked_in_force(environment)
            if content is not None:
                found.append((f"environment '{environment}'", content))
        for path in self.neighbours:
            try:
                kept = _policies_kept_in(path)
            except StoreError:
                continue
            found += [(f"environment {where}", content) for _, where, content in kept]
        return found

    def environments_with_policies_in_force(self) -> list[str]:
        """Every environment of this store that has policies in force on record."""
        rows = self._execute("SELECT environment FROM policies_in_force ORDER BY environment")
        return [str(r[0]) for r in rows]

    def record_policies_in_force(self, digest: str, content: str, plan_digest: str) -> bool:
        """Put these policies in force; False when they already were (nothing written)."""
        with self.transaction():
            rows = self._execute(
                "SELECT digest FROM policies_in_force WHERE environment = ?", (self.environment,)
            )
            if rows and rows[0][0] == digest:
                return False
            self._execute(
                "DELETE FROM policies_in_force WHERE environment = ?", (self.environment,)
            )
            self._execute(
                "INSERT INTO policies_in_force (environment, digest, content, plan_digest, "
                "recorded_at) VALUES (?, ?, ?, ?, ?)",
                (self.environment, digest, content, plan_digest, now()),
            )
        return True


def latest_kept_in(stores: Iterable[Path]) -> tuple[str, str] | None:
    """(where, JSON) of the policies in force put on record last in any of the SQLite
    ``stores`` (``nearby_policies_in_force``; also read by ``plan`` before a new store
    exists)."""
    found = [kept for path in stores for kept in _policies_kept_in(path)]
    if len({_judging(content) for _, _, content in found}) > 1:
        # which is stricter cannot be told in general, and any of these files may have
        # come with the change (a store committed in the pull request): refuse to guess
        raise StoreError(
            "this store has no review policies on record, and the repository's other "
            "stores hold different ones ("
            + ", ".join(sorted(where for _, where, _ in found))
            + "): which judge this change cannot be told, so nothing is planned or applied. "
            "Apply the pending change in those environments until they agree, or name the "
            "store this environment should use (ACCESSHIVE_STORE or --store); remove any "
            "store file that is not yours"
        )
    latest = max(found, default=None)
    return None if latest is None else (latest[1], latest[2])


def _judging(content: str) -> str:
    """What of the policies in force judges a change, whichever environment keeps them:
    not the systems its sources reach there (connection overlays differ per environment)
    nor the environment it takes promotions from."""
    try:
        data = json.loads(content)
    except ValueError:
        return content
    if not isinstance(data, dict):
        return content
    return json.dumps(
        {k: v for k, v in data.items() if k not in ("targets", "promotion_from")},
        sort_keys=True,
    )


def _policies_kept_in(path: Path) -> list[tuple[str, str, str]]:
    """(recorded at, "ENV in PATH", JSON) of each environment's policies in force in the
    SQLite store at ``path``, read only; none when it is not a store. Each is checked
    against that store's audit log as the store checks its own (``_checked_in_force``):
    policies the log says were not put in force stop everything."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    with closing(db):
        try:
            rows = db.execute("SELECT environment, recorded_at FROM policies_in_force").fetchall()
        except sqlite3.Error:
            return []  # not a store (an application's database), or an older one
        found = []
        for environment, at in rows:
            try:
                content = _ReadOnly(db, str(environment))._checked_in_force(str(environment))
            except StoreError as exc:
                raise StoreError(f"the store {path}: {exc}") from exc
            if content is not None:
                found.append((str(at), f"'{environment}' in {path.name}", content))
        return found


class _ReadOnly(PoliciesInForce):
    """Another store of the repository, opened read only: only what reads its policies
    in force and its audit log is used."""

    def __init__(self, db: sqlite3.Connection, environment: str) -> None:
        super().__init__(environment)
        self._db = db

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read it: {exc}") from exc

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise StoreError("another store of the repository is only read")

    def _outermost(self) -> AbstractContextManager[None]:
        raise StoreError("another store of the repository is only read")
