"""Account management in Admin, in real Chromium (issue 24, item 6): the admin invites a teammate, the
invitee opens the one-time link in a fresh browser, sets a password and is signed in."""
import pytest

from conftest import PASSWORD, start_crm, with_people
from ui_browser import Page, browsing

pytestmark = pytest.mark.browser
PAGE_LOGIN = ("admin@firm.test", PASSWORD)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with browsing(with_people(start_crm(tmp_path_factory.mktemp("crm")))) as site:
        yield site


def test_invite_then_the_invitee_sets_a_password_and_is_signed_in(page, site):
    page.page.goto("/admin")
    form = page.page.locator("#invite-form")
    form.get_by_label("Name").fill("Chloe Tan")
    form.get_by_label("Email").fill("chloe@firm.test")
    form.get_by_label("Role").select_option("member")
    form.get_by_role("button", name="Invite").click()
    link = page.page.locator("#handover-value").input_value()
    assert link.startswith(site.url + "/invite/")
    row = page.page.locator("#people-body tr", has_text="chloe@firm.test")
    assert "invited" in row.inner_text()

    invitee = Page(site.browser, site.url)  # a fresh context: no admin cookie
    try:
        invitee.page.goto(link)
        invitee.page.get_by_role("heading", name="Welcome, Chloe Tan").wait_for()
        invitee.page.get_by_label("New password").fill("chloe's own password")
        invitee.page.get_by_label("Repeat it").fill("chloe's own password")
        invitee.page.get_by_role("button", name="Set password and sign in").click()
        invitee.page.wait_for_url(site.url + "/")
        invitee.page.locator("#nav .who", has_text="Chloe Tan").wait_for()
        invitee.page.goto(link)  # single use: the page says so
        invitee.page.locator("#link-lead.error", has_text="used already").wait_for()
        assert invitee.unexpected_errors(allowed=("410",)) == []
    finally:
        invitee.close()
    page.page.reload()
    assert "invited" not in page.page.locator("#people-body tr", has_text="chloe@firm.test").inner_text()
    assert page.unexpected_errors(allowed=("503",)) == []  # the Gmail sections: integration off here
