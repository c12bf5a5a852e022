"""The ``scim`` connector: users and groups on a SCIM 2.0 service provider (RFC 7643/7644).

The source declares where the service is, how to authenticate and how its quirks
differ from the RFC::

    connection:
      base_url: https://www.figma.com/scim/v2/acme-org   # the SCIM root, where /Users lives
      token: ${env:FIGMA_SCIM_TOKEN}             # a bearer token, or OAuth 2.0 client credentials:
      oauth:
        token_url: https://login.example.com/oauth2/token
        client_id: accesshive
        client_secret: ${env:SCIM_CLIENT_SECRET}
        scope: scim.provisioning                 # optional
        client_auth: basic                       # basic (default, RFC 6749 §2.3.1) | body
      quirks: generic                            # generic | entra | okta | slack, or
                                                 # {profile: slack, writes_per_minute: 300, ...}
                                                 # (see accesshive/connectors/scim_quirks.py)
      page_size: 100                             # resources per read request (default 100)
      attributes:                                # flat attribute -> SCIM path, beside the built-ins
        cost_center: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter
      group_names: {team-design: Design Team}    # entitlement -> Group displayName (default: same)
      identity_attribute: externalId             # optional: the SCIM attribute that records
                                                 # the identity (written at create, read back)
      timeout: 30                                # seconds per HTTP request (default 30)
      verify: true                               # TLS: true | false | path/to/ca-bundle.pem

Account attributes are the flat keys the source declares (``account.schema``,
``create``, ``sync``), each mapped to a SCIM User path: a key that is a User path
maps to itself (``userName``, ``displayName``, ``name.givenName``,
``name.familyName``, ``title``, ``externalId``, ``nickName``, ``userType``,
``locale``, ``timezone``, ``preferredLanguage``, ``profileUrl``, or a full
extension path ``urn:...:enterprise:2.0:User:department``); ``department``,
``employeeNumber``, ``costCenter``, ``organization`` and ``division`` map to the
enterprise extension; ``emails`` (alias ``email``) and ``phoneNumbers`` (alias
``phone``) are the primary work value (a list of values when the attribute is
declared ``multi_valued``; the first is primary); ``password`` is write-only.
``active`` is not an attribute: it is the account's enabled state. The SCIM
resource ``id`` is the account's external id; grants are Group memberships, the
entitlement being the Group's ``displayName`` (or its ``group_names`` entry).

How it talks (see scim_transport.py): scim2-models builds and validates every
payload (User/Group resources, PatchOp, SearchRequest) and reads every answer;
scim2-client's sync client does the SCIM side of each exchange (endpoints from
/ResourceTypes, response checks, SCIM ``Error`` -> exception with status,
scimType and detail) over a ~20-line engine of our own on httpx. scim2-client
0.13's bundled engine needs the ``httpx2`` package, which accesshive does not
depend on; re-implementing its response checking over plain httpx would
duplicate what scim2-client already does right. Quirks rewrite a validated
payload just before it is sent, since they are what the models rightly refuse.

Behaviour:

- ``check()`` probes ``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas``
  (a 404 or 501 means "not published": RFC defaults are assumed), checks that every
  mapped attribute is in the published User schema and every entitlement has a
  Group, then reads one user (credentials).
- Reads page with ``startIndex``/``count`` and ``attributes=`` (only what is
  managed), continue when a page is shorter than asked, and fail closed when
  ``totalResults`` is missing or changes, a page repeats an id or comes back
  empty early, or a page fails (a 429 page is retried after its Retry-After).
- Create POSTs; a 409 uniqueness conflict adopts the account found by userName,
  externalId, the identity attribute or the correlation attributes (filters, or
  paging when filtering is off). Updates read the account (ETag), then PATCH only
  the attributes that differ, with If-Match when ETags are offered; PUT of the
  whole resource when PATCH is not supported or ``quirks.patch`` is false.
  Delete of a missing account is done; so are "already a member"/"not a member".
- Failures: refused connections, timeouts, DNS failures, 412 (changed between our
  read and write), 429 (with Retry-After) and 502/503/504 are retryable; anything
  else is not. Messages carry the request, HTTP status, ``scimType`` and ``detail``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote, urlsplit

import httpx
from pydantic import ValidationError
from scim2_client.errors import SCIMClientException
from scim2_models import (
    Context,
    EnterpriseUser,
    Group,
    GroupMember,
    ListResponse,
    PatchOp,
    Path,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimPolicy,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    User,
)

from accesshive.config.model import Source
from accesshive.connectors.base import Capabilities, Connector, ConnectorContext, Created, Page
from accesshive.connectors.references import resolve
from accesshive.connectors.scim_quirks import Quirks, parse_quirks
from accesshive.connectors.scim_transport import (
    BearerAuth,
    Failure,
    OAuthClientCredentials,
    ScimHttp,
    WriteLimiter,
    classify,
    tls_verify,
)
from accesshive.errors import ConnectorError
from accesshive.state.snapshot import SnapshotAccount

T = TypeVar("T")

USER_SCHEMA = str(User.__schema__)
GROUP_SCHEMA = str(Group.__schema__)
ENTERPRISE = str(EnterpriseUser.__schema__)
MODELS = (User, Group, EnterpriseUser)
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
"""Targets add vendor attributes and extensions we do not model: read past them."""
STATIC_USER: type[Resource[Any]] = User[EnterpriseUser]

DEFAULT_PAGE_SIZE = 100
READ_RETRIES = 3
FILTER_CHUNK = 50
"""Users looked up by one ``id eq … or …`` filter (it travels in the URL)."""
MAX_READ_WAIT = 60.0

ALIASES = {"email": "emails", "phone": "phoneNumbers"} | {
    name: f"{ENTERPRISE}:{name}"
    for name in ("employeeNumber", "costCenter", "organization", "division", "department")
}
PRIMARY = frozenset({"emails", "phonenumbers"})
"""Multi-valued typed attributes mapped to their primary work value."""
NOT_WRITABLE = frozenset({"id", "meta", "groups", "schemas", "active"})
CONNECTION_KEYS = frozenset(
    {
        "base_url",
        "token",
        "oauth",
        "quirks",
        "page_size",
        "attributes",
        "group_names",
        "identity_attribute",
        "timeout",
        "verify",
        "connector",  # read by the registry: a connector other than the kind's
    }
)


@dataclass(frozen=True)
class Attr:
    key: str
    """The flat attribute name the source declares."""
    path: str
    """Its SCIM User path."""
    kind: Literal["plain", "primary", "secret"]


@dataclass(frozen=True)
class Service:
    """What the target offers, as probed and then overridden by quirks."""

    users: ResourceType
    groups: ResourceType | None
    """None when the target publishes its resource types and Group is not among them."""
    user_model: type[Resource[Any]]
    patch: bool
    filter: bool
    etag: bool
    page_size: int


class ScimError(ConnectorError):
    """A ``ConnectorError`` that remembers the HTTP status and ``scimType``."""

    def __init__(self, source: str, failure: Failure) -> None:
        super().__init__(
            source, failure.message, retryable=failure.retryable, retry_after=failure.retry_after
        )
        self.status = failure.status
        self.scim_type = failure.scim_type


class ScimConnector(Connector):
    kind = "scim"
    capabilities = Capabilities(page_size=DEFAULT_PAGE_SIZE)

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        conn = source.connection
        unknown = sorted(set(conn) - CONNECTION_KEYS)
        if unknown:
            raise self.error(
                f"connection: unknown key(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(CONNECTION_KEYS))})"
            )
        self.base_url = str(conn.get("base_url") or "").rstrip("/")
        try:
            self.quirks: Quirks = parse_quirks(conn.get("quirks"))
        except ValueError as exc:
            raise self.error(f"connection.quirks: {exc}") from None
        self.page_size = int(self._positive("page_size", DEFAULT_PAGE_SIZE))
        self.timeout = self._positive("timeout", 30)
        self.group_names = {str(k): str(v) for k, v in (conn.get("group_names") or {}).items()}
        self._entitlement_of = {v: k for k, v in self.group_names.items()}
        self.attrs = self._mapping()
        identity = conn.get("identity_attribute")
        self.identity_path = self._plain_path("identity_attribute", identity) if identity else None
        self._http: httpx.Client | None = None
        self._token_http: httpx.Client | None = None
        self._scim: ScimHttp | None = None
        self._service: Service | None = None
        self._group_ids: dict[str, str] = {}

    # ------------------------------------------------------------------ configuration

    def _positive(self, key: str, default: float) -> float:
        value = self.source.connection.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.error(f"connection.{key} must be a positive number")
        if key == "page_size" and value != int(value):
            raise self.error(f"connection.{key} must be a whole number")
        return float(value)

    def _mapping(self) -> dict[str, Attr]:
        explicit = self.source.connection.get("attributes") or {}
        if not isinstance(explicit, dict):
            raise self.error("connection.attributes must map attribute names to SCIM paths")
        keys = {*self.source.account.schema_, *self.source.managed_attributes}
        keys.discard("active")  # enable/disable, never an attribute
        return {key: self._attr(key, explicit.get(key)) for key in sorted(keys)}

    def _attr(self, key: str, explicit: Any = None) -> Attr:
        path = str(explicit or ALIASES.get(key, key))
        if path.lower() in PRIMARY:
            return Attr(key, "emails" if path.lower() == "emails" else "phoneNumbers", "primary")
        if path.lower() == "password":
            return Attr(key, "password", "secret")
        return Attr(key, self._plain_path(key, path), "plain")

    def _plain_path(self, key: str, path: Any) -> str:
        binding = _binding(STATIC_USER, str(path))
        if binding is None or binding.field_name in NOT_WRITABLE:
            raise self.error(
                f"attribute '{key}' maps to '{path}', which is not a writable SCIM User "
                "attribute; map it with connection.attributes (e.g. "
                f"{key}: {ENTERPRISE}:department)"
            )
        return str(path)

    def _lookup_attr(self, key: str) -> Attr:
        found = self.attrs.get(key)
        if found is None:
            found = self._attr(key, (self.source.connection.get("attributes") or {}).get(key))
        return found

    # ------------------------------------------------------------------ transport

    def _client(self) -> ScimHttp:
        if self._scim is not None:
            return self._scim
        if not self.base_url.startswith(("http://", "https://")):
            raise self.error(
                "connection.base_url must be the http(s) URL of the SCIM root "
                "(e.g. https://example.com/scim/v2)"
            )
        verify: bool | Any = False  # plain http: no CA bundle to load
        if self.base_url.startswith("https://"):
            verify = tls_verify(self.source.connection.get("verify", True), self.context.root)
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            timeout=self.timeout,
            verify=verify,
            auth=self._auth(),
            headers={"Accept": "application/scim+json", "User-Agent": "accesshive"},
        )
        limiter = WriteLimiter.for_source(
            (self.source_id, self.base_url), self.quirks.writes_per_minute
        )
        self._scim = ScimHttp(self._http, ScimProvider(models=MODELS, policy=POLICY), limiter)
        self._scim.check_response_status_codes = False  # any 2xx will do; failures still raise
        return self._scim

    def _auth(self) -> httpx.Auth | None:
        conn = self.source.connection
        token, oauth = conn.get("token"), conn.get("oauth")
        if token and oauth:
            raise self.error("connection: give either token or oauth, not both")
        if token:
            value = str(self._secret(token))
            return BearerAuth(lambda _refresh: value, refreshable=False)
        if not oauth:
            return None
        if not isinstance(oauth, dict):
            raise self.error("connection.oauth must be a mapping (token_url, client_id, ...)")
        missing = [k for k in ("token_url", "client_id", "client_secret") if not oauth.get(k)]
        if missing:
            raise self.error(f"connection.oauth needs {', '.join(missing)}")
        unknown = sorted(
            set(oauth) - {"token_url", "client_id", "client_secret", "scope", "client_auth"}
        )
        if unknown:
            raise self.error(f"connection.oauth: unknown key(s) {', '.join(unknown)}")
        client_auth = str(oauth.get("client_auth", "basic"))
        if client_auth not in ("basic", "body"):
            raise self.error("connection.oauth.client_auth must be basic or body")
        token_url = str(oauth["token_url"])
        client_id = str(self._secret(oauth["client_id"]))
        client_secret = str(self._secret(oauth["client_secret"]))
        verify: bool | Any = False  # plain http: no CA bundle to load
        if token_url.startswith("https://"):
            verify = tls_verify(conn.get("verify", True), self.context.root)
        self._token_http = httpx.Client(timeout=self.timeout, verify=verify)
        credentials = OAuthClientCredentials(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=str(oauth["scope"]) if oauth.get("scope") else None,
            client_auth=client_auth,
            http=self._token_http,
            error=self.error,
        )
        return BearerAuth(credentials, refreshable=True)

    def _secret(self, value: Any) -> Any:
        return resolve(value, self.source_id, self.context.root, self.context.environ)

    def close(self) -> None:
        for client in (self._http, self._token_http):
            if client is not None:
                client.close()
        self._http = self._token_http = None
        self._scim = None
        self._service = None

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one scim2-client call; every failure becomes a ``ConnectorError``."""
        try:
            return fn()
        except ConnectorError:
            raise
        except (SCIMException, SCIMClientException) as exc:
            failure = classify(exc, what, self.base_url)
            if failure is None:  # pragma: no cover - classify handles both families
                raise
            raise ScimError(self.source_id, failure) from exc
        except ValidationError as exc:
            raise self.error(f"{what}: invalid request: {_first_error(exc)}") from exc

    # ------------------------------------------------------------------ probing

    def _svc(self) -> Service:
        if self._service is None:
            self._service = self._probe()
        return self._service

    def _probe(self) -> Service:
        scim = self._client()
        spc = self._optional(
            "GET /ServiceProviderConfig", lambda: scim.query(ServiceProviderConfig)
        )
        listed = self._optional("GET /ResourceTypes", lambda: scim.query(ResourceType))
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
            raise self.error(f"the target's /ResourceTypes cannot be used: {exc}") from exc
        scim.provider = provider
        user_model = cast("type[Resource[Any]]", provider.model_for(users))
        paths = [a.path for a in self.attrs.values() if a.kind == "plain"]
        for path in [*paths, *([self.identity_path] if self.identity_path else [])]:
            if _binding(user_model, path) is None:
                raise self.error(
                    f"'{path}' is not an attribute of the target's User resource type "
                    f"(schema extensions: {_extensions(users) or 'none'})"
                )
        q = self.quirks

        def announced(feature: Any) -> bool | None:
            return getattr(feature, "supported", None) if feature is not None else None

        patch = q.patch if q.patch is not None else announced(config and config.patch)
        filtering = q.filter if q.filter is not None else announced(config and config.filter)
        etag = q.etag if q.etag is not None else announced(config and config.etag)
        size = self.page_size
        max_results = (
            getattr(config.filter, "max_results", None) if config and config.filter else None
        )
        for cap in (q.max_page_size, max_results):
            if cap:
                size = min(size, int(cap))
        return Service(
            users=users,
            groups=groups,
            user_model=user_model,
            patch=patch is not False,  # RFC 7644 §3.5.2: PATCH is optional, but assumed when unsaid
            filter=filtering is not False,
            etag=bool(etag),
            page_size=max(size, 1),
        )

    def _optional(self, what: str, fn: Callable[[], T]) -> T | None:
        """A discovery endpoint the target may not publish (404/501) or publishes in a
        shape the models cannot read (a 2xx that does not validate): RFC defaults then."""
        try:
            return self._call(what, fn)
        except ScimError as exc:
            if exc.status in (404, 501) or (exc.status is not None and 200 <= exc.status < 300):
                return None
            raise

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
        base = urlsplit(self.base_url).path.rstrip("/")
        path = urlsplit(endpoint).path
        return "/" + path[len(base) :].lstrip("/") if path.startswith(base + "/") else default

    def check(self) -> None:
        self._service = None
        svc = self._svc()
        scim = self._client()
        schemas = self._optional("GET /Schemas", lambda: scim.query(Schema))
        published = [s for s in getattr(schemas, "resources", None) or [] if isinstance(s, Schema)]
        if published:
            missing = [
                f"{a.key} ({a.path})"
                for a in self.attrs.values()
                if a.kind != "secret" and not _in_schemas(published, a.path)
            ]
            if self.identity_path and not _in_schemas(published, self.identity_path):
                missing.append(f"identity_attribute ({self.identity_path})")
            if missing:
                raise self.error(
                    f"the target's /Schemas does not have: {', '.join(missing)}; map these "
                    "attributes elsewhere with connection.attributes"
                )
        self._list(svc.users, 1, 1, ["userName"])
        wanted = {self.group_names.get(e, e): e for e in self.source.entitlements}
        if wanted and svc.groups is None:
            raise self.error("the target publishes no Group resource type to grant entitlements")
        if wanted:
            found = {name for name, _ in self._groups(["displayName"])}
            absent = sorted(e for name, e in wanted.items() if name not in found)
            if absent:
                raise self.error(
                    f"no Group on the target for entitlement(s) {', '.join(absent)} "
                    "(map them with connection.group_names)"
                )

    # ------------------------------------------------------------------ reading

    def _list(
        self,
        rt: ResourceType,
        start: int,
        count: int,
        attributes: list[str] | None,
        filter_: str | None = None,
    ) -> ListResponse[Resource[Any]]:
        scim = self._client()
        params: SearchRequest[Any] = SearchRequest(
            start_index=start, count=count, attributes=attributes or None, filter=filter_
        )
        what = f"GET {rt.endpoint}?startIndex={start}&count={count}"
        if filter_:
            what += f"&filter={filter_}"
        attempt = 0
        while True:
            try:
                result = self._call(what, lambda: scim.query(rt, query_parameters=params))
            except ScimError as exc:
                if exc.status == 429 and attempt < READ_RETRIES:
                    attempt += 1
                    time.sleep(
                        min(exc.retry_after if exc.retry_after is not None else 1.0, MAX_READ_WAIT)
                    )
                    continue
                raise
            if not isinstance(result, ListResponse):
                raise self.error(f"{what}: the target did not answer with a ListResponse")
            return result

    def _pages(
        self, rt: ResourceType, attributes: list[str] | None, filter_: str | None = None
    ) -> Iterator[tuple[list[Resource[Any]], int]]:
        """Every resource of a type, page by page, or ``ConnectorError``: never a partial list."""
        size = self._svc().page_size
        start, total = 1, None
        seen: set[str] = set()
        while True:
            page = self._list(rt, start, size, attributes, filter_)
            where = f"GET {rt.endpoint} (startIndex={start})"
            if page.total_results is None:
                raise self.error(f"{where}: the target did not say how many there are")
            if total is None:
                total = page.total_results
            elif page.total_results != total:
                raise self.error(
                    f"{where}: totalResults changed during the read ({total} then "
                    f"{page.total_results}); nothing was kept, read again"
                )
            if page.start_index not in (None, start):
                raise self.error(f"{where}: the target answered startIndex={page.start_index}")
            items = list(page.resources or [])
            for item in items:
                if not item.id:
                    raise self.error(f"{where}: a resource without id")
                if item.id in seen:
                    raise self.error(f"{where}: {item.id} was returned twice; paging is unstable")
                seen.add(item.id)
            if len(seen) > total:
                raise self.error(f"{where}: more resources than the {total} announced")
            yield items, total
            if len(seen) >= total:
                return
            if not items:
                raise self.error(
                    f"{where}: an empty page with {total - len(seen)} of the {total} "
                    "announced still unread; nothing was kept"
                )
            start += len(items)

    def _user_attributes(self) -> list[str]:
        paths = {"userName", "active"}
        paths |= {a.path for a in self.attrs.values() if a.kind != "secret"}
        if self.identity_path:
            paths.add(self.identity_path)
        return sorted(paths)

    def _groups(self, attributes: list[str]) -> Iterator[tuple[str, Group]]:
        rt = self._svc().groups
        if rt is None:
            return
        for groups, _ in self._pages(rt, attributes):
            for group in groups:
                if isinstance(group, Group) and group.display_name and group.id:
                    self._group_ids[group.display_name] = group.id
                    yield group.display_name, group

    def _memberships(self) -> dict[str, set[str]]:
        """User id -> entitlements, from every Group's members."""
        held: dict[str, set[str]] = {}
        for name, group in self._groups(["displayName", "members"]):
            for member in group.members or []:
                if member.value and (member.type or "User").lower() == "user":
                    held.setdefault(member.value, set()).add(self._entitlement(name))
        return held

    def _entitlement(self, display_name: str) -> str:
        return self._entitlement_of.get(display_name, display_name)

    def read(self) -> Iterator[Page]:
        svc = self._svc()
        held = self._memberships()
        for users, total in self._pages(svc.users, self._user_attributes()):
            yield Page([self._snapshot(u, held.get(str(u.id), set())) for u in users], total)

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        svc = self._svc()
        try:
            user = self._fetch(svc.users, external_id, self._user_attributes())
        except ScimError as exc:
            if exc.status == 404:
                return None
            raise
        return self._snapshot(user, self._grants_of(external_id))

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        """Users by an ``id eq … or …`` filter, ``FILTER_CHUNK`` at a time (one GET per user
        when the target refuses filters); grants from one GET per Group the batch is about,
        or one membership query per user when there are more groups than users."""
        users = self._users_by_id(list(dict.fromkeys(external_ids)))
        held: dict[str, set[str]] = {}
        if entitlements and users:
            if len(set(entitlements)) <= len(users):
                held = self._members_of(sorted(set(entitlements)))
            else:
                held = {uid: self._grants_of(uid) for uid in users}
        return {uid: self._snapshot(user, held.get(uid, set())) for uid, user in users.items()}

    def _users_by_id(self, ids: list[str]) -> dict[str, Resource[Any]]:
        svc = self._svc()
        found: dict[str, Resource[Any]] = {}
        if svc.filter and len(ids) > 1:
            try:
                for start in range(0, len(ids), FILTER_CHUNK):
                    chunk = set(ids[start : start + FILTER_CHUNK])
                    any_of = " or ".join(f"id eq {_quote(i)}" for i in sorted(chunk))
                    for users, _ in self._pages(svc.users, self._user_attributes(), any_of):
                        found.update((str(u.id), u) for u in users if str(u.id) in chunk)
                return found
            except ScimError as exc:
                if not _filter_refused(exc):
                    raise
        for user_id in ids:
            try:
                found[user_id] = self._fetch(svc.users, user_id, self._user_attributes())
            except ScimError as exc:
                if exc.status != 404:
                    raise
        return found

    def _members_of(self, entitlements: list[str]) -> dict[str, set[str]]:
        """User id → which of ``entitlements`` it holds, from one GET per Group."""
        held: dict[str, set[str]] = {}
        for entitlement in entitlements:
            group = self._group_members(entitlement)
            members = group.members if group is not None else None
            for member in members or []:
                if member.value and (member.type or "User").lower() == "user":
                    held.setdefault(member.value, set()).add(entitlement)
        return held

    def _group_members(self, entitlement: str) -> Group | None:
        """The entitlement's Group with its members; None when there is none (a cached id
        that went stale is looked up again once)."""
        for refresh in (False, True):
            gid = self._group_id(entitlement, refresh=refresh)
            if gid is None:
                return None
            try:
                return self._fetch_group(gid, ["members"])
            except ScimError as exc:
                if exc.status != 404:
                    raise
        return None

    def _grants_of(self, user_id: str) -> set[str]:
        svc = self._svc()
        if svc.groups is None:
            return set()
        if svc.filter:
            try:
                return {
                    self._entitlement(str(g.display_name))
                    for groups, _ in self._pages(
                        svc.groups, ["displayName"], f"members.value eq {_quote(user_id)}"
                    )
                    for g in groups
                    if isinstance(g, Group) and g.display_name
                }
            except ScimError as exc:
                if not _filter_refused(exc):
                    raise
        return self._memberships().get(user_id, set())

    def _fetch(
        self, rt: ResourceType, resource_id: str, attributes: list[str] | None = None
    ) -> Resource[Any]:
        scim = self._client()
        params: ResponseParameters[Any] | None = (
            ResponseParameters(attributes=attributes) if attributes else None
        )
        what = f"GET {_url(rt, resource_id)}"
        found = self._call(what, lambda: scim.query(rt, resource_id, params))
        if not isinstance(found, Resource):
            raise self.error(f"{what}: the target did not answer with a resource")
        return found

    def _snapshot(self, user: Resource[Any], grants: set[str]) -> SnapshotAccount:
        attributes = {}
        for attr in self.attrs.values():
            if attr.kind != "secret":
                value = self._value(user, attr)
                if value not in (None, "", []):
                    attributes[attr.key] = value
        identity = _get(user, self.identity_path) if self.identity_path else None
        active = _get(user, "active")
        return SnapshotAccount(
            external_id=str(user.id),
            identity=str(identity) if identity not in (None, "") else None,
            enabled=active is not False,
            attributes=attributes,
            grants=sorted(grants),
        )

    def _value(self, user: Resource[Any], attr: Attr) -> Any:
        raw = _get(user, attr.path)
        if attr.kind == "plain":
            return _plain(raw)
        entries = sorted(raw or [], key=lambda e: not getattr(e, "primary", False))
        values = [str(e.value) for e in entries if getattr(e, "value", None)]
        spec = self.source.account.schema_.get(attr.key)
        if spec is not None and spec.multi_valued:
            return values
        return values[0] if values else None

    # ------------------------------------------------------------------ accounts

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        svc = self._svc()
        scim = self._client()
        body = self._user_payload(svc, attributes, enabled, identity)
        url = svc.users.endpoint or "/Users"
        what = f"POST {url}"
        try:
            created = self._call(
                what,
                lambda: scim.create(svc.users, body, check_request_payload=False, url=url),
            )
        except ScimError as exc:
            if exc.status != 409 and exc.scim_type != "uniqueness":
                raise
            found = self._find_existing(attributes, identity)
            if found is None:
                raise self.error(
                    f"{exc.message}; and no account matching it could be found to adopt"
                ) from exc
            return Created(found, adopted=True)
        new_id = created.get("id") if isinstance(created, dict) else getattr(created, "id", None)
        if not new_id:
            raise self.error(f"{what}: the target created the account but returned no id")
        return Created(str(new_id))

    def _user_payload(
        self, svc: Service, attributes: Mapping[str, Any], enabled: bool, identity: str
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "active": enabled}
        for key, value in attributes.items():
            if not _empty(value):
                attr = self._lookup_attr(key)
                _put(doc, attr.path, _entries(value) if attr.kind == "primary" else value)
        if self.identity_path and identity:
            _put(doc, self.identity_path, identity)
        doc["schemas"] += [k for k in doc if k.lower().startswith("urn:")]
        try:
            user = svc.user_model.model_validate(doc, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        except ValidationError as exc:
            raise self.error(f"the account's attributes are refused: {_first_error(exc)}") from exc
        dumped = user.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        return self.quirks.resource_payload(dumped)

    def _find_existing(self, attributes: Mapping[str, Any], identity: str) -> str | None:
        """The account a uniqueness conflict was about: by userName, externalId, the identity
        attribute, then the correlation attributes."""
        by_path: dict[str, Attr] = {}
        for mapped in self.attrs.values():
            by_path.setdefault(mapped.path, mapped)
        keys: list[tuple[str, Any]] = []
        for path in ("userName", "externalId"):
            named = by_path.get(path)
            if named is not None and not _empty(attributes.get(named.key)):
                keys.append((path, attributes[named.key]))
        if self.identity_path and identity:
            keys.append((self.identity_path, identity))
        for key in self.source.account.correlation:
            attr = self.attrs.get(key)
            if attr is not None and attr.kind != "secret" and not _empty(attributes.get(key)):
                value = attributes[key]
                value = value[0] if isinstance(value, list) else value
                keys.append((f"{attr.path}.value" if attr.kind == "primary" else attr.path, value))
        if not keys:
            return None
        svc = self._svc()
        if svc.filter:
            try:
                for path, value in keys:
                    found = self._match(f"{path} eq {_quote(str(value))}")
                    if found:
                        return found
                return None
            except ScimError as exc:
                if not _filter_refused(exc):
                    raise
        wanted = [(path, str(value).casefold()) for path, value in keys]
        matches: list[str] = []
        for users, _ in self._pages(svc.users, sorted({p.removesuffix(".value") for p, _ in keys})):
            for user in users:
                if any(_casefolded(user, path) == value for path, value in wanted):
                    matches.append(str(user.id))
        return self._one(matches, "the conflicting account")

    def _match(self, filter_: str) -> str | None:
        svc = self._svc()
        page = self._list(svc.users, 1, 2, ["userName"], filter_)
        return self._one([str(u.id) for u in page.resources or []], filter_)

    def _one(self, ids: list[str], what: str) -> str | None:
        if len(ids) > 1:
            raise self.error(f"{len(ids)} accounts match {what}; accesshive will not guess which")
        return ids[0] if ids else None

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        svc = self._svc()
        wanted = {key: self._lookup_attr(key) for key in attributes}
        paths = sorted({a.path for a in wanted.values() if a.kind != "secret"} | {"userName"})
        current = self._fetch(svc.users, external_id, paths if svc.patch else None)
        operations = []
        for key, attr in wanted.items():
            value = attributes[key]
            if attr.kind != "secret" and _same(self._value(current, attr), value):
                continue  # already so: send only what changes
            operations.append(_operation(attr, value))
        if operations:
            self._modify(svc.users, svc.user_model, current, operations)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        svc = self._svc()
        current = self._fetch(svc.users, external_id, ["active"] if svc.patch else None)
        if _get(current, "active") is enabled:
            return
        operation = {"op": "replace", "path": "active", "value": enabled}
        self._modify(svc.users, svc.user_model, current, [operation])

    def delete_account(self, external_id: str) -> None:
        svc = self._svc()
        scim = self._client()
        try:
            self._call(
                f"DELETE {_url(svc.users, external_id)}",
                lambda: scim.delete(svc.users, external_id),
            )
        except ScimError as exc:
            if exc.status != 404:  # already gone: done
                raise

    def _modify(
        self,
        rt: ResourceType,
        model: type[Resource[Any]],
        current: Resource[Any],
        operations: list[dict[str, Any]],
    ) -> None:
        """PATCH the operations, or apply them to the resource and PUT it back."""
        svc = self._svc()
        scim = self._client()
        rid = str(current.id)
        url = _url(rt, rid)
        headers = self._if_match(current)
        try:
            patch = cast(Any, PatchOp)[model].model_validate(
                {"schemas": [str(PatchOp.__schema__)], "Operations": operations},
                scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            )
        except ValidationError as exc:
            raise self.error(f"PATCH {url}: invalid request: {_first_error(exc)}") from exc
        if svc.patch:
            body = self.quirks.patch_payload(
                patch.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)
            )
            self._call(f"PATCH {url}", lambda: scim.modify(rt, rid, body, headers=headers))
            return
        try:
            patch.patch(current)
        except (ValueError, SCIMException) as exc:
            raise self.error(f"PUT {url}: cannot apply the change: {exc}") from exc
        body = self.quirks.resource_payload(
            current.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        )
        self._call(
            f"PUT {url}",
            lambda: scim.replace(rt, body, check_request_payload=False, url=url, headers=headers),
        )

    def _if_match(self, resource: Resource[Any]) -> dict[str, str]:
        version = resource.meta.version if resource.meta else None
        return {"If-Match": version} if version and self._svc().etag else {}

    # ------------------------------------------------------------------ grants

    def _group_id(self, entitlement: str, *, refresh: bool = False) -> str | None:
        name = self.group_names.get(entitlement, entitlement)
        if name in self._group_ids and not refresh:
            return self._group_ids[name]
        self._group_ids.pop(name, None)
        svc = self._svc()
        if svc.groups is None:
            return None
        if svc.filter:
            try:
                page = self._list(
                    svc.groups, 1, 2, ["displayName"], f"displayName eq {_quote(name)}"
                )
                ids = [
                    str(g.id)
                    for g in page.resources or []
                    if isinstance(g, Group) and g.display_name == name
                ]
                found = self._one(ids, f"the group '{name}'")
                if found:
                    self._group_ids[name] = found
                return found
            except ScimError as exc:
                if not _filter_refused(exc):
                    raise
        ids = [str(g.id) for n, g in self._groups(["displayName"]) if n == name]
        return self._one(ids, f"the group '{name}'")

    def grant(self, external_id: str, entitlement: str) -> None:
        svc = self._svc()
        for attempt in (1, 2):
            gid = self._group_id(entitlement, refresh=attempt == 2)
            if gid is None:
                name = self.group_names.get(entitlement, entitlement)
                raise self.error(f"no Group named '{name}' on the target ({entitlement})")
            try:
                if svc.patch:
                    add = {"op": "add", "path": "members", "value": [{"value": external_id}]}
                    self._patch_group(gid, [add])
                else:
                    self._put_members(gid, add=external_id)
                return
            except ScimError as exc:
                if _already(exc):
                    return  # already a member: done
                if exc.status != 404 or attempt == 2:
                    raise  # 404: the cached group id went stale, look it up again

    def revoke(self, external_id: str, entitlement: str) -> None:
        svc = self._svc()
        gid = self._group_id(entitlement)
        if gid is None:
            return  # no such group: nobody holds it
        try:
            if not svc.patch:
                self._put_members(gid, remove=external_id)
            elif self.quirks.member_removal == "replace":
                self._replace_members(gid, external_id)
            else:
                path = f"members[value eq {_quote(external_id)}]"
                self._patch_group(gid, [{"op": "remove", "path": path}])
        except ScimError as exc:
            if exc.status == 404 or exc.scim_type == "noTarget":
                return  # not a member (or no group any more): done
            raise

    def _groups_type(self) -> ResourceType:
        rt = self._svc().groups
        if rt is None:
            raise self.error("the target publishes no Group resource type")
        return rt

    def _patch_group(
        self, gid: str, operations: list[dict[str, Any]], current: Group | None = None
    ) -> None:
        self._modify(self._groups_type(), Group, current or Group(id=gid), operations)

    def _replace_members(self, gid: str, user_id: str) -> None:
        """Member removal for targets that only take the whole member list (with If-Match)."""
        group = self._fetch_group(gid, ["members"])
        members = group.members or []
        if not any(m.value == user_id for m in members):
            return
        rest = [_member(m) for m in members if m.value != user_id]
        operation: dict[str, Any] = (
            {"op": "replace", "path": "members", "value": rest}
            if rest
            else {"op": "remove", "path": "members"}
        )
        self._patch_group(gid, [operation], group)

    def _put_members(self, gid: str, *, add: str | None = None, remove: str | None = None) -> None:
        rt = self._groups_type()
        group = self._fetch_group(gid)
        members = list(group.members or [])
        held = any(m.value == (add or remove) for m in members)
        if (add and held) or (remove and not held):
            return
        if add:
            members.append(GroupMember(value=add))
        else:
            members = [m for m in members if m.value != remove]
        group.members = members or None
        body = self.quirks.resource_payload(
            group.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        )
        if not members:
            body["members"] = []
        url = _url(rt, gid)
        scim = self._client()
        headers = self._if_match(group)
        self._call(
            f"PUT {url}",
            lambda: scim.replace(rt, body, check_request_payload=False, url=url, headers=headers),
        )

    def _fetch_group(self, gid: str, attributes: list[str] | None = None) -> Group:
        rt = self._groups_type()
        found = self._fetch(rt, gid, attributes)
        if not isinstance(found, Group):
            raise self.error(f"GET {_url(rt, gid)}: not a Group")
        return found


# --------------------------------------------------------------------------- helpers


def _serves(rt: ResourceType, schema: str) -> bool:
    return str(rt.schema_).lower() == schema.lower()


def _filter_refused(exc: ScimError) -> bool:
    """The target does not take this filter (then accesshive pages through instead)."""
    return exc.status == 501 or (exc.status == 400 and exc.scim_type in (None, "invalidFilter"))


def _binding(model: type[Resource[Any]], path: str) -> Any:
    try:
        return cast(Any, Path)[model](path).resolve()
    except (ValueError, SCIMException):
        return None


def _get(resource: Resource[Any], path: str) -> Any:
    try:
        return cast(Any, Path)[type(resource)](path).get(resource, strict=False)
    except (ValueError, SCIMException):
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)


def _casefolded(user: Resource[Any], path: str) -> str | None:
    base = path.removesuffix(".value")
    value = _get(user, base)
    if isinstance(value, list):
        return next((str(e.value).casefold() for e in value if getattr(e, "value", None)), None)
    return None if value is None else str(value).casefold()


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``name.givenName`` or ``urn:...:User:department`` in a SCIM JSON document."""
    target = doc
    if path.lower().startswith("urn:"):
        urn, _, path = path.rpartition(":")
        if urn.lower() != USER_SCHEMA.lower():
            target = doc.setdefault(urn, {})
    *parents, leaf = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value


def _entries(value: Any) -> list[dict[str, Any]]:
    """Values of a multi-valued typed attribute (emails): work, the first primary."""
    values = value if isinstance(value, list) else [value]
    return [
        {"value": str(v), "type": "work", "primary": i == 0}
        for i, v in enumerate(v for v in values if not _empty(v))
    ]


def _operation(attr: Attr, value: Any) -> dict[str, Any]:
    if _empty(value):
        return {"op": "remove", "path": attr.path}
    if attr.kind == "primary":
        return {"op": "replace", "path": attr.path, "value": _entries(value)}
    return {"op": "replace", "path": attr.path, "value": value}


def _same(have: Any, want: Any) -> bool:
    if _empty(have) and _empty(want):
        return True
    if isinstance(have, list) or isinstance(want, list):
        have_list = have if isinstance(have, list) else [have]
        want_list = want if isinstance(want, list) else [want]
        return [str(v) for v in have_list] == [str(v) for v in want_list]
    if isinstance(have, bool) or isinstance(want, bool):
        return have is want
    return have is not None and str(have) == str(want)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _already(exc: ScimError) -> bool:
    text = exc.message.lower()
    return exc.status == 409 or (
        exc.status == 400 and (exc.scim_type == "uniqueness" or "already" in text)
    )


def _member(member: GroupMember) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": member.value}
    if member.type:
        entry["type"] = member.type
    return entry


def _quote(value: str) -> str:
    """A filter string literal (RFC 7644 §3.4.2.2: JSON string rules)."""
    return json.dumps(value)


def _url(rt: ResourceType, resource_id: str) -> str:
    return f"{rt.endpoint}/{quote(resource_id, safe='')}"


def _extensions(rt: ResourceType) -> str:
    return ", ".join(str(e.schema_) for e in rt.schema_extensions or [])


def _in_schemas(schemas: list[Schema], path: str) -> bool:
    """Whether the target's /Schemas publishes the attribute at ``path``."""
    urn = USER_SCHEMA
    if path.lower().startswith("urn:"):
        urn, _, path = path.rpartition(":")
    schema = next((s for s in schemas if str(s.id).lower() == urn.lower()), None)
    if schema is None:
        return False
    attributes = schema.attributes or []
    for part in path.split("."):
        found = next((a for a in attributes if str(a.name).lower() == part.lower()), None)
        if found is None:
            return False
        attributes = found.sub_attributes or []
    return True


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
