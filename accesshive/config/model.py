"""The config language: pydantic models of what a user declares in the YAML documents
(sources, identities, access profiles, roles, lifecycle states) and the types they share.
The documents themselves (a config file, ``accesshive.yaml``) are ``config/documents.py``.

Why pydantic with ``extra="forbid"`` and strict scalars: a typo in a key or a
quoted number is a provisioning failure waiting to happen, so it is caught at
load time, and the same models produce the JSON Schema that editors use.
Attribute docstrings become the schema's descriptions (``config/schema.py`` reads them
when it makes the schema: pydantic's ``use_attribute_docstrings`` would read the source
of every model on every import, a tenth of a cold plan).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from accesshive.config.account_kinds import DEFAULT_KIND

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN.pattern)]
_SCALARS = (str, int, float, bool, dt.date)
_SCALAR_SCHEMA: dict[str, Any] = {"type": ["string", "number", "integer", "boolean"]}


def _attribute_value(value: Any) -> Any:
    """One clear error instead of pydantic's one-per-union-member."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value):
        return value
    raise ValueError("must be a string, number, boolean, date or a list of them")


def _plain_value(value: Any) -> Any:
    if isinstance(value, str | int | bool) and not isinstance(value, float):
        return value
    raise ValueError("must be a template string, a number or a boolean")


AttributeValue = Annotated[
    Any,
    AfterValidator(_attribute_value),
    WithJsonSchema({"anyOf": [_SCALAR_SCHEMA, {"type": "array", "items": _SCALAR_SCHEMA}]}),
]
TemplateValue = Annotated[
    Any,
    AfterValidator(_plain_value),
    WithJsonSchema({"type": ["string", "integer", "boolean"]}),
]

SourceKind = Literal["scim", "ldap", "google_workspace", "sql", "manual", "vault"]
Provisioning = Literal["automatic", "manual"]
IdentityType = Literal["human", "shared_credential", "service_account", "api_key", "oauth_app"]
CredentialMode = Literal["managed", "external"]
AttributeType = Literal["string", "integer", "number", "boolean", "email", "date"]
AccountsPolicy = Literal["absent", "disabled", "enabled"]
AccessPolicy = Literal["granted", "kept", "revoked"]
OrderKind = Literal[
    "create_account",
    "update_account",
    "enable_account",
    "disable_account",
    "delete_account",
    "grant",
    "revoke",
    "store_credential",
    "rotate_credential",
    "create_group",
    "update_group",
    "delete_group",
    "manual_task",
]
ORDER_KINDS: tuple[str, ...] = OrderKind.__args__  # type: ignore[attr-defined]

CREDENTIAL_ONLY_TYPES = frozenset({"service_account", "api_key", "oauth_app"})


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        populate_by_name=True,
    )


# --------------------------------------------------------------------------- sources


class AttributeSpec(Model):
    type: AttributeType = "string"
    """Value type on the target; rendered values are checked against it before anything is sent."""
    required: bool = False
    """The target refuses an account without this attribute."""
    multi_valued: bool = False
    """The attribute holds a list; order does not matter when comparing."""
    case_exact: bool = False
    """Compare case-sensitively (most directory attributes are case-insensitive)."""
    max_length: int | None = Field(default=None, ge=1)
    """Longest value the target accepts."""
    description: str | None = None


class AccountKind(Model):
    """One named account an identity may hold on the source besides (or instead of) the
    default one, e.g. an ``admin`` account beside the everyday one."""

    description: str | None = None
    create: dict[str, TemplateValue] = Field(default_factory=dict)
    """Attributes set when an account of this kind is created, over the source's
    account.create (give at least the name attribute its own template)."""
    sync: dict[str, TemplateValue] = Field(default_factory=dict)
    """Attributes kept in sync for this kind, over the source's account.sync."""


class AccountSpec(Model):
    schema_: dict[str, AttributeSpec] = Field(default_factory=dict, alias="schema")
    """The account attributes the target knows, with types and which are required."""
    name_attribute: str | None = None
    """The attribute that names the account (uid, userName, primaryEmail); shown in plans."""
    create: dict[str, TemplateValue] = Field(default_factory=dict)
    """Attributes set when the account is created: jinja2 templates over identity attributes."""
    sync: dict[str, TemplateValue] = Field(default_factory=dict)
    """Attributes kept in sync with the identity after creation (attribute sync)."""
    correlation: list[str] = Field(default_factory=list)
    """Attributes used, in order, to adopt an existing account created outside accesshive."""
    kinds: dict[Id, AccountKind] = Field(default_factory=dict)
    """Named accounts an identity may hold here (admin...), each with its own templates;
    the ``default`` kind (the account above) always exists. Access profiles say which kind
    they grant to."""


class EntitlementSpec(Model):
    type: Literal["group", "role", "permission", "license"] = "group"
    description: str | None = None
    """What the entitlement gives; on a managed group it is also kept on the target
    (LDAP and Google Workspace groups have a description, SCIM Groups do not)."""
    sensitive: bool = False
    """Grants of this entitlement need review (policies/classification.yaml can say so too)."""
    managed: bool = False
    """accesshive creates, renames and deletes the group itself (scim, ldap and
    google_workspace sources). Unmanaged (the default), the group must already exist on
    the target and only its memberships are provisioned."""
    name: str | None = Field(default=None, min_length=1)
    """A managed group's name on the target (SCIM displayName, LDAP cn); default: the
    entitlement id. Changing it renames the group: the entitlement id, not the name, is
    what keeps it the same group."""
    state: Literal["present", "absent"] = "present"
    """absent: a managed group's memberships are revoked, then the group is deleted."""

    def target_name(self, entitlement: str) -> str:
        """The name the group of this (managed) entitlement has on the target."""
        return self.name or entitlement


class RetrySpec(Model):
    attempts: int = Field(default=5, ge=1, le=50)
    """Attempts per order, the first included."""
    max_seconds: float = Field(default=300.0, gt=0)
    """Give up retrying an order after this long."""
    errors: list[str] = Field(default_factory=list)
    """Extra retryable errors: regular expressions matched against the target's message."""
    initial_delay: float = Field(default=1.0, gt=0)
    """Seconds before the first retry; each retry waits about twice as long, with jitter."""
    max_delay: float = Field(default=60.0, gt=0)
    """The longest single wait between attempts."""


class Source(Model):
    kind: SourceKind
    """Which connector talks to this system."""
    description: str | None = None
    provisioning: Provisioning | None = None
    """automatic (a connector executes orders) or manual (orders become tasks for the owner).
    Defaults to manual for kind manual, automatic otherwise."""
    owner: str | None = None
    """Who owns the source; manual tasks are assigned to them."""
    connection: dict[str, Any] = Field(default_factory=dict)
    """Connector settings. Secrets only as references: ${env:NAME}, ${file:PATH}, ${vault:ID}."""
    account: AccountSpec = Field(default_factory=AccountSpec)
    entitlements: dict[Id, EntitlementSpec] = Field(default_factory=dict)
    """What can be granted on this source (groups, roles, permissions)."""
    requires_google_workspace: bool = False
    """People with an account here first need an identity-provider account and a Google
    Workspace domain user."""
    identity_provider: bool = False
    """This source is the identity provider: accounts here are created before any other."""
    retry: RetrySpec = Field(default_factory=RetrySpec)
    concurrency: int = Field(default=4, ge=1, le=64)
    """Orders sent to this source at the same time during apply."""

    @property
    def effective_provisioning(self) -> Provisioning:
        if self.provisioning is not None:
            return self.provisioning
        return "manual" if self.kind == "manual" else "automatic"

    @property
    def managed_attributes(self) -> dict[str, Any]:
        """Every attribute accesshive sets: create templates, overridden by sync mappings."""
        return {**self.account.create, **self.account.sync}

    @property
    def account_kinds(self) -> tuple[str, ...]:
        """Every kind of account on this source: ``default`` first, then the declared ones."""
        return (DEFAULT_KIND, *sorted(k for k in self.account.kinds if k != DEFAULT_KIND))

    def kind_templates(self, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(create, sync) templates of an account of ``kind``: the kind's over the source's."""
        spec = self.account.kinds.get(kind)
        if spec is None:
            return dict(self.account.create), dict(self.account.sync)
        return {**self.account.create, **spec.create}, {**self.account.sync, **spec.sync}

    def kind_attributes(self, kind: str) -> dict[str, Any]:
        """``managed_attributes`` of an account of ``kind``."""
        create, sync = self.kind_templates(kind)
        return {**create, **sync}


# --------------------------------------------------------------------------- identities


class CredentialSpec(Model):
    mode: CredentialMode | None = None
    """managed: accesshive generates the password; external: the value is supplied."""
    vault: Id | None = None
    """The vault source that keeps it (default: the only vault source)."""
    supplied_by: str | None = None
    """Where an external value comes from at apply: ${env:NAME}, ${file:PATH} or stdin."""
    rotate_every_days: int | None = Field(default=None, ge=1)
    """Rotate the credential after this many days."""


class Identity(Model):
    type: IdentityType
    display_name: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    """Facts about the identity that templates and role rules read (given_name, department...)."""
    lifecycle_state: Id = "active"
    lifecycle_since: dt.date | None = None
    """When the identity entered its lifecycle state; retention periods count from it."""
    roles: list[Id] = Field(default_factory=list)
    access_profiles: list[Id] = Field(default_factory=list)
    """Access profiles assigned directly, beside those from roles."""
    platforms: list[Id] = Field(default_factory=list)
    """Sources where the identity needs an account even without any entitlement there."""
    owner: Id | None = None
    """The human identity accountable for a non-human identity."""
    credential: CredentialSpec | None = None


class IdentitySource(Model):
    """Where identities come from besides YAML: an HR export or a directory (Okta, Entra...)."""

    kind: Literal["csv", "scim"]
    """csv: `accesshive import csv`; scim: pulled with `accesshive import scim`."""
    description: str | None = None
    id: str = "{{ id }}"
    """Template over a record's fields that gives the identity id."""
    type: IdentityType = "human"
    attributes: dict[str, str] = Field(default_factory=dict)
    """Identity attribute → template over the record's fields."""
    lifecycle_state: str = "active"
    """Template giving the lifecycle state (e.g. from an HR status column)."""
    roles: dict[str, Id] = Field(default_factory=dict)
    """Directory group (the record's ``groups`` field, separated by ;) → role."""
    path: str | None = None
    """Where `import --write-yaml` writes identities (default identities/<source>.yaml)."""
    leaver_state: Id = "terminated"
    """The lifecycle state of an identity that disappeared from the source."""


# --------------------------------------------------------------------------- access


class AccessProfile(Model):
    source: Id
    entitlements: list[str] = Field(min_length=1)
    account_kind: Id = DEFAULT_KIND
    """The kind of account on the source the entitlements are granted to (see the source's
    account.kinds); an identity gets an account of that kind only through such a profile."""
    description: str | None = None


class Role(Model):
    description: str | None = None
    access_profiles: list[Id] = Field(default_factory=list)
    members_where: dict[str, AttributeValue] | None = None
    """Rule-based membership: identities whose attributes match every entry get the role.
    A list means any of its values."""


class LifecycleState(Model):
    description: str | None = None
    accounts: AccountsPolicy
    """absent: accounts are deleted; disabled: existing accounts are disabled (missing ones are
    created disabled only when access is granted, e.g. prehire with day-one access); enabled."""
    access: AccessPolicy
    """granted: role access provisioned; kept: left as it is; revoked: every grant removed."""
    delete_after_days: int | None = Field(default=None, ge=0)
    """Delete accounts this many days after lifecycle_since."""


DEFAULT_LIFECYCLE_STATES: dict[str, LifecycleState] = {
    "prehire": LifecycleState(
        description="Hired, not started: no access yet; existing accounts stay disabled.",
        accounts="disabled",
        access="revoked",
    ),
    "active": LifecycleState(description="Working.", accounts="enabled", access="granted"),
    "leave": LifecycleState(
        description="On leave: accounts disabled, access kept.", accounts="disabled", access="kept"
    ),
    "terminated": LifecycleState(
        description="Left: accounts disabled, all access revoked, deleted after retention.",
        accounts="disabled",
        access="revoked",
        delete_after_days=30,
    ),
}
