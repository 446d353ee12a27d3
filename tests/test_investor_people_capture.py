"""Issue 24, item 8 over the Gmail emulator and a real CRM: a fund's people. Mail to Leo at fjord.example is
Leo's, not Maya's: the draft, the /capture card, the investor timeline and "Who knows them" name him."""
import pytest

from people_fixtures import MEMBER, fjord_site


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    with fjord_site(tmp_path_factory, keys) as server:
        yield server


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


@pytest.fixture(scope="module")
def late(tmp_path_factory, keys):
    """The same mail captured before anyone added Fjord's people."""
    with fjord_site(tmp_path_factory, keys, people=False) as server:
        yield server


def test_adding_people_later_redrafts_the_pending_cards_no_one_touched(late):
    before = cards(late)
    assert before["Q3 numbers"]["draft"].startswith("Chloe to Maya Okafor (Fjord Capital): ")  # the bug, as it was
    edited = late.member.post(f"/api/email/proposals/{before['Fund IV']['id']}/decide",
                              {"decision": "edit", "note": "Maya: $2m to Fund IV.",
                               "expected_version": before["Fund IV"]["version"]})
    assert edited.status == 200, edited
    path = f"/api/investors/{late.fjord}/people"
    leo = late.member.post(path, {"name": "Leo Park", "emails": ["leo@fjord.example"]})
    assert leo.status == 201
    after = cards(late)
    assert after["Q3 numbers"]["draft"].startswith("Chloe to Leo Park (Fjord Capital): ")
    assert after["Q3 numbers"]["version"] == before["Q3 numbers"]["version"] + 1
    assert after["Site visit"]["draft"].startswith("Leo Park (Fjord Capital): ")
    assert after["Fund IV"]["draft"] == "Maya: $2m to Fund IV."  # a person's edit is theirs: never redrafted
    assert after["Parking"]["version"] == before["Parking"]["version"]  # nobody's before or after: unchanged
    # a decision made on the draft the person saw before the change is refused, not applied to the new text
    stale = late.member.post(f"/api/email/proposals/{before['Q3 numbers']['id']}/decide",
                             {"decision": "approve", "expected_version": before["Q3 numbers"]["version"]})
    assert stale.status == 409
    # removing Leo names the investor again
    assert late.member.request("DELETE", f"{path}/{leo.json['id']}").status == 200
    assert cards(late)["Q3 numbers"]["draft"].startswith("Chloe to Maya Okafor (Fjord Capital): ")


def test_the_models_work_list_names_the_person_too(site):
    reply = site.bot.get("/api/intake/email-proposals")
    assert reply.status == 200, reply
    items = {i["email"]["subject"]: i for i in reply.json["to_draft"]}
    assert items["Q3 numbers"]["who"] == "Leo Park (Fjord Capital)"
    assert items["Q3 numbers"]["people"] == [{"id": site.leo["id"], "name": "Leo Park", "title": None}]
    assert items["Q3 numbers"]["investor"] == {"id": site.fjord, "name": "Maya Okafor", "firm": "Fjord Capital"}
    assert items["Fund IV"]["who"] == "Maya Okafor (Fjord Capital)"
    assert items["Parking"]["people"] == [] and items["Parking"]["who"] == "Maya Okafor (Fjord Capital)"
