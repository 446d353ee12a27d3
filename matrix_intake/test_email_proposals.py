"""The intake bot against a real Synapse on loopback, a real CRM on an ephemeral port (syncing from
the Gmail emulator) and a small OpenAI-compatible stand-in for the local model."""
from __future__ import annotations

import json
import time

import pytest

from capture_fixtures import capture_env
from conftest import start_crm, with_people
from devtools.intake_rig import INTAKE, World, wait_for
from emulator_fixtures import add_message, make_message

SUBJECTS = ["Say yes", "Say no", "Edit it", "Thumbs up", "Thumbs down", "Web decides", "Eve says yes", "LLM down",
            "Crash mid decide", "CRM gone", "Web edits first", "Busy room", "Goes private"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with World(tmp_path_factory.mktemp("intake"), SUBJECTS, start_crm, with_people, capture_env, add_message,
               make_message) as instance:
        instance.start_bot()
        yield instance


def test_each_card_is_posted_once_even_across_restarts(world):
    wait_for(lambda: len(world.cards()) == len(SUBJECTS), what="all cards")
    card = world.card_for("Say yes")
    assert card["content"]["format"] == "org.matrix.custom.html"
    assert "Kim Lee (Alder)" in card["content"]["body"] and "Draft note:" in card["content"]["body"]
    wait_for(lambda: world.crm.bot.get(INTAKE).json["to_post"] == [], what="every card recorded as posted")
    world.kill_bot()
    world.start_bot()
    time.sleep(2)
    assert len(world.cards()) == len(SUBJECTS)


def test_yes_approves_and_the_note_exists(world):
    card, proposal_id = world.posted("Say yes")
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved here by @ann:spark.test")
    assert world.status(proposal_id) == "approved"
    assert any(n["source_ref"].startswith(f"proposal:{proposal_id} ") for n in world.notes())


def test_no_rejects(world):
    card, proposal_id = world.posted("Say no")
    world.ann.send_text(world.room, "No", reply_to=card["event_id"])  # a plain reply to the card works too
    world.said(card["event_id"], "Rejected here")
    assert world.status(proposal_id) == "rejected"


def test_edit_then_yes_approves_the_revision(world):
    card, proposal_id = world.posted("Edit it")
    world.ann.send_text(world.room, "mention the Friday deadline", thread_root=card["event_id"])
    revised = world.said(card["event_id"], "Revised draft:")
    expected = "Kim asked for the model (mention the Friday deadline)."
    assert expected in revised["content"]["body"]
    opened = next(o for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id)
    assert opened["draft"] == expected
    prompt = world.llm.requests[-1]["messages"]
    assert prompt[0]["role"] == "system" and prompt[1]["content"].startswith("BEGIN DATA")
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved here")
    assert any(n["body"] == expected for n in world.notes())


def test_reactions_decide(world):
    (up, up_id), (down, down_id) = world.posted("Thumbs up"), world.posted("Thumbs down")
    world.ann.react(world.room, up["event_id"], "👍")
    world.ann.react(world.room, down["event_id"], "👎")
    wait_for(lambda: world.status(up_id) == "approved" and world.status(down_id) == "rejected", what="reactions")


def test_a_web_decision_is_announced_and_closed(world):
    card, proposal_id = world.posted("Web decides")
    assert world.crm.member.post(f"/api/email/proposals/{proposal_id}/decide", {"decision": "approve"}).status == 200
    world.said(card["event_id"], "Approved on the web by Member")
    wait_for(lambda: any(e["type"] == "m.reaction" and e["sender"] == world.bot_id and
                         e["content"]["m.relates_to"]["event_id"] == card["event_id"] for e in world.events()),
             what="the card marked")
    wait_for(lambda: all(i["id"] != proposal_id for i in world.crm.bot.get(INTAKE).json["to_close"]), what="closed")


def test_a_conversation_made_private_is_withdrawn_and_closed(world):
    card, proposal_id = world.posted("Goes private")
    thread = world.crm.admin.get("/api/email/threads?q=Goes+private").json["threads"][0]["id"]
    assert world.crm.admin.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200
    world.said(card["event_id"], "Withdrawn from the review room")
    wait_for(lambda: all(i["id"] != proposal_id for i in world.crm.bot.get(INTAKE).json["to_close"]), what="closed")
    work = world.crm.bot.get(INTAKE).json
    assert proposal_id not in {c["id"] for c in work["to_post"]} | {o["id"] for o in work["open"]}
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])  # too late: nothing to approve
    time.sleep(1.5)
    assert world.status(proposal_id) is None and not any(
        (n["source_ref"] or "").startswith(f"proposal:{proposal_id} ") for n in world.notes())
    assert "Goes private" not in repr(world.crm.bot.get(INTAKE).json)


def test_a_non_reviewers_yes_changes_nothing(world):
    card, proposal_id = world.posted("Eve says yes")
    world.eve.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "only the listed reviewers can decide")
    assert world.status(proposal_id) == "pending"


def test_llm_down_leaves_the_draft_and_says_so(world):
    card, proposal_id = world.posted("LLM down")
    before = next(o for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id)
    world.llm.down = True
    try:
        world.ann.send_text(world.room, "make it shorter", thread_root=card["event_id"])
        world.said(card["event_id"], "The draft is unchanged")
    finally:
        world.llm.down = False
    after = next(o for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id)
    assert after == before


def test_killed_while_the_crm_hangs_loses_no_decision_and_posts_no_duplicate(world):
    card, proposal_id = world.posted("Crash mid decide")
    proxy = world.proxy
    # 1. a reviewer says yes; the CRM stalls on the decision; the bot is killed before it answers
    proxy.release.clear()
    proxy.hang = {"/decide"}
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    time.sleep(1.5)
    world.kill_bot()
    proxy.hang = set()
    proxy.release.set()
    assert world.status(proposal_id) == "pending"
    # 2. a new proposal; the bot sends its card, the CRM stalls on /posted, the bot is killed
    world.add_mail("Late arrival", 99)
    world.sync_crm()
    proxy.release.clear()
    proxy.hang = {"/posted"}
    world.start_bot()
    wait_for(lambda: any("Subject: Late arrival\n" in c["content"]["body"] for c in world.cards()),
             what="the late card sent")
    time.sleep(0.5)
    world.kill_bot()
    proxy.hang = set()
    proxy.release.set()
    # 3. restarted: the yes from before the crash is applied, the late card is recorded, not re-sent
    world.start_bot()
    wait_for(lambda: world.status(proposal_id) == "approved", what="the yes from before the crash")
    late = world.card_for("Late arrival")
    wait_for(lambda: world.proposal(late), what="the late card recorded as posted")
    time.sleep(1.5)
    assert len([c for c in world.cards() if "Subject: Late arrival\n" in c["content"]["body"]]) == 1
    assert len(world.cards()) == len(SUBJECTS) + 1


def test_the_crm_gone_for_good_is_told_in_the_thread(world):
    card, proposal_id = world.posted("CRM gone")
    world.kill_bot()
    world.proxy.fail = {"/decide"}
    try:
        world.start_bot(CRM_GIVE_UP_SEC="1")
        time.sleep(1)
        world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
        world.said(card["event_id"], "NOT confirmed as recorded", timeout=60)
    finally:
        world.proxy.fail = set()
        world.kill_bot()
        world.start_bot()
    assert world.status(proposal_id) == "pending"


def test_a_draft_changed_on_the_web_is_shown_before_a_yes_approves_it(world):
    card, proposal_id = world.posted("Web edits first")
    reply = world.crm.member.post(f"/api/email/proposals/{proposal_id}/decide",
                                  {"decision": "edit", "note": "Edited on the web: Kim wants the model Friday."})
    assert reply.status == 200
    world.said(card["event_id"], "The draft was updated")
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved here")
    assert any(n["body"] == "Edited on the web: Kim wants the model Friday." for n in world.notes())


def test_a_yes_buried_under_a_busy_room_while_the_bot_was_down_is_handled(world):
    card, proposal_id = world.posted("Busy room")
    world.kill_bot()
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    for i in range(120):  # more than one sync's timeline: the sync comes back 'limited'
        world.eve.send_text(world.room, f"chatter {i}")
    world.start_bot()
    wait_for(lambda: world.status(proposal_id) == "approved", timeout=30, what="the buried yes")


def test_logs_hold_no_bodies_or_tokens(world):
    world.bot_log.flush()
    log = (world.tmp / "bot.log").read_text(errors="replace")
    session = json.loads((world.tmp / "bot-store" / "session.json").read_text())
    for secret in ("Could you send the model", world.bot_token, session["access_token"], "bot-password-1"):
        assert secret not in log, secret
