"""How the bot reads a reviewer's words (contracts §7, v3 grammar). Model-free: the tables of phrases.py.

    read("no thanks")                             → Reading("reject")
    read("edit: mention the deadline")            → Reading("edit", "mention the deadline")
    read("can you also mention the wire date?")   → Reading("edit", …)  (a request form, then an edit verb)
    read("thanks!", addressed=True)               → Reading("conversation")  (a Reply to the bot is still chatter)
    read("the round is $5M", addressed=True)      → Reading("unsure", "the round is $5M")  (the bot asks back)
    read("yes but shorter")                       → Reading("ask")  (the bot asks instead of guessing)

A decision needs the whole message to be a decision phrase (politeness allowed: "yes please", "no thanks"); a
message that starts with one and goes on ("yes, but…"), a hedge ("maybe"), a lean ("works for me", "fine"), a
decision asked ("approve?") or negated ("don't approve"), or a decision word in a longer message ("I'll approve it
on the web") is asked about. Chatter and questions for information are read before any edit: "sorry, typo" and
"is it too long?" are never edits.

What makes a message an edit is what it says, never where it points: `edit: …`, or a request to change the note
(after request forms and fillers, "can you also…", "would you mind…", it starts with an edit verb that acts on
something — "mention the wire date", not "change of plans" nor "remove me from this room" — or it aims at the
note: "it should say…", "typo in…", "too long", "don't mention the amount"). A question is an edit only when it
starts with a request form ("could you shorten it?"); "shorter?" is asked back.
Element's Reply button names the replied-to sender in `m.mentions`, so every Reply to the bot also "mentions" it:
being addressed (`addressed`: a mention of the bot or a real reply to one of its messages) never makes a message
an edit. It decides what happens to a message that says nothing the tables know: addressed to the bot, the bot
asks back ("unsure"); otherwise it is conversation among the reviewers. A correction ("it's $5M, not $3M") or an
instruction inside a longer message ("I'd mention the wire date") is asked back wherever it is, and a complaint
("the amount is wrong") is asked about: a reviewer's message about the note always gets an answer.
"""
from __future__ import annotations

import functools
import re
from typing import NamedTuple

from .phrases import (AIMED, ALONE_VERBS, APPROVALS, CHATTER, COLON_VERBS, COMPLAINT, CORRECTION, DECISION_WORD,
                      EDIT_VERBS, FILLERS, HEDGES, INFO_QUESTION, LEANING, LEANINGS, NEGATION, NOT_AN_OBJECT, PLAN,
                      POLITE, REJECTIONS, REQUEST_FORMS, ROOM_TALK, SAY_A_DECISION, verb_forms)

__all__ = ["APPROVALS", "ASK_LINE", "CHATTER", "HEDGES", "LEANINGS", "MAX_READ", "QUESTION_END", "REJECTIONS",
           "Reading", "is_chatter", "normalize", "question", "reaction", "read"]

ASK_LINE = "Approve, reject, or edit? Reply yes / no / edit: …"
# The bot's question when a message may be an instruction (a yes to it revises the note).
QUESTION_END = "? Reply yes to revise it; anything else leaves the note as it is."
# A longer message is asked about ("Approve, reject, or edit?"), not read: reading it costs time in the event loop,
# and no reviewer types an instruction that long.
MAX_READ = 2000
EDIT_PREFIX = re.compile(r"^edit\b\s*[:\-–—]?\s*", re.I)
# Emoji presentation (VS15/VS16), skin tones (Fitzpatrick U+1F3FB–U+1F3FF) and ZWJ: 👍🏽 and 👍️ read as 👍.
_EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\u200d\U0001F3FB-\U0001F3FF]")
# Stripped from both ends with str.strip (linear whatever the message holds; a regex anchored at the end is not).
_EDGES = " .,;!…~"
_FORMS = sorted({form for verb in EDIT_VERBS for form in verb_forms(verb)}, key=len, reverse=True)
_ALONE = frozenset(form for verb in ALONE_VERBS for form in verb_forms(verb))
# An edit verb at the start of a clause, or after a suggestion ("…, mention the date", "I'd mention the date").
_VERB_AND_OBJECT = r"(?:" + "|".join(re.escape(form) for form in _FORMS) + r")\s+([^\s,.;:!?]+)"
_HELD = re.compile(r"(?:[,.;:!?]\s*|\b(?:and|but|also|maybe|perhaps|just|i'd|i would|should|could|let's|pls|please)"
                   r"\s+)" + _VERB_AND_OBJECT)
_ANYWHERE = re.compile(r"\b" + _VERB_AND_OBJECT)

_POLITE_LEAD = {polite: re.compile(rf"{polite}\b[\s,]*") for polite in POLITE}
_CHATTER_AND_POLITE = CHATTER | frozenset(POLITE)
_NOT_A_WORD = re.compile(r"[^\w\s'$€£%+-]")


class Reading(NamedTuple):
    kind: str  # "approve" | "reject" | "edit" | "ask" | "unsure" | "conversation"
    instruction: str = ""  # for an edit (and "unsure"): what to change


def normalize(text: str) -> str:
    """Lower case, one space between words, emoji modifiers and edge punctuation gone ("Yes!" → "yes")."""
    text = _EMOJI_MODIFIERS.sub("", text or "").lower().replace("’", "'")
    return " ".join(text.split()).strip(_EDGES)


def reaction(key: str) -> str | None:
    """'approve' or 'reject' for a reaction key (👍 with any skin tone or variation selector, ✅, 👎, ❌…)."""
    words = normalize(key)
    return "approve" if words in APPROVALS else "reject" if words in REJECTIONS else None


def _without_politeness(words: str) -> str:
    """The words without politeness before or after them ("please reject", "no thanks"); never empty. Plain string
    operations: linear however long the message (an end-anchored regex retried at every position is not)."""
    changed = True
    while changed:
        changed = False
        for polite in POLITE:
            lead = _POLITE_LEAD[polite].match(words)
            if lead and lead.end() < len(words):
                words, changed = words[lead.end():], True
            if words.endswith(polite) and len(words) > len(polite) and not words[-len(polite) - 1].isalnum():
                words, changed = words[:-len(polite)].rstrip(" ,"), True
    return words.strip(_EDGES) or words


@functools.lru_cache(maxsize=None)
def _phrases(table: frozenset) -> re.Pattern:
    """One pattern matching any phrase of `table` as whole words, the longest first."""
    def one(phrase: str) -> str:
        return ((r"(?<!\w)" if phrase[0].isalnum() else "") + re.escape(phrase)
                + (r"(?!\w)" if phrase[-1].isalnum() else ""))
    return re.compile("|".join(one(phrase) for phrase in sorted(table, key=len, reverse=True)))


def _made_of(words: str, table: frozenset) -> bool:
    """The message is nothing but phrases of `table` and politeness ("yes 👍", "lgtm, thanks", "👍👍")."""
    rest = normalize(_phrases(table).sub(" ", words).replace(",", " "))
    return rest != words and (not rest or not _without_politeness(rest) or rest in POLITE
                              or _without_politeness(rest) in POLITE)


def _decision(words: str) -> str | None:
    core = _without_politeness(words)
    for candidate in (words, core, core.replace(",", "")):
        if candidate in APPROVALS:
            return "approve"
        if candidate in REJECTIONS:
            return "reject"
    approves, rejects = _made_of(words, APPROVALS), _made_of(words, REJECTIONS)
    return "approve" if approves and not rejects else "reject" if rejects and not approves else None


def _starts_with_decision(words: str) -> bool:
    first = re.split(r"[\s,;:.!-]+", words, maxsplit=1)[0]
    return first in APPROVALS or first in REJECTIONS or first in {"approve", "reject"}


def _request(words: str) -> tuple[bool, str]:
    """(whether it was asked as a request, the words after request forms and fillers): "can you also mention the
    date?" → (True, "mention the date?"); "also mention it" → (False, "mention it")."""
    asked, changed = False, True
    while changed:
        changed = False
        for pattern, is_request in ((REQUEST_FORMS, True), (FILLERS, False)):
            found = pattern.match(words)
            if found and found.end() < len(words):
                words, changed, asked = words[found.end():], True, asked or is_request
    return asked, words


def _starts_with_edit_verb(words: str) -> bool:
    """It starts with an edit verb acting on something ("mention the date", "make it shorter", "adding the date"),
    or is one that needs nothing ("shorter"); not "change of plans", "say yes", "make sense"."""
    words = words.rstrip("?").strip(_EDGES)
    for form in _FORMS:
        if words == form:
            return form in _ALONE
        if form in COLON_VERBS and words.startswith(form + ":") and words[len(form) + 1:].strip():
            return True
        if words.startswith(form + " "):
            following = words[len(form) + 1:].split(" ", 1)[0].strip(",.;:!?")
            return bool(following) and following not in NOT_AN_OBJECT
    return False


def _holds_instruction(words: str, anywhere: bool = False) -> bool:
    """An edit verb acting on something inside a longer message, at the start of a clause or after a suggestion
    ("I'd mention it", "…, add the date"), or `anywhere` ("should we mention the date?")."""
    return any(found.group(1) not in NOT_AN_OBJECT for found in (_ANYWHERE if anywhere else _HELD).finditer(words))


def _beyond_chatter(words: str) -> str:
    """What is left of the message once thanks, greetings, laughter, emoji and punctuation are taken out."""
    return normalize(_NOT_A_WORD.sub(" ", _phrases(_CHATTER_AND_POLITE).sub(" ", words)))


def is_chatter(words: str) -> bool:
    """Thanks, greetings, laughter, emoji and nothing else: never an instruction."""
    return not re.search(r"\w", _beyond_chatter(words))


def question(instruction: str) -> str:
    """What the bot asks when a message may be an instruction."""
    return f"Should I change the note to say “{instruction}”{QUESTION_END}"


def _decides(words: str, to_a_question: bool) -> Reading | None:
    """A decision, or a message that looks like one but is not clear enough to act on (asked)."""
    if words.endswith("?") and _decision(words.rstrip("?").strip(_EDGES)):
        return Reading("ask")  # "approve?" is a question, not a decision
    decision = _decision(words)
    if decision:
        return Reading("ask") if to_a_question else Reading(decision)  # "yes" to a teammate's question: to whom?
    core = _without_politeness(words)
    if words in HEDGES or core in HEDGES:
        return Reading("ask")
    if _made_of(words, LEANINGS | APPROVALS | REJECTIONS) or SAY_A_DECISION.match(core) or LEANING.search(words):
        return Reading("ask")  # "works for me", "fine", "say yes", "it should be fine": meant as a decision?
    return None


def read(text: str, addressed: bool = False, others: bool = False, to_a_question: bool = False) -> Reading:
    """What a message in a card's conversation means. `addressed`: it mentions the bot or really replies to one
    of its messages (the caller has removed the bot's name from the text); `others`: it names someone else;
    `to_a_question`: it is a Reply to a teammate's question (a "yes" there answers them, not the card)."""
    raw = (text or "").strip()
    if len(raw) > MAX_READ:
        return Reading("ask")
    edit = EDIT_PREFIX.match(raw)
    if edit and raw[:4].lower() == "edit":
        instruction = raw[edit.end():].strip()
        return Reading("edit", instruction) if instruction else Reading("ask")
    words = normalize(raw)
    if not words:
        return Reading("conversation")
    decided = _decides(words, to_a_question)
    if decided:
        return decided
    if is_chatter(words):
        return Reading("conversation")  # "no problem", "sorry, typo", "👀"
    if _decision(_beyond_chatter(words)) or _starts_with_decision(words):
        return Reading("ask")  # "haha ok thanks"; "yes, but mention the deadline", "no, it should say…"
    asked, rest = _request(_without_politeness(words))
    negated = NEGATION.match(rest)
    if negated and (_decision(rest[negated.end():]) or _starts_with_decision(rest[negated.end():])):
        return Reading("ask")  # "don't approve", "please don't approve": the reviewer meant to decide something
    if ROOM_TALK.search(rest):
        return Reading("conversation")  # "remove me from this room": about the room, not the note
    instruction = _starts_with_edit_verb(rest) or bool(AIMED.search(rest))
    is_question = words.endswith("?")
    if instruction and (asked or not is_question):
        # naming someone else, it may be meant for them ("@ben shorter"): ask rather than revise
        return Reading("unsure", raw) if others else Reading("edit", raw)
    if is_question and (asked or INFO_QUESTION.match(words)):
        # a question for information changes nothing; asked of the bot about the note ("is it too long?"): ask
        about_the_note = instruction or COMPLAINT.search(words) or _holds_instruction(words, anywhere=True)
        return Reading("ask") if about_the_note and addressed and not others else Reading("conversation")
    if instruction:
        return Reading("unsure", raw)  # "shorter?": a question, not a request
    if DECISION_WORD.search(words):
        return Reading("ask")  # "I'll approve it on the web instead of here"
    if PLAN.match(rest):
        return Reading("conversation")  # "I'll do it later", "let me check"
    if CORRECTION.search(words) or _holds_instruction(words):
        return Reading("unsure", raw)  # "it's $5M, not $3M", "I'd mention the wire date": for the note?
    if COMPLAINT.search(words):
        return Reading("ask")  # "the amount is wrong": what should it say?
    if others or not addressed:
        return Reading("conversation")  # among the reviewers
    return Reading("unsure", raw)  # addressed to the bot, but is it an instruction? the bot asks
