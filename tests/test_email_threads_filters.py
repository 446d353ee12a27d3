"""The Emails page's API (issue 24, items 3 and 4), over real HTTP against a CRM syncing from the Gmail emulator
in the investors scope: the thread list filtered by a teammate's mailbox (never telling who was Bcc'd), why a
search matched each conversation, investors found by name, and the state of a new investor's targeted search.

Mail: Kim → admin@ "Fund IV allocation"; member2@ → Kim with admin@ in Bcc "Dinner Thursday" (admin@'s copy
carries no Bcc header, like Gmail's); Kim → member@ Cc admin@ "Quarterly letter", in member@'s mailbox alone (as
if admin@ had deleted or excluded their copy); Zed (no investor yet) → member@; Kim → member2@ Cc Olaf, a
conversation of seven "Term sheet" emails of which only the oldest names Olaf in its body.
"""
import time

import pytest

from capture_fixtures import start_privacy_crm, sync_all
from emulator_fixtures import add_message, make_message

ADMIN, MEMBER, MEMBER2 = "admin@firm.test", "member@firm.test", "member2@firm.test"
KIM = {"name": "Kim Lee", "firm": "Evergreen Partners", "emails": ["kim@alder.vc"], "domains": ["alder.vc"]}
ZED = {"name": "Zed Okoro", "firm": "Zeta", "emails": ["zed@zeta.vc"], "domains": []}
ALLOCATION = make_message(sender="K. Lee <kim@alder.vc>", to=ADMIN, subject="Fund IV allocation <b>bold</b>",
                          body="Hello,\n\nafter the first close we would like a larger allocation in the second "
                               "close, if the terms stay as they are.\n", message_id="<alloc@alder.vc>",
                          date="Mon, 09 Nov 2026 10:00:00 +0000")
DINNER = make_message(sender="Member Two <member2@firm.test>", to="K. Lee <kim@alder.vc>", subject="Dinner Thursday",
                      body="Kim, dinner on Thursday?\n", message_id="<dinner@firm.test>",
                      date="Tue, 10 Nov 2026 10:00:00 +0000", headers={"Bcc": ADMIN})
LETTER = make_message(sender="K. Lee <kim@alder.vc>", to=MEMBER, cc=ADMIN, subject="Quarterly letter",
                      body="The quarterly letter.\n", message_id="<letter@alder.vc>", date="Wed, 11 Nov 2026 10:00:00 +0000")
ZETA = make_message(sender="Zed <zed@zeta.vc>", to=MEMBER, subject="Zeta intro", body="Glad to meet.\n",
                    message_id="<intro@zeta.vc>", date="Thu, 12 Nov 2026 10:00:00 +0000")

TERMS = [make_message(sender="K. Lee <kim@alder.vc>", to=MEMBER2, cc="Olaf Berg <olaf@alder.vc>",
                      subject="Term sheet" if n == 0 else "Re: Term sheet", message_id=f"<terms{n}@alder.vc>",
                      in_reply_to=f"<terms{n - 1}@alder.vc>" if n else None,
                      body="Olaf drafted the term sheet.\n" if n == 0 else f"Revision {n} attached.\n",
                      date=f"Fri, {13 + n:02d} Nov 2026 10:00:00 +0000") for n in range(7)]


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    add_message(emulator.url, ADMIN, ALLOCATION, "INBOX")
    add_message(emulator.url, MEMBER2, DINNER, "SENT")
    add_message(emulator.url, ADMIN, DINNER.replace(f"Bcc: {ADMIN}\n".encode(), b""), "INBOX")
    add_message(emulator.url, MEMBER, LETTER, "INBOX")
    add_message(emulator.url, MEMBER, ZETA, "INBOX")
    for message in TERMS:
        add_message(emulator.url, MEMBER2, message, "INBOX")
    # The investors scope (capture_env's None: the default), polled every 3 s: a new investor's search runs soon.
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys, (KIM,),
                               CRM_GMAIL_CAPTURE_SCOPE=None, CRM_GMAIL_POLL_SEC="3")
    sync_all(server)
    server.mailboxes = {a["email"]: a["id"] for a in server.admin.get("/api/email/accounts").json["accounts"]}
    yield server
    server.stop()
    emulator.stop()


def subjects(client, query):
    reply = client.get(f"/api/email/threads?limit=200&{query}")
    assert reply.status == 200, reply
    return sorted(t["subject"] for t in reply.json["threads"])


def test_the_accounts_name_their_owner_for_the_teammate_filter(site):
    accounts = site.member.get("/api/email/accounts").json["accounts"]
    assert {a["email"]: a["owner"] for a in accounts} == {ADMIN: "Admin", MEMBER: "Member", MEMBER2: "Member Two"}


def test_a_teammate_filter_lists_their_conversations_without_their_bcc(site):
    admin_box = site.mailboxes[ADMIN]
    everything = subjects(site.member, "")
    assert everything == ["Dinner Thursday", "Fund IV allocation <b>bold</b>", "Quarterly letter", "Term sheet"]
    # member@ may not learn that admin@ was Bcc'd on member2@'s dinner invitation
    # nor whether admin@'s mailbox holds the letter admin@ is Cc'd on: a teammate's mailbox is matched on its
    # address among the participants the viewer sees, never on what that mailbox keeps (its exclusions, deletions)
    assert subjects(site.member, f"mailbox={admin_box}") == ["Fund IV allocation <b>bold</b>", "Quarterly letter"]
    # the mailbox's owner sees what it holds; the sender, who sees the Bcc, all that names it
    assert subjects(site.admin, f"mailbox={admin_box}") == ["Dinner Thursday", "Fund IV allocation <b>bold</b>"]
    assert subjects(site.member2, f"mailbox={admin_box}") == ["Dinner Thursday", "Fund IV allocation <b>bold</b>",
                                                               "Quarterly letter"]
    assert subjects(site.member, f"mailbox={site.mailboxes[MEMBER]}") == ["Quarterly letter"]
    assert subjects(site.member, f"mailbox={site.mailboxes[MEMBER2]}&q=dinner") == ["Dinner Thursday"]


@pytest.mark.parametrize("value", ["x", "-1", "1.5", "99999"])
def test_a_bad_mailbox_is_a_clear_400(site, value):
    reply = site.member.get(f"/api/email/threads?mailbox={value}")
    assert reply.status == 400 and "mailbox" in reply.json["error"]


def why(client, q):
    reply = client.get(f"/api/email/threads?q={q}")
    assert reply.status == 200, reply
    return {t["subject"]: t["matched"] for t in reply.json["threads"]}


def marked(entry):
    return [entry["text"][s:e] for s, e in entry["marks"]]


def test_a_search_says_which_field_matched_with_the_words_marked(site):
    found = why(site.member, "allocation")
    assert list(found) == ["Fund IV allocation <b>bold</b>"]
    subject, body = found["Fund IV allocation <b>bold</b>"]
    assert subject["field"] == "subject" and marked(subject) == ["allocation"]
    assert body["field"] == "body" and marked(body) == ["allocation"]
    assert body["text"].startswith("Hello, after the first close") and "\n" not in body["text"]
    person = why(site.member, "member2")["Dinner Thursday"]
    assert [(p["field"], p["text"], marked(p)) for p in person] == \
        [("participant", "Member Two <member2@firm.test>", ["member2"])]


def test_a_conversation_is_explained_from_its_newest_five_matching_emails(site):
    # All seven "Term sheet" emails match "olaf" (a participant); only the oldest has it in its body, and the
    # explanation reads no further back than the newest five: the participant, never that body.
    reply = site.member.get("/api/email/threads?q=olaf&limit=200")
    thread = next(t for t in reply.json["threads"] if t["subject"] == "Term sheet")
    assert thread["email_count"] == 7
    assert [(e["field"], e["text"]) for e in thread["matched"]] == [("participant", "Olaf Berg <olaf@alder.vc>")]
    body = site.member.get("/api/email/threads?q=drafted&limit=200").json["threads"]  # the oldest alone matches
    assert [e["field"] for e in next(t for t in body if t["subject"] == "Term sheet")["matched"]] == ["body"]


def test_an_investor_is_found_by_name_and_firm(site):
    found = why(site.member, "evergreen")  # in no email: only the investor's firm
    assert sorted(found) == ["Dinner Thursday", "Fund IV allocation <b>bold</b>", "Quarterly letter", "Term sheet"]
    entry = found["Quarterly letter"][0]
    assert (entry["field"], entry["text"], marked(entry), entry["investor_id"]) == \
        ("investor", "Kim Lee · Evergreen Partners", ["Evergreen"], site.ids["Kim Lee"])
    assert why(site.member, "evergreen%20nothing-else") == {}


def test_the_body_is_explained_only_to_who_may_read_it(site):
    # admin@ shows subjects only: member@ finds the allocation mail by subject, never by (or with) its body
    account = site.mailboxes[ADMIN]
    assert site.admin.patch(f"/api/email/accounts/{account}", {"visibility": "subject"}).status == 200
    try:
        assert why(site.member, "terms") == {}
        assert [e["field"] for e in why(site.member, "allocation")["Fund IV allocation <b>bold</b>"]] == ["subject"]
        assert [e["field"] for e in why(site.admin, "allocation")["Fund IV allocation <b>bold</b>"]] == ["subject", "body"]
    finally:
        assert site.admin.patch(f"/api/email/accounts/{account}", {"visibility": "everything"}).status == 200


def test_the_search_state_of_a_new_investor_until_its_mail_is_in(site):
    assert site.bot.get(f"/api/email/investors/{site.ids['Kim Lee']}/search").status == 403
    assert site.member.get("/api/email/investors/99999/search").status == 404
    assert site.member.get(f"/api/email/investors/{site.ids['Kim Lee']}/search").json == \
        {"investor_id": site.ids["Kim Lee"], "state": "done", "mailboxes": 3, "searched": 3}
    assert site.member.get("/api/investors").json["email"] is True  # the grid follows the search only then
    reply = site.member.post("/api/investors", ZED)
    assert reply.status == 201
    zed = reply.json["id"]
    first = site.member.get(f"/api/email/investors/{zed}/search").json
    assert first == {"investor_id": zed, "state": "searching", "mailboxes": 3, "searched": 0}
    deadline, state = time.monotonic() + 30, first
    while state["state"] == "searching" and time.monotonic() < deadline:
        time.sleep(0.25)
        state = site.member.get(f"/api/email/investors/{zed}/search").json
    assert state == {"investor_id": zed, "state": "done", "mailboxes": 3, "searched": 3}
    items = site.member.get(f"/api/investors/{zed}/timeline").json["items"]
    assert [i["email"]["subject"] for i in items if i["kind"] == "email"] == ["Zeta intro"]
    # an investor without addresses has nothing to search for
    bare = site.member.post("/api/investors", {"name": "No Address"}).json["id"]
    assert site.member.get(f"/api/email/investors/{bare}/search").json["state"] == "idle"
