"""Core migrations: recorded, idempotent, applied twice to a copy of a populated database."""
import shutil
import sqlite3

import pytest

from backend import db
from backend.server import init_db
from migration_check import snapshot


def populate(path):
    conn = db.connect(path)
    with db.atomic(conn):
        conn.execute("INSERT INTO users (email, name, role, created_at) VALUES ('a@x.io', 'A', 'admin', '2026-01-01T00:00:00Z')")
        conn.execute("INSERT INTO investors (name, firm, created_at, updated_at) VALUES ('I', 'F', 'x', 'x')")
        conn.execute("INSERT INTO investor_emails (investor_id, email) VALUES (1, 'i@f.vc')")
        conn.execute("INSERT INTO investor_domains (investor_id, domain) VALUES (1, 'f.vc')")
        conn.execute("INSERT INTO grid_notes (investor_id, body, author_user_id, created_at) VALUES (1, 'n', 1, 'x')")
        # 0006: an investor's people, one of them holding the investor's address
        conn.execute("INSERT INTO investor_people (investor_id, name, created_at, updated_at) VALUES (1, 'P', 'x', 'x')")
        conn.execute("INSERT INTO investor_person_emails (email_id, person_id) VALUES (1, 1)")
    conn.close()


def test_every_migration_applied_twice_to_a_populated_copy_changes_nothing(tmp_path):
    original = str(tmp_path / "crm.db")
    init_db(original)
    populate(original)
    copy = str(tmp_path / "copy.db")
    shutil.copyfile(original, copy)
    before = snapshot(copy)
    init_db(copy)
    init_db(copy)
    assert snapshot(copy) == before
    # And the files themselves are idempotent, not only the record that skips them:
    conn = db.connect(copy)
    cursor = conn.cursor()
    for name in sorted(__import__("os").listdir(db.MIGRATIONS_DIR)):
        if name.endswith(".sql"):
            db.run_sql_file(cursor, f"{db.MIGRATIONS_DIR}/{name}")
            db.run_sql_file(cursor, f"{db.MIGRATIONS_DIR}/{name}")
    conn.close()
    assert snapshot(copy) == before


def test_migrations_are_recorded_in_order(tmp_path):
    path = str(tmp_path / "crm.db")
    init_db(path)
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")]
    conn.close()
    assert names == sorted(names) and names[:2] == ["0001_users_auth.sql", "0002_investors.sql"]


def test_a_failing_migration_rolls_back_whole(tmp_path, monkeypatch):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_ok.sql").write_text("CREATE TABLE IF NOT EXISTS t1 (x INTEGER);\n")
    (migrations / "0002_bad.sql").write_text("CREATE TABLE IF NOT EXISTS t2 (x INTEGER);\nNOT SQL AT ALL;\n")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", str(migrations))
    path = str(tmp_path / "crm.db")
    with pytest.raises(sqlite3.OperationalError):
        init_db(path)
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert not tables & {"t1", "t2", "schema_migrations"}


def test_split_statements_handles_semicolons_in_strings_and_comments():
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');\nINSERT INTO a VALUES ('b;c');\n"
    assert db.split_statements(sql) == ["-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');",
                                        "INSERT INTO a VALUES ('b;c');"]
    with pytest.raises(ValueError):
        db.split_statements("CREATE TABLE a (x")


def test_add_column_if_missing_is_guarded(tmp_path):
    conn = db.connect(str(tmp_path / "x.db"))
    conn.execute("CREATE TABLE t (a INTEGER)")
    assert db.add_column_if_missing(conn.cursor(), "t", "b", "TEXT") is True
    assert db.add_column_if_missing(conn.cursor(), "t", "b", "TEXT") is False
    with pytest.raises(ValueError):
        db.add_column_if_missing(conn.cursor(), "t; DROP TABLE t", "c", "TEXT")


def test_atomic_commits_rolls_back_and_nests(tmp_path):
    conn = db.connect(str(tmp_path / "x.db"))
    conn.execute("CREATE TABLE t (a INTEGER)")
    with db.atomic(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError):
        with db.atomic(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError
    with db.atomic(conn):
        conn.execute("INSERT INTO t VALUES (3)")
        with pytest.raises(RuntimeError):
            with db.atomic(conn):
                conn.execute("INSERT INTO t VALUES (4)")
                raise RuntimeError
        with db.atomic(conn):
            conn.execute("INSERT INTO t VALUES (5)")
    assert [r[0] for r in conn.execute("SELECT a FROM t ORDER BY a")] == [1, 3, 5]
    assert not conn.in_transaction
