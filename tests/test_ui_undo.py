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
    # the top line tells of the undo, with the count it brought back; the empty list says so in plain text
    expect(page.page.locator("#capture-status")).to_have_text('Undone: "Term sheet" is back for review. 2 pending to review')
    expect(page.page.locator("#decided-empty")).to_have_text("Nothing to undo.")
    expect(page.page.locator("#decided-empty")).to_be_visible()
    expect(page.page.locator("#decided-list li")).to_have_count(0)
    expect(page.page.locator("#decided")).not_to_contain_text("Nothing decided yet")
    assert email_notes(site) == []
    assert page.unexpected_errors() == []


def test_a_note_is_edited_and_deleted_and_a_duplicate_merged_on_the_investor_page(page, site):
    kim = site.member.get("/api/investors").json["investors"][0]["id"]
    site.member.post(f"/api/investors/{kim}/notes", {"body": "Met at the dinner."})
    dup = site.member.post("/api/investors", {"name": "K. Lee", "emails": ["k.lee@alderfund.vc"]}).json["id"]
    site.admin.post(f"/api/investors/{dup}/notes", {"body": "Prefers calls."})
    page.page.goto(f"/investors/{kim}")
    note = page.page.locator("#timeline li.note", has_text="Met at the dinner.")
    note = page.page.locator(f"#timeline li.note[data-id='{note.get_attribute('data-id')}']")
    note.get_by_role("button", name="Edit").click()
    note.get_by_label("Edit note").fill("Met at the dinner in Oslo.")
    note.get_by_role("button", name="Save").click()
    note = page.page.locator("#timeline li.note", has_text="Met at the dinner in Oslo.")
    expect(note).to_have_count(1)
    note.get_by_role("button", name="Delete").click()
    page.page.get_by_role("dialog").get_by_role("button", name="Delete note").click()
    expect(page.page.locator("#timeline li.note", has_text="Oslo")).to_have_count(0)

    page.page.locator("#edit-toggle").click()
    page.page.select_option("#merge-from", value=str(dup))
    page.page.get_by_role("button", name="Merge", exact=True).click()
    dialog = page.page.get_by_role("dialog")
    expect(dialog).to_contain_text("K. Lee's 1 note, addresses, captured email and proposed notes move to Kim Lee")
    dialog.get_by_role("button", name="Merge").click()
    expect(page.page.locator("#timeline li.note", has_text="Prefers calls.")).to_have_count(1)
    expect(page.page.locator("#investor-addresses")).to_contain_text("k.lee@alderfund.vc")
    assert site.member.get(f"/api/investors/{dup}").status == 404
    assert page.unexpected_errors() == []
