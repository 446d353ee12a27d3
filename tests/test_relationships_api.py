"""The relationship view over HTTP (issue 17): timeline, connections, grid strength, going cold, roles."""
import pytest

from conftest import start_crm, with_people
from relationship_fixtures import FIRM, ago, iso, relationship_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    server, emulator = relationship_world(tmp_path_factory)
    yield server
    server.stop()
    emulator.stop()


def timeline(client, investor_id, **query):
    path = f"/api/investors/{investor_id}/timeline"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    reply = client.get(path)
    assert reply.status == 200, reply
    return reply.json


def key(item):
    return item["at"], {"note": 1, "email": 2, "card": 3}[item["kind"]], item["id"]


def test_connections_order_teammates_by_the_formula(world):
    reply = world.member.get(f"/api/investors/{world.ids['Kim Lee']}/connections")
    assert reply.status == 200
    found = {c["user"]["email"]: c for c in reply.json["connections"]}
    order = [c["user"]["email"] for c in reply.json["connections"]]
    ann, ben, cat = (found[f"{n}@{FIRM}"] for n in ("ann", "ben", "cat"))
    # a recent two-way exchange beats an old long one, and beats thirty unanswered newsletter sends
    assert order == [f"ben@{FIRM}", f"ann@{FIRM}", f"cat@{FIRM}"]
    assert ben["strength"] > 40 and ann["strength"] <= 15 and cat["strength"] <= 5
    assert (ann["sent_90d"], ann["received_90d"], ann["sent_12m"], ann["received_12m"]) == (30, 0, 30, 0)
    assert ann["last_received"] is None and ann["last_two_way"] is None
    assert (ben["sent_90d"], ben["received_90d"]) == (1, 1)
    assert ben["last_sent"][:10] == iso(ago(5))[:10] and ben["last_received"][:10] == iso(ago(4))[:10]
    assert (cat["sent_90d"], cat["sent_12m"], cat["received_12m"]) == (0, 0, 0)
    assert cat["last_received"] > cat["last_sent"]  # Kim answered last
    assert set(ben) >= {"user", "strength", "last_sent", "last_received", "sent_90d", "received_90d",
                        "sent_12m", "received_12m"}


def test_grid_carries_closest_teammate_and_strength(world):
    rows = {i["name"]: i for i in world.member.get("/api/investors").json["investors"]}
    kim = rows["Kim Lee"]
    top = world.member.get(f"/api/investors/{kim['id']}/connections").json["connections"][0]
    assert kim["closest"]["email"] == f"ben@{FIRM}" and kim["strength"] == top["strength"]
    assert rows["Nobody Yet"]["strength"] is None and rows["Nobody Yet"]["closest"] is None
    assert rows["Lee Quiet"]["last_two_way_at"] is None and rows["Lee Quiet"]["strength"] <= 15


def test_going_cold_lists_exactly_the_investors_past_the_threshold(world):
    reply = world.member.get("/api/investors?stale=1")
    assert reply.status == 200
    names = [i["name"] for i in reply.json["investors"]]
    assert names == ["Raj Patel", "Mo Chen"]  # strongest first; Kim is warm, Lee never answered, Nobody has no mail
    strengths = [i["strength"] for i in reply.json["investors"]]
    assert strengths == sorted(strengths, reverse=True)
    assert all(i["last_two_way_at"] < iso(ago(30)) for i in reply.json["investors"])
    assert len(world.member.get("/api/investors?stale=0").json["investors"]) == 5


def test_timeline_interleaves_and_pages(world):
    raj = world.ids["Raj Patel"]
    assert world.member.post(f"/api/investors/{raj}/notes", {"body": "Met Raj at the LP summit."}).status == 201
    full = timeline(world.member, raj, limit=200)
    assert full["next_before"] is None and full["email"] is True
    kinds = [i["kind"] for i in full["items"]]
    assert kinds == ["note", "card", "email", "card", "email", "email"], kinds
    assert [key(i) for i in full["items"]] == sorted((key(i) for i in full["items"]), reverse=True)
    email = next(i["email"] for i in full["items"] if i["kind"] == "email")
    assert email["subject"] == "Term sheet questions" and email["from"]["email"] == "raj@birch.capital"
    assert email["to"] == [{"email": f"admin@{FIRM}", "name": ""}] and email["snippet"]
    card = next(i["card"] for i in full["items"] if i["kind"] == "card")
    assert card["status"] == "pending" and card["investor"]["id"] == raj and card["draft"]
    for limit in (1, 2, 4):
        pages, before = [], ""
        while True:
            page = timeline(world.member, raj, limit=limit, **({"before": before} if before else {}))
            assert len(page["items"]) <= limit
            pages += page["items"]
            if page["next_before"] is None:
                break
            before = page["next_before"]
        assert pages == full["items"]
    older = timeline(world.member, raj, before=iso(ago(30)))["items"]
    assert [i["kind"] for i in older] == ["card", "email", "email"]


def test_an_approved_card_appears_in_the_timeline_at_once(world):
    kim = world.ids["Kim Lee"]
    card = next(i for i in timeline(world.member, kim)["items"] if i["kind"] == "card"
                and i["card"]["email"]["subject"] == "Re: Fund IV first close")["card"]
    decided = world.member.post(f"/api/email/proposals/{card['id']}/decide",
                                {"decision": "approve", "note": "Kim wants the deck.", "expected_version": card["version"]})
    assert decided.status == 200, decided
    items = timeline(world.member, kim, limit=200)["items"]
    assert not any(i["kind"] == "card" and i["id"] == card["id"] for i in items)
    note = next(i for i in items if i["kind"] == "note" and i["note"]["body"] == "Kim wants the deck.")
    assert note["at"] == card["email"]["date"] and note["note"]["source"] == "email"


def test_roles_and_bad_input(world):
    kim = world.ids["Kim Lee"]
    for path in (f"/api/investors/{kim}/timeline", f"/api/investors/{kim}/connections", "/api/investors?stale=1"):
        assert world.bot.get(path).status == 403
        assert world.client().get(path).status == 401
        assert world.admin.get(path).status == 200
    for query in ("before=yesterday", "before=2026-01-01T00:00:00Z~email~x", "limit=0", "limit=201", "limit=x"):
        reply = world.member.get(f"/api/investors/{kim}/timeline?{query}")
        assert reply.status == 400 and reply.json["error"], query
    assert world.member.get("/api/investors?stale=maybe").status == 400
    assert world.member.get("/api/investors/999999/timeline").status == 404
    assert world.member.get("/api/investors/999999/connections").status == 404


def test_without_the_integration_the_page_shows_notes_only(tmp_path):
    server = with_people(start_crm(tmp_path / "crm", {"CRM_GMAIL_INTEGRATION_ENABLED": "false"}))
    try:
        investor = server.member.post("/api/investors", {"name": "Solo LP"}).json
        server.member.post(f"/api/investors/{investor['id']}/notes", {"body": "First call."})
        page = timeline(server.member, investor["id"])
        assert [i["kind"] for i in page["items"]] == ["note"] and page["email"] is False
        assert server.member.get(f"/api/investors/{investor['id']}/connections").json == {"connections": [],
                                                                                          "email": False, "people": []}
        row = server.member.get("/api/investors").json["investors"][0]
        assert row["strength"] is None and row["closest"] is None
        assert server.member.get("/api/investors?stale=1").json["investors"] == []
    finally:
        server.stop()


def test_private_conversations_and_limited_mailboxes_in_the_timeline(world):
    mo, lee = world.ids["Mo Chen"], world.ids["Lee Quiet"]
    thread = next(i["email"]["thread_id"] for i in timeline(world.admin, mo)["items"] if i["kind"] == "email")
    admin_box = next(a["id"] for a in world.admin.get("/api/email/accounts").json["accounts"]
                     if a["email"] == f"admin@{FIRM}")
    assert world.admin.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
    assert world.admin.patch(f"/api/email/accounts/{admin_box}", {"visibility": "metadata"}).status == 200
    try:
        assert timeline(world.member, mo)["items"] == []  # private: emails and card hidden from the others
        assert [i["email"]["subject"] for i in timeline(world.admin, mo)["items"] if i["kind"] == "email"] == [
            "Re: Cedar catch-up", "Cedar catch-up"]  # the holder sees all of their own mail
        counts = world.member.get(f"/api/investors/{mo}/connections").json["connections"]
        assert [(c["user"]["email"], c["sent_12m"], c["received_12m"]) for c in counts] == [(f"admin@{FIRM}", 1, 1)]
        assert "subject" not in repr(counts).lower()
        shown = [i["email"] for i in timeline(world.member, lee)["items"] if i["kind"] == "email"]
        assert [(e["subject"], e["snippet"], e["visibility"], e["to"]) for e in shown] == [
            (None, None, "metadata", [{"email": "lee@quiet.vc", "name": ""}])]  # who and when only
    finally:
        world.admin.post(f"/api/email/threads/{thread}/private", {"private": False})
        world.admin.patch(f"/api/email/accounts/{admin_box}", {"visibility": "everything"})
