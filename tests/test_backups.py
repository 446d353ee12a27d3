"""Online backups, retention, restore round-trip, the scheduler."""
import os
import sqlite3
import time

import pytest

from backend import backups
from backend.server import init_db
from conftest import manage


def notes(path):
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT body FROM grid_notes ORDER BY id")]
    finally:
        conn.close()


def add_note(path, body):
    conn = sqlite3.connect(path)
    with conn:
        if conn.execute("SELECT COUNT(*) FROM investors").fetchone()[0] == 0:
            conn.execute("INSERT INTO investors (name, created_at, updated_at) VALUES ('I', 'x', 'x')")
        conn.execute("INSERT INTO grid_notes (investor_id, body, created_at) VALUES (1, ?, 'x')", (body,))
    conn.close()


def test_backup_and_restore_round_trip(tmp_path):
    db_path, backup_dir = str(tmp_path / "crm.db"), str(tmp_path / "backups")
    init_db(db_path)
    add_note(db_path, "before")
    backup = backups.backup_now(db_path, backup_dir, keep=3)
    assert oct(os.stat(backup).st_mode & 0o777) == "0o600"
    add_note(db_path, "after")
    kept = backups.restore_backup(db_path, backup)
    assert notes(db_path) == ["before"]
    assert notes(kept) == ["before", "after"]  # the replaced database is kept, nothing lost


def test_backup_while_a_writer_holds_a_transaction(tmp_path):
    db_path = str(tmp_path / "crm.db")
    init_db(db_path)
    add_note(db_path, "committed")
    writer = sqlite3.connect(db_path)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO grid_notes (investor_id, body, created_at) VALUES (1, 'uncommitted', 'x')")
    backup = backups.backup_now(db_path, str(tmp_path / "b"), keep=2)
    writer.rollback()
    writer.close()
    assert notes(backup) == ["committed"]


def test_retention_keeps_the_newest(tmp_path):
    db_path, backup_dir = str(tmp_path / "crm.db"), str(tmp_path / "backups")
    init_db(db_path)
    made = [backups.backup_now(db_path, backup_dir, keep=2) for _ in range(4)]
    assert backups.list_backups(backup_dir) == made[-2:]


def test_restore_refuses_a_corrupt_file(tmp_path):
    db_path = str(tmp_path / "crm.db")
    init_db(db_path)
    add_note(db_path, "precious")
    bad = tmp_path / "backups" / "crm-20260101T000000Z.db"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(backups.BackupError):
        backups.restore_backup(db_path, str(bad))
    assert notes(db_path) == ["precious"]


def test_scheduler_takes_backups_and_stops(tmp_path):
    db_path, backup_dir = str(tmp_path / "crm.db"), str(tmp_path / "backups")
    init_db(db_path)
    scheduler = backups.start_backup_scheduler(db_path, backup_dir, interval_min=0.2 / 60, keep=2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(backups.list_backups(backup_dir)) < 2:
        time.sleep(0.05)
    scheduler.stop()
    scheduler.join(timeout=5)
    assert not scheduler.is_alive()
    assert len(backups.list_backups(backup_dir)) == 2


def test_manage_backup_now_and_restore(tmp_path):
    data = str(tmp_path / "data")
    manage(data, "create-user", "--email", "a@x.io", "--name", "A", "--role", "admin", "--password", "pw")
    path = manage(data, "backup-now").stdout.strip()
    manage(data, "create-user", "--email", "b@x.io", "--name", "B", "--role", "member", "--password", "pw")
    result = manage(data, "restore-backup", os.path.basename(path))
    assert "restored" in result.stdout
    listed = manage(data, "list-users").stdout
    assert "a@x.io" in listed and "b@x.io" not in listed
    missing = manage(data, "restore-backup", "crm-nope.db", check=False)
    assert missing.returncode == 2 and missing.stderr.startswith("error: no such backup")
