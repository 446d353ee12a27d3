"""The review room with reviewers on a real Matrix client library (issue 23): matrix-js-sdk 37.5.0, the SDK
Element Web is built on (devtools/js_reviewers.py), builds every event as Element does — a Reply names the
replied-to sender in m.mentions, a thread message's fallback points at the thread's newest event — against a
real Synapse, the real CRM (syncing from the Gmail emulator) and the model stand-in. Model drafts are on with no
draft wait (the Spark's default once LLM_BASE_URL is set, CRM_INTAKE_DRAFT_WAIT_SEC=0): the model fails every
first draft but one, whose card gets "The draft was updated" a moment after it is posted. Where a test shows that
the bot said nothing more, it waits until the bot's log says what it did with every event the test sent (one INFO
line each), never for a quiet period."""
from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from types import SimpleNamespace

import pytest

from capture_fixtures import capture_env
from conftest import start_crm, with_people
from devtools.intake_rig import INTAKE, FakeLLM, World, wait_for
from devtools.js_reviewers import ReviewerDriver, ReviewerError
from emulator_fixtures import add_message, make_message
from matrix_intake.grammar import ASK_LINE

DRAFTED = "Model drafts late"  # the model writes this card's first draft, landing after the card is posted
RACING = "Model drafts during an edit"  # …and this one's, held until a reviewer's revision is with the model
SUBJECTS = ["Chatter on the card", "Chatter in the thread", "Reply edits", "Unsure", "Unsure, no", "Race yes first",
            "Race no first", "Late no", "Web first", "Thread-unaware", "First reply", "Fallbacks", "Reply chain"]
LATER = ["Quoted link", DRAFTED, RACING]  # mailed by their tests
# RACING's model calls wait for "draft" and "revision"; DRAFTED's first draft for "late" (set once its card is posted)
GATES = {"draft": threading.Event(), "revision": threading.Event(), "late": threading.Event()}
HELD = {"draft": 0, "revision": 0}  # RACING's model calls being held


def model(data):
    """Revisions quote the request; first drafts fail (cut off), except DRAFTED's (held until its card is in the
    room) and RACING's (held at GATES)."""
    kind = "revision" if "request" in data else "draft"
    if RACING in (data.get("email", "") if kind == "revision" else data.get("subject", "")):
        HELD[kind] += 1
        try:
            GATES[kind].wait(30)
        finally:
            HELD[kind] -= 1
    if kind == "revision":
        return FakeLLM.default_answer(data)
    if data.get("subject") == DRAFTED:
        GATES["late"].wait(30)  # lands after the card is in the room
    if data.get("subject") in (DRAFTED, RACING):
        return FakeLLM.default_answer(data)
    return "Kim Lee from Alder wants", "length"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    started = time.monotonic()
    with World(tmp_path_factory.mktemp("real-client"), SUBJECTS, start_crm, with_people, capture_env, add_message,
               make_message, CRM_INTAKE_DRAFT_WAIT_SEC="0") as instance:  # stopped however the set-up ends
        instance.ben = instance.synapse.register("ben", "ben-password-1")
        instance.ann.call("POST", f"/rooms/{urllib.parse.quote(instance.room)}/invite",
                          {"user_id": instance.ben.user_id})
        instance.ben.join(instance.room)
        instance.llm.script = model
        instance.bot_defaults["MATRIX_EMAIL_REVIEWERS"] = f"{instance.ann.user_id},{instance.ben.user_id}"
        instance.start_bot()
        wait_for(lambda: len(instance.cards()) == len(SUBJECTS), timeout=60, what="all cards")
        instance.setup_sec = time.monotonic() - started
        yield instance


@pytest.fixture(scope="module")
def people(world):
    """ann and ben (reviewers) and eve (not one), each a matrix-js-sdk client in one Node process."""
    started = time.monotonic()
    with ReviewerDriver(str(world.tmp / "reviewers.log")) as driver:
        found = SimpleNamespace(**{name: driver.login(name, world.synapse.url, getattr(world, name))
                                   for name in ("ann", "ben", "eve")})
        found.driver = driver
        print(f"\nreal-client world {world.setup_sec:.1f} s, Node reviewers {time.monotonic() - started:.2f} s "
              f"(driver ready after {driver.ready.get('boot_ms')} ms)")  # README's figures (pytest -s)
        yield found
    assert driver.process.poll() is not None  # the Node process is gone, whatever the tests did


def thread_lines(world, root):
    return [e["content"]["body"] for e in world.thread(root)]


def revisions(world):
    """Model calls that revise a note (first drafts are the other kind)."""
    return [r for r in world.llm.requests if '"request"' in r["messages"][-1]["content"]]


def crm_state(world, proposal_id):
    for status in ("pending", "approved", "rejected"):
        found = world.crm.admin.get(f"/api/email/proposals?status={status}").json["proposals"]
        for proposal in found:
            if proposal["id"] == proposal_id:
                return proposal
    raise AssertionError(f"no proposal {proposal_id}")


def card_of(world, people, subject):
    """The card's event (as ann's client synced it) and the proposal id, once the CRM recorded the card."""
    card, proposal_id = world.posted(subject)
    people.ann.wait(world.room, event_id=card["event_id"])
    return card["event_id"], proposal_id


def outcomes(world, sent, timeout=30.0):
    """What the bot did with each of these events, once its log says so (README: one INFO line per message or
    reaction about a card, written after anything it said about it): {event id: outcome}."""
    ids = [event["event_id"] for event in sent]

    def logged():
        found = {}
        for line in (world.tmp / "bot.log").read_text(errors="replace").splitlines():
            parts = re.search(r"INFO matrix_intake\.replies event (\S+) on .*? from \S+: ([a-z ]+)", line)
            if parts and parts[1] in ids:
                found[parts[1]] = parts[2].strip()
        return found if len(found) == len(ids) else None
    return wait_for(logged, timeout=timeout, what=f"the bot's log line for each of {ids}")


def said_about(world, root, since, sent):
    """Everything the bot said in the thread (after its first `since` lines) once it has handled all of `sent`."""
    outcomes(world, sent)
    return thread_lines(world, root)[since:]


def test_reply_button_chatter_on_the_card_never_edits_or_reaches_the_model(world, people):
    card, proposal_id = card_of(world, people, "Chatter on the card")
    before, asked = crm_state(world, proposal_id), len(revisions(world))
    sent = [people.ann.reply(world.room, card, words) for words in ("thanks!", "who is this?", "cool 👀", "haha",
                                                                    "sorry, typo")]
    assert all(world.bot_id in e["content"]["m.mentions"]["user_ids"] for e in sent)  # Element names the bot
    assert set(outcomes(world, sent).values()) == {"conversation"}
    said = said_about(world, card, 0, [people.ann.reply(world.room, card, "yes")])
    assert said == ["✅ Approved here by @ann:spark.test."]
    after = crm_state(world, proposal_id)
    assert len(revisions(world)) == asked and after["status"] == "approved"
    assert (after["version"], after["draft"], after["drafted_by"]) == (before["version"], before["draft"], "crm")


def test_reply_button_chatter_in_the_thread_never_edits_or_reaches_the_model(world, people):
    card, proposal_id = card_of(world, people, "Chatter in the thread")
    people.ann.thread(world.room, card, "maybe")
    asking = people.ann.wait(world.room, thread=card, sender=world.bot_id, body=ASK_LINE)
    before, asked = crm_state(world, proposal_id), len(revisions(world))
    sent = [people.ann.reply(world.room, asking["event_id"], words) for words in ("who is this?", "thanks!", "lol")]
    assert all(e["content"]["m.relates_to"]["is_falling_back"] is False for e in sent)  # in-thread Replies
    sent.append(people.ben.thread(world.room, card, "thanks, noted"))  # a plain thread message: fallback to the newest
    sent.append(people.ann.thread(world.room, card, "no"))
    assert said_about(world, card, 1, sent) == ["❌ Rejected here by @ann:spark.test."]
    assert len(revisions(world)) == asked and crm_state(world, proposal_id)["version"] == before["version"]


def test_reply_button_edit_instructions_revise_the_note(world, people):
    card, proposal_id = card_of(world, people, "Reply edits")
    people.ann.reply(world.room, card, "make it shorter")  # Reply on the card, in the main timeline
    first = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="Revised draft:")
    assert "(make it shorter)" in first["content"]["body"]
    people.ben.reply(world.room, first["event_id"], "mention the Friday deadline")  # Reply on the revision
    second = people.ben.wait(world.room, thread=card, sender=world.bot_id,
                             body_contains="(mention the Friday deadline)")
    assert second["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] != first["event_id"]
    people.ann.reply(world.room, second["event_id"], "lgtm")
    people.ann.wait(world.room, thread=card, sender=world.bot_id, body="✅ Approved here by @ann:spark.test.")
    state = crm_state(world, proposal_id)
    assert state["status"] == "approved" and state["draft"] == "Kim asked for the model (mention the Friday deadline)."


def test_a_reply_to_a_teammates_reply_on_the_card_belongs_to_the_card(world, people):
    """Ben presses Reply on ann's Reply to the card (a chain, no thread): it names ann, so a request in it may be
    meant for her: asked back in the card's thread, and ben's yes revises."""
    card, proposal_id = card_of(world, people, "Reply chain")
    anns = people.ann.reply(world.room, card, "who is this?")
    people.ben.wait(world.room, event_id=anns["event_id"])
    chained = people.ben.reply(world.room, anns["event_id"], "can you also mention the wire date?")
    assert chained["content"]["m.mentions"]["user_ids"] == [world.ann.user_id]
    assert chained["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": anns["event_id"]}}
    question = people.ben.wait(world.room, thread=card, sender=world.bot_id, body_contains="Should I change the note")
    assert "“can you also mention the wire date?”" in question["content"]["body"]
    people.ben.reply(world.room, question["event_id"], "yes")
    revised = people.ben.wait(world.room, thread=card, sender=world.bot_id, body_contains="Revised draft:")
    assert "(can you also mention the wire date?)" in revised["content"]["body"]
    assert crm_state(world, proposal_id)["drafted_by"] == "edited"


def test_a_message_that_may_be_an_instruction_is_asked_back_and_yes_revises(world, people):
    card, proposal_id = card_of(world, people, "Unsure")
    asked = len(revisions(world))
    people.ann.reply(world.room, card, "the round is $5M")
    question = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="Should I change the note")
    assert question["content"]["body"] == ("Should I change the note to say “the round is $5M”? Reply yes to revise "
                                           "it; anything else leaves the note as it is.")
    assert len(revisions(world)) == asked  # asking is not revising
    people.ann.thread(world.room, card, "yes")
    revised = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="Revised draft:")
    assert "(the round is $5M)" in revised["content"]["body"] and crm_state(world, proposal_id)["status"] == "pending"
    people.ann.thread(world.room, card, "yes")
    people.ann.wait(world.room, thread=card, sender=world.bot_id, body="✅ Approved here by @ann:spark.test.")
    assert crm_state(world, proposal_id)["draft"] == "Kim asked for the model (the round is $5M)."


def test_no_to_the_question_leaves_the_note(world, people):
    card, proposal_id = card_of(world, people, "Unsure, no")
    before, asked = crm_state(world, proposal_id), len(revisions(world))
    people.ben.reply(world.room, card, "what about the Friday deadline?")
    question = people.ben.wait(world.room, thread=card, sender=world.bot_id, body_contains="Should I change the note")
    people.ben.reply(world.room, question["event_id"], "no")
    people.ben.wait(world.room, thread=card, sender=world.bot_id, body="OK, the note stays as it is.")
    state = crm_state(world, proposal_id)
    assert len(revisions(world)) == asked and (state["status"], state["version"]) == ("pending", before["version"])


@pytest.mark.parametrize("order", [("ann", "yes", "ben", "no"), ("ben", "no", "ann", "yes")],
                         ids=["yes first", "no first"])
def test_a_two_reviewer_race_keeps_one_decision_and_the_loser_hears_who_won(world, people, order):
    """Two reviewers answer the card at the same moment (the second is sent as soon as the first is in, no remote
    echo awaited): the CRM keeps the first, and the second gets one line saying who decided, and when."""
    winner, won, loser, lost = order
    card, proposal_id = card_of(world, people, f"Race {won} first")
    sent = [people.driver.result(getattr(people, who).submit("thread", room=world.room, root=card, body=words,
                                                             echo=False)) for who, words in ((winner, won), (loser, lost))]
    said = said_about(world, card, 0, sent)
    status = {"yes": "approved", "no": "rejected"}[won]
    assert crm_state(world, proposal_id)["status"] == status and len(said) == 2
    assert said[0] == f"{'✅' if won == 'yes' else '❌'} {status.capitalize()} here by @{winner}:spark.test."
    assert re.fullmatch(rf"Already {status} here by @{winner}:spark\.test (just now|\d s ago); your “{lost}” "
                        r"changed nothing\.", said[1]), said[1]


def test_a_decision_after_the_card_was_decided_gets_one_line(world, people):
    card, proposal_id = card_of(world, people, "Late no")
    people.ann.thread(world.room, card, "yes")
    people.ben.wait(world.room, thread=card, sender=world.bot_id, body="✅ Approved here by @ann:spark.test.")
    wait_for(lambda: any(e["type"] == "m.reaction" and e["sender"] == world.bot_id
                         and e["content"]["m.relates_to"]["event_id"] == card for e in world.events()),
             what="the card closed (✅)")
    time.sleep(2)
    people.ben.reply(world.room, card, "no")  # Reply on the closed card, main timeline
    late = people.ben.wait(world.room, thread=card, sender=world.bot_id, body_contains="your “no” changed nothing")
    ago = re.fullmatch(r"Already approved here by @ann:spark\.test (\d+) s ago; your “no” changed nothing\.",
                       late["content"]["body"])
    assert ago and int(ago[1]) >= 2, late["content"]["body"]  # at least the 2 s waited (on the CRM's clock)
    people.ben.react(world.room, card, "👎️")
    people.ben.wait(world.room, thread=card, sender=world.bot_id, body_contains="your 👎️ reaction changed nothing")
    assert crm_state(world, proposal_id)["status"] == "approved"
    assert sum("changed nothing" in line for line in thread_lines(world, card)) == 2


def test_a_decision_after_a_web_decision_says_who_decided_on_the_web(world, people):
    card, proposal_id = card_of(world, people, "Web first")
    assert world.crm.member.post(f"/api/email/proposals/{proposal_id}/decide", {"decision": "reject"}).status == 200
    people.ann.thread(world.room, card, "approve")  # typed before the bot announced the web's decision, or after
    line = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="changed nothing")
    assert re.fullmatch(r"Already rejected on the web by Member (just now|\d+ s ago); your “approve” changed "
                        r"nothing\.", line["content"]["body"]), line["content"]["body"]


def test_a_thread_unaware_reply_to_a_message_in_the_thread_belongs_to_the_thread(world, people):
    card, proposal_id = card_of(world, people, "Thread-unaware")
    comment = people.ben.thread(world.room, card, "Kim confirmed the $2M on the phone")
    people.ann.wait(world.room, event_id=comment["event_id"])
    sent = people.ann.reply(world.room, comment["event_id"], "yes", unthreaded=True)
    assert "rel_type" not in sent["content"]["m.relates_to"]  # a plain rich reply to ben's thread message
    answer = people.ann.wait(world.room, thread=card, sender=world.bot_id, body="✅ Approved here by @ann:spark.test.")
    assert answer["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == sent["event_id"]
    assert crm_state(world, proposal_id)["status"] == "approved"


def test_the_first_thread_message_may_carry_no_fallback_at_all(world, people):
    card, proposal_id = card_of(world, people, "First reply")
    sent = people.ben.sdk_send(world.room, {"msgtype": "m.text", "body": "lgtm"}, thread=card)
    assert "m.in_reply_to" not in sent["content"]["m.relates_to"]  # the SDK knows no Thread for this root yet
    people.ben.wait(world.room, thread=card, sender=world.bot_id, body="✅ Approved here by @ben:spark.test.")
    assert crm_state(world, proposal_id)["status"] == "approved"


def test_a_fallback_to_the_bots_line_is_not_a_reply_to_it_but_a_real_reply_is(world, people):
    card, proposal_id = card_of(world, people, "Fallbacks")
    people.ann.thread(world.room, card, "hmm")
    asking = people.ann.wait(world.room, thread=card, sender=world.bot_id, body=ASK_LINE)
    fallback = people.ann.thread(world.room, card, "Kim's fund is $5M")  # the fallback points at the bot's line
    relates = fallback["content"]["m.relates_to"]
    assert relates["is_falling_back"] is True and relates["m.in_reply_to"]["event_id"] == asking["event_id"]
    real = people.ann.reply(world.room, asking["event_id"], "Kim's fund is $5M")  # a real reply to it
    question = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="Should I change the note")
    assert question["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == real["event_id"]
    assert thread_lines(world, card) == [ASK_LINE, question["content"]["body"]]  # the fallback one was conversation
    assert crm_state(world, proposal_id)["status"] == "pending"


def test_a_link_to_someone_in_the_quoted_fallback_names_nobody(world, people):
    world.add_mail("Quoted link", 60, body="See https://matrix.to/#/@ben:spark.test for the intro.\n")
    world.sync_crm()
    card, proposal_id = card_of(world, people, "Quoted link")
    sent = people.ann.reply(world.room, card, "please add that Ben made the intro", legacy_fallback=True)
    assert "<mx-reply>" in sent["content"]["formatted_body"] and "matrix.to/#/@ben:spark.test" in \
        sent["content"]["formatted_body"], sent["content"]["formatted_body"]
    revised = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="Revised draft:")
    assert "(please add that Ben made the intro)" in revised["content"]["body"]  # the fallback was not typed text


def test_an_edit_typed_just_after_the_models_draft_lands_is_revised(world, people):
    GATES["late"].clear()
    try:
        world.add_mail(DRAFTED, 61)
        world.sync_crm()
        card, proposal_id = card_of(world, people, DRAFTED)  # posted with the CRM's draft: the model's is held
        GATES["late"].set()
        update = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="The draft was updated",
                                 timeout=20)
    finally:
        GATES["late"].set()
    people.ann.thread(world.room, card, "please mention the wire date")  # at once, in the thread
    revised = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="Revised draft:")
    assert "(please mention the wire date)" in revised["content"]["body"]
    state = crm_state(world, proposal_id)
    assert state["drafted_by"] == "edited" and state["draft"] == "Kim asked for the model (please mention the wire date)."
    assert update["content"]["body"].startswith("The draft was updated (version 2): “Model draft:")


def test_an_edit_typed_while_the_models_first_draft_is_on_its_way_is_applied_to_that_draft(world, people):
    """The reviewer asks for a change to the CRM's draft; the model's first draft lands while the revision is being
    written: the change is applied to the model's draft (not "the draft changed meanwhile")."""
    for gate in GATES.values():
        gate.clear()
    try:
        world.add_mail(RACING, 62)
        world.sync_crm()
        card, proposal_id = card_of(world, people, RACING)
        wait_for(lambda: HELD["draft"] == 1, what="the first draft with the model")
        people.ann.thread(world.room, card, "please mention the wire date")
        wait_for(lambda: HELD["revision"] == 1, what="the revision with the model")
        GATES["draft"].set()
        wait_for(lambda: crm_state(world, proposal_id)["drafted_by"] == "model:qwen-test", what="the model's draft")
        GATES["revision"].set()
        revised = people.ann.wait(world.room, thread=card, sender=world.bot_id, body_contains="Revised draft:")
    finally:
        for gate in GATES.values():
            gate.set()
    assert revised["content"]["body"].startswith("The model's first draft arrived meanwhile; I applied your change")
    last = json.loads(revisions(world)[-1]["messages"][-1]["content"].splitlines()[1])
    assert last["note"].startswith("Model draft:") and last["request"] == "please mention the wire date"
    state = crm_state(world, proposal_id)
    assert state["drafted_by"] == "edited" and state["draft"] == "Kim asked for the model (please mention the wire date)."


def test_a_command_given_up_on_never_sends_anything_later(world, people):
    """A command that timed out (here, or in Node) is cancelled: it sends nothing afterwards, into a later test."""
    here = people.eve.submit("send", room=world.room, body="typed too slowly (given up here)", hold=1, timeout=20)
    with pytest.raises(ReviewerError, match="no answer"):
        people.driver.result(here, timeout=0.3)
    there = people.eve.submit("send", room=world.room, body="typed too slowly (timed out in Node)", hold=1.5,
                              timeout=0.2)  # Node's own limit for it: 1.2 s
    with pytest.raises(ReviewerError, match="timeout"):
        people.driver.result(there)
    wait_for(lambda: people.driver.call("ping")["running"] == 0, what="both commands' work over")
    assert people.eve.send(world.room, "still here")["content"]["body"] == "still here"  # the driver works on
    bodies = [e["content"].get("body") for e in world.events() if e["sender"] == world.eve.user_id]
    assert "still here" in bodies and not any("too slowly" in (body or "") for body in bodies)


def test_every_decision_is_logged_at_info_without_bodies_or_tokens(world, people):
    world.bot_log.flush()
    log = (world.tmp / "bot.log").read_text(errors="replace")
    session = json.loads((world.tmp / "bot-store" / "session.json").read_text())
    for secret in ("thanks!", "who is this?", "the round is $5M", "Kim asked for the model", world.bot_token,
                   session["access_token"], world.ann.access_token, "Could you send the model"):
        assert secret not in log, secret
    reviewers_events = [e for e in world.events() if e["sender"] in (world.ann.user_id, world.ben.user_id)
                        and e["type"] in ("m.room.message", "m.reaction")]
    unlogged = [e["event_id"] for e in reviewers_events if e["event_id"] not in log]
    assert unlogged == []
    assert re.search(r"INFO matrix_intake\.replies event \$\S+ on proposal \d+ from @ben:spark\.test: conflict ",
                     log)
