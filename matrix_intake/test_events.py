"""Reading Element-shaped events (matrix_intake/events.py): relations, typed text, mentions, redactions."""
from devtools import element_events as element
from matrix_intake.events import (Relation, encryption_in, mentions, others_mentioned, redacted_ids, relation, text,
                                  without_name)

BOT = "@intakebot:spark.test"


def test_a_thread_message_points_at_its_root_and_its_fallback_reply_is_not_a_reply():
    assert relation(element.message("yes", thread_root="$card", latest="$other")) == Relation("thread", "$card", None)


def test_a_reply_inside_a_thread_names_what_it_replies_to():
    assert relation(element.message("yes", thread_root="$card", reply_to="$rev")) == Relation("thread", "$card", "$rev")


def test_a_plain_reply_an_edit_a_reaction_and_a_plain_message():
    assert relation(element.message("no", reply_to="$card")) == Relation("reply", "$card", "$card")
    assert relation(element.edit("$orig", "no thanks")) == Relation("replace", "$orig")
    assert relation(element.reaction("$card", "👍️")) == Relation("annotation", "$card", key="👍️")
    assert relation(element.message("hello")) == Relation(None, None)


def test_text_is_what_was_typed():
    assert text(element.legacy_reply("yes", "$card", BOT, "Proposed note for Kim")) == "yes"
    assert text(element.edit("$orig", "no thanks")) == "no thanks"
    assert text(element.message("  yes  ", thread_root="$card")) == "yes"


def test_mentions_by_intentional_mentions_or_pill_and_the_name_is_removed():
    content = element.message("make it shorter", thread_root="$card", mention=(BOT, "Intake bot"))
    assert mentions(content, BOT) and not mentions(content, "@ann:spark.test")
    assert without_name(text(content), BOT, "Intake bot") == "make it shorter"
    assert without_name("@intakebot:spark.test shorter", BOT) == "shorter"
    assert without_name("intakebot: yes", BOT) == "yes"
    assert not mentions(element.message("intakebot is great", thread_root="$card"), BOT)


def test_encryption_and_redactions_are_found():
    assert encryption_in([{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
    assert not encryption_in([{"type": "m.room.message", "content": {"body": "m.room.encryption"}}])
    assert redacted_ids([{"type": "m.room.redaction", "redacts": "$a"},
                         {"type": "m.room.redaction", "content": {"redacts": "$b"}}]) == {"$a", "$b"}


def test_a_message_naming_someone_else_is_addressed_to_them():
    to_ben = element.message("what do you think?", reply_to="$card", mention=("@ben:spark.test", "ben"))
    assert others_mentioned(to_ben, BOT, "@ann:spark.test")
    reply = element.legacy_reply("shorter", "$rev", BOT, "Revised draft")  # the replied-to sender is listed
    assert not others_mentioned(reply, BOT, "@ann:spark.test")
    assert not others_mentioned(element.message("hi", mention=("@ann:spark.test", "ann")), BOT, "@ann:spark.test")


def test_only_the_reply_fallback_is_stripped_never_a_quote_the_reviewer_typed():
    """Spec "Rich replies" (and ruma): the fallback is "> <@sender> …" lines, then one blank line."""
    typed = {"msgtype": "m.text", "body": "> the draft says seed\nit should say Series A",
             "m.relates_to": {"m.in_reply_to": {"event_id": "$card"}}}
    assert text(typed) == "> the draft says seed\nit should say Series A"
    no_blank = {**typed, "body": "> <@ann:spark.test> shorter\nno blank line after it"}
    assert text(no_blank) == no_blank["body"]  # not the fallback's shape: kept as typed
    fallback = {**typed, "body": "> <@intakebot:spark.test> Proposed note\n> Draft: x\n\n> quoted by ann\nSeries A"}
    assert text(fallback) == "> quoted by ann\nSeries A"
    assert text({**typed, "body": "> <@intakebot:spark.test> Proposed note\n\n"}) == ""
