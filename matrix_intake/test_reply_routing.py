"""What reviewers type in a card's conversation, routed through replies.py against the stand-in bot of
test_event_fixtures.py (the recorded matrix-js-sdk event shapes, no homeserver, no CRM): chatter and questions never
reach the model, every instruction or decision gets an effect or an answer, the bot's question binds only the
answer it asked for and lapses, Reply chains, the reviewer check before reading, and what the log says."""
from __future__ import annotations

import asyncio
import logging

import pytest

from matrix_intake import grammar, replies
from matrix_intake.journal import QUESTION_CHARS, now_ms
from matrix_intake.test_event_fixtures import ANN, BEN, EVENTS, bot, content, eid  # noqa: F401 (bot: a fixture)

LATER = 10 ** 13  # an origin_server_ts after anything the stand-in says (its lines carry the time they are said)


def in_thread(body, event_id, sender=ANN, ts=LATER, reply_to=None, root="card"):
    """A plain thread message (its fallback points at the root), or an in-thread Reply to `reply_to`."""
    relates = {"rel_type": "m.thread", "event_id": eid(root), "is_falling_back": reply_to is None,
               "m.in_reply_to": {"event_id": reply_to or eid(root)}}
    return {**EVENTS["thread_fallback"], "event_id": event_id, "sender": sender, "origin_server_ts": ts,
            "content": {"msgtype": "m.text", "body": body, "m.mentions": {}, "m.relates_to": relates}}


def reply_on_card(body, event_id, ts=None):
    """ann presses Reply on the plain card (Element names the bot in m.mentions) and types `body`."""
    event = {**EVENTS["reply_on_card"], "event_id": event_id, "content": {**content("reply_on_card"), "body": body}}
    return {**event, "origin_server_ts": ts} if ts else event


def run(bot, event):
    asyncio.run(bot.replies.handle(event))


def ask_ann(bot, words="the round is $5M"):
    """ann's unclear Reply on the plain card: the bot asks her back; the question's event id."""
    run(bot, reply_on_card(words, "$unsure", ts=1000))
    assert bot.lines[-1][1] == grammar.question(words)
    return f"$said{len(bot.lines)}"


@pytest.mark.parametrize("body", ["sorry, typo", "that should be fine", "is it too long?", "correct",
                                  "I'll approve it on the web instead of here", "what's the typo?",
                                  "change of plans, I'll do it later", "say yes", "remove me from this room",
                                  "delete it", "delete this card", "works for me", "fine", "absolutely", "oui"])
def test_chatter_a_question_or_a_lean_in_the_thread_never_reaches_the_model(bot, body):
    run(bot, in_thread(body, "$probe"))
    assert bot.revisions == [], f"{body!r} reached the model; the CRM got {bot.decisions}"
    assert all(decision[1] != "edit" for decision in bot.decisions)


@pytest.mark.parametrize("body,answer", [("also mention the wire date", "Revised draft:"),
                                         ("don't mention the amount", "Revised draft:"),
                                         ("it should mention the wire date", "Revised draft:"),
                                         ("it's $5M, not $3M", "Should I change the note to say “it's $5M, not $3M”"),
                                         ("the amount is wrong", grammar.ASK_LINE),
                                         ("please don't approve", grammar.ASK_LINE),
                                         ("I approve", "✅ Approved here by @ann:spark.test.")])
def test_an_instruction_or_decision_in_the_thread_gets_an_effect_or_an_answer(bot, body, answer):
    """Plain thread messages, addressed to nobody: before issue 23's review these were silently conversation."""
    run(bot, in_thread(body, "$probe"))
    assert bot.lines and bot.lines[-1][1].startswith(answer), (body, bot.lines)


@pytest.mark.parametrize("body", ["can you also mention the wire date?", "could you please shorten it?",
                                  "can we add the wire date?", "would you mind adding the wire date?"])
def test_a_polite_request_replied_to_the_card_revises_the_note(bot, body):
    run(bot, reply_on_card(body, "$polite"))
    assert bot.revisions == [body] and bot.lines[-1][1].startswith("Revised draft:")


def test_a_lean_replied_to_the_bot_is_asked_never_revised(bot):
    run(bot, reply_on_card("works for me", "$works", ts=1000))
    assert bot.lines[-1][1] == grammar.ASK_LINE
    run(bot, in_thread("yes", "$yes", root="plain_card"))  # the answer to "Approve, reject, or edit?"
    assert bot.revisions == [] and bot.decisions == [(8, "approve", ANN, 1)]


def test_a_yes_replied_to_a_teammates_question_asks_instead_of_approving(bot):
    ben = in_thread("should we mention the wire date?", "$ben-q", sender=BEN)
    bot.replies.fetched["$ben-q"] = ben
    run(bot, ben)
    assert bot.lines == []  # ben asked ann, not the bot
    yes = in_thread("yes", "$ann-yes", reply_to="$ben-q")
    yes["content"]["m.mentions"] = {"user_ids": [BEN]}  # Element's Reply names ben
    run(bot, yes)
    assert bot.decisions == [] and bot.lines[-1][1] == grammar.ASK_LINE


def test_a_yes_from_another_reviewer_while_the_bots_question_is_open_is_asked(bot):
    question = ask_ann(bot)
    yes = in_thread("yes", "$ben-yes", sender=BEN, root="plain_card")
    yes["content"]["m.relates_to"]["m.in_reply_to"] = {"event_id": question}  # the fallback: the newest event
    run(bot, yes)
    assert bot.decisions == [] and bot.lines[-1][1] == grammar.ASK_LINE  # approve the old draft, or revise?
    run(bot, in_thread("yes", "$ben-reply", sender=BEN, reply_to=question, root="plain_card"))  # a real Reply to it
    assert bot.revisions == ["the round is $5M"]  # anyone's Reply to the question answers it


def test_a_newer_draft_closes_the_question(bot):
    ask_ann(bot)
    run(bot, in_thread("make it shorter", "$ben", sender=BEN, root="plain_card"))
    assert bot.lines[-1][1].startswith("Revised draft:")
    run(bot, in_thread("yes", "$ann-yes", root="plain_card"))  # ann approves the revision she was just shown
    assert bot.decisions[-1][1] == "approve" and bot.revisions == ["make it shorter"]


@pytest.mark.parametrize("chatter", ["thanks", "👀", "who is Kim?"])
def test_anything_else_from_the_reviewer_asked_lets_the_question_lapse(bot, chatter):
    ask_ann(bot)
    run(bot, in_thread(chatter, "$moving-on", root="plain_card"))
    run(bot, in_thread("yes", "$yes", root="plain_card"))
    assert bot.decisions[-1][1] == "approve" and bot.revisions == []


def test_a_message_typed_before_the_question_appeared_does_not_let_it_lapse(bot):
    ask_ann(bot)
    run(bot, in_thread("thanks", "$early-thanks", ts=1500, root="plain_card"))  # sent before the question
    run(bot, in_thread("yes", "$yes", root="plain_card"))
    assert bot.revisions == ["the round is $5M"]


def test_the_question_is_timed_on_the_homeservers_clock(bot):
    """The question's own origin_server_ts, not the bot's clock, separates a yes typed before it (an approval)
    from one typed after (its answer): here the homeserver runs a minute ahead of the bot."""
    ahead = now_ms() + 60_000
    said = bot.say

    async def say_ahead(root, text, txn, reply_to=None):
        event_id = await said(root, text, txn, reply_to)
        bot.replies.fetched[event_id]["origin_server_ts"] = ahead
        return event_id
    bot.say = say_ahead
    question = ask_ann(bot)
    assert bot.journal.question(question)["since"] == ahead
    run(bot, in_thread("yes", "$yes", ts=ahead - 30_000, root="plain_card"))  # after the bot's clock, before the question
    assert bot.revisions == [] and bot.decisions == [(8, "approve", ANN, 1)]


def test_the_journal_keeps_a_question_short_and_a_longer_message_is_not_asked_back(bot):
    bot.journal.record_question("$q", eid("card"), ANN, "x" * 5000, 1)
    assert len(bot.journal.question("$q")["instruction"]) == QUESTION_CHARS
    run(bot, reply_on_card("the round is " + "$5M " * 300, "$long"))  # 1,213 characters: unsure, too long to quote
    assert bot.lines[-1][1] == grammar.ASK_LINE and bot.journal.open_question(eid("plain_card"), ANN) is None


def test_a_reply_to_a_reply_to_a_thread_message_belongs_to_the_thread(bot):
    chained = {**EVENTS["thread_unaware_reply"], "event_id": "$chain", "sender": BEN, "origin_server_ts": LATER,
               "content": {"msgtype": "m.text", "body": "make it shorter", "m.mentions": {"user_ids": [ANN]},
                           "m.relates_to": {"m.in_reply_to": {"event_id": eid("thread_unaware_reply")}}}}
    run(bot, chained)  # ben's Reply on ann's plain reply to ben's thread message
    assert bot.lines and bot.lines[-1][0] == eid("card")
    assert bot.lines[-1][1] == grammar.question("make it shorter")  # it names ann: maybe meant for her, asked back


def test_a_reply_chain_is_followed_a_bounded_number_of_steps(bot):
    previous = eid("reply_on_card")  # ann's Reply on the plain card
    for step in range(replies.MAX_REPLY_CHAIN + 1):
        event = {**EVENTS["reply_on_card"], "event_id": f"$step{step}", "origin_server_ts": LATER,
                 "content": {"msgtype": "m.text", "body": "no", "m.relates_to": {"m.in_reply_to": {"event_id": previous}}}}
        bot.replies.fetched[event["event_id"]] = event
        previous = event["event_id"]
    assert asyncio.run(bot.replies.card_root("$step3")) == eid("plain_card")
    assert asyncio.run(bot.replies.card_root(previous)) is None  # further back than MAX_REPLY_CHAIN: about no card


def test_a_non_reviewers_words_are_never_read(bot, monkeypatch):
    def unread(*args, **kwargs):
        raise AssertionError("a non-reviewer's message was read")
    monkeypatch.setattr(grammar, "read", unread)
    for event_id, body in (("$eve1", "x" * 50_000), ("$eve2", "thanks")):
        run(bot, in_thread(body, event_id, sender="@eve:spark.test"))
    assert [line[1] for line in bot.lines] == ["Sorry @eve:spark.test, only the listed reviewers can decide on "
                                               "proposed notes."]  # once per thread
    assert bot.decisions == [] and bot.revisions == []


def test_a_reaction_that_decides_nothing_and_a_card_the_journal_lost_are_logged_at_info(bot, caplog):
    caplog.set_level(logging.INFO, logger="matrix_intake.replies")
    heart = {**EVENTS["reaction"], "event_id": "$heart",
             "content": {"m.relates_to": {**content("reaction")["m.relates_to"], "key": "❤️"}}}
    run(bot, heart)
    lost = {**EVENTS["card"], "event_id": "$lost-card"}  # one of the bot's cards, older than the journal remembers
    bot.replies.fetched["$lost-card"] = lost
    run(bot, in_thread("thanks", "$to-lost", reply_to=None) | {"content": {
        "msgtype": "m.text", "body": "thanks", "m.relates_to": {"rel_type": "m.thread", "event_id": "$lost-card"}}})
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert "event $heart on proposal 7 from @ann:spark.test: ignored (a reaction that decides nothing)" in said
    assert "event $to-lost on card $lost-card (proposal unknown) from @ann:spark.test: conversation" in said
    assert not any("thanks" in line.split(": ", 1)[-1] for line in said if "$to-lost" in line)  # never the words
