"""Privacy review of issues 11, 16 and 17 over real HTTP, mail synced from the Gmail emulator, as an
attacker with a member account (member2@) against a teammate (member@):

- a co-holder of a private conversation must not unmark it and so read the messages only the
  marker's mailbox holds;
- in the investors scope, mail with an outsider inside an investor conversation (a forward to one's
  lawyer and the lawyer's answer) is not shown to the team: only teammates' internal replies are;
  rematch takes out such mail shown before the check;
- a personal exclusion's pattern stays out of the admin-readable audit log;
- the bot gets no draft of a card it may not see, decided or not;
- an investor row saved before the address policy captures no teammate.
"""
import sqlite3

import pytest

from capture_fixtures import start_privacy_crm, sync_all
from test_privacy_api import db_rows, mail

MEMBER, MEMBER2 = "member@firm.test", "member2@firm.test"


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    url = emulator.url
    # Both hold the first message; Kim answers member@ alone in the same conversation.
    mail(url, [MEMBER, MEMBER2], "Shared root", "shared-root@alder.vc", "Could we talk next week?\n")
    mail(url, [MEMBER], "Re: Shared root", "only-member@alder.vc", "COHOLDERSECRET between us, could you call?\n",
         in_reply_to="<shared-root@alder.vc>")
    # member@ asks her lawyer about Kim's term sheet (a forward, in the same Gmail conversation), and
    # tells member2@ about it (an internal reply: shown with the conversation, issue 11).
    mail(url, [MEMBER], "Term sheet", "ts@alder.vc", "Our term sheet, could you sign?\n")
    mail(url, [MEMBER], "Fwd: Term sheet", "fwd@firm.test", "LAWYERWORD is this clause fair?\n", labels="SENT",
         sender="Member <member@firm.test>", to="Lee Lawyer <lee@law.test>", in_reply_to="<ts@alder.vc>")
    mail(url, [MEMBER], "Re: Fwd: Term sheet", "lawyer-reply@law.test", "LAWYERWORD no, push back.\n",
         sender="Lee Lawyer <lee@law.test>", to=MEMBER, in_reply_to="<fwd@firm.test>")
    mail(url, [MEMBER], "Re: Term sheet", "internal@firm.test", "INTERNALWORD Kim sent terms.\n", labels="SENT",
         sender="Member <member@firm.test>", to=MEMBER2, in_reply_to="<ts@alder.vc>")
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys, CRM_GMAIL_CAPTURE_SCOPE="investors")
    sync_all(server)
    yield server
    server.stop()
    emulator.stop()


def thread_of(site, mid):
    return db_rows(site, "SELECT thread_id FROM emails WHERE message_id = ?", mid)[0][0]


def readable(client, thread, word) -> bool:
    """Whether `word` reaches the client through the thread, its emails' detail, or search."""
    found = client.get(f"/api/email/threads/{thread}")
    shown = [] if found.status == 404 else found.json["emails"]
    texts = [repr(client.get(f"/api/email/detail?id={e['id']}").json) for e in shown]
    return word.lower() in (repr(shown) + "".join(texts)).lower() or \
        client.get(f"/api/email/threads?q={word}").json["total"] > 0


def test_a_co_holder_cannot_unmark_what_the_marker_keeps_private(site):
    thread = thread_of(site, "shared-root@alder.vc")
    assert thread == thread_of(site, "only-member@alder.vc")
    assert readable(site.member2, thread, "COHOLDERSECRET")  # shared with the team until marked private
    assert site.member.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
    assert not readable(site.member2, thread, "COHOLDERSECRET")
    # member2@ holds the first message, so may see the conversation, but unmarking would show everyone
    # (member2@ included) what only member@'s mailbox holds: refused.
    reply = site.member2.post(f"/api/email/threads/{thread}/private", {"private": False})
    assert reply.status == 403, reply.json
    assert not readable(site.member2, thread, "COHOLDERSECRET")
    assert not readable(site.admin, thread, "COHOLDERSECRET")
    # The one who marked it may unmark it.
    assert site.member.post(f"/api/email/threads/{thread}/private", {"private": False}).status == 200
    assert readable(site.admin, thread, "COHOLDERSECRET")


def test_an_outsider_in_an_investor_conversation_is_not_shown_to_the_team(site):
    thread = thread_of(site, "ts@alder.vc")
    assert thread_of(site, "internal@firm.test") == thread
    # The internal reply belongs with the conversation (issue 11) ...
    assert readable(site.member2, thread, "INTERNALWORD")
    # ... the forward to a lawyer and the lawyer's answer do not: not shown, their text not kept.
    for client in (site.member2, site.admin):
        assert not readable(client, thread, "LAWYERWORD")
    stored = db_rows(site, "SELECT matched, has_body, body_text FROM emails WHERE message_id IN (?, ?)",
                     "fwd@firm.test", "lawyer-reply@law.test")
    assert stored == [], stored  # no row at all: an id-only marker keeps them from being fetched again
    # A later answer from the lawyer in the same conversation, fetched by the incremental sync: the same.
    mail(site.emulator.url, [MEMBER], "Re: Fwd: Term sheet", "lawyer-reply-2@law.test", "LAWYERWORD again.\n",
         sender="Lee Lawyer <lee@law.test>", to=MEMBER, in_reply_to="<lawyer-reply@law.test>")
    sync_all(site)
    assert not readable(site.member2, thread, "LAWYERWORD")
    assert db_rows(site, "SELECT has_body FROM emails WHERE message_id = 'lawyer-reply-2@law.test'") in ([], [(0,)])


def test_a_personal_exclusion_is_not_told_to_the_admins_through_the_audit_log(site):
    """Exclusions are their owner's (GET /api/email/exclusions is owner only): the admin-readable audit
    log records that one was added or removed, not whom it keeps out (a doctor, a therapist)."""
    for method in ("POST", "DELETE"):
        reply = site.member2.request(method, "/api/email/exclusions", {"pattern": "dr@therapy.test"})
        assert reply.status in (200, 201)
    assert site.admin.post("/api/email/exclusions", {"pattern": "@vendor.test", "scope": "firm"}).status == 201
    entries = [e for e in site.admin.get("/api/audit?limit=200").json["entries"]
               if e["action"].startswith("email.exclusion.")]
    assert {e["action"] for e in entries} == {"email.exclusion.add", "email.exclusion.remove"}
    assert "therapy.test" not in repr(entries)
    mine = [e for e in entries if e["user"]["email"] == MEMBER2]
    assert len(mine) == 2 and all(e["detail"] == {"scope": "mine"} for e in mine)
    # firm-wide ones are the firm's: their pattern is recorded
    assert any(e["detail"] == {"scope": "firm", "pattern": "@vendor.test"} for e in entries)
    assert "therapy.test" not in repr(db_rows(site, "SELECT * FROM audit_log"))


def test_the_bot_cannot_read_a_decided_card_it_was_never_shown(site):
    """A card from mail its owner keeps from teammates (visibility `subject`) never reaches the bot; once
    decided on /capture the bot must not get its draft back from a 409 either (decide, draft, posted)."""
    account = next(a["id"] for a in site.member2.get("/api/email/accounts").json["accounts"] if a["email"] == MEMBER2)
    assert site.member2.patch(f"/api/email/accounts/{account}", {"visibility": "subject"}).status == 200
    try:
        mail(site.emulator.url, [MEMBER2], "Narrow deal", "narrow@alder.vc", "NARROWWORD could you send the SAFE?\n")
        sync_all(site)
        card = next(c for c in site.member2.get("/api/email/proposals").json["proposals"]
                    if c["email"]["subject"] == "Narrow deal")
        assert card["owner_only"] and "NARROWWORD" in card["draft"] + card["email"]["snippet"]
        assert site.member2.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "reject"}).status == 200
        base = f"/api/intake/email-proposals/{card['id']}"
        for path, body in (("decide", {"decision": "approve", "actor": "@x:y"}),
                           ("draft", {"draft": "x", "model": "m", "expected_version": 1}),
                           ("posted", {"room_id": "!r:x", "event_id": "$e"})):
            reply = site.bot.post(f"{base}/{path}", body)
            assert reply.status == 404 and "NARROWWORD" not in repr(reply.json), (path, reply.status, reply.json)
        # GET …/{id} (issue 23) goes through the same check: the same answer as decide, word for word
        state, decide = site.bot.get(base), site.bot.post(f"{base}/decide", {"decision": "approve", "actor": "@x:y"})
        assert (state.status, state.json) == (decide.status, decide.json) and "NARROWWORD" not in repr(state.json)
    finally:
        assert site.member2.patch(f"/api/email/accounts/{account}", {"visibility": "everything"}).status == 200


def test_the_bot_gets_one_404_for_a_hidden_proposal_and_an_unknown_one(site):
    """Issue 22: "withdrawn from the review room" told the bot that a hidden card (here: from a mailbox at
    visibility `subject`, pending) exists. Every intake route answers a hidden id and an id that never
    existed with the same status and byte-identical body."""
    account = next(a["id"] for a in site.member2.get("/api/email/accounts").json["accounts"] if a["email"] == MEMBER2)
    assert site.member2.patch(f"/api/email/accounts/{account}", {"visibility": "subject"}).status == 200
    try:
        mail(site.emulator.url, [MEMBER2], "Probe deal", "probe@alder.vc", "PROBEWORD could we talk terms?\n")
        sync_all(site)
        hidden = next(c["id"] for c in site.member2.get("/api/email/proposals").json["proposals"]
                      if c["email"]["subject"] == "Probe deal")
        unknown = 999999
        assert db_rows(site, "SELECT count(*) FROM email_proposals WHERE id = ?", unknown)[0][0] == 0
        for method, path, body in (("GET", "", None), ("POST", "/decide", {"decision": "approve", "actor": "@x:y"}),
                                   ("POST", "/draft", {"draft": "x", "model": "m", "expected_version": 1}),
                                   ("POST", "/posted", {"room_id": "!r:x", "event_id": "$e"}), ("POST", "/closed", {})):
            answers = [site.bot.request(method, f"/api/intake/email-proposals/{pid}{path}", body) for pid in (hidden, unknown)]
            assert answers[0].status == answers[1].status == 404, (path, answers)
            assert answers[0].body == answers[1].body, (path, answers)
            assert str(hidden).encode() not in answers[0].body and b"PROBEWORD" not in answers[0].body
    finally:
        assert site.member2.patch(f"/api/email/accounts/{account}", {"visibility": "everything"}).status == 200


def test_an_investor_address_saved_before_the_policy_captures_no_teammate(site):
    """A row the API would refuse today (a teammate's address, saved before the address policy) neither
    makes the search fetch that teammate's mail nor links it: their mail to a colleague stays theirs."""
    from backend import investors_db
    from backend.db import connect
    conn = connect(f"{site.data_dir}/crm.db")
    try:
        investors_db.create_investor(conn, "Legacy probe", None, [MEMBER2], ["eu.firm.test"])
    finally:
        conn.close()
    mail(site.emulator.url, [MEMBER, MEMBER2], "Lunch", "lunch@firm.test", "LUNCHWORD my doctor said no.\n",
         sender="Member Two <member2@firm.test>", to=MEMBER)
    sync_all(site)
    assert site.admin.get("/api/email/threads?q=LUNCHWORD").json["total"] == 0
    assert "lunchword" not in repr(db_rows(site, "SELECT subject, body_text, snippet FROM emails")).lower()
    assert db_rows(site, "SELECT count(*) FROM email_investor_links l JOIN investors i ON i.id = l.investor_id "
                         "WHERE i.name = 'Legacy probe'") == [(0,)]


def test_rematch_takes_an_outsider_out_of_a_conversation_shown_before_the_fix(site):
    """A database from before ingest checked for outsiders: the forward to the lawyer shown with the
    conversation (matched, body kept). An admin's rematch takes it out, body and all. (Today's capture keeps
    no row of it at all, an id-only marker: the old row is planted as such a database held it.)"""
    thread = thread_of(site, "ts@alder.vc")
    conn = sqlite3.connect(f"{site.data_dir}/crm.db")
    try:
        with conn:
            if not conn.execute("SELECT 1 FROM emails WHERE message_id = 'fwd@firm.test'").fetchone():
                account = conn.execute("SELECT id FROM email_accounts WHERE email = ?", (MEMBER,)).fetchone()[0]
                email_id = conn.execute(
                    "INSERT INTO emails (message_key, message_id, thread_id, from_email, date, subject, created_at, "
                    "updated_at) VALUES ('mid:fwd@firm.test', 'fwd@firm.test', ?, ?, '2026-11-02T10:00:00Z', "
                    "'Fwd: Term sheet', '2026-11-02T10:00:00Z', '2026-11-02T10:00:00Z')", (thread, MEMBER)).lastrowid
                conn.executemany("INSERT INTO email_participants (email_id, role, address) VALUES (?, ?, ?)",
                                 [(email_id, "from", MEMBER), (email_id, "to", "lee@law.test")])
                conn.execute("INSERT INTO email_mailbox_entries (email_id, account_id, gmail_id, label_ids) "
                             "VALUES (?, ?, 'planted-fwd', '[\"SENT\"]')", (email_id, account))
            conn.execute("UPDATE emails SET matched = 1, has_body = 1, body_text = 'OLDLAWYERWORD' "
                         "WHERE message_id = 'fwd@firm.test'")
    finally:
        conn.close()
    assert readable(site.member2, thread, "OLDLAWYERWORD")  # the state rematch cleans up
    assert site.admin.post("/api/email/rematch", {}).status == 200
    assert not readable(site.member2, thread, "OLDLAWYERWORD")
    assert db_rows(site, "SELECT matched, has_body, body_text FROM emails WHERE message_id = 'fwd@firm.test'") \
        == [(0, 0, None)]
    assert readable(site.member2, thread, "INTERNALWORD")  # the teammates-only reply stays
