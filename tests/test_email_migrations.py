"""Email migrations: applied twice to a copy of a database populated by a real sync, nothing changes."""
import os
import shutil

from backend import db
from backend.server import init_db
from capture_fixtures import CaptureRig
from devtools.make_service_account import make_service_account
from email_integration import db as email_db
from emulator_fixtures import add_message, make_message, start_emulator
from migration_check import snapshot


def test_email_migrations_twice_on_a_populated_copy(tmp_path):
    keys = make_service_account(str(tmp_path / "sa"))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    try:
        for i in range(5):
            add_message(emulator.url, "ann@firm.test", make_message(
                sender="Kim <kim@alder.vc>", to="ann@firm.test", subject=f"S{i}", body=f"B{i}\n",
                attachments=[("a.txt", "text/plain", b"hello")] if i == 0 else ()))
        (tmp_path / "data").mkdir()
        rig = CaptureRig(tmp_path / "data", emulator, keys)
        account = rig.enroll("ann@firm.test")
        assert rig.sync(account)["status"] == "ok"
        rig.close()
    finally:
        emulator.stop()
    before, after = applied_twice(rig.db_file, str(tmp_path / "copy.db"))
    assert before["rows"]["emails"] and before["rows"]["email_attachments"]
    assert after == before


def applied_twice(db_file: str, copy: str, names=None) -> tuple[dict, dict]:
    """(snapshot of a copy of db_file, the same after init_db twice and each migration file run twice)."""
    shutil.copyfile(db_file, copy)
    before = snapshot(copy)
    init_db(copy)
    init_db(copy)
    conn = db.connect(copy)
    cursor = conn.cursor()
    for name in names or sorted(os.listdir(email_db.MIGRATIONS_DIR)):
        db.run_sql_file(cursor, os.path.join(email_db.MIGRATIONS_DIR, name))
        db.run_sql_file(cursor, os.path.join(email_db.MIGRATIONS_DIR, name))
    email_db.apply_migrations(cursor)
    conn.close()
    return before, snapshot(copy)


def test_the_capture_fidelity_migrations_twice_on_a_copy_holding_their_rows(tmp_path):
    """0011–0013 (issue 21) on a database whose markers, deletions, rechecks, covered sources and
    completeness tables hold rows from a real investors-scope sync: applied twice, nothing changes."""
    from devtools import mail_shapes
    from email_integration.capture import db_markers, db_sources
    keys = make_service_account(str(tmp_path / "sa"))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="2026", quota_units_per_min=0)
    try:
        kept = add_message(emulator.url, "ann@firm.test", make_message(sender="Kim <kim@alder.vc>", to="ann@firm.test"))
        add_message(emulator.url, "ann@firm.test", make_message(sender="x@alder.vc.evil.example", to="ann@firm.test"))
        add_message(emulator.url, "ann@firm.test", mail_shapes.docusign("Sam", "sam@else.example", "ann@firm.test",
                                                                        "Lease", "<m1@docusign.net>"))
        (tmp_path / "data").mkdir()
        rig = CaptureRig(tmp_path / "data", emulator, keys, CRM_GMAIL_CAPTURE_SCOPE="investors")
        with rig.conn:
            db_sources.add_group(rig.conn, "ir@firm.test", None)
        account = rig.enroll("ann@firm.test")
        assert rig.sync(account)["status"] == "ok"
        with rig.conn:
            db_markers.mark_gone(rig.conn, account, kept["id"])
            db_markers.add_rechecks(rig.conn, account, {"recheck-id": "t"}, 1.0)
        for table in ("email_skipped_messages", "email_gone_entries", "email_search_rechecks", "email_capture_sources",
                      "email_completeness"):
            assert rig.count(table), table
        rig.close()
    finally:
        emulator.stop()
    before, after = applied_twice(rig.db_file, str(tmp_path / "copy.db"),
                                  ["0011_capture_fidelity.sql", "0012_capture_sources.sql", "0013_capture_completeness.sql"])
    assert after == before
