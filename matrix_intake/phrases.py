"""The tables of the reply grammar (grammar.py reads a message with them; README "What a reply means" lists them).
Every phrase is lower case, as `grammar.normalize` leaves a message; test_grammar.py has a case for each."""
from __future__ import annotations

import re

APPROVALS = frozenset({
    "yes", "y", "yep", "yeah", "yup", "ya", "sure", "approve", "approved", "approve it", "approve this", "ok",
    "okay", "k", "kk", "lgtm", "looks good", "looks good to me", "looks great", "sounds good", "good to go",
    "go ahead", "ship it", "save it", "+1", ":+1:", ":thumbsup:", ":white_check_mark:", "👍", "✅", "✔", "☑",
    "🆗", "👌", "yes approve", "yes approve it", "ok approve", "i approve", "i approve it", "i approve this",
    "yes please do", "yes do it",
})
REJECTIONS = frozenset({
    "no", "n", "nope", "nah", "reject", "rejected", "reject it", "reject this", "-1", ":-1:", ":thumbsdown:",
    ":x:", "👎", "❌", "✖", "✗", "🚫", "skip", "skip it", "discard", "discard it", "drop it", "don't save",
    "dont save", "do not save", "not needed", "no need", "ignore it", "ignore this", "not relevant", "no reject",
    "i reject", "i reject it", "i reject this", "reject this card", "reject the card", "ignore", "skip this one",
    "don't save it", "don't save this", "do not save it", "do not save this",
    # the card or its note, deleted: "delete this card" means "do not save this note" (a rejection)
    "delete it", "delete this", "delete this card", "delete the card", "delete this note", "delete the note",
    "discard this card", "discard the note", "drop this card", "bin it", "trash it", "scrap it",
})
# Words that may follow (or precede) a decision without changing it: "yes please", "no thanks".
POLITE = ("please", "pls", "plz", "thanks", "thank you", "thx", "ty", "cheers", "then")
HEDGES = frozenset({"maybe", "not sure", "unsure", "idk", "i don't know", "dunno", "hmm", "hm", "perhaps",
                    "probably", "possibly", "?", "??", "yes or no", "yes/no", "not yet", "wait", "hold on",
                    "let me think", "later", "not now"})
# A lean towards a decision that is none of the decision phrases ("works for me", "fine", "oui"), or a change that
# may be the whole card or a part of it ("remove it"): the reviewer may think they decided, so the bot asks.
LEANINGS = frozenset({
    "works for me", "that works", "works", "works fine", "fine", "fine by me", "fine with me", "that's fine",
    "that is fine", "it's fine", "its fine", "all fine", "should be fine", "that should be fine", "looks fine",
    "seems fine", "sounds fine", "absolutely", "definitely", "of course", "sure thing", "certainly", "agreed",
    "agree", "i agree", "correct", "that's correct", "that's right", "exactly", "good", "good enough", "alright",
    "all right", "looks ok", "looks okay", "looks right", "sounds right", "seems right", "happy with it",
    "happy with that", "keep it", "keep it as is", "leave it", "leave it as is", "as is", "don't change it",
    "don't change anything", "no changes", "oui", "si", "sí", "ja", "jawohl", "da", "affirmative", "roger",
    "yes sir", "non", "nein", "no way", "not this one", "remove it", "remove this", "remove that", "delete that",
    "drop that", "cut it", "cut that", "not good", "please do", "do it", "go for it", "do that",
})
# An edit instruction starts with one of these verbs (after the request forms below): "mention the wire date",
# "would you mind adding…". Some need something to act on ("change of plans", "say yes", "remove me" are not edits).
EDIT_VERBS = ("change", "add", "mention", "remove", "delete", "drop", "replace", "rewrite", "reword", "rephrase",
              "shorten", "shorter", "longer", "expand", "include", "say", "use", "make", "fix", "correct", "cut",
              "trim", "append", "swap", "update", "simplify", "clarify", "tweak", "note that", "spell", "capitalize",
              "reformulate", "summarize", "condense", "emphasize", "omit", "leave out", "insert", "rename", "write",
              "state", "put", "name", "list")
# Verbs that are a whole instruction on their own ("shorter", "rephrase").
ALONE_VERBS = frozenset({"shorten", "shorter", "longer", "expand", "simplify", "condense", "summarize", "rephrase",
                         "reword", "rewrite", "reformulate", "trim", "clarify", "tweak"})
# What an edit verb acts on, if it is an edit: never a person or the conversation itself.
NOT_AN_OBJECT = frozenset({"of", "me", "us", "you", "yourself", "myself", "him", "her", "them", "sense", "sure",
                           "yes", "no", "ok", "okay", "hi", "hello", "thanks", "thank", "sorry", "bye", "what", "up",
                           "do", "everyone", "everybody", "anyone", "somebody", "someone", "on", "from", "later", "again"})
_DOUBLED = {"cut", "drop", "trim", "swap", "omit", "put"}
# Verbs that may take a colon before what they act on ("add: the wire is on Friday"); "update: …" is news.
COLON_VERBS = frozenset({"add", "mention", "include", "append", "insert", "say"})
# Request forms, stripped (repeatedly) before looking for the verb: "can you also mention…", "could you please…".
REQUEST_FORMS = re.compile(r"^(?:please|pls|plz|kindly|can you|could you|would you mind|would you|will you|can we|"
                           r"could we|do you mind|mind|would it be possible to|is it possible to|"
                           r"i'd like you to|i would like you to|i want you to|i need you to|let's|lets|let us)\b"
                           r"[\s,]*")
# Words before an instruction that change nothing: "also mention…", "just shorten it", "I think it should say…".
FILLERS = re.compile(r"^(?:also|just|and|then|so|oh and|oh|hey|hi|i think|i guess|i'd say|i would say|"
                     r"actually|btw|one more thing|one more|bot|intake bot)\b[\s,:]*")
# Changes aimed at the note: "it should say…", "typo in the name", "too long", "more concise", "don't mention X".
AIMED = re.compile(
    r"\b(?:it|this|that|the note|the draft|note|draft|the summary)\s+(?:should|must|needs? to|has to|ought to)\s+"
    r"(?:say|read|mention|include|state|note|have|cover|use|list|name|not|be\s+(?!(?:fine|ok|okay|good|great|"
    r"alright|all right|enough|done|approved|right|correct)\b))"
    r"|\bshould (?:say|read|mention|include|state)\b|^typo\b\s*(?:[:\-–—]|in\b|on\b)|^(?:there's|there is) a typo\b"
    r"|\b(?:too (?:long|short|vague|wordy|formal|informal|detailed)|shorter|more (?:concise|specific|detail(?:ed|s)?)|"
    r"less (?:wordy|detail(?:ed)?))\b"
    r"|^(?:don't|dont|do not|never|no need to|stop) (?:mention|include|say|add|name|use|list|note)(?:ing)?\s+\S")
# "Kim's fund is $5M, not $3M", "Series A instead of seed": a correction, maybe meant for the note: asked back.
CORRECTION = re.compile(r",\s*not\s+\S|\b(?:instead of|rather than)\b|^not\s+[^,]+,\s*\S|\d[\d.,]*\s*[kmb]?\s+not\s+\$?\d")
# "the amount is wrong": something about the note is off, but not what to write: the bot asks for an edit.
COMPLAINT = re.compile(r"\b(?:wrong|incorrect|inaccurate|not (?:right|accurate|correct)|mistakes?|mistaken|errors?|"
                       r"misspel(?:t|led)|outdated|out of date|typos?|missing|spam|duplicate|dupe|irrelevant|"
                       r"not (?:an|from an) investor)\b")
# A decision word in a longer message ("I'll approve it on the web instead of here"): the bot asks.
DECISION_WORD = re.compile(r"\b(?:approve[ds]?|approving|approval|reject(?:s|ed|ing)?|rejection|lgtm|decline[ds]?)\b")
# "say yes", "type no": someone telling someone to decide; the bot asks who decides what.
SAY_A_DECISION = re.compile(r"^(?:say|type|reply|answer|send)\s+(?:yes|no|ok|approve|reject)\b")
# A lean in a sentence: "it should be fine", "that looks ok to me", "this is great".
LEANING = re.compile(r"\b(?:should|would|will|is|looks|seems|sounds|it's|that's)\s+(?:be\s+)?(?:fine|ok|okay|alright|"
                     r"all right)\b|^(?:this|that|it|the note|the draft|note|draft)(?:'s| is| looks| seems| sounds|"
                     r" reads)\s+(?:really\s+|very\s+|all\s+)?(?:good|great|perfect|fine|right|correct|accurate|spot on)\b")
# One's own plan is no instruction to the bot: "I'll do it later", "let me check".
PLAN = re.compile(r"^(?:i'll|i will|i'm going to|i am going to|i'm gonna|let me|we'll|we will|i can do)\b")
# Talk about people or the room, not the note: "remove me from this room", "add Ben to the room".
ROOM_TALK = re.compile(r"^(?:add|remove|invite|kick|ban|ping|tag|cc)\s+(?:me|us|him|her|them|everyone)\b|"
                       r"\b(?:to|from|in|into|out of|leave)\s+(?:this|the)\s+(?:room|channel|chat)\b")
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
    "makes sense", "make sense", "that makes sense", "typo", "my typo", "sorry typo", "huh", "eh",
})
# A question asking for information ("who is this?", "is Kim at Alder now?") is conversation, not a request to
# change the note; "what about…", "how about…", "why not…" suggest a change and are not in this pattern.
INFO_QUESTION = re.compile(r"^(?:who|whom|whose|who's|what(?!\s+(?:about|if)\b)|what's|which|when|where|where's|"
                           r"why(?!\s+not\b)|how(?!\s+about\b)|how's|is|are|was|were|do|does|did|has|have|had|"
                           r"can|could|would|will|should|shall|any idea|anyone|any news)\b.*\?$")
# "don't approve", "not ok": a decision negated is neither that decision nor conversation: ask.
NEGATION = re.compile(r"^(?:do not|does not|don't|dont|not|never|can't|cannot|won't|wouldn't|shouldn't)\b[\s,]*")


def verb_forms(verb: str) -> tuple[str, str]:
    """The verb and its -ing form ("add", "adding"; "make", "making"; "cut", "cutting"; "note that", "noting that")."""
    first, _, rest = verb.partition(" ")
    if first in _DOUBLED:
        ing = first + first[-1] + "ing"
    elif first.endswith("e") and not first.endswith("ee"):
        ing = first[:-1] + "ing"
    else:
        ing = first + "ing"
    return verb, (ing + " " + rest).strip()
