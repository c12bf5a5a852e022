"""Operations of identity sources (where identities come from): import an HR export or a
SCIM directory, make bearer tokens for and serve the SCIM service provider, and run the
leaver policy when an identity provider deactivates someone."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accesshive.config import Config
from accesshive.config.model import IdentitySource
from accesshive.errors import AccessHiveError, ImportProblem
from accesshive.expand.templates import TemplateProblem
from accesshive.imports.records import map_record, map_records, read_csv
from accesshive.imports.yaml_writer import YamlChanges, write_identities
from accesshive.operations._common import StoreRef, load_and_expand
from accesshive.operations.applying import apply_plan
from accesshive.operations.notifying import after_leaver
from accesshive.operations.planning import plan_repository
from accesshive.pipeline import load_config
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.store import TokenInfo

if TYPE_CHECKING:
    from accesshive.idp.serving import ServeOptions


def import_csv(
    root: Path,
    file: Path,
    source_id: str,
    today: dt.date,
    write_yaml: bool,
    store: StoreRef | None = None,
) -> YamlChanges:
    """Map an HR export through its identity source. With ``write_yaml``, update the
    repository's identity files (a reviewable change); else keep the rows as the source's
    records in the store (plan merges them, YAML winning) and say what the YAML would get."""
    source = _identity_source(root, source_id)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportProblem(f"cannot read {file}: {exc}") from exc
    rows = read_csv(text, str(file))
    identities = map_records(source_id, source, rows, str(file))
    if not write_yaml and store is not None:
        with store.open(root) as opened:
            opened.replace_records(
                source_id, [("Row", str(n), json.dumps(row)) for n, row in enumerate(rows, start=2)]
            )
            opened.audit("import", "records_imported", source_id, {"rows": len(rows)})
    target = root / (source.path or f"identities/{source_id}.yaml")
    return write_identities(
        target, source_id, identities, source.leaver_state, today, not write_yaml
    )


def _scim_source(root: Path, source_id: str) -> Config:
    config = load_config(root)
    source = config.project.identity_sources.get(source_id)
    if source is None or source.kind != "scim":
        scim_ones = [s for s, v in config.project.identity_sources.items() if v.kind == "scim"]
        raise ImportProblem(
            f"'{source_id}' is not a scim identity source in accesshive.yaml "
            f"(declared: {', '.join(sorted(scim_ones)) or 'none'})"
        )
    return config


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``token`` is shown once and kept nowhere."""

    token: str
    id: int
    expires_at: str | None
    revoked: int


def create_scim_token(
    root: Path,
    source_id: str,
    store: StoreRef,
    actor: str,
    expires_at: dt.datetime | None = None,
    keep_existing: bool = False,
) -> NewToken:
    """A new token (returned once) for a scim identity source. Unless ``keep_existing``
    (for a rotation without downtime: the old token is revoked once the identity
    provider has the new one), the source's earlier tokens are revoked."""
    from accesshive.idp.tokens import new_token

    _scim_source(root, source_id)
    if expires_at is not None and expires_at <= dt.datetime.now(dt.UTC):
        raise ImportProblem(f"the expiry {expires_at.isoformat()} is already past")
    expires = expires_at.astimezone(dt.UTC).isoformat(timespec="seconds") if expires_at else None
    token, digest_ = new_token()
    with store.open(root) as opened:
        token_id, revoked = opened.new_token(source_id, digest_, expires, keep_existing)
        opened.audit(
            actor,
            "scim_token_created",
            source_id,
            {"id": token_id, "expires": expires, "revoked": revoked},
        )
    return NewToken(token, token_id, expires, revoked)


def list_scim_tokens(root: Path, store: StoreRef, source_id: str | None) -> list[TokenInfo]:
    """The tokens of the environment (or of one source): ids and dates, never a token.
    The console's operator tokens are not SCIM tokens: ``console token list`` shows them."""
    from accesshive.idp.tokens import CONSOLE

    with store.open(root) as opened:
        return [t for t in opened.tokens(source_id) if t.source != CONSOLE]


def revoke_scim_token(root: Path, store: StoreRef, token_id: int, actor: str) -> TokenInfo:
    """Revoke a token by its id: from the next request on, it gets 401."""
    with store.open(root) as opened:
        found = opened.revoke_token(token_id)
        if found is None:
            raise ImportProblem(
                f"no scim token {token_id} in environment '{opened.environment}' "
                "(accesshive scim token list shows them)"
            )
        opened.audit(actor, "scim_token_revoked", found.source, {"id": token_id})
    return found


def leaver_orders(config: Config, plan: Plan, identity: str) -> Plan:
    """The orders the leaver policy runs at once for a deactivated identity."""
    policy = config.policies.leavers

    def keep(order: Order) -> bool:
        if order.change.identity != identity or order.action not in policy.immediate:
            return False
        return not (
            order.action == "revoke" and policy.sensitive_only and not order.change.sensitive
        )

    return plan.only(keep, (identity,))


def run_leaver(root: Path, source_id: str, user: dict[str, Any], store: StoreRef) -> None:
    """What a deactivation triggers: the leaver policy's orders, as their own audited apply."""
    config = load_config(root, store.environment)
    source = config.project.identity_sources[source_id]
    try:
        identity = map_record(source, {**user, "groups": ""}).id
    except (ImportProblem, TemplateProblem):
        return
    if config.policies.notifications.rules:
        with store.open(root) as opened:
            after_leaver(config, opened, source_id, user, identity)
    if not config.policies.leavers.immediate:
        return
    today = dt.date.today()
    loaded = load_and_expand(root, today, store.environment, config)
    plan = leaver_orders(config, plan_repository(root, today, store=store, loaded=loaded), identity)
    with store.open(root) as opened:
        opened.audit("scim", "leaver_immediate", identity, {"orders": [o.id for o in plan.orders]})
    if plan.orders:
        try:
            apply_plan(
                root,
                plan,
                store,
                today,
                f"scim:{source_id}",
                loaded=loaded,
                part=lambda whole: leaver_orders(config, whole, identity),
            )
        except AccessHiveError as exc:
            with store.open(root) as opened:
                opened.audit("scim", "leaver_immediate_failed", identity, {"error": str(exc)})


SCIM_PATH = "/scim/v2"
"""Where ``scim serve`` answers: the base URL an identity provider is given (its "tenant
URL") is the printed address followed by this path."""


def serve_scim(
    root: Path,
    source_id: str,
    store: StoreRef,
    options: ServeOptions,
    announce: Callable[[str], None],
) -> None:
    """Run the SCIM service provider until SIGTERM or SIGINT, then stop gracefully:
    the requests in flight are answered, the leaver applies that deactivations started
    finish, and only then is the store closed.

    Each pushed user is checked against the identity source's mapping as the server
    started with it (restart after changing the source or the identity schema)."""
    from accesshive.idp.merge import check_user
    from accesshive.idp.server import make_app
    from accesshive.idp.serving import serve

    config = _scim_source(root, source_id)
    source = config.project.identity_sources[source_id]
    schema = dict(config.project.identity_attributes)
    leavers: list[threading.Thread] = []
    leavers_lock = threading.Lock()

    def check(user: dict[str, Any], groups: list[str]) -> None:
        check_user(source, schema, user, groups)

    def deactivated(user: dict[str, Any]) -> None:
        # not a daemon: a leaver apply that started is let finish at shutdown
        thread = threading.Thread(target=run_leaver, args=(root, source_id, user, store))
        with leavers_lock:
            leavers[:] = [t for t in leavers if t.is_alive()]
            leavers.append(thread)
        thread.start()

    def stopping() -> None:
        with leavers_lock:
            running = list(leavers)
        for thread in running:
            thread.join()

    with store.open(root) as opened:
        app = make_app(opened, source_id, deactivated, check)
        serve(
            app,
            options,
            lambda base: announce(f"{base}{SCIM_PATH}"),
            stopping,
        )


def import_scim(
    root: Path, url: str, source_id: str, token: str | None, today: dt.date, write_yaml: bool
) -> YamlChanges:
    """Pull Users and Groups from a SCIM server and map them like pushed records."""
    from accesshive.idp.merge import identities_from_records
    from accesshive.idp.pull import pull_records

    source = _identity_source(root, source_id)
    found, problems = identities_from_records(source_id, source, pull_records(url, token))
    if problems:
        raise ImportProblem(
            f"{len(problems)} problem(s) importing from {url}; nothing was changed:\n  "
            + "\n  ".join(d.message for d in problems[:50])
        )
    identities = sorted((i for _, i in found), key=lambda i: i.id)
    target = root / (source.path or f"identities/{source_id}.yaml")
    return write_identities(
        target, source_id, identities, source.leaver_state, today, not write_yaml
    )


def _identity_source(root: Path, source_id: str) -> IdentitySource:
    """The identity source an import maps through, or ``ImportProblem``."""
    config = load_config(root)
    source = config.project.identity_sources.get(source_id)
    if source is None:
        known = ", ".join(sorted(config.project.identity_sources)) or "none"
        raise ImportProblem(
            f"'{source_id}' is not an identity source in accesshive.yaml (declared: {known})"
        )
    return source
