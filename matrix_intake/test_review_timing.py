"""A decision refers to the draft the reviewer saw, and stopping the bot loses none: against a real Synapse,
the real CRM and the model stand-in (devtools/intake_rig.py), events shaped as Element sends them."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from capture_fixtures import capture_env
from conftest import start_crm, with_people
from devtools.intake_rig import ROOT, HangingProxy, World, wait_for
from emulator_fixtures import add_message, make_message

SUBJECTS = ["Grace then web edit", "Yes behind a revision", "Stopped in grace", "Acknowledged notice",
            "Synapse hiccup", "Buried during a hiccup"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with World(tmp_path_factory.mktemp("review-timing"), SUBJECTS, start_crm, with_people, capture_env,
               add_message, make_message) as instance:
        instance.bot_defaults["LLM_DRAFTS"] = "off"
        instance.start_bot()
        wait_for(lambda: len(instance.cards()) == len(SUBJECTS), timeout=60, what="all cards")
        yield instance


def handled(world, event_id):
    """The bot's journal entry for an event (it has seen it), or None."""
    try:
        state = json.loads((world.tmp / "bot-store" / "state.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state["handled"].get(event_id)


def restart(world, **env):
    world.kill_bot()
    world.start_bot(**env)


def test_a_reaction_held_in_its_grace_period_does_not_approve_a_draft_changed_on_the_web_meanwhile(world):
    card, proposal_id = world.posted("Grace then web edit")
    restart(world, MATRIX_REACTION_GRACE_SEC="6")
    reaction = world.ann.react(world.room, card["event_id"], "👍")
    wait_for(lambda: handled(world, reaction), what="the reaction in its grace period")
    reply = world.crm.member.post(f"/api/email/proposals/{proposal_id}/decide",
                                  {"decision": "edit", "note": "Edited on the web: Kim wants $5M, not $2M."})
    assert reply.status == 200
    world.said(card["event_id"], "The draft was updated")  # shown while the 👍 (given on the old draft) waits
    world.said(card["event_id"], "The draft changed meanwhile", timeout=20)
    assert world.status(proposal_id) == "pending"
    assert not any("Kim wants $5M" in n["body"] for n in world.notes())


def test_a_yes_sent_while_a_revision_is_with_the_model_does_not_approve_the_unseen_revision(world):
    card, proposal_id = world.posted("Yes behind a revision")
    world.llm.hold.clear()  # the model is busy until released
    try:
        world.ann.send_text(world.room, "edit: mention the deadline", thread_root=card["event_id"])
        wait_for(lambda: world.llm.waiting == 1, what="the revision with the model")
        world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
        time.sleep(1)  # the yes reaches the bot (and waits in the card's lane) before the revision is shown
    finally:
        world.llm.hold.set()
    world.said(card["event_id"], "Revised draft")
    world.said(card["event_id"], "The draft changed meanwhile")
    assert world.status(proposal_id) == "pending"  # nobody has seen the revision yet when they said yes


def test_a_reaction_in_its_grace_period_survives_a_sigterm(world):
    card, proposal_id = world.posted("Stopped in grace")
    restart(world, MATRIX_REACTION_GRACE_SEC="30")
    reaction = world.ann.react(world.room, card["event_id"], "👍")
    wait_for(lambda: handled(world, reaction), what="the reaction in its grace period")
    world.bot.send_signal(signal.SIGTERM)  # systemd's stop: a clean shutdown must not skip the held reaction
    assert world.bot.wait(timeout=15) == 0
    assert world.status(proposal_id) == "pending"
    world.start_bot(MATRIX_REACTION_GRACE_SEC="1")
    wait_for(lambda: world.status(proposal_id) == "approved", timeout=30, what="the reaction replayed after restart")
    world.said(card["event_id"], "(your 👍 reaction)")


def pending_id(world, subject):
    found = world.crm.admin.get("/api/email/proposals?status=pending").json["proposals"]
    return next(p["id"] for p in found if p["email"]["subject"] == subject)


def test_a_card_the_crm_never_recorded_and_no_longer_offers_is_reported_and_a_reply_to_it_does_not_wedge_the_bot(world):
    world.kill_bot()
    world.add_mail("Orphan card", 40)
    world.sync_crm()
    world.proxy.fail = {"/posted"}  # the card reaches the room, the CRM never hears of it
    try:
        world.start_bot(CRM_GIVE_UP_SEC="1")
        card = world.card_for("Orphan card")
        wait_for(lambda: json.loads((world.tmp / "bot-store" / "state.json").read_text())["sent"],
                 what="the card journaled as sent")
        world.kill_bot()
    finally:
        world.proxy.fail = set()
    proposal_id = pending_id(world, "Orphan card")
    assert world.crm.member.post(f"/api/email/proposals/{proposal_id}/decide", {"decision": "approve"}).status == 200
    world.start_bot()  # the CRM no longer offers the card (decided on the web), but it is in the room
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved on the web")
    wait_for(lambda: not json.loads((world.tmp / "bot-store" / "state.json").read_text())["sent"],
             what="the sent card confirmed")
    # the reply settles too: the sync token moves on past it (a later message is handled and the token saved)
    before = json.loads((world.tmp / "bot-store" / "state.json").read_text())["next_batch"]
    world.eve.send_text(world.room, "lunch?")
    wait_for(lambda: json.loads((world.tmp / "bot-store" / "state.json").read_text())["next_batch"] != before,
             what="the sync token saved past the reply")


def test_a_thumbs_up_acknowledging_a_bot_notice_decides_nothing(world):
    """👍 on the card or on a message showing a draft decides; on "only the listed reviewers…" it is a nod."""
    card, proposal_id = world.posted("Acknowledged notice")
    world.eve.send_text(world.room, "yes", thread_root=card["event_id"])
    notice = world.said(card["event_id"], "only the listed reviewers can decide")
    world.ann.react(world.room, notice["event_id"], "👍")
    time.sleep(5)  # more than twice the rig's MATRIX_REACTION_GRACE_SEC
    assert world.status(proposal_id) == "pending"
    assert not any("Approved" in e["content"]["body"] for e in world.thread(card["event_id"]))
    world.ann.react(world.room, card["event_id"], "👍")
    world.said(card["event_id"], "Approved here by @ann:spark.test (your 👍 reaction)")


def through_a_hiccup(world, path_suffix, then=lambda: None):
    """Start the (stopped) bot behind a proxy to Synapse that answers `path_suffix` with 502 for 2 s after the
    bot first asks for it (`then` runs once the bot is started); a kill and restart on Synapse directly follow,
    so what the bot did not finish is replayed only if its sync token was not saved past it."""
    homeserver = HangingProxy(world.synapse.url)
    homeserver.fail = {path_suffix}
    try:
        world.start_bot(MATRIX_HOMESERVER=homeserver.url, MATRIX_REACTION_GRACE_SEC="1")
        then()
        wait_for(lambda: any(path.split("?")[0].endswith(path_suffix) for _, path in homeserver.requests),
                 what=f"the bot asking for {path_suffix}")
        time.sleep(2)
        homeserver.fail = set()
        time.sleep(3)  # the bot's retry gets through
    finally:
        world.kill_bot()
        world.start_bot()
        homeserver.stop()


def test_a_homeserver_hiccup_while_looking_up_the_revision_loses_no_reaction(world):
    """The bot looks up the event a reaction is on; a 502 from the homeserver is waited out, never taken for
    "not one of the bot's messages" (which would drop the 👍 for good)."""
    card, proposal_id = world.posted("Synapse hiccup")
    world.ann.send_text(world.room, "edit: mention the deadline", thread_root=card["event_id"])
    revision = world.said(card["event_id"], "Revised draft")
    world.kill_bot()  # a fresh process: it has to look the revision up
    through_a_hiccup(world, "/event/" + revision["event_id"],  # nio leaves the '$' unquoted
                     lambda: world.ann.react(world.room, revision["event_id"], "👍"))
    wait_for(lambda: world.status(proposal_id) == "approved", timeout=30, what="the 👍 on the revision applied")


def test_a_yes_buried_under_a_busy_room_survives_a_homeserver_hiccup_while_paging_back(world):
    """A 'limited' sync is filled in from /messages; a 502 there must not skip the gap (and save the token past it)."""
    card, proposal_id = world.posted("Buried during a hiccup")
    world.kill_bot()
    for i in range(240):  # the yes in the middle of more than two syncs' timelines: a gap to page back through
        if i == 120:
            world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
        world.eve.send_text(world.room, f"chatter {i}")
    through_a_hiccup(world, "/messages")
    wait_for(lambda: world.status(proposal_id) == "approved", timeout=30, what="the buried yes")


def room_bot(world, room, name, homeserver):
    """Another bot process for `room` (its own store `<name>-store`, log `<name>-bot.log`), talking to Synapse
    through `homeserver` and to a CRM that is not there (it must never touch the real bot's cards)."""
    env = {**world.bot_env(), "MATRIX_EMAIL_REVIEW_ROOM": room, "MATRIX_STORE_PATH": str(world.tmp / f"{name}-store"),
           "CRM_BASE_URL": "http://127.0.0.1:9", "MATRIX_HOMESERVER": homeserver.url}
    log_path = world.tmp / f"{name}-bot.log"
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "matrix_intake"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT), log_path


def refuses_once(process, homeserver, log_path, timeout=60):
    """The bot stops with status 3 and says why in one log line."""
    try:
        assert process.wait(timeout=timeout) == 3
    finally:
        if process.poll() is None:
            process.kill()
        homeserver.stop()
    assert len([line for line in log_path.read_text().splitlines() if "end-to-end encrypted" in line]) == 1


def test_a_room_encrypted_while_the_bot_was_down_is_refused_even_if_the_state_lookup_fails(world):
    """The start-up check reads m.room.encryption; if the homeserver fails that read, the sync since the saved
    token still carries the state event and the bot stops with status 3."""
    room = world.ann.create_room(invite=[world.bot_id], name="Encrypted while down")
    homeserver = HangingProxy(world.synapse.url)
    process, log_path = room_bot(world, room, "offline", homeserver)
    try:
        wait_for(lambda: (world.tmp / "offline-store" / "state.json").exists() and json.loads(
            (world.tmp / "offline-store" / "state.json").read_text()).get("next_batch"), what="a saved token")
    finally:
        process.kill()
        process.wait(timeout=10)
    world.ann.set_state(room, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"})
    homeserver.fail = {"/state/m.room.encryption"}
    refuses_once(room_bot(world, room, "offline", homeserver)[0], homeserver, log_path)


def test_an_encrypted_room_is_refused_at_first_start_even_if_the_state_lookup_fails(world):
    """No saved token yet: the first sync (full state, history skipped) must be read for m.room.encryption too."""
    room = world.ann.create_room(invite=[world.bot_id], name="Encrypted, first start", encrypted=True)
    homeserver = HangingProxy(world.synapse.url)
    homeserver.fail = {"/state/m.room.encryption"}
    process, log_path = room_bot(world, room, "first", homeserver)
    refuses_once(process, homeserver, log_path, timeout=30)
