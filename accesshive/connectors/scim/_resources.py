"""Resource access of the ``scim`` connector: fetching one resource, changing one, and
finding a Group by its entitlement.

It owns fetching one resource, finding a Group by its entitlement (ids remembered per
session: the one piece of state here) and changing a resource (``modify``: PATCH, or the
change applied locally and PUT back when PATCH is off; If-Match when ETags are offered).
Listing and paging are ``_paging.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from pydantic import ValidationError
from scim2_models import (
    Context,
    Group,
    PatchOp,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
)

from accesshive.connectors.scim._paging import Paging
from accesshive.connectors.scim._probe import ServiceProbe
from accesshive.connectors.scim._session import ScimError, ScimSession, filter_refused
from accesshive.connectors.scim._settings import ScimSettings
from accesshive.connectors.scim._values import GROUP_SCHEMA, _first_error, _quote, _url


class Resources:
    """Fetching and changing resources; Groups by entitlement."""

    def __init__(
        self, settings: ScimSettings, session: ScimSession, probe: ServiceProbe, paging: Paging
    ) -> None:
        self.settings = settings
        self.session = session
        self.probe = probe
        self.paging = paging
        self._group_ids: dict[str, str] = {}
        """Group displayName → id, filled as groups are read or looked up."""

    def forget_groups(self) -> None:
        """Group names changed (a managed Group renamed or deleted): look them up again."""
        self._group_ids.clear()

    def fetch(
        self, rt: ResourceType, resource_id: str, attributes: list[str] | None = None
    ) -> Resource[Any]:
        scim = self.session.client()
        params: ResponseParameters[Any] | None = (
            ResponseParameters(attributes=attributes) if attributes else None
        )
        what = f"GET {_url(rt, resource_id)}"
        found = self.session.call(what, lambda: scim.query(rt, resource_id, params))
        if not isinstance(found, Resource):
            raise self.settings.error(f"{what}: the target did not answer with a resource")
        return found

    def groups(self, attributes: list[str]) -> Iterator[tuple[str, Group]]:
        """Every Group with its entitlement (its displayName, mapped back through
        ``group_names``; a managed Group's by the externalId it carries)."""
        rt = self.probe.service().groups
        if rt is None:
            return
        if self.settings.managed:
            attributes = [*attributes, "externalId"]
        for groups, _ in self.paging.pages(rt, attributes):
            for group in groups:
                if isinstance(group, Group) and group.display_name and group.id:
                    self._group_ids[group.display_name] = group.id
                    name = group.display_name
                    if group.external_id in self.settings.managed:
                        yield group.external_id, group
                    else:
                        yield self.settings.entitlement_of.get(name, name), group

    def one(self, ids: list[str], what: str) -> str | None:
        if len(ids) > 1:
            raise self.settings.error(
                f"{len(ids)} accounts match {what}; accesshive will not guess which"
            )
        return ids[0] if ids else None

    def modify(
        self,
        rt: ResourceType,
        model: type[Resource[Any]],
        current: Resource[Any],
        operations: list[dict[str, Any]],
        answer_with: list[str] | None = None,
        *,
        answered: bool = True,
    ) -> Resource[Any] | dict[str, Any] | None:
        """PATCH the operations, or apply them to the resource and PUT it back. Returns what
        the target answered with (None after a 204; the JSON of the answer to a PUT, which
        scim2-client does not read for a body it did not build): what verification may use
        instead of reading the resource back.

        ``answer_with``: attributes the PATCH asks back (``?attributes=``): RFC 7644
        §3.5.2 lets a target answer a PATCH with 204 unless it is asked for attributes.
        ``answered=False``: the caller has no use for the answer (a Group's, after a
        member PATCH, holds every member): a PATCH's answer is checked (status, SCIM
        ``Error``) but not built into a resource, and None is returned."""
        svc = self.probe.service()
        patching = svc.patch_users if rt is svc.users else svc.patch
        scim = self.session.client()
        rid = str(current.id)
        url = _url(rt, rid)
        headers = self.if_match(current)
        try:
            patch = cast(Any, PatchOp)[model].model_validate(
                {"schemas": [str(PatchOp.__schema__)], "Operations": operations},
                scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            )
        except ValidationError as exc:
            raise self.settings.error(f"PATCH {url}: invalid request: {_first_error(exc)}") from exc
        if patching:
            body = self.settings.quirks.patch_payload(
                patch.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)
            )
            params = {"attributes": ",".join(answer_with)} if answer_with else None
            if not answered:
                self.session.call(
                    f"PATCH {url}",
                    lambda: scim.send_json("PATCH", url, body, params=params, headers=headers),
                )
                return None
            answer = self.session.call(
                f"PATCH {url}",
                lambda: scim.modify(rt, rid, body, headers=headers, params=params),
            )
            return answer if isinstance(answer, Resource) else None
        try:
            patch.patch(current)
        except (ValueError, SCIMException) as exc:
            raise self.settings.error(f"PUT {url}: cannot apply the change: {exc}") from exc
        body = self.settings.quirks.resource_payload(
            current.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        )
        replaced = self.session.call(
            f"PUT {url}",
            lambda: scim.replace(rt, body, check_request_payload=False, url=url, headers=headers),
        )
        return replaced if isinstance(replaced, Resource | dict) else None

    def patch_unchecked(self, rt: ResourceType, rid: str, operations: list[dict[str, Any]]) -> None:
        """PATCH operations that scim2-models would refuse to build: a write quirk's
        form (Entra's member removal by value), sent as the quirks spell it."""
        scim = self.session.client()
        url = _url(rt, rid)
        body = self.settings.quirks.patch_payload(
            {"schemas": [str(PatchOp.__schema__)], "Operations": operations}
        )
        self.session.call(f"PATCH {url}", lambda: scim.send_json("PATCH", url, body))

    def if_match(self, resource: Resource[Any]) -> dict[str, str]:
        version = resource.meta.version if resource.meta else None
        return {"If-Match": version} if version and self.probe.service().etag else {}

    def group_id(self, entitlement: str, *, refresh: bool = False) -> str | None:
        if entitlement in self.settings.managed:
            return self._managed_id(entitlement, refresh)
        name = self.settings.group_names.get(entitlement, entitlement)
        if name in self._group_ids and not refresh:
            return self._group_ids[name]
        self._group_ids.pop(name, None)
        svc = self.probe.service()
        if svc.groups is None:
            return None
        if svc.filter:
            try:
                page = self.paging.page(
                    svc.groups, 1, 2, ["displayName"], f"displayName eq {_quote(name)}"
                )
                ids = [
                    str(g.id)
                    for g in page.resources or []
                    if isinstance(g, Group) and g.display_name == name
                ]
                found = self.one(ids, f"the group '{name}'")
                if found:
                    self._group_ids[name] = found
                return found
            except ScimError as exc:
                if not filter_refused(exc):
                    raise
        ids = [str(g.id) for _, g in self.groups(["displayName"]) if g.display_name == name]
        return self.one(ids, f"the group '{name}'")

    def _managed_id(self, entitlement: str, refresh: bool) -> str | None:
        """A managed entitlement's Group: the one carrying it as externalId (whatever its
        name is now), else the one of its name (not adopted yet)."""
        key = f"\0{entitlement}"  # never a displayName
        if key in self._group_ids and not refresh:
            return self._group_ids[key]
        group = self.keyed(entitlement, ["displayName", "externalId"])
        if group is None:
            named = self.named(self.settings.managed[entitlement])
            group = named[0] if len(named) == 1 else None
        if group is None:
            return None
        self._group_ids[key] = str(group.id)
        return str(group.id)

    def keyed(self, entitlement: str, attributes: list[str]) -> Group | None:
        """The Group carrying ``entitlement`` as its externalId."""
        attributes = list(dict.fromkeys([*attributes, "externalId"]))
        found = self.matching(f"externalId eq {_quote(entitlement)}", attributes)
        mine = [g for g in found if g.external_id == entitlement]
        if len(mine) > 1:
            ids = ", ".join(str(g.id) for g in mine)
            raise self.settings.error(
                f"Groups {ids} all carry externalId {entitlement}; remove the extra"
            )
        return mine[0] if mine else None

    def named(self, name: str) -> list[Group]:
        found = self.matching(f"displayName eq {_quote(name)}", ["displayName", "externalId"])
        return [g for g in found if (g.display_name or "").casefold() == name.casefold()]

    def matching(self, filter_: str, attributes: list[str]) -> list[Group]:
        """Groups by a filter, or by reading them all when the target refuses filters."""
        rt = self.groups_type()
        if self.probe.service().filter:
            try:
                return [
                    g
                    for page, _ in self.paging.pages(rt, attributes, filter_)
                    for g in page
                    if isinstance(g, Group)
                ]
            except ScimError as exc:
                if not filter_refused(exc):
                    raise
        return list(self.all_groups([*attributes, "displayName", "externalId"]))

    def all_groups(self, attributes: list[str]) -> Iterator[Group]:
        rt = self.groups_type()
        for page, _ in self.paging.pages(rt, attributes):
            yield from (g for g in page if isinstance(g, Group) and g.id)

    def groups_type(self) -> ResourceType:
        rt = self.probe.service().groups
        if rt is None:
            raise self.settings.error("the target publishes no Group resource type")
        return rt

    def members(self, gid: str) -> list[tuple[str, str]]:
        """A Group's members as (value, type), ``type`` "User" when the target leaves it
        out: read as JSON, not built as a ``Group``. Verification reads a batch's Groups
        after every batch, and building thousands of member models each time was most of
        its cost; it needs only these two values, checked here as the models would: a
        list of objects, each with a string ``value`` and ``type``, names in any case
        (RFC 7643 §2.1)."""
        rt = self.groups_type()
        url = _url(rt, gid)
        scim = self.session.client()
        what = f"GET {url}"
        body = self.session.call(what, lambda: scim.read_json(url, {"attributes": "members"}))
        schemas = _attribute(body, "schemas")
        if isinstance(schemas, list) and GROUP_SCHEMA.lower() not in (
            str(s).lower() for s in schemas
        ):
            raise self.settings.error(f"{what}: not a Group (schemas {schemas})")
        found = _attribute(body, "members")
        if found is None:
            return []
        if not isinstance(found, list):
            raise self.settings.error(f"{what}: members is not a list")
        out = []
        for member in found:
            value = _attribute(member, "value") if isinstance(member, dict) else None
            kind = _attribute(member, "type") if isinstance(member, dict) else None
            if not isinstance(member, dict) or not isinstance(value, str | None):
                raise self.settings.error(f"{what}: a member that is not one: {member!r}")
            if not isinstance(kind, str | None):
                raise self.settings.error(f"{what}: a member's type is not a string: {member!r}")
            if value:  # a member without a value names no one
                out.append((value, kind or "User"))
        return out

    def fetch_group(self, gid: str, attributes: list[str] | None = None) -> Group:
        rt = self.groups_type()
        found = self.fetch(rt, gid, attributes)
        if not isinstance(found, Group):
            raise self.settings.error(f"GET {_url(rt, gid)}: not a Group")
        return found


class Collaborator:
    """What every part of the connector that acts on resources works with: the checked
    settings, the HTTP session, what the service provider announced, paging and the
    resource helpers. One constructor for the four parts (reader, account orders,
    grants, managed groups), so that where ``self.x`` comes from is said once."""

    def __init__(
        self,
        settings: ScimSettings,
        session: ScimSession,
        probe: ServiceProbe,
        paging: Paging,
        resources: Resources,
    ) -> None:
        self.settings = settings
        self.session = session
        self.probe = probe
        self.paging = paging
        self.resources = resources


def _attribute(body: dict[str, Any], name: str) -> Any:
    """``body``'s attribute ``name`` (lower case), however the target spelled it: SCIM
    attribute names are case-insensitive (RFC 7643 §2.1)."""
    if name in body:
        return body[name]
    return next((v for k, v in body.items() if isinstance(k, str) and k.lower() == name), None)
