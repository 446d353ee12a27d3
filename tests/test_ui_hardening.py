"""Page-side hardening in real Chromium (issue 15, items 4 and 8; issue 22, item 3): the login page's
`next` stays on this origin, dot segments that resolve to "//host" included; a crafted /capture?poll= link cannot make a victim's browser hammer the server."""
from urllib.parse import urlsplit

import pytest

from conftest import PASSWORD, start_crm, with_people
from ui_browser import browsing

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with browsing(with_people(start_crm(tmp_path_factory.mktemp("crm")))) as site:
        yield site


def sign_in(page, next_value: str) -> str:
    page.page.goto(f"/login?next={next_value}")
    page.page.fill("input[name=email]", "member@firm.test")
    page.page.fill("input[name=password]", PASSWORD)
    with page.page.expect_navigation():
        page.page.click("button[type=submit]")
    return page.page.url


@pytest.mark.parametrize("next_value", ["/%5Cevil.test", "/%09/evil.test", "//evil.test", "%2F%2Fevil.test",
                                        "https://evil.test/", "/%5C%5Cevil.test/x", "javascript:alert(1)",
                                        "/%0A/evil.test", "https:evil.test", "https:%2F%2Fevil.test", "%09//evil.test",
                                        "/%0D%0A/evil.test", "%5C%5Cevil.test", "HTTPS://EVIL.TEST", "//evil.test:443@x"])
def test_next_never_leaves_the_site(page, site, next_value):
    # Never really reach another host: a request for it is aborted (and would show in page.url).
    page.context.route("**/*", lambda route: route.abort() if urlsplit(route.request.url).hostname == "evil.test"
                       else route.continue_())
    landed = sign_in(page, next_value)
    assert urlsplit(landed).netloc == urlsplit(site.url).netloc, landed


# Issue 22, item 3: each resolves on this origin to the path "//evil.test" (or "/\\evil.test"), which the
# old page then navigated to as a string of its own: another site. `%252e` reaches `next` as "%2e".
DOT_SEGMENTS = ["/.//evil.test", "/..//evil.test", "/a/..//evil.test", "/%2e//evil.test", "/%252e//evil.test",
                "/%252E%252E//evil.test", "/./%5Cevil.test", "/a/b/../..//evil.test/x", "/%2E%2E//evil.test"]


@pytest.mark.parametrize("next_value", DOT_SEGMENTS)
def test_a_next_whose_path_resolves_to_a_network_path_stays_home(page, site, next_value):
    page.context.route("**/*", lambda route: route.abort() if urlsplit(route.request.url).hostname == "evil.test"
                       else route.continue_())
    landed = sign_in(page, next_value)
    assert landed == site.url + "/", landed


@pytest.mark.parametrize("next_value, expected", [("/emails", "/emails"), ("%2Fcapture%23proposal-7", "/capture#proposal-7"),
                                                  ("/admin%3Ftab%3D1", "/admin?tab=1"),
                                                  ("/a/../emails", "/emails"), ("/./capture", "/capture")])
def test_a_same_origin_next_is_followed(page, site, next_value, expected):
    assert sign_in(page, next_value) == site.url + expected


def test_a_tiny_poll_interval_is_clamped(page, site):
    page.login("member@firm.test", PASSWORD)
    polls = []
    page.page.on("request", lambda r: polls.append(r.url) if "/api/email/proposals" in r.url else None)
    page.page.goto("/capture?poll=1")
    page.page.wait_for_timeout(3000)
    assert 1 <= len(polls) <= 3, len(polls)  # the first load, then at most one poll per 2 s
