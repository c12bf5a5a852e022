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

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "accesshive.cli._plan:validate",
        "Check a config repository; exit 1 on any problem.",
    ),
    "plan": (
        "accesshive.cli._plan:plan",
        "Compute the provisioning orders that bring the targets to the configuration.",
    ),
    "show": (
        "accesshive.cli._plan:show",
        "Render a saved plan (after checking it was not modified).",
    ),
    "graph": (
        "accesshive.cli._plan:graph",
        "Print a saved plan's order graph as Mermaid or Graphviz DOT.",
    ),
    "schema": (
        "accesshive.cli._plan:schema",
        "Print the JSON Schema of the config files (for editors and CI).",
    ),
    "apply": (
        "accesshive.cli._apply:apply",
        "Execute exactly a saved plan: retry, verify, record; resume after a crash.",
    ),
    "status": (
        "accesshive.cli._status:status",
        "Provisioning status per identity (pending, provisioned, error, declined); with "
        "an IDENTITY, each step of its flow (state, time, message, order id).",
    ),
    "retry": (
        "accesshive.cli._apply:retry",
        "Re-plan one identity against the targets and re-run its failed or stuck steps.",
    ),
    "worker": (
        "accesshive.cli._workers:worker",
        "Run the orders and source reads that `apply --workers` and `sync --workers` queue.",
    ),
    "sync": (
        "accesshive.cli._state:sync_command",
        "Read every source into a stored snapshot; a source that fails keeps its last one.",
    ),
    "state": (
        "accesshive.cli._state:state",
        "Inspect the state store (snapshots, runs, the environment lock).",
    ),
    "approve": (
        "accesshive.cli._approvals:approve",
        "Sign approvals of gated orders into approvals/<plan-digest>.yaml (commit it).",
    ),
    "approvals": (
        "accesshive.cli._approvals:approvals",
        "Check and gather approvals of a plan's gated orders.",
    ),
    "decline": (
        "accesshive.cli._approvals:decline",
        "Sign a decline of orders into approvals/<plan-digest>.yaml (commit it): they are"
        " not applied, and what depends on them is blocked, in this plan and every later "
        "plan of the same order content, until you withdraw it (--withdraw).",
    ),
    "report": (
        "accesshive.cli._report:report",
        "Drift, orphan and health report (Markdown for an issue, one-file HTML, JSON).",
    ),
    "promote": (
        "accesshive.cli._report:promote_command",
        "Allow TARGET to apply the current config digest, if SOURCE applied it cleanly.",
    ),
    "scim": (
        "accesshive.cli._identities:scim",
        "The SCIM 2.0 service provider that identity providers (Okta, Entra...) push to.",
    ),
    "import": (
        "accesshive.cli._identities:import_",
        "Import identities from an HR export or a directory.",
    ),
    "audit": (
        "accesshive.cli._audit:audit",
        "The tamper-evident audit trail: verify, export, forward to a SIEM.",
    ),
    "vault": (
        "accesshive.cli._vault:vault",
        "The credential vault: encrypted non-human credentials.",
    ),
    "tasks": (
        "accesshive.cli._tasks:tasks",
        "Manual provisioning tasks for sources that a person provisions.",
    ),
    "cache": (
        "accesshive.cli._cache:cache_group",
        "The caches behind warm plans (parse, check, render, diff), outside the repository.",
    ),
    "console": (
        "accesshive.cli._console:console",
        "Serve the web console of the repository (-C DIR) and environment: identities and"
        " their steps, runs, reviews, orphans and drift, the audit trail.",
    ),
}
"""Each command: the module that defines it, imported when the command runs, and its
short help, what ``accesshive --help`` lists without importing any command module.

The short help is the first sentence of the command's docstring, as click would take it
(``tests/unit/test_cli_imports.py`` checks that they agree): change both together.
"""


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
