"""One function per CLI command, composing the pipeline stages.

Why a layer between the CLI and the stages: the CLI only parses options and
renders; what a command *does* is here, callable from tests and other tools.

This module only re-exports; each operation lives in the module of its command group:

- ``_common``: ``StoreRef``, ``load_and_expand``, ``with_pushed_identities``, ``bulk_work``
- ``planning``: ``validate_repository``, ``plan_repository``, ``record_plan``
- ``applying``: ``apply_plan``, ``identity_status``, ``retry_identity``
- ``state``: ``sync_repository``, ``state_report``, ``unlock``, ``list_tasks``, ``complete_task``
- ``reporting``: ``report_repository``
- ``promotion``: ``promote`` (and the check apply makes)
- ``identity_sources``: ``import_csv``, ``import_scim``, ``create_scim_token``,
  ``list_scim_tokens``, ``revoke_scim_token``, ``serve_scim``, ``run_leaver``, ``leaver_orders``
"""

from __future__ import annotations

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
from accesshive.operations.planning import (
    Validation,
    plan_repository,
    record_plan,
    validate_repository,
)
from accesshive.operations.promotion import Promotion, promote
from accesshive.operations.reporting import report_repository
from accesshive.operations.state import (
    StateReport,
    complete_task,
    list_tasks,
    state_report,
    sync_repository,
    unlock,
)
from accesshive.operations.status import IdentityStatus, Step, identity_status

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
