"""The reply grammar (matrix_intake/grammar.py): every phrase in its tables, and the readings people actually type."""
import pytest

from matrix_intake.grammar import APPROVALS, CHATTER, HEDGES, REJECTIONS, Reading, question, reaction, read

SKIN_TONES = ["", "\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"]


@pytest.mark.parametrize("phrase", sorted(APPROVALS))
def test_every_approval_phrase_approves(phrase):
    assert read(phrase) == Reading("approve")
    assert read(phrase.capitalize() + "!") == Reading("approve")


@pytest.mark.parametrize("phrase", sorted(REJECTIONS))
def test_every_rejection_phrase_rejects(phrase):
    assert read(phrase) == Reading("reject")
    assert read(phrase.upper() + ".") == Reading("reject")


@pytest.mark.parametrize("phrase", sorted(HEDGES))
def test_every_hedge_asks(phrase):
    assert read(phrase) == Reading("ask")


@pytest.mark.parametrize("text,kind", [
    ("yes please", "approve"), ("Yes, please!", "approve"), ("ok thanks", "approve"), ("Sounds good, thanks!", "approve"),
    ("lgtm 👍", "approve"), ("Yes 👍", "approve"), ("👍👍", "approve"), ("yes, approve it. thanks!", "approve"),
    ("👎 no", "reject"), ("yes 👎", "ask"), ("no yes", "ask"),
    ("no thanks", "reject"), ("No thank you.", "reject"), ("nah thanks", "reject"), ("please reject", "reject"),
    ("👍", "approve"), ("👍️", "approve"), ("✅", "approve"), ("✔️", "approve"), ("👎", "reject"), ("❌", "reject"),
    (":+1:", "approve"), (":-1:", "reject"), ("+1", "approve"), ("-1", "reject"),
])
def test_decisions_with_politeness_and_emoji(text, kind):
    assert read(text).kind == kind


@pytest.mark.parametrize("tone", SKIN_TONES)
@pytest.mark.parametrize("selector", ["", "\ufe0f", "\ufe0e"])
def test_thumbs_with_any_skin_tone_or_variation_selector(tone, selector):
    assert read("👍" + tone + selector).kind == "approve" and reaction("👍" + tone + selector) == "approve"
    assert read("👎" + tone + selector).kind == "reject" and reaction("👎" + tone + selector) == "reject"


@pytest.mark.parametrize("key,decision", [("✅", "approve"), ("✅️", "approve"), ("❌", "reject"), ("❤️", None),
                                          ("😂", None), ("👀", None), ("yes", "approve")])
def test_reaction_keys(key, decision):
    assert reaction(key) == decision


@pytest.mark.parametrize("text,instruction", [
    ("edit: mention the Friday deadline", "mention the Friday deadline"),
    ("Edit - say Series A, not seed", "say Series A, not seed"),
    ("EDIT:make it one sentence", "make it one sentence"),
    ("change the date to Friday", "change the date to Friday"),
    ("add that Kim leads the round", "add that Kim leads the round"),
    ("mention the deadline", "mention the deadline"),
    ("shorter", "shorter"), ("shorter please", "shorter please"), ("make it shorter", "make it shorter"),
    ("Could you add the deadline?", "Could you add the deadline?"),
    ("please mention the fund size", "please mention the fund size"),
    ("remove the last sentence", "remove the last sentence"),
    ("drop the part about the dinner", "drop the part about the dinner"),
    ("it should say Series A", "it should say Series A"),
    ("too long", "too long"), ("typo: Alder, not Adler", "typo: Alder, not Adler"),
])
def test_edit_requests(text, instruction):
    assert read(text) == Reading("edit", instruction)


@pytest.mark.parametrize("text", ["edit", "edit:", "yes but mention the deadline", "no, it should say Series A",
                                  "ok but shorter", "approve?", "yes?", "yes no", "ok I will look later",
                                  "no idea, Ben?", "haha ok thanks", "cool, yes"])
def test_ambiguous_messages_ask(text):
    assert read(text) == Reading("ask")


@pytest.mark.parametrize("text", ["@ben what do you think?", "Ben, what do you think?", "thanks", "I met Kim last week",
                                  "Kim said yes to the meeting", "interesting", "👀", "lol", "", "   ",
                                  "who is Kim?", "I think Ben knows her"])
def test_conversation_changes_nothing(text):
    assert read(text) == Reading("conversation")


@pytest.mark.parametrize("phrase", sorted(CHATTER))
def test_every_chatter_phrase_is_conversation_even_addressed_to_the_bot(phrase):
    """Element's Reply names the replied-to sender in m.mentions: a Reply to the bot is "addressed" to it."""
    assert read(phrase, addressed=True) == Reading("conversation")
    assert read(phrase.capitalize() + "!", addressed=True) == Reading("conversation")


@pytest.mark.parametrize("text", ["thanks!", "Thank you 🙏", "who is this?", "Who is Kim?", "what is this card?",
                                  "why?", "how does this work?", "is Kim still at Alder?", "did Ben meet her?",
                                  "can you check with Kim?", "👀", "😂😂", "no worries", "cool 👀", "got it, thanks",
                                  "make sense?", "hi", "lol", "thanks, noted"])
def test_chatter_through_the_reply_button_never_edits(text):
    assert read(text, addressed=True) == Reading("conversation")
    assert read(text) == Reading("conversation")


@pytest.mark.parametrize("text", ["what about the Friday deadline?", "one sentence", "the round is $5M",
                                  "Kim's fund is $5M", "how about Series A?", "why not mention the deadline?",
                                  "I met Kim last week", "Series A, not seed"])
def test_an_unclear_message_to_the_bot_is_asked_back_and_one_among_reviewers_is_conversation(text):
    assert read(text, addressed=True) == Reading("unsure", text)
    assert read(text) == Reading("conversation")


def test_an_edit_is_what_the_message_says_wherever_it_points():
    for addressed in (False, True):
        assert read("make it shorter", addressed=addressed) == Reading("edit", "make it shorter")
        assert read("thanks, make it shorter", addressed=addressed) == Reading("edit", "thanks, make it shorter")
        assert read("yes", addressed=addressed) == Reading("approve")
        assert read("no thanks", addressed=addressed) == Reading("reject")
    # naming someone else, a change may be meant for them: asked back, never revised at once
    assert read("shorter?", addressed=True, others=True) == Reading("unsure", "shorter?")
    assert read("what do you think?", addressed=True, others=True) == Reading("conversation")
    assert read("edit: shorter", others=True) == Reading("edit", "shorter")  # "edit:" is unmistakable


def test_the_question_quotes_the_words_and_says_how_to_answer():
    assert question("the round is $5M") == ("Should I change the note to say “the round is $5M”? Reply yes to revise "
                                            "it; anything else leaves the note as it is.")


@pytest.mark.parametrize("text", ["don't approve", "Do not approve this", "not approved", "not ok", "dont approve it",
                                  "never approve this", "don't reject it", "not yes", "Don't approve!"])
def test_a_negated_decision_asks_instead_of_passing_for_conversation(text):
    """"don't approve" is no conversation: the reviewer thinks they decided; the bot must ask, not stay quiet."""
    assert read(text) == Reading("ask")
    assert read(text, addressed=True) == Reading("ask")  # and never a rewrite of the note through the model
