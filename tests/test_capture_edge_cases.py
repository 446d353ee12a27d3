"""Edge cases of sync and rematch found in review: a queued message inside an interrupted listing,
a Bcc seen in only one copy, partial runs and staleness, trash between listing and fetch,
unlinking and deletion withdrawing proposals, threads and last contact kept true."""
import threading
import urllib.request

from capture_fixtures import NOBODY, CaptureRig, FailingFetch
from email_integration.capture import db_accounts as email_db
from email_integration.capture import db_queries
from email_integration.capture.sync import AccountSync
from email_integration.google.errors import TransientError
from emulator_fixtures import add_message, make_message, post_json

ANN, BOB = "ann@firm.test", "bob@firm.test"


def mail(i, sender="Kim Lee <kim@alder.vc>", to=ANN, **kw):
    kw.setdefault("date", f"Mon, 02 Nov 2026 10:{i % 60:02d}:00 +0000")
    return make_message(sender=sender, to=to, subject=f"Update {i}", body=f"Could you share update {i}?\n",
                        message_id=f"<edge{i}@alder.vc>", **kw)


def gmail_id_of(rig, message_id):
    box = rig.emulator.store.mailbox(ANN)
    for gmail_id in box.message_ids():
        headers = box.get(gmail_id, "metadata")["payload"]["headers"]
        if any(h["name"].lower() == "message-id" and h["value"] == message_id for h in headers):
            return gmail_id
    raise LookupError(message_id)


def run_with(rig, account, client_wrapper=None, stop=None):
    client = rig.service.client_for(account)
    if client_wrapper:
        client = client_wrapper(client)
    conn = rig.service.connect()
    try:
        return AccountSync(conn, email_db.get_account(conn, account), client, rig.config, rig.service.matcher,
                           rig.service.blob_store, stop).run()
    finally:
        conn.close()


class FailOnce:
    """The real client, except that one message's first fetch fails and `stop` is set after it."""

    def __init__(self, client, victim, stop):
        self.client, self.victim, self.stop, self.failed = client, victim, stop, False

    def __getattr__(self, name):
        return getattr(self.client, name)

    def batch_get_messages(self, ids, *args, **kwargs):
        found, failed = self.client.batch_get_messages(ids, *args, **kwargs)
        if self.victim in found and not self.failed:
            del found[self.victim]
            failed[self.victim] = TransientError("injected")
            self.failed = True
            self.stop.set()  # the process stops after this page
        return found, failed


def test_a_queued_message_of_an_interrupted_listing_is_not_deleted_at_its_end(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys, CRM_GMAIL_BACKFILL_PAGE_SIZE="5", CRM_GMAIL_BATCH_SIZE="5")
    ids = [add_message(emulator.url, ANN, mail(i))["id"] for i in range(15)]
    account = rig.enroll(ANN)
    stop = threading.Event()
    newest_first = sorted(ids, key=lambda i: -ids.index(i))
    first = run_with(rig, account, lambda c: FailOnce(c, newest_first[0], stop), stop)
    assert first["status"] == "partial"
    assert email_db.queued_fetches(rig.conn, account) == [newest_first[0]]
    resumed = rig.sync(account)
    assert resumed["status"] == "ok" and resumed["messages_deleted"] == 0
    assert rig.view(account) == rig.truth(ANN)
    rig.close()


def test_a_bcc_in_one_copy_keeps_the_email_matched_through_rematch(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys)
    bob_copy = make_message(sender=f"Ann <{ANN}>", to=BOB, subject="Intro", body="Meet Kim.\n",
                            message_id="<bcc1@firm.test>")
    ann_copy = make_message(sender=f"Ann <{ANN}>", to=BOB, subject="Intro", body="Meet Kim.\n",
                            message_id="<bcc1@firm.test>", headers={"Bcc": "kim@alder.vc"})
    add_message(emulator.url, BOB, bob_copy)
    add_message(emulator.url, ANN, ann_copy, labels="SENT")
    bob, ann = rig.enroll(BOB), rig.enroll(ANN)
    rig.sync(bob)
    rig.sync(ann)
    row = rig.query("SELECT matched, has_body FROM emails")[0]
    assert row == {"matched": 1, "has_body": 1}
    rig.service.rematch()
    assert rig.query("SELECT matched, has_body FROM emails")[0] == {"matched": 1, "has_body": 1}
    rig.close()


def test_a_partial_run_does_not_force_a_full_resync(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys)
    ids = [add_message(emulator.url, ANN, mail(i))["id"] for i in range(6)]
    account = rig.enroll(ANN)
    assert run_with(rig, account, lambda c: FailingFetch(c, ids[0]))["status"] == "partial"
    second = run_with(rig, account, lambda c: FailingFetch(c, ids[0]))
    assert second["kind"] == "incremental" and second["status"] == "partial"
    third = rig.sync(account)  # the message can be fetched again
    assert third["kind"] == "incremental" and third["status"] == "ok" and ids[0] in rig.view(account)
    rig.close()


def test_a_message_trashed_before_its_fetch_is_not_kept(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys)
    ids = [add_message(emulator.url, ANN, mail(i))["id"] for i in range(3)]
    account = rig.enroll(ANN)

    class TrashFirst:
        def __init__(self, client):
            self.client = client

        def __getattr__(self, name):
            return getattr(self.client, name)

        def batch_get_messages(self, ids_, *args, **kwargs):
            post_json(f"{emulator.url}/_emulator/users/{ANN}/messages/{ids[1]}/modify", {"addLabelIds": ["TRASH"]})
            return self.client.batch_get_messages(ids_, *args, **kwargs)

    run_with(rig, account, TrashFirst)
    assert ids[1] not in rig.view(account) and rig.view(account) == rig.truth(ANN)
    rig.close()


def test_unlinking_withdraws_proposals_and_recomputes_last_contact(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys)
    add_message(emulator.url, ANN, mail(1, sender="Raj <raj@birch.capital>", date="Mon, 02 Nov 2026 10:00:00 +0000"))
    account = rig.enroll(ANN)
    rig.sync(account)
    raj = rig.investor_ids[1]
    assert rig.query("SELECT status FROM email_proposals")[0]["status"] == "pending"
    assert rig.query("SELECT last_contact_at FROM investors WHERE id = ?", raj)[0]["last_contact_at"]
    from backend import investors_db
    investors_db.update_investor(rig.conn, raj, {"emails": []})
    rig.service.rematch()
    assert rig.query("SELECT status FROM email_proposals")[0]["status"] == "superseded"
    assert rig.query("SELECT last_contact_at FROM investors WHERE id = ?", raj)[0]["last_contact_at"] is None
    assert rig.query("SELECT matched, has_body, body_text FROM emails")[0] == {"matched": 0, "has_body": 0,
                                                                             "body_text": None}
    rig.close()


def test_deletion_in_gmail_keeps_the_record_and_a_purge_withdraws_pending_keeps_decided(tmp_path, emulator, keys):
    """The written policy: captured mail a teammate deletes in Gmail stays in the CRM (thread, card, last
    contact). Withdrawing mail is what exclusions are for: their purge takes the mailbox's copy out, withdraws
    its pending card, refreshes the thread and last contact, and keeps decided cards and their grid notes."""
    rig = CaptureRig(tmp_path, emulator, keys)
    add_message(emulator.url, ANN, mail(1, date="Mon, 02 Nov 2026 10:00:00 +0000"))
    add_message(emulator.url, ANN, make_message(sender="Kim Lee <kim@alder.vc>", to=ANN, subject="Re: Update 1",
                                                body="Second thoughts\n", message_id="<edge-r@alder.vc>",
                                                in_reply_to="<edge1@alder.vc>", cc="Lawyer <lee@law.example>",
                                                date="Tue, 03 Nov 2026 10:00:00 +0000"))
    add_message(emulator.url, ANN, mail(2, sender="Mo <mo@cedar.partners>"))
    account = rig.enroll(ANN)
    rig.sync(account)
    kim, mo = rig.investor_ids[0], rig.investor_ids[2]
    from backend.investors_db import get_investor
    from email_integration.controls import actions
    from email_integration.review import proposals
    user = {"id": None, "name": "Tester"}
    mo_card = next(p for p in rig.query("SELECT id, investor_id FROM email_proposals") if p["investor_id"] == mo)
    proposals.decide(rig.conn, mo_card["id"], "approve", user=user, via="web")
    thread = db_queries.list_threads(rig.conn, NOBODY, kim, None, 10, 0)[0][0]
    assert thread["last_date"] == "2026-11-03T10:00:00Z"
    # deleted in Gmail: nothing changes in the CRM
    newer = gmail_id_of(rig, "<edge-r@alder.vc>")
    request = urllib.request.Request(f"{emulator.url}/_emulator/users/{ANN}/messages/{newer}", method="DELETE")
    urllib.request.urlopen(request, timeout=10).read()
    assert rig.sync(account)["status"] == "ok"
    assert db_queries.list_threads(rig.conn, NOBODY, kim, None, 10, 0)[0][0]["last_date"] == "2026-11-03T10:00:00Z"
    assert get_investor(rig.conn, kim)["last_contact_at"] == "2026-11-03T10:00:00Z"
    assert [p["status"] for p in rig.query("SELECT status FROM email_proposals WHERE investor_id = ?", kim)] == ["pending"]
    assert rig.query("SELECT gmail_id FROM email_gone_entries") == [{"gmail_id": newer}]
    # an exclusion's purge withdraws it: the thread falls back to the first message, Kim's last contact too
    admin = {"id": None, "role": "admin", "name": "Admin"}
    actions.add_exclusion(rig.conn, rig.service.blob_store, admin, "@law.example", "firm")
    thread = db_queries.list_threads(rig.conn, NOBODY, kim, None, 10, 0)[0][0]
    assert thread["last_date"] == "2026-11-02T10:00:00Z"
    assert get_investor(rig.conn, kim)["last_contact_at"] == "2026-11-02T10:00:00Z"
    kim_status = rig.query("SELECT status FROM email_proposals WHERE investor_id = ?", kim)
    assert [p["status"] for p in kim_status] == ["superseded"]
    # Mo's approved proposal survives its email's purge (the grid note stays too)
    actions.add_exclusion(rig.conn, rig.service.blob_store, admin, "mo@cedar.partners", "firm")
    assert rig.query("SELECT status, email_id FROM email_proposals WHERE investor_id = ?", mo) == [
        {"status": "approved", "email_id": None}]
    rig.close()


def test_one_run_per_account_across_processes(tmp_path, emulator, keys):
    import socket
    import subprocess
    import sys
    rig = CaptureRig(tmp_path, emulator, keys)
    add_message(emulator.url, ANN, mail(1))
    account = rig.enroll(ANN)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = f"{socket.gethostname()}:{alive.pid}"
        with rig.conn:
            rig.conn.execute("UPDATE email_accounts SET state = 'running', lease_owner = ?, "
                             "lease_until = '2999-01-01T00:00:00Z'", (owner,))
        assert rig.sync(account) is None  # another live process holds the lease
        assert email_db.reset_interrupted(rig.conn) == 0
        assert email_db.get_account(rig.conn, account)["state"] == "running"
    finally:
        alive.kill()
        alive.wait()
    assert email_db.reset_interrupted(rig.conn) == 0  # no run rows, but the dead owner's lease is cleared
    assert email_db.get_account(rig.conn, account)["state"] == "idle"
    with rig.conn:  # a lease left by a dead process is taken over directly, too
        rig.conn.execute("UPDATE email_accounts SET state = 'running', lease_owner = ?, "
                         "lease_until = '2999-01-01T00:00:00Z'", (owner,))
    assert rig.sync(account)["status"] == "ok"
    assert email_db.get_account(rig.conn, account)["lease_owner"] is None
    rig.close()


def test_a_deactivated_teammates_mailbox_is_not_synced_until_reactivated(tmp_path, emulator, keys):
    """Account lifecycle (issue 15, item 6) reaches capture: deactivate-user stops that mailbox's sync."""
    from backend import users_db

    add_message(emulator.url, "ann@firm.test", make_message(
        sender="Kim Lee <kim@alder.vc>", to="ann@firm.test", subject="Before", message_id="<life1@alder.vc>"))
    rig = CaptureRig(tmp_path, emulator, keys)
    user_id = users_db.create_user(rig.conn, "ann@firm.test", "Ann", "member", None)
    account, _ = email_db.enroll_account(rig.conn, "ann@firm.test", user_id, "dwd")
    users_db.set_active(rig.conn, user_id, False)
    rig.conn.commit()
    assert rig.sync(account["id"]) is None and rig.count("emails") == 0
    users_db.set_active(rig.conn, user_id, True)
    rig.conn.commit()
    assert rig.sync(account["id"])["status"] == "ok" and rig.count("emails") == 1
