"""The CRM side of the CRM→Matrix review bridge over real HTTP: role gating, work-list transitions,
idempotent posted, decide conflicts, web/bot races, and migration 0003 applied twice."""
import threading

import pytest

from backend.server import init_db
from capture_fixtures import start_capture_crm, work_lists as lists
from conftest import manage
from devtools.gmail_emulator.server import start_emulator
from devtools.make_service_account import make_service_account
from emulator_fixtures import add_message, make_message
from migration_check import copy_live, snapshot

ADMIN = "admin@firm.test"
INTAKE = "/api/intake/email-proposals"
SUBJECTS = ["Web decides", "Bot approves", "Bot edits", "Posted twice", "Stale bot", "Race", "Close early",
            "Reject by bot"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    keys = make_service_account(str(tmp_path_factory.mktemp("sa")))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    for i, subject in enumerate(SUBJECTS):
        add_message(emulator.url, ADMIN, make_message(
            sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=subject, message_id=f"<mx{i}@alder.vc>",
            date=f"Mon, 02 Nov 2026 1{i}:00:00 +0000", body=f"Could you share the {subject.lower()} numbers?\n" * 30))
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys)
    yield server
    server.stop()
    emulator.stop()


def by_subject(site, subject):
    for card in lists(site)["to_post"]:
        if card["email"]["subject"] == subject:
            return card
    raise AssertionError(f"no card to post for {subject}")


def post_card(site, card, event="$ev-{id}"):
    return site.bot.post(f"{INTAKE}/{card['id']}/posted", {"room_id": "!review:spark.test",
                                                          "event_id": event.format(id=card["id"])})


def ids(items):
    return {item["id"] for item in items}


@pytest.mark.parametrize("method,path,body", [
    ("GET", INTAKE, None), ("POST", f"{INTAKE}/1/posted", {"room_id": "!r:s", "event_id": "$e"}),
    ("POST", f"{INTAKE}/1/decide", {"decision": "reject", "actor": "@a:s"}), ("POST", f"{INTAKE}/1/closed", {}),
])
def test_role_gating_for_every_intake_path(site, method, path, body):
    assert site.client().request(method, path, body).status == 401
    assert site.member.request(method, path, body).status == 403
    assert site.bot.request("GET", INTAKE).status == 200
    assert site.admin.request("GET", INTAKE).status == 200


def test_the_bot_reaches_nothing_else(site):
    for path in ("/api/investors", "/api/email/status", "/api/email/proposals", "/api/email/threads"):
        assert site.bot.get(path).status == 403, path
    assert site.bot.get("/api/auth/me").json["user"]["role"] == "bot"  # it may know who it is
    assert site.bot.post("/api/email/proposals/1/decide", {"decision": "reject"}).status == 403


def test_member_flipped_to_bot_reaches_only_intake(site):
    site.create_user("spark@firm.test", "member", password=None)
    manage(site.data_dir, "set-role", "--email", "spark@firm.test", "--role", "bot")
    client = site.client(site.issue_token("spark@firm.test"))
    assert client.get(INTAKE).status == 200
    assert client.get("/api/investors").status == 403 and client.get("/api/email/threads").status == 403


def test_card_shape(site):
    card = by_subject(site, "Web decides")
    assert set(card) == {"id", "kind", "version", "draft", "drafted_by", "investor", "email", "web_url"}
    assert card["kind"] == "email"  # contracts §7 v3
    assert card["drafted_by"] == "crm"
    assert card["web_url"] == f"/capture#proposal-{card['id']}"
    assert card["investor"]["name"] == "Kim Lee" and card["investor"]["firm"] == "Alder"
    assert set(card["email"]) == {"id", "from", "to", "cc", "date", "subject", "snippet"}
    assert len(card["email"]["snippet"]) <= 300


def test_web_decision_goes_to_close_until_the_bot_closes(site):
    card = by_subject(site, "Web decides")
    assert post_card(site, card).status == 200
    state = lists(site)
    assert card["id"] not in ids(state["to_post"]) and card["id"] in ids(state["open"])
    opened = next(o for o in state["open"] if o["id"] == card["id"])
    assert opened == {"id": card["id"], "kind": "email", "room_id": "!review:spark.test",
                      "event_id": f"$ev-{card['id']}", "version": card["version"], "draft": card["draft"]}
    assert site.member.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "approve"}).status == 200
    closing = next(c for c in lists(site)["to_close"] if c["id"] == card["id"])
    assert closing == {"id": card["id"], "kind": "email", "room_id": "!review:spark.test",
                       "event_id": f"$ev-{card['id']}", "status": "approved", "decided_by": "Member",
                       "decided_via": "web"}
    assert site.bot.post(f"{INTAKE}/{card['id']}/closed", {}).status == 200
    assert site.bot.post(f"{INTAKE}/{card['id']}/closed", {}).status == 200  # idempotent
    state = lists(site)
    assert card["id"] not in ids(state["to_close"]) | ids(state["open"]) | ids(state["to_post"])


def test_bot_approval_leaves_the_web_list_at_once(site):
    card = by_subject(site, "Bot approves")
    post_card(site, card)
    reply = site.bot.post(f"{INTAKE}/{card['id']}/decide", {"decision": "approve", "actor": "@ann:spark.test",
                                                           "expected_version": card["version"]})
    assert reply.status == 200 and reply.json["proposal"]["decided_via"] == "matrix"
    assert reply.json["proposal"]["decided_by"] == "@ann:spark.test"
    assert card["id"] not in ids(site.member.get("/api/email/proposals").json["proposals"])
    notes = site.member.get(f"/api/investors/{card['investor']['id']}/notes").json["notes"]
    assert len([n for n in notes if n["source_ref"].startswith(f"proposal:{card['id']} ")]) == 1
    closing = next(c for c in lists(site)["to_close"] if c["id"] == card["id"])
    assert closing["decided_via"] == "matrix"


def test_bot_edit_then_approve(site):
    card = by_subject(site, "Bot edits")
    post_card(site, card)
    edited = site.bot.post(f"{INTAKE}/{card['id']}/decide", {"decision": "edit", "note": "Revised by Qwen.",
                                                            "actor": "@ann:spark.test"})
    assert edited.status == 200 and edited.json["proposal"]["version"] == card["version"] + 1
    opened = next(o for o in lists(site)["open"] if o["id"] == card["id"])
    assert opened["draft"] == "Revised by Qwen." and opened["version"] == card["version"] + 1
    stale = site.bot.post(f"{INTAKE}/{card['id']}/decide", {"decision": "approve", "actor": "@ann:spark.test",
                                                           "expected_version": card["version"]})
    assert stale.status == 409 and stale.json["proposal"]["version"] == card["version"] + 1
    assert site.bot.post(f"{INTAKE}/{card['id']}/decide", {"decision": "approve", "actor": "@ann:spark.test",
                                                          "expected_version": card["version"] + 1}).status == 200


def test_posted_is_idempotent_for_the_same_event_and_409_for_another(site):
    card = by_subject(site, "Posted twice")
    assert post_card(site, card).status == 200
    assert post_card(site, card).status == 200
    other = post_card(site, card, event="$different")
    assert other.status == 409 and other.json["posted"]["event_id"] == f"$ev-{card['id']}"
    assert site.bot.post(f"{INTAKE}/{card['id']}/posted", {"room_id": "not a room", "event_id": "$e"}).status == 400
    assert site.bot.post(f"{INTAKE}/999999/posted", {"room_id": "!r:s", "event_id": "$e"}).status == 404


def test_decide_conflicts_and_bad_input(site):
    card = by_subject(site, "Stale bot")
    path = f"{INTAKE}/{card['id']}/decide"
    assert site.bot.post(path, {"decision": "approve"}).status == 400  # actor is required
    assert site.bot.post(path, {"decision": "approve", "actor": "@a:s", "expected_version": 99}).status == 409
    assert site.bot.post(path, {"decision": "nope", "actor": "@a:s"}).status == 400
    assert site.bot.post(path, {"decision": "reject", "actor": "@a:s"}).status == 200
    again = site.bot.post(path, {"decision": "approve", "actor": "@a:s"})
    assert again.status == 409 and again.json["proposal"]["status"] == "rejected"
    assert site.bot.post(f"{INTAKE}/999999/decide", {"decision": "reject", "actor": "@a:s"}).status == 404


def test_web_and_bot_racing_write_exactly_one_note(site):
    card = by_subject(site, "Race")
    post_card(site, card)
    barrier = threading.Barrier(6)
    results = []

    def web():
        barrier.wait()
        results.append(site.member.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "approve"}).status)

    def bot():
        barrier.wait()
        results.append(site.bot.post(f"{INTAKE}/{card['id']}/decide",
                                     {"decision": "approve", "actor": "@ann:spark.test"}).status)

    threads = [threading.Thread(target=f) for f in (web, bot, web, bot, web, bot)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 5
    notes = site.member.get(f"/api/investors/{card['investor']['id']}/notes").json["notes"]
    assert len([n for n in notes if n["source_ref"].startswith(f"proposal:{card['id']} ")]) == 1


def test_closed_needs_a_posted_decided_card(site):
    card = by_subject(site, "Close early")
    assert site.bot.post(f"{INTAKE}/{card['id']}/closed", {}).status == 404  # never posted
    post_card(site, card)
    assert site.bot.post(f"{INTAKE}/{card['id']}/closed", {}).status == 409  # still pending


def test_migrations_twice_on_a_populated_copy(site, tmp_path):
    card = by_subject(site, "Reject by bot")
    post_card(site, card)
    site.bot.post(f"{INTAKE}/{card['id']}/decide", {"decision": "reject", "actor": "@ann:spark.test"})
    copy = copy_live(site.data_dir, str(tmp_path / "copy.db"))
    before = snapshot(copy)
    assert before["rows"]["email_proposal_matrix"] and before["rows"]["email_proposals"]
    init_db(copy)
    init_db(copy)
    assert snapshot(copy) == before
