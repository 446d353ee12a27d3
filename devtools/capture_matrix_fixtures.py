"""Record the events reviewers on a real Matrix client send, as Synapse serves them, into the bot's event fixtures
(matrix_intake/fixtures/real_client_events.json; development only).

    .venv/bin/python devtools/capture_matrix_fixtures.py [OUT.json]

A real Synapse (devtools/synapse_harness.py), two reviewers on matrix-js-sdk 37.5.0 (devtools/js_reviewers.py,
Element's composers) and a stand-in for the bot's account that sends cards and thread lines exactly as the bot
does (matrix_intake/cards.py). Ids are those of the run; `unsigned` (ages, bundled relations) is left out. Every
shape is checked before it is written (`check`): a capture that records something else fails instead.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from devtools.js_reviewers import ReviewerDriver  # noqa: E402
from devtools.synapse_harness import start_synapse  # noqa: E402
from matrix_intake import cards, grammar  # noqa: E402

OUT = os.path.join(ROOT, "matrix_intake", "fixtures", "real_client_events.json")
CARD = {"id": 7, "version": 1, "draft": "Kim Lee (Alder) asked for the model.", "web_url": "/capture#proposal-7",
        "drafted_by": "crm", "investor": {"id": 1, "name": "Kim Lee", "firm": "Alder"},
        "email": {"from": {"email": "kim@alder.vc", "name": "Kim Lee"}, "to": [{"email": "ann@firm.test", "name": ""}],
                  "cc": [], "date": "2026-11-02T10:00:00Z", "subject": "The model", "snippet": "Could you send it?"}}


def capture(out_path: str) -> dict:
    work = tempfile.mkdtemp(prefix="capture-matrix-")
    synapse = start_synapse(os.path.join(work, "synapse"))
    try:
        bot = synapse.register("intakebot", "bot-pw")
        ann, ben = synapse.register("ann", "ann-pw"), synapse.register("ben", "ben-pw")
        room = ann.create_room(invite=[bot.user_id, ben.user_id])
        bot.join(room)
        ben.join(room)
        linked = {**CARD, "email": {**CARD["email"], "snippet": "Ben (https://matrix.to/#/@ben:spark.test) can help."}}
        with ReviewerDriver(os.path.join(work, "reviewers.log")) as driver:
            a, b = driver.login("ann", synapse.url, ann), driver.login("ben", synapse.url, ben)
            ids = {name: bot.send(room, "m.room.message", cards.card_content(card, "https://crm.firm.test"))
                   for name, card in (("card", CARD), ("plain_card", CARD), ("linked_card", linked),
                                      ("quiet_card", CARD))}
            a.wait(room, event_id=ids["quiet_card"])
            b.wait(room, event_id=ids["quiet_card"])
            # 1. the first message in a thread the client knows no Thread for: no m.in_reply_to at all
            ids["first_in_thread"] = b.sdk_send(room, {"msgtype": "m.text", "body": "hmm"}, thread=ids["card"])["event_id"]
            ids["bot_line"] = bot.send(room, "m.room.message", cards.thread_content(ids["card"], grammar.ASK_LINE,
                                                                                  ids["first_in_thread"]))
            a.wait(room, event_id=ids["bot_line"])
            # 2. a later thread message: fallback to the thread's newest event (the bot's), is_falling_back true
            ids["thread_fallback"] = a.thread(room, ids["card"], "no")["event_id"]
            # 4. Element's thread composer on a card without replies: the fallback points at the root itself
            ids["fallback_to_root"] = b.thread(room, ids["quiet_card"], "lgtm")["event_id"]
            # 3. Reply pressed on the bot's line in the thread: is_falling_back false, the bot in m.mentions
            ids["reply_in_thread"] = a.reply(room, ids["bot_line"], "thanks!")["event_id"]
            # Reply pressed on a card, in the main timeline (no thread yet), and on a card that has a thread
            ids["reply_on_card"] = a.reply(room, ids["plain_card"], "who is this?")["event_id"]
            ids["reply_on_thread_root"] = a.reply(room, ids["card"], "thanks!")["event_id"]
            # a thread-unaware client's plain reply to ben's message in the thread
            b.wait(room, event_id=ids["thread_fallback"])
            ids["ben_in_thread"] = b.thread(room, ids["card"], "Kim confirmed on the phone")["event_id"]
            a.wait(room, event_id=ids["ben_in_thread"])
            ids["thread_unaware_reply"] = a.reply(room, ids["ben_in_thread"], "yes", unthreaded=True)["event_id"]
            # the quoted fallback of an older client, quoting a card whose email links to @ben
            ids["legacy_reply"] = a.reply(room, ids["linked_card"], "please add that Ben made the intro",
                                          legacy_fallback=True)["event_id"]
            ids["edit_of_reply"] = a.edit(room, ids["reply_on_card"], "no thanks")["event_id"]
            ids["reaction"] = a.react(room, ids["card"], "👍️")["event_id"]
        served = {event["event_id"]: event for event in ann.messages(room)}
        events = {name: {k: v for k, v in served[event_id].items() if k not in ("unsigned", "age", "user_id")}
                  for name, event_id in ids.items()}
        check(events, bot.user_id)
        fixture = {"_about": "Events as Synapse served them, sent by matrix-js-sdk 37.5.0 reviewers building them as "
                             "Element does; regenerate with devtools/capture_matrix_fixtures.py.",
                   "bot": bot.user_id, "room": room, "events": events}
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
        with open(out_path, "w", encoding="utf-8") as handle:
            json.dump(fixture, handle, indent=1, ensure_ascii=False, sort_keys=True)
            handle.write("\n")
        return fixture
    finally:
        synapse.stop()


def check(events: dict, bot_id: str) -> None:
    """The shapes the fixture is for (matrix_intake/test_event_fixtures.py reads them): AssertionError if the client
    sent something else (a thread not yet known to it falling back to the root, say)."""
    def relates(name):
        return events[name]["content"].get("m.relates_to") or {}

    def expect(name, ok, what):
        assert ok, f"{name}: {what}; recorded {json.dumps(events[name]['content'], ensure_ascii=False)[:400]}"

    card, quiet = events["card"]["event_id"], events["quiet_card"]["event_id"]
    expect("first_in_thread", relates("first_in_thread") == {"rel_type": "m.thread", "event_id": card,
                                                               "is_falling_back": True}, "no m.in_reply_to at all")
    for name, latest in (("thread_fallback", events["bot_line"]["event_id"]), ("fallback_to_root", quiet)):
        expect(name, relates(name).get("is_falling_back") is True and relates(name).get("rel_type") == "m.thread"
               and relates(name)["m.in_reply_to"]["event_id"] == latest, f"a fallback to {latest}")
    expect("reply_in_thread", relates("reply_in_thread").get("is_falling_back") is False
           and relates("reply_in_thread")["m.in_reply_to"]["event_id"] == events["bot_line"]["event_id"],
           "an in-thread Reply to the bot's line")
    for name, target in (("reply_on_card", "plain_card"), ("reply_on_thread_root", "card"),
                         ("thread_unaware_reply", "ben_in_thread"), ("legacy_reply", "linked_card")):
        expect(name, "rel_type" not in relates(name)
               and relates(name)["m.in_reply_to"]["event_id"] == events[target]["event_id"], f"a plain Reply to {target}")
    for name in ("reply_in_thread", "reply_on_card", "reply_on_thread_root"):
        expect(name, events[name]["content"]["m.mentions"].get("user_ids") == [bot_id], "the bot in m.mentions")
    expect("legacy_reply", events["legacy_reply"]["content"]["body"].startswith("> <")
           and "<mx-reply>" in events["legacy_reply"]["content"]["formatted_body"], "the quoted fallback")
    expect("edit_of_reply", events["edit_of_reply"]["content"]["body"] == "* no thanks", "Element's edit")
    expect("reaction", relates("reaction") == {"rel_type": "m.annotation", "event_id": card, "key": "👍️"},
           "a 👍️ on the card")


if __name__ == "__main__":
    print(f"wrote {len(capture(sys.argv[1] if len(sys.argv) > 1 else OUT)['events'])} events")
