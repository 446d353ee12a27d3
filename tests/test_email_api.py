"""The /api/email/* surface over real HTTP on a CRM with the integration on, syncing from the emulator."""
import time

import pytest

from capture_fixtures import INVESTORS, capture_env
from conftest import start_crm, with_people
from devtools.make_service_account import make_service_account
from emulator_fixtures import add_message, make_message, start_emulator

ADMIN = "admin@firm.test"
HTML = "<html><body><p>Deck attached.</p><script>alert(1)</script><img src='https://track.example/p.gif'></body></html>"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    keys = make_service_account(str(tmp_path_factory.mktemp("sa")))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    add_message(emulator.url, ADMIN, make_message(
        sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject="Fund III deck", body="Deck attached.\n", html=HTML,
        message_id="<deck@alder.vc>", attachments=[("Fund III.pdf", "application/pdf", b"%PDF-1.4 fund three")]))
    add_message(emulator.url, ADMIN, make_message(sender="Pal <pal@gmail.com>", to=ADMIN, subject="Poker night",
                                                  body="Private\n", message_id="<poker@gmail.com>"))
    env = capture_env(emulator, keys[0], CRM_GMAIL_SYNC_INTERVAL_MIN="600")
    server = with_people(start_crm(tmp_path_factory.mktemp("crm"), env))
    for name, firm, emails, domains in INVESTORS:
        reply = server.admin.post("/api/investors", {"name": name, "firm": firm, "emails": emails, "domains": domains})
        assert reply.status == 201, reply
    yield server, emulator
    server.stop()
    emulator.stop()


def synced(server):
    """Enroll everyone and sync once (idempotent across tests)."""
    admin = server.admin
    assert admin.post("/api/email/accounts/enroll-all", {}).status == 200
    reply = admin.post("/api/email/sync/run-now", {})
    assert reply.status == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = admin.get("/api/email/status").json
        accounts = {a["email"]: a for a in status["accounts"]}
        run = accounts[ADMIN]["last_run"]
        if run and run["status"] != "running" and accounts[ADMIN]["state"] != "running":
            return status
        time.sleep(0.2)
    raise AssertionError(f"sync did not finish: {status}")


def test_enroll_all_sync_and_status(setup):
    server, _ = setup
    status = synced(server)
    emails = sorted(a["email"] for a in status["accounts"])
    assert emails == ["admin@firm.test", "member@firm.test"]  # the bot is no mailbox
    admin_account = next(a for a in status["accounts"] if a["email"] == ADMIN)
    assert admin_account["last_run"]["status"] == "ok" and admin_account["progress"]["total"] == 2
    assert status["scheduler"]["running"] is True and status["scheduler"]["next_run_at"]
    # The quota regime (the test CRM runs the legacy profile) and what Gmail charged each mailbox.
    assert status["quota"] == {"profile": "legacy", "user_units_per_min": 15000, "pace_units_per_min": 13500,
                               "costs": {"messages.get": 5, "messages.attachments.get": 5, "threads.get": 10,
                                         "messages.list": 5, "history.list": 2, "getProfile": 1}}
    quota = admin_account["quota"]
    assert quota["pace_units_per_min"] == quota["budget_units_per_min"] == 13500
    assert quota["units_last_minute"] >= 1 + 5 + 2 * 5 and quota["units_last_hour"] >= quota["units_last_minute"]
    assert quota["rate_limited_last_hour"] == 0


def test_threads_detail_and_privacy(setup):
    server, _ = setup
    synced(server)
    member = server.member
    listing = member.get("/api/email/threads").json
    assert listing["total"] == 1 and listing["threads"][0]["subject"] == "Fund III deck"
    assert listing["threads"][0]["investors"][0]["name"] == "Kim Lee"
    assert member.get("/api/email/threads?q=poker").json["total"] == 0
    assert member.get("/api/email/threads?q=deck").json["total"] == 1
    thread = member.get(f"/api/email/threads/{listing['threads'][0]['id']}").json
    email_id = thread["emails"][0]["id"]
    detail = member.get(f"/api/email/detail?id={email_id}").json
    assert detail["subject"] == "Fund III deck" and detail["body_html_available"] is True
    assert detail["from"]["email"] == "kim@alder.vc" and detail["to"][0]["email"] == ADMIN
    # the unmatched email exists but no endpoint shows it
    for other in range(1, email_id + 3):
        if other != email_id:
            assert member.get(f"/api/email/detail?id={other}").status == 404


def test_html_is_sandboxed_and_attachment_is_a_download(setup):
    server, _ = setup
    synced(server)
    member = server.member
    thread = member.get("/api/email/threads").json["threads"][0]
    email_id = member.get(f"/api/email/threads/{thread['id']}").json["emails"][0]["id"]
    html = member.get(f"/api/email/html?id={email_id}")
    csp = html.headers["Content-Security-Policy"]
    assert html.status == 200 and "sandbox" in csp and "script-src" not in csp and "https:" not in csp
    assert "https:" in member.get(f"/api/email/html?id={email_id}&images=1").headers["Content-Security-Policy"]
    detail = member.get(f"/api/email/detail?id={email_id}").json
    attachment = detail["attachments"][0]
    assert attachment["filename"] == "Fund III.pdf"
    download = member.get(f"/api/email/attachments/{attachment['id']}")
    assert download.status == 200 and download.body == b"%PDF-1.4 fund three"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api/email/status", None), ("GET", "/api/email/accounts", None),
    ("GET", "/api/email/threads", None), ("GET", "/api/email/detail?id=1", None),
    ("POST", "/api/email/accounts/enroll-all", {}), ("POST", "/api/email/sync/run-now", {}),
    ("POST", "/api/email/rematch", {}),
])
def test_role_matrix(setup, method, path, body):
    server, _ = setup
    admin_only = path.endswith(("enroll-all", "run-now", "rematch"))
    anonymous = server.client().request(method, path, body)
    assert anonymous.status == 401
    assert server.bot.request(method, path, body).status == 403
    member = server.member.request(method, path, body)
    assert (member.status == 403) if admin_only else (member.status in (200, 404)), member
    assert server.admin.request(method, path, body).status in (200, 202, 404)


@pytest.mark.parametrize("path,body,status", [
    ("/api/email/sync/run-now", {"account_id": 9999}, 404),
    ("/api/email/sync/run-now", {"account_id": "x"}, 400),
    ("/api/email/accounts/enroll", {"user_id": 9999}, 404),
    ("/api/email/accounts/enroll", [1, 2], 400),
    ("/api/email/sync/run-now", {"account_id": 10 ** 30}, 400),
    ("/api/email/accounts/enroll", {"user_id": -10 ** 30}, 400),
])
def test_bad_input(setup, path, body, status):
    server, _ = setup
    assert server.admin.post(path, body).status == status


def test_bad_queries(setup):
    server, _ = setup
    admin = server.admin
    assert admin.get("/api/email/detail?id=abc").status == 400
    assert admin.get("/api/email/threads?investor_id=x").status == 400
    assert admin.get("/api/email/threads/999999").status == 404
    assert admin.get("/api/email/attachments/999999").status == 404
    assert admin.get("/api/email/nope").status == 404
    assert admin.get('/api/email/threads?q=%22OR%20NEAR(%2A').status == 200
    for path in ("/api/email/detail?id=%C2%B2", "/api/email/detail?id=99999999999999999999",
                 "/api/email/threads?investor_id=%C2%B2", "/api/email/threads?investor_id=123456789012345678901",
                 "/api/email/html?id=%C2%B2", "/api/email/proposals?limit=%C2%B2"):
        assert admin.get(path).status == 400, path


def test_member_cannot_enroll_someone_else(setup):
    server, _ = setup
    admin_id = server.admin.get("/api/auth/me").json["user"]["id"]
    assert server.member.post("/api/email/accounts/enroll", {"user_id": admin_id}).status == 403
    assert server.member.post("/api/email/accounts/enroll", {}).status in (200, 201)


def test_rematch_reports_counts(setup):
    server, _ = setup
    synced(server)
    reply = server.admin.post("/api/email/rematch", {})
    assert reply.status == 200 and reply.json["emails"] >= 2


def test_logs_hold_no_bodies_or_tokens(setup):
    server, _ = setup
    synced(server)
    with open(server.log_path, encoding="utf-8", errors="replace") as handle:
        log = handle.read()
    assert "sync" in log.lower() or "email" in log  # the log is being written
    for secret in ("Deck attached", "Private", "fund three", "ya29.", "Bearer", "crm_", "BEGIN PRIVATE KEY"):
        assert secret not in log, secret
