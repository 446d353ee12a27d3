"""Account management from the browser's API (issue 24, item 6): invitations and resets as one-time
links (single use, expiring, voided by a newer one), roles, tokens shown once, all admin-only and audited."""
import sqlite3

import pytest

from conftest import PASSWORD, start_crm, with_people

NEW_PASSWORD = "a long new password"


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    server = with_people(start_crm(tmp_path_factory.mktemp("crm")))
    yield server
    log = server.stop()
    assert "/invite/[link]" in log or "/api/auth/links/[link]" in log
    for token in getattr(server, "seen_tokens", []):
        assert token not in log  # a link is a password until used: never in the log


def token_of(link: dict) -> str:
    return link["url"].rsplit("/", 1)[1]


def invite(crm, email, role="member", name="New Person"):
    reply = crm.admin.post("/api/admin/users", {"email": email, "name": name, "role": role})
    assert reply.status == 201, reply
    if reply.json["link"]:
        crm.__dict__.setdefault("seen_tokens", []).append(token_of(reply.json["link"]))
    return reply.json


def audit_actions(crm):
    return [e["action"] for e in crm.admin.get("/api/audit?limit=500").json["entries"]]


def test_an_invitation_sets_the_password_once_and_signs_in(crm):
    made = invite(crm, "leo@firm.test", name="Leo")
    link = made["link"]
    assert link["kind"] == "invite" and link["url"].startswith("/invite/")
    token = token_of(link)
    page = crm.client().get(link["url"])
    assert page.status == 200 and b"set_password.js" in page.body
    browser = crm.client()
    shown = browser.get(f"/api/auth/links/{token}")
    assert shown.status == 200 and shown.json["user"] == {"email": "leo@firm.test", "name": "Leo"}
    assert browser.post(f"/api/auth/links/{token}", {"password": "short"}).status == 400  # and the link lives on
    used = browser.post(f"/api/auth/links/{token}", {"password": NEW_PASSWORD})
    assert used.status == 200 and used.json["user"]["email"] == "leo@firm.test"
    assert browser.get("/api/auth/me").json["user"]["role"] == "member"  # signed in by the answer
    again = crm.client().post(f"/api/auth/links/{token}", {"password": "another long password"})
    assert again.status == 410 and "used" in again.json["error"]
    assert crm.client().get(f"/api/auth/links/{token}").status == 410
    assert crm.client().login("leo@firm.test", NEW_PASSWORD).status == 200
    assert {"user.invite", "user.password_set"} <= set(audit_actions(crm))


def test_an_expired_link_is_refused(crm):
    token = token_of(invite(crm, "late@firm.test")["link"])
    conn = sqlite3.connect(f"{crm.data_dir}/crm.db")
    with conn:
        conn.execute("UPDATE account_links SET expires_at = '2020-01-01T00:00:00Z' WHERE user_id = "
                     "(SELECT id FROM users WHERE email = 'late@firm.test')")
    conn.close()
    assert crm.client().get(f"/api/auth/links/{token}").status == 410
    reply = crm.client().post(f"/api/auth/links/{token}", {"password": NEW_PASSWORD})
    assert reply.status == 410 and "expired" in reply.json["error"]
    assert crm.client().login("late@firm.test", NEW_PASSWORD).status == 401


def test_invite_lifetime_is_72_hours_and_reset_24():
    from backend.auth import LINK_HOURS
    assert LINK_HOURS == {"invite": 72, "reset": 24}


def test_a_reset_link_ends_old_sessions_and_a_newer_link_voids_it(crm):
    user_id = crm.create_user("forgot@firm.test", "member")
    old_session = crm.logged_in("forgot@firm.test")
    first = crm.admin.post(f"/api/admin/users/{user_id}/password-link", {})
    assert first.status == 201 and first.json["link"]["kind"] == "reset"
    assert first.json["link"]["url"].startswith("/reset/")
    second = crm.admin.post(f"/api/admin/users/{user_id}/password-link", {}).json["link"]
    crm.__dict__.setdefault("seen_tokens", []).extend([token_of(first.json["link"]), token_of(second)])
    assert crm.client().post(f"/api/auth/links/{token_of(first.json['link'])}", {"password": NEW_PASSWORD}).status == 410
    assert old_session.get("/api/auth/me").status == 200  # nothing happened yet
    assert crm.client().post(f"/api/auth/links/{token_of(second)}", {"password": NEW_PASSWORD}).status == 200
    assert old_session.get("/api/auth/me").status == 401  # the old sessions ended
    assert crm.client().login("forgot@firm.test", PASSWORD).status == 401
    assert crm.client().login("forgot@firm.test", NEW_PASSWORD).status == 200
    assert "user.reset_link" in audit_actions(crm)


def test_deactivating_voids_an_open_link(crm):
    made = invite(crm, "gone@firm.test")
    assert crm.admin.post(f"/api/admin/users/{made['user']['id']}/deactivate", {}).status == 200
    assert crm.client().get(f"/api/auth/links/{token_of(made['link'])}").status == 404
    assert crm.admin.post(f"/api/admin/users/{made['user']['id']}/password-link", {}).status == 409


def test_unknown_and_malformed_links(crm):
    assert crm.client().get("/api/auth/links/" + "x" * 43).status == 404
    assert crm.client().post("/api/auth/links/" + "x" * 43, {"password": NEW_PASSWORD}).status == 404
    assert crm.client().get("/api/auth/links/short").status == 404


def test_roles_change_and_the_admin_cannot_demote_themself(crm):
    user = invite(crm, "role@firm.test")["user"]
    changed = crm.admin.patch(f"/api/admin/users/{user['id']}", {"role": "admin"})
    assert changed.status == 200 and changed.json["user"]["role"] == "admin"
    assert crm.admin.patch(f"/api/admin/users/{user['id']}", {"role": "boss"}).status == 400
    assert crm.admin.patch(f"/api/admin/users/{user['id']}", {"role": "member", "x": 1}).status == 400
    me = crm.admin.get("/api/auth/me").json["user"]
    assert crm.admin.patch(f"/api/admin/users/{me['id']}", {"role": "member"}).status == 409
    assert crm.admin.patch("/api/admin/users/999999", {"role": "member"}).status == 404
    listed = {u["email"]: u for u in crm.admin.get("/api/admin/users").json["users"]}
    assert listed["role@firm.test"]["role"] == "admin" and listed["role@firm.test"]["link"]["kind"] == "invite"
    assert listed["admin@firm.test"]["has_password"] is True and listed["admin@firm.test"]["link"] is None
    assert "user.role" in audit_actions(crm)


def test_invite_refuses_bad_input_and_duplicates(crm):
    for body in ({"email": "x@firm.test", "name": "X"}, {"email": "nope", "name": "X", "role": "member"},
                 {"email": "x@firm.test", "name": "", "role": "member"}, {"email": "x@firm.test", "name": "X", "role": "root"}):
        assert crm.admin.post("/api/admin/users", body).status == 400, body
    assert crm.admin.post("/api/admin/users", {"email": "member@firm.test", "name": "M", "role": "member"}).status == 409


def test_a_bot_gets_no_link_and_a_token_shown_once(crm):
    made = invite(crm, "bot2@firm.test", role="bot", name="Bot Two")
    assert made["link"] is None
    user_id = made["user"]["id"]
    assert crm.admin.post(f"/api/admin/users/{user_id}/password-link", {}).status == 409
    issued = crm.admin.post(f"/api/admin/users/{user_id}/tokens", {"label": "matrix"})
    assert issued.status == 201 and issued.json["token"].startswith("crm_")
    crm.__dict__.setdefault("seen_tokens", []).append(issued.json["token"])
    bot = crm.client(issued.json["token"])
    assert bot.get("/api/auth/me").json["user"]["email"] == "bot2@firm.test"
    tokens = crm.admin.get(f"/api/admin/tokens?user_id={user_id}").json["tokens"]
    assert [t["label"] for t in tokens] == ["matrix"] and issued.json["token"] not in str(tokens)
    assert crm.admin.post(f"/api/admin/tokens/{issued.json['id']}/revoke", {}).status == 200
    assert bot.get("/api/auth/me").status == 401
    assert {"token.issue", "token.revoke"} <= set(audit_actions(crm))


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/admin/users", None), ("POST", "/api/admin/users", {"email": "z@firm.test", "name": "Z", "role": "admin"}),
    ("PATCH", "/api/admin/users/1", {"role": "member"}), ("POST", "/api/admin/users/2/password-link", {}),
    ("POST", "/api/admin/users/2/tokens", {})])
def test_only_an_admin_manages_accounts(crm, method, path, body):
    assert crm.client().request(method, path, body).status == 401
    assert crm.member.request(method, path, body).status == 403
    assert crm.bot.request(method, path, body).status == 403


def test_a_cross_site_write_is_refused(crm):
    reply = crm.admin.post("/api/admin/users", {"email": "csrf@firm.test", "name": "C", "role": "admin"},
                           headers={"Origin": "https://evil.test"})
    assert reply.status == 403
    assert all(u["email"] != "csrf@firm.test" for u in crm.admin.get("/api/admin/users").json["users"])
