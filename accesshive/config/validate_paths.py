"""Files a source's connection names, checked to stay inside the repository.

Why: a pull request is reviewed as text, and a path in it says which file of the
runner's machine accesshive opens. A manual source's export or a SQLite database
outside the repository would have accesshive read (and, for SQLite with
``create_tables``, create and write) any file the runner can. ``validate`` and ``plan``
refuse such a path at its line, as the connector would at sync, so the pull request
fails its first check, not a later job. A path kept elsewhere is given as
``${env:NAME}``: the runner's environment names it, not the pull request.
"""

from __future__ import annotations

from collections.abc import Iterator

from accesshive.config.config import Config
from accesshive.config.secrets import is_reference
from accesshive.diagnostics import Diagnostic
from accesshive.repo_paths import outside_the_repository

SQLITE = "sqlite:///"


def check_source_paths(config: Config, sid: str) -> Iterator[Diagnostic]:
    """The paths of source ``sid`` that leave the repository, or name a path by a
    reference that cannot be one."""
    kind = config.sources[sid].kind
    if kind == "manual":
        yield from _export_inside(config, sid)
    elif kind == "sql":
        yield from _sqlite_inside(config, sid)


def _export_inside(config: Config, sid: str) -> Iterator[Diagnostic]:
    """A manual source's export must be a file of the repository (or ``${env:NAME}``).
    ``${file:..}`` would take a secret file's content as the path (and say it back in
    "no export at ..."): nothing a path is written as."""
    raw = config.sources[sid].connection.get("export")
    if not raw:
        return
    at = config.origin("sources", sid, "connection", "export")
    written = str(raw).strip()
    if is_reference(written):
        if not written.startswith("${env:"):
            yield Diagnostic(
                "invalid-value",
                f"source '{sid}': connection.export is {written}: an export path is written "
                "literally or as ${env:NAME}; a ${file:..} or ${vault:..} reference would "
                "use a secret's content as the path",
                at,
                hint="write the export's path inside the repository, or ${env:NAME} with "
                "NAME set where accesshive runs",
            )
        return
    how = outside_the_repository(config.root, written)
    if how is None:
        return
    yield Diagnostic(
        "invalid-value",
        f"source '{sid}': connection.export must be a file inside the repository ({how}): a "
        "pull request could otherwise make accesshive read any file the runner can",
        at,
        hint="keep the export in the repository, or give one kept elsewhere as ${env:NAME}, "
        "set where accesshive runs",
    )


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///PATH`` url names (as written: relative to the repository
    unless absolute); None for any other url."""
    return url.removeprefix(SQLITE) if url.startswith(SQLITE) else None


def _sqlite_inside(config: Config, sid: str) -> Iterator[Diagnostic]:
    """A ``sql`` source's SQLite file must be inside the repository (or the whole url a
    reference, which the runner's environment or a secret file gives)."""
    raw = config.sources[sid].connection.get("url")
    if not isinstance(raw, str) or is_reference(raw.strip()):
        return
    path = sqlite_path(raw.strip())
    if not path:
        return
    how = outside_the_repository(config.root, path)
    if how is None:
        return
    yield Diagnostic(
        "invalid-value",
        f"source '{sid}': connection.url must name an SQLite file inside the repository "
        f"({how}): a pull request could otherwise make accesshive read, create or write "
        "any file the runner can",
        config.origin("sources", sid, "connection", "url"),
        hint="keep the database in the repository (sqlite:///RELATIVE/PATH), or give a url "
        "kept elsewhere as ${env:NAME}, set where accesshive runs",
    )
