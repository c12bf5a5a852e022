"""A stand-in for Google's Admin SDK (Directory API v1, Enterprise License Manager API v1)
and its OAuth token endpoint, on 127.0.0.1, for the google_workspace connector's tests.

It follows the published API: the same paths, JSON field names (``kind``, ``etag``,
``users``/``members``/``groups``/``items``, ``nextPageToken`` — list keys are omitted
when empty, as Google does), ``pageToken``/``maxResults`` paging with Google's limits
(users 500, members and groups 200, licences 1000), ``fields`` partial responses, and
Google's error body::

    {"error": {"code": 409, "message": "Entity already exists.", "status": "ALREADY_EXISTS",
               "errors": [{"message": "Entity already exists.", "domain": "global",
                           "reason": "duplicate"}]}}

Bearer tokens are checked (401 ``authError`` otherwise) and so are their scopes (403
``insufficientPermissions``). ``POST /token`` implements the JWT-bearer grant that
google-auth uses for service accounts: it verifies the RS256 signature with the
registered public key, the audience, the subject and the delegated scopes.

Test levers: ``consistency_delay`` (a new user 404s on direct look-ups for that long),
``fail(...)`` faults (rate limits, 429, 503, a failing n-th page, slow answers, raw
non-JSON bodies), ``broken`` (every API call 503s), ``revoke_tokens()``.

Where Google does not document an exact answer, the stand-in picks a plausible one and
says so: a licence insert for a user holding another SKU of the product answers 412
``conditionNotMet`` (the connector does not depend on the code).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DIRECTORY = "/admin/directory/v1"
LICENSING = "/apps/licensing/v1"
SCOPE = "https://www.googleapis.com/auth/"
USER_SCOPES = {SCOPE + "admin.directory.user", SCOPE + "admin.directory.user.readonly"}
USER_WRITE = {SCOPE + "admin.directory.user"}
GROUP_SCOPES = {SCOPE + "admin.directory.group", SCOPE + "admin.directory.group.readonly"}
GROUP_WRITE = {SCOPE + "admin.directory.group"}
MEMBER_SCOPES = GROUP_SCOPES | {
    SCOPE + "admin.directory.group.member",
    SCOPE + "admin.directory.group.member.readonly",
}
MEMBER_WRITE = {SCOPE + "admin.directory.group", SCOPE + "admin.directory.group.member"}
LICENSING_SCOPES = {SCOPE + "apps.licensing"}
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
ALL_SCOPES = USER_SCOPES | GROUP_SCOPES | MEMBER_SCOPES | LICENSING_SCOPES

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    def __init__(
        self, code: int, reason: str, message: str, domain: str = "global", **extra: str
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.domain = code, reason, message, domain
        self.extra = extra

    def body(self) -> dict[str, Any]:
        detail = {"message": self.message, "domain": self.domain, "reason": self.reason}
        detail.update(self.extra)
        error: dict[str, Any] = {"code": self.code, "message": self.message, "errors": [detail]}
        if self.code in STATUS_NAMES:
            error["status"] = STATUS_NAMES[self.code]
        return {"error": error}


def not_found(what: str) -> ApiError:
    return ApiError(404, "notFound", f"Resource Not Found: {what}")


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid", message)


@dataclass
class Fault:
    """Fail matching requests: after ``skip`` matches, the next ``times`` (0 = all)."""

    method: str
    path: str
    status: int
    reason: str = ""
    message: str = ""
    domain: str = "global"
    skip: int = 0
    times: int = 1
    retry_after: str | None = None
    raw: str | None = None
    delay: float = 0.0
    echo_body: bool = False
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and re.search(self.path, path) is not None

    def take(self) -> bool:
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass
class ServiceAccountGrant:
    client_email: str
    public_key: rsa.RSAPublicKey
    subjects: set[str]
    scopes: set[str]


@dataclass
class RequestRecord:
    method: str
    path: str
    params: dict[str, str]


@dataclass
class State:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    """group id → {user id: role}"""
    org_units: set[str] = field(default_factory=lambda: {"/"})
    skus: dict[tuple[str, str], str] = field(default_factory=dict)
    licenses: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(product, sku) → user ids"""


def make_service_account_key(client_email: str, token_uri: str) -> tuple[str, rsa.RSAPublicKey]:
    """A new service account JSON key (as Google issues them) and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "standin-project",
        "private_key_id": hashlib.sha1(pem.encode()).hexdigest(),
        "private_key": pem,
        "client_email": client_email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }
    return json.dumps(info), key.public_key()


class GoogleStandIn:
    def __init__(
        self,
        *,
        customer_id: str = "C0standin",
        domains: tuple[str, ...] = ("example.com",),
        token: str = "standin-static-token",
    ) -> None:
        self.customer_id = customer_id
        self.domains = {d.lower() for d in domains}
        self.static_token = token
        self.lock = threading.RLock()
        self.state = State()
        self.tokens: dict[str, set[str]] = {token: set(ALL_SCOPES)}
        self.grants: dict[str, ServiceAccountGrant] = {}
        self.token_requests = 0
        self.faults: list[Fault] = []
        self.broken = False
        self.consistency_delay = 0.0
        self.requests: list[RequestRecord] = []
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> GoogleStandIn:
        standin = self

        class Handler(_Handler):
            api = standin

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GoogleStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the stand-in is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def reset(self) -> None:
        with self.lock:
            self.state = State()
            self.faults.clear()
            self.broken = False
            self.consistency_delay = 0.0
            self.requests.clear()

    # ------------------------------------------------------------------ test levers

    def fail(
        self, method: str, path: str, status: int, reason: str = "", message: str = "", **kw: Any
    ) -> Fault:
        fault = Fault(method, path, status, reason, message, **kw)
        with self.lock:
            self.faults.append(fault)
        return fault

    def revoke_tokens(self) -> None:
        """Every token but the static one stops working (as after a key rotation)."""
        with self.lock:
            self.tokens = {self.static_token: set(ALL_SCOPES)}

    def register_service_account(
        self,
        client_email: str,
        public_key: rsa.RSAPublicKey,
        subjects: set[str],
        scopes: set[str] | None = None,
    ) -> None:
        """Domain-wide delegation: which admins it may act as, with which scopes."""
        self.grants[client_email] = ServiceAccountGrant(
            client_email, public_key, {s.lower() for s in subjects}, set(scopes or ALL_SCOPES)
        )

    def add_group(self, email: str, name: str | None = None) -> str:
        with self.lock:
            gid = f"03{next(self._ids):013x}"
            self.state.groups[gid] = {
                "kind": "admin#directory#group",
                "id": gid,
                "email": email.lower(),
                "name": name or email.split("@")[0],
                "description": "",
                "adminCreated": True,
            }
            self.state.members[gid] = {}
            return gid

    def add_org_unit(self, path: str) -> None:
        with self.lock:
            parts = path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                self.state.org_units.add("/" + "/".join(parts[:i]))

    def add_sku(self, product: str, sku: str, name: str | None = None) -> None:
        with self.lock:
            self.state.skus[(product, sku)] = name or sku
            self.state.licenses.setdefault((product, sku), set())

    def user(self, key: str) -> dict[str, Any] | None:
        """The stored user (no consistency delay, no partial response)."""
        with self.lock:
            found = self._find_user(key, visible_only=False)
            return json.loads(json.dumps(found)) if found else None

    def set_user_field(self, key: str, path: str, value: Any) -> None:
        """An out-of-band change, as an admin in the console would make."""
        with self.lock:
            user = self._find_user(key, visible_only=False)
            assert user is not None, key
            *parents, last = path.split(".")
            node = user
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
            _refresh_derived(user)

    def create_user(
        self, email: str, given: str = "Given", family: str = "Family", **extra: Any
    ) -> str:
        body = {
            "primaryEmail": email,
            "name": {"givenName": given, "familyName": family},
            "password": "Out-of-band-1",
            **extra,
        }
        with self.lock:
            return str(self._insert_user(body)["id"])

    def group_members(self, group: str) -> dict[str, str]:
        with self.lock:
            gid = self._find_group(group)["id"]
            return dict(self.state.members[gid])

    def licensed(self, product: str, sku: str) -> set[str]:
        with self.lock:
            return set(self.state.licenses.get((product, sku), set()))

    def calls(self, method: str, path_pattern: str) -> list[RequestRecord]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and re.search(path_pattern, r.path)
            ]

    # ------------------------------------------------------------------ dispatch

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        path = split.path
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with self.lock:
            self.requests.append(RequestRecord(method, path, params))
            fault = next((f for f in self.faults if f.matches(method, path) and f.take()), None)
        if path == "/token" and method == "POST":
            if fault is not None:
                return self._fault_response(fault, body)
            return self._token(body)
        try:
            scopes = self._authorize(headers)
        except ApiError as err:
            extra = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
            return err.code, extra, json.dumps(err.body()).encode()
        if fault is not None:
            return self._fault_response(fault, body)
        if self.broken:
            err = ApiError(503, "backendError", "Service unavailable. Please try again")
            return 503, {}, json.dumps(err.body()).encode()
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError:
            err = ApiError(400, "parseError", "Invalid JSON payload received.")
            return 400, {}, json.dumps(err.body()).encode()
        try:
            with self.lock:
                status, result = self._route(method, path, params, payload, scopes)
            if result is not None and params.get("fields"):
                result = select_fields(result, parse_fields(params["fields"]))
        except ApiError as err:
            return err.code, {}, json.dumps(err.body()).encode()
        if result is None:
            return status, {}, b""
        return status, {}, json.dumps(result).encode()

    def _fault_response(self, fault: Fault, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if fault.delay:
            time.sleep(fault.delay)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.raw is not None:
            headers["Content-Type"] = "text/html; charset=UTF-8"
            return fault.status, headers, fault.raw.encode()
        message = fault.message
        if fault.echo_body:
            message = f"{message} {body.decode(errors='replace')}"
        err = ApiError(fault.status, fault.reason or "backendError", message, fault.domain)
        return fault.status, headers, json.dumps(err.body()).encode()

    def _authorize(self, headers: dict[str, str]) -> set[str]:
        value = headers.get("authorization", "")
        token = value[7:].strip() if value.lower().startswith("bearer ") else ""
        with self.lock:
            scopes = self.tokens.get(token)
        if scopes is None:
            raise ApiError(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                location="Authorization",
                locationType="header",
            )
        return scopes

    def _route(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        body: Any,
        scopes: set[str],
    ) -> tuple[int, Any]:
        def need(allowed: set[str]) -> None:
            if not scopes & allowed:
                raise ApiError(
                    403,
                    "insufficientPermissions",
                    "Request had insufficient authentication scopes.",
                )

        if path.startswith(DIRECTORY + "/"):
            parts = [unquote(p) for p in path[len(DIRECTORY) + 1 :].split("/")]
            match (method, parts):
                case ("GET", ["users"]):
                    need(USER_SCOPES)
                    return 200, self._list_users(params)
                case ("POST", ["users"]):
                    need(USER_WRITE)
                    return 200, self._public(self._insert_user(body))
                case ("GET", ["users", key]):
                    need(USER_SCOPES)
                    return 200, self._public(self._user_or_404(key))
                case ("PATCH", ["users", key]):
                    need(USER_WRITE)
                    return 200, self._public(self._patch_user(key, body))
                case ("DELETE", ["users", key]):
                    need(USER_WRITE)
                    self._delete_user(key)
                    return 204, None
                case ("POST", ["users", key, "makeAdmin"]):
                    need(USER_WRITE)
                    self._make_admin(key, body)
                    return 204, None
                case ("GET", ["groups"]):
                    need(GROUP_SCOPES)
                    return 200, self._list_groups(params)
                case ("POST", ["groups"]):
                    need(GROUP_WRITE)
                    return 200, self._group_view(self._insert_group(body))
                case ("GET", ["groups", group]):
                    need(GROUP_SCOPES)
                    return 200, self._group_view(self._find_group(group))
                case ("PATCH", ["groups", group]):
                    need(GROUP_WRITE)
                    return 200, self._group_view(self._patch_group(group, body))
                case ("DELETE", ["groups", group]):
                    need(GROUP_WRITE)
                    self._delete_group(group)
                    return 204, None
                case ("GET", ["groups", group, "members"]):
                    need(MEMBER_SCOPES)
                    return 200, self._list_members(group, params)
                case ("POST", ["groups", group, "members"]):
                    need(MEMBER_WRITE)
                    return 200, self._insert_member(group, body)
                case ("DELETE", ["groups", group, "members", member]):
                    need(MEMBER_WRITE)
                    self._delete_member(group, member)
                    return 204, None
        if path.startswith(LICENSING + "/"):
            need(LICENSING_SCOPES)
            parts = [unquote(p) for p in path[len(LICENSING) + 1 :].split("/")]
            match (method, parts):
                case ("GET", ["product", product, "sku", sku, "users"]):
                    return 200, self._list_licenses(product, sku, params)
                case ("POST", ["product", product, "sku", sku, "user"]):
                    return 200, self._insert_license(product, sku, body)
                case ("GET", ["product", product, "sku", sku, "user", user]):
                    return 200, self._get_license(product, sku, user)
                case ("PATCH", ["product", product, "sku", sku, "user", user]):
                    return 200, self._reassign_license(product, sku, user, body)
                case ("DELETE", ["product", product, "sku", sku, "user", user]):
                    self._delete_license(product, sku, user)
                    return 204, None
        raise ApiError(404, "notFound", f"Method not found: {method} {path}")

    # ------------------------------------------------------------------ token endpoint

    def _token(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        def refuse(code: int, error: str, description: str) -> tuple[int, dict[str, str], bytes]:
            data = {"error": error, "error_description": description}
            return code, {}, json.dumps(data).encode()

        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return refuse(400, "unsupported_grant_type", "Invalid grant_type: ")
        try:
            head_b64, claims_b64, sig_b64 = form.get("assertion", "").split(".")
            header = json.loads(_b64decode(head_b64))
            claims = json.loads(_b64decode(claims_b64))
            signature = _b64decode(sig_b64)
        except ValueError:
            return refuse(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token")
        grant = self.grants.get(str(claims.get("iss")))
        if grant is None or header.get("alg") != "RS256":
            return refuse(400, "invalid_grant", "Invalid JWT Signature.")
        try:
            grant.public_key.verify(
                signature,
                f"{head_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return refuse(400, "invalid_grant", "Invalid JWT Signature.")
        now = time.time()
        # google-auth signs for Google's token endpoint whatever token_uri it posts to
        if claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, self.token_uri):
            return refuse(400, "invalid_grant", "Invalid JWT: Failed audience check.")
        if not (float(claims.get("iat", 0)) - 300 <= now <= float(claims.get("exp", 0)) + 300):
            return refuse(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token")
        subject = str(claims.get("sub", "")).lower()
        if subject not in grant.subjects:
            return refuse(400, "invalid_grant", "Invalid email or User ID")
        requested = set(str(claims.get("scope", "")).split())
        if not requested or not requested <= grant.scopes:
            return refuse(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or "
                "client not authorized for any of the scopes requested.",
            )
        digest = hashlib.sha1(form["assertion"].encode()).hexdigest()[:16]
        token = f"ya29.standin-{next(self._ids)}-{digest}"
        with self.lock:
            self.tokens[token] = requested
            self.token_requests += 1
        data = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        return 200, {}, json.dumps(data).encode()

    # ------------------------------------------------------------------ users

    def _find_user(self, key: str, visible_only: bool = True) -> dict[str, Any] | None:
        key = key.lower()
        now = time.monotonic()
        for uid, user in self.state.users.items():
            addresses = [user["primaryEmail"], *user.get("aliases", [])]
            if uid == key or key in addresses:
                if visible_only and now < self.state.created[uid] + self.consistency_delay:
                    return None  # created moments ago: not visible yet
                return user
        return None

    def _user_or_404(self, key: str) -> dict[str, Any]:
        user = self._find_user(key)
        if user is None:
            raise not_found("userKey")
        return user

    def _public(self, user: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(user))

    def _address_taken(self, email: str, except_id: str | None = None) -> bool:
        for uid, user in self.state.users.items():
            if uid != except_id and email in (user["primaryEmail"], *user.get("aliases", [])):
                return True
        return any(g["email"] == email for g in self.state.groups.values())

    def _check_org_unit(self, path: Any) -> None:
        if path is not None and path not in self.state.org_units:
            raise invalid("Invalid Input: INVALID_OU_ID")

    def _insert_user(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "required", "Required field must not be blank: User")
        email = str(body.get("primaryEmail") or "").lower()
        if not email or "@" not in email:
            raise invalid("Invalid Input: primary_user_email")
        name = body.get("name") or {}
        if not name.get("givenName"):
            raise invalid("Invalid Given/Family Name: GivenName")
        if not name.get("familyName"):
            raise invalid("Invalid Given/Family Name: FamilyName")
        password = body.get("password")
        if not isinstance(password, str) or not 8 <= len(password) <= 100:
            raise invalid("Invalid Password")
        if email.split("@")[1] not in self.domains:
            raise ApiError(400, "invalid", "Invalid Input: domain")
        self._check_org_unit(body.get("orgUnitPath"))
        if self._address_taken(email):
            raise ApiError(409, "duplicate", "Entity already exists.")
        uid = str(10**20 + next(self._ids))
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        user: dict[str, Any] = {
            "kind": "admin#directory#user",
            "id": uid,
            "primaryEmail": email,
            "name": {"givenName": name["givenName"], "familyName": name["familyName"]},
            "isAdmin": False,
            "isDelegatedAdmin": False,
            "lastLoginTime": "1970-01-01T00:00:00.000Z",
            "creationTime": now,
            "agreedToTerms": False,
            "suspended": bool(body.get("suspended", False)),
            "archived": False,
            "changePasswordAtNextLogin": bool(body.get("changePasswordAtNextLogin", False)),
            "ipWhitelisted": False,
            "customerId": self.customer_id,
            "orgUnitPath": body.get("orgUnitPath") or "/",
            "isMailboxSetup": True,
            "isEnrolledIn2Sv": False,
            "isEnforcedIn2Sv": False,
            "includeInGlobalAddressList": bool(body.get("includeInGlobalAddressList", True)),
        }
        for key, value in body.items():
            if key not in user and key not in ("password", "hashFunction", "id", "isAdmin"):
                user[key] = value
        _refresh_derived(user)
        self.state.users[uid] = user
        self.state.created[uid] = time.monotonic()
        self.state.passwords[uid] = password
        return user

    def _patch_user(self, key: str, body: Any) -> dict[str, Any]:
        user = self._user_or_404(key)
        if not isinstance(body, dict):
            raise invalid("Invalid Input")
        uid = user["id"]
        if "primaryEmail" in body:
            email = str(body["primaryEmail"]).lower()
            if email != user["primaryEmail"]:
                if "@" not in email or email.split("@")[1] not in self.domains:
                    raise invalid("Invalid Input: primary_user_email")
                if self._address_taken(email, except_id=uid):
                    raise ApiError(409, "duplicate", "Entity already exists.")
                # the old address stays with the user as an alias
                aliases = [a for a in user.get("aliases", []) if a != email]
                user["aliases"] = [*aliases, user["primaryEmail"]]
                user["primaryEmail"] = email
        self._check_org_unit(body.get("orgUnitPath"))
        if "password" in body:
            password = body["password"]
            if not isinstance(password, str) or not 8 <= len(password) <= 100:
                raise invalid("Invalid Password")
            self.state.passwords[uid] = password
        for name, value in body.items():
            if name in ("primaryEmail", "password", "id", "isAdmin", "kind", "etag"):
                continue
            if isinstance(value, dict) and isinstance(user.get(name), dict):
                user[name] = _merge(user[name], value)
            else:
                user[name] = value
        _refresh_derived(user)
        return user

    def _delete_user(self, key: str) -> None:
        user = self._user_or_404(key)
        uid = user["id"]
        del self.state.users[uid]
        for members in self.state.members.values():
            members.pop(uid, None)
        for holders in self.state.licenses.values():
            holders.discard(uid)

    def _make_admin(self, key: str, body: Any) -> None:
        user = self._user_or_404(key)
        if not isinstance(body, dict) or not isinstance(body.get("status"), bool):
            raise ApiError(400, "required", "Required parameter: status")
        user["isAdmin"] = body["status"]
        _refresh_derived(user)

    def _list_users(self, params: dict[str, str]) -> dict[str, Any]:
        customer, domain = params.get("customer"), params.get("domain")
        if not customer and not domain:
            raise ApiError(400, "badRequest", "Bad Request")
        if customer and customer not in ("my_customer", self.customer_id):
            raise ApiError(400, "badRequest", "Bad Request")
        if domain and domain.lower() not in self.domains:
            raise ApiError(400, "badRequest", "Bad Request")
        size = _max_results(params, default=100, limit=500)
        users = list(self.state.users.values())
        if domain and not customer:
            users = [u for u in users if u["primaryEmail"].endswith("@" + domain.lower())]
        users = [u for u in users if _matches_query(u, params.get("query", ""))]
        sort = "primaryEmail" if params.get("orderBy") == "email" else "id"
        if params.get("orderBy") not in (None, "email", "givenName", "familyName"):
            raise invalid(f"Invalid value for orderBy: {params.get('orderBy')}")
        users.sort(key=lambda u: str(u[sort]))
        page, token = _page([(str(u[sort]), u) for u in users], params, size)
        out: dict[str, Any] = {"kind": "admin#directory#users", "etag": _etag(len(users))}
        if page:
            out["users"] = [self._public(u) for u in page]
        if token:
            out["nextPageToken"] = token
        return out

    # ------------------------------------------------------------------ groups and members

    def _find_group(self, key: str) -> dict[str, Any]:
        key = key.lower()
        for gid, group in self.state.groups.items():
            if key in (gid, group["email"], *group.get("aliases", [])):
                return group
        raise not_found("groupKey")

    def _group_view(self, group: dict[str, Any]) -> dict[str, Any]:
        """A Group resource as the API returns it (``directMembersCount`` is an int64,
        which JSON carries as a string)."""
        count = len(self.state.members[group["id"]])
        return {
            **json.loads(json.dumps(group)),
            "etag": _etag((group["id"], group["name"], group["description"], count)),
            "directMembersCount": str(count),
        }

    def _insert_group(self, body: Any) -> dict[str, Any]:
        """groups.insert: ``email`` is required; ``name`` and ``description`` optional
        (the stand-in names a group without a name by its email's local part)."""
        if not isinstance(body, dict) or not body.get("email"):
            raise ApiError(400, "required", "Missing required field: email")
        email = str(body["email"]).lower()
        if self._address_taken(email):
            raise ApiError(409, "duplicate", "Entity already exists.")
        self._check_group_text(body)
        gid = self.add_group(email, body.get("name"))
        self.state.groups[gid]["description"] = str(body.get("description") or "")
        return self.state.groups[gid]

    def _patch_group(self, key: str, body: Any) -> dict[str, Any]:
        """groups.patch: the fields given replace the group's; read-only ones (``id``,
        ``kind``, ``directMembersCount``...) are ignored. A new email keeps the old one
        as an alias, as Google does."""
        group = self._find_group(key)
        if not isinstance(body, dict):
            raise invalid("Invalid Input")
        self._check_group_text(body)
        if body.get("email") and str(body["email"]).lower() != group["email"]:
            email = str(body["email"]).lower()
            if self._address_taken(email):
                raise ApiError(409, "duplicate", "Entity already exists.")
            group.setdefault("aliases", []).append(group["email"])
            group["email"] = email
        for name in ("name", "description"):
            if name in body:
                group[name] = str(body[name] or "")
        return group

    def _check_group_text(self, body: dict[str, Any]) -> None:
        """Google's limits: a name of at most 75 characters, a description of 4,096."""
        if len(str(body.get("name") or "")) > 75:
            raise invalid("Invalid Input: name")
        if len(str(body.get("description") or "")) > 4096:
            raise invalid("Invalid Input: description")

    def _delete_group(self, key: str) -> None:
        group = self._find_group(key)
        del self.state.groups[group["id"]]
        del self.state.members[group["id"]]

    def _list_groups(self, params: dict[str, str]) -> dict[str, Any]:
        size = _max_results(params, default=200, limit=200)
        user_key = params.get("userKey")
        if user_key:
            user = self._find_user(user_key)
            if user is None:
                raise not_found("userKey")
            groups = [
                g for gid, g in self.state.groups.items() if user["id"] in self.state.members[gid]
            ]
        elif params.get("customer") or params.get("domain"):
            groups = list(self.state.groups.values())
        else:
            raise ApiError(400, "badRequest", "Bad Request")
        groups.sort(key=lambda g: str(g["email"]))
        page, token = _page([(str(g["email"]), g) for g in groups], params, size)
        out: dict[str, Any] = {"kind": "admin#directory#groups", "etag": _etag(len(groups))}
        if page:
            out["groups"] = [
                {**g, "directMembersCount": str(len(self.state.members[g["id"]]))} for g in page
            ]
        if token:
            out["nextPageToken"] = token
        return out

    def _member(self, uid: str, role: str) -> dict[str, Any]:
        user = self.state.users[uid]
        return {
            "kind": "admin#directory#member",
            "etag": _etag(uid + role),
            "id": uid,
            "email": user["primaryEmail"],
            "role": role,
            "type": "USER",
            "status": "ACTIVE",
        }

    def _list_members(self, group_key: str, params: dict[str, str]) -> dict[str, Any]:
        group = self._find_group(group_key)
        size = _max_results(params, default=200, limit=200)
        roles = {r.strip().upper() for r in params.get("roles", "").split(",") if r.strip()}
        members = sorted(
            (uid, role)
            for uid, role in self.state.members[group["id"]].items()
            if not roles or role in roles
        )
        page, token = _page([(uid, (uid, role)) for uid, role in members], params, size)
        out: dict[str, Any] = {"kind": "admin#directory#members", "etag": _etag(len(members))}
        if page:
            out["members"] = [self._member(uid, role) for uid, role in page]
        if token:
            out["nextPageToken"] = token
        return out

    def _insert_member(self, group_key: str, body: Any) -> dict[str, Any]:
        group = self._find_group(group_key)
        if not isinstance(body, dict) or not (body.get("email") or body.get("id")):
            raise ApiError(400, "required", "Missing required field: member")
        role = str(body.get("role", "MEMBER")).upper()
        if role not in ("MEMBER", "MANAGER", "OWNER"):
            raise invalid("Invalid Input: role")
        user = self._find_user(str(body.get("email") or body.get("id")))
        if user is None:
            raise not_found("memberKey")
        members = self.state.members[group["id"]]
        if user["id"] in members:
            raise ApiError(409, "duplicate", "Member already exists.")
        members[user["id"]] = role
        return self._member(user["id"], role)

    def _delete_member(self, group_key: str, member_key: str) -> None:
        group = self._find_group(group_key)
        user = self._find_user(member_key, visible_only=False)
        members = self.state.members[group["id"]]
        if user is None or user["id"] not in members:
            raise not_found("memberKey")
        del members[user["id"]]

    # ------------------------------------------------------------------ licences

    def _sku(self, product: str, sku: str) -> tuple[str, str]:
        if (product, sku) not in self.state.skus:
            raise invalid(f"Invalid productId/skuId: {product}/{sku}")
        return product, sku

    def _assignment(self, product: str, sku: str, uid: str) -> dict[str, Any]:
        email = self.state.users[uid]["primaryEmail"]
        return {
            "kind": "licensing#licenseAssignment",
            "etags": _etag(uid + sku),
            "selfLink": f"{self.url}{LICENSING}/product/{product}/sku/{sku}/user/{email}",
            "userId": email,
            "productId": product,
            "skuId": sku,
            "skuName": self.state.skus[(product, sku)],
            "productName": product,
        }

    def _license_user(self, key: str) -> dict[str, Any]:
        user = self._find_user(key)
        if user is None:
            raise ApiError(404, "notFound", "User does not exist.")
        return user

    def _list_licenses(self, product: str, sku: str, params: dict[str, str]) -> dict[str, Any]:
        key = self._sku(product, sku)
        customer = params.get("customerId", "")
        if customer not in (self.customer_id, *self.domains):
            raise invalid("Invalid value for customerId")
        size = _max_results(params, default=100, limit=1000)
        holders = sorted(self.state.licenses[key])
        page, token = _page([(uid, uid) for uid in holders], params, size)
        out: dict[str, Any] = {
            "kind": "licensing#licenseAssignmentList",
            "etag": _etag(len(holders)),
        }
        if page:
            out["items"] = [self._assignment(product, sku, uid) for uid in page]
        if token:
            out["nextPageToken"] = token
        return out

    def _insert_license(self, product: str, sku: str, body: Any) -> dict[str, Any]:
        key = self._sku(product, sku)
        if not isinstance(body, dict) or not body.get("userId"):
            raise ApiError(400, "required", "Required field must not be blank: userId")
        user = self._license_user(str(body["userId"]))
        uid = user["id"]
        if uid in self.state.licenses[key]:
            raise ApiError(
                409, "duplicate", "User already has a license for the specified product and SKU"
            )
        for (other_product, other_sku), holders in self.state.licenses.items():
            if other_product == product and uid in holders:
                raise ApiError(
                    412,
                    "conditionNotMet",
                    f"User already has a license for a different SKU ({other_sku}) of this product",
                )
        self.state.licenses[key].add(uid)
        return self._assignment(product, sku, uid)

    def _get_license(self, product: str, sku: str, user_key: str) -> dict[str, Any]:
        key = self._sku(product, sku)
        user = self._license_user(user_key)
        if user["id"] not in self.state.licenses[key]:
            raise ApiError(
                404, "notFound", "User does not have a license for specified sku and product"
            )
        return self._assignment(product, sku, user["id"])

    def _reassign_license(self, product: str, sku: str, user_key: str, body: Any) -> dict[str, Any]:
        key = self._sku(product, sku)
        user = self._license_user(user_key)
        if not isinstance(body, dict) or not body.get("skuId"):
            raise ApiError(400, "required", "Required field must not be blank: skuId")
        new = self._sku(product, str(body["skuId"]))
        if user["id"] not in self.state.licenses[key]:
            raise ApiError(
                404, "notFound", "User does not have a license for specified sku and product"
            )
        self.state.licenses[key].discard(user["id"])
        self.state.licenses[new].add(user["id"])
        return self._assignment(product, new[1], user["id"])

    def _delete_license(self, product: str, sku: str, user_key: str) -> None:
        key = self._sku(product, sku)
        user = self._license_user(user_key)
        if user["id"] not in self.state.licenses[key]:
            raise ApiError(
                404, "notFound", "User does not have a license for specified sku and product"
            )
        self.state.licenses[key].discard(user["id"])


# ---------------------------------------------------------------------------- helpers


def _refresh_derived(user: dict[str, Any]) -> None:
    name = user.setdefault("name", {})
    name["fullName"] = f"{name.get('givenName', '')} {name.get('familyName', '')}".strip()
    user["emails"] = [
        {"address": user["primaryEmail"], "primary": True},
        *({"address": a} for a in user.get("aliases", [])),
    ]
    if not user.get("aliases"):
        user.pop("aliases", None)
    if user.get("suspended"):
        user.setdefault("suspensionReason", "ADMIN")
    else:
        user.pop("suspensionReason", None)
    digest = hashlib.sha1(
        json.dumps({k: v for k, v in user.items() if k != "etag"}, sort_keys=True).encode()
    )
    user["etag"] = f'"{digest.hexdigest()}"'


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _etag(seed: object) -> str:
    return f'"{hashlib.sha1(str(seed).encode()).hexdigest()[:27]}"'


def _max_results(params: dict[str, str], default: int, limit: int) -> int:
    raw = params.get("maxResults")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= limit:
        raise invalid(f"Invalid value '{raw}'. Values must be within the range: [1, {limit}]")
    return int(raw)


def _page(
    items: list[tuple[str, Any]], params: dict[str, str], size: int
) -> tuple[list[Any], str | None]:
    """Cursor paging: the token names the last key served, so deletions skip nothing."""
    token = params.get("pageToken")
    if token:
        try:
            after = json.loads(_b64decode(token))["after"]
        except (ValueError, KeyError, TypeError):
            raise invalid("Invalid Input: pageToken") from None
        items = [(k, v) for k, v in items if k > after]
    page = items[:size]
    if len(items) > size:
        return [v for _, v in page], _b64encode(json.dumps({"after": page[-1][0]}).encode())
    return [v for _, v in page], None


_QUERY = re.compile(r"^\s*(orgUnitPath|isSuspended)\s*=\s*'?([^']*)'?\s*$")


def _matches_query(user: dict[str, Any], query: str) -> bool:
    """The users.list ``query`` subset the stand-in knows; anything else is refused."""
    if not query.strip():
        return True
    match = _QUERY.match(query)
    if match is None:
        raise invalid("Invalid Input: query")
    field_name, value = match.groups()
    if field_name == "orgUnitPath":  # the org unit and everything under it
        path = str(user.get("orgUnitPath", "/"))
        return path == value or path.startswith(value.rstrip("/") + "/")
    return bool(user.get("suspended")) == (value.lower() == "true")


# ---------------------------------------------------------------------------- fields=


def parse_fields(spec: str) -> dict[str, Any]:
    """Google's partial-response syntax: ``a,b/c,d(e,f/g)`` → a selection tree
    (a key maps to None for "all of it", or to a sub-tree)."""
    tree, rest = _parse_list(spec.replace(" ", ""), 0)
    if rest != len(spec.replace(" ", "")):
        raise ApiError(400, "invalidParameter", f"Invalid field selection {spec}")
    return tree


def _parse_list(text: str, pos: int) -> tuple[dict[str, Any], int]:
    tree: dict[str, Any] = {}
    while pos < len(text):
        match = re.compile(r"[A-Za-z0-9_*]+(?:/[A-Za-z0-9_*]+)*").match(text, pos)
        if match is None:
            raise ApiError(400, "invalidParameter", f"Invalid field selection {text}")
        path = match.group(0).split("/")
        pos = match.end()
        sub: dict[str, Any] | None = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise ApiError(400, "invalidParameter", f"Invalid field selection {text}")
            pos += 1
        _add_selection(tree, path, sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        break
    return tree, pos


def _add_selection(tree: dict[str, Any], path: list[str], sub: dict[str, Any] | None) -> None:
    node = tree
    for part in path[:-1]:
        if part in node and node[part] is None:
            return  # already selected whole
        node = node.setdefault(part, {})
    last = path[-1]
    if sub is None or (last in node and node[last] is None):
        node[last] = None
    else:
        node[last] = {**(node.get(last) or {}), **sub}


def select_fields(data: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None or "*" in tree:
        return data
    if isinstance(data, list):
        return [select_fields(item, tree) for item in data]
    if isinstance(data, dict):
        return {k: select_fields(data[k], sub) for k, sub in tree.items() if k in data}
    return data


# ---------------------------------------------------------------------------- HTTP


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer is not the test's business


class _Handler(BaseHTTPRequestHandler):
    api: GoogleStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body leave in one write (no delayed-ACK stalls)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.api.handle(self.command, self.path, headers, body)
        self.send_response(status)
        if payload and "Content-Type" not in extra:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


def running_standin(**kwargs: Any) -> Iterator[GoogleStandIn]:
    """A started stand-in for a fixture (``yield from running_standin()``)."""
    standin = GoogleStandIn(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
