"""One function per CLI command, composing the pipeline stages.

Why a layer between the CLI and the stages: the CLI only parses options and
renders; what a command *does* is here, callable from tests and other tools.

This module only re-exports; each operation lives in the module of its command group:

- ``_common``: ``StoreRef``, ``load_and_expand``, ``with_pushed_identities``, ``bulk_work``
- ``planning``: ``validate_repository``, ``plan_repository``, ``record_plan``
- ``plan_command``: ``plan_command`` (``plan_repository`` through the plan cache)
- ``applying``: ``apply_plan``, ``identity_status``, ``retry_identity``
- ``state``: ``sync_repository``, ``state_report``, ``unlock``, ``list_tasks``, ``complete_task``
- ``reporting``: ``report_repository``
- ``promotion``: ``promote`` (and the check apply makes)
- ``identity_sources``: ``import_csv``, ``import_scim``, ``create_scim_token``,
  ``list_scim_tokens``, ``revoke_scim_token``, ``serve_scim``, ``run_leaver``, ``leaver_orders``

Imported lazily (PEP 562): a command imports the operation it runs and what that needs,
not every command's (``sync`` needs neither apply's executor nor planning's graph
library, which were a third of its CPU on the 2-core bench machine).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accesshive.operations._common import (
        Loaded,
        StoreRef,
        bulk_work,
        load_and_expand,
        with_pushed_identities,
    )
    from accesshive.operations.applying import (
        apply_plan,
        approval_verdicts,
        decline_verdicts,
        retry_identity,
    )
    from accesshive.operations.identity_sources import (
        create_scim_token,
        import_csv,
        import_scim,
        leaver_orders,
        list_scim_tokens,
        revoke_scim_token,
        run_leaver,
        serve_scim,
    )
    from accesshive.operations.plan_command import plan_command
    from accesshive.operations.planning import (
        Validation,
        plan_repository,
        record_plan,
        validate_repository,
    )
    from accesshive.operations.promotion import (
        Promotion,
        promote,
    )
    from accesshive.operations.reporting import (
        report_repository,
    )
    from accesshive.operations.state import (
        StateReport,
        complete_task,
        list_tasks,
        state_report,
        sync_repository,
        unlock,
    )
    from accesshive.operations.status import (
        IdentityStatus,
        Step,
        identity_status,
    )

_WHERE = {
    "Loaded": "accesshive.operations._common",
    "StoreRef": "accesshive.operations._common",
    "bulk_work": "accesshive.operations._common",
    "load_and_expand": "accesshive.operations._common",
    "with_pushed_identities": "accesshive.operations._common",
    "apply_plan": "accesshive.operations.applying",
    "approval_verdicts": "accesshive.operations.applying",
    "decline_verdicts": "accesshive.operations.applying",
    "retry_identity": "accesshive.operations.applying",
    "create_scim_token": "accesshive.operations.identity_sources",
    "import_csv": "accesshive.operations.identity_sources",
    "import_scim": "accesshive.operations.identity_sources",
    "leaver_orders": "accesshive.operations.identity_sources",
    "list_scim_tokens": "accesshive.operations.identity_sources",
    "revoke_scim_token": "accesshive.operations.identity_sources",
    "run_leaver": "accesshive.operations.identity_sources",
    "serve_scim": "accesshive.operations.identity_sources",
    "Validation": "accesshive.operations.planning",
    "plan_command": "accesshive.operations.plan_command",
    "plan_repository": "accesshive.operations.planning",
    "record_plan": "accesshive.operations.planning",
    "validate_repository": "accesshive.operations.planning",
    "Promotion": "accesshive.operations.promotion",
    "promote": "accesshive.operations.promotion",
    "report_repository": "accesshive.operations.reporting",
    "StateReport": "accesshive.operations.state",
    "complete_task": "accesshive.operations.state",
    "list_tasks": "accesshive.operations.state",
    "state_report": "accesshive.operations.state",
    "sync_repository": "accesshive.operations.state",
    "unlock": "accesshive.operations.state",
    "IdentityStatus": "accesshive.operations.status",
    "Step": "accesshive.operations.status",
    "identity_status": "accesshive.operations.status",
}
"""Each re-exported name → the module that defines it."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "IdentityStatus",
    "Loaded",
    "Promotion",
    "StateReport",
    "Step",
    "StoreRef",
    "Validation",
    "apply_plan",
    "approval_verdicts",
    "bulk_work",
    "complete_task",
    "create_scim_token",
    "decline_verdicts",
    "identity_status",
    "import_csv",
    "import_scim",
    "leaver_orders",
    "list_scim_tokens",
    "list_tasks",
    "load_and_expand",
    "plan_command",
    "plan_repository",
    "promote",
    "record_plan",
    "report_repository",
    "retry_identity",
    "revoke_scim_token",
    "run_leaver",
    "serve_scim",
    "state_report",
    "sync_repository",
    "unlock",
    "validate_repository",
    "with_pushed_identities",
]
