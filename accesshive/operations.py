"""One function per CLI command, composing the pipeline stages.

Why a layer between the CLI and the stages: the CLI only parses options and
renders; what a command *does* is here, callable from tests and other tools.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accesshive.apply.executor import DONE, FAILED, ApplyResult, Executor
from accesshive.apply.executor import Progress as ApplyProgress
from accesshive.apply.stale import check_stale
from accesshive.approvals.operations import check as check_approvals
from accesshive.config import Config, load_config, locate
from accesshive.config.environments import environment_name
from accesshive.config.model import COLLECTIONS, ProjectDocument
from accesshive.config.structure import suggest
from accesshive.config.templates import TemplateProblem
from accesshive.config.validate import validate
from accesshive.config.yamlio import YamlProblem, parse_file
from accesshive.connectors.references import resolve
from accesshive.desired import DesiredState, expand
from accesshive.diagnostics import Diagnostic
from accesshive.errors import (
    AccessHiveError,
    ConfigError,
    ConnectorError,
    ImportProblem,
    PlanError,
    PromotionError,
    StalePlanError,
    StoreError,
)
from accesshive.idp.merge import merge_records
from accesshive.imports.records import map_record, map_records, read_csv
from accesshive.imports.yaml_writer import YamlChanges, write_identities
from accesshive.plan.build import make_plan
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.planfile import dumps, from_json
from accesshive.reports.health import Report, build_report
from accesshive.state.snapshot import Snapshot, load_snapshot
from accesshive.store import DEFAULT_ENVIRONMENT, LockInfo, SnapshotInfo, Store, Task, open_store
from accesshive.store.base import OrderState
from accesshive.sync import Progress, SourceResult, read_source, sync
from accesshive.tasks import tasks_csv, tasks_markdown


@dataclass(frozen=True)
class Validation:
    config: Config | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def load_and_expand(
    root: Path, today: dt.date, environment: str | None = None
) -> tuple[Config, DesiredState]:
    """Load and expand, raising ``ConfigError`` with every problem of both stages.

    Identities pushed by identity providers (``scim serve``) join those of the YAML.
    """
    config = with_pushed_identities(load_config(root, environment), root)
    desired, problems = expand(config, today)
    if problems:
        raise ConfigError(locate(config, [*config.warnings, *problems]))
    return config, desired


def with_pushed_identities(config: Config, root: Path) -> Config:
    """Merge the records identity providers pushed (kept in the store) into the config."""
    pushed = sorted(config.project.identity_sources)
    store = StoreRef(config.environment if config.project.environments else None)
    if not pushed or not store.exists(root):
        return config
    problems: list[Diagnostic] = []
    with store.open(root) as opened:
        for sid in sorted(pushed):
            records = opened.records(sid)
            config, found = merge_records(
                config, sid, config.project.identity_sources[sid], records
            )
            problems.extend(found)
    problems.extend(
        d for d in validate(config) if d.location and d.location.file.startswith("scim:")
    )
    if any(d.is_error for d in problems):
        raise ConfigError(problems)
    return config


def validate_repository(root: Path, today: dt.date, environment: str | None = None) -> Validation:
    try:
        config, _ = load_and_expand(root, today, environment)
    except ConfigError as exc:
        return Validation(None, exc.diagnostics)
    return Validation(config, config.warnings)


@dataclass(frozen=True)
class StoreRef:
    """Which store a command uses: an environment (default: the project's
    ``default_environment``), and optionally a URL (default: the environment's ``store``)."""

    environment: str | None = None
    url: str | None = None

    def _project(self, root: Path) -> ProjectDocument | None:
        try:
            data = parse_file(root / "accesshive.yaml", "accesshive.yaml").data or {}
            settings = {k: v for k, v in data.items() if k not in COLLECTIONS}
            return ProjectDocument.model_validate(settings)
        except (YamlProblem, OSError, ValueError):
            return None

    def name(self, root: Path) -> str:
        project = self._project(root)
        return (
            environment_name(project, self.environment)
            if project
            else (self.environment or DEFAULT_ENVIRONMENT)
        )

    def location(self, root: Path) -> str | None:
        if self.url or os.environ.get("ACCESSHIVE_STORE"):
            return self.url or os.environ.get("ACCESSHIVE_STORE")
        project = self._project(root)
        env = project.environments.get(self.name(root)) if project else None
        if env is None or env.store is None:
            return None
        try:
            return str(resolve(env.store, "store", root, dict(os.environ)))
        except ConnectorError as exc:
            raise StoreError(f"environment '{self.name(root)}': {exc.message}") from exc

    def exists(self, root: Path) -> bool:
        if self.location(root):
            return True
        return (root / ".accesshive" / f"{self.name(root)}.db").exists()

    def open(self, root: Path) -> Store:
        return open_store(root, self.name(root), self.location(root))


def plan_repository(
    root: Path,
    today: dt.date,
    snapshot_file: Path | None = None,
    allow_mass_changes: bool = False,
    store: StoreRef | None = None,
    author: str | None = None,
) -> Plan:
    """Load, expand, diff against the snapshot, and build the plan (nothing is written).

    The snapshot is the file given, else the latest one stored by sync, else empty.
    """
    with bulk_work():
        config, desired = load_and_expand(root, today, store.environment if store else None)
        if snapshot_file:
            snapshot = load_snapshot(snapshot_file)
        elif store is not None and store.exists(root):
            with store.open(root) as opened:
                snapshot = opened.latest_snapshot()
        else:
            snapshot = Snapshot()
        return make_plan(config, desired, snapshot, today, allow_mass_changes, author)


@contextmanager
def bulk_work() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building a large plan.

    Why: loading a big org allocates millions of long-lived objects and almost no
    cycles; the collector would rescan the growing heap again and again (half the
    cold plan time at 100,000 identities). Reference counting still frees memory.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def record_plan(root: Path, plan: Plan, store: StoreRef, actor: str) -> None:
    """Keep a saved plan in the store and audit it (only where a store already exists)."""
    if not store.exists(root):
        return
    with store.open(root) as opened:
        opened.save_plan(plan.digest, plan.config_digest, dumps(plan))
        opened.audit(actor, "plan_made", plan.digest, {"summary": plan.summary()})


def sync_repository(
    root: Path, store: StoreRef, sources: list[str] | None, progress: Progress, actor: str
) -> list[SourceResult]:
    config = load_config(root, store.environment)
    with store.open(root) as opened:
        return sync(config, opened, sources, progress, actor)


@dataclass(frozen=True)
class StateReport:
    location: str
    environment: str
    schema_version: int
    lock: LockInfo | None
    snapshots: list[SnapshotInfo]
    open_tasks: int
    runs: list[dict[str, object]]

    def to_json(self) -> dict[str, object]:
        return {
            "location": self.location,
            "environment": self.environment,
            "schema_version": self.schema_version,
            "lock": self.lock.__dict__ if self.lock else None,
            "snapshots": [s.__dict__ for s in self.snapshots],
            "open_tasks": self.open_tasks,
            "runs": self.runs,
        }


def state_report(root: Path, store: StoreRef) -> StateReport:
    with store.open(root) as opened:
        return StateReport(
            location=opened.location,
            environment=opened.environment,
            schema_version=opened.schema_version(),
            lock=opened.lock_info(),
            snapshots=opened.snapshot_info(),
            open_tasks=len(opened.tasks("open")),
            runs=opened.runs()[-5:],
        )


def unlock(root: Path, store: StoreRef, by: str) -> LockInfo | None:
    with store.open(root) as opened:
        return opened.break_lock(by)


def list_tasks(root: Path, store: StoreRef, include_done: bool) -> list[Task]:
    with store.open(root) as opened:
        return opened.tasks() if include_done else opened.tasks("open")


def complete_task(root: Path, store: StoreRef, task_id: str, by: str) -> Task:
    with store.open(root) as opened:
        task = opened.complete_task(task_id, by=by, state="verified")
        opened.audit(by, "task_done", task_id, {"order": task.order_id, "source": task.source})
        return task


def apply_plan(
    root: Path,
    plan: Plan,
    store: StoreRef,
    today: dt.date,
    actor: str,
    progress: ApplyProgress | None = None,
    approved: frozenset[str] = frozenset(),
) -> ApplyResult:
    """Execute exactly ``plan``: refuse it if stale, then run, record and audit every order."""
    config, desired = load_and_expand(root, today, store.environment)
    if config.digest != plan.config_digest:
        raise StalePlanError(
            f"the configuration changed since this plan was made (plan for config "
            f"{plan.config_digest[:12]}, repository now {config.digest[:12]}); plan again"
        )
    with store.open(root) as opened, opened.lock(actor):
        _require_promotion(config, opened)
        opened.save_plan(plan.digest, plan.config_digest, dumps(plan))
        prior = opened.order_states(plan.digest)
        done = {oid for oid, s in prior.items() if s.state in DONE}
        verdicts = check_approvals(config, plan, opened)
        approved = approved | {oid for oid, v in verdicts.items() if v.approved}
        staleness = check_stale(config, desired, plan, done, opened.latest_snapshot(), today)
        for sid, live in sorted(staleness.live.items()):
            opened.save_snapshot(sid, live)
        if staleness.problems:
            opened.audit(actor, "apply_refused", plan.digest, {"problems": staleness.problems})
            raise StalePlanError(
                "the plan is stale: "
                + ", ".join(staleness.changed_sources)
                + " changed since it was made, and its orders would now differ:\n  "
                + "\n  ".join(staleness.problems)
                + "\nSync and plan again."
            )
        run_id = opened.start_run(plan.digest, actor)
        opened.audit(
            actor,
            "apply_started",
            plan.digest,
            {
                "run": run_id,
                "approved": {oid: v.approvers for oid, v in sorted(verdicts.items()) if v.approved},
            },
        )
        result: ApplyResult | None = None
        try:
            executor = Executor(
                config,
                plan,
                opened,
                run_id,
                approved=approved,
                inactive=staleness.inactive,
                accounts=staleness.accounts,
                approval_notes={oid: v.describe() for oid, v in verdicts.items()},
                progress=progress or (lambda o, s, m: None),
            )
            result = executor.run()
        finally:
            status = result.status if result else "crashed"
            opened.finish_run(run_id, status)
            counts = dict(Counter(result.states.values())) if result else {}
            opened.audit(
                actor,
                "apply_finished",
                plan.digest,
                {"run": run_id, "status": status, "states": counts},
            )
        _refresh(config, opened, plan)
        if result.tasks:
            _write_task_files(root, run_id, result.tasks)
        return result


def _refresh(config: Config, store: Store, plan: Plan) -> None:
    """Read back the sources apply changed, so the next plan starts from the truth.

    A source that cannot be read now keeps its older snapshot; the next sync fixes it.
    """
    for sid in sorted({o.change.source for o in plan.orders if o.kind != "manual_task"}):
        source = config.sources.get(sid)
        if source is None or source.kind == "vault":
            continue
        try:
            store.save_snapshot(sid, read_source(config, sid))
        except ConnectorError:
            continue


def _write_task_files(root: Path, run_id: int, tasks: list[Task]) -> Path:
    out = root / ".accesshive" / "runs" / str(run_id)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tasks.csv").write_text(tasks_csv(tasks), encoding="utf-8")
    (out / "tasks.md").write_text(tasks_markdown(tasks), encoding="utf-8")
    return out


@dataclass(frozen=True)
class Step:
    """One order of an identity's flow, with its latest state."""

    order: Order
    state: str
    message: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "order": self.order.id,
            "action": self.order.action,
            "source": self.order.change.source,
            "state": self.state,
            "message": self.message,
        }


@dataclass(frozen=True)
class IdentityStatus:
    identity: str
    status: str
    """pending, provisioned or error."""
    steps: tuple[Step, ...]

    @property
    def outstanding(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.state not in DONE)

    def to_json(self) -> dict[str, object]:
        return {
            "identity": self.identity,
            "status": self.status,
            "steps": [s.to_json() for s in self.steps],
        }


def identity_status(root: Path, store: StoreRef) -> list[IdentityStatus]:
    """Each identity's provisioning status, from the latest applied plan's order states."""
    config = load_config(root, store.environment)
    with store.open(root) as opened:
        run = opened.latest_run()
        plan = None
        states: dict[str, OrderState] = {}
        if run is not None:
            content = opened.plan_content(str(run["plan_digest"]))
            plan = from_json(json.loads(content), "stored plan") if content else None
            states = opened.order_states(str(run["plan_digest"]))
    steps: dict[str, list[Step]] = {}
    for order in plan.orders if plan else ():
        if order.change.identity:
            known = states.get(order.id)
            step = Step(
                order, known.state if known else "pending", known.message if known else None
            )
            steps.setdefault(order.change.identity, []).append(step)
    out = []
    for iid in sorted(config.identities):
        mine = tuple(steps.get(iid, []))
        if any(s.state in FAILED for s in mine):
            status = "error"
        elif any(s.state not in DONE for s in mine):
            status = "pending"
        else:
            status = "provisioned"
        out.append(IdentityStatus(iid, status, mine))
    return out


def retry_identity(
    root: Path,
    identity: str,
    store: StoreRef,
    today: dt.date,
    actor: str,
    progress: ApplyProgress | None = None,
) -> ApplyResult | None:
    """Re-plan one identity against the current state and run its remaining steps.

    None when nothing is left to do for it.
    """
    config = load_config(root, store.environment)
    if identity not in config.identities:
        guess = suggest(identity, config.identities)
        hint = f"; did you mean '{guess}'?" if guess else ""
        raise PlanError(f"no identity '{identity}' in the configuration{hint}")
    if store.exists(root):
        with store.open(root) as opened:
            for sid in sorted(config.sources):
                source = config.sources[sid]
                if source.kind == "vault" or source.effective_provisioning == "manual":
                    continue
                try:
                    opened.save_snapshot(sid, read_source(config, sid))
                except ConnectorError:
                    continue
    plan = plan_repository(root, today, store=store).for_identity(identity)
    if not plan.orders:
        return None
    return apply_plan(root, plan, store, today, actor, progress)


@dataclass(frozen=True)
class Promotion:
    config_digest: str
    source: str
    target: str
    plan_digest: str


def promote(
    root: Path, source: str, target: str, actor: str, store_url: str | None = None
) -> Promotion:
    """Allow ``target`` to apply the config digest now in the repository, if ``source``
    applied exactly that digest with every order verified."""
    config = load_config(root, target)
    digest = config.digest
    with StoreRef(source).open(root) as sandbox:
        runs = sandbox.applied_runs(digest)
        if not runs:
            latest = sandbox.latest_applied_config()
            detail = f"it last applied config {latest[:12]}" if latest else "it has applied nothing"
            raise PromotionError(
                f"config {digest[:12]} was not applied in '{source}' ({detail}); apply this "
                f"exact config there first"
            )
        last = runs[-1]
        if last["status"] != "complete":
            states = sandbox.order_states(str(last["plan_digest"]))
            waiting = sorted(oid for oid, st in states.items() if st.state not in DONE)
            raise PromotionError(
                f"config {digest[:12]} was applied in '{source}' but not cleanly (run "
                f"{last['id']} {last['status']}; orders not verified: {', '.join(waiting[:10])}"
                f"{'...' if len(waiting) > 10 else ''}); fix and apply again"
            )
        sandbox.audit(actor, "promotion_out", digest, {"to": target, "plan": last["plan_digest"]})
    with StoreRef(target, store_url).open(root) as production:
        production.record_promotion(digest, source, str(last["plan_digest"]), actor)
        production.audit(actor, "promotion", digest, {"from": source, "plan": last["plan_digest"]})
    return Promotion(digest, source, target, str(last["plan_digest"]))


def _require_promotion(config: Config, store: Store) -> None:
    env = config.project.environments.get(config.environment)
    origin = env.require_promotion_from if env else None
    if origin and not store.promoted(config.digest, origin):
        raise PromotionError(
            f"environment '{config.environment}' applies only configs promoted from '{origin}'; "
            f"config {config.digest[:12]} was not: run `accesshive promote --from {origin} "
            f"--to {config.environment}` once '{origin}' applied it cleanly"
        )


def report_repository(
    root: Path,
    store: StoreRef,
    today: dt.date,
    sync_first: bool = True,
    stale_days: int = 7,
    actor: str = "accesshive",
) -> tuple[Report, list[SourceResult]]:
    """Sync (unless told not to), then report drift, orphans, health and stale items."""
    config, desired = load_and_expand(root, today, store.environment)
    with store.open(root) as opened:
        synced = sync(config, opened, None, actor=actor) if sync_first else []
        snapshot = opened.latest_snapshot()
        plan = make_plan(config, desired, snapshot, today, allow_mass_changes=True)
        run = opened.latest_run()
        latest_plan = None
        states: dict[str, OrderState] = {}
        if run is not None:
            content = opened.plan_content(str(run["plan_digest"]))
            latest_plan = from_json(json.loads(content), "stored plan") if content else None
            states = opened.order_states(str(run["plan_digest"]))
        first_seen = {
            (sid, ext): at for sid in config.sources for ext, at in opened.first_seen(sid).items()
        }
        report = build_report(
            project=config.project.name,
            environment=config.environment,
            desired=desired,
            snapshot=snapshot,
            plan=plan,
            latest_states=states,
            latest_plan=latest_plan,
            tasks=opened.tasks("open"),
            first_seen=first_seen,
            rotation_days={iid: c.rotate_every_days for iid, c in desired.credentials.items()},
            today=today,
            stale_days=stale_days,
            previous=opened.previous_report_totals(),
        )
        opened.save_report_totals(report.totals)
        opened.audit(actor, "report", None, {"totals": report.totals})
    return report, synced


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
    config = load_config(root)
    source = config.project.identity_sources.get(source_id)
    if source is None:
        known = ", ".join(sorted(config.project.identity_sources)) or "none"
        raise ImportProblem(
            f"'{source_id}' is not an identity source in accesshive.yaml (declared: {known})"
        )
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


def create_scim_token(root: Path, source_id: str, store: StoreRef, actor: str) -> tuple[str, int]:
    """A new token (returned once) for a scim identity source; earlier ones are revoked."""
    from accesshive.idp.server import new_token

    _scim_source(root, source_id)
    token, digest_ = new_token()
    with store.open(root) as opened:
        revoked = opened.new_token(source_id, digest_)
        opened.audit(actor, "scim_token_created", source_id, {"revoked": revoked})
    return token, revoked


def leaver_orders(config: Config, plan: Plan, identity: str) -> Plan:
    """The orders the leaver policy runs at once for a deactivated identity."""
    policy = config.policies.leavers

    def keep(order: Order) -> bool:
        if order.change.identity != identity or order.action not in policy.immediate:
            return False
        return not (
            order.action == "revoke" and policy.sensitive_only and not order.change.sensitive
        )

    return plan.only(keep)


def run_leaver(root: Path, source_id: str, user: dict[str, Any], store: StoreRef) -> None:
    """What a deactivation triggers: the leaver policy's orders, as their own audited apply."""
    config = load_config(root, store.environment)
    source = config.project.identity_sources[source_id]
    try:
        identity = map_record(source, {**user, "groups": ""}).id
    except (ImportProblem, TemplateProblem):
        return
    if not config.policies.leavers.immediate:
        return
    today = dt.date.today()
    plan = leaver_orders(config, plan_repository(root, today, store=store), identity)
    with store.open(root) as opened:
        opened.audit("scim", "leaver_immediate", identity, {"orders": [o.id for o in plan.orders]})
    if plan.orders:
        try:
            apply_plan(root, plan, store, today, f"scim:{source_id}")
        except AccessHiveError as exc:
            with store.open(root) as opened:
                opened.audit("scim", "leaver_immediate_failed", identity, {"error": str(exc)})


def serve_scim(root: Path, source_id: str, store: StoreRef, host: str, port: int) -> None:
    """Run the SCIM service provider until interrupted (threaded WSGI server)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer, make_server

    from accesshive.idp.server import make_app

    class _Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    _scim_source(root, source_id)

    def deactivated(user: dict[str, Any]) -> None:
        threading.Thread(
            target=run_leaver, args=(root, source_id, user, store), daemon=True
        ).start()

    with store.open(root) as opened:
        app = make_app(opened, source_id, deactivated)
        server = make_server(host, port, app, server_class=_Server)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def import_scim(
    root: Path, url: str, source_id: str, token: str | None, today: dt.date, write_yaml: bool
) -> YamlChanges:
    """Pull Users and Groups from a SCIM server and map them like pushed records."""
    from accesshive.idp.merge import identities_from_records
    from accesshive.idp.pull import pull_records

    config = load_config(root)
    source = config.project.identity_sources.get(source_id)
    if source is None:
        known = ", ".join(sorted(config.project.identity_sources)) or "none"
        raise ImportProblem(
            f"'{source_id}' is not an identity source in accesshive.yaml (declared: {known})"
        )
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
