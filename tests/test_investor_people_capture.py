"""Issue 24, item 8 over the Gmail emulator and a real CRM: a fund's people. Mail to Leo at fjord.example is
Leo's, not Maya's: the draft, the /capture card, the investor timeline and "Who knows them" name him."""
import pytest

from capture_fixtures import start_capture_crm, sync_all
from emulator_fixtures import add_message, make_message

MEMBER = "member@firm.test"
FJORD = {"name": "Maya Okafor", "firm": "Fjord Capital", "emails": ["maya@fjord.example", "leo@fjord.example"],
         "domains": ["fjord.example"]}
MAIL = [
    make_message(sender=f"Chloe Durand <{MEMBER}>", to="Leo Park <leo@fjord.example>", subject="Q3 numbers",
                 body="Leo, could you send the Q3 numbers by Friday?\n", message_id="<q3@firm.test>",
                 date="Mon, 23 Nov 2026 10:00:00 +0000"),
    make_message(sender="Maya Okafor <maya@fjord.example>", to=f"Chloe Durand <{MEMBER}>", subject="Fund IV",
                 body="We would love to commit $2m to Fund IV before December 15.\n", message_id="<f4@fjord.example>",
                 date="Tue, 24 Nov 2026 10:00:00 +0000"),
    # an address nobody assigned, at the fund's domain, whose display name is Leo's
    make_message(sender="Leo Park <l.park@fjord.example>", to=f"Chloe Durand <{MEMBER}>", subject="Site visit",
                 body="Can we meet at your office on Thursday at 3pm?\n", message_id="<visit@fjord.example>",
                 date="Wed, 25 Nov 2026 10:00:00 +0000"),
    make_message(sender="Front Desk <desk@fjord.example>", to=f"Chloe Durand <{MEMBER}>", subject="Parking",
                 body="Please send the plate number for the garage by Monday.\n", message_id="<desk@fjord.example>",
                 date="Thu, 26 Nov 2026 10:00:00 +0000"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1])
    for raw in MAIL:
        add_message(emulator.url, MEMBER, raw)
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, (FJORD,), sync=False)
    fjord = server.member.get("/api/investors").json["investors"][0]
    path = f"/api/investors/{fjord['id']}/people"
    server.maya = server.member.post(path, {"name": "Maya Okafor", "title": "Partner",
                                            "emails": ["maya@fjord.example"]}).json
    server.leo = server.member.post(path, {"name": "Leo Park", "emails": ["leo@fjord.example"]}).json
    server.fjord = fjord["id"]
    sync_all(server)
    try:
        yield server
    finally:
        server.stop()
        emulator.stop()


def cards(site):
    reply = site.member.get("/api/email/proposals?status=pending")
    assert reply.status == 200
    return {c["email"]["subject"]: c for c in reply.json["proposals"]}


def test_the_draft_and_the_card_name_the_person_the_address_is(site):
    found = cards(site)
    assert found["Q3 numbers"]["draft"].startswith("Chloe to Leo Park (Fjord Capital): ")
    assert "Maya" not in found["Q3 numbers"]["draft"]
    assert [p["name"] for p in found["Q3 numbers"]["people"]] == ["Leo Park"]
    assert found["Fund IV"]["draft"].startswith("Maya Okafor (Fjord Capital): ")
    assert found["Fund IV"]["people"] == [{"id": site.maya["id"], "name": "Maya Okafor", "title": "Partner"}]
    assert found["Site visit"]["draft"].startswith("Leo Park (Fjord Capital): ")  # by the display name
    assert found["Site visit"]["people"] == [{"id": site.leo["id"], "name": "Leo Park", "title": None}]
    # nobody's: as before people, the investor is named
    assert found["Parking"]["people"] == []
    assert found["Parking"]["draft"].startswith("Front Desk for Maya Okafor (Fjord Capital): ")


def test_the_timeline_says_which_person_each_email_was_with(site):
    items = site.member.get(f"/api/investors/{site.fjord}/timeline").json["items"]
    emails = {i["email"]["subject"]: [p["name"] for p in i["email"]["people"]] for i in items if i["kind"] == "email"}
    assert emails == {"Q3 numbers": ["Leo Park"], "Fund IV": ["Maya Okafor"], "Site visit": ["Leo Park"],
                      "Parking": []}


def test_who_knows_them_lists_per_person_who_on_the_team_knows_them(site):
    reply = site.member.get(f"/api/investors/{site.fjord}/connections").json
    investor_wide = {c["user"]["email"]: c for c in reply["connections"]}
    assert investor_wide[MEMBER]["sent_12m"] == 1 and investor_wide[MEMBER]["received_12m"] == 3
    people = {p["person"]["name"]: {c["user"]["email"]: c for c in p["connections"]} for p in reply["people"]}
    assert set(people) == {"Maya Okafor", "Leo Park"}
    leo, maya = people["Leo Park"][MEMBER], people["Maya Okafor"][MEMBER]
    assert (leo["sent_12m"], leo["received_12m"]) == (1, 1)
    assert (maya["sent_12m"], maya["received_12m"]) == (0, 1)
    assert leo["strength"] > 0 and maya["strength"] > 0


def test_an_investor_without_people_keeps_its_old_answers(site):
    other = site.member.post("/api/investors", {"name": "Solo Angel", "emails": ["solo@angel.example"]}).json
    assert site.member.get(f"/api/investors/{other['id']}/connections").json["people"] == []
    items = site.member.get(f"/api/investors/{other['id']}/timeline").json["items"]
    assert items == []
