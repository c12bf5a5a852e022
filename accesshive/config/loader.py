"""Loading a config repository: find the files, parse them, merge them into a ``Config``.

The sequence, each step collecting diagnostics rather than stopping at the first:
1. parse ``accesshive.yaml`` (the project settings say which files to read);
2. parse every included file with the fast loader (see ``yamlio``);
3. check each document's structure with the pydantic models;
4. merge collections across files, refusing an id declared twice;
5. load policies (shipped defaults, then the repository's ``policies/``);
6. check references and rules across the whole config (``validate``); when a file could
   not be read, a reference that may point into it is not reported as missing
   (``unconfirmed.py``): one warning says how many could not be checked, and why;
7. place every diagnostic at file:line:column and raise ``ConfigError`` if any is an error.

No file is read through a symbolic link that leads out of the repository (``links``).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from accesshive.config.config import Config
from accesshive.config.default_policies import default_policy_dir
from accesshive.config.documents import (
    COLLECTIONS,
    ITEM_MODELS,
    SINGULAR,
    ConfigDocument,
    ProjectDocument,
)
from accesshive.config.environments import check_environments, with_environment
from accesshive.config.links import RepositoryLinks
from accesshive.config.model import DEFAULT_LIFECYCLE_STATES, ID_PATTERN
from accesshive.config.policy import POLICY_SECTIONS, Policies, PolicyDocument
from accesshive.config.project_file import PROJECT_FILE, missing_project
from accesshive.config.structure import from_validation_error
from accesshive.config.unconfirmed import unconfirmed
from accesshive.config.validate import validate
from accesshive.config.yamlio import Locator, Parse, ParsedFile, YamlProblem, parse_file
from accesshive.diagnostics import Diagnostic, Location, sort_key
from accesshive.errors import ConfigError

ALWAYS_EXCLUDED = ("approvals/**",)
DEFAULT_POLICIES = "<defaults>/policies"
"""How the shipped policy files are named in ``Config.files`` (not files of the repository)."""


Check = Callable[[Config, Sequence[Diagnostic]], list[Diagnostic]]
"""The cross-file checks as the loader runs them: the config and the problems found
before them → their own problems. ``checks`` below, or the check cache's
(``cache/check.py``: ``validate``), which the pipeline passes in."""


def checks(config: Config, earlier: Sequence[Diagnostic] = ()) -> list[Diagnostic]:
    """``validate``: every check, on every identity."""
    return validate(config)


def load_config(
    root: str | Path,
    environment: str | None = None,
    parse: Parse | None = None,
    check: Check | None = None,
) -> Config:
    """Load and validate the repository at ``root`` as seen in ``environment`` (default:
    the project's ``default_environment``); raise ``ConfigError`` with every problem.

    ``parse`` and ``check``: how files are parsed and the config checked (default
    ``yamlio.parse_bytes`` and ``checks``); the pipeline passes the cached ones
    (``pipeline.py``), which give the same result."""
    root = Path(root)
    loader = _Loader(root, parse)
    config = loader.load()
    problems = [*loader.diagnostics]
    if config is not None:
        config, env_problems = with_environment(config, environment)
        checked = [*env_problems]
        checked.extend((check or checks)(config, [*problems, *env_problems]))
        checked.extend(check_environments(config))
        problems.extend(unconfirmed(checked, loader.unread, loader.place))
    located = sorted((loader.locate(d) for d in problems), key=sort_key)
    errors = [d for d in located if d.is_error]
    if errors or config is None:
        raise ConfigError(located)

    warned = replace(config, warnings=tuple(located))
    warned.memo.update(config.memo)  # the same config with warnings: what validate derived holds
    return warned


def config_digest(root: str | Path, parse: Parse | None = None) -> str | None:
    """The config digest a plan made from the repository at ``root`` now would carry, or
    None when its files do not read (no plan is made from them). The files are read and
    parsed as ``load_config`` does, without the cross-file checks: what tells which
    repository a saved plan was made from (two repositories may share a project name)."""
    loader = _Loader(Path(root), parse)
    config = loader.load()
    if config is None or any(d.is_error for d in loader.diagnostics):
        return None
    return config.digest


def locate(config: Config, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Place diagnostics raised after loading (by expand, plan) at file:line:column."""
    locator = Locator(config.root)
    locator.paths = dict(config.paths)
    return sorted((_placed(locator, d) for d in diagnostics), key=sort_key)


def _placed(locator: Locator, d: Diagnostic) -> Diagnostic:
    if d.location is None:
        return d
    related = tuple(locator.place(r) for r in d.related)
    return replace(d, location=locator.place(d.location), related=related)


class _Loader:
    def __init__(self, root: Path, parse: Parse | None = None) -> None:
        self.root = root
        self.parse = parse
        self.diagnostics: list[Diagnostic] = []
        self.files: dict[str, str] = {}
        self.paths: dict[str, Path] = {}
        self.locator = Locator(root)
        self.invalid: set[tuple[str, str]] = set()
        self.unread: dict[str, str] = {}
        """Config files (or a collection of one) that could not be read → why."""
        self.policy_origins: dict[str, str] = {}
        self.links = RepositoryLinks(root, self.diagnostics)

    def locate(self, d: Diagnostic) -> Diagnostic:
        self.locator.paths = self.paths
        return _placed(self.locator, d)

    def place(self, location: Location) -> Location:
        """``location`` at its line and column, with its repository's directory."""
        self.locator.paths = self.paths
        return self.locator.place(location)

    def load(self) -> Config | None:
        project_path = self.root / PROJECT_FILE
        missing = missing_project(self.root)
        if missing is not None:
            self.diagnostics.append(missing)
            return None
        if not self.links.allows(project_path, PROJECT_FILE):
            return None
        parsed = self._parse(project_path, PROJECT_FILE)
        data = self._mapping(parsed) if parsed else None
        if data is None:
            return None
        settings = {k: v for k, v in data.items() if k not in COLLECTIONS}
        project = self._model(PROJECT_FILE, settings, ProjectDocument)
        if not isinstance(project, ProjectDocument):
            return None
        documents = [(PROJECT_FILE, self._entities(PROJECT_FILE, data))]
        for name, path in self._discover(project):
            doc_file = self._parse(path, name)
            doc = self._mapping(doc_file) if doc_file else None
            if doc is None:
                self.unread[name] = "is not a mapping" if doc_file else "did not parse"
                continue
            unknown = {k: v for k, v in doc.items() if k not in COLLECTIONS}
            if unknown:
                self._model(name, unknown, ConfigDocument)
            documents.append((name, self._entities(name, doc)))
        policies = self._policies(project)
        self.links.report_directories((*ALWAYS_EXCLUDED, *project.exclude))
        return self._merge(project, documents, policies)

    # ------------------------------------------------------------------ files

    def _discover(self, project: ProjectDocument) -> list[tuple[str, Path]]:
        excluded = (*ALWAYS_EXCLUDED, *project.exclude)
        policy_dirs = tuple(p.strip("/") for p in project.policies.paths)
        found: dict[str, Path] = {}
        for pattern in project.include:
            for path in self.root.glob(pattern):
                if not path.is_file():
                    continue
                rel = path.relative_to(self.root).as_posix()
                parts = rel.split("/")
                if rel == PROJECT_FILE or any(p.startswith(".") for p in parts):
                    continue
                if any(rel.startswith(d + "/") for d in policy_dirs):
                    continue
                if any(fnmatch.fnmatch(rel, pat) for pat in excluded):
                    continue
                if not self.links.allows(path, rel):  # a link out of the repository
                    continue
                found[rel] = path
        return sorted(found.items())

    def _parse(self, path: Path, name: str) -> ParsedFile | None:
        """Parse a file; only a file that parsed is ever re-read to place diagnostics."""
        try:
            parsed = parse_file(path, name, parse=self.parse)
        except YamlProblem as problem:
            self.diagnostics.append(problem.diagnostic)
            return None
        except OSError as exc:
            self.diagnostics.append(
                Diagnostic("unreadable", f"cannot read file: {exc.strerror}", Location(name))
            )
            return None
        self.files[name] = parsed.meaning
        self.paths[name] = path
        return parsed

    def _mapping(self, parsed: ParsedFile) -> dict[Any, Any] | None:
        data: Any = parsed.data
        if data is None:
            return {}
        if isinstance(data, dict):
            return data
        self.diagnostics.append(
            Diagnostic(
                "not-a-mapping",
                f"the file holds {type(data).__name__}, not a mapping of sections",
                Location(parsed.name, (), 1, 1),
                hint="start the file with a section such as 'identities:'",
            )
        )
        return None

    def _model(
        self, name: str, data: Any, model: type[BaseModel], base: tuple[str, ...] = ()
    ) -> BaseModel | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self.diagnostics.extend(from_validation_error(exc, name, model, base))
            return None

    def _entities(self, name: str, data: dict[Any, Any]) -> dict[str, dict[str, Any]]:
        """Validate each entity on its own, so one bad entity does not hide its file."""
        out: dict[str, dict[str, Any]] = {}
        for collection, model in ITEM_MODELS.items():
            items = data.get(collection)
            if items is None:
                continue
            if not isinstance(items, dict):
                self.diagnostics.append(
                    Diagnostic(
                        "wrong-type",
                        f"'{collection}' must be a mapping of id to definition",
                        Location(name, (collection,)),
                        hint=f"write '{collection}:' then one indented '<id>:' per entry",
                    )
                )
                self.unread.setdefault(name, f"'{collection}' is not a mapping")
                continue
            for ident, item in items.items():
                if not isinstance(ident, str) or not ID_PATTERN.match(ident):
                    self.diagnostics.append(
                        Diagnostic(
                            "invalid-id",
                            f"'{ident}' in {collection} is not a valid id",
                            Location(name, (collection, ident)),
                            hint="ids start with a letter or digit and use only letters, "
                            "digits, . _ @ -",
                        )
                    )
                    continue
                value = self._model(name, item, model, (collection, ident))
                if value is None:
                    self.invalid.add((collection, ident))
                else:
                    out.setdefault(collection, {})[ident] = value
        return out

    # ------------------------------------------------------------------ policies

    def _policies(self, project: ProjectDocument) -> Policies:
        merged: dict[str, Any] = {}
        dirs: list[tuple[str, Path, bool]] = []  # (prefix, directory, in the repository)
        if project.policies.use_defaults:
            dirs.append((DEFAULT_POLICIES, default_policy_dir(), False))
        dirs.extend((p.strip("/"), self.root / p, True) for p in project.policies.paths)
        for prefix, directory, ours in dirs:
            if not directory.is_dir():
                continue
            for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
                name = f"{prefix}/{path.name}"
                if ours and not self.links.allows(path, name):
                    continue
                parsed = self._parse(path, name)
                if parsed is None:
                    continue
                data = self._mapping(parsed)
                doc = self._model(parsed.name, data, PolicyDocument) if data is not None else None
                if doc is None:
                    continue
                for section in POLICY_SECTIONS:
                    value = getattr(doc, section)
                    if value is not None:
                        merged[section] = value
                        self.policy_origins[section] = parsed.name
        return Policies(**merged)

    # ------------------------------------------------------------------ merge

    def _merge(
        self,
        project: ProjectDocument,
        documents: list[tuple[str, dict[str, dict[str, Any]]]],
        policies: Policies,
    ) -> Config:
        collections: dict[str, dict[str, Any]] = {c: {} for c in COLLECTIONS}
        origins: dict[tuple[str, str], Location] = {}
        for name, doc in documents:
            for collection in COLLECTIONS:
                for ident, value in doc.get(collection, {}).items():
                    here = Location(name, (collection, ident))
                    first = origins.get((collection, ident))
                    if first is not None:
                        self.diagnostics.append(
                            Diagnostic(
                                "duplicate-id",
                                f"{SINGULAR[collection]} '{ident}' is declared twice",
                                here,
                                hint="ids are unique across all files; rename or merge one",
                                related=(first,),
                            )
                        )
                        continue
                    origins[(collection, ident)] = here
                    collections[collection][ident] = value
        lifecycle = {**DEFAULT_LIFECYCLE_STATES, **collections["lifecycle_states"]}
        files = tuple(sorted(self.files.items()))
        digest = hashlib.sha256(
            "".join(f"{n}\0{h}\n" for n, h in files).encode("utf-8")
        ).hexdigest()
        return Config(
            root=self.root,
            project=project,
            sources=collections["sources"],
            identities=collections["identities"],
            access_profiles=collections["access_profiles"],
            roles=collections["roles"],
            lifecycle_states=lifecycle,
            policies=policies,
            origins=origins,
            files=files,
            digest=digest,
            paths=dict(self.paths),
            invalid=frozenset(self.invalid),
            policy_origins=dict(self.policy_origins),
        )
