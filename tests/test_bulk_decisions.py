"""POST /api/email/proposals/bulk over real HTTP: each id with the single-decision semantics, conflicts
reported with the card's current state, exactly one grid note per approved card, bad input a clear 400."""
import threading

import pytest

from capture_fixtures import capture_site
from emulator_fixtures import make_message

ADMIN = "admin@firm.test"
BULK = "/api/email/proposals/bulk"


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    mail = [(ADMIN, make_message(sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=f"b{i}", message_id=f"<b{i}@alder.vc>",
                                 date=f"Mon, 02 Nov 2026 1{i % 10}:0{i // 10}:00 +0000",
                                 body=f"Could you share the b{i} numbers?\n")) for i in range(12)]
    with capture_site(tmp_path_factory, keys, mail) as server:
        server.cards = {p["email"]["subject"]: p for p in server.member.get("/api/email/proposals").json["proposals"]}
        yield server


def ids(site, *subjects):
    return [site.cards[s]["id"] for s in subjects]


def notes_of(site, proposal_ids):
    investor = next(iter(site.cards.values()))["investor"]["id"]
    notes = site.member.get(f"/api/investors/{investor}/notes").json["notes"]
    return {pid: len([n for n in notes if n["source_ref"].startswith(f"proposal:{pid} ")]) for pid in proposal_ids}


@pytest.mark.parametrize("body", [{}, {"decision": "approve"}, {"decision": "edit", "ids": [1]},
                                  {"decision": "approve", "ids": []}, {"decision": "approve", "ids": "1,2"},
                                  {"decision": "approve", "ids": [1, "2"]}, {"decision": "approve", "ids": [True]},
                                  {"decision": "approve", "ids": [0]}, {"decision": "reject", "ids": [1.5]},
                                  {"decision": "reject", "ids": list(range(1, 5003))}])
def test_bad_input_is_a_400_and_decides_nothing(site, body):
    reply = site.member.post(BULK, body)
    assert reply.status == 400 and reply.json["error"]
    assert len(site.member.get("/api/email/proposals").json["proposals"]) >= 10


def test_roles(site):
    assert site.client().post(BULK, {"decision": "reject", "ids": [1]}).status == 401
    assert site.bot.post(BULK, {"decision": "reject", "ids": [1]}).status == 403


def test_bulk_approve_one_note_per_card_and_conflicts_reported(site):
    chosen = ids(site, "b0", "b1", "b2", "b3")
    assert site.admin.post(f"/api/email/proposals/{chosen[1]}/decide", {"decision": "reject"}).status == 200
    reply = site.member.post(BULK, {"decision": "approve", "ids": chosen + [chosen[0], 999999]})
    assert reply.status == 200
    assert reply.json["decided"] == [chosen[0], chosen[2], chosen[3]]  # each once, in the order asked
    conflicts = {c["id"]: c["proposal"] for c in reply.json["conflicts"]}
    assert conflicts[chosen[1]]["status"] == "rejected" and conflicts[chosen[1]]["decided_by"] == "Admin"
    assert conflicts[999999] is None and len(conflicts) == 2
    assert notes_of(site, chosen) == {chosen[0]: 1, chosen[1]: 0, chosen[2]: 1, chosen[3]: 1}
    again = site.member.post(BULK, {"decision": "approve", "ids": chosen})
    assert again.json["decided"] == [] and len(again.json["conflicts"]) == 4
    assert notes_of(site, chosen) == {chosen[0]: 1, chosen[1]: 0, chosen[2]: 1, chosen[3]: 1}


def test_bulk_racing_single_decisions_never_doubles_a_note(site):
    chosen = ids(site, "b4", "b5", "b6", "b7", "b8")
    barrier = threading.Barrier(3)
    results = {}

    def bulk():
        barrier.wait()
        results["bulk"] = site.member.post(BULK, {"decision": "approve", "ids": chosen}).json

    def single(name, proposal_id):
        barrier.wait()
        results[name] = site.admin.post(f"/api/email/proposals/{proposal_id}/decide", {"decision": "approve"}).status

    threads = [threading.Thread(target=bulk), threading.Thread(target=single, args=("s1", chosen[0])),
               threading.Thread(target=single, args=("s2", chosen[4]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bulk_won = set(results["bulk"]["decided"])
    assert bulk_won | {c["id"] for c in results["bulk"]["conflicts"]} == set(chosen)
    assert (chosen[0] in bulk_won) == (results["s1"] == 409) and (chosen[4] in bulk_won) == (results["s2"] == 409)
    assert notes_of(site, chosen) == {pid: 1 for pid in chosen}


def test_bulk_reject_writes_nothing(site):
    chosen = ids(site, "b9", "b10")
    reply = site.member.post(BULK, {"decision": "reject", "ids": chosen})
    assert reply.json == {"decided": chosen, "conflicts": []}
    assert notes_of(site, chosen) == {pid: 0 for pid in chosen}


def test_a_card_the_user_may_not_see_is_a_conflict_and_stays_pending(site):
    hidden = ids(site, "b11")
    account = next(a for a in site.admin.get("/api/email/accounts").json["accounts"] if a["email"] == ADMIN)
    assert site.admin.patch(f"/api/email/accounts/{account['id']}", {"visibility": "subject"}).status == 200
    try:  # the admin's mail is now owner-only: the member may neither see nor decide its cards
        reply = site.member.post(BULK, {"decision": "reject", "ids": hidden})
        assert reply.json == {"decided": [], "conflicts": [{"id": hidden[0], "proposal": None}]}
    finally:
        assert site.admin.patch(f"/api/email/accounts/{account['id']}", {"visibility": "everything"}).status == 200
    assert hidden[0] in {p["id"] for p in site.member.get("/api/email/proposals").json["proposals"]}


@pytest.fixture(scope="module")
def one_per_chunk(tmp_path_factory, keys):
    mail = [(ADMIN, make_message(sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=f"c{i}", message_id=f"<c{i}@alder.vc>",
                                 date=f"Tue, 03 Nov 2026 10:0{i}:00 +0000", body=f"The c{i} figures, please.\n"))
            for i in range(4)]
    with capture_site(tmp_path_factory, keys, mail, CRM_GMAIL_BULK_CHUNK="1") as server:
        yield server


def test_a_user_deactivated_mid_bulk_decides_nothing_more(one_per_chunk):
    """Issue 22, item 9: the actor is checked again before every chunk (here one card each). The deactivation
    lands inside the first chunk's transaction (a trigger on the decision, written as the admin's PATCH
    /api/admin/users would: inactive, sessions gone), so it is deterministic; the other three stay pending."""
    import sqlite3
    from backend.db import db_path
    site = one_per_chunk
    site.create_user("leaver@firm.test", "member")
    leaver = site.logged_in("leaver@firm.test")
    chosen = sorted(p["id"] for p in leaver.get("/api/email/proposals").json["proposals"])
    assert len(chosen) == 4
    conn = sqlite3.connect(db_path(site.data_dir))
    try:
        conn.execute("CREATE TRIGGER leaver_goes AFTER UPDATE OF status ON email_proposals BEGIN "
                     "UPDATE users SET active = 0 WHERE email = 'leaver@firm.test'; "
                     "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = 'leaver@firm.test'); END")
        conn.commit()
        reply = leaver.post(BULK, {"decision": "reject", "ids": chosen})
    finally:
        conn.execute("DROP TRIGGER IF EXISTS leaver_goes")
        conn.commit()
        conn.close()
    assert reply.status == 403 and "not decided" in reply.json["error"]
    assert reply.json["decided"] == chosen[:1] and reply.json["undecided"] == chosen[1:]
    pending = {p["id"] for p in site.member.get("/api/email/proposals").json["proposals"]}
    assert pending == set(chosen[1:])


def test_a_bulk_by_an_active_user_goes_through_every_chunk(one_per_chunk):
    left = sorted(p["id"] for p in one_per_chunk.member.get("/api/email/proposals").json["proposals"])
    assert left and one_per_chunk.member.post(BULK, {"decision": "reject", "ids": left}).json == {
        "decided": left, "conflicts": []}
