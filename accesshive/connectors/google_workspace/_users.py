"""User orders of the ``google_workspace`` connector: create, update, suspend or
unsuspend, delete.

A ``password`` is sent, never read back and never put in a message; users.insert
requires one, so a random one is set when none is given (people then sign in through
SSO or get a reset). A users.insert answered 409 "duplicate" adopts the user holding
that primaryEmail, never one holding it as an alias. Every change marks the user as
just touched, so a 404 right after it is waited out (see ``_consistency``).
"""

from __future__ import annotations

import secrets as random_secrets
import time
from collections.abc import Mapping
from typing import Any

from accesshive.connectors.base import Created
from accesshive.connectors.google_workspace._client import GoogleApiError
from accesshive.connectors.google_workspace._parts import Collaborator
from accesshive.connectors.google_workspace._settings import WRITE_ONLY
from accesshive.connectors.google_workspace._values import _json_value, _set_path


class UserOrders(Collaborator):
    """create_account, update_account, set_enabled, delete_account."""

    def _body(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in attributes.items():
            if name in WRITE_ONLY:
                body[name] = str(value)
                continue
            _set_path(body, self.settings.path_of(name), _json_value(value))
        return body

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        body = self._body(attributes)
        email = str(body.get("primaryEmail") or "")
        if not email:
            raise self.settings.error("create_account: primaryEmail is required to create a user")
        if not body.get("password"):
            body["password"] = random_secrets.token_urlsafe(24)
        body["suspended"] = not enabled
        password = str(body["password"])
        try:
            user = self.session.client.call(
                "POST",
                self.session.dir("users"),
                f"users.insert {email}",
                params={"fields": "id,primaryEmail"},
                body=body,
                secrets=(password,),
            )
        except GoogleApiError as exc:
            if exc.status == 409:  # duplicate: the user exists already: adopt it
                return Created(self._adopt(email, exc), adopted=True)
            raise
        if not isinstance(user, dict) or not user.get("id"):
            raise self.settings.error(f"users.insert {email}: the response holds no user id")
        external_id = str(user["id"])
        self.reader.remember_email(external_id, str(user.get("primaryEmail") or email))
        self.consistency.touch(external_id)
        return Created(external_id)

    def _adopt(self, email: str, conflict: GoogleApiError) -> str:
        """The id of the existing user whose primaryEmail is ``email``."""
        deadline = time.monotonic() + self.settings.consistency_seconds
        while True:
            found = self._get_user_by_email(email)
            if found is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.5)  # 409 but not visible yet: a user created moments ago
        if found is None:
            raise self.settings.error(
                f"users.insert {email}: {conflict.message.split(': ', 1)[-1]}, but no user has "
                "that address (a group or a deleted user may hold it)"
            )
        if str(found.get("primaryEmail", "")).lower() != email.lower():
            raise self.settings.error(
                f"users.insert {email}: the address is an alias of {found.get('primaryEmail')} "
                f"(user {found.get('id')}); not adopted"
            )
        return str(found["id"])

    def _get_user_by_email(self, email: str) -> dict[str, Any] | None:
        try:
            user = self.session.client.call(
                "GET",
                self.session.dir("users", email),
                f"users.get {email}",
                params={"fields": "id,primaryEmail"},
            )
        except GoogleApiError as exc:
            if exc.status == 404:
                return None
            raise
        return user if isinstance(user, dict) and user.get("id") else None

    def _patch(self, external_id: str, body: dict[str, Any], what: str) -> None:
        hidden = (str(body["password"]),) if body.get("password") else ()
        self.consistency.patiently(
            external_id,
            lambda: self.session.client.call(
                "PATCH",
                self.session.dir("users", external_id),
                f"{what} {external_id}",
                params={"fields": "id"},
                body=body,
                secrets=hidden,
            ),
        )
        if "primaryEmail" in body:
            self.reader.forget_email(external_id)  # renamed: ask again when it is needed
        self.consistency.touch(external_id)

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        if not attributes:
            return
        self._patch(external_id, self._body(attributes), "users.patch")

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        self._patch(external_id, {"suspended": not enabled}, "users.patch (suspended)")

    def delete_account(self, external_id: str) -> None:
        try:  # a user we created moments ago may 404 here too: wait, or it would stay
            self.consistency.patiently(
                external_id,
                lambda: self.session.client.call(
                    "DELETE", self.session.dir("users", external_id), f"users.delete {external_id}"
                ),
            )
        except GoogleApiError as exc:
            if exc.status != 404:  # already gone: done
                raise
        self.reader.forget_email(external_id)
        self.consistency.forget(external_id)
