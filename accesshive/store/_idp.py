"""What identity providers push, as tables: the SCIM records of each identity source and
the hashes of its bearer tokens (never the tokens themselves)."""

from __future__ import annotations

from accesshive.store._db import Database
from accesshive.store._values import now


class IdentityProviderRecords(Database):
    """Pushed (or imported) records and bearer-token hashes per identity source."""

    def put_record(self, source: str, resource_type: str, rid: str, body: str) -> None:
        with self.transaction():
            self.delete_record(source, resource_type, rid)
            self._execute(
                "INSERT INTO idp_records (environment, source, resource_type, id, body, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.environment, source, resource_type, rid, body, now()),
            )

    def delete_record(self, source: str, resource_type: str, rid: str) -> None:
        with self.transaction():
            self._execute(
                "DELETE FROM idp_records WHERE environment = ? AND source = ? "
                "AND resource_type = ? AND id = ?",
                (self.environment, source, resource_type, rid),
            )

    def replace_records(self, source: str, records: list[tuple[str, str, str]]) -> None:
        """The whole set of a source's records at once (an import replaces the last one)."""
        with self.transaction():
            self._execute(
                "DELETE FROM idp_records WHERE environment = ? AND source = ?",
                (self.environment, source),
            )
            at = now()
            self._executemany(
                "INSERT INTO idp_records (environment, source, resource_type, id, body, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(self.environment, source, kind, rid, body, at) for kind, rid, body in records],
            )

    def records(self, source: str) -> list[tuple[str, str, str]]:
        """(resource type, id, body JSON) of everything an identity provider pushed."""
        rows = self._execute(
            "SELECT resource_type, id, body FROM idp_records WHERE environment = ? "
            "AND source = ? ORDER BY resource_type, id",
            (self.environment, source),
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def new_token(self, source: str, token_hash: str) -> int:
        """Keep a token's hash; revoke the source's earlier tokens (returns how many)."""
        with self.transaction():
            revoked = len(
                self._execute(
                    "SELECT 1 FROM idp_tokens WHERE environment = ? AND source = ? "
                    "AND revoked_at IS NULL",
                    (self.environment, source),
                )
            )
            self._execute(
                "UPDATE idp_tokens SET revoked_at = ? WHERE environment = ? AND source = ? "
                "AND revoked_at IS NULL",
                (now(), self.environment, source),
            )
            self._execute(
                "INSERT INTO idp_tokens (environment, source, hash, created_at) "
                "VALUES (?, ?, ?, ?)",
                (self.environment, source, token_hash, now()),
            )
        return revoked

    def token_valid(self, source: str, token_hash: str) -> bool:
        return bool(
            self._execute(
                "SELECT 1 FROM idp_tokens WHERE environment = ? AND source = ? AND hash = ? "
                "AND revoked_at IS NULL",
                (self.environment, source, token_hash),
            )
        )
