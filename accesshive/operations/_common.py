"""What every operation shares: ``StoreRef`` (which store a command uses), loading and
expanding the configuration with the identities pushed by identity providers, and
``bulk_work`` for the large allocations of a plan.

Why private: these are building blocks of the operations, re-exported by the package for
the few callers (tests, benchmarks) that load a repository themselves.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from accesshive.cache import check, parse, render
from accesshive.config import Config, locate
from accesshive.config.documents import COLLECTIONS, ProjectDocument
from accesshive.config.environments import environment_name
from accesshive.config.identity_files import identities_named
from accesshive.config.project_file import missing_project
from accesshive.config.validate import validate
from accesshive.config.yamlio import YamlProblem, parse_file
from accesshive.connectors.references import resolve
from accesshive.diagnostics import Diagnostic, Location, Severity
from accesshive.errors import ConfigError, ConnectorError, StoreError
from accesshive.expand.desired import DesiredState
from accesshive.idp.merge import merge_records
from accesshive.pipeline import load_config
from accesshive.plan.model import Plan
from accesshive.plan.planfile import from_json
from accesshive.store import DEFAULT_ENVIRONMENT, Store, open_store, other_stores
from accesshive.store._policies import latest_kept_in
from accesshive.store.base import OrderEvent


@dataclass(frozen=True)
class StoreRef:
    """Which store a command uses: an environment (default: the project's
    ``default_environment``), and optionally a URL (default: the environment's ``store``).

    ``create``: False for the commands that only read (status, report, show, audit,
    state, tasks, the console): a store named by URL that does not exist is refused,
    not created empty (``open_store``); sync and apply create it."""

    environment: str | None = None
    url: str | None = None
    create: bool = True

    def _project(self, root: Path) -> ProjectDocument | None:
        try:
            project = root / "accesshive.yaml"
            data = parse_file(project, "accesshive.yaml", parse=parse.parse_bytes).data or {}
            settings = {k: v for k, v in data.items() if k not in COLLECTIONS}
            return ProjectDocument.model_validate(settings)
        except (YamlProblem, OSError, ValueError):
            return None

    def name(self, root: Path) -> str:
        """The environment's name; an environment accesshive.yaml does not declare is
        refused (a typo in ``--env`` would otherwise open, and create, a store of its
        own, empty, and report from it)."""
        project = self._project(root)
        if project is None:
            return self.environment or DEFAULT_ENVIRONMENT
        name = environment_name(project, self.environment)
        if name not in project.environments and (
            project.environments or name != DEFAULT_ENVIRONMENT
        ):
            known = ", ".join(sorted(project.environments)) or "none"
            raise StoreError(
                f"environment '{name}' is not declared in accesshive.yaml (declared: "
                f"{known}); add it under environments:, or give one of those with --env"
            )
        return name

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

    def named_by_repository(self, root: Path) -> bool:
        """Whether the repository chose this store (its environment's ``store:``), not
        whoever runs accesshive (``--store``, ``ACCESSHIVE_STORE``): a change can point
        ``store:`` at a new database, where nothing is on record."""
        if self.url or os.environ.get("ACCESSHIVE_STORE"):
            return False
        project = self._project(root)
        env = project.environments.get(self.name(root)) if project else None
        return env is not None and env.store is not None

    def exists(self, root: Path) -> bool:
        if self.location(root):
            return True
        return (root / ".accesshive" / f"{self.name(root)}.db").exists()

    def nearby_policies_in_force(self, root: Path) -> tuple[str, str] | None:
        """For a plan before the environment's embedded store exists: the policies in
        force the repository's other stores hold (``Store.nearby_policies_in_force``), so
        a change that makes the store a new file is judged by them too."""
        if self.location(root) is not None:
            return None
        path = root / ".accesshive" / f"{self.name(root)}.db"
        return latest_kept_in(other_stores(root, path))

    def open(self, root: Path) -> Store:
        """The store. The embedded default store is created only inside a config
        repository: a command pointed at another directory would otherwise create an
        empty store there and report from it ("0 audit entries, chain intact"). One that
        exists is opened wherever it is."""
        location = self.location(root)
        if location is None and not (root / ".accesshive" / f"{self.name(root)}.db").exists():
            missing = missing_project(root)
            if missing is not None:
                raise ConfigError([missing])
        store = open_store(root, self.name(root), location, create=self.create)
        if self.url or os.environ.get("ACCESSHIVE_STORE"):
            # named by whoever runs accesshive, not by the repository: its record is what
            # it is, and the repository's other stores are not its business
            store.neighbours = ()
        return store


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
        # Everything allocated meanwhile is still in the youngest generation, which the
        # next collection would scan whole (a second or more for a large plan). Freezing
        # then unfreezing moves it to the oldest, without a scan, where only the rare
        # full collections look (so cyclic garbage is still collected in a long-lived
        # process such as `scim serve`).
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


Steps = Callable[[str], AbstractContextManager[object]]
"""Announces each stage of a long command (``with steps("expanding …"):``): the CLI shows
them on a terminal; everything else passes ``no_steps``."""


def no_steps(_: str) -> AbstractContextManager[object]:
    return nullcontext()


Loaded = tuple[Config, DesiredState]
"""A repository loaded and expanded: what plan and apply start from. A command that
plans and then applies (``apply --auto-approve``, retry, the leaver policy) loads once
and hands this on: at 100,000 identities each load costs seconds."""


def load_and_expand(
    root: Path,
    today: dt.date,
    environment: str | None = None,
    config: Config | None = None,
    steps: Steps = no_steps,
) -> Loaded:
    """Load and expand, raising ``ConfigError`` with every problem of both stages.

    Identities pushed by identity providers (``scim serve``) join those of the YAML.
    ``config``: the repository as ``load_config`` already read it, to not read it twice.
    """
    if config is None:
        with steps(f"loading and checking {root}"):
            config = load_config(root, environment)
    config = with_pushed_identities(config, root)
    while True:
        with steps(f"expanding {len(config.identities):,} identities"):
            desired, problems = render.expand(config, today, _failed(config))
        bad = _pushed_problems(config, [d for d in problems if d.is_error], by_location=False)
        if not bad:
            break
        config = _leave_out(config, bad)  # then expand the others again
    if problems:
        raise ConfigError(locate(config, [*config.warnings, *problems]))
    return config, desired


def _failed(config: Config) -> Callable[[Sequence[Diagnostic]], set[str]]:
    """The identities expand's problems are about, whose files the render cache must not
    keep: those the problems name or whose pushed record they are placed at; every
    identity when a problem is the configuration's own error."""

    def failed(problems: Sequence[Diagnostic]) -> set[str]:
        about = _identities_about(_pushed(config))
        named = [about(d, by_name=True) for d in problems]
        if any(d.is_error and not n for d, n in zip(problems, named, strict=True)):
            return set(config.identities)  # the configuration's own error: keep none
        return set().union(*named)

    return failed


CLASH = "duplicate-value"
"""The code of validate's refusal of two identities with one email."""

PUSHED_RECORD = "pushed-record"
"""The code of the warning for a pushed record left out of the plan (``plan`` lists it)."""


def _pushed(config: Config) -> dict[str, Location]:
    """Identity id → the record it was merged from, for identities an identity source gave."""
    merged = {f"{s.kind}:{sid}" for sid, s in config.project.identity_sources.items()}
    return {
        iid: where
        for (collection, iid), where in config.origins.items()
        if collection == "identities" and where.file in merged
    }


def _identities_about(pushed: dict[str, Location]) -> Callable[..., set[str]]:
    """For a diagnostic, the identities it is about: the pushed identity whose record it
    is placed at, and (``by_name``, expand's diagnostics) the identity its location names
    (``identities.<id>``). One map of the records, built once for every diagnostic."""
    records = {(where.file, where.path[:2]): iid for iid, where in pushed.items()}

    def about(d: Diagnostic, by_name: bool) -> set[str]:
        where = d.location
        iid = records.get((where.file, where.path[:2])) if where else None
        found = {iid} if iid else set()
        return found | identities_named([d]) if by_name else found

    return about


def _pushed_problems(
    config: Config, errors: list[Diagnostic], by_location: bool
) -> dict[str, list[Diagnostic]]:
    """The pushed identities these errors are about (an error about anything else makes
    the answer empty: then the configuration itself is wrong and nothing is left out).
    ``by_location``: the errors are placed at their records (validate's), not named by
    identity (expand's)."""
    if not errors:
        return {}
    pushed = _pushed(config)
    about = _identities_about(pushed)
    bad: dict[str, list[Diagnostic]] = {}
    for d in errors:
        named = about(d, by_name=not by_location)
        if not named or not named <= pushed.keys():
            return {}
        for iid in named:
            bad.setdefault(iid, []).append(d)
    return _without_clashes_with_the_left_out(bad, about)


def _without_clashes_with_the_left_out(
    bad: dict[str, list[Diagnostic]], about: Callable[..., set[str]]
) -> dict[str, list[Diagnostic]]:
    """An identity whose only problem is sharing its email with records left out for
    problems of their own is planned: once those are left out, nothing clashes (a bad
    record an older version accepted must not take a good leaver out of the plan)."""
    real = {iid for iid, found in bad.items() if any(d.code != CLASH for d in found)}
    kept = dict(bad)
    for iid, found in bad.items():
        if iid in real:
            continue
        partners = {
            p
            for d in found
            for where in d.related
            for p in about(Diagnostic(d.code, "", where), by_name=False)
        }
        if partners and partners <= real:
            del kept[iid]
    return kept


def _skipped(where: Location, reasons: list[str]) -> Diagnostic:
    source, _, record = where.file.partition(":")
    rid = where.path[1] if len(where.path) > 1 else "?"
    return Diagnostic(
        PUSHED_RECORD,
        f"identity source '{record or source}' record {rid} is left out of the plan: "
        + "; ".join(reasons),
        where,
        hint="correct it at the identity provider, or delete the record; "
        "every other identity is planned",
        severity=Severity.WARNING,
    )


def _leave_out(config: Config, bad: dict[str, list[Diagnostic]]) -> Config:
    """The config without these pushed identities, each reported as a warning."""
    pushed = _pushed(config)
    warnings = tuple(
        _skipped(pushed[iid], [f"identity '{iid}': {d.message}" for d in found])
        for iid, found in sorted(bad.items())
    )
    return replace(
        config,
        identities={k: v for k, v in config.identities.items() if k not in bad},
        origins={
            k: v for k, v in config.origins.items() if not (k[0] == "identities" and k[1] in bad)
        },
        warnings=config.warnings + warnings,
    )


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
    # a record that cannot be mapped was not merged: a warning, and everyone else plans
    config = replace(
        config,
        warnings=config.warnings
        + tuple(_skipped(d.location, [d.message]) for d in problems if d.location),
    )
    # the merged identities' origins name their source ("scim:okta", "csv:hr")
    merged = {f"{s.kind}:{sid}" for sid, s in config.project.identity_sources.items()}
    while True:
        # the YAML's own identities were checked by load_config: their files' entries spare them
        passed = check.recall(config).passed
        found = [d for d in validate(config, passed) if d.location and d.location.file in merged]
        errors = [d for d in found if d.is_error]
        bad = _pushed_problems(config, errors, by_location=True)
        if not bad:
            break
        config = _leave_out(config, bad)  # a record whose values do not fit: left out
    if errors:
        raise ConfigError(found)
    return config


def latest_applied(store: Store) -> tuple[Plan | None, dict[str, OrderEvent]]:
    """The plan of the latest apply run, and the latest state of each of its orders."""
    run = store.latest_run()
    if run is None:
        return None, {}
    return stored_plan(store, str(run["plan_digest"])), store.order_states(str(run["plan_digest"]))


def stored_plan(store: Store, digest: str) -> Plan | None:
    """A plan the store keeps (every plan an apply ran, or ``plan`` recorded), or None."""
    content = store.plan_content(digest)
    return from_json(json.loads(content), "stored plan") if content is not None else None
