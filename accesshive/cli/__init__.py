"""The ``accesshive`` command line: parse options, call one operation, render the result.

No business logic lives here. Errors are handled once, by ``AccessHiveGroup``
(``_group``, with ``_failure``): ``AccessHiveError``, usage errors and unreadable or
unwritable paths are printed as ``Error: ...`` (a JSON object on stdout with ``--format
json``) with their exit code; anything else is a bug and keeps its traceback.

This module owns the ``main`` group (the ``accesshive`` console script) and nothing
else: each command lives in the private module of its group, and is added here.

- ``_group``: the group itself, its lazily imported commands, ``--no-color``
- ``_failure``: the error handler (``Error: ...`` or a JSON error, and the exit code)
- ``_repository``: ``-C DIR`` / ``[DIR]``, and hints runnable as printed
- ``_options``: shared options (``--format``, ``--env``/``--store``, ``--today``...),
  actor and date helpers
- ``_plan``: ``validate``, ``plan``, ``show``, ``graph``, ``schema``
- ``_apply``: ``apply``, ``retry``
- ``_status``: ``status``
- ``_workers``: ``worker``
- ``_state``: ``sync``, ``state show``, ``state unlock``
- ``_approvals``: ``approve``, ``decline``, ``approvals verify``, ``approvals from-github``
- ``_report``: ``report``, ``promote``
- ``_identities``: ``import csv``, ``import scim``, ``scim token create``, ``scim serve``
- ``_audit``: ``audit verify``, ``audit export``, ``audit forward``
- ``_vault``: ``vault init``, ``vault put``, ``vault get``, ``vault list``, ``vault rotate-key``
- ``_tasks``: ``tasks list``, ``tasks done``
- ``_cache``: ``cache info``, ``cache prune``
- ``_console``: ``console`` (serve), ``console token create``, ``console token list``,
  ``console token revoke``
"""

from __future__ import annotations

import click

from accesshive import __version__
from accesshive.cli._group import AccessHiveGroup, LazyCommands, no_color_option

COMMANDS = {
    "validate": "accesshive.cli._plan:validate",
    "plan": "accesshive.cli._plan:plan",
    "show": "accesshive.cli._plan:show",
    "graph": "accesshive.cli._plan:graph",
    "schema": "accesshive.cli._plan:schema",
    "apply": "accesshive.cli._apply:apply",
    "status": "accesshive.cli._status:status",
    "retry": "accesshive.cli._apply:retry",
    "worker": "accesshive.cli._workers:worker",
    "sync": "accesshive.cli._state:sync_command",
    "state": "accesshive.cli._state:state",
    "approve": "accesshive.cli._approvals:approve",
    "approvals": "accesshive.cli._approvals:approvals",
    "decline": "accesshive.cli._approvals:decline",
    "report": "accesshive.cli._report:report",
    "promote": "accesshive.cli._report:promote_command",
    "scim": "accesshive.cli._identities:scim",
    "import": "accesshive.cli._identities:import_",
    "audit": "accesshive.cli._audit:audit",
    "vault": "accesshive.cli._vault:vault",
    "tasks": "accesshive.cli._tasks:tasks",
    "cache": "accesshive.cli._cache:cache_group",
    "console": "accesshive.cli._console:console",
}
"""Each command, by the module that defines it: imported when the command runs (or
``--help`` lists it), so that a command pays only for what it uses."""


@click.group(cls=AccessHiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="accesshive")
def main() -> None:
    """accesshive: identity provisioning as code.

    Declare identities, roles, access profiles and lifecycle states in YAML;
    plan the provisioning orders against the real systems; apply exactly that plan.

    Every command that reads a config repository takes it as -C DIR (default: the
    current directory); commands whose subject is the repository (validate, plan,
    sync, status, report ...) also take it as the argument DIR. With --format json,
    errors are a JSON object on stdout: {"error": {"kind", "message", "hint",
    "exit_code"}}. NO_COLOR or --no-color turns colours off.
    """


main.params.append(no_color_option)
main.commands = LazyCommands(COMMANDS, main.prepare)

__all__ = ["main"]
