"""Reading mail and watching it arrive (issue 24, items 3 and 4), in real Chromium against a CRM capturing from
the Gmail emulator in the investors scope (polled every 3 s).

Emails: a conversation opened far down the list shows its detail in view (sticky at 1440×900; in place of the
list, with Back, at a 390×844 phone); investor names link to the investor page; j/k/Enter/o/u/Escape; the
Teammate filter; why a search matched. Adding an investor on the grid, or an address on the investor page,
says "Searching 2 mailboxes for …" while the targeted backfill runs and fills in without a reload.
"""
import re

import pytest
from playwright.sync_api import expect

from capture_fixtures import start_capture_crm, sync_all
from conftest import PASSWORD
from devtools.make_service_account import make_service_account
from emulator_fixtures import add_message, make_message, start_emulator
from page_check import ARTIFACTS, axe_violations, layout_problems, serve_axe
from ui_browser import browsing

pytestmark = pytest.mark.browser
ADMIN, MEMBER = "admin@firm.test", "member@firm.test"
KIM = {"name": "Kim Lee", "firm": "Evergreen Partners", "emails": ["kim@alder.vc"], "domains": []}
YAN = {"name": "Yan Bloom", "firm": None, "emails": [], "domains": []}
UPDATES = 40
DESKTOP, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}
SEARCH_WAIT_MS = 30_000  # the poll every 3 s, one targeted search per mailbox: done in well under this


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    keys = make_service_account(str(tmp_path_factory.mktemp("sa")))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    for i in range(UPDATES):
        add_message(emulator.url, ADMIN, make_message(
            sender="K. Lee <kim@alder.vc>", to=ADMIN, subject=f"Portfolio update {i:02d}", body=f"Update {i}.\n",
            message_id=f"<u{i}@alder.vc>", date=f"Mon, {1 + i % 28:02d} Jun 2026 {i % 24:02d}:00:00 +0000"))
    add_message(emulator.url, ADMIN, make_message(
        sender="K. Lee <kim@alder.vc>", to=ADMIN, subject="Fund IV allocation <b>bold</b>",
        body="After the first close we would like a larger allocation in the second close.\n",
        message_id="<alloc@alder.vc>", date="Mon, 09 Nov 2026 10:00:00 +0000"))
    add_message(emulator.url, MEMBER, make_message(
        sender="K. Lee <kim@alder.vc>", to=MEMBER, subject="Quarterly letter", body="The letter.\n",
        message_id="<letter@alder.vc>", date="Tue, 10 Nov 2026 10:00:00 +0000"))
    # Mail of investors not in the CRM yet: the investors scope fetches none of it until they are added.
    add_message(emulator.url, MEMBER, make_message(
        sender="Zed Okoro <zed@zeta.vc>", to=MEMBER, subject="Zeta intro", body="Glad to meet.\n",
        message_id="<intro@zeta.vc>", date="Wed, 11 Nov 2026 10:00:00 +0000"))
    add_message(emulator.url, ADMIN, make_message(
        sender="Yan Bloom <yan@yonder.vc>", to=ADMIN, subject="Yonder hello", body="Shall we meet?\n",
        message_id="<hello@yonder.vc>", date="Thu, 12 Nov 2026 10:00:00 +0000"))
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(KIM, YAN), sync=False,
                               CRM_GMAIL_CAPTURE_SCOPE=None, CRM_GMAIL_POLL_SEC="3")
    server.admin.post("/api/email/accounts/enroll-all", {})
    sync_all(server, timeout=60)
    server.ids = {i["name"]: i["id"] for i in server.admin.get("/api/investors").json["investors"]}
    server.mailboxes = {a["email"]: a["id"] for a in server.admin.get("/api/email/accounts").json["accounts"]}
    with browsing(server, emulator) as site:
        yield site


class Tab:
    """A signed-in page at a viewport, recording console and page errors."""

    def __init__(self, site, email, viewport):
        self.context = site.browser.new_context(base_url=site.url, viewport=viewport)
        self.context.set_default_timeout(10_000)
        serve_axe(self.context)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto("/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/")


    def check(self, name):
        """The page check's layout and axe-core rules in the state the test left the page in, with a screenshot
        of the window (tests/artifacts/pages/reading-NAME.png)."""
        self.page.wait_for_timeout(300)  # the last email's detail settles
        self.page.screenshot(path=f"{ARTIFACTS}/reading-{name}.png")
        assert layout_problems(self.page) + axe_violations(self.page) == []


@pytest.fixture
def tab(site, request):
    opened = []

    def open_tab(email=MEMBER, viewport=DESKTOP):
        opened.append(Tab(site, email, viewport))
        return opened[-1]
    yield open_tab
    for t in opened:
        t.context.close()


def emails_page(tab, email=ADMIN, viewport=DESKTOP):
    t = tab(email, viewport)
    t.page.goto("/emails")
    expect(t.page.locator(".thread")).to_have_count(UPDATES + 2)
    return t


def test_a_conversation_far_down_opens_in_view_at_1440(tab):
    t = emails_page(tab)
    row = t.page.locator(".thread", has_text="Portfolio update 00")  # the oldest: last in the list
    row.scroll_into_view_if_needed()
    assert t.page.evaluate("window.scrollY") > 900  # far below the first screen
    row.click()
    detail = t.page.locator("#thread-pane [data-email-detail]")
    detail.wait_for()
    expect(t.page.locator("#thread-pane h2")).to_have_text("Portfolio update 00")
    expect(t.page.locator("#thread-pane h2")).to_be_in_viewport()
    expect(detail).to_be_in_viewport()
    assert "Update 0." in detail.inner_text()
    t.check("emails-desktop")
    assert t.errors == []


def test_on_a_phone_the_conversation_opens_in_place_of_the_list_with_back(tab):
    t = emails_page(tab, viewport=PHONE)
    row = t.page.locator(".thread", has_text="Portfolio update 00")
    row.scroll_into_view_if_needed()
    scrolled = t.page.evaluate("window.scrollY")
    assert scrolled > 844
    row.click()
    t.page.locator("#thread-pane [data-email-detail]").wait_for()
    expect(t.page.locator(".thread-list")).to_be_hidden()
    expect(t.page.locator("#thread-pane h2")).to_be_in_viewport()
    assert t.page.evaluate("window.scrollY") == 0
    t.check("emails-phone")
    above = t.page.locator(".thread").nth(UPDATES).locator(".thread-subject").inner_text()  # the row before the last
    t.page.keyboard.press("k")  # the list is hidden: k opens the conversation above in its place
    expect(t.page.locator("#thread-pane h2")).to_have_text(above)
    t.page.keyboard.press("j")
    expect(t.page.locator("#thread-pane h2")).to_have_text("Portfolio update 00")
    t.page.get_by_role("button", name="← Conversations").click()
    expect(t.page.locator(".thread-list")).to_be_visible()
    expect(t.page.locator("#thread-pane")).to_be_hidden()
    expect(row).to_be_in_viewport()  # back where the reader left the list
    assert t.errors == []


def test_investor_names_link_to_the_investor_page(tab, site):
    t = emails_page(tab)
    kim = site.ids["Kim Lee"]
    row = t.page.locator(".thread", has_text="Quarterly letter")
    row.locator("a.investor-link", has_text="Kim Lee").click()
    t.page.wait_for_url(f"**/investors/{kim}")
    expect(t.page.locator("#investor-name")).to_have_text("Kim Lee")
    t.page.go_back()
    t.page.locator(".thread", has_text="Quarterly letter").click()
    t.page.locator("#thread-pane .thread-investors a.investor-link", has_text="Kim Lee").click()
    t.page.wait_for_url(f"**/investors/{kim}")
    assert t.errors == []


def test_j_and_k_move_enter_opens_u_goes_back_never_while_typing(tab):
    t = emails_page(tab)
    rows = t.page.locator(".thread")
    for _ in range(3):
        t.page.keyboard.press("j")
    expect(rows.nth(2)).to_be_focused()
    t.page.keyboard.press("k")
    expect(rows.nth(1)).to_be_focused()
    subject = rows.nth(1).locator(".thread-subject").inner_text()
    t.page.keyboard.press("Enter")
    expect(t.page.locator("#thread-pane h2")).to_have_text(subject)
    assert rows.nth(1).get_attribute("aria-current") == "true"
    t.page.keyboard.press("j")
    t.page.keyboard.press("o")
    expect(t.page.locator("#thread-pane h2")).to_have_text(rows.nth(2).locator(".thread-subject").inner_text())
    t.page.locator("#thread-pane button.link").first.focus()
    t.page.keyboard.press("u")
    expect(rows.nth(2)).to_be_focused()
    t.page.keyboard.press("/")
    expect(t.page.locator("#q")).to_be_focused()
    t.page.keyboard.type("jk")  # typed into the search, not moving the list
    expect(t.page.locator("#q")).to_have_value("jk")
    assert t.page.locator(".thread.cursor").count() <= 1
    expect(rows.nth(2)).to_have_class(re.compile(r"\bcursor\b"))
    assert t.errors == []


def test_the_teammate_filter_lists_one_mailbox(tab, site):
    t = emails_page(tab, email=MEMBER)
    t.page.select_option("#mailbox", label="Member")
    expect(t.page.locator(".thread")).to_have_count(1)
    expect(t.page.locator(".thread")).to_contain_text("Quarterly letter")
    t.page.select_option("#mailbox", label="Admin")
    expect(t.page.locator(".thread")).to_have_count(UPDATES + 1)
    t.page.select_option("#mailbox", label="All teammates")
    expect(t.page.locator(".thread")).to_have_count(UPDATES + 2)
    assert site.member.get("/api/email/threads?mailbox=nope").status == 400
    assert t.errors == []


def test_a_search_says_why_each_conversation_matched(tab):
    t = emails_page(tab)
    t.page.fill("#q", "allocation")
    row = t.page.locator(".thread")
    expect(row).to_have_count(1)
    why = row.locator(".thread-why")
    expect(why.locator(".why-subject")).to_have_text("Subject: Fund IV allocation <b>bold</b>")
    expect(why.locator(".why-subject mark")).to_have_text("allocation")
    expect(why.locator(".why-body")).to_contain_text("a larger allocation in the second close")
    expect(why.locator(".why-body mark")).to_have_text("allocation")
    assert why.locator("b").count() == 0  # the mail's text is text, never markup
    t.check("emails-search")
    t.page.fill("#q", "evergreen")  # the investor's firm: in no email
    expect(t.page.locator(".thread")).to_have_count(UPDATES + 2)
    first = t.page.locator(".thread").first.locator(".why-investor")
    expect(first).to_have_text("Investor: Kim Lee · Evergreen Partners")
    expect(first.locator("mark")).to_have_text("Evergreen")
    assert t.errors == []


def test_adding_an_investor_on_the_grid_says_it_searches_and_fills_in(tab):
    t = tab(MEMBER)
    t.page.goto("/")
    t.page.locator("tr.investor").first.wait_for()
    t.page.evaluate("window.notReloaded = true")
    t.page.click("#add-investor-toggle")
    t.page.fill("#add-investor input[name=name]", "Zed Okoro")
    t.page.fill("#add-investor input[name=emails]", "zed@zeta.vc")
    t.page.click("#add-investor button[type=submit]")
    row = t.page.locator("tr.investor", has_text="Zed Okoro")
    expect(row.locator("td.last-contact")).to_have_text("Searching 2 mailboxes for Zed Okoro's mail…")
    t.page.screenshot(path=f"{ARTIFACTS}/reading-grid-searching.png")
    expect(row.locator("td.last-contact")).not_to_contain_text("Searching", timeout=SEARCH_WAIT_MS)
    expect(row.locator("td.last-contact")).not_to_have_text("never")
    expect(row.locator("td.closest")).to_have_text("Member")
    assert t.page.evaluate("window.notReloaded") is True
    assert t.errors == []


def test_adding_an_address_on_the_investor_page_says_it_searches_and_fills_in(tab, site):
    t = tab(MEMBER)
    t.page.goto(f"/investors/{site.ids['Yan Bloom']}")
    expect(t.page.locator("#timeline-status")).to_contain_text("Nothing yet")
    expect(t.page.locator("#connections-status")).to_have_text("No one on the team has emailed them yet.")
    t.page.evaluate("window.notReloaded = true")
    t.page.click("#edit-toggle")
    t.page.fill("#edit-investor input[name=emails]", "yan@yonder.vc")
    t.page.click("#edit-investor button[type=submit]")
    searching = "Searching 2 mailboxes for Yan Bloom's mail…"
    expect(t.page.locator("#connections-status")).to_have_text(searching)
    expect(t.page.locator("#timeline-status")).to_have_text(searching)
    t.page.screenshot(path=f"{ARTIFACTS}/reading-investor-searching.png")
    email = t.page.locator("#timeline li.item.email", has_text="Yonder hello")
    email.wait_for(timeout=SEARCH_WAIT_MS)
    expect(t.page.locator("#connections-body tr.connection")).to_have_count(1)
    expect(t.page.locator("#connections-body tr.connection td").first).to_have_text("Admin")
    expect(t.page.locator("#connections-status")).to_have_text("")
    expect(t.page.locator("#timeline-status")).to_have_text("")
    assert t.page.evaluate("window.notReloaded") is True
    assert t.errors == []
