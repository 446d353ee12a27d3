"""The investor page's People in real Chromium (issue 24, item 8), at the desktop and the phone size: add
Leo Park to Maya Okafor's investor row with his address, and the timeline and "Who knows them" name him."""
import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from people_fixtures import MEMBER, fjord_site
from page_check import axe_violations, layout_problems, serve_axe
from ui_browser import browsing

pytestmark = pytest.mark.browser
PAGE_LOGIN = (MEMBER, PASSWORD)


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    with fjord_site(tmp_path_factory, keys, people=False) as server:
        with browsing(server):
            yield server


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_adding_a_person_with_an_address_names_them_in_the_timeline_and_who_knows_them(page, site, size):
    page.page.set_viewport_size({"width": size[0], "height": size[1]})
    serve_axe(page.context)
    page.page.goto(f"/investors/{site.fjord}")
    expect(page.page.locator("#people-status")).to_be_visible()  # no people yet: as before
    expect(page.page.locator("li.item.email")).to_have_count(4)
    expect(page.page.locator("li.item .with-whom")).to_have_count(0)
    page.page.get_by_role("button", name="Add a person").click()
    form = page.page.locator("#person-form")
    form.get_by_label("Name").fill("Leo Park")
    form.get_by_label("Title").fill("Principal")
    form.get_by_label("leo@fjord.example").check()
    form.get_by_role("button", name="Add person").click()
    person = page.page.locator("#people-list li.person")
    expect(person).to_have_count(1)
    expect(person).to_contain_text("Leo Park")
    expect(person).to_contain_text("leo@fjord.example")
    expect(form).to_be_hidden()
    # the timeline reloads: the email sent to Leo and the one signed "Leo Park" at the fund's domain are his
    leo_mail = page.page.locator("li.item.email", has=page.page.locator(".with-whom", has_text="with Leo Park"))
    expect(leo_mail).to_have_count(2)
    expect(page.page.locator("li.item.email", has_text="Fund IV").locator(".with-whom")).to_have_count(0)
    known = page.page.locator("#person-connections .person-known", has_text="Leo Park")
    expect(known).to_contain_text("Member")
    # the page check's probes with a person and the edit form open: nothing sideways, no overlap, axe clean
    page.page.get_by_role("button", name="Edit Leo Park").click()
    expect(form.get_by_label("leo@fjord.example")).to_be_checked()
    assert layout_problems(page.page) + axe_violations(page.page) == []
    page.page.screenshot(path=f"tests/artifacts/pages/investor-people-{size[0]}.png", full_page=True)
    form.get_by_role("button", name="Cancel").click()
    # Email Capture's card names Leo, and its draft (no one had touched it) was redrafted for him
    page.page.goto("/capture")
    card = page.page.locator("article.card", has_text="Q3 numbers")
    expect(card.locator(".card-head .card-person")).to_have_text("Leo Park")
    expect(card.locator("textarea.draft")).to_have_value(
        "Chloe to Leo Park (Fjord Capital): Could you send the Q3 numbers by Friday?")
    expect(page.page.locator("article.card", has_text="Fund IV").locator(".card-person")).to_have_count(0)
    page.page.goto(f"/investors/{site.fjord}")
    # a bad address is refused with the server's reason, and the form keeps what was typed
    page.page.get_by_role("button", name="Add a person").click()
    form.get_by_label("Name").fill("Stranger")
    form.get_by_label("Other addresses").fill("member@firm.test")
    form.get_by_role("button", name="Add person").click()
    expect(page.page.locator("#person-error")).to_be_visible()
    expect(form.get_by_label("Name")).to_have_value("Stranger")
    # removing Leo leaves his address with the investor
    page.page.get_by_role("button", name="Remove Leo Park").click()
    page.page.locator("dialog.confirm-dialog").get_by_role("button", name="Remove").click()
    expect(person).to_have_count(0)
    assert "leo@fjord.example" in site.member.get(f"/api/investors/{site.fjord}").json["emails"]
    assert page.unexpected_errors(allowed=("401", "400")) == []


def test_an_address_dropped_in_the_header_edit_leaves_its_person_at_once(page, site):
    ops = site.member.post(f"/api/investors/{site.fjord}/people", {"name": "Ola Ops", "emails": ["ops@fjord.example"]}).json
    try:
        page.page.goto(f"/investors/{site.fjord}")
        row = page.page.locator("#people-list li.person", has_text="Ola Ops")
        expect(row).to_contain_text("ops@fjord.example")
        page.page.click("#edit-toggle")
        emails = page.page.locator("#edit-investor input[name=emails]")
        emails.fill(", ".join(e for e in emails.input_value().split(", ") if e != "ops@fjord.example"))
        page.page.locator("#edit-investor").get_by_role("button", name="Save").click()
        expect(row).to_contain_text("no address yet")
        assert page.unexpected_errors() == []
    finally:
        site.member.request("DELETE", f"/api/investors/{site.fjord}/people/{ops['id']}")
