"""The ledger's tables, versioned by `PRAGMA user_version`: each migration is code, applied once, in order."""
# exercised by tests/ledger/test_refusals.py

from __future__ import annotations

import sqlite3

from migrate.ledger.lifecycle import LedgerError

# index i holds the statements that take a file from version i to i+1; append, never edit a shipped one
MIGRATIONS: list[tuple[str, ...]] = [
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE hosts (name TEXT PRIMARY KEY, role TEXT NOT NULL, state TEXT NOT NULL,
                               changed_at REAL NOT NULL, actor TEXT NOT NULL, note TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
                                run_id TEXT NOT NULL, host TEXT NOT NULL, step TEXT NOT NULL, before TEXT, after TEXT,
                                outcome TEXT NOT NULL, evidence TEXT NOT NULL DEFAULT '{}', note TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX events_by_host ON events (host, id)",
        # the journal is evidence for auditors: rows are added, never rewritten or removed
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
        """CREATE TABLE steps (id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, step TEXT NOT NULL,
                               run_id TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL, outcome TEXT,
                               intent TEXT NOT NULL DEFAULT '{}', evidence TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX steps_by_host ON steps (host, id)",
        """CREATE TABLE findings (setting TEXT PRIMARY KEY, status TEXT NOT NULL, changed_at REAL NOT NULL,
                                  actor TEXT NOT NULL, note TEXT NOT NULL DEFAULT '')""",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)


def upgrade(conn: sqlite3.Connection, where: str) -> None:
    """Bring the file to SCHEMA_VERSION inside the caller's write transaction; refuse a newer one."""
    current = version(conn, where)
    for statements in MIGRATIONS[current:]:
        for sql in statements:
            conn.execute(sql)
    if current != SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def version(conn: sqlite3.Connection, where: str) -> int:
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise LedgerError(f"the ledger has schema version {found}; this kubespray2talos knows up to {SCHEMA_VERSION}",
                          where=where, hint="use the kubespray2talos release that wrote it (or a newer one)")
    return found
