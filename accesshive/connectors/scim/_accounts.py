"""Account orders of the ``scim`` connector: create, update, enable or disable, delete.

Create POSTs the User built and validated by scim2-models (then rewritten by the
quirks); a 409 uniqueness conflict adopts the account found by userName, externalId,
the identity attribute or the correlation attributes (filters, or paging when the
target refuses filters). Updates read the account (ETag), then change only the
attributes that differ. Delete of a missing account is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, Resource

from accesshive.connectors.base import Created
from accesshive.connectors.scim._probe import Service
from accesshive.connectors.scim._resources import Collaborator
from accesshive.connectors.scim._session import ScimError, filter_refused
from accesshive.connectors.scim._values import (
    USER_SCHEMA,
    Attr,
    _casefolded,
    _empty,
    _entries,
    _first_error,
    _get,
    _operation,
    _put,
    _quote,
    _same,
    _url,
)
from accesshive.state.snapshot import SnapshotAccount


class AccountOrders(Collaborator):
    """The account orders, and finding the account a create conflicts with."""

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        svc = self.probe.service()
        scim = self.session.client()
        body = self._user_payload(svc, attributes, enabled, identity)
        url = svc.users.endpoint or "/Users"
        what = f"POST {url}"
        try:
            created = self.session.call(
                what,
                lambda: scim.create(svc.users, body, check_request_payload=False, url=url),
            )
        except ScimError as exc:
            if exc.status != 409 and exc.scim_type != "uniqueness":
                raise
            found = self._find_existing(attributes, identity)
            if found is None:
                raise self.settings.error(
                    f"{exc.message}; and no account matching it could be found to adopt"
                ) from exc
            return Created(found, adopted=True)
        new_id = created.get("id") if isinstance(created, dict) else getattr(created, "id", None)
        if not new_id:
            raise self.settings.error(f"{what}: the target created the account but returned no id")
        return Created(str(new_id), account=self._returned(created, str(new_id)))

    def _answer_with(self) -> list[str] | None:
        """What a User PATCH asks back, so that the target answers with the account
        (nothing when its answers are not trusted: they would not be used)."""
        return self.settings.user_attributes() if self.settings.quirks.trust_responses else None

    def _returned(self, answer: Any, external_id: str) -> SnapshotAccount | None:
        """The account as the target answered a write to it, for apply to verify the order
        against instead of reading it back: None when the answer is no User of that id (a
        204, another resource, a body the models refuse) or the quirks say the target's
        answers are not to be trusted (``quirks.trust_responses: false``). An answer that
        lacks what was written is returned as it is: apply finds that it does not show the
        order and reads the account back.

        scim2-client hands back the JSON of an answer to a request it did not build (a
        quirk-rewritten POST or PUT): it is read here as a query's answer would be."""
        if not self.settings.quirks.trust_responses:
            return None
        if isinstance(answer, dict):
            try:
                answer = self.probe.service().user_model.model_validate(
                    answer, scim_ctx=Context.RESOURCE_QUERY_RESPONSE
                )
            except ValidationError:
                return None
        if not isinstance(answer, Resource) or str(answer.id) != external_id:
            return None
        return self.settings.snapshot(answer, set())

    def _user_payload(
        self, svc: Service, attributes: Mapping[str, Any], enabled: bool, identity: str
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "active": enabled}
        for key, value in attributes.items():
            if not _empty(value):
                attr = self.settings.lookup_attr(key)
                _put(doc, attr.path, _entries(value) if attr.kind == "primary" else value)
        if self.settings.identity_path and identity:
            _put(doc, self.settings.identity_path, identity)
        doc["schemas"] += [k for k in doc if k.lower().startswith("urn:")]
        try:
            user = svc.user_model.model_validate(doc, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        except ValidationError as exc:
            raise self.settings.error(
                f"the account's attributes are refused: {_first_error(exc)}"
            ) from exc
        dumped = user.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        return self.settings.quirks.resource_payload(dumped)

    def _find_existing(self, attributes: Mapping[str, Any], identity: str) -> str | None:
        """The account a uniqueness conflict was about: by userName, externalId, the identity
        attribute, then the correlation attributes."""
        by_path: dict[str, Attr] = {}
        for mapped in self.settings.attrs.values():
            by_path.setdefault(mapped.path, mapped)
        keys: list[tuple[str, Any]] = []
        for path in ("userName", "externalId"):
            named = by_path.get(path)
            if named is not None and not _empty(attributes.get(named.key)):
                keys.append((path, attributes[named.key]))
        if self.settings.identity_path and identity:
            keys.append((self.settings.identity_path, identity))
        for key in self.settings.source.account.correlation:
            attr = self.settings.attrs.get(key)
            if attr is not None and attr.kind != "secret" and not _empty(attributes.get(key)):
                value = attributes[key]
                value = value[0] if isinstance(value, list) else value
                keys.append((f"{attr.path}.value" if attr.kind == "primary" else attr.path, value))
        if not keys:
            return None
        svc = self.probe.service()
        if svc.filter:
            try:
                for path, value in keys:
                    found = self._match(f"{path} eq {_quote(str(value))}")
                    if found:
                        return found
                return None
            except ScimError as exc:
                if not filter_refused(exc):
                    raise
        wanted = [(path, str(value).casefold()) for path, value in keys]
        matches: list[str] = []
        for users, _ in self.paging.pages(
            svc.users, sorted({p.removesuffix(".value") for p, _ in keys})
        ):
            for user in users:
                if any(_casefolded(user, path) == value for path, value in wanted):
                    matches.append(str(user.id))
        return self.resources.one(matches, "the conflicting account")

    def _match(self, filter_: str) -> str | None:
        svc = self.probe.service()
        page = self.paging.page(svc.users, 1, 2, ["userName"], filter_)
        return self.resources.one([str(u.id) for u in page.resources or []], filter_)

    def update_account(
        self, external_id: str, attributes: Mapping[str, Any]
    ) -> SnapshotAccount | None:
        """Read the account, PATCH (or PUT) what differs. Returns the account as the target
        answered the write (``_returned``), or as just read when nothing differed."""
        svc = self.probe.service()
        wanted = {key: self.settings.lookup_attr(key) for key in attributes}
        paths = sorted({a.path for a in wanted.values() if a.kind != "secret"} | {"userName"})
        current = self.resources.fetch(svc.users, external_id, paths if svc.patch_users else None)
        operations = []
        for key, attr in wanted.items():
            value = attributes[key]
            if attr.kind != "secret" and _same(self.settings.value(current, attr), value):
                continue  # already so: send only what changes
            operations.append(_operation(attr, value))
        if not operations:
            return self._returned(current, external_id)  # as just read: already so
        answer = self.resources.modify(
            svc.users, svc.user_model, current, operations, self._answer_with()
        )
        return self._returned(answer, external_id)

    def link_account(self, external_id: str, link: str) -> None:
        """Write the identity attribute (``identity_attribute``) of an adopted account."""
        path = self.settings.identity_path
        if not path:
            raise self.settings.error(
                "connection.identity_attribute is not set: there is no attribute for the link"
            )
        svc = self.probe.service()
        current = self.resources.fetch(svc.users, external_id, [path] if svc.patch_users else None)
        if _get(current, path) == link:
            return  # already so
        operation = {"op": "replace", "path": path, "value": link}
        self.resources.modify(svc.users, svc.user_model, current, [operation], self._answer_with())

    def set_enabled(self, external_id: str, enabled: bool) -> SnapshotAccount | None:
        svc = self.probe.service()
        current = self.resources.fetch(
            svc.users, external_id, ["active"] if svc.patch_users else None
        )
        if _get(current, "active") is enabled:
            return self._returned(current, external_id)  # as just read: already so
        operation = {"op": "replace", "path": "active", "value": enabled}
        answer = self.resources.modify(
            svc.users, svc.user_model, current, [operation], self._answer_with()
        )
        return self._returned(answer, external_id)

    def delete_account(self, external_id: str) -> None:
        svc = self.probe.service()
        scim = self.session.client()
        try:
            self.session.call(
                f"DELETE {_url(svc.users, external_id)}",
                lambda: scim.delete(svc.users, external_id),
            )
        except ScimError as exc:
            if exc.status != 404:  # already gone: done
                raise
