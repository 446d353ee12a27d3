"""The review room is not a firehose (contracts §5 intake v2), over real HTTP: to_post never makes more
than CRM_INTAKE_MAX_OPEN_CARDS cards open, hands out the newest email first, refills as cards are decided
on the web, in bulk or by the bot, and says how many more wait; bulk decisions show up in to_close."""
import datetime
import email.utils

import pytest

from capture_fixtures import capture_site, work_lists as lists
from emulator_fixtures import make_message

ADMIN = "admin@firm.test"
INTAKE = "/api/intake/email-proposals"
CAP = 3
CONVERSATIONS = 9


def days_ago(days: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return email.utils.format_datetime(moment)


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    mail = [(ADMIN, make_message(sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=f"c{i}", message_id=f"<q{i}@alder.vc>",
                                 date=days_ago(i + 0.5), body=f"Could you share the numbers for c{i}?\n"))
            for i in range(CONVERSATIONS)]  # conversation i is i days old: c0 newest
    with capture_site(tmp_path_factory, keys, mail, CRM_INTAKE_MAX_OPEN_CARDS=str(CAP)) as server:
        yield server


def post_all(site, cards):
    for card in cards:
        assert site.bot.post(f"{INTAKE}/{card['id']}/posted",
                             {"room_id": "!review:s", "event_id": f"$e{card['id']}"}).status == 200


def subjects(cards):
    return [card["email"]["subject"] for card in cards]


def test_cap_newest_first_and_refill_from_every_surface(site):
    first = lists(site)
    assert subjects(first["to_post"]) == ["c0", "c1", "c2"]  # newest email first, only CAP of them
    assert first["waiting"] == CONVERSATIONS - CAP
    assert lists(site)["to_post"] == first["to_post"]  # asking again hands out the same cards
    post_all(site, first["to_post"])
    full = lists(site)
    assert full["to_post"] == [] and len(full["open"]) == CAP and full["waiting"] == CONVERSATIONS - CAP

    c0, c1, c2 = first["to_post"]
    assert site.member.post(f"/api/email/proposals/{c0['id']}/decide", {"decision": "reject"}).status == 200
    after_web = lists(site)
    assert subjects(after_web["to_post"]) == ["c3"] and after_web["waiting"] == CONVERSATIONS - CAP - 1
    post_all(site, after_web["to_post"])

    assert site.bot.post(f"{INTAKE}/{c1['id']}/decide", {"decision": "reject", "actor": "@ann:s"}).status == 200
    after_bot = lists(site)
    assert subjects(after_bot["to_post"]) == ["c4"]
    post_all(site, after_bot["to_post"])

    bulk = site.member.post("/api/email/proposals/bulk", {"decision": "reject", "ids": [c2["id"],
                                                                                       after_web["to_post"][0]["id"]]})
    assert bulk.status == 200 and sorted(bulk.json["decided"]) == sorted([c2["id"], after_web["to_post"][0]["id"]])
    after_bulk = lists(site)
    assert subjects(after_bulk["to_post"]) == ["c5", "c6"]
    assert len(after_bulk["open"]) + len(after_bulk["to_post"]) == CAP
    closing = {c["id"]: c for c in after_bulk["to_close"]}
    assert closing[c2["id"]]["decided_via"] == "web" and closing[c2["id"]]["status"] == "rejected"
    assert closing[after_web["to_post"][0]["id"]]["decided_by"] == "Member"


def test_limit_never_exceeds_the_free_places(site):
    state = lists(site)
    free = CAP - len(state["open"])
    assert len(site.bot.get(f"{INTAKE}?limit=1").json["to_post"]) == min(1, free)
    assert len(state["to_post"]) == free


def test_every_item_says_its_kind_and_a_decided_card_says_who_decided_it_and_how_long_ago(site):
    """contracts §7 v3: work-list items carry `kind`; the bot answers a late or losing decision in the thread with
    who decided the card and when, from the 409 of …/decide or from GET …/{id} (the CRM's clock, not the bot's)."""
    state = lists(site)
    assert state["to_post"] or state["open"]
    assert state["to_draft"] and state["to_close"]
    for key in ("to_post", "open", "to_close", "to_draft"):
        assert {item["kind"] for item in state[key]} <= {"email"}, key
    post_all(site, state["to_post"])
    card = lists(site)["open"][0]
    pending = site.bot.get(f"{INTAKE}/{card['id']}")
    assert pending.status == 200 and pending.json["proposal"]["status"] == "pending"
    assert "decided_ago_sec" not in pending.json
    won = site.bot.post(f"{INTAKE}/{card['id']}/decide", {"decision": "approve", "actor": "@ann:s"})
    lost = site.bot.post(f"{INTAKE}/{card['id']}/decide", {"decision": "reject", "actor": "@ben:s"})
    assert won.status == 200 and lost.status == 409
    assert lost.json["proposal"]["decided_by"] == "@ann:s" and lost.json["proposal"]["decided_via"] == "matrix"
    assert 0 <= lost.json["decided_ago_sec"] <= 5
    later = site.bot.get(f"{INTAKE}/{card['id']}")
    assert later.status == 200 and later.json["proposal"]["status"] == "approved"
    assert 0 <= later.json["decided_ago_sec"] <= 5
    unknown = site.bot.get(f"{INTAKE}/999999")  # the same check as every other intake path: the same answer
    assert unknown.status == 404
    assert unknown.json == site.bot.post(f"{INTAKE}/999999/decide", {"decision": "approve", "actor": "@ann:s"}).json
    assert site.member.get(f"{INTAKE}/{card['id']}").status == 403  # the bridge is the bot's (and admins')
    stale = site.bot.post(f"{INTAKE}/{lists(site)['open'][0]['id']}/decide",
                          {"decision": "approve", "actor": "@ann:s", "expected_version": 99})
    assert stale.status == 409 and "decided_ago_sec" not in stale.json  # pending: a newer draft, nobody decided
