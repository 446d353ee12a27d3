"""Planted copies (issue 22, item 1), over real HTTP against a CRM syncing from the Gmail emulator.

A member who sees a teammate's email at a limited level (or saw a conversation before it went private)
puts a message claiming to be it into their own Gmail: same Message-ID, From and Date (any user can
insert mail into their own mailbox). It must never raise anyone's access to the original: it is stored
as an email of its own, held by the planter alone. A genuine copy (the same content) still merges.

Mailboxes: admin@ and member@ (victims, markers), member2@ (the planter). Tests use disjoint mail.
"""
import email.utils
import sqlite3
from email import message_from_bytes, policy

import pytest

from capture_fixtures import db_rows, start_privacy_crm, sync_all
from emulator_fixtures import add_message, make_message

ADMIN, MEMBER, MEMBER2 = "admin@firm.test", "member@firm.test", "member2@firm.test"
KIM_FROM = "Kim Lee <kim@alder.vc>"
DATE = email.utils.format_datetime(email.utils.parsedate_to_datetime("Tue, 10 Nov 2026 09:30:00 +0000"))


def raw(subject, mid, body, to, **kw):
    return make_message(sender=kw.pop("sender", KIM_FROM), to=to, subject=subject, message_id=f"<{mid}>",
                        body=body, date=kw.pop("date", DATE), **kw)


def put(site_or_url, boxes, message):
    url = site_or_url if isinstance(site_or_url, str) else site_or_url.emulator.url
    for box in boxes:
        add_message(url, box, message)


META = raw("Meta deal", "plant-meta@alder.vc", "METAWORD the terms are 12M pre, could you sign?\n", ADMIN,
           html="<p>METAWORD html</p>", attachments=[("terms.txt", "text/plain", b"METAWORD terms")])
SUBJ = raw("Subject deal", "plant-subj@alder.vc", "SUBJWORD our partners meet Monday, could you join?\n", MEMBER,
           attachments=[("memo.txt", "text/plain", b"SUBJWORD memo")])
PAIR_1 = raw("Private pair", "pair-1@alder.vc", "PAIRONE could you both review?\n", f"{MEMBER}, {MEMBER2}")
PAIR_2 = raw("Re: Private pair", "pair-2@alder.vc", "PAIRTWO between us: the real number is 9M.\n", MEMBER,
             in_reply_to="<pair-1@alder.vc>", date="Wed, 11 Nov 2026 10:00:00 +0000")
GENUINE = raw("Genuine copy", "genuine@alder.vc", "GENUINEWORD see you Thursday, could you confirm?\n",
              f"{ADMIN}, {MEMBER}, {MEMBER2}", attachments=[("deck.txt", "text/plain", b"deck")])
LEGACY = raw("Legacy copy", "legacy@alder.vc", "LEGACYWORD an older email, could you confirm?\n",
             f"{ADMIN}, {MEMBER2}")


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    put(emulator.url, [ADMIN], META)
    put(emulator.url, [MEMBER], SUBJ)
    put(emulator.url, [MEMBER, MEMBER2], PAIR_1)
    put(emulator.url, [MEMBER], PAIR_2)
    put(emulator.url, [ADMIN, MEMBER], GENUINE)
    put(emulator.url, [ADMIN], LEGACY)
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys)
    sync_all(server)
    yield server
    server.stop()
    emulator.stop()


def emails_with(site, mid):
    """[(email id, sorted holder addresses)] of every stored email carrying the Message-ID."""
    found = []
    for (email_id,) in db_rows(site, "SELECT id FROM emails WHERE message_id = ? ORDER BY id", mid):
        holders = db_rows(site, "SELECT a.email FROM email_mailbox_entries m JOIN email_accounts a "
                                "ON a.id = m.account_id WHERE m.email_id = ? ORDER BY a.email", email_id)
        found.append((email_id, [h[0] for h in holders]))
    return found


def account_id(site, address):
    return next(a["id"] for a in site.admin.get("/api/email/accounts").json["accounts"] if a["email"] == address)


def set_visibility(site, owner, address, value):
    assert owner.patch(f"/api/email/accounts/{account_id(site, address)}", {"visibility": value}).status == 200


def everything_readable(client, word) -> str:
    """All the client can read that search finds for `word`, and every email of those conversations in detail."""
    seen = [repr(client.get(f"/api/email/threads?q={word}").json)]
    for thread in client.get("/api/email/threads?limit=200").json["threads"]:
        for item in client.get(f"/api/email/threads/{thread['id']}").json["emails"]:
            seen.append(repr(client.get(f"/api/email/detail?id={item['id']}").json))
            html = client.get(f"/api/email/html?id={item['id']}")
            seen.append(html.body.decode("utf-8", "replace") if html.status == 200 else "")
    return "\n".join(seen)


def assert_still_limited(site, client, original, word, level):
    detail = client.get(f"/api/email/detail?id={original}").json
    assert detail["visibility"] == level and detail["body_text"] is None and detail["attachments"] == []
    assert detail["message_id"] is None  # below `everything` the Message-ID is not shown
    assert client.get(f"/api/email/html?id={original}").status == 404
    for (attachment,) in db_rows(site, "SELECT id FROM email_attachments WHERE email_id = ?", original):
        assert client.get(f"/api/email/attachments/{attachment}").status == 404
    assert client.get(f"/api/email/threads?q={word}").json["total"] == 0
    assert word not in everything_readable(client, word)


def _replace_body(message, body):
    """A copy with the original's headers (Message-ID, From, Date, To, Subject) and a body of the planter's."""
    parsed = message_from_bytes(message, policy=policy.default)
    copy = make_message(sender=parsed["From"], to=parsed["To"], subject=parsed["Subject"],
                        message_id=parsed["Message-ID"], date=parsed["Date"], body=body,
                        in_reply_to=parsed["In-Reply-To"])
    return copy


@pytest.mark.parametrize("victim,word,level", [("meta", "METAWORD", "metadata"), ("subj", "SUBJWORD", "subject")])
def test_a_planted_copy_does_not_open_a_limited_email(site, victim, word, level):
    owner, box, message, mid = ((site.admin, ADMIN, META, "plant-meta@alder.vc") if victim == "meta"
                                else (site.member, MEMBER, SUBJ, "plant-subj@alder.vc"))
    [(original, holders)] = emails_with(site, mid)
    assert holders == [box]
    set_visibility(site, owner, box, level)
    try:
        seen = site.member2.get(f"/api/email/detail?id={original}").json
        assert seen["visibility"] == level and seen["from"]["email"] == "kim@alder.vc" and seen["date"]
        put(site, [MEMBER2], _replace_body(message, "PLANTED could you resend the terms?\n"))
        sync_all(site)
        stored = emails_with(site, mid)
        assert stored[0] == (original, [box])  # the original gained no holder
        assert [holders for _, holders in stored[1:]] == [[MEMBER2]]  # the planted copy is its own email
        planted = stored[1][0]
        assert db_rows(site, "SELECT email_id, other_email_id FROM email_message_id_collisions "
                             "WHERE other_email_id = ?", planted) == [(original, planted)]
        for other in (site.member2, site.member if victim == "meta" else site.admin):
            assert_still_limited(site, other, original, word, level)
        # The planter reads their own copy, and nothing of the original through it.
        mine = site.member2.get(f"/api/email/detail?id={planted}").json
        assert mine["body_text"].startswith("PLANTED") and word not in repr(mine)
    finally:
        set_visibility(site, owner, box, "everything")
    # The owner's mail is as it was: open again now the owner chose so, the planted copy apart.
    assert site.member2.get(f"/api/email/detail?id={original}").json["body_text"].startswith(word)


def thread_of(site, client, subject):
    threads = client.get("/api/email/threads?limit=200").json["threads"]
    return next(t["id"] for t in threads if t["subject"] == subject)


def test_a_planted_copy_does_not_let_a_co_holder_unmark_a_private_conversation(site):
    [(second, holders)] = emails_with(site, "pair-2@alder.vc")
    assert holders == [MEMBER]
    thread = thread_of(site, site.member, "Private pair")
    # Before it goes private member2@ reads all of it, the message only member@ holds too.
    assert site.member2.get(f"/api/email/detail?id={second}").json["body_text"].startswith("PAIRTWO")
    assert site.member.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
    assert site.member2.get(f"/api/email/detail?id={second}").status == 404
    assert site.member2.post(f"/api/email/threads/{thread}/private", {"private": False}).status == 403
    # member2@ plants an exact copy of it (they saw every byte of its content) and one of their own.
    put(site, [MEMBER2], PAIR_2)
    put(site, [MEMBER2], _replace_body(PAIR_2, "PLANTED nothing to see\n"))
    sync_all(site)
    stored = emails_with(site, "pair-2@alder.vc")
    assert stored[0] == (second, [MEMBER]) and all(h == [MEMBER2] for _, h in stored[1:]) and len(stored) == 3
    assert site.member2.post(f"/api/email/threads/{thread}/private", {"private": False}).status == 403
    assert site.member2.get(f"/api/email/detail?id={second}").status == 404
    for outsider in (site.admin,):
        assert outsider.get(f"/api/email/threads/{thread}").status == 404
        assert outsider.get("/api/email/threads?q=PAIRTWO").json["total"] == 0
    assert site.member.get(f"/api/email/threads/{thread}").json["private"] is True


def test_a_genuine_copy_in_another_mailbox_still_merges(site):
    [(email_id, holders)] = emails_with(site, "genuine@alder.vc")
    assert holders == [ADMIN, MEMBER]  # synced from both mailboxes in the first run: one email
    put(site, [MEMBER2], GENUINE)  # a late copy: the same message, delivered to one more teammate
    # One stored before content digests were kept merges on its kept body.
    conn = sqlite3.connect(f"{site.data_dir}/crm.db")
    with conn:
        conn.execute("DELETE FROM email_content_digests WHERE email_id = (SELECT id FROM emails "
                     "WHERE message_id = 'legacy@alder.vc')")
    conn.close()
    put(site, [MEMBER2], LEGACY)
    sync_all(site)
    assert emails_with(site, "genuine@alder.vc") == [(email_id, sorted([ADMIN, MEMBER, MEMBER2]))]
    assert [h for _, h in emails_with(site, "legacy@alder.vc")] == [[ADMIN, MEMBER2]]
    assert site.member2.get(f"/api/email/detail?id={email_id}").json["body_text"].startswith("GENUINEWORD")
    # Every holder limits their mailbox: a teammate who holds none of it sees who and when, no Message-ID.
    for owner, box in ((site.admin, ADMIN), (site.member, MEMBER)):
        set_visibility(site, owner, box, "metadata")
    try:
        [(legacy_id, _)] = emails_with(site, "legacy@alder.vc")
        set_visibility(site, site.member2, MEMBER2, "metadata")
        detail = site.member.get(f"/api/email/detail?id={legacy_id}").json
        assert detail["visibility"] == "metadata" and detail["message_id"] is None and detail["body_text"] is None
        assert site.member2.get(f"/api/email/detail?id={legacy_id}").json["message_id"] == "legacy@alder.vc"
    finally:
        for owner, box in ((site.admin, ADMIN), (site.member, MEMBER), (site.member2, MEMBER2)):
            set_visibility(site, owner, box, "everything")
