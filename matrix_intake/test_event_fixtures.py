"""The events reviewers on a real client send (matrix_intake/fixtures/real_client_events.json: matrix-js-sdk
37.5.0 building them as Element does, as Synapse served them; devtools/capture_matrix_fixtures.py records them),
read by events.py and routed by replies.py against a stand-in for the rest of the bot (no homeserver, no CRM)."""
from __future__ import annotations

import asyncio
import json
import os
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from matrix_intake import cards, events, grammar
from matrix_intake.journal import Journal, now_ms
from matrix_intake.actions import KEPT_LINE
from matrix_intake.replies import FAILED_LINE, Replies

FIXTURE = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "real_client_events.json"),
                        encoding="utf-8"))
BOT, EVENTS = FIXTURE["bot"], FIXTURE["events"]
ANN, BEN = "@ann:spark.test", "@ben:spark.test"


def eid(name):
    return EVENTS[name]["event_id"]


def content(name):
    return EVENTS[name]["content"]


# -- the four fallback shapes of a thread message ----------------------------------------------------------------
def test_the_first_message_of_a_thread_may_carry_no_fallback_at_all():
    assert "m.in_reply_to" not in content("first_in_thread")["m.relates_to"]
    assert events.relation(content("first_in_thread")) == events.Relation("thread", eid("card"), None)


def test_a_later_thread_message_falls_back_to_the_newest_event_which_is_no_reply():
    relates = content("thread_fallback")["m.relates_to"]
    assert relates["is_falling_back"] is True and relates["m.in_reply_to"]["event_id"] == eid("bot_line")
    assert events.relation(content("thread_fallback")) == events.Relation("thread", eid("card"), None)
    assert not events.mentions(content("thread_fallback"), BOT)


def test_the_thread_composer_on_a_card_without_replies_falls_back_to_the_root_which_is_no_reply():
    relates = content("fallback_to_root")["m.relates_to"]
    assert relates["is_falling_back"] is True and relates["m.in_reply_to"]["event_id"] == eid("quiet_card")
    assert events.relation(content("fallback_to_root")) == events.Relation("thread", eid("quiet_card"), None)


def test_a_reply_inside_the_thread_is_a_real_reply_and_names_the_bot():
    assert content("reply_in_thread")["m.relates_to"]["is_falling_back"] is False
    assert events.relation(content("reply_in_thread")) == events.Relation("thread", eid("card"), eid("bot_line"))
    assert events.mentions(content("reply_in_thread"), BOT)  # Element's Reply names the replied-to sender


# -- the other shapes --------------------------------------------------------------------------------------------
def test_replies_on_a_card_name_the_bot_with_or_without_a_thread():
    assert events.relation(content("reply_on_card")) == events.Relation("reply", eid("plain_card"), eid("plain_card"))
    # once the card has a thread, Element adds is_falling_back: false with no rel_type: still a plain reply
    assert "rel_type" not in content("reply_on_thread_root")["m.relates_to"]
    assert events.relation(content("reply_on_thread_root")) == events.Relation("reply", eid("card"), eid("card"))
    assert events.mentions(content("reply_on_card"), BOT) and events.mentions(content("reply_on_thread_root"), BOT)


def test_a_thread_unaware_reply_points_at_the_thread_message_only():
    assert events.relation(content("thread_unaware_reply")) == events.Relation("reply", eid("ben_in_thread"),
                                                                               eid("ben_in_thread"))


def test_the_quoted_fallback_is_neither_typed_text_nor_a_mention():
    legacy = content("legacy_reply")
    assert "<mx-reply>" in legacy["formatted_body"] and "matrix.to/#/@ben:spark.test" in legacy["formatted_body"]
    assert events.text(legacy) == "please add that Ben made the intro"
    assert not events.others_mentioned(legacy, BOT, ANN)  # the link is in the quoted card, not in what ann typed
    assert events.named(legacy) == {BOT}
    typed_pill = {**legacy, "formatted_body": legacy["formatted_body"] + ' <a href="https://matrix.to/#/@ben:spark.test">'
                  "Ben</a>"}
    assert events.others_mentioned(typed_pill, BOT, ANN)  # a pill ann typed herself still names Ben


def test_current_element_edits_start_with_a_star_and_carry_the_new_text():
    assert content("edit_of_reply")["body"] == "* no thanks"
    assert events.text(content("edit_of_reply")) == "no thanks"


# -- routing: replies.py with a stand-in bot ---------------------------------------------------------------------
class StandIn:
    """What Replies uses of IntakeBot: one open card (the fixture's `card` and `plain_card`), the journal, and
    recorders for what it says and asks the CRM and the model."""

    def __init__(self, tmp_path):
        self.config = SimpleNamespace(user_id=BOT, reviewers=frozenset({ANN, BEN}), reaction_grace_sec=0)
        self.journal = Journal(str(tmp_path))
        self.open = {}
        for proposal_id, name in ((7, "card"), (8, "plain_card"), (9, "linked_card"), (10, "quiet_card")):
            self.open[eid(name)] = {"id": proposal_id, "version": 1, "draft": "Kim asked for the model.",
                                    "event_id": eid(name)}
            self.journal.remember_card(eid(name), proposal_id)
        self.said, self.lines, self.decisions, self.revisions = {}, [], [], []
        self.display_name, self.stopping, self.drafter = "Intake bot", asyncio.Event(), None
        self.crm_answer = None  # (status, payload) for the next decide, else 200 with the decision applied
        outer = self

        class CRM:
            async def decide(self, proposal_id, decision, actor, note=None, expected_version=None):
                outer.decisions.append((proposal_id, decision, actor, expected_version))
                if outer.crm_answer:
                    return outer.crm_answer
                status = {"approve": "approved", "reject": "rejected"}.get(decision, "pending")
                return 200, {"proposal": {"id": proposal_id, "status": status, "version": 2, "draft": note or "",
                                          "decided_by": actor, "decided_via": "matrix"}}

            async def proposal(self, proposal_id):
                return {"proposal": {"id": proposal_id, "status": "approved", "decided_by": BEN,
                                     "decided_via": "matrix"}, "decided_ago_sec": 42}

        class Reviser:
            async def revise(self, draft, instruction, context=""):
                outer.revisions.append(instruction)
                return f"Revised ({instruction})."

        self.crm, self.reviser = CRM(), Reviser()

    async def say(self, root, text, txn, reply_to=None):
        self.lines.append((root, text, reply_to))
        event_id = f"$said{len(self.lines)}"
        self.said[event_id] = root
        # as the homeserver would serve it back (the bot reads its question's origin_server_ts)
        self.replies.fetched[event_id] = {"event_id": event_id, "sender": BOT, "type": "m.room.message",
                                          "origin_server_ts": now_ms(), "content": cards.thread_content(root, text,
                                                                                                       reply_to)}
        return event_id

    @asynccontextmanager
    async def revising(self):
        yield

    async def refresh_open(self):
        pass

    def shown_version(self, card, when_ms=None):
        return card["version"]

    def adopt(self, card, current, since_ms=None):
        card.update(version=current["version"], draft=current["draft"])


@pytest.fixture
def bot(tmp_path):
    stand_in = StandIn(tmp_path)
    stand_in.replies = Replies(stand_in)
    stand_in.replies.fetched.update({e["event_id"]: e for e in EVENTS.values()})  # no homeserver needed
    return stand_in


def handle(bot, name, **changes):
    event = {**EVENTS[name], **changes}
    asyncio.run(bot.replies.handle(event))
    return bot.lines[-1][1] if bot.lines else None


@pytest.mark.parametrize("name", ["reply_on_card", "reply_in_thread", "reply_on_thread_root"])
def test_reply_button_chatter_does_nothing_and_asks_nobody(bot, name):
    assert grammar.read(events.text(content(name)), addressed=True).kind == "conversation"
    assert handle(bot, name) is None
    assert bot.decisions == [] and bot.revisions == []


def test_the_first_thread_message_is_read_as_in_the_thread(bot):
    assert handle(bot, "first_in_thread") == grammar.ASK_LINE  # "hmm"


def test_a_first_thread_message_falling_back_to_the_root_decides(bot):
    assert handle(bot, "fallback_to_root") == "✅ Approved here by @ben:spark.test."  # "lgtm"
    assert bot.decisions == [(10, "approve", BEN, 1)]


def test_a_no_whose_fallback_points_at_the_bot_rejects(bot):
    assert handle(bot, "thread_fallback") == "❌ Rejected here by @ann:spark.test."
    assert bot.decisions == [(7, "reject", ANN, 1)]


def test_a_thread_unaware_yes_to_bens_thread_message_approves_the_card(bot):
    assert handle(bot, "thread_unaware_reply") == "✅ Approved here by @ann:spark.test."
    assert bot.decisions == [(7, "approve", ANN, 1)]
    assert bot.lines[-1][0] == eid("card") and bot.lines[-1][2] == eid("thread_unaware_reply")


def test_a_reply_to_someone_elses_message_outside_any_thread_is_about_no_card(bot):
    plain = {**EVENTS["ben_in_thread"], "event_id": "$plain", "content": {"msgtype": "m.text", "body": "lunch?"}}
    bot.replies.fetched["$plain"] = plain
    reply = {**EVENTS["thread_unaware_reply"], "event_id": "$r",
             "content": {**content("thread_unaware_reply"), "m.relates_to": {"m.in_reply_to": {"event_id": "$plain"}}}}
    asyncio.run(bot.replies.handle(reply))
    assert bot.lines == [] and bot.decisions == []


def test_an_edit_request_quoting_a_link_to_ben_is_an_edit_not_a_question(bot):
    assert handle(bot, "legacy_reply").startswith("Revised draft: “Revised (please add that Ben made the intro).”")


def test_an_edited_reply_is_read_again(bot):
    handle(bot, "reply_on_card")  # "who is this?": conversation
    assert handle(bot, "edit_of_reply") == "Your edited message: ❌ Rejected here by @ann:spark.test."
    assert bot.decisions == [(8, "reject", ANN, 1)]


def test_a_decision_on_a_card_already_decided_says_who_when_and_that_it_changed_nothing(bot):
    bot.open.pop(eid("card"))
    bot.journal.remember_card(eid("card"), 7, closed=True)
    assert handle(bot, "thread_fallback") == ("Already approved here by @ben:spark.test 42 s ago; your “no” changed "
                                              "nothing.")
    assert bot.decisions == []  # asked the CRM what happened; decided nothing


def test_a_lost_race_is_answered_from_the_crms_409(bot):
    bot.crm_answer = (409, {"proposal": {"id": 7, "status": "rejected", "decided_by": "Member", "decided_via": "web",
                                         "version": 1}, "decided_ago_sec": 3})
    assert handle(bot, "thread_unaware_reply") == "Already rejected on the web by Member 3 s ago; your “yes” changed " \
                                                  "nothing."
    assert eid("card") not in bot.open  # further replies are late ones


def test_a_question_answered_yes_revises_and_no_keeps(bot):
    unsure = {**EVENTS["reply_on_card"], "event_id": "$unsure", "origin_server_ts": 1000,
              "content": {**content("reply_on_card"), "body": "the round is $5M"}}
    asyncio.run(bot.replies.handle(unsure))
    assert bot.lines[-1][1] == grammar.question("the round is $5M") and bot.revisions == []
    question_id = f"$said{len(bot.lines)}"
    yes = {**EVENTS["thread_fallback"], "event_id": "$yes", "sender": ANN, "origin_server_ts": 10 ** 13,
           "content": {**content("thread_fallback"), "body": "yes", "m.relates_to": {
               "rel_type": "m.thread", "event_id": eid("plain_card"), "is_falling_back": True,
               "m.in_reply_to": {"event_id": question_id}}}}
    asyncio.run(bot.replies.handle(yes))
    assert bot.revisions == ["the round is $5M"] and bot.lines[-1][1].startswith("Revised draft:")
    assert bot.decisions == [(8, "edit", ANN, 1)]
    asyncio.run(bot.replies.handle({**unsure, "event_id": "$unsure2"}))
    asyncio.run(bot.replies.handle({**yes, "event_id": "$no", "content": {**yes["content"], "body": "no"}}))
    assert bot.lines[-1][1] == KEPT_LINE and len(bot.revisions) == 1


def test_a_yes_sent_before_the_question_was_asked_approves_instead(bot):
    unsure = {**EVENTS["reply_on_card"], "event_id": "$unsure", "content": {**content("reply_on_card"),
                                                                            "body": "the round is $5M"}}
    asyncio.run(bot.replies.handle(unsure))
    early = {**EVENTS["thread_fallback"], "event_id": "$early", "origin_server_ts": 1000,
             "content": {**content("thread_fallback"), "body": "yes", "m.relates_to": {
                 "rel_type": "m.thread", "event_id": eid("plain_card"), "is_falling_back": True,
                 "m.in_reply_to": {"event_id": eid("plain_card")}}}}
    asyncio.run(bot.replies.handle(early))
    assert bot.revisions == [] and bot.decisions == [(8, "approve", ANN, 1)]


def test_a_reaction_on_the_card_decides_and_one_on_a_closed_card_is_answered(bot):
    assert handle(bot, "reaction") == "✅ Approved here by @ann:spark.test (your 👍️ reaction)."
    assert handle(bot, "reaction", event_id="$again") == ("Already approved here by @ben:spark.test 42 s ago; your "
                                                          "👍️ reaction changed nothing.")


def test_a_failure_while_handling_a_message_is_answered_in_the_thread(bot):
    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    bot.reviser.revise = broken
    asyncio.run(bot.replies.handle_safely(EVENTS["legacy_reply"]))
    assert bot.lines[-1][1] == FAILED_LINE and bot.lines[-1][2] == eid("legacy_reply")
    assert bot.journal.entry(eid("legacy_reply"))["outcome"] == "failed"
