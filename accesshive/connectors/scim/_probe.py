"""Service probing of the ``scim`` connector: what the target offers.

``ServiceProbe`` reads ``/ServiceProviderConfig`` and ``/ResourceTypes`` once per session (a
404 or 501, or an answer the models cannot read, means "not published": RFC defaults
are assumed), finds the User and Group endpoints and the enterprise extension, checks
that every mapped attribute is an attribute of the target's User, and settles the
features (PATCH, filtering, ETags, page size, RFC 9865 cursor paging) from what the
target announces, overridden by the source's quirks. The result is a ``Service``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from scim2_models import (
    Group,
    Resource,
    ResourceType,
    ScimProvider,
    ServiceProviderConfig,
)

from accesshive.connectors.scim._session import ScimSession
from accesshive.connectors.scim._settings import ScimSettings
from accesshive.connectors.scim._values import (
    ENTERPRISE,
    GROUP_SCHEMA,
    MODELS,
    POLICY,
    STATIC_USER,
    USER_SCHEMA,
    _binding,
    _extensions,
    _serves,
)


@dataclass(frozen=True)
class Service:
    """What the target offers, as probed and then overridden by quirks."""

    users: ResourceType
    groups: ResourceType | None
    """None when the target publishes its resource types and Group is not among them."""
    user_model: type[Resource[Any]]
    patch: bool
    """Groups (and, unless ``patch_users`` says otherwise, Users) are changed by PATCH."""
    filter: bool
    etag: bool
    page_size: int
    patch_users: bool = True
    """Users are changed by PATCH (else read and PUT back: ``quirks.user_patch``)."""
    cursor: bool = False
    """Lists are paged with RFC 9865 cursors (``cursor=``, then each ``nextCursor``)
    instead of ``startIndex``: a cursor stays valid while resources are added or
    removed during the read, where an index shifts."""


class ServiceProbe:
    """The ``Service`` of this session, probed on first use and kept until ``forget``."""

    def __init__(self, settings: ScimSettings, session: ScimSession) -> None:
        self.settings = settings
        self.session = session
        self._service: Service | None = None

    def service(self) -> Service:
        if self._service is None:
            self._service = self._probe()
        return self._service

    def forget(self) -> None:
        """Probe again on next use (``check``, and after ``close``)."""
        self._service = None

    def _probe(self) -> Service:
        scim = self.session.client()
        spc = self.session.optional(
            "GET /ServiceProviderConfig", lambda: scim.query(ServiceProviderConfig)
        )
        listed = self.session.optional("GET /ResourceTypes", lambda: scim.query(ResourceType))
        published = [
            rt for rt in getattr(listed, "resources", None) or [] if isinstance(rt, ResourceType)
        ]
        users = self._resource_type(published, USER_SCHEMA, "User", "/Users")
        groups: ResourceType | None = self._resource_type(
            published, GROUP_SCHEMA, "Group", "/Groups"
        )
        if published and not any(_serves(rt, GROUP_SCHEMA) for rt in published):
            groups = None
        config = spc if isinstance(spc, ServiceProviderConfig) else None
        try:
            provider = ScimProvider(
                models=MODELS,
                resource_types=[users, *([groups] if groups else [])],
                config=config,
                policy=POLICY,
            )
        except ValueError as exc:
            raise self.settings.error(f"the target's /ResourceTypes cannot be used: {exc}") from exc
        scim.provider = provider
        user_model = cast("type[Resource[Any]]", provider.model_for(users))
        paths = [a.path for a in self.settings.attrs.values() if a.kind == "plain"]
        for path in [
            *paths,
            *([self.settings.identity_path] if self.settings.identity_path else []),
        ]:
            if _binding(user_model, path) is None:
                raise self.settings.error(
                    f"'{path}' is not an attribute of the target's User resource type "
                    f"(schema extensions: {_extensions(users) or 'none'})"
                )
        return self._features(users, groups, user_model, config)

    def _features(
        self,
        users: ResourceType,
        groups: ResourceType | None,
        user_model: type[Resource[Any]],
        config: ServiceProviderConfig | None,
    ) -> Service:
        """What the target announces, overridden by the quirks."""
        q = self.settings.quirks

        def announced(feature: Any) -> bool | None:
            return getattr(feature, "supported", None) if feature is not None else None

        patch = q.patch if q.patch is not None else announced(config and config.patch)
        filtering = q.filter if q.filter is not None else announced(config and config.filter)
        etag = q.etag if q.etag is not None else announced(config and config.etag)
        size = self.settings.page_size
        max_results = (
            getattr(config.filter, "max_results", None) if config and config.filter else None
        )
        pagination = config.pagination if config else None
        cursor = q.cursor_paging
        if cursor is None:
            cursor = bool(pagination and pagination.cursor)
        max_page = pagination.max_page_size if pagination else None
        for cap in (q.max_page_size, max_results, max_page):
            if cap:
                size = min(size, int(cap))
        return Service(
            users=users,
            groups=groups,
            user_model=user_model,
            patch=patch is not False,  # RFC 7644 §3.5.2: PATCH is optional, but assumed when unsaid
            patch_users=patch is not False and q.user_patch is not False,
            filter=filtering is not False,
            etag=bool(etag),
            page_size=max(size, 1),
            cursor=cursor,
        )

    def _resource_type(
        self, published: list[ResourceType], schema: str, name: str, endpoint: str
    ) -> ResourceType:
        for rt in published:
            if _serves(rt, schema) and rt.endpoint:
                known = [
                    ext
                    for ext in rt.schema_extensions or []
                    if str(ext.schema_).lower() == ENTERPRISE.lower()
                ]
                return ResourceType(
                    id=rt.id or name,
                    name=rt.name or name,
                    endpoint=self._relative(str(rt.endpoint), endpoint),
                    schema_=schema,
                    schema_extensions=known or None,
                )
        model = STATIC_USER if schema == USER_SCHEMA else Group
        return ResourceType.from_resource(model).model_copy(update={"endpoint": endpoint})

    def _relative(self, endpoint: str, default: str) -> str:
        """Endpoints are relative to the base URL (RFC 7643 §6); some targets publish URLs."""
        if "://" not in endpoint:
            return "/" + endpoint.lstrip("/")
        base = urlsplit(self.settings.base_url).path.rstrip("/")
        path = urlsplit(endpoint).path
        return "/" + path[len(base) :].lstrip("/") if path.startswith(base + "/") else default
