"""A real CRM with CRM_CALENDAR=on against the emulator whose DWD grant lacks the calendar scope for one
mailbox: that mailbox's mail is captured all the same, /api/email/status says "calendar not granted" with
Google's reason, and the Admin page shows it, in real Chromium."""
import time

import pytest

from calendar_fixtures import add_event, event
from capture_fixtures import KIM, start_capture_crm
from conftest import PASSWORD
from email_integration.google.scopes import CALENDAR_EVENTS_READONLY_SCOPE
from emulator_fixtures import add_message, make_message, start_emulator
from ui_browser import browsing

MEMBER = "member@firm.test"
PAGE_LOGIN = ("admin@firm.test", PASSWORD)


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy",
                              dwd_deny_scopes=((MEMBER, CALENDAR_EVENTS_READONLY_SCOPE),))
    add_message(emulator.url, MEMBER, make_message(sender="Kim Lee <kim@alder.vc>", to=MEMBER, subject="Deck"))
    add_event(emulator.url, MEMBER, event("Fund II", "2026-11-10T10:00:00Z", attendees=["kim@alder.vc"]))
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(KIM,), CRM_CALENDAR="on")
    with browsing(server, emulator) as site:
        yield site


def member_view(site) -> dict:
    accounts = site.admin.get("/api/email/status").json["accounts"]
    return next(a for a in accounts if a["email"] == MEMBER)


def test_a_refused_calendar_scope_says_so_and_mail_is_captured(site):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and member_view(site)["calendar"]["status"] == "pending":
        time.sleep(0.2)
    view = member_view(site)
    assert view["calendar"]["status"] == "not_granted" and view["calendar"]["label"] == "calendar not granted"
    assert "unauthorized_client" in view["calendar"]["error"] and "calendar.events.readonly" in view["calendar"]["error"]
    assert view["last_run"]["status"] == "ok" and view["counts"]["matched"] == 1  # mail goes on


@pytest.mark.browser
def test_the_admin_page_shows_the_calendar_state(page, site):
    test_a_refused_calendar_scope_says_so_and_mail_is_captured(site)
    page.page.goto("/admin")
    row = page.page.locator("tr", has_text=MEMBER)
    row.locator(".calendar-status.error", has_text="calendar not granted").wait_for()
    assert "unauthorized_client" in row.locator(".calendar-status").get_attribute("title")
