"""The ``accesshive`` command line: parse options, call one operation, render the result.

No business logic lives here. Errors: only ``AccessHiveError`` is caught (and
printed as ``Error: ...`` with its exit code); anything else is a bug and keeps
its traceback.

This module owns the ``main`` group (the ``accesshive`` console script) and nothing
else: each command lives in the private module of its group, and is added here.

- ``_options``: shared options, the error handler, actor and date helpers
- ``_plan``: ``validate``, ``plan``, ``show``, ``graph``, ``schema``
- ``_apply``: ``apply``, ``status``, ``retry``
- ``_state``: ``sync``, ``state show``, ``state unlock``
- ``_approvals``: ``approve``, ``decline``, ``approvals verify``, ``approvals from-github``
- ``_report``: ``report``, ``promote``
- ``_identities``: ``import csv``, ``import scim``, ``scim token create``, ``scim serve``
- ``_audit``: ``audit verify``, ``audit export``, ``audit forward``
- ``_vault``: ``vault init``, ``vault put``, ``vault get``, ``vault list``, ``vault rotate-key``
- ``_tasks``: ``tasks list``, ``tasks done``
- ``_cache``: ``cache info``, ``cache prune``
"""

from __future__ import annotations

import click

from accesshive import __version__
from accesshive.cli._apply import apply, retry, status
from accesshive.cli._approvals import approvals, approve, decline
from accesshive.cli._audit import audit
from accesshive.cli._cache import cache_group
from accesshive.cli._identities import import_, scim
from accesshive.cli._plan import graph, plan, schema, show, validate
from accesshive.cli._report import promote_command, report
from accesshive.cli._state import state, sync_command
from accesshive.cli._tasks import tasks
from accesshive.cli._vault import vault


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="accesshive")
def main() -> None:
    """accesshive: identity provisioning as code.

    Declare identities, roles, access profiles and lifecycle states in YAML;
    plan the provisioning orders against the real systems; apply exactly that plan.
    """


for _command in (
    validate,
    plan,
    show,
    graph,
    apply,
    status,
    retry,
    sync_command,
    state,
    approve,
    decline,
    approvals,
    report,
    scim,
    import_,
    promote_command,
    audit,
    vault,
    tasks,
    schema,
    cache_group,
):
    main.add_command(_command)

__all__ = ["main"]
