"""What identity providers push, as tables: the SCIM records of each identity source and
the hashes of its bearer tokens (never the tokens themselves)."""

from __future__ import annotations

from accesshive.store._db import Database
from accesshive.store._values import TokenInfo, now


class IdentityProviderRecords(Database):
    """Pushed (or imported) records and bearer-token hashes per identity source."""

    def put_record(self, source: str, resource_type: str, rid: str, body: str) -> None:
        with self.transaction():
            self._execute(
                "DELETE FROM idp_records WHERE environment = ? AND source = ? "
                "AND resource_type = ? AND id = ?",
                (self.environment, source, resource_type, rid),
            )
            self._execute(
                "INSERT INTO idp_records (environment, source, resource_type, id, body, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.environment, source, resource_type, rid, body, now()),
            )

    def delete_record(self, source: str, resource_type: str, rid: str) -> None:
        with self.transaction():
            for table in ("idp_records", "idp_unique"):
                self._execute(
                    f"DELETE FROM {table} WHERE environment = ? AND source = ? "
                    "AND resource_type = ? AND id = ?",
                    (self.environment, source, resource_type, rid),
                )

    def record(self, source: str, resource_type: str, rid: str) -> str | None:
        """The body of one record, or None."""
        rows = self._execute(
            "SELECT body FROM idp_records WHERE environment = ? AND source = ? "
            "AND resource_type = ? AND id = ?",
            (self.environment, source, resource_type, rid),
        )
        return str(rows[0][0]) if rows else None

    def set_unique(
        self, source: str, resource_type: str, rid: str, values: list[tuple[str, str]]
    ) -> None:
        """The unique values (attribute URN, comparable value) a record now holds."""
        with self.transaction():
            self._execute(
                "DELETE FROM idp_unique WHERE environment = ? AND source = ? "
                "AND resource_type = ? AND id = ?",
                (self.environment, source, resource_type, rid),
            )
            self._executemany(
                "INSERT INTO idp_unique (environment, source, urn, value, resource_type, id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (self.environment, source, urn, value, resource_type, rid)
                    for urn, value in values
                ],
            )

    def unique_owner(self, source: str, urn: str, value: str) -> tuple[str, str] | None:
        """(resource type, id) of the record holding a unique value, or None."""
        rows = self._execute(
            "SELECT resource_type, id FROM idp_unique WHERE environment = ? AND source = ? "
            "AND urn = ? AND value = ?",
            (self.environment, source, urn, value),
        )
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def records_with_unique(
        self, source: str, resource_type: str, urn: str, value: str
    ) -> list[str]:
        """Bodies of the records of a type holding a unique value (one at most)."""
        rows = self._execute(
            "SELECT r.body FROM idp_unique u JOIN idp_records r ON r.environment = "
            "u.environment AND r.source = u.source AND r.resource_type = u.resource_type "
            "AND r.id = u.id WHERE u.environment = ? AND u.source = ? AND u.urn = ? "
            "AND u.value = ? AND u.resource_type = ?",
            (self.environment, source, urn, value, resource_type),
        )
        return [str(r[0]) for r in rows]

    def replace_records(self, source: str, records: list[tuple[str, str, str]]) -> None:
        """The whole set of a source's records at once (an import replaces the last one)."""
        with self.transaction():
            for table in ("idp_records", "idp_unique"):
                self._execute(
                    f"DELETE FROM {table} WHERE environment = ? AND source = ?",
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

    def new_token(
        self, source: str, token_hash: str, expires_at: str | None = None, keep: bool = False
    ) -> tuple[int, int]:
        """Keep a token's hash; unless ``keep``, revoke the source's earlier tokens.
        Returns the new token's id and how many were revoked."""
        with self.transaction():
            revoked = 0
            if not keep:
                revoked = len(
                    self._execute(
                        "SELECT 1 FROM idp_tokens WHERE environment = ? AND source = ? "
                        "AND revoked_at IS NULL",
                        (self.environment, source),
                    )
                )
                self._execute(
                    "UPDATE idp_tokens SET revoked_at = ? WHERE environment = ? "
                    "AND source = ? AND revoked_at IS NULL",
                    (now(), self.environment, source),
                )
            self._execute(
                "INSERT INTO idp_tokens (environment, source, hash, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.environment, source, token_hash, now(), expires_at),
            )
            rows = self._execute(
                "SELECT MAX(id) FROM idp_tokens WHERE environment = ? AND hash = ?",
                (self.environment, token_hash),
            )
        return int(rows[0][0]), revoked

    _TOKEN_COLUMNS = "id, source, created_at, expires_at, revoked_at, last_used_at"

    def tokens(self, source: str | None = None) -> list[TokenInfo]:
        """Every token of the environment (or of one source), oldest first; never the
        token, nor its hash."""
        where, params = "environment = ?", [self.environment]
        if source is not None:
            where, params = where + " AND source = ?", [*params, source]
        rows = self._execute(
            f"SELECT {self._TOKEN_COLUMNS} FROM idp_tokens WHERE {where} ORDER BY id",
            params,
        )
        return [_token_info(r) for r in rows]

    def revoke_token(self, token_id: int) -> TokenInfo | None:
        """Revoke a token by its id; the token as it is now (None: no such token here)."""
        with self.transaction():
            self._execute(
                "UPDATE idp_tokens SET revoked_at = ? WHERE environment = ? AND id = ? "
                "AND revoked_at IS NULL",
                (now(), self.environment, token_id),
            )
            rows = self._execute(
                f"SELECT {self._TOKEN_COLUMNS} FROM idp_tokens WHERE environment = ? AND id = ?",
                (self.environment, token_id),
            )
        return _token_info(rows[0]) if rows else None

    def token_for(self, source: str, token_hash: str) -> TokenInfo | None:
        """The token of ``source`` with this hash, whatever its state."""
        rows = self._execute(
            f"SELECT {self._TOKEN_COLUMNS} FROM idp_tokens WHERE environment = ? "
            "AND source = ? AND hash = ? ORDER BY id DESC",
            (self.environment, source, token_hash),
        )
        return _token_info(rows[0]) if rows else None

    def token_valid(self, source: str, token_hash: str) -> bool:
        found = self.token_for(source, token_hash)
        return found is not None and found.state() == "active"

    def token_used(self, token_id: int) -> None:
        with self.transaction():
            self._execute(
                "UPDATE idp_tokens SET last_used_at = ? WHERE environment = ? AND id = ?",
                (now(), self.environment, token_id),
            )


def _token_info(row: tuple[object, ...]) -> TokenInfo:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return TokenInfo(
        id=int(str(row[0])),
        source=str(row[1]),
        created_at=str(row[2]),
        expires_at=text(row[3]),
        revoked_at=text(row[4]),
        last_used_at=text(row[5]),
    )
