"""State: what the managed systems hold, as read by sync (``Snapshot``)."""

from accesshive.state.snapshot import (
    Snapshot,
    SnapshotAccount,
    SnapshotCredential,
    SourceSnapshot,
    load_snapshot,
)

__all__ = [
    "Snapshot",
    "SnapshotAccount",
    "SnapshotCredential",
    "SourceSnapshot",
    "load_snapshot",
]
