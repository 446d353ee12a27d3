"""The login page and the investor grid in real Chromium against a real server."""
import pytest

from conftest import PASSWORD, start_crm, with_people
from ui_browser import browsing

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server = with_people(start_crm(tmp_path_factory.mktemp("ui")))
    for name, firm, emails, domains in (("Alder Ventures", "Alder", ["kim@alder.vc"], ["alder.vc"]),
                                        ("Basalt Capital", "Basalt", ["jo@basalt.com", "ops@basalt.com"], [])):
        investor = server.admin.post("/api/investors", {"name": name, "firm": firm, "emails": emails,
                                                        "domains": domains}).json
        server.admin.post(f"/api/investors/{investor['id']}/notes", {"body": f"Intro call with {name}."})
    with browsing(server) as site:
        yield site



def test_anonymous_visit_goes_to_login_and_wrong_password_says_so(page):
    page.page.goto("/")
    page.page.wait_for_url("**/login**")
    page.page.fill("input[name=email]", "member@firm.test")
    page.page.fill("input[name=password]", "wrong")
    page.page.click("button[type=submit]")
    error = page.page.locator("#login-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Wrong email or password."
    assert page.unexpected_errors() == []


def test_the_grid_lists_investors_with_addresses_and_last_contact(page):
    page.login("member@firm.test", PASSWORD)
    rows = page.page.locator("tr.investor")
    rows.first.wait_for()
    text = page.page.locator("#grid").inner_text()
    for expected in ("Alder Ventures", "kim@alder.vc", "@alder.vc", "Basalt Capital", "ops@basalt.com", "never"):
        assert expected in text
    assert page.page.locator("#nav").inner_text().count("Admin") == 0  # members see no Admin link
    assert page.unexpected_errors() == []


def test_add_a_note_inline_and_it_persists(page, site):
    page.login("member@firm.test", PASSWORD)
    page.page.get_by_role("button", name="Notes of Alder Ventures").click()
    notes_row = page.page.locator("tr.notes-row")
    notes_row.locator("li.note").first.wait_for()
    notes_row.locator("textarea").fill("Asked for the Q3 numbers.")
    notes_row.locator("textarea").press("Control+Enter")
    page.page.locator("li.note", has_text="Asked for the Q3 numbers.").wait_for()
    investor = next(i for i in site.admin.get("/api/investors").json["investors"] if i["name"] == "Alder Ventures")
    bodies = [n["body"] for n in site.admin.get(f"/api/investors/{investor['id']}/notes").json["notes"]]
    assert bodies[0] == "Asked for the Q3 numbers."
    page.page.reload()
    page.page.get_by_role("button", name="Notes of Alder Ventures").click()
    page.page.locator("li.note", has_text="Asked for the Q3 numbers.").wait_for()
    assert page.unexpected_errors() == []


def test_add_investor_shows_the_servers_400(page):
    page.login("admin@firm.test", PASSWORD)
    page.page.click("#add-investor-toggle")
    page.page.fill("#add-investor input[name=name]", "Typo Partners")
    page.page.fill("#add-investor input[name=emails]", "not-an-address")
    page.page.click("#add-investor button[type=submit]")
    error = page.page.locator("#add-investor-error")
    error.wait_for(state="visible")
    assert "not an email address" in error.inner_text()
    page.page.fill("#add-investor input[name=emails]", "gp@typo.vc")
    page.page.click("#add-investor button[type=submit]")
    page.page.locator("tr.investor", has_text="Typo Partners").wait_for()
    assert "Admin" in page.page.locator("#nav").inner_text()
    assert page.unexpected_errors(allowed=("400",)) == []


def test_filter_and_logout(page):
    page.login("member@firm.test", PASSWORD)
    page.page.locator("tr.investor").first.wait_for()
    page.page.fill("#filter", "basalt")
    assert page.page.locator("tr.investor").count() == 1
    page.page.click("#logout")
    page.page.wait_for_url("**/login")
    page.page.goto("/")
    page.page.wait_for_url("**/login**")


def test_no_csp_violations_and_no_inline_script(page, site):
    import re
    from pathlib import Path
    for html in Path("frontend").glob("*.html"):
        source = html.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), html  # every script is a file
        assert not re.search(r"\son\w+=", source) and "style=" not in source, html
    page.login("admin@firm.test", PASSWORD)
    page.page.locator("tr.investor").first.wait_for()
    assert not [e for e in page.errors if "Content Security Policy" in e]
