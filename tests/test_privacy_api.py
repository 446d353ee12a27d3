"""Privacy controls over real HTTP with two members and an admin, mail synced from the Gmail emulator:
exclusions (never stored, purge later), private conversations, mailbox visibility, Bcc (issue 16).

Mailboxes: member@ (private conversations, Bcc sender, ingest exclusions), member2@ (later
exclusion purge) and admin@ (visibility levels). Tests use disjoint conversations: order-free.
"""
import pytest

from capture_fixtures import db_rows, start_privacy_crm, sync_all
from emulator_fixtures import add_message, make_message

ADMIN, MEMBER, MEMBER2 = "admin@firm.test", "member@firm.test", "member2@firm.test"
KIM_FROM = "Kim Lee <kim@alder.vc>"


def mail(url, boxes, subject, mid, body="Could you send the data room link?\n", labels="INBOX", **kw):
    raw = make_message(sender=kw.pop("sender", KIM_FROM), to=kw.pop("to", ", ".join(boxes)), subject=subject,
                       message_id=f"<{mid}>", body=body, **kw)
    for box in boxes:
        add_message(url, box, raw, labels)


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    url = emulator.url
    # Kept out by member@'s exclusions from the first sync on (never stored, not even metadata).
    mail(url, [MEMBER], "Lawyer review", "excl-lawyer@alder.vc", cc="Lee Lawyer <lee@law.test>",
         body="EXCLUDED-BODY please review\n")
    mail(url, [MEMBER], "Your results", "excl-doc@clinic.doctor.test", sender="Doc <doc@clinic.doctor.test>",
         body="EXCLUDED-BODY results\n")
    mail(url, [MEMBER], "Kept deal", "kept@alder.vc")
    # member2@ excludes counsel later: the shared copy stays (member@ holds it), the one-mailbox one goes.
    mail(url, [MEMBER, MEMBER2], "Shared with counsel", "counsel-shared@alder.vc", cc="Counsel <c@counsel.test>")
    mail(url, [MEMBER2], "Only mine with counsel", "counsel-only@alder.vc", cc="Counsel <c@counsel.test>")
    mail(url, [MEMBER, ADMIN], "Firmwide vendor", "vendor@alder.vc", cc="V <v@firmwide.test>")
    # Private conversations (member@ holds them).
    mail(url, [MEMBER], "Secret deal", "secret@alder.vc", body="SECRETWORD terms attached, could you sign?\n",
         attachments=[("terms.txt", "text/plain", b"secret terms")])
    mail(url, [MEMBER], "Approved then private", "approved-private@alder.vc")
    mail(url, [MEMBER, MEMBER2], "Shared private", "shared-private@alder.vc")
    mail(url, [MEMBER], "Unmark me", "unmark@alder.vc")
    # Visibility (admin@'s mailbox).
    mail(url, [ADMIN], "Quiet subject", "quiet@alder.vc", body="QUIETWORD could you send the model?\n",
         html="<p>QUIETWORD html</p>", attachments=[("model.csv", "text/csv", b"a,b\n")])
    mail(url, [ADMIN, MEMBER], "Both hold", "both@alder.vc", body="BOTHWORD hello, could you call?\n")
    # Bcc: member@'s sent copy names the Bcc; member2@ (a Bcc recipient) gets a copy without it.
    bcc = make_message(sender="Member <member@firm.test>", to="kim@alder.vc", subject="Bcc check",
                       message_id="<bcc-check@firm.test>", body="Happy to share the deck.\n",
                       headers={"Bcc": "Adv <adv@advisors.test>, member2@firm.test"})
    add_message(url, MEMBER, bcc, "SENT")
    add_message(url, MEMBER2, bcc.replace(b"Bcc: Adv <adv@advisors.test>, member2@firm.test\n", b""), "INBOX")

    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys)
    for pattern in ("lee@law.test", "@doctor.test"):
        assert server.member.post("/api/email/exclusions", {"pattern": pattern, "scope": "mine"}).status == 201
    sync_all(server)  # the full backfill
    yield server
    server.stop()
    emulator.stop()


def everything_stored(site) -> str:
    """Every row of every table but the exclusion list and the audit log (which name the patterns)."""
    tables = [r[0] for r in db_rows(site, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                                          "('email_exclusions', 'audit_log') AND name NOT LIKE 'sqlite_%'")]
    return "\n".join(repr(row) for t in tables for row in db_rows(site, f'SELECT * FROM "{t}"')).lower()


def thread_id(site, client, subject):
    threads = client.get(f"/api/email/threads?q={subject.replace(' ', '+')}").json["threads"]
    return next(t["id"] for t in threads if t["subject"] == subject)


def subjects(client, q=""):
    return {t["subject"] for t in client.get(f"/api/email/threads?limit=200&q={q}").json["threads"]}


def email_id(site, mid):
    return db_rows(site, "SELECT id FROM emails WHERE message_id = ?", mid)[0][0]


def cards(client):
    return {c["email"]["subject"]: c for c in client.get("/api/email/proposals").json["proposals"]}


def bot_lists(site):
    work = site.bot.get("/api/intake/email-proposals").json
    return ({c["id"] for c in work["to_post"]}, {c["id"] for c in work["open"]},
            {c["id"]: c for c in work["to_close"]})


# -- exclusions -------------------------------------------------------------------------------------
def test_excluded_mail_is_never_stored_after_backfill_and_incremental(site):
    url = site.emulator.url
    assert "excl-" not in everything_stored(site) and "law.test" not in everything_stored(site)
    assert "Kept deal" in subjects(site.member)
    # New mail while excluded, then an incremental sync.
    mail(url, [MEMBER], "Lawyer again", "excl-lawyer-2@alder.vc", cc="lee@law.test", body="EXCLUDED-BODY 2\n")
    mail(url, [MEMBER], "Clinic", "excl-doc-2@x.doctor.test", sender="n@x.doctor.test", body="EXCLUDED-BODY 3\n")
    mail(url, [MEMBER], "Kept again", "kept-2@alder.vc")
    sync_all(site)
    kinds = {r[0] for r in db_rows(site, "SELECT r.kind FROM email_sync_runs r JOIN email_accounts a "
                                         "ON a.id = r.account_id WHERE a.email = ?", MEMBER)}
    assert kinds >= {"backfill", "incremental"}
    stored = everything_stored(site)
    assert "excl-" not in stored and "law.test" not in stored and "doctor.test" not in stored
    assert "excluded-body" not in stored
    assert "Kept again" in subjects(site.member)


def test_adding_an_exclusion_purges_only_that_mailbox(site):
    shared, only = email_id(site, "counsel-shared@alder.vc"), email_id(site, "counsel-only@alder.vc")
    before = cards(site.member2)
    assert {"Shared with counsel", "Only mine with counsel"} <= set(before)
    reply = site.member2.post("/api/email/exclusions", {"pattern": "C@Counsel.test", "scope": "mine"})
    assert reply.status == 201 and reply.json["purged"] == 2 and reply.json["exclusion"]["pattern"] == "c@counsel.test"
    holders = db_rows(site, "SELECT a.email FROM email_mailbox_entries m JOIN email_accounts a ON a.id = m.account_id "
                            "WHERE m.email_id = ?", shared)
    assert holders == [(MEMBER,)]  # member@'s copy stays
    assert db_rows(site, "SELECT id FROM emails WHERE id = ?", only) == []  # only member2@ held it: gone
    status = dict(db_rows(site, "SELECT e.message_id, p.status FROM email_proposals p JOIN emails e ON e.id = p.email_id"))
    assert status["counsel-shared@alder.vc"] == "pending"
    assert "Only mine with counsel" not in cards(site.member2) and "Shared with counsel" in cards(site.member)
    # Again: the same exclusion is no new one, and a sync brings nothing back.
    assert site.member2.post("/api/email/exclusions", {"pattern": "c@counsel.test"}).json["created"] is False
    sync_all(site)
    assert db_rows(site, "SELECT id FROM emails WHERE message_id = 'counsel-only@alder.vc'") == []


def test_firm_wide_exclusion_by_an_admin(site):
    assert site.member.post("/api/email/exclusions", {"pattern": "@firmwide.test", "scope": "firm"}).status == 403
    reply = site.admin.post("/api/email/exclusions", {"pattern": "@firmwide.test", "scope": "firm"})
    assert reply.status == 201 and reply.json["purged"] == 2  # from member@'s and admin@'s mailboxes
    assert "firmwide.test" not in everything_stored(site)
    listed = site.member2.get("/api/email/exclusions").json["exclusions"]
    assert {(x["scope"], x["pattern"]) for x in listed} >= {("firm", "@firmwide.test")}
    assert not any(x["pattern"] == "lee@law.test" for x in listed)  # member@'s own list is theirs alone


def test_exclusion_input_and_roles(site):
    for body in ({"pattern": "nope"}, {"pattern": "@"}, {"pattern": "@no_underscore.test"}, {"pattern": 5},
                 {"pattern": "a@b.test", "scope": "everyone"}, {"pattern": "a@b.test", "colour": 1}, {}):
        assert site.member.post("/api/email/exclusions", body).status == 400, body
    assert site.member.request("DELETE", "/api/email/exclusions", {"pattern": "never@added.test"}).status == 404
    assert site.member.request("DELETE", "/api/email/exclusions", {"pattern": "@firmwide.test",
                                                                   "scope": "firm"}).status == 403
    assert site.bot.get("/api/email/exclusions").status == 403
    assert site.client().get("/api/email/exclusions").status == 401
    assert site.member.post("/api/email/exclusions", {"pattern": "temp@gone.test"}).status == 201
    assert site.member.request("DELETE", "/api/email/exclusions", {"pattern": "temp@gone.test"}).status == 200
    assert not any(x["pattern"] == "temp@gone.test" for x in site.member.get("/api/email/exclusions").json["exclusions"])
    actions = [e["action"] for e in site.admin.get("/api/audit?limit=200").json["entries"]]
    assert "email.exclusion.add" in actions and "email.exclusion.remove" in actions


# -- private conversations -----------------------------------------------------------------------------
def hidden_everywhere(site, client, thread, mid, word):
    email = email_id(site, mid)
    attachment = db_rows(site, "SELECT id FROM email_attachments WHERE email_id = ?", email)
    assert client.get(f"/api/email/threads/{thread}").status == 404
    assert client.get(f"/api/email/detail?id={email}").status == 404
    assert client.get(f"/api/email/html?id={email}").status == 404
    for (attachment_id,) in attachment:
        assert client.get(f"/api/email/attachments/{attachment_id}").status == 404
    assert thread not in {t["id"] for t in client.get("/api/email/threads?limit=200").json["threads"]}
    assert client.get(f"/api/email/threads?q={word}").json["total"] == 0


def test_private_conversation_is_invisible_to_everyone_else_and_the_bot(site):
    thread = thread_id(site, site.member, "Secret deal")
    card = cards(site.member)["Secret deal"]
    assert card["id"] in bot_lists(site)[0]
    posted = site.bot.post(f"/api/intake/email-proposals/{card['id']}/posted", {"room_id": "!r:x", "event_id": "$s1"})
    assert posted.status == 200 and card["id"] in bot_lists(site)[1]
    assert site.member2.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 403  # not a holder
    reply = site.member.post(f"/api/email/threads/{thread}/private", {"private": True})
    assert reply.status == 200 and reply.json["withdrawn"] == [card["id"]]
    for other in (site.member2, site.admin):
        hidden_everywhere(site, other, thread, "secret@alder.vc", "SECRETWORD")
        assert other.post(f"/api/email/threads/{thread}/private", {"private": False}).status == 404
        assert "Secret deal" not in cards(other)
    to_post, opened, to_close = bot_lists(site)
    assert card["id"] not in to_post and card["id"] not in opened and to_close[card["id"]]["status"] == "superseded"
    assert site.bot.post(f"/api/intake/email-proposals/{card['id']}/decide",
                         {"decision": "approve", "actor": "@x:y"}).status == 404
    assert site.bot.post(f"/api/intake/email-proposals/{card['id']}/closed").status == 200
    # The holder still reads it all.
    assert site.member.get(f"/api/email/threads/{thread}").json["private"] is True
    assert site.member.get("/api/email/threads?q=SECRETWORD").json["total"] == 1
    # New mail in the private conversation: stored for its holder, no new card.
    mail(site.emulator.url, [MEMBER], "Re: Secret deal", "secret-2@alder.vc", in_reply_to="<secret@alder.vc>",
         body="SECRETWORD again, could you confirm?\n")
    sync_all(site)
    assert len(site.member.get(f"/api/email/threads/{thread}").json["emails"]) == 2
    assert not any("Secret deal" in s for s in cards(site.member))


def test_approved_note_stays_when_its_conversation_goes_private(site):
    card = cards(site.member)["Approved then private"]
    assert site.member.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "approve"}).status == 200
    thread = thread_id(site, site.member, "Approved then private")
    assert site.member.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
    notes = site.member2.get(f"/api/investors/{card['investor']['id']}/notes").json["notes"]
    assert any(n["body"] == card["draft"] for n in notes)


def test_a_co_holder_keeps_seeing_a_shared_private_conversation(site):
    thread = thread_id(site, site.member, "Shared private")
    assert site.member.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
    assert site.member2.get(f"/api/email/threads/{thread}").status == 200  # their own mailbox holds it
    assert site.admin.get(f"/api/email/threads/{thread}").status == 404


def test_unmarking_restores_the_conversation_and_its_card(site):
    thread = thread_id(site, site.member, "Unmark me")
    old = cards(site.member)["Unmark me"]
    assert site.member.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
    assert "Unmark me" not in subjects(site.member2)
    reply = site.member.post(f"/api/email/threads/{thread}/private", {"private": False})
    assert reply.status == 200 and len(reply.json["restored"]) == 1
    assert "Unmark me" in subjects(site.member2)
    new = cards(site.member2)["Unmark me"]
    assert new["id"] != old["id"] and new["draft"] == old["draft"] and new["id"] in bot_lists(site)[0]


def test_private_input_and_roles(site):
    thread = thread_id(site, site.member, "Kept deal")
    assert cards(site.member)["Kept deal"]["holder"] is True and cards(site.member2)["Kept deal"]["holder"] is False
    assert site.member.get(f"/api/email/threads/{thread}").json["holder"] is True
    assert site.member2.get(f"/api/email/threads/{thread}").json["holder"] is False
    for body in ({}, {"private": "yes"}, {"private": 1}):
        assert site.member.post(f"/api/email/threads/{thread}/private", body).status == 400
    assert site.admin.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 403  # sees, holds not
    assert site.member.post("/api/email/threads/999999/private", {"private": True}).status == 404
    assert site.bot.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 403
    assert site.client().post(f"/api/email/threads/{thread}/private", {"private": True}).status == 401


# -- mailbox visibility ------------------------------------------------------------------------------
def account_id(site, address):
    return next(a["id"] for a in site.admin.get("/api/email/accounts").json["accounts"] if a["email"] == address)


def test_visibility_levels_show_exactly_what_they_promise(site):
    admin_box = account_id(site, ADMIN)
    quiet = email_id(site, "quiet@alder.vc")
    attachment = db_rows(site, "SELECT id FROM email_attachments WHERE email_id = ?", quiet)[0][0]
    card = cards(site.member)["Quiet subject"]
    assert site.bot.post(f"/api/intake/email-proposals/{card['id']}/posted",
                         {"room_id": "!r:x", "event_id": "$q1"}).status == 200
    try:
        assert site.admin.patch(f"/api/email/accounts/{admin_box}", {"visibility": "subject"}).status == 200
        for other in (site.member, site.member2):
            detail = other.get(f"/api/email/detail?id={quiet}").json
            assert detail["subject"] == "Quiet subject" and detail["body_text"] is None and detail["attachments"] == []
            assert detail["from"]["email"] == "kim@alder.vc" and detail["visibility"] == "subject"
            assert other.get(f"/api/email/html?id={quiet}").status == 404
            assert other.get(f"/api/email/attachments/{attachment}").status == 404
            assert other.get("/api/email/threads?q=QUIETWORD").json["total"] == 0  # the body is not searchable
            assert "Quiet subject" in subjects(other, "Quiet")  # the subject is
            thread = other.get(f"/api/email/threads/{detail['thread_id']}").json
            assert thread["emails"][0]["snippet"] is None and thread["subject"] == "Quiet subject"
            assert "Quiet subject" not in cards(other)  # owner-only card
        to_post, opened, to_close = bot_lists(site)
        assert card["id"] not in opened and to_close[card["id"]]["status"] == "withdrawn"
        assert site.bot.post(f"/api/intake/email-proposals/{card['id']}/decide",
                             {"decision": "approve", "actor": "@x:y"}).status == 404
        assert site.bot.post(f"/api/intake/email-proposals/{card['id']}/closed").status == 200
        assert site.member.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "reject"}).status == 404
        mine = cards(site.admin)["Quiet subject"]
        assert mine["owner_only"] is True and mine["draft"]
        assert site.admin.get(f"/api/email/detail?id={quiet}").json["body_text"].startswith("QUIETWORD")

        assert site.admin.patch(f"/api/email/accounts/{admin_box}", {"visibility": "metadata"}).status == 200
        detail = site.member.get(f"/api/email/detail?id={quiet}").json
        assert detail["subject"] is None and detail["body_text"] is None and detail["visibility"] == "metadata"
        assert detail["date"] and detail["to"][0]["email"] == ADMIN
        assert "Quiet subject" not in subjects(site.member, "Quiet")
        listed = site.member.get(f"/api/email/threads/{detail['thread_id']}").json
        assert listed["subject"] is None and listed["emails"][0]["subject"] is None
        # The most open holder wins: member@ also holds "Both hold" with everything.
        both = site.member2.get(f"/api/email/detail?id={email_id(site, 'both@alder.vc')}").json
        assert both["body_text"].startswith("BOTHWORD") and both["visibility"] == "everything"
    finally:
        assert site.admin.patch(f"/api/email/accounts/{admin_box}", {"visibility": "everything"}).status == 200
    assert site.member.get(f"/api/email/detail?id={quiet}").json["body_text"].startswith("QUIETWORD")


def test_visibility_input_and_roles(site):
    member_box, member2_box = account_id(site, MEMBER), account_id(site, MEMBER2)
    assert site.member.patch(f"/api/email/accounts/{member2_box}", {"visibility": "metadata"}).status == 403
    assert site.bot.patch(f"/api/email/accounts/{member_box}", {"visibility": "metadata"}).status == 403
    assert site.client().patch(f"/api/email/accounts/{member_box}", {"visibility": "metadata"}).status == 401
    for body in ({}, {"visibility": "none"}, {"visibility": "everything", "x": 1}):
        assert site.member.patch(f"/api/email/accounts/{member_box}", body).status == 400
    assert site.member.patch("/api/email/accounts/999999", {"visibility": "subject"}).status == 404
    reply = site.admin.patch(f"/api/email/accounts/{member_box}", {"visibility": "everything"})
    assert reply.status == 200 and reply.json["account"]["visibility"] == "everything"
    shown = {a["email"]: a["visibility"] for a in site.member.get("/api/email/accounts").json["accounts"]}
    assert shown[MEMBER] == "everything"


# -- Bcc ---------------------------------------------------------------------------------------------
def test_bcc_is_shown_only_to_its_sender(site):
    email = email_id(site, "bcc-check@firm.test")
    sender_view = site.member.get(f"/api/email/detail?id={email}").json
    assert {p["email"] for p in sender_view["bcc"]} == {"adv@advisors.test", "member2@firm.test"}
    for other in (site.member2, site.admin):
        detail = other.get(f"/api/email/detail?id={email}").json
        assert "bcc" not in detail
        thread = other.get(f"/api/email/threads?q=Bcc+check").json["threads"][0]
        assert "adv@advisors.test" not in {p["email"] for p in thread["participants"]}
        assert other.get("/api/email/threads?q=advisors").json["total"] == 0
    assert "adv@advisors.test" in {p["email"] for p in
                                   site.member.get("/api/email/threads?q=Bcc+check").json["threads"][0]["participants"]}
    for card in site.bot.get("/api/intake/email-proposals").json["to_post"]:
        assert "advisors.test" not in repr(card)
