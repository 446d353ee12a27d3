"""Proposed grid notes: drafting rules (units) and every decision path over real HTTP, including races."""
import threading

import pytest

from capture_fixtures import KIM as KIM_INVESTOR, start_capture_crm, sync_all
from devtools.gmail_emulator.gmail_format import message_resource
from email_integration.mail.parser import parse
from email_integration.review.proposals import automated_reason, is_internal_only
from emulator_fixtures import add_message, make_message

ADMIN = "admin@firm.test"
KIM = "Kim Lee <kim@alder.vc>"


def parsed_of(raw):
    return parse(message_resource(raw, id="m1", thread_id="t1", label_ids=["INBOX"], history_id=1,
                                  internal_date_ms=1_790_000_000_000))


# -- units ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers,sender,subject,reason", [
    ({"List-Unsubscribe": "<mailto:u@alder.vc>"}, KIM, "News", "mailing list"),
    ({"Precedence": "bulk"}, KIM, "News", "bulk mail"),
    ({"Auto-Submitted": "auto-replied"}, KIM, "Re: Hi", "auto-submitted"),
    ({}, "Alder <noreply@alder.vc>", "Your receipt", "no-reply sender"),
    ({}, KIM, "Accepted: Partner meeting @ Tue", "calendar"),
    ({}, KIM, "Automatic reply: away", "calendar"),
    ({"Auto-Submitted": "no"}, KIM, "A real note", None),
])
def test_automated_mail_is_recognised(headers, sender, subject, reason):
    raw = make_message(sender=sender, subject=subject, body="x\n", headers=headers)
    parsed = parsed_of(raw)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert automated_reason(lowered, parsed) == reason


def test_internal_only():
    inside = parsed_of(make_message(sender="Ann <ann@firm.test>", to="bob@firm.test", body="x\n"))
    outside = parsed_of(make_message(sender="Ann <ann@firm.test>", to="kim@alder.vc", body="x\n"))
    assert is_internal_only(inside, "firm.test") and not is_internal_only(outside, "firm.test")


# -- over HTTP -------------------------------------------------------------------------------------
def conversation(url, subject, messages=1, prefix=""):
    ids = []
    for i in range(messages):
        mid = f"<{prefix}{subject.replace(' ', '')}{i}@alder.vc>"
        add_message(url, ADMIN, make_message(
            sender=KIM, to=ADMIN, subject=("Re: " if i else "") + subject, message_id=mid,
            in_reply_to=ids[-1] if ids else None, date=f"Mon, 0{i + 2} Nov 2026 10:00:00 +0000",
            body=f"Message {i}: could you send the data room link for {subject}?\n"))
        ids.append(mid)


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    conversation(emulator.url, "Three messages", 3)
    for subject in ("Edit me", "Approve me", "Reject me", "Race me", "Stale me", "Bad input"):
        conversation(emulator.url, subject)
    for headers, sender, subject in (({"List-Unsubscribe": "<mailto:x@alder.vc>"}, KIM, "Alder newsletter"),
                                     ({}, "Alder <no-reply@alder.vc>", "Receipt"),
                                     ({}, KIM, "Accepted: IC meeting")):
        add_message(emulator.url, ADMIN, make_message(sender=sender, to=ADMIN, subject=subject, body="x\n",
                                                      headers=headers))
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys,
                               investors=[{**KIM_INVESTOR, "domains": ["alder.vc"]}])
    server.emulator = emulator
    yield server
    server.stop()
    emulator.stop()


def card(server, subject_part):
    cards = server.member.get("/api/email/proposals?status=pending").json["proposals"]
    return next(c for c in cards if subject_part in (c["email"]["subject"] or ""))


def test_one_card_per_conversation_and_none_for_automated_mail(site):
    cards = site.member.get("/api/email/proposals").json["proposals"]
    subjects = sorted(c["email"]["subject"] for c in cards)
    assert subjects == sorted(["Re: Three messages", "Edit me", "Approve me", "Reject me", "Race me", "Stale me",
                               "Bad input"])
    three = card(site, "Three messages")
    assert "Message 2" in three["draft"]  # the newest message of the conversation (listed first)
    assert three["investor"] == {"id": three["investor"]["id"], "name": "Kim Lee", "firm": "Alder"}
    assert three["email"]["to"][0]["email"] == ADMIN and three["email"]["snippet"]


def test_a_newer_message_refreshes_the_pending_card(site):
    before = card(site, "Three messages")
    add_message(site.emulator.url, ADMIN, make_message(
        sender=KIM, to=ADMIN, subject="Re: Three messages", message_id="<three-new@alder.vc>",
        in_reply_to="<Threemessages2@alder.vc>", date="Tue, 10 Nov 2026 10:00:00 +0000",
        body="Message 9: we would like to commit to the round.\n"))
    sync_all(site)
    after = card(site, "Three messages")
    assert after["id"] == before["id"] and after["version"] == before["version"] + 1
    assert "commit to the round" in after["draft"]


def test_edit_then_approve_writes_one_note_dated_by_the_email(site):
    proposal = card(site, "Edit me")
    edited = site.member.post(f"/api/email/proposals/{proposal['id']}/decide",
                              {"decision": "edit", "note": "Kim wants the data room link.",
                               "expected_version": proposal["version"]})
    assert edited.status == 200 and edited.json["proposal"]["version"] == proposal["version"] + 1
    assert edited.json["proposal"]["status"] == "pending"
    approved = site.member.post(f"/api/email/proposals/{proposal['id']}/decide",
                                {"decision": "approve", "expected_version": proposal["version"] + 1})
    assert approved.status == 200 and approved.json["proposal"]["status"] == "approved"
    notes = site.member.get(f"/api/investors/{proposal['investor']['id']}/notes").json["notes"]
    mine = [n for n in notes if n["body"] == "Kim wants the data room link."]
    assert len(mine) == 1 and mine[0]["source"] == "email" and mine[0]["author"] == "Member"
    assert mine[0]["created_at"] == proposal["email"]["date"] and f"proposal:{proposal['id']}" in mine[0]["source_ref"]
    again = site.member.post(f"/api/email/proposals/{proposal['id']}/decide", {"decision": "approve"})
    assert again.status == 409 and again.json["proposal"]["status"] == "approved"


def test_reject_writes_nothing(site):
    proposal = card(site, "Reject me")
    before = len(site.member.get(f"/api/investors/{proposal['investor']['id']}/notes").json["notes"])
    reply = site.admin.post(f"/api/email/proposals/{proposal['id']}/decide", {"decision": "reject"})
    assert reply.status == 200 and reply.json["proposal"]["status"] == "rejected"
    assert len(site.member.get(f"/api/investors/{proposal['investor']['id']}/notes").json["notes"]) == before
    assert site.member.get("/api/email/proposals?status=rejected").json["proposals"][0]["id"] == proposal["id"]


def test_stale_version_is_a_conflict_with_the_current_state(site):
    proposal = card(site, "Stale me")
    reply = site.member.post(f"/api/email/proposals/{proposal['id']}/decide",
                             {"decision": "approve", "expected_version": proposal["version"] - 1 or 99})
    assert reply.status == 409 and reply.json["proposal"]["version"] == proposal["version"]


def test_many_simultaneous_approvals_write_exactly_one_note(site):
    proposal = card(site, "Race me")
    clients = [site.logged_in("member@firm.test") for _ in range(4)] + [site.admin] * 4
    barrier = threading.Barrier(len(clients))
    results = []

    def approve(client):
        barrier.wait()
        results.append(client.post(f"/api/email/proposals/{proposal['id']}/decide",
                                   {"decision": "approve", "expected_version": proposal["version"]}).status)

    threads = [threading.Thread(target=approve, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * (len(clients) - 1)
    notes = site.member.get(f"/api/investors/{proposal['investor']['id']}/notes").json["notes"]
    assert len([n for n in notes if (n["source_ref"] or "").startswith(f"proposal:{proposal['id']} ")]) == 1


@pytest.mark.parametrize("body,status", [({"decision": "maybe"}, 400), ({"decision": "edit"}, 400),
                                         ({"decision": "edit", "note": "x" * 2001}, 400),
                                         ({"decision": "approve", "expected_version": "1"}, 400),
                                         ({}, 400)])
def test_bad_decisions(site, body, status):
    proposal = card(site, "Bad input")
    assert site.member.post(f"/api/email/proposals/{proposal['id']}/decide", body).status == status


def test_unknown_proposal_and_roles(site):
    assert site.member.post("/api/email/proposals/999999/decide", {"decision": "reject"}).status == 404
    assert site.bot.get("/api/email/proposals").status == 403
    assert site.client().get("/api/email/proposals").status == 401
    assert site.member.get("/api/email/proposals?status=weird").status == 400
