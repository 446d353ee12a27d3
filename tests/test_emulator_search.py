"""The emulator's Gmail search (devtools/gmail_emulator/query.py): the operators the sync sends, in both
--search-match modes (Gmail's word matching, and exact addresses), as units over message facts and over
HTTP through messages.list (spam and trash, the search lag)."""
import email.utils
import json
import time
import urllib.parse
import urllib.request

import pytest

from devtools.gmail_emulator.query import MAX_QUERY_CHARS, QueryError, compile_query
from emulator_fixtures import access_token, add_message, make_message, post_json, stats

JAN_1_2026_PST = 1_767_254_400_000  # 2026-01-01 00:00 at UTC-8, in ms


def facts(frm="", to="", cc="", bcc="", labels=("INBOX",), date=0, subject="", text="", list_id=""):
    found = {"subject": subject, "text": text, "has_attachment": False, "internal_date_ms": date,
             "labels": set(labels), "list": list_id.lower()}
    for name, value in (("from", frm), ("to", to), ("cc", cc), ("bcc", bcc)):
        found[name] = value.lower()
        found[name + "_addrs"] = [a.lower() for _, a in email.utils.getaddresses([value]) if "@" in a]
    return found


@pytest.mark.parametrize("mode", ["gmail", "exact"])
@pytest.mark.parametrize("q, message, expected", [
    ("from:kim@alder.vc", facts(frm="Kim Lee <Kim@Alder.vc>"), True),
    ("from:alder.vc", facts(frm="ops@mail.alder.vc"), True),  # a bare domain takes its subdomains
    ("from:alder.vc", facts(frm="x@notalder.vc"), False),
    ("from:kim@alder.vc", facts(frm="bkim@alder.vc"), False),  # whole words only
    ("from:kim@alder.vc", facts(to="kim@alder.vc", frm="IR <ir@firm.test>"), False),
    # no operator reads Reply-To or X-Original-Sender (a group's DMARC rewrite hides the author there)
    ("from:kim@alder.vc", facts(frm="'Kim Lee' via IR <ir@firm.test>"), False),
    ("to:alder.vc", facts(to="a@firm.test, b@alder.vc"), True),
    ("cc:kim@alder.vc", facts(to="kim@alder.vc"), False),
    ("bcc:kim@alder.vc", facts(bcc="kim@alder.vc"), True),
    ("{from:a@x.io to:a@x.io}", facts(to="a@x.io"), True),
    ("{from:a@x.io to:a@x.io}", facts(cc="a@x.io"), False),
    ("from:a@x.io OR cc:a@x.io", facts(cc="a@x.io"), True),
    ("from:a@x.io cc:a@x.io", facts(cc="a@x.io"), False),  # side by side: AND
    ("-{from:a@x.io to:a@x.io}", facts(to="a@x.io"), False),
    ("-from:a@x.io", facts(to="a@x.io"), True),
    ("from:{a@x.io b@y.io}", facts(frm="b@y.io"), True),
    ("{from:x.io} -in:chats -in:drafts", facts(frm="a@x.io", labels=("CHAT",)), False),
    ("{from:x.io} -in:chats -in:drafts", facts(frm="a@x.io", labels=("DRAFT",)), False),
    ("{from:x.io} -in:chats -in:drafts", facts(frm="a@x.io", labels=("SENT",)), True),
    ("in:sent", facts(labels=("SENT",)), True),
    ("(from:a@x.io OR to:a@x.io) subject:deck", facts(to="a@x.io", subject="the deck"), True),
    ("after:2026/01/01", facts(date=JAN_1_2026_PST), True),  # midnight PST, inclusive
    ("after:2026/01/01", facts(date=JAN_1_2026_PST - 1), False),
    ("before:2026/01/01", facts(date=JAN_1_2026_PST - 1), True),
    (f"after:{JAN_1_2026_PST // 1000}", facts(date=JAN_1_2026_PST), True),  # epoch seconds
    ('subject:"term sheet" -in:sent', facts(subject="re: term sheet"), True),
    ("list:ir@firm.test", facts(list_id="Investor relations <ir.firm.test>"), True),
    ("list:ir@firm.test", facts(list_id="<deals.firm.test>"), False),
    ("in:spam", facts(labels=("SPAM",)), True),
    ("-in:spam", facts(labels=("TRASH",)), True),
])
def test_operators_in_both_modes(mode, q, message, expected):
    assert compile_query(q, mode=mode)(message) is expected


@pytest.mark.parametrize("q, message, gmail, exact", [
    # Gmail matches words in order, across addresses and display names (google/quota.py SEARCH_WORD):
    ("from:kim@alder.vc", facts(frm="kim@alder.vc.evil.test"), True, False),
    ("from:alder.vc", facts(frm="x@alder.vc.evil.example"), True, False),
    ("from:alder.vc", facts(frm="Alder VC Partners <p@lookalike.example>"), True, False),
    ("from:alder.vc", facts(frm="Jo <jo+alder.vc@gmail.com>"), True, False),
    ("-{from:law.example}", facts(frm="Kim (ex law.example) <kim@alder.vc>"), False, True),  # a negative over-matches
    ("from:jürgen@fonds.de", facts(frm="Jürgen <JÜRGEN@fonds.de>"), True, True),
    ("from:münchen-capital.de", facts(frm="a@xn--mnchen-capital-mlb.de"), False, False),  # not equivalent
    ("from:kim&co@alder.vc", facts(frm="kim&co@alder.vc"), True, True),
    ("from:kim&co@alder.vc", facts(frm="kim@alder.vc"), False, False),  # & is part of the word
    ("from:amy", facts(frm="Amy Wu <a.wu@x.example>"), True, True),
    ("from:am", facts(frm="Amy Wu <a.wu@x.example>"), False, True),  # no partial words in Gmail
])
def test_gmail_matches_words_where_exact_matches_addresses(q, message, gmail, exact):
    assert compile_query(q, mode="gmail")(message) is gmail
    assert compile_query(q, mode="exact")(message) is exact


@pytest.mark.parametrize("q", ["frobnicate:yes", "{from:a@x.io", "from:a@x.io}", "a OR", "after:yesterday",
                               "x" * (MAX_QUERY_CHARS + 1)])
def test_unreadable_queries_are_refused(q):
    with pytest.raises(QueryError):
        compile_query(q)


def _list(emulator, token, q, **params):
    url = f"{emulator.url}/gmail/v1/users/me/messages?" + urllib.parse.urlencode({"q": q, **params})
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_messages_list_searches_over_http(emulator):
    user = "ann@firm.test"
    exact = add_message(emulator.url, user, make_message(sender="Kim <kim@alder.vc>", to=user))["id"]
    sub = add_message(emulator.url, user, make_message(sender="Ops <ops@mail.cedar.partners>", to=user))["id"]
    bcc = add_message(emulator.url, user, make_message(sender=f"Ann <{user}>", to="bob@firm.test",
                                                       headers={"Bcc": "raj@birch.capital"}), labels="SENT")["id"]
    add_message(emulator.url, user, make_message(sender="Sara <sara@gmail.com>", to=user))
    add_message(emulator.url, user, make_message(sender="Kim <kim@alder.vc>", to=user), labels="DRAFT")
    token = access_token(emulator.url, user)
    q = "{from:kim@alder.vc to:kim@alder.vc from:cedar.partners bcc:raj@birch.capital} -in:chats -in:drafts"
    status, body = _list(emulator, token, q)
    assert status == 200 and {m["id"] for m in body["messages"]} == {exact, sub, bcc}
    status, body = _list(emulator, token, "from:{kim@alder.vc")
    assert status == 400 and body["error"]["errors"][0]["reason"] == "invalidArgument"


def _ids(emulator, token, q="", **params) -> set:
    status, body = _list(emulator, token, q, **params)
    assert status == 200, body
    return {m["id"] for m in body.get("messages", [])}


def test_spam_and_trash_stay_out_of_the_list_unless_asked_for(emulator):
    user = "ann@firm.test"
    ids = [add_message(emulator.url, user, make_message(sender="Kim <kim@alder.vc>", to=user, subject=f"S{i}"))["id"]
           for i in range(3)]
    post_json(f"{emulator.url}/_emulator/users/{user}/messages/{ids[1]}/modify",
              {"addLabelIds": ["SPAM"], "removeLabelIds": ["INBOX"]})
    post_json(f"{emulator.url}/_emulator/users/{user}/messages/{ids[2]}/modify", {"addLabelIds": ["TRASH"]})
    token = access_token(emulator.url, user)
    assert _ids(emulator, token, "from:alder.vc") == {ids[0]}
    assert _ids(emulator, token, "from:alder.vc", includeSpamTrash="true") == set(ids)
    assert _ids(emulator, token, "from:alder.vc -in:spam", includeSpamTrash="true") == {ids[0], ids[2]}
    assert _ids(emulator, token, "in:spam from:alder.vc", includeSpamTrash="true") == {ids[1]}


def test_search_sees_new_mail_after_the_lag_while_history_and_get_see_it_at_once(emulator):
    user = "ann@firm.test"
    token = access_token(emulator.url, user)
    post_json(f"{emulator.url}/_emulator/search", {"lag_sec": 1.5})
    added = add_message(emulator.url, user, make_message(sender="Kim <kim@alder.vc>", to=user))
    assert _ids(emulator, token, "from:alder.vc") == set() and _ids(emulator, token) == set()
    request = urllib.request.Request(f"{emulator.url}/gmail/v1/users/me/messages/{added['id']}",
                                     headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _ids(emulator, token, "from:alder.vc"):
        time.sleep(0.1)
    assert _ids(emulator, token, "from:alder.vc") == {added["id"]}
    assert stats(emulator.url)["search_lag_sec"] == 1.5


def test_the_match_mode_is_set_over_the_control_api(emulator):
    user = "ann@firm.test"
    lookalike = add_message(emulator.url, user, make_message(sender="x@alder.vc.evil.example", to=user))["id"]
    token = access_token(emulator.url, user)
    assert stats(emulator.url)["search_match"] == "gmail" and _ids(emulator, token, "from:alder.vc") == {lookalike}
    post_json(f"{emulator.url}/_emulator/search", {"match": "exact"})
    assert _ids(emulator, token, "from:alder.vc") == set()
    with pytest.raises(urllib.error.HTTPError) as refused:
        post_json(f"{emulator.url}/_emulator/search", {"match": "fuzzy"})
    assert refused.value.code == 400
