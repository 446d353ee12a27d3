"""Stored-mail integrity through a real CRM syncing from the Gmail emulator (issue 15, items 11–13):
a forged message reusing a real Message-ID, drafts and problems of mail we stop keeping, bidi names."""
import json
import sqlite3

import pytest

from capture_fixtures import KIM, start_capture_crm, sync_all
from emulator_fixtures import add_message, make_message

ADMIN, MEMBER = "admin@firm.test", "member@firm.test"
RAJ = {"name": "Raj Patel", "firm": "Birch", "emails": ["raj@birch.capital"], "domains": []}


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(KIM, RAJ), sync=False)
    server.emulator = emulator
    yield server
    server.stop()
    emulator.stop()


def rows(server, sql, *params):
    conn = sqlite3.connect(f"file:{server.data_dir}/crm.db?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def emails_with(server, message_id):
    return rows(server, "SELECT id, message_key, from_email FROM emails WHERE message_id = ? ORDER BY id", message_id)


def test_a_forged_message_reusing_a_message_id_leaves_the_real_email_alone(site):
    real = make_message(sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject="Term sheet", body="The real one.\n",
                        date="Mon, 02 Nov 2026 09:00:00 +0000", message_id="<ts-1@alder.vc>")
    add_message(site.emulator.url, ADMIN, real)
    sync_all(site)
    (original,) = emails_with(site, "ts-1@alder.vc")
    before = site.admin.get(f"/api/email/detail?id={original['id']}").json
    forged = make_message(sender="Kim Lee <kim@alder.vc.evil.test>", to=f"{MEMBER}, raj@birch.capital",
                          subject="Term sheet", body="Wire the money here.\n",
                          date="Tue, 03 Nov 2026 09:00:00 +0000", message_id="<ts-1@alder.vc>")
    add_message(site.emulator.url, MEMBER, forged)
    sync_all(site)
    after = site.admin.get(f"/api/email/detail?id={original['id']}").json
    assert after["to"] == before["to"] == [{"email": ADMIN, "name": ""}]
    assert [i["name"] for i in after["investors"]] == ["Kim Lee"]
    assert after["body_text"] == before["body_text"]
    both = emails_with(site, "ts-1@alder.vc")
    assert len(both) == 2 and both[0]["id"] == original["id"]  # kept apart
    other = site.admin.get(f"/api/email/detail?id={both[1]['id']}").json
    assert "Wire the money" in other["body_text"] and [i["name"] for i in other["investors"]] == ["Raj Patel"]
    (real_thread,) = rows(site, "SELECT thread_id FROM emails WHERE id = ?", original["id"])
    thread = site.admin.get(f"/api/email/threads/{real_thread['thread_id']}").json
    assert [e["id"] for e in thread["emails"]] == [original["id"]]  # nor did it join the real conversation
    collisions = rows(site, "SELECT message_id, email_id, other_email_id FROM email_message_id_collisions")
    assert {"message_id": "ts-1@alder.vc", "email_id": original["id"], "other_email_id": both[1]["id"]} in collisions
    sync_all(site)  # a later run sees the forged copy again: still two emails, one collision
    assert len(emails_with(site, "ts-1@alder.vc")) == 2
    assert len(rows(site, "SELECT id FROM email_message_id_collisions WHERE message_id = 'ts-1@alder.vc'")) == 1


def test_true_copies_in_two_mailboxes_are_still_one_email(site):
    shared = make_message(sender="Kim Lee <kim@alder.vc>", to=f"{ADMIN}, {MEMBER}", subject="Both of us",
                          date="Wed, 04 Nov 2026 09:00:00 +0000", message_id="<both-1@alder.vc>")
    add_message(site.emulator.url, ADMIN, shared)
    add_message(site.emulator.url, MEMBER, shared)
    sync_all(site)
    assert len(emails_with(site, "both-1@alder.vc")) == 1
    assert rows(site, "SELECT id FROM email_message_id_collisions WHERE message_id = 'both-1@alder.vc'") == []


def test_unlinking_by_rematch_clears_the_superseded_draft(site):
    created = site.admin.post("/api/investors", {"name": "Dana Drop", "emails": ["dana@drop.vc"]}).json
    add_message(site.emulator.url, ADMIN, make_message(
        sender="Dana Drop <dana@drop.vc>", to=ADMIN, subject="Confidential numbers",
        body="Our fund returned 3.2x net; please keep this confidential until the LP meeting.\n",
        message_id="<drop-1@drop.vc>"))
    sync_all(site)
    (email,) = emails_with(site, "drop-1@drop.vc")
    (proposal,) = rows(site, "SELECT id, status, draft FROM email_proposals WHERE email_id = ?", email["id"])
    assert proposal["status"] == "pending" and proposal["draft"]
    assert site.admin.patch(f"/api/investors/{created['id']}", {"emails": []}).status == 200
    assert site.admin.post("/api/email/rematch", {}).status == 200
    (proposal,) = rows(site, "SELECT status, draft FROM email_proposals WHERE id = ?", proposal["id"])
    assert proposal == {"status": "superseded", "draft": ""}
    (kept,) = rows(site, "SELECT has_body, body_text FROM emails WHERE id = ?", email["id"])
    assert kept == {"has_body": 0, "body_text": None}


UNMATCHED = (b"From: Stranger <stranger@nowhere.test>\r\nTo: admin@firm.test, \"Project Falcon\" <>\r\n"
             b"Subject: hello\r\nDate: Falcon closing Tuesday\r\nMessage-ID: <unmatched-1@nowhere.test>\r\n"
             b"Content-Type: text/plain\r\n\r\nNot for the CRM.\r\n")


def test_unmatched_mail_keeps_only_the_kind_of_its_problems(site):
    add_message(site.emulator.url, ADMIN, UNMATCHED)
    sync_all(site)
    (email,) = rows(site, "SELECT matched, problems_json FROM emails WHERE message_id = 'unmatched-1@nowhere.test'")
    assert email["matched"] == 0
    kinds = json.loads(email["problems_json"])
    assert kinds == ["date", "to"]
    assert "Falcon" not in email["problems_json"]


def test_bidi_controls_are_neutralised_in_attachment_names(site):
    add_message(site.emulator.url, ADMIN, make_message(
        sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject="Invoice attached", message_id="<bidi-1@alder.vc>",
        attachments=[("invoice\u202efdp.exe", "application/octet-stream", b"MZ not really")]))
    sync_all(site)
    (email,) = emails_with(site, "bidi-1@alder.vc")
    names = [a["filename"] for a in site.admin.get(f"/api/email/detail?id={email['id']}").json["attachments"]]
    assert names == ["invoicefdp.exe"]
    # A name stored before the parser stripped them is neutralised when shown.
    conn = sqlite3.connect(f"{site.data_dir}/crm.db")
    conn.execute("UPDATE email_attachments SET filename = ? WHERE email_id = ?", ("report\u2067\u202egpj.exe\u2069", email["id"]))
    conn.commit()
    conn.close()
    names = [a["filename"] for a in site.admin.get(f"/api/email/detail?id={email['id']}").json["attachments"]]
    assert names == ["reportgpj.exe"]
