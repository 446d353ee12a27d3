"""A Bcc'd investor (issue 22, item 2), over real HTTP against a CRM syncing from the Gmail emulator.

member@ writes to member2@ and counsel with the investor Jonas Berg in Bcc ("Board seat"), and to Kim with
Jonas in Bcc ("Kim intro"). Only member@'s sent copy names the Bcc; member2@'s copy of "Board seat" does
not. The links only the Bcc makes are member@'s alone: no other member (member2@, who holds a copy, nor the
admin) and not the bot sees any trace of Jonas in this mail; member@ sees it all and decides the cards on
/capture, never in the review room.
"""
import pytest

from capture_fixtures import KIM_ALDER, start_privacy_crm, sync_all, work_lists
from emulator_fixtures import add_message, make_message

MEMBER, MEMBER2 = "member@firm.test", "member2@firm.test"
JONAS = {"name": "Jonas Berg", "firm": "Fjord Capital", "emails": ["jonas@fjord.capital"], "domains": []}
BCC = "Jonas Berg <jonas@fjord.capital>"
BOARD = make_message(sender="Member <member@firm.test>", to=MEMBER2, cc="Lee <lee@counsel.test>",
                     subject="Board seat", message_id="<bcc-only@firm.test>",
                     body="Jonas, the board seat is yours from March. Please keep confidential.\n",
                     date="Tue, 10 Nov 2026 09:30:00 +0000", headers={"Bcc": BCC})
INTRO = make_message(sender="Member <member@firm.test>", to="Kim Lee <kim@alder.vc>", subject="Kim intro",
                     message_id="<bcc-mixed@firm.test>", body="Kim, could you meet our partner on Thursday?\n",
                     date="Wed, 11 Nov 2026 09:30:00 +0000", headers={"Bcc": BCC})


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    add_message(emulator.url, MEMBER, BOARD, "SENT")
    add_message(emulator.url, MEMBER2, BOARD.replace(f"Bcc: {BCC}\n".encode(), b""), "INBOX")
    add_message(emulator.url, MEMBER, INTRO, "SENT")
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys, (KIM_ALDER, JONAS))
    sync_all(server)
    yield server
    server.stop()
    emulator.stop()


def threads(client, query=""):
    reply = client.get(f"/api/email/threads?limit=200{query}")
    assert reply.status == 200
    return reply.json


def email_ids(site):
    found = {}
    for thread in threads(site.member)["threads"]:
        for item in site.member.get(f"/api/email/threads/{thread['id']}").json["emails"]:
            found[item["subject"]] = item["id"]
    return found


def timeline(client, investor_id):
    reply = client.get(f"/api/investors/{investor_id}/timeline")
    assert reply.status == 200, reply
    return [item for item in reply.json["items"] if item["kind"] in ("email", "card")]


def cards(client):
    return client.get("/api/email/proposals").json["proposals"]


def no_trace_in_thread_list(site, other, ids, jonas, kim):
    listed = threads(other)
    assert "Board seat" not in {t["subject"] for t in listed["threads"]}  # member2@'s own copy included
    assert "jonas" not in repr(listed).lower() and "fjord" not in repr(listed).lower()
    intro = next(t for t in listed["threads"] if t["subject"] == "Kim intro")
    assert [i["id"] for i in intro["investors"]] == [kim]


def no_trace_in_detail(site, other, ids, jonas, kim):
    assert other.get(f"/api/email/detail?id={ids['Board seat']}").status == 404
    detail = other.get(f"/api/email/detail?id={ids['Kim intro']}").json
    assert [i["id"] for i in detail["investors"]] == [kim] and "bcc" not in detail
    assert "fjord" not in repr(detail).lower()


def no_trace_in_search(site, other, ids, jonas, kim):
    assert threads(other, f"&investor_id={jonas}")["total"] == 0
    assert threads(other, "&q=fjord")["total"] == 0 and threads(other, "&q=confidential")["total"] == 0


def no_trace_in_timeline(site, other, ids, jonas, kim):
    assert timeline(other, jonas) == []


def no_trace_in_capture_list(site, other, ids, jonas, kim):
    listed = cards(other)
    assert not [c for c in listed if c["investor"]["id"] == jonas] and "fjord" not in repr(listed).lower()


def no_trace_in_last_contact(site, other, ids, jonas, kim):
    # Last contact is firm-wide: a Bcc moves it for nobody (Kim's moves).
    assert other.get(f"/api/investors/{jonas}").json["last_contact_at"] is None
    assert other.get(f"/api/investors/{kim}").json["last_contact_at"].startswith("2026-11-11")


@pytest.mark.parametrize("viewer", ["member2", "admin"])
@pytest.mark.parametrize("surface", [no_trace_in_thread_list, no_trace_in_detail, no_trace_in_search,
                                     no_trace_in_timeline, no_trace_in_capture_list, no_trace_in_last_contact],
                         ids=lambda f: f.__name__)
def test_others_see_no_trace_of_a_bcc_only_investor(site, viewer, surface):
    surface(site, getattr(site, viewer), email_ids(site), site.ids["Jonas Berg"], site.ids["Kim Lee"])


def test_the_intake_work_lists_carry_no_bcc_only_investor(site):
    work = work_lists(site)
    assert "jonas" not in repr(work).lower() and "fjord" not in repr(work).lower()
    assert any(c["investor"]["id"] == site.ids["Kim Lee"] for c in work["to_post"])  # the Kim card is room-safe


def test_the_sender_sees_the_bcc_link_and_decides_its_cards_on_capture(site):
    ids, jonas = email_ids(site), site.ids["Jonas Berg"]
    listed = threads(site.member)
    board = next(t for t in listed["threads"] if t["subject"] == "Board seat")
    assert [i["id"] for i in board["investors"]] == [jonas]
    assert threads(site.member, f"&investor_id={jonas}")["total"] == 2
    detail = site.member.get(f"/api/email/detail?id={ids['Board seat']}").json
    assert [(i["id"], i["address"]) for i in detail["investors"]] == [(jonas, "jonas@fjord.capital")]
    assert {p["email"] for p in detail["bcc"]} == {"jonas@fjord.capital"}
    assert {item["id"] for item in timeline(site.member, jonas) if item["kind"] == "email"} == \
        {ids["Board seat"], ids["Kim intro"]}
    mine = [c for c in cards(site.member) if c["investor"]["id"] == jonas]
    assert mine and all(c["owner_only"] for c in mine)
    # Never in the room: the bot cannot post or decide them.
    for card in mine:
        assert site.bot.post(f"/api/intake/email-proposals/{card['id']}/posted",
                             {"room_id": "!r:x", "event_id": f"$b{card['id']}"}).status == 404
        assert site.member2.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "reject"}).status == 404
    assert site.member.post(f"/api/email/proposals/{mine[0]['id']}/decide", {"decision": "reject"}).status == 200


def audit_names(site) -> dict[tuple[str, int], object]:
    """{(action, thread id): the target's name and investor ids} of the admin's audit log's conversation entries."""
    entries = site.admin.get("/api/audit?limit=500").json["entries"]
    return {(e["action"], int(e["target_id"])): (e["target"]["name"], [i["id"] for i in e["target"].get("investors", [])])
            for e in entries if e["target_type"] == "email_thread"}


def test_the_audit_log_names_no_bcc_only_investor_nor_a_private_conversations(site):
    # The log names a conversation's investors as the admin may see them: a Bcc's alone is its sender's, and a
    # private conversation the admin holds none of is not named at all (its holders' own).
    by_subject = {t["subject"]: t["id"] for t in threads(site.member)["threads"]}
    board, intro, kim = by_subject["Board seat"], by_subject["Kim intro"], site.ids["Kim Lee"]
    try:
        for thread in (board, intro):
            assert site.member.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
        names = audit_names(site)
        assert names[("email.thread.private", board)] == (None, [])
        assert names[("email.thread.private", intro)] == (None, [])  # Kim is named in it, but it is private
    finally:
        for thread in (board, intro):
            assert site.member.post(f"/api/email/threads/{thread}/private", {"private": False}).status == 200
    names = audit_names(site)
    assert names[("email.thread.public", board)] == (None, [])  # Jonas is in its Bcc alone
    assert names[("email.thread.public", intro)][1] == [kim]
    assert "jonas" not in repr(names).lower() and "fjord" not in repr(names).lower()
