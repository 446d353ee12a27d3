"""Sync end to end against the emulator over HTTP: backfill, incremental adds/deletes/labels,
history expiry, faults, privacy, cross-mailbox threads, attachments. The CRM's view must equal Gmail's."""
import urllib.request

import pytest

from capture_fixtures import NOBODY, CaptureRig, attachment_files
from devtools.make_service_account import make_service_account
from email_integration.capture import db_accounts as email_db
from email_integration.capture import db_queries
from emulator_fixtures import add_message, make_message, post_json

ANN, BOB = "ann@firm.test", "bob@firm.test"


@pytest.fixture
def rig(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys)
    yield rig
    rig.close()


def investor_mail(i, sender="Kim Lee <kim@alder.vc>", to=ANN, **kw):
    return make_message(sender=sender, to=to, subject=f"Round update {i}", body=f"Numbers for month {i}.\n",
                        message_id=f"<inv{i}@alder.vc>", **kw)


def personal_mail(i, to=ANN):
    return make_message(sender=f"Friend {i} <friend{i}@gmail.com>", to=to, subject=f"Dinner {i}",
                        body="Secret personal body\n", message_id=f"<p{i}@gmail.com>")


def delete(emulator, user, gmail_id):
    request = urllib.request.Request(f"{emulator.url}/_emulator/users/{user}/messages/{gmail_id}", method="DELETE")
    urllib.request.urlopen(request, timeout=10).read()


def modify(emulator, user, gmail_id, add=(), remove=()):
    post_json(f"{emulator.url}/_emulator/users/{user}/messages/{gmail_id}/modify",
              {"addLabelIds": list(add), "removeLabelIds": list(remove)})


def test_backfill_then_incremental_converges(rig, emulator):
    ids = [add_message(emulator.url, ANN, investor_mail(i))["id"] for i in range(45)]
    ids += [add_message(emulator.url, ANN, personal_mail(i))["id"] for i in range(10)]
    account = rig.enroll(ANN)
    run = rig.sync(account)
    assert run["status"] == "ok" and run["kind"] == "backfill" and run["messages_added"] == 55
    assert rig.view(account) == rig.truth(ANN)
    state = email_db.get_sync_state(rig.conn, account)
    assert state["history_id"] and state["listing_kind"] is None and state["progress_done"] == 55

    # incremental: an add, a delete, a label change, a move to trash
    new = add_message(emulator.url, ANN, investor_mail(100))["id"]
    delete(emulator, ANN, ids[0])
    modify(emulator, ANN, ids[1], add=["STARRED"], remove=["INBOX"])
    modify(emulator, ANN, ids[2], add=["TRASH"])
    run = rig.sync(account)
    assert run["kind"] == "incremental" and run["status"] == "ok"
    assert run["messages_added"] == 1 and run["messages_deleted"] == 1
    view = rig.view(account)
    assert view == rig.truth(ANN) and new in view and ids[0] not in view and view[ids[1]] == ["STARRED"]
    # the written policy: captured mail deleted or trashed in Gmail stays in the CRM (the firm's record)
    assert rig.count("emails") == 56 and rig.count("email_mailbox_entries") == 56
    assert rig.query("SELECT gmail_id FROM email_gone_entries") == [{"gmail_id": ids[0]}]
    assert "TRASH" in rig.query("SELECT label_ids FROM email_mailbox_entries WHERE gmail_id = ?", ids[2])[0]["label_ids"]

    # taken out of the trash: shown as in Gmail again
    modify(emulator, ANN, ids[2], remove=["TRASH"])
    rig.sync(account)
    assert rig.view(account) == rig.truth(ANN)
    assert rig.count("emails") == 56 and rig.count("email_mailbox_entries") == 56


def test_unmatched_mail_keeps_no_body(rig, emulator):
    add_message(emulator.url, ANN, personal_mail(1))
    add_message(emulator.url, ANN, investor_mail(1, attachments=[("deck.pdf", "application/pdf", b"%PDF-1.4 deck")]))
    account = rig.enroll(ANN)
    rig.sync(account)
    personal = rig.query("SELECT * FROM emails WHERE message_id = 'p1@gmail.com'")[0]
    assert personal["matched"] == 0 and personal["has_body"] == 0
    assert personal["subject"] is None and personal["body_text"] is None and personal["snippet"] is None
    assert rig.query("SELECT * FROM email_attachments WHERE email_id = ?", personal["id"]) == []
    stored = rig.query("SELECT * FROM emails WHERE message_id = 'inv1@alder.vc'")[0]
    assert stored["has_body"] == 1 and "Numbers for month 1" in stored["body_text"]
    threads, total = db_queries.list_threads(rig.conn, NOBODY, None, None, 50, 0)
    assert total == 1 and threads[0]["investors"][0]["name"] == "Kim Lee"
    assert db_queries.get_email_detail(rig.conn, NOBODY, personal["id"]) is None
    # nothing of the personal email is findable by search either
    assert db_queries.list_threads(rig.conn, NOBODY, None, "Dinner", 50, 0)[1] == 0


def test_rematch_links_and_fetches_later(rig, emulator):
    add_message(emulator.url, ANN, make_message(sender="Nia <nia@newfund.vc>", to=ANN, subject="Intro",
                                                body="Intro body\n", message_id="<nia1@newfund.vc>"))
    account = rig.enroll(ANN)
    rig.sync(account)
    assert rig.query("SELECT has_body FROM emails")[0]["has_body"] == 0
    from backend import investors_db
    investors_db.create_investor(rig.conn, "Nia Okafor", "New Fund", ["nia@newfund.vc"], [])
    counts = rig.service.rematch()
    assert counts["linked"] == 1 and counts["queued"] == 1
    run = rig.sync(account)
    assert run["status"] == "ok"
    row = rig.query("SELECT * FROM emails")[0]
    assert row["matched"] == 1 and row["has_body"] == 1 and row["subject"] == "Intro"


def test_history_expiry_triggers_full_resync_without_duplicates(rig, emulator):
    ids = [add_message(emulator.url, ANN, investor_mail(i))["id"] for i in range(30)]
    account = rig.enroll(ANN)
    rig.sync(account)
    delete(emulator, ANN, ids[3])
    modify(emulator, ANN, ids[4], add=["IMPORTANT"])
    add_message(emulator.url, ANN, investor_mail(99))
    post_json(f"{emulator.url}/_emulator/users/{ANN}/expire-history", {})
    run = rig.sync(account)
    assert run["kind"] == "full_resync" and run["status"] == "ok"
    assert rig.view(account) == rig.truth(ANN)
    assert rig.count("emails") == 31  # the deleted one stays: captured mail is the firm's record
    assert rig.sync(account)["kind"] == "incremental"


def test_stale_last_success_forces_full_resync(rig, emulator):
    add_message(emulator.url, ANN, investor_mail(1))
    account = rig.enroll(ANN)
    rig.sync(account)
    with rig.conn:
        rig.conn.execute("UPDATE email_sync_state SET last_success_at = '2020-01-01T00:00:00Z'")
    assert rig.sync(account)["kind"] == "full_resync"


def test_cross_mailbox_thread_is_one_thread_and_one_email(rig, emulator):
    root = investor_mail(1, to=f"{ANN}, {BOB}")
    add_message(emulator.url, ANN, root)
    add_message(emulator.url, BOB, root)
    reply = make_message(sender=f"Bob <{BOB}>", to="kim@alder.vc", subject="Re: Round update 1", body="Thanks!\n",
                         message_id="<reply1@firm.test>", in_reply_to="<inv1@alder.vc>")
    add_message(emulator.url, BOB, reply, labels="SENT")
    ann, bob = rig.enroll(ANN), rig.enroll(BOB)
    rig.sync(ann)
    rig.sync(bob)
    assert rig.count("emails") == 2 and rig.count("email_mailbox_entries") == 3
    threads, total = db_queries.list_threads(rig.conn, NOBODY, None, None, 50, 0)
    assert total == 1 and threads[0]["email_count"] == 2 and threads[0]["subject"] == "Round update 1"
    detail = db_queries.get_thread(rig.conn, NOBODY, threads[0]["id"])
    assert [e["subject"] for e in detail["emails"]] == ["Round update 1", "Re: Round update 1"]
    # one mailbox deleting its copy keeps the email; both deleting removes it
    ann_copy = next(iter(rig.view(ann)))
    delete(emulator, ANN, ann_copy)
    rig.sync(ann)
    assert rig.count("emails") == 2


def test_faults_lose_nothing(rig, emulator):
    ids = [add_message(emulator.url, ANN, investor_mail(i))["id"] for i in range(80)]
    post_json(f"{emulator.url}/_emulator/faults", {"rate": 0.15, "seed": 11})
    account = rig.enroll(ANN)
    runs = [rig.sync(account)]
    for _ in range(4):  # a partial run leaves the rest queued for the next
        if runs[-1]["status"] == "ok":
            break
        runs.append(rig.sync(account))
    post_json(f"{emulator.url}/_emulator/faults", {"rate": 0})
    if runs[-1]["status"] != "ok":
        runs.append(rig.sync(account))
    assert runs[-1]["status"] == "ok", runs
    assert sorted(rig.view(account)) == sorted(ids) and rig.count("emails") == 80


def test_attachments_stored_once_by_hash(rig, emulator):
    deck = b"%PDF-1.4\n" + bytes(range(256)) * 64
    add_message(emulator.url, ANN, investor_mail(1, attachments=[("deck.pdf", "application/pdf", deck)]))
    add_message(emulator.url, ANN, investor_mail(2, attachments=[("../../etc/passwd", "application/pdf", deck)]))
    account = rig.enroll(ANN)
    rig.sync(account)
    rows = rig.query("SELECT status, sha256, filename, size FROM email_attachments ORDER BY id")
    assert [r["status"] for r in rows] == ["stored", "stored"] and rows[0]["sha256"] == rows[1]["sha256"]
    files = attachment_files(rig.data_dir)
    assert len(files) == 1 and open(files[0], "rb").read() == deck


def test_too_large_attachment_is_skipped(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys, CRM_GMAIL_MAX_ATTACHMENT_MB="1")
    add_message(emulator.url, ANN, investor_mail(1, attachments=[("big.bin", "application/octet-stream",
                                                                  b"x" * (1_200_000))]))
    account = rig.enroll(ANN)
    rig.sync(account)
    assert rig.query("SELECT status FROM email_attachments")[0]["status"] == "too_large"
    assert attachment_files(rig.data_dir) == []
    rig.close()


def test_auth_failure_is_recorded(tmp_path, emulator):
    wrong_keys = make_service_account(str(tmp_path / "other"))
    rig = CaptureRig(tmp_path, emulator, wrong_keys)
    add_message(emulator.url, ANN, investor_mail(1))
    account = rig.enroll(ANN)
    run = rig.sync(account)
    assert run["status"] == "error" and "authoriz" in run["error"]
    assert email_db.get_account(rig.conn, account)["state"] == "error"
    rig.close()
