"""The review policies in force in the environment (``accesshive.policies_in_force``):
those of the last apply that completed its plan. One row per environment, replaced
when an apply completes a plan whose policies differ."""

from __future__ import annotations

import json
from hashlib import sha256

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
        return self._checked_in_force(self.borrowed_policies_from() or self.environment)

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
