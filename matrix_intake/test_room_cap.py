"""The review room is not a firehose, end to end: the real bot against real Synapse and a CRM with
CRM_INTAKE_MAX_OPEN_CARDS=2 keeps at most two undecided cards in the room, newest email first, says how
many more wait on the web, and posts the next card as soon as one is decided on the web (singly or in bulk)."""
from __future__ import annotations

import time

import pytest

from capture_fixtures import capture_env
from conftest import start_crm, with_people
from devtools.intake_rig import INTAKE, World, wait_for
from emulator_fixtures import add_message, make_message

SUBJECTS = ["Cap one", "Cap two", "Cap three", "Cap four", "Cap five"]  # dated in this order: "Cap five" newest


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with World(tmp_path_factory.mktemp("cap"), SUBJECTS, start_crm, with_people, capture_env, add_message,
               make_message, max_open_cards=2) as instance:
        instance.start_bot()
        yield instance


def subjects(world):
    return sorted(c["content"]["body"].split("Subject: ", 1)[1].split("\n", 1)[0] for c in world.cards())


def undecided_in_room(world):
    return len(world.crm.bot.get(INTAKE).json["open"])


def test_at_most_the_cap_newest_first_refilled_as_cards_are_decided(world):
    wait_for(lambda: len(world.cards()) == 2, what="the first two cards")
    time.sleep(2)  # four more polls: nothing more is posted
    assert subjects(world) == ["Cap five", "Cap four"]
    assert all("3 more waiting on the web: " in c["content"]["body"] for c in world.cards())
    assert undecided_in_room(world) == 2

    _, five = world.posted("Cap five")
    assert world.crm.member.post(f"/api/email/proposals/{five}/decide", {"decision": "reject"}).status == 200
    world.card_for("Cap three")
    time.sleep(1.5)
    assert subjects(world) == ["Cap five", "Cap four", "Cap three"] and undecided_in_room(world) == 2

    _, four = world.posted("Cap four")
    _, three = world.posted("Cap three")
    bulk = world.crm.member.post("/api/email/proposals/bulk", {"decision": "reject", "ids": [four, three]})
    assert sorted(bulk.json["decided"]) == sorted([four, three])
    wait_for(lambda: len(world.cards()) == 5, what="the last two cards")
    time.sleep(1.5)
    assert undecided_in_room(world) == 2 and len(world.cards()) == 5
    assert "waiting on the web" not in world.card_for("Cap one")["content"]["body"]  # nothing else waits
    world.said(world.card_for("Cap four")["event_id"], "Rejected")  # the bulk decision was announced
