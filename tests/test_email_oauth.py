"""OAuth mode over real HTTP: consent start → (emulated) Google → callback → the Admin page's post,
an encrypted refresh token, a sync with it; revocation → needs_reconsent; a forged state refused."""
import base64
import json
import sqlite3
import time
import urllib.parse
import urllib.request

import pytest

from conftest import start_crm, with_people
from emulator_fixtures import add_message, make_message, post_json

MEMBER = "member@firm.test"
SECRET = base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def oauth_crm(tmp_path, emulator):
    add_message(emulator.url, MEMBER, make_message(sender="Kim <kim@alder.vc>", to=MEMBER, subject="Hello",
                                                   body="Investor body\n", message_id="<o1@alder.vc>"))
    env = {"CRM_GMAIL_INTEGRATION_ENABLED": "true", "CRM_GMAIL_AUTH_METHOD": "oauth",
           "CRM_GMAIL_OAUTH_CLIENT_ID": "client-1.apps.googleusercontent.com", "CRM_GMAIL_OAUTH_CLIENT_SECRET": "s3cret",
           "CRM_GMAIL_OAUTH_REDIRECT_URI": "http://127.0.0.1/api/email/oauth/callback", "CRM_GMAIL_SECRET_KEY": SECRET,
           "CRM_GMAIL_API_BASE": emulator.url, "CRM_GMAIL_TOKEN_URI": emulator.url + "/token",
           "CRM_GMAIL_WORKSPACE_DOMAIN": "firm.test", "CRM_GMAIL_SYNC_INTERVAL_MIN": "600"}
    server = with_people(start_crm(tmp_path / "crm", env))
    server.env = env
    server.admin.post("/api/investors", {"name": "Kim", "emails": ["kim@alder.vc"], "domains": []})
    yield server, emulator
    server.stop()


def consent(server, emulator, client, refresh_token="1//refresh-member"):
    """What a browser does: start, Google's redirect back, the Admin page's post of the fragment."""
    start = client.get("/api/email/oauth/start")
    assert start.status == 302
    google = urllib.parse.urlsplit(start.headers["Location"])
    params = dict(urllib.parse.parse_qsl(google.query))
    assert google.netloc == "accounts.google.com" and params["login_hint"] == MEMBER
    assert params["access_type"] == "offline" and "gmail.readonly" in params["scope"]
    post_json(f"{emulator.url}/_emulator/oauth/codes", {"code": "4/code-1", "user": MEMBER,
                                                        "refresh_token": refresh_token})
    back = server.client().get("/api/email/oauth/callback?" + urllib.parse.urlencode(
        {"state": params["state"], "code": "4/code-1"}))  # cross-site: no cookie
    assert back.status == 302 and back.headers["Location"].startswith("/admin#oauth&")
    fragment = dict(urllib.parse.parse_qsl(back.headers["Location"].split("#oauth&", 1)[1]))
    return client.post("/api/email/oauth/callback", fragment)


def wait_for_run(server, account_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        account = next(a for a in server.admin.get("/api/email/status").json["accounts"] if a["id"] == account_id)
        if account["last_run"] and account["last_run"]["status"] != "running" and account["state"] != "running":
            return account
        time.sleep(0.2)
    raise AssertionError("no finished run")


def test_consent_sync_and_revocation(oauth_crm):
    server, emulator = oauth_crm
    reply = consent(server, emulator, server.member)
    assert reply.status == 200 and reply.json["connected"] == MEMBER
    account_id = reply.json["account"]["id"]
    conn = sqlite3.connect(f"{server.data_dir}/crm.db")
    blob = conn.execute("SELECT token_blob FROM email_oauth_tokens").fetchone()[0]
    conn.close()
    assert "1//refresh-member" not in blob  # encrypted at rest
    assert server.admin.post("/api/email/sync/run-now", {"account_id": account_id}).status == 202
    account = wait_for_run(server, account_id)
    assert account["last_run"]["status"] == "ok" and account["counts"]["matched"] == 1
    # Google revokes the grant: the next sync marks the account for re-consent
    request = urllib.request.Request(f"{emulator.url}/_emulator/oauth/refresh-tokens",
                                     json.dumps({"refresh_token": "1//refresh-member"}).encode(), method="DELETE")
    urllib.request.urlopen(request, timeout=10).read()
    server.stop()  # a restart drops the cached access token
    restarted = start_crm(server.data_dir, server.env)
    try:
        admin = restarted.logged_in("admin@firm.test")
        assert admin.post("/api/email/sync/run-now", {"account_id": account_id}).status == 202
        restarted.admin = admin
        account = wait_for_run(restarted, account_id)
        assert account["state"] == "needs_reconsent" and account["last_run"]["status"] == "error"
    finally:
        restarted.stop()


def test_state_from_another_session_is_refused(oauth_crm):
    server, emulator = oauth_crm
    start = server.member.get("/api/email/oauth/start")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))["state"]
    post_json(f"{emulator.url}/_emulator/oauth/codes", {"code": "4/x", "user": MEMBER, "refresh_token": "1//x"})
    other_session = server.logged_in("member@firm.test")
    assert other_session.post("/api/email/oauth/callback", {"state": state, "code": "4/x"}).status == 403
    assert server.member.post("/api/email/oauth/callback", {"state": state + "x", "code": "4/x"}).status == 403
    assert server.member.post("/api/email/oauth/callback", {"state": state}).status == 400


def test_nobody_starts_consent_for_someone_else(oauth_crm):
    server, _ = oauth_crm
    admin_id = server.admin.get("/api/auth/me").json["user"]["id"]
    member_id = server.member.get("/api/auth/me").json["user"]["id"]
    assert server.member.get(f"/api/email/oauth/start?user_id={admin_id}").status == 403
    refused = server.admin.get(f"/api/email/oauth/start?user_id={member_id}")  # not even an admin (issue 16)
    assert refused.status == 403 and "own" in refused.json["error"]
    assert server.admin.get(f"/api/email/oauth/start?user_id={admin_id}").status == 302
    assert server.bot.get("/api/email/oauth/start").status == 403
    assert server.client().get("/api/email/oauth/start").status == 401
