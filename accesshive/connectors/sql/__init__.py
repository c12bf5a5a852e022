"""The ``sql`` connector: accounts and grants kept in an application's own tables,
in a SQLite file or a PostgreSQL database.

The source declares the mapping::

    connection:
      url: sqlite:///wiki.db          # or postgresql://app@db.example/wiki
      password: ${env:WIKI_DB_PASSWORD}   # PostgreSQL only, optional
      sslmode: verify-full               # PostgreSQL only, optional: libpq's sslmode
      accounts_table: users
      grants_table: user_groups
      columns: {external_id: id, enabled: active, identity: accesshive_identity}
      grant_columns: {account: user_id, entitlement: group_name}
      attribute_columns: {login: username}   # attribute → column, default same name
      create_tables: false               # demos only: create the tables if missing

Identifiers come from config, so they are checked against a strict pattern
before any SQL is built; values always travel as parameters.

A SQLite file another process holds a lock on (an application mid-write, an ``sqlite3``
shell with an open transaction) is waited for ``BUSY_TIMEOUT`` seconds per attempt, then
reported as what it is: a lock, on that file, and how long it was waited for (never as
a permissions problem). The source's ``retry:`` settings (attempts, max_seconds) say how
many times apply tries again before it gives the source up for this run.
"""

from accesshive.connectors.sql._connector import SqlConnector

__all__ = ["SqlConnector"]
