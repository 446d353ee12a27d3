"""The emulator's Gmail search (devtools/gmail_emulator/query.py): the operators the sync sends,
as units over message facts and once over HTTP through messages.list."""
import email.utils
import urllib.parse
import urllib.request
import json

import pytest

from devtools.gmail_emulator.query import MAX_QUERY_CHARS, QueryError, compile_query
from emulator_fixtures import access_token, add_message, make_message

JAN_1_2026_PST = 1_767_254_400_000  # 2026-01-01 00:00 at UTC-8, in ms


def facts(frm="", to="", cc="", bcc="", labels=("INBOX",), date=0, subject="", text=""):
    found = {"subject": subject, "text": text, "has_attachment": False, "internal_date_ms": date,
             "labels": set(labels)}
    for name, value in (("from", frm), ("to", to), ("cc", cc), ("bcc", bcc)):
        found[name] = value.lower()
        found[name + "_addrs"] = [a.lower() for _, a in email.utils.getaddresses([value]) if "@" in a]
    return found


@pytest.mark.parametrize("q, message, expected", [
    ("from:kim@alder.vc", facts(frm="Kim Lee <Kim@Alder.vc>"), True),
    ("from:kim@alder.vc", facts(frm="kim@alder.vc.evil.test"), False),
    ("from:alder.vc", facts(frm="ops@mail.alder.vc"), True),  # a bare domain takes its subdomains
    ("from:alder.vc", facts(frm="x@notalder.vc"), False),
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
])
def test_operators(q, message, expected):
    assert compile_query(q)(message) is expected


@pytest.mark.parametrize("q", ["frobnicate:yes", "{from:a@x.io", "from:a@x.io}", "a OR", "after:yesterday",
                               "x" * (MAX_QUERY_CHARS + 1)])
def test_unreadable_queries_are_refused(q):
    with pytest.raises(QueryError):
        compile_query(q)


def _list(emulator, token, q):
    url = f"{emulator.url}/gmail/v1/users/me/messages?" + urllib.parse.urlencode({"q": q})
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
