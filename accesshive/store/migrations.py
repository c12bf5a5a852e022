"""The store's schema, as forward migrations.

Why migrations and not "create if missing": a store outlives the tool version
that created it; every upgrade must open an older store and keep its data.
Each migration records its version in the transaction that runs it, so a crash
mid-upgrade leaves the store at a complete version (PostgreSQL: one transaction per
migration, under an advisory lock; SQLite: the whole upgrade in one writer transaction,
which is also what makes processes opening a new store at once wait for each other).

``{serial}`` is the auto-incrementing primary key of the backend's dialect.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE snapshots (
                id {serial},
                environment TEXT NOT NULL,
                source TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                read_at TEXT NOT NULL,
                content TEXT NOT NULL
            )""",
            "CREATE INDEX snapshots_by_source ON snapshots (environment, source, id)",
            """CREATE TABLE plans (
                digest TEXT PRIMARY KEY,
                environment TEXT NOT NULL,
                created_at TEXT NOT NULL,
                config_digest TEXT NOT NULL,
                content TEXT NOT NULL
            )""",
            """CREATE TABLE runs (
                id {serial},
                environment TEXT NOT NULL,
                plan_digest TEXT NOT NULL,
                actor TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                status TEXT NOT NULL
            )""",
            """CREATE TABLE order_events (
                id {serial},
                run_id INTEGER NOT NULL,
                plan_digest TEXT NOT NULL,
                order_id TEXT NOT NULL,
                state TEXT NOT NULL,
                at TEXT NOT NULL,
                message TEXT
            )""",
            "CREATE INDEX order_events_by_order ON order_events (plan_digest, order_id, id)",
            """CREATE TABLE approvals (
                id {serial},
                plan_digest TEXT NOT NULL,
                order_id TEXT NOT NULL,
                content_digest TEXT NOT NULL,
                reviewer TEXT NOT NULL,
                signature TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
            """CREATE TABLE audit (
                seq {serial},
                environment TEXT NOT NULL,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                event TEXT NOT NULL,
                subject TEXT,
                details TEXT NOT NULL,
                prev_hash TEXT,
                hash TEXT
            )""",
            """CREATE TABLE locks (
                environment TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                pid INTEGER NOT NULL,
                host TEXT NOT NULL,
                since TEXT NOT NULL
            )""",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE tasks (
                id TEXT PRIMARY KEY,
                environment TEXT NOT NULL,
                plan_digest TEXT NOT NULL,
                order_id TEXT NOT NULL,
                source TEXT NOT NULL,
                assignee TEXT NOT NULL,
                description TEXT NOT NULL,
                content TEXT NOT NULL,
                state TEXT NOT NULL,
                created_at TEXT NOT NULL,
                done_at TEXT,
                done_by TEXT
            )""",
            "ALTER TABLE locks ADD COLUMN purpose TEXT NOT NULL DEFAULT 'apply'",
            "ALTER TABLE snapshots ADD COLUMN accounts INTEGER NOT NULL DEFAULT 0",
        ),
    ),
    (
        3,
        (
            # what an executed order produced (the external id of a created account), so
            # a resumed apply can hand it to the orders that depend on it
            "ALTER TABLE order_events ADD COLUMN result TEXT",
        ),
    ),
    (
        4,
        (
            # how far each audit consumer (a SIEM forwarder) got; also the anchor that
            # lets `audit verify` notice entries cut off the end of the log
            """CREATE TABLE audit_cursors (
                environment TEXT NOT NULL,
                name TEXT NOT NULL,
                seq INTEGER NOT NULL,
                hash TEXT,
                at TEXT NOT NULL,
                PRIMARY KEY (environment, name)
            )""",
        ),
    ),
    (
        5,
        (
            """CREATE TABLE promotions (
                id {serial},
                environment TEXT NOT NULL,
                config_digest TEXT NOT NULL,
                from_environment TEXT NOT NULL,
                plan_digest TEXT NOT NULL,
                actor TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
            """CREATE TABLE reports (
                id {serial},
                environment TEXT NOT NULL,
                at TEXT NOT NULL,
                totals TEXT NOT NULL
            )""",
            """CREATE TABLE sightings (
                environment TEXT NOT NULL,
                source TEXT NOT NULL,
                external_id TEXT NOT NULL,
                first_seen TEXT NOT NULL,
                PRIMARY KEY (environment, source, external_id)
            )""",
        ),
    ),
    (
        6,
        (
            # what identity providers pushed to `accesshive scim serve`, and their tokens
            """CREATE TABLE idp_records (
                environment TEXT NOT NULL,
                source TEXT NOT NULL,
                resource_type TEXT NOT NULL,
                id TEXT NOT NULL,
                body TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (environment, source, resource_type, id)
            )""",
            """CREATE TABLE idp_tokens (
                environment TEXT NOT NULL,
                source TEXT NOT NULL,
                hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                revoked_at TEXT
            )""",
        ),
    ),
    (
        7,
        (
            # the audit log's head, signed with a key that is not in the store, at every
            # append: a log cut short of, or rewritten below, a checkpoint is found
            """CREATE TABLE audit_checkpoints (
                id {serial},
                environment TEXT NOT NULL,
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL,
                at TEXT NOT NULL,
                key_id TEXT NOT NULL,
                signature TEXT NOT NULL
            )""",
            "CREATE INDEX audit_checkpoints_by_seq ON audit_checkpoints (environment, seq)",
        ),
    ),
    (
        8,
        (
            # status: the latest outcome of each order id across every plan and run
            "CREATE INDEX order_events_by_order_id ON order_events (order_id, id)",
            # manual tasks: one per environment and order (a hash of the source and what
            # must be done), reused by every plan that still needs it; closed as
            # `cancelled`, with the reason, once an apply no longer needs it
            """CREATE TABLE tasks_by_order (
                id TEXT NOT NULL,
                environment TEXT NOT NULL,
                plan_digest TEXT NOT NULL,
                order_id TEXT NOT NULL,
                source TEXT NOT NULL,
                assignee TEXT NOT NULL,
                description TEXT NOT NULL,
                content TEXT NOT NULL,
                state TEXT NOT NULL,
                created_at TEXT NOT NULL,
                done_at TEXT,
                done_by TEXT,
                reason TEXT,
                PRIMARY KEY (environment, id)
            )""",
            "INSERT INTO tasks_by_order (id, environment, plan_digest, order_id, source, "
            "assignee, description, content, state, created_at, done_at, done_by) "
            "SELECT id, environment, plan_digest, order_id, source, assignee, description, "
            "content, state, created_at, done_at, done_by FROM tasks",
            "DROP TABLE tasks",
            "ALTER TABLE tasks_by_order RENAME TO tasks",
            # the open tasks several plans made for the same work: the first one stays
            """UPDATE tasks SET state = 'cancelled', reason = 'a duplicate of the same work''s
                earlier task (tasks are now one per order)' WHERE state = 'open' AND EXISTS (
                SELECT 1 FROM tasks t WHERE t.environment = tasks.environment
                AND t.order_id = tasks.order_id AND t.state = 'open'
                AND (t.created_at < tasks.created_at
                     OR (t.created_at = tasks.created_at AND t.id < tasks.id)))""",
            "UPDATE tasks SET id = 'T-' || order_id WHERE state = 'open'",
        ),
    ),
    (
        9,
        (
            # declines (and their withdrawals) read from a pull request: a "changes
            # requested" review or a `/decline ORDER-ID reason` comment; they hold for
            # every plan of the environment with the same order content
            """CREATE TABLE declines (
                id {serial},
                environment TEXT NOT NULL,
                plan_digest TEXT NOT NULL,
                order_id TEXT NOT NULL,
                content_digest TEXT NOT NULL,
                reviewer TEXT NOT NULL,
                reason TEXT NOT NULL,
                withdrawn INTEGER NOT NULL,
                evidence TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX declines_by_order ON declines (environment, order_id)",
        ),
    ),
    (
        10,
        (
            # bearer tokens of `scim serve` get an id (to list and revoke them by), an
            # optional expiry and the time they were last used; the hash stays the only
            # trace of the token itself
            """CREATE TABLE idp_tokens_v10 (
                id {serial},
                environment TEXT NOT NULL,
                source TEXT NOT NULL,
                hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT,
                revoked_at TEXT,
                last_used_at TEXT
            )""",
            "INSERT INTO idp_tokens_v10 (environment, source, hash, created_at, revoked_at) "
            "SELECT environment, source, hash, created_at, revoked_at FROM idp_tokens "
            "ORDER BY created_at",
            "DROP TABLE idp_tokens",
            "ALTER TABLE idp_tokens_v10 RENAME TO idp_tokens",
            "CREATE INDEX idp_tokens_by_hash ON idp_tokens (hash)",
        ),
    ),
    (
        11,
        (
            # the unique values (userName) of pushed records, one row each: replicas of
            # `scim serve` sharing a store check uniqueness and find a user by userName
            # in the store itself; the primary key refuses a duplicate even then
            """CREATE TABLE idp_unique (
                environment TEXT NOT NULL,
                source TEXT NOT NULL,
                urn TEXT NOT NULL,
                value TEXT NOT NULL,
                resource_type TEXT NOT NULL,
                id TEXT NOT NULL,
                PRIMARY KEY (environment, source, urn, value)
            )""",
            "CREATE INDEX idp_unique_by_record ON idp_unique (environment, source, "
            "resource_type, id)",
        ),
    ),
    (
        12,
        (
            # one row per notification event and target: an event is delivered once,
            # and one that could not be delivered is kept (with its payload, which holds
            # no secret) so the next run sends it again
            """CREATE TABLE notifications (
                environment TEXT NOT NULL,
                target TEXT NOT NULL,
                event_key TEXT NOT NULL,
                event TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                payload TEXT NOT NULL,
                created_at TEXT NOT NULL,
                sent_at TEXT,
                last_error TEXT,
                PRIMARY KEY (environment, target, event_key)
            )""",
        ),
    ),
    (
        13,
        (
            # what a targeted run (apply --source/--identity) was targeted at, as JSON
            # ({"source": ...} / {"identity": ...}); NULL for a run of the whole plan
            "ALTER TABLE runs ADD COLUMN targeted TEXT",
        ),
    ),
    (
        14,
        (
            # the review and classification policies in force: those of the last apply
            # that completed its plan (``policies_in_force``), one row per environment
            """CREATE TABLE policies_in_force (
                environment TEXT PRIMARY KEY,
                digest TEXT NOT NULL,
                content TEXT NOT NULL,
                plan_digest TEXT NOT NULL,
                recorded_at TEXT NOT NULL
            )""",
        ),
    ),
)

LATEST = MIGRATIONS[-1][0]
