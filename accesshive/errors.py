"""The one error hierarchy of accesshive, and its stable exit codes.

Why one root: the CLI is the only place that catches errors; it catches
``AccessHiveError`` and prints ``Error: ...``, so anything else that escapes is
a bug and keeps its traceback.

::

    AccessHiveError                 exit 1
    ├── ConfigError                 exit 1  the config repository is invalid (carries diagnostics)
    ├── SnapshotError               exit 1  a snapshot file cannot be read or is malformed
    ├── PlanError                   exit 1  a plan cannot be computed (cycle, bad policy)
    │   └── GuardrailError          exit 3  the plan breaks a guardrail (mass deletes); needs a flag
    ├── PlanFileError               exit 1  a saved plan is unreadable, tampered with, or too new
    │   ├── StalePlanError          exit 1  the targets or config changed since the plan was made
    │   └── ForgedPlanError         exit 1  its orders are not what planning gives (edited file)
    ├── StoreError                  exit 1  the state store cannot be opened or upgraded
    │   └── LockedError             exit 4  another run holds the environment's lock
    ├── ConnectorError              exit 1  a target system refused or failed (``retryable`` says
    │                                       whether trying again may help)
    ├── SyncError                   exit 5  one or more sources could not be read (others were)
    ├── VaultError                  exit 1  the credential vault cannot open, store or find a secret
    ├── ApprovalError               exit 1  an approval cannot be made or read
    ├── PromotionError              exit 1  a config digest was not (or cannot be) promoted
    └── ImportProblem               exit 1  an import file has problems (nothing was changed)

Exit code 2 is reserved for ``plan --detailed-exitcode`` ("changes present")
and click's usage errors. ``apply`` exits 1 when an order failed, and 6 when
nothing failed but orders still wait (for approval, or for a manual task).
``report --fail-on ...`` exits 7 when it found what was named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from accesshive.redaction import redact

if TYPE_CHECKING:
    from accesshive.diagnostics import Diagnostic

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_GUARDRAIL = 3
EXIT_LOCKED = 4
EXIT_PARTIAL = 5
EXIT_WAITING = 6
EXIT_FINDINGS = 7


class AccessHiveError(Exception):
    """Root of every error a user may see; ``exit_code`` is what the CLI returns."""

    exit_code: int = EXIT_ERROR


class ConfigError(AccessHiveError):
    """The config repository has problems; every one of them is in ``diagnostics``."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        n = len(self.diagnostics)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found in the configuration")


class SnapshotError(AccessHiveError):
    """A snapshot (state read from the targets) cannot be used."""


class PlanError(AccessHiveError):
    """A plan cannot be computed from this configuration and snapshot."""


class GuardrailError(PlanError):
    """The plan would change more than the guardrail policy allows."""

    exit_code = EXIT_GUARDRAIL


class PlanFileError(AccessHiveError):
    """A saved plan file cannot be trusted or read."""


class StalePlanError(PlanFileError):
    """The targets changed since the plan was made, in a way that changes its orders."""


class ForgedPlanError(PlanFileError):
    """A plan whose orders are not what planning gives for the repository and snapshot
    it names: edited (even with its digest recomputed) or corrupted."""


class StoreError(AccessHiveError):
    """The state store cannot be used."""


class LockedError(StoreError):
    """Another run holds the environment's lock."""

    exit_code = EXIT_LOCKED


class ConnectorError(AccessHiveError):
    """A target system failed; ``retryable`` says whether trying again may help.

    ``message`` is the target's own words, kept so the user sees what the system said,
    with every resolved secret redacted (``accesshive.redaction``): this is where a
    target's text enters accesshive, whichever connector it comes through.
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(f"source '{source}': {message}")
        self.source = source
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds the target asked us to wait (HTTP Retry-After), if it said."""


class SyncError(AccessHiveError):
    """Some sources could not be read; their previous snapshots were kept."""

    exit_code = EXIT_PARTIAL


class VaultError(AccessHiveError):
    """The credential vault cannot do what was asked (never carries a secret)."""


class ApprovalError(AccessHiveError):
    """An approval cannot be signed, recorded or read."""


class PromotionError(AccessHiveError):
    """Promotion refused: the sandbox did not apply this exact config, or not cleanly."""


class ImportProblem(AccessHiveError):
    """An HR export or directory import cannot be used as it is; nothing was changed."""
