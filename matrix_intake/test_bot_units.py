"""Units of the bot's bookkeeping (no homeserver, no CRM): the open cards kept across a work-list answered before
a post, work-list kinds, the cards and questions the journal remembers, and the "already decided" line."""
from __future__ import annotations

import asyncio

import pytest

from matrix_intake.bot import IntakeBot, email_items
from matrix_intake.cards import ago, already_line
from matrix_intake.config import Config
from matrix_intake.journal import Journal

CARD = {"id": 5, "version": 1, "draft": "d", "web_url": "/capture#proposal-5", "kind": "email",
        "investor": {"id": 1, "name": "Kim", "firm": "Alder"},
        "email": {"from": {"email": "kim@alder.vc", "name": "Kim"}, "to": [], "cc": [], "date": "2026-11-02",
                  "subject": "S", "snippet": "s"}}


class SlowCRM:
    """Answers the work-list only when `release` is set, with what it knew when asked (`answer`)."""

    def __init__(self, answer):
        self.answer, self.release, self.asked = answer, asyncio.Event(), asyncio.Event()

    async def work_lists(self):
        self.asked.set()
        await asyncio.wait_for(self.release.wait(), timeout=5)
        return self.answer

    async def posted(self, proposal_id, room_id, event_id):
        return 200, {}


def bot_with(tmp_path, crm) -> IntakeBot:
    config = Config(homeserver="http://127.0.0.1:1", user_id="@bot:s", password="p", access_token="", device_id="",
                    store_path=str(tmp_path), review_room="!room", reviewers=frozenset({"@ann:s"}),
                    crm_base_url="http://127.0.0.1:2", crm_bot_token="t")
    bot = IntakeBot(config, crm=crm)
    bot.room_id = "!room"

    async def send(content, txn, event_type="m.room.message"):
        return "$new-card"
    bot.send = send
    return bot


def test_a_work_list_answered_before_a_card_was_posted_does_not_drop_that_card(tmp_path):
    """A reply's look-up of the open cards (refresh_open) can overlap a post: its answer predates the card, and
    taking it as the truth would make every reply to that card 'not open' (silently dropped, before issue 23)."""
    crm = SlowCRM({"to_post": [], "open": [], "to_close": [], "to_draft": []})
    bot = bot_with(tmp_path, crm)

    async def scenario():
        looking = asyncio.create_task(bot.refresh_open())
        await crm.asked.wait()
        await bot.post_card(CARD)  # posted while the look-up was on its way
        crm.release.set()
        await looking
    asyncio.run(scenario())
    assert "$new-card" in bot.open and bot.journal.card_id("$new-card") == 5


def test_a_card_decided_here_is_not_reopened_by_an_older_work_list(tmp_path):
    crm = SlowCRM({"open": [{"id": 5, "room_id": "!room", "event_id": "$card", "version": 1, "draft": "d",
                             "kind": "email"}]})
    bot = bot_with(tmp_path, crm)
    crm.release.set()
    bot.journal.remember_card("$card", 5, closed=True)  # the bot's own decision while the CRM answered
    asyncio.run(bot.refresh_open())
    assert "$card" not in bot.open and bot.journal.card_closed("$card")


def test_email_and_meeting_items_are_handled_and_unknown_kinds_left_alone():
    items = [{"id": 1, "kind": "email"}, {"id": 2}, {"id": 3, "kind": "meeting"}, {"id": 4, "kind": "task"}]
    assert [item["id"] for item in email_items(items)] == [1, 2, 3]  # no kind: a CRM older than contracts v3
    assert email_items(None) == []


def test_the_journal_remembers_cards_and_one_open_question_per_reviewer(tmp_path):
    journal = Journal(str(tmp_path))
    journal.remember_card("$c", 3)
    journal.remember_card("$c", 3, closed=True)
    journal.remember_card("$c", 3)  # an older work-list never reopens it
    assert journal.card_closed("$c") and journal.card_id("$c") == 3
    journal.record_question("$q1", "$c", "@ann:s", "the round is $5M", 1000)
    journal.record_question("$q2", "$c", "@ann:s", "one sentence", 2000)  # replaces ann's first question
    journal.record_question("$q3", "$c", "@ben:s", "shorter?", 3000)
    assert journal.question("$q1") is None and journal.open_question("$c", "@ann:s")[0] == "$q2"
    assert Journal(str(tmp_path)).question("$q3")["instruction"] == "shorter?"  # kept across a restart
    journal.forget_questions("$c")
    assert journal.open_question("$c", "@ben:s") is None


@pytest.mark.parametrize("seconds,said", [(0, "just now"), (3, "3 s ago"), (59, "59 s ago"), (61, "1 min ago"),
                                          (7200, "2 h ago"), (86400, "1 day ago"), (3 * 86400, "3 days ago"),
                                          (None, ""), (-5, "")])
def test_how_long_ago(seconds, said):
    assert ago(seconds) == said


def test_the_already_decided_line():
    here = {"status": "approved", "decided_by": "@ann:spark.test", "decided_via": "matrix"}
    assert already_line(here, 3, "“no”") == "Already approved here by @ann:spark.test 3 s ago; your “no” changed nothing."
    web = {"status": "rejected", "decided_by": "Member", "decided_via": "web"}
    assert already_line(web, None, "👍 reaction") == "Already rejected on the web by Member; your 👍 reaction changed " \
                                                     "nothing."
    for status in ("superseded", "withdrawn", None):  # nothing more is said of a card withdrawn for privacy
        assert already_line({"status": status, "decided_by": "x"}, 5, "“yes”") == \
            "This card was withdrawn from the review room; your “yes” changed nothing."


def test_an_older_work_list_does_not_roll_back_a_revision_saved_meanwhile(tmp_path):
    """A reply's look-up of the open cards (or the poll) answered with version 1 while the bot saved a revision as
    version 2: the card keeps version 2 (the next edit's expected_version, the draft the model revises), and stays
    the same dict, so a reply in hand that updates its card updates the open one."""
    item = {"id": 5, "room_id": "!room", "event_id": "$card", "version": 1, "draft": "old draft", "kind": "email"}
    crm = SlowCRM({"to_post": [], "open": [dict(item)], "to_close": [], "to_draft": []})
    bot = bot_with(tmp_path, crm)
    bot.open = {"$card": dict(item)}
    in_hand = bot.open["$card"]  # what actions.edit() holds while the CRM saves its revision

    async def scenario():
        looking = asyncio.create_task(bot.refresh_open())
        await crm.asked.wait()
        in_hand.update(version=2, draft="Ann's revision")  # the CRM's 200 to the revision, meanwhile
        crm.release.set()
        await looking
    asyncio.run(scenario())
    assert bot.open["$card"] is in_hand and (in_hand["version"], in_hand["draft"]) == (2, "Ann's revision")
    crm.answer = {"to_post": [], "open": [{**item, "version": 3, "draft": "edited on the web"}], "to_close": [],
                  "to_draft": []}
    asyncio.run(bot.refresh_open())  # a newer answer still wins
    assert bot.open["$card"] is in_hand and in_hand["draft"] == "edited on the web"
