"""The ``manual`` connector: a disconnected system that a person provisions by hand.

``read()`` imports the owner's latest CSV export (``connection.export``); its
columns are ``external_id``, ``enabled`` (true/false), ``grants`` (entitlements
separated by ``;``) and one column per account attribute; optionally ``identity`` (whose
account it is) and, on a source with account kinds, ``account_kind`` (which of that
identity's accounts: ``admin``...; empty for the default one), which together are the
account's link (``identity#kind``, also accepted as written in ``identity``). Orders for this
source are never executed: apply turns them into tasks for the source owner,
verified when a later export shows the change or the owner marks them done.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from accesshive.config.account_kinds import DEFAULT_KIND, SEPARATOR, account_link
from accesshive.config.secrets import REFERENCE
from accesshive.connectors.base import Capabilities, Connector, Page
from accesshive.connectors.references import resolve
from accesshive.repo_paths import outside_the_repository
from accesshive.state.snapshot import SnapshotAccount

_TRUE = {"true", "yes", "1", "enabled", "active", "y"}
REQUIRED_COLUMNS = ("external_id",)
LINK_COLUMNS = ("external_id", "enabled", "grants", "identity", "account_kind", "last_login")
"""Columns that say what an account is, not attributes of it."""


class ManualConnector(Connector):
    kind = "manual"
    capabilities = Capabilities(order_kinds=frozenset(), executes_orders=False)

    @property
    def export_path(self) -> Path:
        return self._export()[0]

    def _export(self) -> tuple[Path, str]:
        """Where the export is, and how messages name it: the path as the configuration
        writes it, or the ``${env:NAME}`` reference itself, never what it resolves to. A
        pull request chooses which variable is read, so its value may be any secret the
        job holds (a token, the master key): echoed in an error it would reach the PR's
        check, ``--format json``, the report and the audit log."""
        raw = self.source.connection.get("export")
        if not raw:
            raise self.error("connection.export is not set: where is the owner's CSV export?")
        written = str(raw).strip()
        match = REFERENCE.match(written)
        if match and match.group(1) != "env":
            raise self.error(
                f"connection.export is {written}: an export path is given literally or as "
                "${env:NAME}; a ${file:..} or ${vault:..} reference would use a secret's "
                "content as the path"
            )
        if match:  # ${env:NAME}: the runner says where (a path, not a secret)
            where = resolve(written, self.source_id, self.context.root, os.environ, secret=False)
            return Path(str(where)), written
        root = self.context.root
        how = outside_the_repository(root, str(raw))
        if how is not None:
            raise self.error(
                f"connection.export must be a file inside the repository ({how}): a pull "
                "request could otherwise make accesshive read any file the runner can. Give "
                "an export kept elsewhere as ${env:NAME}, set where accesshive runs"
            )
        return root / str(raw), str(raw)

    def read(self) -> Iterator[Page]:
        path, shown = self._export()
        if not path.is_file():
            raise self.error(
                f"no export at {shown}: ask the source owner ({self.source.owner or 'unknown'}) "
                "for a CSV export of the accounts"
            )
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise self.error(f"{shown}: the export has no column {', '.join(missing)}")
                accounts = [self._account(shown, n, row) for n, row in enumerate(reader, 2)]
        except UnicodeDecodeError as exc:
            raise self.error(f"{shown} is not UTF-8 text ({exc.reason})") from exc
        except csv.Error as exc:
            raise self.error(f"{shown}: {exc}") from exc
        except OSError as exc:  # its words, not str(exc): that names the resolved path
            raise self.error(f"cannot read {shown} ({exc.strerror})") from exc
        yield Page(accounts, len(accounts))

    def _account(self, path: str, line: int, row: dict[str, str | None]) -> SnapshotAccount:
        ext = (row.get("external_id") or "").strip()
        if not ext:
            raise self.error(f"{path}:{line}: external_id is empty")
        if None in row:
            raise self.error(f"{path}:{line}: more values than columns")
        grants = [g.strip() for g in (row.get("grants") or "").split(";") if g.strip()]
        attributes = {k: v for k, v in row.items() if k not in LINK_COLUMNS and v}
        identity = (row.get("identity") or "").strip()
        kind = (row.get("account_kind") or "").strip()
        if kind and not identity:
            raise self.error(f"{path}:{line}: account_kind '{kind}' without an identity")
        if kind and SEPARATOR in identity:
            raise self.error(
                f"{path}:{line}: give the kind once: in identity ('{identity}') or in account_kind"
            )
        return SnapshotAccount(
            external_id=ext,
            identity=account_link(identity, kind or DEFAULT_KIND) if identity else None,
            enabled=(row.get("enabled") or "true").strip().lower() in _TRUE,
            attributes=attributes,
            grants=sorted(grants),
            last_login=row.get("last_login") or None,
        )
