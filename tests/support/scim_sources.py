"""The SCIM source YAML the tests and benchmarks of apply, sync and ``--workers`` write:
one template, so that what differs between them (concurrency, retry, a write rate limit,
a display name kept in sync, a sensitive ``admins`` group, an access profile) is named
at the call and not spelled out again in a copy of the rest.

The token is always read from ``<NAME>_SCIM_TOKEN`` (``DESIGN_SCIM_TOKEN`` for the
source ``design``): the tests set that variable to the server's token.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.scim_server import ScimServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
"""The repository's examples (as ``tests.conftest.EXAMPLES``; not imported from there,
so that the benchmarks importing this module do not load the tests' conftest)."""

ACCESS = """
access_profiles:
  design-staff: {source: design, entitlements: [staff]}
  design-admin: {source: design, entitlements: [admins]}
roles:
  employee:
    access_profiles: [design-staff]
    members_where: {department: Sales}
  admin:
    access_profiles: [design-admin]
"""
"""The access of :func:`design_repo`: everyone in Sales gets ``staff``; the ``admin``
role the sensitive (gated) ``admins``."""


def token_env(name: str) -> str:
    """The environment variable the source ``name`` reads its token from."""
    return f"{name.upper()}_SCIM_TOKEN"


def scim_source(
    name: str,
    url: str,
    *,
    concurrency: int | None = None,
    retry: str | None = None,
    writes_per_minute: float | None = None,
    display_name: bool = False,
    admins: bool = False,
    profile: bool = False,
) -> str:
    """A ``sources:`` document for one SCIM source ``name`` at ``url``: accounts named by
    their lower-cased email (``userName``, correlated on it), the group ``staff``.

    ``retry`` is the source's retry setting as YAML (``{attempts: 1}``);
    ``writes_per_minute`` its connection's write rate limit; ``display_name`` keeps
    ``displayName`` in sync with the identity's names; ``admins`` adds the sensitive
    group ``admins``; ``profile`` adds the access profile ``<name>-staff``."""
    lines = ["sources:", f"  {name}:", "    kind: scim", "    owner: it-ops"]
    if retry is not None:
        lines.append(f"    retry: {retry}")
    if concurrency is not None:
        lines.append(f"    concurrency: {concurrency}")
    lines.append("    connection:")
    if writes_per_minute is not None:
        lines.append(f"      quirks: {{writes_per_minute: {writes_per_minute}}}")
    lines += [
        f"      base_url: {url}",
        f'      token: "${{env:{token_env(name)}}}"',
        "    account:",
        "      name_attribute: userName",
        "      schema:",
        "        userName: {type: email, required: true}",
        *(["        displayName: {type: string}"] if display_name else []),
        "      create:",
        '        userName: "{{ email|lower }}"',
        *(
            ["      sync:", '        displayName: "{{ given_name }} {{ family_name }}"']
            if display_name
            else []
        ),
        "      correlation: [userName]",
        "    entitlements:",
        "      staff: {type: group, description: Everyone}",
        *(
            ["      admins: {type: group, description: Administrators, sensitive: true}"]
            if admins
            else []
        ),
    ]
    if profile:
        lines += [
            "access_profiles:",
            f"  {name}-staff: {{source: {name}, entitlements: [staff]}}",
        ]
    return "\n".join(lines) + "\n"


def design_source(
    url: str,
    *,
    concurrency: int,
    retry: str | None = None,
    writes_per_minute: float | None = None,
    admins: bool = True,
) -> str:
    """The source ``design``: a display name kept in sync, the groups ``staff`` and (unless
    ``admins=False``) the sensitive ``admins``; the rest as for :func:`scim_source`."""
    return scim_source(
        "design",
        url,
        concurrency=concurrency,
        retry=retry,
        writes_per_minute=writes_per_minute,
        display_name=True,
        admins=admins,
    )


def people_yaml(count: int, *, admin_last: bool = False) -> str:
    """``identities:`` with ``count`` people in Sales, ``person000`` on; with
    ``admin_last``, the last one has the role ``admin``."""
    lines = ["identities:"]
    for n in range(count):
        lines += [
            f"  person{n:03d}:",
            "    type: human",
            *(["    roles: [admin]"] if admin_last and n == count - 1 else []),
            "    attributes:",
            "      given_name: Person",
            f"      family_name: Test{n:03d}",
            f"      email: person{n:03d}@quickstart.example",
            "      department: Sales",
        ]
    return "\n".join(lines) + "\n"


def design_repo(tmp_path: Path, design: str, people: str) -> Path:
    """A repository at ``tmp_path / "org"``: the quickstart's project file, the source
    ``design`` (its YAML), :data:`ACCESS` and ``people`` (``identities:`` YAML)."""
    root = tmp_path / "org"
    root.mkdir()
    shutil.copy(EXAMPLES / "quickstart" / "accesshive.yaml", root)
    (root / "sources").mkdir()
    (root / "sources" / "design.yaml").write_text(design)
    (root / "access.yaml").write_text(ACCESS)
    (root / "identities").mkdir()
    (root / "identities" / "people.yaml").write_text(people)
    return root


@contextmanager
def design_server() -> Iterator[ScimServer]:
    """A real SCIM server (scim2-server) holding the groups of :func:`design_source`:
    ``staff`` and ``admins``, no users yet."""
    from tests.support.scim_server import scim_server

    with scim_server() as server:
        server.create_group("staff")
        server.create_group("admins")
        yield server
