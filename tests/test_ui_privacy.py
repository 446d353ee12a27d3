"""Privacy controls in real Chromium with two members and an admin (issue 16): marking a conversation
private on /emails and on a card, the Privacy page (visibility, exclusions), Bcc, the audit log."""
import contextlib

import pytest
from playwright.sync_api import expect

from capture_fixtures import KIM, capture_env, sync_all
from conftest import PASSWORD, start_crm, with_people
from devtools.make_service_account import make_service_account
from emulator_fixtures import add_message, make_message, start_emulator
from ui_browser import Page, browsing

pytestmark = pytest.mark.browser
ADMIN, MEMBER, MEMBER2 = "admin@firm.test", "member@firm.test", "member2@firm.test"


def mail(url, boxes, subject, mid, labels="INBOX", **kw):
    raw = make_message(sender=kw.pop("sender", "Kim Lee <kim@alder.vc>"), to=kw.pop("to", ", ".join(boxes)),
                       subject=subject, message_id=f"<{mid}>", body=kw.pop("body", "Could you send the deck?\n"), **kw)
    for box in boxes:
        add_message(url, box, raw, labels)
    return raw


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    keys = make_service_account(str(tmp_path_factory.mktemp("sa")))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    url = emulator.url
    mail(url, [MEMBER], "Private in browser", "ui-private@alder.vc", body="PRIVATEWORD could you call?\n")
    mail(url, [MEMBER], "Card private", "ui-card@alder.vc")
    mail(url, [ADMIN], "Admin quiet", "ui-quiet@alder.vc", body="QUIETWORD could you send the model?\n")
    mail(url, [MEMBER2], "Lawfirm intro", "ui-law@alder.vc", cc="Spy <spy@lawfirm.test>")
    bcc = mail(url, [MEMBER], "Bcc in browser", "ui-bcc@firm.test", labels="SENT", sender="Member <member@firm.test>",
               to="kim@alder.vc", headers={"Bcc": "Adv <adv@advisors.test>"})
    add_message(url, MEMBER2, bcc.replace(b"Bcc: Adv <adv@advisors.test>\n", b"").replace(
        b"To: kim@alder.vc", b"To: kim@alder.vc, member2@firm.test"), "INBOX")
    server = with_people(start_crm(tmp_path_factory.mktemp("ui"), capture_env(emulator, keys[0])))
    server.create_user(MEMBER2, "member", name="Member Two")
    server.member2 = server.logged_in(MEMBER2)
    assert server.admin.post("/api/investors", {**KIM, "domains": ["alder.vc"]}).status == 201
    server.admin.post("/api/email/accounts/enroll-all", {})
    sync_all(server)
    with browsing(server, emulator) as running:
        yield running


@contextlib.contextmanager
def signed_in(site, email):
    page = Page(site.browser, site.url)
    try:
        page.login(email, PASSWORD)
        yield page
        assert page.unexpected_errors() == []
    finally:
        page.close()


def thread_titles(page):
    page.page.goto("/emails")
    page.page.locator("#threads-status", has_text="conversation").wait_for()
    return page.page.locator(".thread-subject").all_inner_texts()


def card_subjects(page):
    page.page.goto("/capture")
    page.page.locator("#capture-status", has_text="review").wait_for()
    return page.page.locator(".card-subject").all_inner_texts()


def test_member_marks_a_conversation_private_and_back_on_emails(site):
    with signed_in(site, MEMBER) as member, signed_in(site, MEMBER2) as other:
        assert "Private in browser" in thread_titles(other)
        thread_titles(member)
        member.page.locator(".thread", has_text="Private in browser").click()
        member.page.get_by_role("button", name="Mark conversation private").click()
        expect(member.page.locator(".privacy-line")).to_contain_text("Private: only teammates whose own mailbox")
        assert "Private in browser" not in thread_titles(other)
        other.page.fill("#q", "PRIVATEWORD")
        expect(other.page.locator("#threads-status")).to_have_text("No captured conversations match.")
        assert "Private in browser" not in card_subjects(other)
        assert "Private in browser" in thread_titles(member)  # its holder still sees it
        member.page.locator(".thread", has_text="Private in browser").click()
        member.page.get_by_role("button", name="Make visible to teammates").click()
        expect(member.page.get_by_role("button", name="Mark conversation private")).to_be_visible()
        assert "Private in browser" in thread_titles(other)
        assert "Private in browser" in card_subjects(other)  # its withdrawn card is proposed again


def test_a_card_marked_private_leaves_capture_for_everyone(site):
    with signed_in(site, MEMBER) as member, signed_in(site, MEMBER2) as other:
        assert "Card private" in card_subjects(member)
        card = member.page.locator(".card", has_text="Card private")
        card.get_by_role("button", name="Mark conversation private").click()
        expect(member.page.locator(".card", has_text="Card private")).to_have_count(0)
        assert "Card private" not in card_subjects(other)
        assert "Card private" not in card_subjects(member)
        # Only a holder of the conversation is offered the button.
        expect(other.page.locator(".card", has_text="Private in browser")).to_have_count(1)
        expect(other.page.locator(".card", has_text="Private in browser").get_by_role(
            "button", name="Mark conversation private")).to_have_count(0)


def test_visibility_chosen_on_the_privacy_page(site):
    try:
        with signed_in(site, ADMIN) as admin:
            admin.page.goto("/privacy")
            select = admin.page.locator(".mailbox", has_text=ADMIN).locator("select")
            select.select_option("subject")
            expect(admin.page.locator("#privacy-message")).to_contain_text("now see subject")
            assert "most open setting" in admin.page.locator("main").inner_text()
            cards = card_subjects(admin)
            assert "Admin quiet" in cards
            expect(admin.page.locator(".card", has_text="Admin quiet").locator(".owner-only")).to_contain_text(
                "Only you see this card")
        with signed_in(site, MEMBER) as member:
            assert "Admin quiet" not in card_subjects(member)
            thread_titles(member)
            member.page.locator(".thread", has_text="Admin quiet").click()
            detail = member.page.locator("[data-email-detail]")
            expect(detail).to_contain_text("shares only who, when and the subject")
            assert "QUIETWORD" not in detail.inner_text() and "Admin quiet" in detail.inner_text()
    finally:
        site.admin.patch(f"/api/email/accounts/{_account(site, ADMIN)}", {"visibility": "everything"})


def _account(site, address):
    return next(a["id"] for a in site.admin.get("/api/email/accounts").json["accounts"] if a["email"] == address)


def test_bcc_shown_only_to_its_sender(site):
    with signed_in(site, MEMBER) as member, signed_in(site, MEMBER2) as other:
        for page, expected in ((member, True), (other, False)):
            thread_titles(page)
            page.page.locator(".thread", has_text="Bcc in browser").click()
            detail = page.page.locator("[data-email-detail]")
            detail.wait_for()
            assert ("adv@advisors.test" in detail.inner_text()) is expected


def thread_titles_now(site, email):
    client = site.logged_in(email)
    return [t["subject"] for t in client.get("/api/email/threads?limit=100").json["threads"]]


def test_exclusion_added_on_the_privacy_page_purges_that_mailbox(site):
    with signed_in(site, MEMBER2) as other:
        assert "Lawfirm intro" in thread_titles(other)
        other.page.goto("/privacy")
        expect(other.page.locator("#exclusion-scope option[value=firm]")).to_be_hidden()
        other.page.fill("#exclusion-pattern", "@LawFirm.test")
        other.page.get_by_role("button", name="Keep out").click()
        dialog = other.page.get_by_role("dialog")  # the dry run says what saving would purge, first
        expect(dialog).to_contain_text("This removes 1 captured message from 1 conversation in your mailbox.")
        assert "Lawfirm intro" in thread_titles_now(site, MEMBER2)  # nothing purged yet
        dialog.get_by_role("button", name="Remove 1 message").click()
        expect(other.page.locator("#privacy-message")).to_contain_text("@lawfirm.test kept out; 1 captured message removed")
        expect(other.page.locator("tr[data-pattern='@lawfirm.test']")).to_contain_text("my mailbox")
        assert "Lawfirm intro" not in thread_titles(other)


def test_admin_page_shows_the_audit_log(site):
    with signed_in(site, ADMIN) as admin:
        admin.page.goto("/admin")
        body = admin.page.locator("#audit-body")
        expect(body).to_contain_text("Admin added the investor Kim Lee")  # in words; the raw entry under Details
        expect(body.locator("tr[data-action='investor.create'] pre")).to_contain_text("emails: — → kim@alder.vc")
    with signed_in(site, MEMBER) as member:
        member.page.goto("/admin")
        expect(member.page.locator("#admin-error")).to_contain_text("for admins")
        assert member.page.locator("#audit-body tr").count() == 0
