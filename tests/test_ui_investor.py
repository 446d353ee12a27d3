"""The investor page and the grid's relationship columns in real Chromium (issue 17)."""
import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from relationship_fixtures import FIRM, relationship_world
from ui_browser import browsing

pytestmark = pytest.mark.browser
PAGE_LOGIN = (f"member@{FIRM}", PASSWORD)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with browsing(*relationship_world(tmp_path_factory)) as site:
        yield site


def test_grid_shows_closest_teammate_and_going_cold(page):
    row = page.page.locator("tr.investor", has_text="Kim Lee")
    row.wait_for()
    assert row.locator("td.closest").inner_text() == "Ben"
    assert int(row.locator("td.strength").inner_text()) > 40
    page.page.click("#going-cold")
    expect(page.page.locator("tr.investor")).to_have_count(2)
    assert [n.strip() for n in page.page.locator("tr.investor a.investor-link").all_inner_texts()] == ["Raj Patel", "Mo Chen"]
    page.page.click("#going-cold")
    expect(page.page.locator("tr.investor")).to_have_count(5)
    assert page.unexpected_errors() == []


def test_the_name_opens_the_page_with_timeline_paging_and_connections(page, site):
    page.page.locator("a.investor-link", has_text="Raj Patel").click()
    page.page.wait_for_url(f"**/investors/{site.ids['Raj Patel']}")
    expect(page.page.locator("#investor-name")).to_have_text("Raj Patel")
    expected = site.member.get(f"/api/investors/{site.ids['Raj Patel']}/timeline?limit=200").json["items"]
    page.page.goto(f"/investors/{site.ids['Raj Patel']}?page=2")
    items = page.page.locator("#timeline > li.item")
    expect(items).to_have_count(2)
    while page.page.locator("#timeline-more").is_visible():
        count = items.count()
        page.page.click("#timeline-more")
        expect(items).not_to_have_count(count)
    shown = [(n.get_attribute("data-kind"), int(n.get_attribute("data-id"))) for n in items.all()]
    assert shown == [(i["kind"], i["id"]) for i in expected]
    page.page.locator("li.item.email", has_text="Term sheet questions").get_by_role("button", name="Open email").click()
    detail = page.page.locator("li.item.email [data-email-detail]")
    detail.wait_for()
    assert "Thanks, let us talk next week" in detail.inner_text()
    connections = page.page.locator("#connections-body tr.connection")
    expect(connections).to_have_count(2)
    assert connections.first.locator("td").first.inner_text() == "Member"  # the two-way exchange beats Raj's one-way mail to admin
    assert page.unexpected_errors() == []


def test_approving_a_card_on_the_page_puts_the_note_in_the_timeline(page, site):
    kim = site.ids["Kim Lee"]
    page.page.goto(f"/investors/{kim}")
    card = page.page.locator("li.item.card", has_text="Fund IV first close")
    card.wait_for()
    card.locator("textarea.draft").fill("Ben and Kim talked first close.")
    card.get_by_role("button", name="Approve").click()
    note = page.page.locator("li.item.note", has_text="Ben and Kim talked first close.")
    note.wait_for()
    expect(page.page.locator("li.item.card", has_text="Fund IV first close")).to_have_count(0)
    assert "note from email" in note.inner_text()
    page.page.fill("#new-note", "Call Kim after the AGM.")
    page.page.press("#new-note", "Control+Enter")
    expect(page.page.locator("#timeline > li.item").first).to_contain_text("Call Kim after the AGM.")
    assert page.unexpected_errors() == []


def test_edit_the_profile_on_the_page(page, site):
    page.page.goto(f"/investors/{site.ids['Nobody Yet']}")
    page.page.click("#edit-toggle")
    page.page.fill("#edit-investor input[name=firm]", "Late Bloom LP")
    page.page.fill("#edit-investor input[name=emails]", "not-an-address")
    page.page.click("#edit-investor button[type=submit]")
    expect(page.page.locator("#edit-error")).to_contain_text("not an email address")
    page.page.fill("#edit-investor input[name=emails]", "gp@latebloom.vc")
    page.page.click("#edit-investor button[type=submit]")
    expect(page.page.locator("#investor-firm")).to_have_text("Late Bloom LP")
    assert "gp@latebloom.vc" in page.page.locator("#investor-addresses").inner_text()
    expect(page.page.locator("#timeline-status")).to_contain_text("Nothing yet")
    assert page.unexpected_errors(allowed=("400",)) == []
