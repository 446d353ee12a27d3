"""Units: the investor search queries (email_integration/gmail/search_query.py), checked against the
emulator's reading of Gmail's syntax."""
import email.utils

from hypothesis import given, settings, strategies as st

from devtools.gmail_emulator.query import compile_query
from email_integration.gmail.search_query import (MAX_QUERY_CHARS, build_queries, excluded_queries, exclusion_terms,
                                                  investor_terms)

ROWS = [(1, "email", "kim@alder.vc"), (1, "domain", "alder.vc"), (2, "email", "ops@mail.alder.vc"),
        (3, "domain", "gmail.com"), (4, "email", "elena@gmail.com"), (5, "domain", "firm.test"),
        (6, "email", "Raj@Birch.Capital"), (7, "email", "bad address{x}@evil.io"), (8, "domain", "@cedar.partners")]


def facts(**fields):
    found = {"subject": "", "text": "", "has_attachment": False, "internal_date_ms": 0, "labels": {"INBOX"}}
    for name in ("from", "to", "cc", "bcc"):
        value = fields.get(name, "")
        found[name], found[name + "_addrs"] = value, [a for _, a in email.utils.getaddresses([value]) if "@" in a]
    found["labels"] = set(fields.get("labels", ("INBOX",)))
    return found


def test_terms_drop_covered_addresses_free_mail_our_domain_and_junk():
    assert investor_terms(ROWS, own_domain="firm.test") == ["alder.vc", "cedar.partners", "elena@gmail.com",
                                                            "raj@birch.capital"]


def test_queries_match_every_role_and_skip_chats_and_drafts():
    (q,) = build_queries(["alder.vc", "raj@birch.capital"])
    assert q == ("{from:alder.vc to:alder.vc cc:alder.vc bcc:alder.vc from:raj@birch.capital to:raj@birch.capital "
                 "cc:raj@birch.capital bcc:raj@birch.capital} -in:chats -in:drafts")
    match = compile_query(q)
    assert match(facts(**{"from": "x@alder.vc"})) and match(facts(cc="raj@birch.capital"))
    assert match(facts(bcc="raj@birch.capital")) and match(facts(to="a@eu.alder.vc"))
    assert not match(facts(to="raj@birch.capital", labels=("DRAFT",)))
    assert not match(facts(to="someone@else.io"))


def test_window_and_exclusions_are_on_every_query():
    queries = build_queries([f"p{i}@fund{i}.vc" for i in range(40)], excluded=["@secret.vc", "me@x.io"],
                            after=1_767_225_600, max_chars=400)
    assert len(queries) > 1
    for q in queries:
        assert len(q) <= 400 and q.endswith("-{from:secret.vc to:secret.vc cc:secret.vc bcc:secret.vc} "
                                            "-{from:me@x.io to:me@x.io cc:me@x.io bcc:me@x.io} after:1767225600")
        assert not compile_query(q)(facts(**{"from": "p1@fund1.vc", "cc": "me@x.io"}))
    assert exclusion_terms(["{bad}"]) == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.from_regex(r"[a-z]{1,12}@[a-z]{1,10}\.(vc|com|capital)", fullmatch=True), min_size=1,
                max_size=150, unique=True))
def test_every_value_lands_in_exactly_one_query_under_the_limit(values):
    queries = build_queries(values)
    assert all(len(q) <= MAX_QUERY_CHARS for q in queries)
    for value in values:
        holding = [q for q in queries if f"from:{value} " in q]
        assert len(holding) == 1
        assert compile_query(holding[0])(facts(to=value))


def test_exclusions_fill_at_most_half_a_query():
    many = [f"@excluded-domain-number-{i}.example" for i in range(40)]
    queries = build_queries(["kim@alder.vc"], excluded=many, max_chars=MAX_QUERY_CHARS)
    (q,) = queries
    assert len(q) <= MAX_QUERY_CHARS and 0 < q.count("-{from:") < 40
    assert q.startswith("{from:kim@alder.vc") and "-in:chats -in:drafts" in q


def test_exclusions_that_do_not_fit_get_queries_of_their_own():
    many = [f"@excluded-domain-number-{i}.example" for i in range(40)]
    (q,) = build_queries(["kim@alder.vc"], excluded=many, after=1_767_225_600)
    fitted = q.count("-{from:")
    extra = excluded_queries(many, after=1_767_225_600)
    assert extra and all(len(e) <= MAX_QUERY_CHARS and e.endswith("after:1767225600") for e in extra)
    covered = [p for p in many if any(f"from:{p[1:]} " in e for e in extra)]
    assert covered == many[fitted:]  # exactly the ones left out of the negatives
    assert excluded_queries(many[:2]) == [] and excluded_queries(()) == []


def test_a_term_too_long_for_any_query_is_left_out_not_fatal():
    queries = build_queries(["x" * 400 + "@longfund.vc", "kim@alder.vc"])
    assert len(queries) == 1 and "from:kim@alder.vc" in queries[0] and "longfund" not in queries[0]
