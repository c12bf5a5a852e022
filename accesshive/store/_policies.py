"""The review policies in force in the environment (``accesshive.policies_in_force``):
those of the last apply that completed its plan. One row per environment, replaced
when an apply completes a plan whose policies differ."""

from __future__ import annotations

from accesshive.store._db import Database
from accesshive.store._values import now


class PoliciesInForce(Database):
    def policies_in_force(self) -> str | None:
        """The JSON of the policies in force, or None before any apply recorded them."""
        rows = self._execute(
            "SELECT content FROM policies_in_force WHERE environment = ?", (self.environment,)
        )
        return str(rows[0][0]) if rows else None

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
