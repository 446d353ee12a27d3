"""How the bot reads a reviewer's words (contracts §7, v3 grammar). Model-free: a table of phrases.

    read("no thanks")                             → Reading("reject")
    read("edit: mention the deadline")            → Reading("edit", "mention the deadline")
    read("thanks!", addressed=True)               → Reading("conversation")  (a Reply to the bot is still chatter)
    read("the round is $5M", addressed=True)      → Reading("unsure", "the round is $5M")  (the bot asks back)
    read("yes but shorter")                       → Reading("ask")  (the bot asks instead of guessing)

A decision needs the whole message to be a decision phrase (politeness allowed: "yes please",
"no thanks"); a message that starts with one and goes on ("yes, but…", "no, it should say…") is
ambiguous, and so is a hedge ("maybe", "not sure") or a decision asked as a question ("approve?").

What makes a message an edit is what it says, never where it points: `edit: …`, or a request to change
the note (it starts with change / add / mention / shorten …, or says "should say", "too long", "typo"…).
Element's Reply button names the replied-to sender in `m.mentions`, so every Reply to the bot also
"mentions" it: being addressed (`addressed`: a mention of the bot or a real reply to one of its
messages) never makes a message an edit. It only decides what happens to a message that is neither a
decision, an edit request nor chatter: addressed to the bot, the bot asks back ("unsure"); otherwise it
is conversation among the reviewers. Chatter — thanks, greetings, laughter, emoji, a question asking
for information ("who is this?") — is conversation wherever it points, and never reaches the model.
"""
from __future__ import annotations

import re
from typing import NamedTuple

ASK_LINE = "Approve, reject, or edit? Reply yes / no / edit: …"
# The bot's question when a message addressed to it may be an instruction (a yes to it revises the note).
QUESTION_END = "? Reply yes to revise it; anything else leaves the note as it is."
APPROVALS = frozenset({
    "yes", "y", "yep", "yeah", "yup", "ya", "sure", "approve", "approved", "approve it", "approve this", "ok",
    "okay", "k", "kk", "lgtm", "looks good", "looks good to me", "looks great", "sounds good", "good to go",
    "go ahead", "ship it", "save it", "+1", ":+1:", ":thumbsup:", ":white_check_mark:", "👍", "✅", "✔", "☑",
    "🆗", "👌", "yes approve", "yes approve it", "ok approve",
})
REJECTIONS = frozenset({
    "no", "n", "nope", "nah", "reject", "rejected", "reject it", "reject this", "-1", ":-1:", ":thumbsdown:",
    ":x:", "👎", "❌", "✖", "✗", "🚫", "skip", "skip it", "discard", "discard it", "drop it", "don't save",
    "dont save", "do not save", "not needed", "no need", "ignore it", "ignore this", "not relevant", "no reject",
})
# Words that may follow (or precede) a decision without changing it: "yes please", "no thanks".
POLITE = ("please", "pls", "plz", "thanks", "thank you", "thx", "ty", "cheers", "then")
HEDGES = frozenset({"maybe", "not sure", "unsure", "idk", "i don't know", "dunno", "hmm", "hm", "perhaps",
                    "probably", "possibly", "?", "??", "yes or no", "yes/no", "not yet", "wait", "hold on",
                    "let me think", "later"})
# A request to change the note: "edit: …" or a message that starts with one of these verbs.
EDIT_PREFIX = re.compile(r"^edit\b\s*[:\-–—]?\s*", re.I)
EDIT_VERBS = ("change", "add", "mention", "remove", "delete", "drop", "replace", "rewrite", "reword", "rephrase",
              "shorten", "shorter", "longer", "expand", "include", "say", "use", "make", "fix", "correct", "cut",
              "trim", "append", "swap", "update", "simplify", "clarify", "tweak", "note that",
              "spell", "capitalize", "reformulate", "summarize", "condense", "emphasize", "omit", "leave out",
              "insert", "rename")
EDIT_PHRASES = re.compile(r"\b(should (say|read|mention|be|include)|instead of|too (long|short|vague|wordy)|typo|"
                          r"more (concise|detail|specific)|less (detail|wordy)|shorter|rephrase|reword)\b", re.I)
# Chatter: what a message made only of these (and emoji, punctuation) says is "no change". Thanks and greetings
# that are also politeness ("thanks") count too; "perfect" or "great" alone decide nothing (only a yes approves).
CHATTER = frozenset({
    "thanks", "thank you", "thanks a lot", "many thanks", "thx", "ty", "tysm", "cheers", "great", "cool", "nice",
    "awesome", "perfect", "excellent", "amazing", "wonderful", "brilliant", "neat", "got it", "noted", "understood",
    "interesting", "lol", "lmao", "rofl", "haha", "hahaha", "hah", "heh", "hehe", "wow", "oh", "ah", "ahh", "aha",
    "oops", "hmm ok", "hi", "hello", "hey", "hiya", "yo", "morning", "good morning", "afternoon", "good afternoon",
    "evening", "good evening", "bye", "sorry", "np", "no problem", "no worries", "welcome", "you're welcome",
    "will do", "on it", "i see", "see", "right", "indeed", "true", "fair", "fair enough", "nice one", "well done",
    "good job", "good bot", "bad bot", "good catch", "my bad", "sweet", "yay", "woohoo", "all good", "test",
    "makes sense", "make sense", "that makes sense",
})
# A question asking for information ("who is this?", "is Kim at Alder now?") is conversation, not a request to
# change the note; "what about…", "how about…", "why not…" suggest a change and are not in this pattern.
INFO_QUESTION = re.compile(r"^(?:who|whom|whose|who's|what(?!\s+(?:about|if)\b)|what's|which|when|where|where's|"
                           r"why(?!\s+not\b)|how(?!\s+about\b)|how's|is|are|was|were|do|does|did|has|have|had|"
                           r"can|could|would|will|should|any idea|anyone|any news)\b.*\?$")
# Phrases that start like an edit request but are chatter.
CHATTER_IDIOMS = re.compile(r"^(?:makes? sense|say (?:hi|hello|thanks|thank you)\b|add me\b)")
# "don't approve", "not ok": a decision negated is neither that decision nor conversation: ask.
NEGATION = re.compile(r"^(?:do not|does not|don't|dont|not|never|can't|cannot|won't|wouldn't|shouldn't)\b[\s,]*")
ASKING_PREFIX = re.compile(r"^(please|pls|plz|can you|could you|would you|will you|kindly)\b[\s,]*", re.I)
# Emoji presentation (VS15/VS16), skin tones (Fitzpatrick U+1F3FB–U+1F3FF) and ZWJ: 👍🏽 and 👍️ read as 👍.
_EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\u200d\U0001F3FB-\U0001F3FF]")
_EDGE_PUNCTUATION = re.compile(r"^[\s.,;!…~]+|[\s.,;!…~]+$")


class Reading(NamedTuple):
    kind: str  # "approve" | "reject" | "edit" | "ask" | "unsure" | "conversation"
    instruction: str = ""  # for an edit (and "unsure"): what to change


def normalize(text: str) -> str:
    """Lower case, one space between words, emoji modifiers and edge punctuation gone ("Yes!" → "yes")."""
    text = _EMOJI_MODIFIERS.sub("", text or "").lower().replace("’", "'")
    return _EDGE_PUNCTUATION.sub("", " ".join(text.split()))


def reaction(key: str) -> str | None:
    """'approve' or 'reject' for a reaction key (👍 with any skin tone or variation selector, ✅, 👎, ❌…)."""
    words = normalize(key)
    return "approve" if words in APPROVALS else "reject" if words in REJECTIONS else None


def _without_politeness(words: str) -> str:
    changed = True
    while changed:
        changed = False
        for polite in POLITE:
            for pattern in (rf"^{polite}\b[\s,]*", rf"[\s,]*\b{polite}$"):
                stripped = re.sub(pattern, "", words)
                if stripped != words and stripped:
                    words, changed = stripped, True
    return _EDGE_PUNCTUATION.sub("", words)


def _made_of(words: str, table: frozenset) -> bool:
    """The message is nothing but phrases of `table` and politeness ("yes 👍", "lgtm, thanks", "👍👍")."""
    rest = words
    for phrase in sorted(table, key=len, reverse=True):
        before = r"(?<!\w)" if phrase[0].isalnum() else ""
        after = r"(?!\w)" if phrase[-1].isalnum() else ""
        rest = re.sub(before + re.escape(phrase) + after, " ", rest)
    rest = normalize(rest.replace(",", " "))
    return rest != words and (not rest or not _without_politeness(rest) or rest in POLITE)


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


def _is_edit_request(words: str) -> bool:
    asked = ASKING_PREFIX.sub("", _without_politeness(words))
    if CHATTER_IDIOMS.match(asked):
        return False
    return any(re.match(rf"{re.escape(verb)}\b", asked) for verb in EDIT_VERBS) or bool(EDIT_PHRASES.search(words))


def _beyond_chatter(words: str) -> str:
    """What is left of the message once thanks, greetings, laughter, emoji and punctuation are taken out."""
    rest = words
    for phrase in sorted(CHATTER | set(POLITE), key=len, reverse=True):
        rest = re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", " ", rest)
    return normalize(re.sub(r"[^\w\s'$€£%+-]", " ", rest))


def is_chatter(words: str) -> bool:
    """Thanks, greetings, laughter, emoji and nothing else: never an instruction."""
    return not re.search(r"\w", _beyond_chatter(words))


def question(instruction: str) -> str:
    """What the bot asks when a message addressed to it may be an instruction."""
    return f"Should I change the note to say “{instruction}”{QUESTION_END}"


def read(text: str, addressed: bool = False, others: bool = False) -> Reading:
    """What a message in a card's conversation means. `addressed`: it mentions the bot or really replies to one
    of its messages (the caller has removed the bot's name from the text); `others`: it names someone else."""
    raw = (text or "").strip()
    edit = EDIT_PREFIX.match(raw)
    if edit and raw[:4].lower() == "edit":
        instruction = raw[edit.end():].strip()
        return Reading("edit", instruction) if instruction else Reading("ask")
    words = normalize(raw)
    if not words:
        return Reading("conversation")
    if words.endswith("?") and _decision(words.rstrip("?").strip()):
        return Reading("ask")  # "approve?" is a question, not a decision
    decision = _decision(words)
    if decision:
        return Reading(decision)
    if words in HEDGES or _without_politeness(words) in HEDGES:
        return Reading("ask")
    if is_chatter(words):
        return Reading("conversation")  # "no problem", "no worries", "👀"
    if _decision(_beyond_chatter(words)):
        return Reading("ask")  # "haha ok thanks", "cool, yes": a decision among the chatter? ask
    if _starts_with_decision(words):
        return Reading("ask")  # "yes, but mention the deadline", "no, it should say…": which one?
    negated = NEGATION.match(words)
    if negated and (_decision(words[negated.end():]) or _starts_with_decision(words[negated.end():])):
        return Reading("ask")  # "don't approve", "not ok": the reviewer meant to decide something
    if _is_edit_request(words):
        # naming someone else, it may be meant for them ("@ben shorter?"): ask rather than revise
        return Reading("unsure", raw) if others else Reading("edit", raw)
    if INFO_QUESTION.match(words) or others or not addressed:
        return Reading("conversation")  # "who is this?": a question for information changes nothing
    return Reading("unsure", raw)  # addressed to the bot, but is it an instruction? the bot asks
