"""The ``sql`` connector itself (the package docstring says what a source declares)."""

from __future__ import annotations

import re
import shlex
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from accesshive.config.model import Source
from accesshive.config.secrets import is_reference
from accesshive.config.validate_paths import sqlite_path
from accesshive.connectors.base import Capabilities, Connector, ConnectorContext, Created, Page
from accesshive.connectors.references import resolve
from accesshive.connectors.sql import _failures
from accesshive.repo_paths import outside_the_repository
from accesshive.state.snapshot import SnapshotAccount

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class SqlConnector(Connector):
    kind = "sql"
    capabilities = Capabilities(page_size=1000)

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        conn = source.connection
        cols = dict(conn.get("columns") or {})
        gcols = dict(conn.get("grant_columns") or {})
        self.accounts_table = self._ident(conn.get("accounts_table", "accounts"))
        self.grants_table = self._ident(conn.get("grants_table", "grants"))
        self.id_col = self._ident(cols.get("external_id", "id"))
        self.enabled_col = self._ident(cols.get("enabled", "enabled"))
        self.identity_col = self._ident(cols["identity"]) if cols.get("identity") else None
        self.g_account = self._ident(gcols.get("account", "account_id"))
        self.g_entitlement = self._ident(gcols.get("entitlement", "entitlement"))
        attr_cols = dict(conn.get("attribute_columns") or {})
        managed = sorted({*source.managed_attributes, *source.account.schema_})
        self.attr_cols = {a: self._ident(attr_cols.get(a, a)) for a in managed}
        self._url_setting = conn.get("url", "")
        self._db: Any = None
        self._pg = False  # known once connected: the url may be a ${env:}/${file:} reference
        self._path: Path | None = None  # the SQLite file, once known
        self._locked_for = 0.0
        """Seconds waited for a lock since the last statement that got through."""

    def _ident(self, name: Any) -> str:
        if not isinstance(name, str) or not _IDENT.match(name):
            raise self.error(f"'{name}' is not a plain table or column name")
        return f'"{name}"'

    # ------------------------------------------------------------------ transport

    def _resolved_url(self) -> str:
        """``connection.url``, its secret reference resolved now (never kept in config,
        plans or messages); refused unless it names SQLite or PostgreSQL, rather than
        taken as a file name (a fresh, empty database would mean every account missing)."""
        url = str(
            resolve(self._url_setting, self.source_id, self.context.root, self.context.environ)
            or ""
        )
        if not url:
            raise self.error("connection.url is missing (sqlite:///path or postgresql://)")
        if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise self.error(
                "connection.url must be sqlite:///PATH or postgresql://...; the value given "
                "(not shown: it may hold a password) is neither"
            )
        return url

    def _connect(self) -> Any:
        if self._db is not None:
            return self._db
        url = self._resolved_url()
        self._pg = url.startswith(("postgresql://", "postgres://"))
        if self._pg:
            import psycopg

            password = resolve(
                self.source.connection.get("password"),
                self.source_id,
                self.context.root,
                self.context.environ,
            )
            try:
                tls = self.source.connection.get("sslmode")  # libpq's, e.g. verify-full
                self._db = psycopg.connect(
                    url,
                    password=password,
                    autocommit=True,
                    connect_timeout=10,
                    **({"sslmode": str(tls)} if tls else {}),  # type: ignore[arg-type]
                )
            except psycopg.OperationalError as exc:
                raise self.error(
                    f"cannot connect: {_failures.first_line(exc)}", retryable=True
                ) from exc
        else:
            raw = sqlite_path(url) or ""
            if not raw:
                raise self.error("connection.url is missing (sqlite:///path or postgresql://)")
            self._inside_the_repository(raw)
            path = Path(raw) if Path(raw).is_absolute() else self.context.root / raw
            if not path.exists() and not self._create_tables_wanted():
                raise self.error(f"database {path} does not exist")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._path = path
            # used by one thread at a time (see apply.pool), not always the one that opened it
            started = time.monotonic()
            try:
                self._db = sqlite3.connect(
                    path,
                    isolation_level=None,
                    timeout=_failures.BUSY_TIMEOUT,
                    check_same_thread=False,
                )
                self._db.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # opens the file
            except sqlite3.Error as exc:
                if self._db is not None:
                    self._db.close()
                self._db = None
                if _failures.is_lock(exc):
                    raise self._locked(time.monotonic() - started) from exc
                raise self.error(
                    f"cannot open the database {path}: {exc}; check that it is an SQLite "
                    "file this user can read and write"
                ) from exc
        if self._create_tables_wanted():
            started = time.monotonic()
            try:
                self._create_tables()
            except sqlite3.Error as exc:
                if _failures.is_lock(exc):
                    raise self._locked(time.monotonic() - started) from exc
                raise _failures.classify(exc, self.error) from exc
        return self._db

    def _inside_the_repository(self, raw: str) -> None:
        """A SQLite file written in the configuration must be in the repository: a pull
        request could otherwise have accesshive open (with ``create_tables``, create and
        write) any file the runner can. A url given as a reference (``${env:NAME}``) is
        named by the runner, and may lead anywhere (as ``validate`` says too)."""
        if is_reference(str(self._url_setting).strip()):
            return
        how = outside_the_repository(self.context.root, raw)
        if how is not None:
            raise self.error(
                f"connection.url must name an SQLite file inside the repository ({how}): a "
                "pull request could otherwise make accesshive read, create or write any file "
                "the runner can. Give a database kept elsewhere as ${env:NAME}, set where "
                "accesshive runs; nothing was opened"
            )

    def _create_tables_wanted(self) -> bool:
        """``connection.create_tables``, a boolean only: YAML 1.2 reads ``off`` or ``no``
        as text, which would otherwise count as true and create tables in a database
        the application owns."""
        value = self.source.connection.get("create_tables", False)
        if not isinstance(value, bool):
            raise self.error(
                f"connection.create_tables must be true or false, not {value!r} (YAML 1.2 "
                "reads yes/no/on/off as text); nothing was created"
            )
        return value

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        db = self._connect()
        started = time.monotonic()
        try:
            if self._pg:
                cur = db.execute(sql.replace("?", "%s"), tuple(params))
                return list(cur.fetchall()) if cur.description else []
            rows = list(db.execute(sql, tuple(params)).fetchall())
        except Exception as exc:
            if _failures.is_lock(exc):
                raise self._locked(time.monotonic() - started) from exc
            raise _failures.classify(exc, self.error) from exc
        self._locked_for = 0.0
        return rows

    def _locked(self, waited: float) -> Exception:
        """The error for a SQLite file another process holds a lock on: which file, how
        long this connector waited in all, and what to do (retryable: a lock passes)."""
        self._locked_for += waited
        seconds = f"{self._locked_for:.1f}" if self._locked_for < 10 else f"{self._locked_for:.0f}"
        return self.error(
            f"another process holds a lock on the database {self._path} (waited {seconds} s "
            "for it); let what has it open for writing finish or close it (the application, "
            f"or an sqlite3 shell in a transaction: `fuser {shlex.quote(str(self._path))}` "
            "lists them), then run the command again",
            retryable=True,
        )

    def _create_tables(self) -> None:
        key = "SERIAL PRIMARY KEY" if self._pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
        cols = [f"{self.id_col} {key}", f"{self.enabled_col} BOOLEAN NOT NULL DEFAULT TRUE"]
        if self.identity_col:
            cols.append(f"{self.identity_col} TEXT")
        cols += [f"{c} TEXT" for c in self.attr_cols.values()]
        unique = self.attr_cols.get(self.source.account.name_attribute or "")
        if unique:
            cols.append(f"UNIQUE ({unique})")
        db = self._db
        db.execute(f"CREATE TABLE IF NOT EXISTS {self.accounts_table} ({', '.join(cols)})")
        lookups = {self.source.account.name_attribute, *self.source.account.correlation}
        for attr in sorted(a for a in lookups if a and a in self.attr_cols):
            column = self.attr_cols[attr]
            index = f'"{self.accounts_table.strip(chr(34))}_{attr}_lower"'
            db.execute(
                f"CREATE INDEX IF NOT EXISTS {index} ON {self.accounts_table} (LOWER({column}))"
            )
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {self.grants_table} ({self.g_account} INTEGER NOT NULL, "
            f"{self.g_entitlement} TEXT NOT NULL, PRIMARY KEY ({self.g_account}, "
            f"{self.g_entitlement}))"
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ------------------------------------------------------------------ reading

    def _select(self) -> str:
        cols = [self.id_col, self.enabled_col, *(self.attr_cols.values())]
        if self.identity_col:
            cols.append(self.identity_col)
        return f"SELECT {', '.join(cols)} FROM {self.accounts_table}"

    def _account(self, row: Sequence[Any], grants: list[str]) -> SnapshotAccount:
        attrs = {
            attr: row[2 + i] for i, attr in enumerate(self.attr_cols) if row[2 + i] is not None
        }
        return SnapshotAccount(
            external_id=str(row[0]),
            identity=row[-1] if self.identity_col else None,
            enabled=bool(row[1]),
            attributes=attrs,
            grants=sorted(grants),
        )

    def read(self) -> Iterator[Page]:
        total = int(self._run(f"SELECT COUNT(*) FROM {self.accounts_table}")[0][0])
        grants: dict[str, list[str]] = {}
        for account, ent in self._run(
            f"SELECT {self.g_account}, {self.g_entitlement} FROM {self.grants_table}"
        ):
            grants.setdefault(str(account), []).append(str(ent))
        size = self.capabilities.page_size
        last: Any = None
        while True:
            where = f" WHERE {self.id_col} > ?" if last is not None else ""
            rows = self._run(
                f"{self._select()}{where} ORDER BY {self.id_col} LIMIT {size}",
                (last,) if last is not None else (),
            )
            if not rows:
                return
            last = rows[-1][0]
            yield Page([self._account(r, grants.get(str(r[0]), [])) for r in rows], total)
            if len(rows) < size:
                return

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        rows = self._run(f"{self._select()} WHERE {self.id_col} = ?", (self._key(external_id),))
        if not rows:
            return None
        grants = [
            str(r[0])
            for r in self._run(
                f"SELECT {self.g_entitlement} FROM {self.grants_table} WHERE {self.g_account} = ?",
                (self._key(external_id),),
            )
        ]
        return self._account(rows[0], grants)

    def _key(self, external_id: str) -> Any:
        return int(external_id) if external_id.isdigit() else external_id

    # ------------------------------------------------------------------ orders

    def _find(self, attributes: Mapping[str, Any]) -> str | None:
        for attr in [*self.source.account.correlation, self.source.account.name_attribute]:
            if attr and attr in self.attr_cols and attributes.get(attr) not in (None, ""):
                rows = self._run(
                    f"SELECT {self.id_col} FROM {self.accounts_table} "
                    f"WHERE LOWER({self.attr_cols[attr]}) = LOWER(?)",
                    (str(attributes[attr]),),
                )
                if len(rows) == 1:
                    return str(rows[0][0])
        return None

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        existing = self._find(attributes)
        if existing is not None:
            return Created(existing, adopted=True)
        cols = [self.enabled_col, *(self.attr_cols[a] for a in attributes if a in self.attr_cols)]
        values: list[Any] = [
            enabled,
            *(_db_value(v) for a, v in attributes.items() if a in self.attr_cols),
        ]
        if self.identity_col:
            cols.append(self.identity_col)
            values.append(identity)
        marks = ", ".join("?" for _ in cols)
        sql = f"INSERT INTO {self.accounts_table} ({', '.join(cols)}) VALUES ({marks})"
        try:
            rows = self._run(sql + f" RETURNING {self.id_col}", values)
        except Exception as exc:
            again = self._find(attributes)
            if again is not None:  # a concurrent creator won: adopt its account
                return Created(again, adopted=True)
            raise exc
        return Created(str(rows[0][0]))

    def _require(self, external_id: str) -> Any:
        key = self._key(external_id)
        if not self._run(f"SELECT 1 FROM {self.accounts_table} WHERE {self.id_col} = ?", (key,)):
            raise self.error(f"no account with {self.id_col.strip(chr(34))} = {external_id}")
        return key

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        self._require(external_id)
        sets = [
            (self.attr_cols[a], _db_value(v)) for a, v in attributes.items() if a in self.attr_cols
        ]
        if not sets:
            return
        sql = f"UPDATE {self.accounts_table} SET {', '.join(f'{c} = ?' for c, _ in sets)} "
        sql += f"WHERE {self.id_col} = ?"
        self._run(sql, [v for _, v in sets] + [self._key(external_id)])

    def link_account(self, external_id: str, link: str) -> None:
        """Write the identity column of an adopted account (``columns.identity``)."""
        if not self.identity_col:
            raise self.error("columns.identity is not set: there is no column for the link")
        key = self._require(external_id)
        self._run(
            f"UPDATE {self.accounts_table} SET {self.identity_col} = ? WHERE {self.id_col} = ?",
            (link, key),
        )

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        self._require(external_id)
        self._run(
            f"UPDATE {self.accounts_table} SET {self.enabled_col} = ? WHERE {self.id_col} = ?",
            (enabled, self._key(external_id)),
        )

    def delete_account(self, external_id: str) -> None:
        key = self._key(external_id)
        self._run(f"DELETE FROM {self.grants_table} WHERE {self.g_account} = ?", (key,))
        self._run(f"DELETE FROM {self.accounts_table} WHERE {self.id_col} = ?", (key,))

    def grant(self, external_id: str, entitlement: str) -> None:
        key = self._require(external_id)
        held = self._run(
            f"SELECT 1 FROM {self.grants_table} WHERE {self.g_account} = ? "
            f"AND {self.g_entitlement} = ?",
            (key, entitlement),
        )
        if held:
            return
        self._run(
            f"INSERT INTO {self.grants_table} ({self.g_account}, {self.g_entitlement}) "
            "VALUES (?, ?)",
            (key, entitlement),
        )

    def revoke(self, external_id: str, entitlement: str) -> None:
        self._run(
            f"DELETE FROM {self.grants_table} WHERE {self.g_account} = ? "
            f"AND {self.g_entitlement} = ?",
            (self._key(external_id), entitlement),
        )


def _db_value(value: Any) -> Any:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value
