"""SQLite access for the CRM: connections, one atomic() transaction helper, the migration runner."""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sqlite3
import threading

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
_local = threading.local()


ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # every stored timestamp: UTC, so strings compare chronologically


def now_iso() -> str:
    """The current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (the format of every timestamp we store)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime(ISO_FORMAT)


def iso_after(seconds: float) -> str:
    """Now plus `seconds` (negative: in the past), as now_iso() writes it."""
    return (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=seconds)).strftime(ISO_FORMAT)


def iso_at(epoch: float) -> str:
    """A Unix time as now_iso() writes it."""
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime(ISO_FORMAT)


def db_path(data_dir: str) -> str:
    return os.path.join(data_dir, "crm.db")


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions via atomic()), WAL, foreign keys, Row rows."""
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextlib.contextmanager
def atomic(conn: sqlite3.Connection):
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); nested calls become SAVEPOINTs."""
    if conn.in_transaction:
        name = f"sp_{id(conn)}_{threading.get_ident()}_{getattr(_local, 'depth', 0)}"
        _local.depth = getattr(_local, "depth", 0) + 1
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            _local.depth -= 1
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def split_statements(sql: str) -> list[str]:
    """Split a SQL script into complete statements (sqlite3.complete_statement decides)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(l.strip().startswith("--") or not l.strip() for l in buffer.splitlines()):
        raise ValueError("incomplete SQL statement at the end of the script")
    return statements


def run_sql_file(cursor, path: str) -> None:
    """Execute every statement of a .sql file on `cursor`, without committing (unlike executescript)."""
    with open(path, encoding="utf-8") as handle:
        for statement in split_statements(handle.read()):
            cursor.execute(statement)


def apply_sql_migrations(cursor, directory: str, table: str = "schema_migrations") -> list[str]:
    """Apply each not-yet-recorded *.sql of `directory` in name order; returns the names applied.

    The files are idempotent themselves (IF NOT EXISTS); the record makes re-runs free.
    """
    if table not in ("schema_migrations", "email_schema_migrations"):
        raise ValueError("unknown migrations table")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in cursor.execute(f"SELECT name FROM {table}")}
    applied = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".sql") or name in done:
            continue
        run_sql_file(cursor, os.path.join(directory, name))
        cursor.execute(f"INSERT INTO {table} (name, applied_at) VALUES (?, ?)", (name, now_iso()))
        applied.append(name)
    return applied


def apply_core_migrations(cursor) -> list[str]:
    """The CRM's own schema (migrations/*.sql)."""
    return apply_sql_migrations(cursor, MIGRATIONS_DIR)


def add_column_if_missing(cursor, table: str, column: str, decl: str) -> bool:
    """Guarded ALTER TABLE … ADD COLUMN; True when the column was added."""
    if not (table.isidentifier() and column.isidentifier()):
        raise ValueError("table and column must be identifiers")
    existing = {row[1] for row in cursor.execute(f"PRAGMA table_info({table})")}
    if column in existing:
        return False
    cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    return True
