"""Units: the matcher names an investor's person (issue 24, item 8): the assigned address first, else the
display name of an address that matches the investor, else nobody."""
from backend import db, investors_db
from backend.server import init_db
from email_integration.capture.matcher import InvestorIndex, MatcherCache, index_for

ROWS = [(1, "email", "maya@fjord.example"), (1, "email", "leo@fjord.example"), (1, "email", "desk@fjord.example"),
        (1, "domain", "fjord.example"), (2, "email", "ann@alder.example"), (3, "domain", "gmail.com")]
PEOPLE = [{"id": 10, "investor_id": 1, "name": "Maya Okafor", "title": "Partner", "emails": ["maya@fjord.example"]},
          {"id": 11, "investor_id": 1, "name": "Leo Park", "title": None, "emails": ["Leo@Fjord.example"]}]
MAYA = {"id": 10, "name": "Maya Okafor", "title": "Partner"}
LEO = {"id": 11, "name": "Leo Park", "title": None}


def test_an_assigned_address_is_its_person_whatever_its_display_name():
    index = InvestorIndex(ROWS, "firm.test", PEOPLE)
    assert index.person(1, "LEO@fjord.example") == LEO
    assert index.person(1, "leo@fjord.example", "Maya Okafor") == LEO  # the address decides, not the name
    assert index.person(1, "maya@fjord.example") == MAYA
    assert index.match(["leo@fjord.example"]) == [(1, "exact", "leo@fjord.example")]  # links unchanged


def test_a_domain_or_unassigned_address_is_the_person_its_display_name_equals():
    index = InvestorIndex(ROWS, "firm.test", PEOPLE)
    assert index.person(1, "l.park@fjord.example", "  leo   PARK ") == LEO
    assert index.person(1, "desk@fjord.example", '"Leo Park"') == LEO
    assert index.person(1, "desk@fjord.example", "Fjord Front Desk") is None
    assert index.person(1, "someone@fjord.example") is None
    # a name alone is not enough: the address must be the investor's (a free-mail Leo Park is nobody's)
    assert index.person(1, "leo.park@gmail.com", "Leo Park") is None
    assert index.person(2, "leo@fjord.example") is None  # another investor's person


def test_an_investor_without_people_names_nobody_and_people_keeps_order():
    index = InvestorIndex(ROWS, "firm.test", PEOPLE)
    assert index.person(2, "ann@alder.example", "Ann Alder") is None
    assert InvestorIndex(ROWS).person(1, "leo@fjord.example", "Leo Park") is None  # no people given
    participants = [{"email": "chloe@firm.test", "name": "Chloe"}, {"email": "leo@fjord.example", "name": ""},
                    {"email": "maya@fjord.example", "name": "Maya"}, {"email": "leo@fjord.example", "name": "Leo"}, None]
    assert index.people(1, participants) == [LEO, MAYA]
    assert index.people(2, participants) == []


def test_the_cache_and_index_for_see_people_as_they_change(tmp_path):
    path = str(tmp_path / "crm.db")
    init_db(path)
    conn = db.connect(path)
    fjord = investors_db.create_investor(conn, "Fjord Capital", None, ["maya@fjord.example"], ["fjord.example"])
    cache = MatcherCache("firm.test")
    assert cache.index(conn).person(fjord, "leo@fjord.example", "Leo Park") is None
    leo = investors_db.add_person(conn, fjord, "Leo Park", None, ["leo@fjord.example"])
    assert cache.index(conn).person(fjord, "leo@fjord.example")["id"] == leo
    assert index_for(conn, [fjord]).person(fjord, "lp@fjord.example", "Leo Park")["id"] == leo
    investors_db.update_person(conn, fjord, leo, {"name": "Leo Park-Berg"})
    assert cache.index(conn).person(fjord, "leo@fjord.example")["name"] == "Leo Park-Berg"
    investors_db.delete_person(conn, fjord, leo)
    assert cache.index(conn).person(fjord, "leo@fjord.example") is None
    assert index_for(conn, None).people(fjord, [{"email": "leo@fjord.example", "name": "Leo Park"}]) == []
