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
    copy = str(tmp_path / "copy.db")
    shutil.copyfile(rig.db_file, copy)
    before = snapshot(copy)
    assert before["rows"]["emails"] and before["rows"]["email_attachments"]
    init_db(copy)
    init_db(copy)
    assert snapshot(copy) == before
    conn = db.connect(copy)
    cursor = conn.cursor()
    for name in sorted(os.listdir(email_db.MIGRATIONS_DIR)):
        db.run_sql_file(cursor, os.path.join(email_db.MIGRATIONS_DIR, name))
        db.run_sql_file(cursor, os.path.join(email_db.MIGRATIONS_DIR, name))
    email_db.apply_migrations(cursor)
    conn.close()
    assert snapshot(copy) == before
