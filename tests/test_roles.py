"""The role matrix of contracts §4, over the route table itself, plus the bot's narrow reach."""
import re

import pytest

from backend import auth, auth_api, server

ANON, MEMBER, BOT, ADMIN = "anonymous", "member", "bot", "admin"
EXPECTED = {
    auth.require_user: {ANON: 401, MEMBER: "ok", BOT: 403, ADMIN: "ok"},
    auth.require_admin: {ANON: 401, MEMBER: 403, BOT: 403, ADMIN: "ok"},
    auth.require_bot_or_admin: {ANON: 401, MEMBER: 403, BOT: "ok", ADMIN: "ok"},
    auth.require_login: {ANON: 401, MEMBER: "ok", BOT: "ok", ADMIN: "ok"},
    None: {ANON: "ok", MEMBER: "ok", BOT: "ok", ADMIN: "ok"},
}


def concrete(pattern: str) -> str:
    return re.sub(r"\(\?P<\w+>[^)]*\)", "1", pattern)


def caller(crm, who):
    return {ANON: crm.client(), MEMBER: crm.member, BOT: crm.bot, ADMIN: crm.admin}[who]


@pytest.mark.parametrize("route", server.CORE_ROUTES, ids=lambda r: f"{r.method} {r.pattern}")
@pytest.mark.parametrize("who", [ANON, MEMBER, BOT, ADMIN])
def test_every_core_route_answers_each_role_as_contracted(crm, route, who):
    client = caller(crm, who)
    if route.pattern == "/api/auth/logout" and who in (MEMBER, ADMIN):
        client = crm.logged_in(f"{who}@firm.test")  # logging out must not end the shared sessions
    expected = EXPECTED[route.guard][who]
    reply = client.request(route.method, concrete(route.pattern), {} if route.method != "GET" else None)
    if expected == "ok":
        assert reply.status not in (401, 403, 500), reply
    else:
        assert reply.status == expected, reply
        assert "error" in reply.json


def test_every_core_route_is_guarded_except_login_logout_and_one_time_links():
    open_routes = {r.pattern for r in server.CORE_ROUTES if r.guard is None}
    # A one-time link's token is the credential (issue 24, item 6): tests/test_account_links.py.
    assert open_routes == {"/api/auth/login", "/api/auth/logout", rf"/api/auth/links/{auth_api.LINK_TOKEN}"}


def test_a_member_flipped_to_bot_reaches_only_intake(crm):
    crm.create_user("spark@firm.test", "member")
    from conftest import manage
    manage(crm.data_dir, "set-role", "--email", "spark@firm.test", "--role", "bot")
    bot = crm.client(crm.issue_token("spark@firm.test"))
    assert bot.get("/api/auth/me").json["user"]["role"] == "bot"
    assert bot.get("/api/investors").status == 403
    assert bot.post("/api/investors/1/notes", {"body": "x"}).status == 403
    # Intake paths are the bot's; with the integration off they answer 503, not 401/403.
    reply = bot.get("/api/intake/email-proposals")
    assert reply.status == 503 and "error" in reply.json


@pytest.mark.parametrize("path", ["/api/email/status", "/api/email/accounts", "/api/email/threads",
                                  "/api/email/proposals?status=pending", "/api/intake/email-proposals",
                                  "/api/email/nonexistent", "/api/intake"])
@pytest.mark.parametrize("who", [ANON, MEMBER, BOT, ADMIN])
def test_flag_off_every_email_and_intake_path_is_503_json(crm, path, who):
    for method in ("GET", "POST"):
        reply = caller(crm, who).request(method, path, {} if method == "POST" else None)
        assert reply.status == 503, reply
        assert reply.headers["Content-Type"] == "application/json"
        assert "disabled" in reply.json["error"]
