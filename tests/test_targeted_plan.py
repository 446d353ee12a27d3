"""Units: the whole-thread fetch plan and the queue of targeted backfills for new investor terms."""
from backend import db, investors_db
from backend.server import init_db
from email_integration.capture import db_accounts as email_db
from email_integration.capture import db_capture
from email_integration.capture.targeted import plan_fetches, queue_new_terms


def test_a_thread_is_fetched_whole_only_when_cheaper():
    groups = {"t1": ["a"], "t2": ["b", "c"], "t3": ["d", "e", "f"], "": ["g", "h", "i"]}
    assert plan_fetches(groups, 20, 40) == (["t3"], ["a", "b", "c", "g", "h", "i"])  # the 2026 profile
    assert plan_fetches(groups, 5, 10) == (["t3"], ["a", "b", "c", "g", "h", "i"])  # legacy: same ratio
    assert plan_fetches({"t": ["a", "b"]}, 20, 30) == (["t"], [])


def test_new_terms_queue_backfills_for_mailboxes_that_have_listed(tmp_path):
    path = str(tmp_path / "crm.db")
    init_db(path)
    conn = db.connect(path)
    listed, fresh = (email_db.enroll_account(conn, a, None, "dwd")[0]["id"] for a in ("ann@firm.test", "bob@firm.test"))
    with db.atomic(conn):
        email_db.update_sync_state(conn, listed, history_id="100")
    kim = investors_db.create_investor(conn, "Kim", None, ["kim@alder.vc"], ["alder.vc"])
    assert queue_new_terms(conn, "firm.test") == {"new": ["alder.vc"], "removed": []}
    assert db_capture.pending_backfill_terms(conn, listed) == ["alder.vc"]
    assert db_capture.pending_backfill_terms(conn, fresh) == []  # its first listing searches every term
    assert queue_new_terms(conn, "firm.test") == {"new": [], "removed": []}  # queued once
    investors_db.update_investor(conn, kim, {"domains": [], "emails": ["kim@alder.vc", "ops@gmail.com"]})
    assert queue_new_terms(conn, "firm.test") == {"new": ["kim@alder.vc", "ops@gmail.com"], "removed": ["alder.vc"]}
    assert db_capture.pending_backfill_terms(conn, listed) == ["kim@alder.vc", "ops@gmail.com"]
    with db.atomic(conn):
        db_capture.finish_backfill(conn, listed, ["kim@alder.vc", "ops@gmail.com"], 4)
    assert db_capture.backfill_queue(conn, listed)["pending"] == 0
    conn.close()
