"""Calendar capture end to end (issue 25): events in teammates' calendars in the emulator's Calendar v3, the CRM's
own calendar sync on its scheduler (CRM_CALENDAR=on), the store of meetings, the scheduler's meeting cards, and
the card approved on /capture in real Chromium. Nothing of a personal event reaches the database file."""
import datetime as dt
import os
import time

import pytest
from playwright.sync_api import expect

from calendar_fixtures import add_event, event
from capture_fixtures import db_rows, start_privacy_crm
from conftest import PASSWORD
from ui_browser import browsing

pytestmark = pytest.mark.browser
PAGE_LOGIN = ("member@firm.test", PASSWORD)
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
JONAS = {"name": "Jonas Berg", "firm": "Fjord Capital", "emails": ["jonas@fjord.vc"], "domains": ["fjord.vc"]}
MEMBER, MEMBER2 = "member@firm.test", "member2@firm.test"
SHARED_UID = "fund2-e2e@fjord.vc"


def rfc3339(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    ended = NOW - dt.timedelta(hours=2)
    for owner, response in ((MEMBER, "accepted"), (MEMBER2, "tentative")):  # one meeting in two calendars
        add_event(emulator.url, owner, event("Fund II update", rfc3339(ended), organizer="jonas@fjord.vc",
                                             attendees=[{"email": owner, "responseStatus": response, "self": True},
                                                        "jonas@fjord.vc"],
                                             iCalUID=SHARED_UID, description="Agenda: the Q1 close"))
    add_event(emulator.url, MEMBER, event("Zebrafish dentist", rfc3339(ended - dt.timedelta(days=1)),
                                          attendees=["drquokka@clinic.example"], description="Xylophone root canal"))
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(JONAS,),
                               CRM_CALENDAR="on", CRM_CALENDAR_POLL_SEC="10", CRM_GMAIL_PROPOSE_SINCE_DAYS="14")
    server.emulator = emulator
    with browsing(server, emulator) as running:
        yield running


def wait_for_card(site, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cards = [c for c in site.member.get("/api/email/proposals").json["proposals"] if c.get("kind") == "meeting"]
        if cards:
            return cards
        time.sleep(0.3)
    raise AssertionError("no meeting card: " + repr(db_rows(site, "SELECT * FROM email_meetings")))


def test_a_meeting_in_two_calendars_is_one_card_approved_on_capture(page, site):
    cards = wait_for_card(site)
    assert len(cards) == 1 and cards[0]["meeting"]["title"] == "Fund II update"
    responses = {t["name"]: t["response_status"] for t in cards[0]["meeting"]["teammates"]}
    assert sorted(responses.values()) == ["accepted", "tentative"]
    page.page.goto("/capture?poll=2000")
    card = page.page.locator("[data-proposal-id]", has_text="Meeting: Fund II update")
    card.wait_for()
    card.get_by_role("button", name="View meeting").click()
    expect(card.locator("[data-meeting-detail]")).to_contain_text("Jonas Berg (organizer)")  # a known investor by name
    expect(card.locator("[data-meeting-detail]")).to_contain_text("Agenda: the Q1 close")
    card.locator("textarea.draft").fill(card.locator("textarea.draft").input_value() + " They will commit $2M in Q1.")
    card.get_by_role("button", name="Approve").click()
    expect(card).to_have_count(0)
    notes = db_rows(site, "SELECT body FROM grid_notes WHERE source_ref LIKE 'proposal:% meeting:%'")
    assert [n for (n,) in notes if n.endswith("They will commit $2M in Q1.")]
    assert page.unexpected_errors() == []


def test_a_personal_event_leaves_nothing_in_the_database_file(site):
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not db_rows(site, "SELECT 1 FROM email_meetings"):
        time.sleep(0.3)  # the calendars were synced once the investor meeting is stored
    assert db_rows(site, "SELECT count(DISTINCT account_id) FROM email_meeting_copies") == [(2,)]
    db_rows(site, "PRAGMA wal_checkpoint")  # best effort: the WAL is read too
    data = b"".join(open(os.path.join(site.data_dir, name), "rb").read()
                    for name in ("crm.db", "crm.db-wal") if os.path.exists(os.path.join(site.data_dir, name)))
    for secret in (b"Zebrafish", b"Xylophone", b"drquokka", b"clinic.example"):
        assert secret not in data, secret


def test_a_new_meeting_is_on_the_investor_page_within_one_poll(site):
    investor = db_rows(site, "SELECT id FROM investors WHERE name = 'Jonas Berg'")[0][0]
    add_event(site.emulator.url, MEMBER, event("Fund III preview", rfc3339(NOW + dt.timedelta(days=3)),
                                               attendees=["jonas@fjord.vc"]))
    deadline = time.monotonic() + 30  # CRM_CALENDAR_POLL_SEC=10: one poll and some
    while time.monotonic() < deadline:
        upcoming = site.member.get(f"/api/investors/{investor}/timeline").json["next_meeting"]
        if upcoming:
            break
        time.sleep(0.5)
    assert upcoming and upcoming["title"] == "Fund III preview"
    grid = {i["id"]: i for i in site.member.get("/api/investors").json["investors"]}
    assert grid[investor]["strength"] and grid[investor]["last_two_way_at"]  # the past meeting counts
