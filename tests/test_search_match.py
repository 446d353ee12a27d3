"""Why a conversation matched a search (email_integration/capture/search_match.py): the word rule of the FTS5
search (a word starts a token, the last token a prefix), excerpts of long bodies, marks in code points."""
from email_integration.capture.search_match import excerpt, explain, patterns, search_words, spans


def marked(text, found):
    return [text[s:e] for s, e in found]


def test_a_word_matches_where_it_starts_a_word_as_a_prefix():
    words = patterns("ark")
    assert spans("Mark Park", words) == []  # FTS5 would not find "ark" in them either
    assert marked("Arkady wrote", spans("Arkady wrote", words)) == ["Ark"]


def test_an_address_is_a_phrase_of_its_tokens():
    words = patterns("kim@alder")
    text = "K. Lee <kim@alder.vc>, kim@aldermore.com, kim alder"
    assert marked(text, spans(text, words)) == ["kim@alder", "kim@alder", "kim alder"]


def test_overlapping_words_are_one_mark_and_quotes_are_dropped():
    words = patterns('"first" first close')
    assert search_words('"first" first close') == ["first", "first", "close"]
    assert marked("the first close", spans("the first close", words)) == ["first", "close"]
    assert spans("firstclose", patterns("first firstc")) == [[0, 6]]


def test_the_like_fallback_is_one_substring_of_the_whole_query():
    words = patterns("ark pa", substring=True)
    assert marked("Park ark", spans("Park ark", words)) == []  # both words, but not as one run
    assert marked("Mark Park", spans("Mark Park", words)) == ["ark Pa"]  # inside words: LIKE matches anywhere


def test_a_long_body_is_cut_around_the_first_word_with_ellipses():
    body = "word " * 100 + "the allocation\n\nin   the second close " + "tail " * 100
    cut = excerpt(body, patterns("allocation"))
    assert cut["text"].startswith("…") and cut["text"].endswith("…") and "\n" not in cut["text"]
    assert marked(cut["text"], cut["marks"]) == ["allocation"]
    assert "in the second close" in cut["text"] and len(cut["text"]) <= 200
    assert excerpt("nothing here", patterns("allocation")) is None


def test_marks_count_code_points_as_the_page_does():
    text = "🚀 launch 🚀 allocation"
    (start, end), = spans(text, patterns("allocation"))
    assert list(text)[start:end] == list("allocation")  # Python indexes code points, so does Array.from


def test_explain_names_each_field_once_in_order():
    words = patterns("kim")
    why = explain(words, subjects=["Re: Kim's deck", "Kim again"], bodies=["Dear Kim, thanks"],
                  participants=["Kim Lee <kim@alder.vc>"], investors=[(7, "Kim Lee · Alder")])
    assert [(w["field"], marked(w["text"], w["marks"])) for w in why] == [
        ("subject", ["Kim"]), ("body", ["Kim"]), ("participant", ["Kim", "kim"]), ("investor", ["Kim"])]
    assert why[-1]["investor_id"] == 7
    assert explain(words, subjects=["Fund"], bodies=[], participants=["pat@x.vc"]) == []
