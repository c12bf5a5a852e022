"""The sources' snapshots as the store keeps them: each complete read of a source, when
each account was first seen, and when a source's latest content was first read.

Apart from the runs' history because sync writes only this and plan reads only this (with
the fingerprint stored beside each snapshot, so a plan never fingerprints it again)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from accesshive.state.snapshot import Snapshot, SourceSnapshot
from accesshive.store._db import Database
from accesshive.store._values import SnapshotInfo, now


class Snapshots(Database):
    """Snapshots of the sources, and the first sighting of each account."""

    def save_snapshot(self, source: str, snap: SourceSnapshot) -> str:
        """Store a complete snapshot, and remember when each account was first seen."""
        fingerprint = snap.fingerprint()
        seen = self.first_seen(source)
        new = [a.external_id for a in snap.accounts if a.external_id not in seen]
        with self.transaction():
            at = snap.read_at or now()
            self._executemany(
                "INSERT INTO sightings (environment, source, external_id, first_seen) "
                "VALUES (?, ?, ?, ?)",
                [(self.environment, source, ext, at) for ext in new],
            )
            self._execute(
                "INSERT INTO snapshots (environment, source, fingerprint, read_at, content, "
                "accounts) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.environment,
                    source,
                    fingerprint,
                    at,
                    snap.model_dump_json(),
                    len(snap.accounts),
                ),
            )
        return fingerprint

    def _latest_rows(self, columns: str) -> list[tuple[Any, ...]]:
        return self._execute(
            f"SELECT {columns} FROM snapshots s WHERE environment = ? AND id = "
            "(SELECT MAX(id) FROM snapshots t WHERE t.environment = s.environment "
            "AND t.source = s.source) ORDER BY source",
            (self.environment,),
        )

    def latest_snapshot(self) -> Snapshot:
        return self.latest_snapshot_and_fingerprints()[0]

    def latest_snapshot_and_fingerprints(self) -> tuple[Snapshot, dict[str, str]]:
        """The latest snapshot of each source, with the fingerprint stored beside it
        (computed from that same content when it was saved, read in the same row): a
        plan need not fingerprint again what the store already did."""
        rows = self._latest_rows("source, content, fingerprint")
        snapshot = Snapshot(
            sources={src: SourceSnapshot.model_validate_json(content) for src, content, _ in rows}
        )
        return snapshot, {src: str(fingerprint) for src, _, fingerprint in rows}

    def snapshot_info(self) -> list[SnapshotInfo]:
        rows = self._latest_rows("source, fingerprint, read_at, accounts")
        return [SnapshotInfo(r[0], r[1], r[2], int(r[3])) for r in rows]

    def unchanged_since(self, sources: Collection[str]) -> dict[str, str]:
        """source → when its latest snapshot's content was first read: the ``read_at`` of
        the first of the latest snapshots with that fingerprint. A manual source's export
        read again unchanged is the same export: it says nothing of work done since it
        was first read (a task marked done)."""
        out: dict[str, str] = {}
        for source in sorted(sources):
            rows = self._execute(
                "SELECT MIN(s.read_at) FROM snapshots s WHERE s.environment = ? AND s.source = ? "
                "AND s.id > (SELECT COALESCE(MAX(d.id), 0) FROM snapshots d "
                "WHERE d.environment = s.environment AND d.source = s.source "
                "AND d.fingerprint <> (SELECT l.fingerprint FROM snapshots l "
                "WHERE l.id = (SELECT MAX(m.id) FROM snapshots m "
                "WHERE m.environment = s.environment AND m.source = s.source)))",
                (self.environment, source),
            )
            if rows and rows[0][0] is not None:
                out[source] = str(rows[0][0])
        return out

    def first_seen(self, source: str) -> dict[str, str]:
        rows = self._execute(
            "SELECT external_id, first_seen FROM sightings WHERE environment = ? AND source = ?",
            (self.environment, source),
        )
        return {str(r[0]): str(r[1]) for r in rows}
