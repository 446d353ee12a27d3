"""Fixes from reading the client against Gmail's documents, each against the emulator over HTTP:
drafts and chats are not mail; a refused saved page token restarts the listing; a body Gmail hands
out by attachmentId is fetched (only for mail we keep); a DWD grant missing for a user shows the
delegation hint in /api/email/status."""
import json

from capture_fixtures import CaptureRig, start_capture_crm, sync_all
from email_integration.capture import db_accounts as email_db
from emulator_fixtures import add_message, make_message, start_emulator, stats

ANN = "ann@firm.test"


def mail(i, sender="Kim Lee <kim@alder.vc>", body=None):
    return make_message(sender=sender, to=ANN, subject=f"Round {i}", body=body or f"Could we talk about {i}?\n",
                        message_id=f"<fix{i}@alder.vc>", date=f"Mon, 02 Nov 2026 10:{i:02d}:00 +0000")


def test_drafts_and_chats_never_become_emails_or_proposals(tmp_path, emulator, keys):
    add_message(emulator.url, ANN, mail(1))
    add_message(emulator.url, ANN, mail(2), labels="DRAFT")
    add_message(emulator.url, ANN, mail(3), labels="CHAT")
    rig = CaptureRig(tmp_path, emulator, keys)
    account = rig.enroll(ANN)
    assert rig.sync(account)["status"] == "ok"
    subjects = lambda: sorted(r["subject"] for r in rig.query("SELECT subject FROM emails"))  # noqa: E731
    assert subjects() == ["Round 1"]
    # Left out of the listing itself (q=-in:chats -in:drafts), in this `all` scope too: never fetched.
    assert len(stats(emulator.url)["users"][ANN]["message_gets"]) == 1
    # Arriving later (history.list shows their labels): never fetched at all.
    before = stats(emulator.url)["users"][ANN]["calls"].get("messages.get", 0)
    add_message(emulator.url, ANN, mail(4), labels="DRAFT")
    add_message(emulator.url, ANN, mail(5), labels="CHAT")
    assert rig.sync(account)["status"] == "ok"
    assert subjects() == ["Round 1"]
    assert stats(emulator.url)["users"][ANN]["calls"].get("messages.get", 0) == before
    assert [p["subject"] for p in rig.query(
        "SELECT e.subject FROM email_proposals p JOIN emails e ON e.id = p.email_id")] == ["Round 1"]


def test_a_refused_saved_page_token_restarts_the_listing(tmp_path, emulator, keys):
    for i in range(1, 8):
        add_message(emulator.url, ANN, mail(i))
    rig = CaptureRig(tmp_path, emulator, keys, CRM_GMAIL_BACKFILL_PAGE_SIZE="3")
    account = rig.enroll(ANN)
    # A backfill interrupted long ago: its saved page token is one Gmail no longer accepts (400).
    state = email_db.get_sync_state(rig.conn, account)
    email_db.update_sync_state(rig.conn, account, listing_kind="backfill", listing_gen=state["listing_gen"] + 1,
                               listing_page_token="expired-token", listing_start_history_id="1", progress_done=3)
    rig.conn.commit()
    run = rig.sync(account)
    assert run["status"] == "ok", run["error"]
    assert rig.view(account) == rig.truth(ANN) and len(rig.truth(ANN)) == 7
    assert email_db.get_sync_state(rig.conn, account)["listing_kind"] is None


def test_a_body_delivered_by_attachment_id_is_fetched_for_kept_mail_only(tmp_path, emulator, keys):
    big = "Our memo follows.\n" + "x" * 80 + "\n"
    big = big * (1_200_000 // len(big)) + "The end of the memo.\n"  # over the emulator's inline limit
    kept = add_message(emulator.url, ANN, mail(1, body=big))
    unmatched = add_message(emulator.url, ANN, mail(2, sender="Pat <pat@nowhere.example>", body=big))
    resource = emulator.store.mailbox(ANN).get(kept["id"])
    assert "attachmentId" in resource["payload"]["body"] and "data" not in resource["payload"]["body"]
    rig = CaptureRig(tmp_path, emulator, keys)
    account = rig.enroll(ANN)
    assert rig.sync(account)["status"] == "ok"
    email = rig.query("SELECT id, body_text, problems_json FROM emails WHERE subject = 'Round 1'")[0]
    assert email["body_text"].rstrip().endswith("The end of the memo.") and json.loads(email["problems_json"]) == []
    assert rig.query("SELECT id FROM email_attachments WHERE email_id = ?", email["id"]) == []  # the body, not an attachment
    # Exactly one body fetched: the unmatched message's body is not mail we keep, so it is not fetched.
    assert stats(emulator.url)["users"][ANN]["calls"]["messages.attachments.get"] == 1
    assert unmatched["id"] in rig.view(account)


def test_dwd_not_granted_for_a_user_shows_the_delegation_hint(tmp_path, keys):
    denied = "member@firm.test"  # a teammate the Admin console grants the service account nothing for
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy", dwd_deny=(denied,))
    try:
        add_message(emulator.url, denied, mail(1))
        add_message(emulator.url, "admin@firm.test", mail(2))
        server = start_capture_crm(str(tmp_path), emulator, keys, sync=False)
        try:
            sync_all(server)
            accounts = {a["email"]: a for a in server.admin.get("/api/email/status").json["accounts"]}
            assert accounts["admin@firm.test"]["last_run"]["status"] == "ok"  # the others sync on
            account = accounts[denied]
            assert account["state"] == "error" and account["last_run"]["status"] == "error"
            error = account["last_run"]["error"]
            assert "unauthorized_client" in error and "domain-wide delegation" in error
        finally:
            server.stop()
    finally:
        emulator.stop()


def test_a_body_by_attachment_id_left_unfetched_is_a_recorded_problem():
    from email_integration.mail.parser import body_references, parse
    resource = {"id": "m1", "threadId": "t1", "labelIds": ["INBOX"], "payload": {
        "partId": "", "mimeType": "text/plain", "filename": "",
        "headers": [{"name": "From", "value": "kim@alder.vc"}, {"name": "Subject", "value": "Memo"}],
        "body": {"attachmentId": "ANGjdJ8", "size": 2_000_000}}}
    assert body_references(resource) == [resource["payload"]]
    parsed = parse(resource)
    assert parsed["body_text"] == "" and parsed["attachments"] == []
    assert any("attachmentId" in p and "not fetched" in p for p in parsed["problems"])


def test_token_endpoint_unauthorized_client_is_an_auth_error_whatever_the_status():
    from email_integration.google.errors import AuthError, classify
    body = b'{"error": "unauthorized_client", "error_description": "Client is unauthorized"}'
    assert all(isinstance(classify(status, body), AuthError) for status in (400, 401))
