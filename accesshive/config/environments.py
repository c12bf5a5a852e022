"""Environments: the same configuration, each environment with its own store and
connection overlays (sandbox first, then production).

The config digest covers the files, not the environment, so the digest applied
in the sandbox is the very one a promotion carries to production.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from accesshive.config.config import Config
from accesshive.config.documents import Environment, ProjectDocument
from accesshive.config.structure import suggest
from accesshive.diagnostics import Diagnostic, Location

DEFAULT = "default"


def environment_name(project: ProjectDocument, requested: str | None) -> str:
    return requested or project.default_environment or DEFAULT


def settings(project: ProjectDocument, name: str) -> Environment | None:
    return project.environments.get(name)


def with_environment(config: Config, requested: str | None) -> tuple[Config, list[Diagnostic]]:
    """The config as seen in one environment: its connection overlays applied."""
    name = environment_name(config.project, requested)
    env = settings(config.project, name)
    problems: list[Diagnostic] = []
    if env is None:
        if config.project.environments or name != DEFAULT:
            known = sorted(config.project.environments)
            guess = suggest(name, known)
            problems.append(
                Diagnostic(
                    "unknown-environment",
                    f"environment '{name}' is not declared in accesshive.yaml",
                    Location("accesshive.yaml", ("environments",)),
                    hint=f"did you mean '{guess}'?"
                    if guess
                    else f"declared: {', '.join(known) or 'none'}",
                )
            )
        return replace(config, environment=name), problems
    sources = dict(config.sources)
    for sid, overlay in env.connections.items():
        if sid in sources:
            src = sources[sid]
            sources[sid] = src.model_copy(update={"connection": {**src.connection, **overlay}})
    return replace(config, sources=sources, environment=name), problems


def check_environments(config: Config) -> Iterator[Diagnostic]:
    project = config.project
    if project.default_environment and project.default_environment not in project.environments:
        yield Diagnostic(
            "unknown-reference",
            f"default_environment '{project.default_environment}' is not declared",
            Location("accesshive.yaml", ("default_environment",)),
            hint=f"declared: {', '.join(sorted(project.environments)) or 'none'}",
        )
    for name, env in project.environments.items():
        for sid in env.connections:
            if not config.declares("sources", sid):
                guess = suggest(sid, config.sources)
                yield Diagnostic(
                    "unknown-reference",
                    f"environment '{name}' overlays source '{sid}', which is not declared",
                    Location("accesshive.yaml", ("environments", name, "connections", sid)),
                    hint=f"did you mean '{guess}'?" if guess else None,
                )
        origin = env.require_promotion_from
        if origin and origin not in project.environments:
            yield Diagnostic(
                "unknown-reference",
                f"environment '{name}' requires promotion from '{origin}', which is not declared",
                Location("accesshive.yaml", ("environments", name, "require_promotion_from")),
            )
