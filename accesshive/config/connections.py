"""The connection settings each built-in connector takes, checked by ``validate``.

Why here and not only in the connectors: each connector checks its settings when it is
made, i.e. at sync or apply, after a plan was reviewed; a typo'd key (``base_dnn``) or
a mistyped value (``create_tables: "yes"``, which Python would take as true) must be
refused by ``validate`` (and so by ``plan``), at its file and line, before anything
runs. This module is pure and imports no connector (``validate`` stays light); the
connectors keep their own, deeper checks (a DN that parses, a URL's scheme...).
``tests/unit/config/test_connection_settings.py`` checks these names against the
connectors' own lists (``ldap/_settings.py``: ``KNOWN_KEYS``, ``scim/_settings.py``:
``CONNECTION_KEYS``), so the two cannot drift apart.

A source whose ``connection.connector`` names another connector (a plugin's, or a test
stand-in) is checked by that connector only: its settings are its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from accesshive.config.config import Config
from accesshive.config.structure import close_matches
from accesshive.diagnostics import Diagnostic, Location


@dataclass(frozen=True)
class Setting:
    """What a setting's value may be: a name for people, the test, and why it matters."""

    what: str
    accepts: tuple[type, ...]
    note: str = ""

    def takes(self, value: Any) -> bool:
        if value is None:
            return True  # absent in effect: the connector's default applies
        if isinstance(value, bool):
            return bool in self.accepts
        return isinstance(value, self.accepts)


TEXT = Setting("a text", (str,), "a secret as a ${env:...} or ${file:...} reference")
FLAG = Setting("true or false", (bool,), "YAML 1.2 reads yes/no/on/off as text")
WHOLE = Setting("a whole number", (int,))
NUMBER = Setting("a number", (int, float))
MAPPING = Setting("a mapping", (dict,))
NAMES = Setting("a list of names", (list, str), "or one name")
TEXT_OR_MAPPING = Setting("a name or a mapping", (str, dict))
FLAG_OR_PATH = Setting("true, false or the path of a CA bundle", (bool, str))

CONNECTOR = {"connector": TEXT}
"""Every source may name the connector that talks to it (``connectors/registry.py``)."""

SETTINGS: dict[str, dict[str, Setting]] = {
    "sql": {
        **CONNECTOR,
        "url": TEXT,
        "password": TEXT,
        "sslmode": TEXT,
        "accounts_table": TEXT,
        "grants_table": TEXT,
        "columns": MAPPING,
        "grant_columns": MAPPING,
        "attribute_columns": MAPPING,
        "create_tables": FLAG,
    },
    "manual": {**CONNECTOR, "export": TEXT},
    "vault": {**CONNECTOR, "path": TEXT, "key": TEXT, "key_file": TEXT},
    "scim": {
        **CONNECTOR,
        "base_url": TEXT,
        "token": TEXT,
        "oauth": MAPPING,
        "quirks": TEXT_OR_MAPPING,
        "page_size": WHOLE,
        "attributes": MAPPING,
        "group_names": MAPPING,
        "identity_attribute": TEXT,
        "timeout": NUMBER,
        "verify": FLAG_OR_PATH,
    },
    "ldap": {
        **CONNECTOR,
        "url": TEXT,
        "start_tls": FLAG,
        "ca_file": TEXT,
        "bind_dn": TEXT,
        "bind_password": TEXT,
        "users_dn": TEXT,
        "users_scope": TEXT,
        "rdn_attribute": TEXT,
        "object_classes": NAMES,
        "account_filter": TEXT,
        "id_attribute": TEXT,
        "identity_attribute": TEXT,
        "groups_dn": TEXT,
        "group_object_class": TEXT,
        "group_name_attribute": TEXT,
        "member_attribute": TEXT,
        "member_uid_attribute": TEXT,
        "member_of_attribute": TEXT,
        "empty_group_member": TEXT,
        "group_key_attribute": TEXT,
        "disable": MAPPING,
        "page_size": WHOLE,
        "connect_timeout": NUMBER,
        "timeout": NUMBER,
    },
    "google_workspace": {
        **CONNECTOR,
        "credentials": TEXT,
        "token": TEXT,
        "subject": TEXT,
        "customer_id": TEXT,
        "domain": TEXT,
        "query": TEXT,
        "max_results": WHOLE,
        "member_role": TEXT,
        "licenses": MAPPING,
        "super_admin": TEXT,
        "attribute_map": MAPPING,
        "timeout": NUMBER,
        "consistency_seconds": NUMBER,
        "read_retries": WHOLE,
        "read_retry_delay": NUMBER,
        "base_url": TEXT,
        "licensing_base_url": TEXT,
        "token_uri": TEXT,
        "scopes": NAMES,
    },
}
"""Source kind → its connector's settings. A kind not listed (none today) is not checked."""


SECRET_KEYS = frozenset({"password", "bind_password", "token", "key", "credentials", "oauth"})
"""Settings whose value is never repeated in a message, even a mistyped one."""


@dataclass(frozen=True)
class Problem:
    """One setting refused: which key, what is wrong, what to do."""

    key: str
    message: str
    hint: str


def connection_problems(kind: str, connection: Mapping[str, Any]) -> Iterator[Problem]:
    """The unknown keys and mistyped values of one source's ``connection`` (or of an
    environment's overlay of it), for a source of ``kind``."""
    settings = SETTINGS.get(kind)
    named = connection.get("connector")
    if settings is None or (named is not None and named != kind):
        return
    for key in sorted(connection, key=str):
        value = connection[key]
        setting = settings.get(str(key))
        if setting is None:
            near = close_matches(str(key), settings)
            hint = (
                f"did you mean '{near[0]}'?"
                if near
                else f"the {kind} connector takes: {', '.join(sorted(settings))}"
            )
            yield Problem(str(key), f"unknown {kind} connection setting '{key}'", hint)
        elif not setting.takes(value):
            secret = str(key) in SECRET_KEYS or len(repr(value)) > 40
            shown = f"a {type(value).__name__}" if secret else repr(value)
            note = f" ({setting.note})" if setting.note else ""
            yield Problem(
                str(key),
                f"connection.{key} must be {setting.what}, not {shown}{note}",
                f"write {key} as {setting.what}; the connector would refuse it, or worse, "
                "read it otherwise, only at sync or apply",
            )


def check_connections(config: Config) -> Iterator[Diagnostic]:
    """Every source's connection settings, at their file and line: the source's own
    keys where the source declares them, and each environment's overlay of them in
    accesshive.yaml (every environment's, not only the one loaded)."""
    current = config.project.environments.get(config.environment or "")
    overlaid = current.connections if current is not None else {}
    for sid, source in sorted(config.sources.items()):
        own = {k: v for k, v in source.connection.items() if k not in overlaid.get(sid, {})}
        for p in connection_problems(source.kind, own):
            where = config.origin("sources", sid, "connection", p.key)
            yield _diagnostic(sid, p, where)
    for name, env in sorted(config.project.environments.items()):
        for sid, overlay in sorted(env.connections.items()):
            declared = config.sources.get(sid)
            if declared is None:
                continue  # an undeclared source: check_environments says so
            connector = {**declared.connection, **overlay}.get("connector")
            merged = {**overlay, **({"connector": connector} if connector else {})}
            for p in connection_problems(declared.kind, merged):
                where = Location(
                    "accesshive.yaml", ("environments", name, "connections", sid, p.key)
                )
                yield _diagnostic(sid, p, where)


def _diagnostic(sid: str, problem: Problem, where: Location) -> Diagnostic:
    code = "invalid-value" if problem.message.startswith("connection.") else "unknown-key"
    return Diagnostic(code, f"source '{sid}': {problem.message}", where, hint=problem.hint)
