"""Meeting cards in the review room (issue 25): a meeting with an investor that ended in a teammate's calendar
becomes one card the bot posts (kind "meeting": the event in place of the email), and yes / no / edit work as for
mail. A real Synapse on loopback, the real CRM (its scheduler drafts the card), the model stand-in, the bot as a
subprocess; the meeting enters the CRM's database through calendar/meetings.apply_events (the sync's seam, store_events)."""
from __future__ import annotations

import datetime as dt

import pytest

from capture_fixtures import capture_env
from conftest import start_crm, with_people
from devtools.intake_rig import INTAKE, World, wait_for
from emulator_fixtures import add_message, make_message
from meeting_fixtures import event, store_events

TITLES = ["Fund II update", "Portfolio review", "Not worth a note"]
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with World(tmp_path_factory.mktemp("meeting-room"), [], start_crm, with_people, capture_env, add_message,
               make_message) as instance:
        instance.bot_defaults["LLM_DRAFTS"] = "off"
        store_events(instance.crm, "admin@firm.test", [
            event("admin", id=f"room{n}", uid=f"room{n}@alder.vc", summary=title, attendees=("kim@alder.vc",),
                  start=NOW - dt.timedelta(hours=n + 2)) for n, title in enumerate(TITLES)], NOW, full_sync=True)
        instance.start_bot()
        yield instance


def posted(world, title):
    """(the meeting card's event, its proposal id) once the bot posted it and the CRM recorded it."""
    card = wait_for(lambda: next((c for c in world.cards() if f"Meeting: {title}\n" in c["content"]["body"]), None),
                    timeout=40, what=f"meeting card {title}")
    return card, wait_for(lambda: world.proposal(card), what=f"proposal of {title}")


def test_the_bot_posts_one_card_per_meeting_with_the_event(world):
    card, proposal_id = posted(world, "Fund II update")
    body = card["content"]["body"]
    assert body.startswith("Proposed note for Kim Lee (Alder) (a meeting)")
    assert "With: " in body and "kim@alder.vc" in body and "Agenda: Q1 close" in body and "From:" not in body
    assert "met Kim Lee (Alder) on" in body
    wait_for(lambda: len(world.cards()) == len(TITLES), what="every meeting card")
    assert [o["kind"] for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id] == ["meeting"]


def test_yes_approves_a_meeting_card(world):
    card, proposal_id = posted(world, "Fund II update")
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved here")
    assert world.status(proposal_id) == "approved"
    assert any(n["source_ref"].startswith(f"proposal:{proposal_id} meeting:") for n in world.notes())


def test_edit_then_yes_writes_the_revised_note(world):
    card, proposal_id = posted(world, "Portfolio review")
    world.ann.send_text(world.room, "edit: add that they will commit $2M in Q1", thread_root=card["event_id"])
    revised = world.said(card["event_id"], "Revised draft:")
    opened = next(o for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id)
    assert opened["draft"] in revised["content"]["body"] and opened["draft"] != card["content"]["body"]
    prompt = repr(world.llm.requests[-1]["messages"])
    assert "Portfolio review" in prompt  # the meeting is the model's context, as the email's snippet is for mail
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved here")
    assert any(n["body"] == opened["draft"] for n in world.notes())


def test_no_rejects_a_meeting_card(world):
    card, proposal_id = posted(world, "Not worth a note")
    world.ann.send_text(world.room, "no", thread_root=card["event_id"])
    world.said(card["event_id"], "Rejected here")
    assert world.status(proposal_id) == "rejected"
