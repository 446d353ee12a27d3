"""Destructive actions with a warning and an undo (issue 24, item 5), over real HTTP against a CRM capturing
from the Gmail emulator: an exclusion's dry run counts exactly what saving it purges; a decision is undone
within CRM_UNDO_WINDOW_MIN (the note an approve wrote goes with it) and not after; the "Decided" view; notes
edited and deleted by their author or an admin; investors merged with their notes, addresses, mail and cards."""
import sqlite3

import pytest

from capture_fixtures import capture_site
from emulator_fixtures import make_message

ADMIN, MEMBER = "admin@firm.test", "member@firm.test"
KIM = {"name": "Kim Lee", "firm": "Alder", "emails": ["kim@alder.vc"], "domains": []}
DUP = {"name": "K. Lee", "firm": None, "emails": ["k.lee@alderfund.vc"], "domains": []}
OAK = {"name": "Pat Oak", "firm": "Oak", "emails": [], "domains": ["oak.vc"]}


def mail(box, sender, subject, n, *, reply_to=None, cc=None):
    return (box, make_message(sender=sender, to=box, cc=cc, subject=subject, message_id=f"<{subject}@x.test>",
                              in_reply_to=reply_to, date=f"Mon, 02 Nov 2026 1{n}:00:00 +0000",
                              body=f"Could you share the {subject} numbers before Friday?\n"))


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    messages = [mail(ADMIN, "Kim Lee <kim@alder.vc>", f"u{i}", i) for i in range(6)]
    messages += [mail(MEMBER, "Kim Lee <kim@alder.vc>", "m0", 6)]
    messages += [mail(MEMBER, "K. Lee <k.lee@alderfund.vc>", "dup0", 7)]
    # Oak: two conversations in the member's mailbox (one of two messages), one also in the admin's (cc).
    messages += [mail(MEMBER, "Pat <pat@oak.vc>", "oak1", 1), mail(MEMBER, "Pat <pat@oak.vc>", "oak1r", 2,
                                                                    reply_to="<oak1@x.test>"),
                 mail(MEMBER, "Pat <pat@oak.vc>", "oak2", 3, cc=ADMIN), mail(ADMIN, "Pat <pat@oak.vc>", "oak2", 3, cc=MEMBER)]
    with capture_site(tmp_path_factory, keys, messages, investors=(KIM, DUP, OAK)) as server:
        server.cards = {p["email"]["subject"]: p for p in server.admin.get("/api/email/proposals").json["proposals"]}
        server.ids = {i["name"]: i["id"] for i in server.admin.get("/api/investors").json["investors"]}
        yield server


def sql(site, statement, *params):
    conn = sqlite3.connect(f"{site.data_dir}/crm.db")
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def notes_from(site, proposal_id):
    notes = site.admin.get(f"/api/investors/{site.ids['Kim Lee']}/notes").json["notes"]
    return [n for n in notes if (n["source_ref"] or "").startswith(f"proposal:{proposal_id} ")]


def audit_actions(site):
    return [e["action"] for e in site.admin.get("/api/audit?limit=500").json["entries"]]


# -- (a) an exclusion's dry run ---------------------------------------------------------------------------
def test_the_preview_counts_what_the_purge_removes_and_purges_nothing(site):
    threads_before = site.member.get("/api/email/threads?limit=100").json["total"]
    preview = site.member.post("/api/email/exclusions/preview", {"pattern": "@oak.vc", "scope": "mine"})
    assert preview.status == 200, preview
    assert preview.json == {"pattern": "@oak.vc", "scope": "mine", "messages": 3, "emails": 3, "conversations": 2,
                            "mailboxes": 1, "exists": False}
    assert site.member.get("/api/email/threads?limit=100").json["total"] == threads_before  # nothing purged
    saved = site.member.post("/api/email/exclusions", {"pattern": "@oak.vc", "scope": "mine"})
    assert saved.status == 201 and saved.json["purged"] == preview.json["messages"]
    after = site.member.post("/api/email/exclusions/preview", {"pattern": "@oak.vc", "scope": "mine"}).json
    assert after["messages"] == 0 and after["exists"] is True


def test_a_firm_preview_counts_every_mailbox_and_matches_the_purge(site):
    preview = site.admin.post("/api/email/exclusions/preview", {"pattern": "pat@oak.vc", "scope": "firm"}).json
    assert preview["mailboxes"] == 1 and preview["messages"] == 1  # the member's copies went above
    assert site.admin.post("/api/email/exclusions", {"pattern": "pat@oak.vc", "scope": "firm"}).json["purged"] == 1


@pytest.mark.parametrize("who, body, status", [("member", {"pattern": "@x.vc", "scope": "firm"}, 403),
                                               ("member", {"pattern": "not an address", "scope": "mine"}, 400),
                                               ("member", {"pattern": "@x.vc", "scope": "ours"}, 400),
                                               ("member", {"pattern": "@x.vc", "extra": 1}, 400),
                                               ("bot", {"pattern": "@x.vc", "scope": "mine"}, 403)])
def test_a_bad_preview_is_refused(site, who, body, status):
    assert getattr(site, who).post("/api/email/exclusions/preview", body).status == status


# -- (c) undo a decision ----------------------------------------------------------------------------------
def test_undo_of_an_approve_removes_its_note_and_reopens_the_card(site):
    card = site.cards["u0"]
    decided = site.admin.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "approve"}).json["proposal"]
    assert len(notes_from(site, card["id"])) == 1
    listed = site.admin.get("/api/email/proposals?status=decided").json
    assert listed["undo_window_min"] == 10
    entry = next(p for p in listed["proposals"] if p["id"] == card["id"])
    assert entry["decision"]["status"] == "approved" and entry["decision"]["can_undo"] is True
    undone = site.admin.post(f"/api/email/proposals/{card['id']}/undo", {})
    assert undone.status == 200, undone
    assert undone.json["proposal"]["status"] == "pending"
    assert undone.json["proposal"]["version"] == decided["version"] + 1 and undone.json["proposal"]["note_id"] is None
    assert notes_from(site, card["id"]) == []
    assert card["id"] in [p["id"] for p in site.admin.get("/api/email/proposals").json["proposals"]]
    assert site.admin.post(f"/api/email/proposals/{card['id']}/undo", {}).status == 409  # not decided now
    again = site.admin.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "approve"})
    assert again.status == 200 and len(notes_from(site, card["id"])) == 1  # exactly one note, once more
    assert {"email.proposal.undo", "note.delete"} <= set(audit_actions(site))


def test_undo_of_a_reject(site):
    card = site.cards["u1"]
    assert site.admin.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "reject"}).status == 200
    assert site.admin.post(f"/api/email/proposals/{card['id']}/undo", {}).json["proposal"]["status"] == "pending"
    assert notes_from(site, card["id"]) == []


def test_the_undo_window_closes(site):
    card = site.cards["u2"]
    assert site.admin.post(f"/api/email/proposals/{card['id']}/decide", {"decision": "approve"}).status == 200
    sql(site, "UPDATE email_proposals SET decided_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-601 seconds') "
              "WHERE id = ?", card["id"])
    entry = next(p for p in site.admin.get("/api/email/proposals?status=decided").json["proposals"] if p["id"] == card["id"])
    assert entry["decision"]["can_undo"] is False
    late = site.admin.post(f"/api/email/proposals/{card['id']}/undo", {})
    assert late.status == 409 and "no longer" in late.json["error"] and late.json["proposal"]["status"] == "approved"
    assert len(notes_from(site, card["id"])) == 1  # the note stays


def test_only_the_decider_or_an_admin_may_undo(site):
    mine = site.cards["u3"]
    assert site.admin.post(f"/api/email/proposals/{mine['id']}/decide", {"decision": "reject"}).status == 200
    # the member cannot see the admin's mailbox card unless it is visible to all; either way never a 200
    assert site.member.post(f"/api/email/proposals/{mine['id']}/undo", {}).status in (403, 404)
    theirs = site.cards["m0"]
    assert site.member.post(f"/api/email/proposals/{theirs['id']}/decide", {"decision": "approve"}).status == 200
    assert site.admin.post(f"/api/email/proposals/{theirs['id']}/undo", {}).status == 200  # an admin may
    assert site.bot.post(f"/api/email/proposals/{theirs['id']}/undo", {}).status == 403
    assert site.client().post(f"/api/email/proposals/{theirs['id']}/undo", {}).status == 401
    assert site.admin.post("/api/email/proposals/999999/undo", {}).status == 404


# -- (d) notes edited and deleted -------------------------------------------------------------------------
def test_notes_are_edited_and_deleted_by_their_author_or_an_admin(site):
    path = f"/api/investors/{site.ids['Kim Lee']}/notes"
    note = site.member.post(path, {"body": "Met at the dinner."}).json
    assert note["author_id"] == site.member.get("/api/auth/me").json["user"]["id"]
    edited = site.member.patch(f"{path}/{note['id']}", {"body": "Met at the dinner in Oslo."})
    assert edited.status == 200 and edited.json["body"] == "Met at the dinner in Oslo."
    assert site.admin.patch(f"{path}/{note['id']}", {"body": "Dinner, Oslo."}).json["body"] == "Dinner, Oslo."
    for body in ({}, {"body": ""}, {"body": "x", "source": "email"}, {"body": 5}):
        assert site.member.patch(f"{path}/{note['id']}", body).status == 400
    wrong_investor = f"/api/investors/{site.ids['Pat Oak']}/notes/{note['id']}"
    assert site.member.request("DELETE", wrong_investor).status == 404
    assert site.member.request("DELETE", f"{path}/{note['id']}").json == {"deleted": note["id"]}
    assert site.member.request("DELETE", f"{path}/{note['id']}").status == 404
    assert all(n["id"] != note["id"] for n in site.member.get(path).json["notes"])
    assert {"note.edit", "note.delete"} <= set(audit_actions(site))


def test_another_member_may_not_change_a_note(site):
    site.create_user("third@firm.test", "member")
    third = site.logged_in("third@firm.test")
    path = f"/api/investors/{site.ids['Kim Lee']}/notes"
    note = site.member.post(path, {"body": "Mine."}).json
    assert third.patch(f"{path}/{note['id']}", {"body": "Theirs."}).status == 403
    assert third.request("DELETE", f"{path}/{note['id']}").status == 403
    assert site.bot.request("DELETE", f"{path}/{note['id']}").status == 403
    assert site.admin.request("DELETE", f"{path}/{note['id']}").status == 200


# -- (e) investors merged ---------------------------------------------------------------------------------
def test_merge_moves_notes_addresses_mail_and_cards(site):
    keep, gone = site.ids["Kim Lee"], site.ids["K. Lee"]
    site.member.post(f"/api/investors/{gone}/notes", {"body": "Prefers calls."})
    gone_threads = site.admin.get(f"/api/email/threads?investor_id={gone}").json["threads"]
    assert [t["subject"] for t in gone_threads] == ["dup0"]
    card = site.cards["dup0"]
    assert card["investor"]["id"] == gone
    for body, status in (({}, 400), ({"from_id": keep}, 400), ({"from_id": 999999}, 404), ({"from_id": "2"}, 400)):
        assert site.member.post(f"/api/investors/{keep}/merge", body).status == status, body
    merged = site.member.post(f"/api/investors/{keep}/merge", {"from_id": gone})
    assert merged.status == 200, merged
    assert merged.json["moved"]["notes"] == 1 and merged.json["moved"]["emails"] == 1
    assert sorted(merged.json["investor"]["emails"]) == ["k.lee@alderfund.vc", "kim@alder.vc"]
    assert site.member.get(f"/api/investors/{gone}").status == 404
    bodies = [n["body"] for n in site.member.get(f"/api/investors/{keep}/notes").json["notes"]]
    assert "Prefers calls." in bodies
    subjects = [t["subject"] for t in site.admin.get(f"/api/email/threads?investor_id={keep}").json["threads"]]
    assert "dup0" in subjects
    cards = {p["id"]: p for p in site.admin.get("/api/email/proposals").json["proposals"]}
    assert cards[card["id"]]["investor"]["id"] == keep
    connections = site.member.get(f"/api/investors/{keep}/connections").json["connections"]
    assert any(c["user"]["email"] == MEMBER for c in connections)
    entry = next(e for e in site.admin.get("/api/audit?limit=50").json["entries"] if e["action"] == "investor.merge")
    assert entry["detail"]["merged"] == {"id": gone, "name": "K. Lee"}


def test_merge_roles(site):
    assert site.client().post(f"/api/investors/{site.ids['Kim Lee']}/merge", {"from_id": 1}).status == 401
    assert site.bot.post(f"/api/investors/{site.ids['Kim Lee']}/merge", {"from_id": 1}).status == 403
