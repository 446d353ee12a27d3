"""A meeting card on /capture and on the investor page in real Chromium: the event's details in place of
"View email", approve / edit / reject, the next meeting on the investor page. Meetings enter the CRM's database
through calendar/meetings.apply_events (the calendar sync's seam); the server's scheduler drafts the cards."""
import datetime as dt

import pytest
from playwright.sync_api import expect

from capture_fixtures import db_rows, start_privacy_crm
from conftest import PASSWORD
from meeting_fixtures import event, store_events
from ui_browser import browsing

pytestmark = pytest.mark.browser
PAGE_LOGIN = ("member@firm.test", PASSWORD)
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
JONAS = {"name": "Jonas Berg", "firm": "Fjord Capital", "emails": ["jonas@fjord.vc"], "domains": ["fjord.vc"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(JONAS,),
                               CRM_GMAIL_PROPOSE_SINCE_DAYS="14")
    events = [event("member", id=f"ui{n}", uid=f"ui{n}@fjord.vc", summary=title, start=NOW - dt.timedelta(hours=n + 2),
                    description=f"Agenda for {title.lower()}", organizer="jonas@fjord.vc")
              for n, title in enumerate(["Fund II update", "Portfolio review", "Reject me"])]
    events.append(event("member", id="ui-next", uid="ui-next@fjord.vc", summary="Fund III preview",
                        start=NOW + dt.timedelta(days=3)))
    store_events(server, "member@firm.test", events, NOW, full_sync=True)
    with browsing(server, emulator) as running:
        yield running


def card_for(page, title):
    return page.page.locator("[data-proposal-id]", has_text=title)


def test_a_meeting_card_shows_the_event_and_is_approved_with_an_edit(page, site):
    page.page.goto("/capture?poll=2000")
    card = card_for(page, "Meeting: Fund II update")
    card.wait_for(timeout=20_000)  # the scheduler drafts it within a tick or two
    assert card.get_by_role("button", name="View email").count() == 0
    # the attendees by name: the event's displayName, a teammate's own name; never a bare address
    expect(card.locator(".status", has_text="With ")).to_have_text("With Jonas, Member")
    toggle = card.locator("button.view")
    expect(toggle).to_have_text("View meeting")
    toggle.click()
    detail = card.locator("[data-meeting-detail]")
    expect(detail).to_be_visible()
    expect(toggle).to_have_text("Hide meeting")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    text = detail.inner_text()
    for expected in ("Jonas (organizer)", "Member", "Agenda for fund ii update", "Room 1", "accepted"):
        assert expected in text, expected
    assert "@" not in detail.locator("dl").inner_text()
    assert "email-meta" in detail.locator("dl").get_attribute("class")  # laid out as the email's From/To block
    when = detail.locator("dt:text-is('When') + dd").inner_text()
    assert when.count(str(NOW.year)) == 1 or NOW.hour < 3, when  # one day, named once: "Dec 1, 2026, 11:00 AM – 12:00 PM"
    toggle.click()
    expect(toggle).to_have_text("View meeting")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    draft = card.locator("textarea.draft")
    assert "met Jonas Berg (Fjord Capital) on" in draft.input_value()
    draft.fill(draft.input_value() + " They will commit $2M in Q1.")
    card.get_by_role("button", name="Approve").click()
    expect(card).to_have_count(0)
    notes = db_rows(site, "SELECT body FROM grid_notes WHERE source_ref LIKE 'proposal:% meeting:%'")
    assert any(body.endswith("They will commit $2M in Q1.") for (body,) in notes)
    assert page.unexpected_errors() == []


def test_save_edit_and_reject_a_meeting_card(page, site):
    page.page.goto("/capture?poll=2000")
    card = card_for(page, "Meeting: Portfolio review")
    card.wait_for(timeout=20_000)
    card.locator("textarea.draft").fill("Ann met Jonas: portfolio review, follow up in January.")
    card.get_by_role("button", name="Save edit").click()
    expect(card.get_by_role("status")).to_have_text("Saved.")
    assert db_rows(site, "SELECT draft, edited FROM email_proposals WHERE draft LIKE 'Ann met Jonas: portfolio%'")[0][1] == 1
    other = card_for(page, "Meeting: Reject me")
    other.get_by_role("button", name="Reject").click()
    expect(other).to_have_count(0)
    assert db_rows(site, "SELECT status FROM email_proposals WHERE draft LIKE '%Reject me'") == [("rejected",)]
    assert page.unexpected_errors() == []


def test_the_investor_page_shows_the_next_meeting_and_past_ones(page, site):
    investor = db_rows(site, "SELECT id FROM investors WHERE name = 'Jonas Berg'")[0][0]
    page.page.goto(f"/investors/{investor}")
    expect(page.page.locator("#next-meeting")).to_contain_text("Fund III preview")
    expect(page.page.locator("li.item.meeting", has_text="Portfolio review")).to_be_visible()
    assert page.unexpected_errors() == []
