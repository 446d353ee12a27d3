"""Units: the investor search queries (email_integration/gmail/search_query.py), checked against the
emulator's reading of Gmail's syntax in both match modes (Gmail's word matching, and exact addresses)."""
import email.utils

import pytest
from hypothesis import given, settings, strategies as st

from devtools.gmail_emulator.query import compile_query
from email_integration.gmail.search_query import (MAX_QUERY_CHARS, MAX_SEARCH_QUERIES, ONLY_SPAM, build_queries,
                                                  excluded_queries, investor_terms, query_chunks, search_forms,
                                                  search_size_refusal, source_queries, unsearchable_reason,
                                                  unsearchable_terms)

ROWS = [(1, "email", "kim@alder.vc"), (1, "domain", "alder.vc"), (2, "email", "ops@mail.alder.vc"),
        (3, "domain", "gmail.com"), (4, "email", "elena@gmail.com"), (5, "domain", "firm.test"),
        (6, "email", "Raj@Birch.Capital"), (7, "email", "bad address{x}@evil.io"), (8, "domain", "@cedar.partners")]
MODES = ("gmail", "exact")


def facts(**fields):
    found = {"subject": "", "text": "", "has_attachment": False, "internal_date_ms": 0, "labels": {"INBOX"},
             "list": fields.get("list", "").lower()}
    for name in ("from", "to", "cc", "bcc"):
        value = fields.get(name, "")
        found[name], found[name + "_addrs"] = value.lower(), [a.lower() for _, a in email.utils.getaddresses([value])
                                                              if "@" in a]
    found["labels"] = set(fields.get("labels", ("INBOX",)))
    return found


def test_terms_drop_covered_addresses_free_mail_our_domain_and_what_cannot_be_searched():
    assert investor_terms(ROWS, own_domain="firm.test") == ["alder.vc", "cedar.partners", "elena@gmail.com",
                                                            "raj@birch.capital"]
    assert unsearchable_terms(ROWS) == [{"investor_id": 7, "kind": "email", "value": "bad address{x}@evil.io",
                                         "reason": unsearchable_reason("bad address{x}@evil.io")}]


def test_unicode_and_special_addresses_are_searched_in_a_form_gmail_accepts():
    rows = [(1, "email", "jürgen@fonds.de"), (2, "email", "kim&co@alder.vc"), (3, "email", "o'brien@oak.vc"),
            (4, "domain", "münchen-capital.de"), (5, "email", "kim@xn--mnchen-capital-gsb.de")]
    terms = investor_terms(rows)
    # an internationalised domain in both forms, its addresses covered by it; the rest verbatim
    assert terms == ["münchen-capital.de", "xn--mnchen-capital-gsb.de", "jürgen@fonds.de", "kim&co@alder.vc",
                     "o'brien@oak.vc"]
    assert search_forms("Kim@München-Capital.de") == ["kim@münchen-capital.de", "kim@xn--mnchen-capital-gsb.de"]
    (q,) = build_queries(terms)
    for mode in MODES:
        match = compile_query(q, mode=mode)
        assert match(facts(**{"from": "Jürgen <jürgen@fonds.de>"}))
        assert match(facts(cc="kim&co@alder.vc")) and match(facts(to="O'Brien <o'brien@oak.vc>"))
        assert match(facts(to="x@xn--mnchen-capital-gsb.de")) and match(facts(to="x@münchen-capital.de"))
        assert not match(facts(cc="kim@alder.vc"))  # `&` belongs to the word


def test_decomposed_unicode_is_searched_and_matched_as_its_composed_form():
    """Saved decomposed (u + U+0308, as some keyboards and old rows have it), "jürgen" would be searched as the
    words "ju" and "rgen", which no header holds: NFC before the query and before the matcher."""
    from email_integration.capture.matcher import InvestorIndex
    nfd_address, nfd_domain = "ju\u0308rgen@fonds.de", "mu\u0308nchen-capital.de"
    rows = [(1, "email", nfd_address), (2, "domain", nfd_domain)]
    assert investor_terms(rows) == ["münchen-capital.de", "xn--mnchen-capital-gsb.de", "jürgen@fonds.de"]
    (q,) = build_queries(investor_terms(rows))
    for mode in MODES:
        match = compile_query(q, mode=mode)
        assert match(facts(**{"from": "Jürgen <jürgen@fonds.de>"})) and match(facts(to="a@münchen-capital.de"))
    index = InvestorIndex(rows)
    assert [m[0] for m in index.match(["jürgen@fonds.de"])] == [1]
    assert [m[0] for m in index.match([nfd_address])] == [1]  # a decomposed header too
    assert [m[0] for m in index.match(["a@xn--mnchen-capital-gsb.de"])] == [2]
    assert [m[0] for m in InvestorIndex([(1, "email", "jürgen@fonds.de")]).match([nfd_address])] == [1]


@pytest.mark.parametrize("value", ["kim{x}@alder.vc", "(kim)@alder.vc", "kim:co@alder.vc", "kim!@alder.vc",
                                   "a|b@alder.vc", "-kim@alder.vc", "kim\\co@alder.vc"])
def test_what_the_search_syntax_would_read_as_syntax_is_refused_with_the_reason(value):
    reason = unsearchable_reason(value)
    assert reason and reason.startswith(value) and "Gmail" in reason
    assert investor_terms([(1, "email", value)]) == []


def test_queries_match_every_role_and_skip_chats_drafts_and_spam():
    (q,) = build_queries(["alder.vc", "raj@birch.capital"])
    assert q == ("{from:alder.vc to:alder.vc cc:alder.vc bcc:alder.vc from:raj@birch.capital to:raj@birch.capital "
                 "cc:raj@birch.capital bcc:raj@birch.capital} -in:chats -in:drafts -in:spam")
    for mode in MODES:
        match = compile_query(q, mode=mode)
        assert match(facts(**{"from": "x@alder.vc"})) and match(facts(cc="raj@birch.capital"))
        assert match(facts(bcc="raj@birch.capital")) and match(facts(to="a@eu.alder.vc"))
        assert match(facts(to="raj@birch.capital", labels=("TRASH",)))  # trash is the firm's record too
        assert not match(facts(to="raj@birch.capital", labels=("DRAFT",)))
        assert not match(facts(to="raj@birch.capital", labels=("SPAM",)))
        assert not match(facts(to="someone@else.io"))
    (spam,) = build_queries(["alder.vc"], where=ONLY_SPAM)
    assert compile_query(spam)(facts(**{"from": "x@alder.vc", "labels": ("SPAM",)}))
    assert not compile_query(spam)(facts(**{"from": "x@alder.vc"}))


def test_the_window_is_on_every_query_and_exclusions_never_are():
    queries = build_queries([f"p{i}@fund{i}.vc" for i in range(40)], after=1_767_225_600, max_chars=400)
    assert len(queries) > 1
    for q in queries:
        assert len(q) <= 400 and q.endswith("-in:chats -in:drafts -in:spam after:1767225600") and "-{" not in q


def test_the_exclusions_mail_is_listed_by_queries_of_its_own():
    many = [f"@excluded-domain-number-{i}.example" for i in range(40)] + ["me@x.io", "{bad}@x.io"]
    queries = excluded_queries(many, after=1_767_225_600)
    assert queries and all(len(q) <= MAX_QUERY_CHARS and q.endswith("after:1767225600") for q in queries)
    assert all(any(f"from:{p.lstrip('@')} " in q for q in queries) for p in many[:-1])
    assert not any("bad" in q for q in queries) and excluded_queries(()) == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.from_regex(r"[a-z]{1,12}@[a-z]{1,10}\.(vc|com|capital)", fullmatch=True), min_size=1,
                max_size=150, unique=True))
def test_every_value_lands_in_exactly_one_query_under_the_limit(values):
    chunks = query_chunks(values)
    assert [q for q, _ in chunks] == build_queries(values)
    assert sorted(v for _, vs in chunks for v in vs) == sorted(values)
    for q, held in chunks:
        assert len(q) <= MAX_QUERY_CHARS
        for value in held:
            assert compile_query(q, mode="exact")(facts(to=value)) and compile_query(q)(facts(to=value))


def test_a_term_too_long_for_any_query_is_left_out_not_fatal():
    queries = build_queries(["x" * 1500 + "@longfund.vc", "kim@alder.vc"])
    assert len(queries) == 1 and "from:kim@alder.vc" in queries[0] and "longfund" not in queries[0]


def test_the_sources_are_searched_where_they_put_themselves():
    queries = source_queries(["docusign.net", "drive-shares-dm-noreply@google.com"], ["ir@firm.test"])
    assert queries == ["{from:docusign.net from:drive-shares-dm-noreply@google.com} -in:chats -in:drafts -in:spam",
                       "{from:ir@firm.test to:ir@firm.test cc:ir@firm.test list:ir@firm.test} -in:chats -in:drafts "
                       "-in:spam"]
    docusign = compile_query(queries[0])
    assert docusign(facts(**{"from": '"Kim Lee via DocuSign" <dse_NA3@docusign.net>'}))
    group = compile_query(queries[1])
    assert group(facts(**{"from": "'Kim Lee' via IR <ir@firm.test>"})) and group(facts(list="<ir.firm.test>"))
    assert source_queries([], []) == []


def test_the_whole_investor_search_is_capped():
    fits = [f"partner{i}@fund-number-{i}.vc" for i in range(300)]
    assert len(build_queries(fits)) <= MAX_SEARCH_QUERIES and search_size_refusal(fits) is None
    too_many = [f"partner.with.a.long.name{i}@fund-number-{i}.ventures" for i in range(600)]
    reason = search_size_refusal(too_many)
    assert reason and f"at most {MAX_SEARCH_QUERIES}" in reason
