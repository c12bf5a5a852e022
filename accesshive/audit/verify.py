"""``audit verify``: the whole log checked against its chain, its signed checkpoints, the
witness file and the SIEM anchors, with what could and could not be checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accesshive.audit.chain import Problem, verify_chain
from accesshive.audit.checkpoints import KEY_VARIABLES, Checkpoint, check_checkpoints
from accesshive.store import Store


@dataclass
class LogReport:
    environment: str
    entries: int
    problems: list[Problem] = field(default_factory=list)
    checkpoints: int = 0
    latest: Checkpoint | None = None
    signatures_checked: bool = False
    witness: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "intact": self.intact,
            "entries": self.entries,
            "problems": [{"seq": p.seq, "what": p.what} for p in self.problems],
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest.to_json() if self.latest else None,
            "signatures_checked": self.signatures_checked,
            "witness_checked": self.witness,
            "warnings": self.warnings,
        }


def verify_log(store: Store) -> LogReport:
    entries = store.audit_entries()
    report = LogReport(store.environment, len(entries))
    chain = verify_chain(entries, store.anchors())
    if chain is not None:
        report.problems.append(chain)
    keys = store.audit_keys()
    checkpoints = store.checkpoints()
    witness = store.witness()
    if witness is not None:
        report.witness = True
        checkpoints.append(witness)
    report.checkpoints = len(checkpoints)
    report.latest = max(checkpoints, key=lambda c: (c.seq, c.at), default=None)
    report.signatures_checked = keys is not None
    heads = {e.seq: e.hash or "" for e in entries}
    last = entries[-1].seq if entries else 0
    report.problems.extend(check_checkpoints(heads, last, checkpoints, keys))
    if keys is None:
        report.warnings.append(
            f"no audit key (${' or $'.join(KEY_VARIABLES)}): checkpoints are not signed or "
            "their signatures not checked, so a cut tail or a rehashed chain written by "
            "someone who can write the store cannot be told from the real log"
        )
    elif not checkpoints and entries:
        report.warnings.append(
            "the log has no checkpoint yet (written before checkpoints, or without a key): "
            "its end is not pinned until the next entry is written with the key set"
        )
    elif report.latest is not None and report.latest.seq < last:
        report.warnings.append(
            f"entries after #{report.latest.seq} were written without the audit key and are "
            "not pinned by a checkpoint"
        )
    return report
