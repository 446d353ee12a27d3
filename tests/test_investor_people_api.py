"""An investor's people (issue 24, item 8): add, edit, remove, assign addresses; bad input is a clear 400."""
from crm_client import CRMClient


def fund(crm, name="Fjord Capital", emails=("maya@fjord.example", "leo@fjord.example"), domains=("fjord.example",)):
    reply = crm.member.post("/api/investors", {"name": name, "firm": None, "emails": list(emails),
                                               "domains": list(domains)})
    assert reply.status == 201, reply
    return reply.json


def test_people_are_added_edited_and_removed_with_their_addresses(crm):
    investor = fund(crm)
    assert investor["people"] == []  # an existing investor has no people: one person, as before
    path = f"/api/investors/{investor['id']}/people"
    maya = crm.member.post(path, {"name": "Maya Okafor", "title": "Partner", "emails": ["Maya@Fjord.example"]})
    assert maya.status == 201, maya
    assert maya.json == {"id": maya.json["id"], "name": "Maya Okafor", "title": "Partner",
                         "emails": ["maya@fjord.example"]}
    # an address the investor lacks is added to it, and assigned
    leo = crm.admin.post(path, {"name": "  Leo Park ", "emails": ["leo@fjord.example", "leo.park@fjord.example"]})
    assert leo.status == 201 and leo.json["name"] == "Leo Park" and leo.json["title"] is None
    got = crm.member.get(f"/api/investors/{investor['id']}").json
    assert got["emails"] == ["maya@fjord.example", "leo@fjord.example", "leo.park@fjord.example"]
    assert [(p["name"], p["emails"]) for p in got["people"]] == [
        ("Maya Okafor", ["maya@fjord.example"]), ("Leo Park", ["leo@fjord.example", "leo.park@fjord.example"])]
    # the grid's search finds the fund by a person's name (a partner looks up "Leo", not "Fjord")
    assert investor["id"] in [i["id"] for i in crm.member.get("/api/investors?q=leo%20park").json["investors"]]
    edited = crm.member.patch(f"{path}/{leo.json['id']}", {"title": "Principal", "emails": ["leo@fjord.example"]})
    assert edited.status == 200 and edited.json["emails"] == ["leo@fjord.example"]
    assert edited.json["title"] == "Principal" and edited.json["name"] == "Leo Park"
    # unassigned, the address stays the investor's
    assert "leo.park@fjord.example" in crm.member.get(f"/api/investors/{investor['id']}").json["emails"]
    # an investor edit that keeps an address keeps its assignment; one that drops it drops it
    crm.member.patch(f"/api/investors/{investor['id']}", {"emails": ["leo@fjord.example", "maya@fjord.example"]})
    people = crm.member.get(f"/api/investors/{investor['id']}").json["people"]
    assert [p["emails"] for p in people] == [["maya@fjord.example"], ["leo@fjord.example"]]
    crm.member.patch(f"/api/investors/{investor['id']}", {"emails": ["leo@fjord.example"]})
    people = crm.member.get(f"/api/investors/{investor['id']}").json["people"]
    assert [p["emails"] for p in people] == [[], ["leo@fjord.example"]]
    assert crm.member.request("DELETE", f"{path}/{maya.json['id']}").json == {"deleted": maya.json["id"]}
    after = crm.member.get(f"/api/investors/{investor['id']}").json
    assert [p["name"] for p in after["people"]] == ["Leo Park"] and after["emails"] == ["leo@fjord.example"]
    audit = crm.admin.get("/api/audit?limit=50").json
    actions = [e["action"] for e in audit.get("entries", audit.get("audit", []))]
    assert {"person.create", "person.update", "person.delete"} <= set(actions)


def test_bad_people_input_is_a_clear_400_and_changes_nothing(crm):
    investor = fund(crm, name="Alder Family Office", emails=("ann@alder.example",), domains=())
    other = fund(crm, name="Birch", emails=("bo@birch.example",), domains=())
    path = f"/api/investors/{investor['id']}/people"
    ann = crm.member.post(path, {"name": "Ann Alder", "emails": ["ann@alder.example"]}).json
    cases = [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"emails": ["x@alder.example"]}, "name"),
        ({"name": "X", "emails": ["x@alder.example", "X@alder.example"]}, "twice"),
        ({"name": "X", "emails": ["bo@birch.example"]}, "another investor"),
        ({"name": "X", "emails": ["ann@alder.example"]}, "Ann Alder"),
        ({"name": "X", "emails": ["not-an-address"]}, "not an email"),
        ({"name": "X", "emails": "x@alder.example"}, "list"),
        ({"name": "X", "nickname": "y"}, "unknown field"),
        ({"name": 7}, "string"),
        ({"name": "X", "emails": ["member@firm.test"]}, ""),  # a teammate's address: the address policy refuses
    ]
    for body, says in cases:
        reply = crm.member.post(path, body)
        assert reply.status == 400 and says in reply.json["error"], (body, reply)
    patch = crm.member.patch(f"{path}/{ann['id']}", {"name": ""})
    assert patch.status == 400
    assert crm.member.patch(f"{path}/{ann['id']}", {"emails": ["bo@birch.example"]}).status == 400
    after = crm.member.get(f"/api/investors/{investor['id']}").json
    assert after["emails"] == ["ann@alder.example"]
    assert after["people"] == [{"id": ann["id"], "name": "Ann Alder", "title": None, "emails": ["ann@alder.example"]}]
    assert crm.member.get(f"/api/investors/{other['id']}").json["people"] == []
    # a person of another investor is not found through this one
    bo = crm.member.post(f"/api/investors/{other['id']}/people", {"name": "Bo"}).json
    assert crm.member.patch(f"{path}/{bo['id']}", {"name": "Z"}).status == 404
    assert crm.member.request("DELETE", f"{path}/{bo['id']}").status == 404
    assert crm.member.post("/api/investors/999999/people", {"name": "Z"}).status == 404


def test_people_writes_need_a_person_and_a_same_origin_request(crm):
    investor = fund(crm, name="Cedar", emails=("cy@cedar.example",), domains=())
    path = f"/api/investors/{investor['id']}/people"
    assert crm.bot.post(path, {"name": "Cy"}).status == 403
    assert CRMClient(crm.url).post(path, {"name": "Cy"}).status == 401
    cross = crm.member.request("POST", path, {"name": "Cy"}, headers={"Origin": "http://evil.example"})
    assert cross.status == 403
    assert crm.member.get(f"/api/investors/{investor['id']}").json["people"] == []


def test_a_merge_brings_the_other_investors_people_with_their_addresses(crm):
    keep = fund(crm, name="Elm Partners", emails=("eve@elm.example",), domains=())
    gone = fund(crm, name="Elm (duplicate)", emails=("ed@elm.example",), domains=())
    ed = crm.member.post(f"/api/investors/{gone['id']}/people", {"name": "Ed Elm", "emails": ["ed@elm.example"]}).json
    assert crm.member.post(f"/api/investors/{keep['id']}/merge", {"from_id": gone["id"]}).status == 200
    people = crm.member.get(f"/api/investors/{keep['id']}").json["people"]
    assert people == [{"id": ed["id"], "name": "Ed Elm", "title": None, "emails": ["ed@elm.example"]}]
    assert crm.member.patch(f"/api/investors/{keep['id']}/people/{ed['id']}", {"title": "GP"}).status == 200
