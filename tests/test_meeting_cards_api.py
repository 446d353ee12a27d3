"""Meeting cards over real HTTP on a running CRM whose scheduler drafts them (review/meeting_cards.py called
each tick): meetings stored with calendar/meetings.apply_events in the CRM's database (the calendar sync's
seam), then /api/email/proposals (kind "meeting"), the web decide, the intake work-lists and the bot's
decide/edit, private meetings kept from teammates and the room, and the investor page: the timeline's
meetings, the next meeting, strength and going cold."""
import datetime as dt
import email.utils
import time

import pytest

from capture_fixtures import db_rows, start_privacy_crm, sync_all, work_lists
from meeting_fixtures import cancelled, event, store_events

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
JONAS = {"name": "Jonas Berg", "firm": "Fjord Capital", "emails": ["jonas@fjord.vc"], "domains": ["fjord.vc"]}
KIM = {"name": "Kim Lee", "firm": "LP Example", "emails": ["kim@lpexample.org"], "domains": []}
OMAR = {"name": "Omar Said", "firm": "Oak Fund", "emails": ["omar@oakfund.example"], "domains": []}


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    from test_privacy_api import mail
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    # Omar and member@ last wrote to each other 200 days ago: going cold.
    old = NOW - dt.timedelta(days=200)
    mail(emulator.url, ["member@firm.test"], "Catch up", "omar-1@firm.test", labels="SENT",
         sender="Member <member@firm.test>", to="Omar <omar@oakfund.example>", date=email.utils.format_datetime(old))
    mail(emulator.url, ["member@firm.test"], "Re: Catch up", "omar-2@oakfund.example", sender="Omar <omar@oakfund.example>",
         to="member@firm.test", in_reply_to="<omar-1@firm.test>",
         date=email.utils.format_datetime(old + dt.timedelta(hours=2)))
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(JONAS, KIM, OMAR),
                               CRM_GMAIL_PROPOSE_SINCE_DAYS="14")
    sync_all(server)
    yield server
    server.stop()
    emulator.stop()


def store(site, owner, events):
    return store_events(site, f"{owner}@firm.test", events, NOW)


def card_for(client, title=None, meeting_uid=None, timeout=15.0):
    """The pending meeting card the scheduler drafted (it looks every tick, at most 5 s apart)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for card in client.get("/api/email/proposals").json["proposals"]:
            if card.get("kind") == "meeting" and (title is None or card["meeting"]["title"] == title or
                                                  meeting_uid in card["draft"]):
                return card
        time.sleep(0.2)
    return None


def test_a_meeting_card_is_drafted_after_the_meeting_and_approved_on_the_web(site):
    ended = NOW - dt.timedelta(hours=2)
    for owner in ("member", "member2"):
        store(site, owner, [event(owner, id=f"{owner}-w1", uid="web1@fjord.vc", summary="Fund II update", start=ended,
                                  organizer="jonas@fjord.vc")])
    card = card_for(site.admin, "Fund II update")
    assert card is not None, "no meeting card within three ticks"
    assert card["investor"]["name"] == "Jonas Berg" and "email" not in card
    assert card["draft"].endswith("met Jonas Berg (Fjord Capital) on " + f"{ended.day} {ended.strftime('%b')}: Fund II update")
    assert {t["name"] for t in card["meeting"]["teammates"]} >= {"Member Two"}
    assert card["meeting"]["description"] == "Agenda: Q1 close"
    # One card for the meeting, whatever the number of teammates holding it.
    assert sum(1 for c in site.admin.get("/api/email/proposals").json["proposals"] if c.get("kind") == "meeting"
               and c["meeting"]["id"] == card["meeting"]["id"]) == 1
    reply = site.member.post(f"/api/email/proposals/{card['id']}/decide",
                             {"decision": "approve", "note": card["draft"] + " They will commit $2M in Q1.",
                              "expected_version": card["version"]})
    assert reply.status == 200 and reply.json["proposal"]["status"] == "approved", reply.json
    notes = site.member.get(f"/api/investors/{card['investor']['id']}/notes").json["notes"]
    assert any(n["body"].endswith("They will commit $2M in Q1.") and n["source_ref"].startswith(f"proposal:{card['id']} meeting:")
               for n in notes)
    decided = site.member.get("/api/email/proposals?status=decided").json["proposals"]
    assert any(p["id"] == card["id"] and p["kind"] == "meeting" for p in decided)


def test_the_bot_posts_a_meeting_card_and_edit_then_yes_work(site):
    store(site, "member", [event("member", id="m-b1", uid="bot1@lpexample.org", summary="LP check-in",
                                 attendees=("kim@lpexample.org",), start=NOW - dt.timedelta(hours=3))])
    card = card_for(site.admin, "LP check-in")
    assert card is not None
    work = work_lists(site)
    [posted] = [c for c in work["to_post"] if c["id"] == card["id"]]
    assert posted["kind"] == "meeting" and posted["meeting"]["title"] == "LP check-in"
    assert posted["web_url"] == f"/capture#proposal-{card['id']}" and "owner_only" not in posted
    assert site.bot.post(f"/api/intake/email-proposals/{card['id']}/posted",
                         {"room_id": "!review:x", "event_id": "$meeting1"}).status == 200
    assert [c["kind"] for c in work_lists(site)["open"] if c["id"] == card["id"]] == ["meeting"]
    edited = site.bot.post(f"/api/intake/email-proposals/{card['id']}/decide",
                           {"decision": "edit", "note": card["draft"] + " They will commit $2M in Q1.", "actor": "@ann:x"})
    assert edited.status == 200 and edited.json["proposal"]["version"] == card["version"] + 1
    approved = site.bot.post(f"/api/intake/email-proposals/{card['id']}/decide",
                             {"decision": "approve", "actor": "@ann:x",
                              "expected_version": edited.json["proposal"]["version"]})
    assert approved.status == 200 and approved.json["proposal"]["decided_via"] == "matrix"
    closing = [c for c in work_lists(site)["to_close"] if c["id"] == card["id"]]
    assert closing and closing[0]["status"] == "approved" and closing[0]["kind"] == "meeting"


def test_a_private_meeting_is_its_holders_alone_and_never_in_the_room(site):
    store(site, "member", [event("member", id="m-p1", uid="private1@fjord.vc", summary="SECRETTITLE chat",
                                 description="SECRETDESC", visibility="private", start=NOW - dt.timedelta(hours=4))])
    card = card_for(site.member, "SECRETTITLE chat")
    assert card is not None and card["owner_only"] and "SECRETTITLE" not in card["draft"]
    assert "SECRET" not in repr(site.member2.get("/api/email/proposals").json)
    assert site.member2.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "approve"}).status == 404
    work = work_lists(site)
    assert "SECRET" not in repr(work)
    assert site.bot.get(f"/api/intake/email-proposals/{card['id']}").status == 404
    timeline = site.member2.get(f"/api/investors/{card['investor']['id']}/timeline").json
    # Not on the timeline at all for whom the calendar does not hold it (was: its time, guests and replies).
    assert card["meeting"]["id"] not in [i["id"] for i in timeline["items"] if i["kind"] == "meeting"]
    assert "SECRET" not in repr(timeline)
    assert "SECRETTITLE" in repr(site.member.get(f"/api/investors/{card['investor']['id']}/timeline").json)


def test_the_investor_page_shows_meetings_the_next_one_and_strength(site):
    kim = db_rows(site, "SELECT id FROM investors WHERE name = 'Kim Lee'")[0][0]
    store(site, "member2", [event("member2", id="m2-next", uid="next@lpexample.org", summary="Fund III preview",
                                  attendees=("kim@lpexample.org",), start=NOW + dt.timedelta(days=2))])
    timeline = site.member.get(f"/api/investors/{kim}/timeline").json
    assert timeline["next_meeting"]["title"] == "Fund III preview"
    assert any(i["kind"] == "meeting" and i["meeting"]["title"] == "LP check-in" for i in timeline["items"])
    grid = {i["id"]: i for i in site.member.get("/api/investors").json["investors"]}
    assert grid[kim]["strength"] == 49 and grid[kim]["last_two_way_at"] is not None  # one meeting, hours ago
    assert grid[kim]["next_meeting_at"] == timeline["next_meeting"]["start"]
    connections = site.member.get(f"/api/investors/{kim}/connections").json["connections"]
    assert [(c["meetings_90d"], c["sent_90d"]) for c in connections] == [(1, 0)]
    # Going cold counts meetings: Omar's last exchange was 200 days ago, then a meeting last week.
    omar = db_rows(site, "SELECT id FROM investors WHERE name = 'Omar Said'")[0][0]
    assert omar in {i["id"] for i in site.member.get("/api/investors?stale=1").json["investors"]}
    before = grid[omar]["strength"]
    store(site, "member", [event("member", id="m-omar", uid="omar@oakfund.example-1", attendees=("omar@oakfund.example",),
                                 start=NOW - dt.timedelta(days=7))])
    assert omar not in {i["id"] for i in site.member.get("/api/investors?stale=1").json["investors"]}
    after = {i["id"]: i for i in site.member.get("/api/investors").json["investors"]}[omar]["strength"]
    assert after > before
    # Cancelled: the upcoming meeting is gone from the page.
    store(site, "member2", [cancelled("m2-next")])
    assert site.member.get(f"/api/investors/{kim}/timeline").json["next_meeting"] is None
    assert {i["id"]: i for i in site.member.get("/api/investors").json["investors"]}[kim]["next_meeting_at"] is None


def test_removing_an_investors_address_unlinks_its_meetings_at_once(site):
    """PATCH /api/investors/{id} taking an address away: the meetings only it matched go in the same request
    (they stayed linked, titles and guests shown, until a full sync)."""
    made = site.admin.post("/api/investors", {"name": "Pat Quinn", "firm": "Quinn Partners",
                                              "emails": ["pat@quinnpartners.example"]})
    assert made.status == 201
    pat = made.json["id"]
    store(site, "member", [event("member", id="m-pat", uid="pat@quinnpartners.example-1", summary="Quinn intro",
                                 attendees=("pat@quinnpartners.example", "aide@elsewhere.example"),
                                 start=NOW - dt.timedelta(days=2))])
    items = site.member.get(f"/api/investors/{pat}/timeline").json["items"]
    assert [i["meeting"]["title"] for i in items if i["kind"] == "meeting"] == ["Quinn intro"]
    assert site.admin.patch(f"/api/investors/{pat}", {"emails": ["pat@quinn-new.example"]}).status == 200
    items = site.member.get(f"/api/investors/{pat}/timeline").json["items"]
    assert [i for i in items if i["kind"] == "meeting"] == []
    assert db_rows(site, "SELECT count(*) FROM email_meetings WHERE ical_uid = 'pat@quinnpartners.example-1'") == [(0,)]
