"""The Email Capture page in real Chromium: cards, View email (fetched once), decisions, polling,
hostile HTML that runs nothing, keyboard shortcuts."""

import pytest
from playwright.sync_api import expect

from capture_fixtures import start_capture_crm
from conftest import PASSWORD
from emulator_fixtures import add_message, make_message
from ui_browser import browsing

pytestmark = pytest.mark.browser
ADMIN = "admin@firm.test"
PAGE_LOGIN = ("member@firm.test", PASSWORD)
HOSTILE = ("<html><body><p id='marker'>Hostile body</p><script>parent.postMessage('ran','*');"
           "document.title='pwned'</script><img src=x onerror=\"parent.document.title='pwned'\">"
           "<svg onload=\"alert(1)\"></svg></body></html>")


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    for i, subject in enumerate(["Fails politely", "Deck review", "Hostile html", "Keyboard one", "Keyboard two",
                                 "Decided by API"]):
        add_message(emulator.url, ADMIN, make_message(
            sender="Kim Lee <kim@alder.vc>", to=ADMIN, cc="ben@firm.test", subject=subject,
            date=f"Mon, 0{i + 1} Nov 2026 10:00:00 +0000", message_id=f"<cap{i}@alder.vc>",
            body=f"Could you send the {subject.lower()} materials by Friday?\n",
            html=HOSTILE if subject == "Hostile html" else None))
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys)
    with browsing(server, emulator) as site:
        yield site



def card_for(page, subject):
    return page.page.locator("[data-proposal-id]", has_text=subject)


def test_view_email_fetches_once_and_shows_the_fields(page):
    details = []
    page.page.on("request", lambda r: details.append(r.url) if "/api/email/detail" in r.url else None)
    page.page.goto("/capture?poll=600000")
    card = card_for(page, "Deck review")
    card.wait_for()
    card.get_by_role("button", name="View email").click()
    detail = card.locator("[data-email-detail]")
    detail.wait_for()
    text = detail.inner_text()
    for expected in ("kim@alder.vc", ADMIN, "ben@firm.test", "Deck review", "deck review materials"):
        assert expected in text
    toggle = card.locator("button.view")
    expect(toggle).to_have_text("Hide email")  # says what it does while open
    expect(toggle).to_have_attribute("aria-expanded", "true")
    card.get_by_role("button", name="Hide email").click()
    expect(toggle).to_have_text("View email")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    card.get_by_role("button", name="View email").click()  # show again: no second fetch
    expect(detail).to_be_visible()
    assert len(details) == 1
    assert page.page.locator("main > .hint.keys").is_visible()  # the keys hint on a desktop


def test_a_phone_hides_the_keys_hint_and_a_draft_box_fits_its_draft(page):
    page.page.set_viewport_size({"width": 390, "height": 844})
    page.page.goto("/capture?poll=600000")
    card = card_for(page, "Deck review")
    card.wait_for()
    expect(page.page.locator("main > .hint.keys")).to_be_hidden()  # no keyboard on a phone, as on /emails
    draft = card.locator("textarea.draft")
    fits = "el => el.scrollHeight <= el.clientHeight + 1"
    assert draft.evaluate(fits), draft.evaluate("el => [el.rows, el.scrollHeight, el.clientHeight]")
    draft.fill("A longer note.\n" * 20)
    assert draft.evaluate("el => el.rows") == 8  # grows with the text, up to 8 rows
    draft.fill("Short.")
    assert draft.evaluate("el => el.rows") == 2
    assert page.unexpected_errors() == []
    assert page.unexpected_errors() == []


def show_hostile_html(page, holder, open_button: str) -> list:
    """Open the hostile email's HTML inside `holder` (a card or timeline item); the dialogs it raised."""
    dialogs = []
    page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    holder.get_by_role("button", name=open_button).click()
    holder.get_by_text("Show as sent (HTML)").click()
    frame = holder.locator("iframe.email-html")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == ""
    page.page.frame_locator("iframe.email-html").locator("#marker").wait_for()
    page.page.wait_for_timeout(300)
    assert page.page.title() != "pwned" and dialogs == []
    return dialogs


def test_hostile_html_runs_nothing(page):
    page.page.goto("/capture?poll=600000")
    show_hostile_html(page, card_for(page, "Hostile html"), "View email")
    assert page.page.evaluate("() => window.__ran === undefined")


def test_approve_removes_the_card_and_the_grid_shows_the_note(page):
    page.page.goto("/capture?poll=600000")
    card = card_for(page, "Deck review")
    card.locator("textarea").fill("Kim asked for the deck review materials by Friday.")
    card.get_by_role("button", name="Approve").click()
    expect(card).to_have_count(0)
    page.page.goto("/")
    page.page.get_by_role("button", name="Kim Lee").click()
    expect(page.page.locator("li.note", has_text="Kim asked for the deck review materials")).to_be_visible()


def test_a_decision_through_the_api_disappears_at_the_next_poll(page, site):
    page.page.goto("/capture?poll=400")
    card = card_for(page, "Decided by API")
    card.wait_for()
    proposal_id = card.get_attribute("data-proposal-id")
    assert site.admin.post(f"/api/email/proposals/{proposal_id}/decide", {"decision": "reject"}).status == 200
    expect(card).to_have_count(0, timeout=5000)


def test_keyboard_shortcuts(page, site):
    page.page.goto("/capture?poll=600000")
    first = page.page.locator("[data-proposal-id]").first
    first.wait_for()
    page.page.keyboard.press("j")
    expect(first).to_be_focused()
    page.page.keyboard.press("j")
    second = page.page.locator("[data-proposal-id]").nth(1)
    expect(second).to_be_focused()
    page.page.keyboard.press("k")
    expect(first).to_be_focused()
    page.page.keyboard.press("v")
    expect(first.locator("[data-email-detail]")).to_be_visible()
    page.page.keyboard.press("e")
    expect(first.locator("textarea")).to_be_focused()
    page.page.keyboard.press("Escape")
    target = first.get_attribute("data-proposal-id")
    page.page.keyboard.press("r")
    expect(page.page.locator(f"[data-proposal-id='{target}']")).to_have_count(0)
    rejected = site.admin.get("/api/email/proposals?status=rejected").json["proposals"]
    assert any(str(p["id"]) == target for p in rejected)
    assert page.unexpected_errors() == []


def test_a_failed_decision_says_why_and_keeps_the_card(page, site):
    page.page.goto("/capture?poll=600000")
    card = card_for(page, "Fails politely")
    proposal_id = card.get_attribute("data-proposal-id")
    assert site.admin.post(f"/api/email/proposals/{proposal_id}/decide", {"decision": "reject"}).status == 200
    card.get_by_role("button", name="Approve").click()
    expect(card.locator("p.error")).to_contain_text("Already rejected by Admin (web)")
    expect(card).to_have_count(1)


def test_each_card_says_who_drafted_it_and_a_model_draft_replaces_the_crms_live(page, site):
    page.page.goto("/capture?poll=400")
    card = card_for(page, "Hostile html")
    expect(card.locator("[data-drafted-by]")).to_have_text("Drafted by the CRM")
    proposal_id = card.get_attribute("data-proposal-id")
    listed = next(p for p in site.admin.get("/api/email/proposals").json["proposals"] if str(p["id"]) == proposal_id)
    assert site.bot.post(f"/api/intake/email-proposals/{proposal_id}/draft",
                         {"draft": "Kim (Alder) wants the hostile html materials by Friday.", "model": "qwen2.5-7b",
                          "expected_version": listed["version"]}).status == 200
    expect(card.locator("[data-drafted-by]")).to_have_text("Drafted by the model (qwen2.5-7b)", timeout=5000)
    expect(card.locator("textarea")).to_have_value("Kim (Alder) wants the hostile html materials by Friday.")
    card.locator("textarea").fill("Kim wants the materials.")
    card.get_by_role("button", name="Save edit").click()
    expect(card.locator("[data-drafted-by]")).to_have_text("Edited by a person")
    assert page.unexpected_errors() == []


def test_hostile_html_on_the_investor_page_is_only_in_the_sandboxed_frame(page, site):
    kim = next(i["id"] for i in site.member.get("/api/investors").json["investors"] if i["name"] == "Kim Lee")
    page.page.goto(f"/investors/{kim}")
    dialogs = show_hostile_html(page, page.page.locator("li.item.email", has_text="Hostile html"), "Open email")
    assert page.page.locator("#marker").count() == 0  # the email's HTML is in the frame, never in the page
    assert [e for e in page.unexpected_errors() if "sandboxed" not in e and "blocked" not in e.lower()] == []
    # Opened on its own (a link in a mail, a new tab), the HTML is still sandboxed by its CSP: nothing runs.
    email_id = next(p["email"]["id"] for p in site.member.get("/api/email/proposals").json["proposals"]
                    if p["email"]["subject"] == "Hostile html")
    page.page.goto(f"/api/email/html?id={email_id}")
    page.page.locator("#marker").wait_for()
    page.page.wait_for_timeout(300)
    assert page.page.title() != "pwned" and dialogs == []
