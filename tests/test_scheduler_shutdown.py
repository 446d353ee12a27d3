"""SIGTERM during a backfill: the CRM exits promptly, the run is recorded as interrupted with its
checkpoint kept, and after a restart the sync resumes and finishes with nothing lost or doubled."""
import signal
import sqlite3
import time

from capture_fixtures import capture_env
from conftest import start_crm, with_people
from emulator_fixtures import add_message, make_message, post_json

ADMIN = "admin@firm.test"


def latest_run(data_dir):
    conn = sqlite3.connect(f"{data_dir}/crm.db")
    try:
        account = conn.execute("SELECT id FROM email_accounts WHERE email = ?", (ADMIN,)).fetchone()[0]
        row = conn.execute("SELECT status, error, kind FROM email_sync_runs WHERE account_id = ? ORDER BY id DESC "
                           "LIMIT 1", (account,)).fetchone() or (None, None, None)
        state = conn.execute("SELECT listing_kind, progress_done FROM email_sync_state WHERE account_id = ?",
                             (account,)).fetchone()
        count = conn.execute("SELECT count(*) FROM email_mailbox_entries").fetchone()[0]
        return row, state, count
    finally:
        conn.close()


def test_sigterm_mid_backfill_then_resume(tmp_path, emulator, keys):
    for i in range(120):
        add_message(emulator.url, ADMIN, make_message(sender="Kim <kim@alder.vc>", to=ADMIN, subject=f"S{i}",
                                                      body=f"B{i}\n", message_id=f"<s{i}@alder.vc>"))
    post_json(f"{emulator.url}/_emulator/latency", {"ms": 40})
    env = capture_env(emulator, keys[0], CRM_GMAIL_BATCH_SIZE="5", CRM_GMAIL_SYNC_INTERVAL_MIN="600")
    server = with_people(start_crm(tmp_path / "crm", env))
    server.admin.post("/api/email/accounts/enroll-all", {})
    assert server.admin.post("/api/email/sync/run-now", {}).status == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and latest_run(server.data_dir)[2] < 10:
        time.sleep(0.05)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=30)
    assert time.monotonic() - started < 15 and server.process.returncode == 0
    server.stop()
    run, state, stored = latest_run(server.data_dir)
    assert run[0] == "partial" and "interrupted" in run[1], run  # 120 messages at 40 ms a call outlast the wait
    assert state[0] == "backfill" and 10 <= stored < 120

    post_json(f"{emulator.url}/_emulator/latency", {"ms": 0})
    again = start_crm(server.data_dir, env)
    try:
        admin = again.logged_in(ADMIN)
        assert admin.post("/api/email/sync/run-now", {}).status == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run, state, stored = latest_run(again.data_dir)
            if run[0] == "ok" and stored == 120:
                break
            time.sleep(0.2)
        assert run[0] == "ok" and stored == 120 and state[0] is None
    finally:
        again.stop()
