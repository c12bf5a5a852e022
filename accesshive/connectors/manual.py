"""The ``manual`` connector: a disconnected system that a person provisions by hand.

``read()`` imports the owner's latest CSV export (``connection.export``); its
columns are ``external_id``, ``enabled`` (true/false), ``grants`` (entitlements
separated by ``;``) and one column per account attribute. Orders for this
source are never executed: apply turns them into tasks for the source owner,
verified when a later export shows the change or the owner marks them done.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from accesshive.connectors.base import Capabilities, Connector, Page
from accesshive.state.snapshot import SnapshotAccount

_TRUE = {"true", "yes", "1", "enabled", "active", "y"}
REQUIRED_COLUMNS = ("external_id",)


class ManualConnector(Connector):
    kind = "manual"
    capabilities = Capabilities(order_kinds=frozenset(), executes_orders=False)

    @property
    def export_path(self) -> Path:
        raw = self.source.connection.get("export")
        if not raw:
            raise self.error("connection.export is not set: where is the owner's CSV export?")
        path = Path(str(raw))
        return path if path.is_absolute() else self.context.root / path

    def read(self) -> Iterator[Page]:
        path = self.export_path
        if not path.is_file():
            raise self.error(
                f"no export at {path}: ask the source owner ({self.source.owner or 'unknown'}) "
                "for a CSV export of the accounts"
            )
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise self.error(f"{path}: the export has no column {', '.join(missing)}")
                accounts = [self._account(path, n, row) for n, row in enumerate(reader, 2)]
        except UnicodeDecodeError as exc:
            raise self.error(f"{path} is not UTF-8 text ({exc.reason})") from exc
        except csv.Error as exc:
            raise self.error(f"{path}: {exc}") from exc
        yield Page(accounts, len(accounts))

    def _account(self, path: Path, line: int, row: dict[str, str | None]) -> SnapshotAccount:
        ext = (row.get("external_id") or "").strip()
        if not ext:
            raise self.error(f"{path}:{line}: external_id is empty")
        if None in row:
            raise self.error(f"{path}:{line}: more values than columns")
        grants = [g.strip() for g in (row.get("grants") or "").split(";") if g.strip()]
        attributes = {
            k: v
            for k, v in row.items()
            if k not in ("external_id", "enabled", "grants", "identity", "last_login") and v
        }
        return SnapshotAccount(
            external_id=ext,
            identity=(row.get("identity") or None),
            enabled=(row.get("enabled") or "true").strip().lower() in _TRUE,
            attributes=attributes,
            grants=sorted(grants),
            last_login=row.get("last_login") or None,
        )
