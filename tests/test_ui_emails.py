"""The Admin and Emails pages in real Chromium: enroll, sync, progress; threads, detail, sandboxed HTML."""
import re

import pytest
from playwright.sync_api import expect

from capture_fixtures import start_capture_crm
from conftest import PASSWORD
from devtools.make_service_account import make_service_account
from emulator_fixtures import add_message, make_message, start_emulator
from ui_browser import browsing

pytestmark = pytest.mark.browser
ADMIN = "admin@firm.test"
HOSTILE_HTML = ("<html><body><p id='x'>Deck inside.</p><script>parent.document.title='pwned'</script>"
                "<img src='https://track.example/open.gif'></body></html>")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    keys = make_service_account(str(tmp_path_factory.mktemp("sa")))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    for i in range(3):
        add_message(emulator.url, ADMIN, make_message(
            sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=f"Fund III update {i}", body=f"Update {i}.\n",
            html=HOSTILE_HTML if i == 0 else None, message_id=f"<u{i}@alder.vc>",
            attachments=[("deck.pdf", "application/pdf", b"%PDF-1.4")] if i == 0 else ()))
    server = start_capture_crm(tmp_path_factory.mktemp("ui"), emulator, keys, sync=False)
    with browsing(server, emulator) as site:
        yield site



def test_admin_enrolls_and_syncs_with_progress(page):
    page.login(ADMIN, PASSWORD)
    page.page.goto("/admin")
    page.page.click("#enroll-all")
    page.page.locator("#admin-message").wait_for(state="visible")
    assert "Enrolled" in page.page.locator("#admin-message").inner_text()
    page.page.click("#run-all")
    row = page.page.locator("tr[data-account-id]", has_text=ADMIN)
    row.wait_for()
    expect(row.locator("td.last-run")).to_contain_text("First sync today: 3 emails captured.", timeout=30_000)
    assert "member@firm.test" in page.page.locator("#accounts-body").inner_text()
    # The figures, one click away: the quota regime, the units Gmail charged the mailbox (last minute / hour)
    # with its pace, and what the capture did (scope, listed / fetched / skipped, units per captured message).
    page.page.locator("#gmail-figures summary").click()
    expect(page.page.locator("#quota")).to_contain_text("Gmail quota profile legacy: 15,000 units per minute")
    row.locator("summary", has_text="Details").click()
    figures = row.locator("[data-quota-units] dl")
    expect(figures).to_contain_text(re.compile(r"Quota units, last hour\s*[1-9][\d,]*"))
    expect(figures).to_contain_text(re.compile(r"Pace kept \(units per minute\)\s*13,500"))
    expect(figures).to_contain_text(re.compile(r"Capture scope\s*all\s*Listed\s*3\s*Fetched\s*3\s*Skipped\s*0\s*Captured\s*3"))
    expect(figures).to_contain_text(re.compile(r"Quota units per captured message\s*[\d.]+"))
    assert page.unexpected_errors() == []


def test_member_reads_thread_with_sandboxed_html(page, site):
    site.admin.post("/api/email/accounts/enroll-all", {})
    site.admin.post("/api/email/sync/run-now", {})
    page.login("member@firm.test", PASSWORD)
    page.page.goto("/emails")
    expect(page.page.locator(".thread")).to_have_count(3, timeout=30_000)
    page.page.locator(".thread", has_text="Fund III update 0").click()
    detail = page.page.locator("[data-email-detail]")
    detail.wait_for()
    assert "Update 0." in detail.inner_text() and "deck.pdf" in detail.inner_text()
    page.page.get_by_text("Show as sent (HTML)").click()
    frame = page.page.locator("iframe.email-html")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == ""
    page.page.frame_locator("iframe.email-html").locator("#x").wait_for()
    assert page.page.title() != "pwned"
    page.page.fill("#q", "nothing-like-this")
    expect(page.page.locator(".thread")).to_have_count(0)
    # the sandbox and CSP blocking the email's script and remote image is expected; nothing else may fail
    assert page.unexpected_errors(allowed=("401", "Blocked script", "sandboxed", "Content Security Policy")) == []


def test_members_see_no_admin_page_data(page):
    page.login("member@firm.test", PASSWORD)
    page.page.goto("/admin")
    page.page.locator("#admin-error").wait_for(state="visible")
    assert "for admins" in page.page.locator("#admin-error").inner_text()
    assert page.page.locator("#accounts-body").inner_text() == ""
