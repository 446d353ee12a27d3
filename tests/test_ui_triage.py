"""Triage on /capture in real Chromium: newest first, the pending count, filters by investor and by
teammate, selection (click, shift-click, x, select all shown) and bulk decisions with one confirmation,
all from the keyboard too; and the Admin page's "Older mail" backfill control."""
import datetime
import email.utils

import pytest
from playwright.sync_api import expect

from capture_fixtures import start_capture_crm
from conftest import PASSWORD
from emulator_fixtures import add_message, make_message
from ui_browser import browsing

pytestmark = pytest.mark.browser
PAGE_LOGIN = ("member@firm.test", PASSWORD)
KIM = {"name": "Kim Lee", "firm": "Alder", "emails": ["kim@alder.vc"], "domains": []}
RAJ = {"name": "Raj Patel", "firm": "Birch", "emails": ["raj@birch.capital"], "domains": []}
NOW = datetime.datetime.now(datetime.timezone.utc)
# (subject, sender, mailbox, days ago): t0 is the newest.
MAIL = [(f"t{i}", "Kim Lee <kim@alder.vc>" if i % 3 else "Raj Patel <raj@birch.capital>",
         "admin@firm.test" if i < 8 else "member@firm.test", i + 1) for i in range(12)]
MAIL.append(("old one", "Raj Patel <raj@birch.capital>", "admin@firm.test", 300))


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1])
    for i, (subject, sender, box, age) in enumerate(MAIL):
        add_message(emulator.url, box, make_message(
            sender=sender, to=box, subject=subject, message_id=f"<tri{i}@x.test>",
            date=email.utils.format_datetime(NOW - datetime.timedelta(days=age, hours=i)),
            body=f"Could you send the {subject} materials?\n"))
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(KIM, RAJ),
                               CRM_GMAIL_PROPOSE_SINCE_DAYS="30")
    with browsing(server, emulator) as site:
        yield site


def subjects(page):
    return page.page.locator("[data-proposal-id] .card-subject").all_text_contents()


def open_capture(page):
    page.page.goto("/capture?poll=600000")
    page.page.locator("[data-proposal-id]").first.wait_for()


def test_newest_first_count_and_keyboard_filters(page):
    open_capture(page)
    assert subjects(page) == [f"t{i}" for i in range(12)]  # "old one" is beyond the 30-day horizon
    expect(page.page.locator("#capture-status")).to_have_text("12 pending to review")
    page.page.keyboard.press("f")  # the investor filter, chosen from the keyboard
    expect(page.page.locator("#filter-investor")).to_be_focused()
    page.page.keyboard.press("ArrowDown")  # "Kim Lee (8)" comes first
    expect(page.page.locator("#capture-status")).to_contain_text("8 shown")
    assert subjects(page) == [f"t{i}" for i in range(12) if i % 3]
    page.page.keyboard.press("Tab")  # on to the teammate filter
    expect(page.page.locator("#filter-teammate")).to_be_focused()
    page.page.keyboard.press("ArrowDown")  # "Admin (…)" first: Kim's mail in the admin's mailbox
    expect(page.page.locator("#capture-status")).to_contain_text("5 shown")
    assert subjects(page) == ["t1", "t2", "t4", "t5", "t7"]
    page.page.select_option("#filter-teammate", label="Member (4)")  # counts are of everything pending
    assert subjects(page) == ["t8", "t10", "t11"]
    assert page.unexpected_errors() == []


def test_star_takes_only_the_members_own_cards_and_an_admin_may_take_all(page, site):
    open_capture(page)  # the member: t0..t7 are in the admin's mailbox, t8..t11 in the member's
    page.page.keyboard.press("*")
    status = page.page.locator("#capture-status")
    expect(status).to_contain_text("teammates' cards left out")
    checked = page.page.locator("[data-proposal-id]:has(input.select:checked) .card-subject").all_text_contents()
    assert sorted(checked) == ["t10", "t11", "t8", "t9"]
    expect(page.page.locator("#select-scope-all")).to_be_hidden()  # a member cannot take the firm's queue
    admin = type(page)(site.browser, site.url)
    try:
        admin.login("admin@firm.test", PASSWORD)
        admin.page.goto("/capture?poll=600000")
        admin.page.locator("[data-proposal-id]").first.wait_for()
        shown = admin.page.locator("[data-proposal-id]").count()
        admin.page.keyboard.press("*")
        mine = admin.page.locator("[data-proposal-id]:has(input.select:checked)").count()
        admin.page.keyboard.press("Escape")
        admin.page.locator("#select-scope-all").check()
        admin.page.keyboard.press("*")
        expect(admin.page.locator("#capture-status")).to_contain_text(f"{shown} selected")
        assert mine < shown
        assert admin.unexpected_errors() == []
    finally:
        admin.close()
    page.page.keyboard.press("Escape")


def test_selection_by_click_shift_click_and_x_then_bulk_reject_from_the_keyboard(page, site):
    open_capture(page)
    cards = page.page.locator("[data-proposal-id]")
    cards.nth(1).locator("input.select").click()
    cards.nth(3).locator("input.select").click(modifiers=["Shift"])  # t1..t3
    expect(page.page.locator("#capture-status")).to_contain_text("3 selected")
    page.page.keyboard.press("Escape")  # clears the selection
    expect(page.page.locator("#capture-status")).not_to_contain_text("selected")
    for _ in range(3):  # from t3 (whose checkbox was clicked last) up to t0
        page.page.keyboard.press("k")
    expect(cards.nth(0)).to_be_focused()
    page.page.keyboard.press("x")
    page.page.keyboard.press("j")
    page.page.keyboard.press("j")
    page.page.keyboard.press("x")  # t0 and t2
    expect(page.page.locator("#bulk-reject")).to_have_text("Reject 2 selected")
    doomed = [cards.nth(0).get_attribute("data-proposal-id"), cards.nth(2).get_attribute("data-proposal-id")]
    page.page.keyboard.press("Shift+R")
    dialog = page.page.get_by_role("dialog")  # a real confirmation that says the count and whose cards
    expect(dialog.get_by_role("heading")).to_have_text("Reject 2 proposed notes?")
    expect(dialog).to_contain_text("2 of them are from a teammate's mailbox, not yours.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # Enter alone decides nothing
    dialog.get_by_role("button", name="Reject 2").click()
    expect(page.page.locator("#capture-status")).to_contain_text("Rejected 2.")
    assert "t0" not in subjects(page) and "t2" not in subjects(page)
    rejected = {str(p["id"]) for p in site.admin.get("/api/email/proposals?status=rejected").json["proposals"]}
    assert set(doomed) <= rejected
    assert page.unexpected_errors() == []


def test_select_all_shown_and_bulk_approve_with_one_confirmation_and_a_conflict(page, site):
    open_capture(page)
    page.page.select_option("#filter-teammate", label="Member (4)")
    first = page.page.locator("[data-proposal-id]").first
    elsewhere = first.get_attribute("data-proposal-id")
    page.page.get_by_role("button", name="Select all shown").click()
    expect(page.page.locator("#capture-status")).to_contain_text("4 selected")
    assert site.admin.post(f"/api/email/proposals/{elsewhere}/decide", {"decision": "reject"}).status == 200
    page.page.locator("#bulk-approve").click()
    expect(page.page.get_by_role("dialog")).to_contain_text("All of them are from your own mailbox.")
    page.page.get_by_role("dialog").get_by_role("button", name="Approve 4").click()
    expect(page.page.locator("#capture-status")).to_contain_text("Approved 3. 1 had already been decided elsewhere.")
    expect(page.page.locator("[data-proposal-id]")).to_have_count(0)
    approved = site.admin.get("/api/email/proposals?status=approved").json["proposals"]
    assert sorted(p["email"]["subject"] for p in approved) == ["t10", "t11", "t9"]


def test_a_dismissed_confirmation_decides_nothing(page):
    open_capture(page)
    before = subjects(page)
    page.page.locator("[data-proposal-id] input.select").first.click()
    page.page.locator("#bulk-reject").click()
    page.page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.page.get_by_role("dialog")).to_have_count(0)
    page.page.wait_for_timeout(200)
    assert subjects(page) == before


def test_admin_backfill_control_drafts_older_cards(page, site):
    admin = type(page)(site.browser, site.url)
    admin.login("admin@firm.test", PASSWORD)
    admin.page.goto("/admin")
    admin.page.select_option("#backfill-investor", label="Raj Patel (Birch)")
    admin.page.fill("#backfill-since", (NOW - datetime.timedelta(days=400)).strftime("%Y-%m-%d"))
    admin.page.get_by_role("button", name="Draft proposed notes").click()
    expect(admin.page.locator("#backfill-result")).to_contain_text("Drafted 1 proposed note from 1 older email")
    admin.page.goto("/capture?poll=600000")
    expect(admin.page.locator("[data-proposal-id]", has_text="old one")).to_have_count(1)
    assert admin.unexpected_errors() == []
    admin.close()


def test_a_card_being_edited_keeps_the_focus_while_the_page_scrolls(page):
    # The card window used to re-insert every card when its first card changed (a scroll), and a moved
    # node loses the focus: typing then went to the page's shortcuts (j/k move, * selects all shown,
    # f jumps to a filter whose type-ahead then changes it, A/R open the bulk confirmation).
    open_capture(page)
    page.page.set_viewport_size({"width": 1000, "height": 400})
    last = page.page.locator("[data-proposal-id]").last.get_attribute("data-proposal-id")  # in the window at both ends
    box = page.page.locator(f"#proposal-{last} textarea")
    box.click()
    for top in (0, 10_000, 0, 10_000):
        page.page.evaluate("(top) => window.scrollTo(0, top)", top)
        page.page.wait_for_timeout(100)  # a frame or more: the window re-renders on scroll
        expect(box).to_be_focused()
    page.page.keyboard.type(" and *")  # "*" would select every card if the focus had left the box
    assert box.input_value().endswith(" and *")
    expect(page.page.locator("#capture-status")).not_to_contain_text("selected")
    assert page.unexpected_errors() == []
