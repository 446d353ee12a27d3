"""The investor grid API: investors with addresses and domains, notes, validation (contracts §5)."""


def make(crm, **fields):
    body = {"name": "Ada Ventures", "firm": "Ada", "emails": [], "domains": []} | fields
    reply = crm.member.post("/api/investors", body)
    assert reply.status == 201, reply
    return reply.json


def test_create_get_list_and_patch(crm):
    created = make(crm, name="Birch Capital", firm="Birch", emails=["Pat@Birch.VC", "pat@birch.vc", "lee@birch.vc"],
                   domains=["@Birch.vc"])
    assert created["emails"] == ["pat@birch.vc", "lee@birch.vc"]  # lower-cased, de-duplicated
    assert created["domains"] == ["birch.vc"]
    assert created["note_count"] == 0 and created["last_contact_at"] is None
    got = crm.member.get(f"/api/investors/{created['id']}").json
    assert got == created
    assert crm.member.get("/api/investors").json["email"] is False  # capture off: no mail search to follow
    listed = crm.member.get("/api/investors").json["investors"]
    row = next(i for i in listed if i["id"] == created["id"])
    assert row == {**created, "strength": None, "closest": None, "last_two_way_at": None,
                   "next_meeting_at": None}  # no email, no meeting: no strength
    found = crm.member.get("/api/investors?q=lee@birch").json["investors"]
    assert [i["id"] for i in found] == [created["id"]]
    patched = crm.admin.patch(f"/api/investors/{created['id']}", {"firm": "Birch Partners", "emails": ["lee@birch.vc"]})
    assert patched.status == 200
    assert patched.json["firm"] == "Birch Partners" and patched.json["emails"] == ["lee@birch.vc"]
    assert patched.json["name"] == "Birch Capital"


def test_notes_add_and_list_newest_first(crm):
    investor = make(crm, name="Cedar Fund")
    path = f"/api/investors/{investor['id']}/notes"
    first = crm.member.post(path, {"body": "Met at the conference."})
    second = crm.admin.post(path, {"body": "  Sent the deck.  "})
    assert first.status == second.status == 201
    assert second.json["body"] == "Sent the deck."
    assert second.json["source"] == "manual" and second.json["source_ref"] is None
    assert second.json["author"] == "Admin"
    notes = crm.member.get(path).json["notes"]
    assert [n["body"] for n in notes] == ["Sent the deck.", "Met at the conference."]
    # contracts §5 plus author_id (issue 24, item 5: who may edit or delete it)
    assert set(notes[0]) == {"id", "body", "source", "source_ref", "author", "author_id", "created_at"}
    assert crm.member.get(f"/api/investors/{investor['id']}").json["note_count"] == 2


def test_unknown_ids_are_404(crm):
    for method, path, body in (("GET", "/api/investors/999999", None), ("PATCH", "/api/investors/999999", {"name": "x"}),
                               ("GET", "/api/investors/999999/notes", None),
                               ("POST", "/api/investors/999999/notes", {"body": "x"})):
        reply = crm.member.request(method, path, body)
        assert reply.status == 404 and "error" in reply.json, (method, path)
    assert crm.member.get("/api/investors/abc").status == 404


def test_an_address_belongs_to_one_investor(crm):
    make(crm, name="Dune LP", emails=["gp@dune.vc"])
    reply = crm.member.post("/api/investors", {"name": "Other", "emails": ["GP@dune.vc"]})
    assert reply.status == 409 and "gp@dune.vc" in reply.json["error"]
    other = make(crm, name="Other Dune")
    assert crm.member.patch(f"/api/investors/{other['id']}", {"emails": ["gp@dune.vc"]}).status == 409
    assert crm.member.get(f"/api/investors/{other['id']}").json["emails"] == []


def test_patch_validation(crm):
    investor = make(crm, name="Elm Seed")
    path = f"/api/investors/{investor['id']}"
    for body in ({"name": ""}, {"name": 3}, {"emails": "x@y.z"}, {"domains": ["nodot"]}, {"colour": "red"}):
        reply = crm.member.patch(path, body)
        assert reply.status == 400, (body, reply)
    assert crm.member.request("PATCH", path, body=b"[]").status == 400
    assert crm.member.get(path).json == investor


def test_note_validation(crm):
    investor = make(crm, name="Fir Growth")
    path = f"/api/investors/{investor['id']}/notes"
    for body in ({}, {"body": ""}, {"body": "   "}, {"body": ["x"]}, {"body": "x" * 20_001}):
        assert crm.member.post(path, body).status == 400, body
    assert crm.member.get(path).json["notes"] == []


def test_writes_are_audited(crm):
    import sqlite3
    investor = make(crm, name="Gum Tree")
    crm.member.post(f"/api/investors/{investor['id']}/notes", {"body": "hello"})
    conn = sqlite3.connect(f"{crm.data_dir}/crm.db")
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE detail LIKE ? OR target_id = ?",
                                          (f'%"investor_id": {investor["id"]}%', str(investor["id"])))]
    conn.close()
    assert "investor.create" in actions and "note.create" in actions
