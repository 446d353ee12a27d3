"""Undo on /capture in real Chromium (issue 24, item 5): approve a card, find it under "Decided recently",
Undo: the card is back to review and the grid note the approve wrote is gone."""
import pytest
from playwright.sync_api import expect

from capture_fixtures import start_capture_crm
from conftest import PASSWORD
from emulator_fixtures import add_message, make_message
from ui_browser import browsing

pytestmark = pytest.mark.browser
PAGE_LOGIN = ("member@firm.test", PASSWORD)


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    for i, subject in enumerate(["Term sheet", "Quarterly call"]):
        add_message(emulator.url, "member@firm.test", make_message(
            sender="Kim Lee <kim@alder.vc>", to="member@firm.test", subject=subject, message_id=f"<undo{i}@alder.vc>",
            date=f"Mon, 0{i + 1} Nov 2026 10:00:00 +0000", body=f"Could we talk about the {subject.lower()} on Friday?\n"))
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys)
    with browsing(server, emulator) as site:
        yield site


def email_notes(site):
    investor = site.member.get("/api/investors").json["investors"][0]["id"]
    return [n for n in site.member.get(f"/api/investors/{investor}/notes").json["notes"] if n["source"] == "email"]


def test_approve_then_undo_from_the_decided_view(page, site):
    page.page.goto("/capture?poll=600000")
    card = page.page.locator("[data-proposal-id]", has_text="Term sheet")
    card.get_by_role("button", name="Approve").click()
    expect(card).to_have_count(0)
    expect(page.page.locator("#capture-status")).to_contain_text('Approved "Term sheet"')
    assert len(email_notes(site)) == 1
    page.page.locator("#decided summary").click()
    entry = page.page.locator("#decided-list li", has_text="Term sheet")
    expect(entry).to_contain_text("Approved by Member")
    entry.get_by_role("button", name="Undo").click()
    expect(page.page.locator("#decided-status")).to_contain_text("back to review and its note is removed")
    expect(page.page.locator("[data-proposal-id]", has_text="Term sheet")).to_have_count(1)  # at once, no poll
    expect(page.page.locator("#decided-list li", has_text="Term sheet")).to_have_count(0)
    assert email_notes(site) == []
    assert page.unexpected_errors() == []
