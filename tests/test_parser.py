"""Unit tests for email_integration.parser.parse: headers, dates, bodies, quoting, attachments, robustness."""
from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.gmail_emulator.gmail_format import message_resource
from email_integration.mail.html_text import html_to_text, split_reply
from email_integration.mail.parser import KEYS, parse

INTERNAL_MS = 1793613600000  # 2026-11-02T10:00:00Z


def resource(raw: bytes | str, fmt: str = "full") -> dict:
    if isinstance(raw, str):
        raw = raw.replace("\n", "\r\n").encode("utf-8")
    return message_resource(raw, id="m1", thread_id="t1", label_ids=["INBOX", "UNREAD"], history_id=7,
                            internal_date_ms=INTERNAL_MS, fmt=fmt)


def mail(headers: str = "", body: str = "Hello.\n", date: str | None = "Mon, 02 Nov 2026 10:00:00 +0000") -> dict:
    head = "From: Ann <ann@example.com>\nTo: bob@example.com\n"
    if date is not None:
        head += f"Date: {date}\n"
    return parse(resource(head + headers + "\n" + body))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def leaf(data: bytes, content_type: str, part_id: str = "", **extra) -> dict:
    return {"partId": part_id, "mimeType": content_type.split(";")[0].strip(), "filename": "",
            "headers": [{"name": "Content-Type", "value": content_type}],
            "body": {"size": len(data), "data": b64(data)}, **extra}


def single_part(data: bytes, content_type: str) -> dict:
    """A one-part message whose body bytes and Content-Type are exactly as given."""
    message = resource("From: a@x.io\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\nx")
    part = leaf(data, content_type)
    part["headers"] = message["payload"]["headers"] + part["headers"]
    message["payload"] = part
    return message


# --- envelope ---------------------------------------------------------------------------------------

def test_envelope_and_all_keys():
    result = mail("Subject: Hi\nMessage-ID: <abc@x.io>\n")
    assert set(result) == set(KEYS)
    assert result["gmail_id"] == "m1" and result["gmail_thread_id"] == "t1"
    assert result["history_id"] == "7" and result["label_ids"] == ["INBOX", "UNREAD"]
    assert isinstance(result["size_estimate"], int) and result["size_estimate"] > 0
    assert result["internal_date"] == "2026-11-02T10:00:00Z"
    assert result["message_id"] == "abc@x.io"
    assert result["problems"] == []


def test_message_id_references_in_reply_to():
    result = mail("Message-ID:   < spaced@x.io >\nIn-Reply-To: <a@x.io>\n"
                  "References: <r1@x.io> <r2@x.io>\n <r1@x.io>\tjunk <r3@x.io>\n")
    assert result["message_id"] == "spaced@x.io"
    assert result["in_reply_to"] == ["a@x.io"]
    assert result["references"] == ["r1@x.io", "r2@x.io", "r3@x.io"]


def test_missing_message_id_is_empty():
    result = mail()
    assert result["message_id"] == "" and result["in_reply_to"] == [] and result["references"] == []


# --- RFC 2047 subjects ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("=?utf-8?B?w4lsw6huZSDigJQgcmVwb3J0?=", "Élène — report"),
    ("=?UTF-8?Q?Caf=C3=A9_au_lait?=", "Café au lait"),
    ("=?iso-8859-1?q?D=E9j=E0_vu?=", "Déjà vu"),
    ("Re: =?utf-8?q?caf=C3=A9?= and  more", "Re: café and more"),
    ("=?utf-8?q?one?= =?utf-8?q?_two?=", "one two"),  # RFC 2047 6.2: space between words dropped
    ("=?utf-8?B?w6k=?= =?iso-8859-1?q?=E9?= plain", "éé plain"),
    ("=?utf-8?B?5pel5pys?==?utf-8?B?6Kqe?=", "日本語"),
    ("=?utf-8?B?5pel?= =?utf-8?B?5pys6Kqe?=", "日本語"),  # a character split across words
    ("=?utf-8*en?q?hello?=", "hello"),  # RFC 2231 language tag
    ("=?utf-8?q?broken", "=?utf-8?q?broken"),  # not an encoded word: kept as written
    ("=?utf-8?B?w6k?=", "é"),  # missing base64 padding
    ("Folded\n  subject\tline", "Folded subject line"),
])
def test_subject_decoding(raw, expected):
    result = mail(f"Subject: {raw}\n")
    assert result["subject"] == expected


def test_subject_unknown_charset_falls_back():
    result = mail("Subject: =?x-foo?q?caf=C3=A9?=\n")
    assert result["subject"] == "café"
    assert any("unknown 'x-foo'" in p for p in result["problems"])


def test_subject_raw_utf8_bytes():
    raw = "From: a@b.io\r\nSubject: Grüße\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n\r\nx".encode("utf-8")
    assert parse(resource(raw))["subject"] == "Grüße"


# --- addresses --------------------------------------------------------------------------------------

def test_address_lists():
    result = mail('Cc: "Doe, John" <John.Doe@Example.COM>, =?utf-8?q?Ren=C3=A9e?= <renee@x.io>,\n'
                  " plain@x.io (Plain Person), undisclosed-recipients:;\n"
                  "Reply-To: Team: a@x.io, b@x.io;\nBcc: nobody\n")
    assert result["from"] == {"name": "Ann", "email": "ann@example.com"}
    assert result["to"] == [{"name": "", "email": "bob@example.com"}]
    assert result["cc"] == [{"name": "Doe, John", "email": "john.doe@example.com"},
                            {"name": "Renée", "email": "renee@x.io"},
                            {"name": "Plain Person", "email": "plain@x.io"}]
    assert [r["email"] for r in result["reply_to"]] == ["a@x.io", "b@x.io"]
    assert result["bcc"] == []
    assert any(p.startswith("bcc: dropped") for p in result["problems"])


def test_group_only_gives_empty_list():
    result = parse(resource("From: a@x.io\nTo: undisclosed-recipients:;\nDate: Mon, 02 Nov 2026 10:00:00 Z\n\nx"))
    assert result["to"] == [] and result["problems"] == []


def test_missing_from_is_none():
    result = parse(resource("To: a@x.io\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\nx"))
    assert result["from"] is None


# --- dates ------------------------------------------------------------------------------------------

def test_date_with_timezone_to_utc():
    result = mail(date="Tue, 03 Nov 2026 01:30:00 +0530")
    assert result["date"] == "2026-11-02T20:00:00Z" and result["date_source"] == "header"


def test_date_obsolete_zone_name():
    assert mail(date="Mon, 2 Nov 2026 05:00:00 EST")["date"] == "2026-11-02T10:00:00Z"


def test_missing_date_falls_back_to_internal_date():
    result = mail(date=None)
    assert result["date"] == "2026-11-02T10:00:00Z" and result["date_source"] == "internal_date"
    assert any(p.startswith("date: missing") for p in result["problems"])


def test_garbage_date_falls_back_with_problem():
    result = mail(date="garbage")
    assert result["date_source"] == "internal_date" and result["date"] == "2026-11-02T10:00:00Z"
    assert "date: unparseable 'garbage'" in result["problems"]


def test_no_date_at_all():
    message = resource("From: a@x.io\n\nx")
    del message["internalDate"]
    result = parse(message)
    assert result["date"] == "" and result["date_source"] == "" and result["internal_date"] == ""


# --- bodies, quoting, signature ---------------------------------------------------------------------

def test_reply_quote_and_signature_separated():
    body = ("Thanks, see below.\n\n-- \nAnn Example\nCEO\n\n"
            "On Mon, Nov 2, 2026 at 10:00 AM Bob <bob@example.com>\nwrote:\n> Original question?\n> more\n")
    result = mail("Subject: Re: q\n", body)
    assert result["body_text"] == "Thanks, see below."
    assert result["signature"] == "Ann Example\nCEO"
    assert result["quoted_text"].startswith("On Mon, Nov 2, 2026")
    assert "> Original question?" in result["quoted_text"]
    assert result["snippet"]  # the emulator's snippet is kept


def test_interleaved_reply_keeps_answers():
    text = "On Mon, Bob wrote:\n> q1?\nanswer one\n> q2?\nanswer two\n"
    body, quoted, signature = split_reply(text)
    assert body == "answer one\nanswer two"
    assert quoted == "On Mon, Bob wrote:\n> q1?\n> q2?"
    assert signature == ""


@pytest.mark.parametrize("history", [
    "-----Original Message-----\nFrom: Bob\nSent: Monday\nSubject: x\n\nold text",
    "________________________________\nFrom: Bob <b@x.io>\nSent: Monday, November 2, 2026 10:00\nTo: Ann\n\nold",
    "---------- Forwarded message ----------\nFrom: Bob <b@x.io>\nDate: Mon\n\nold",
])
def test_outlook_style_history(history):
    body, quoted, _ = split_reply("New text here.\n\n" + history)
    assert body == "New text here."
    assert quoted.endswith("old text") or quoted.endswith("old")


def test_html_only_message_drops_script_and_style():
    markup = ("<html><head><title>T</title><style>p{color:red}</style></head><body>"
              "<script>alert('x')</script><p>Hello&nbsp;<b>Ann</b> &amp; co</p><div>Line two<br>Line three</div>"
              "<ul><li>one</li><li>two</li></ul>"
              "<div class=gmail_quote>On Mon, Bob wrote:<br><blockquote>old <p>older</p></blockquote></div>"
              "</body></html>")
    raw = ("From: a@x.io\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nContent-Type: text/html; charset=utf-8\n\n"
           + markup)
    result = parse(resource(raw))
    assert result["html_available"] is True and "<script>" in result["body_html"]
    assert result["body_text"] == "Hello Ann & co\nLine two\nLine three\n- one\n- two"
    assert "alert" not in result["body_text"] and "color" not in result["body_text"]
    assert result["quoted_text"] == "On Mon, Bob wrote:\n> old\n> older"


def test_plain_preferred_over_html():
    raw = ("From: a@x.io\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
           "Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n"
           "plain version\n--B\nContent-Type: text/html; charset=utf-8\n\n<p>html version</p>\n--B--\n")
    result = parse(resource(raw))
    assert result["body_text"] == "plain version" and "html version" in result["body_html"]
    assert result["attachments"] == []


def test_html_to_text_never_raises_on_malformed():
    for markup in ("<p>unclosed <b>bold <div><<<>>>&#xZZ;&bogus; </td></tr></table>", "<!-- open", "<",
                   "<script>never closed", "&#99999999999;"):
        assert isinstance(html_to_text(markup), str)
    assert html_to_text("a<br/>b") == "a\nb"


def test_unknown_charset_body():
    message = single_part("naïve".encode("utf-8"), "text/plain; charset=x-foo")
    result = parse(message)
    assert result["body_text"] == "naïve"
    assert any("unknown 'x-foo'" in p for p in result["problems"])


def test_lying_charset_body_falls_back():
    message = single_part("café \u2019quoted\u2019".encode("cp1252"), "text/plain; charset=us-ascii")
    result = parse(message)
    assert result["body_text"] == "café \u2019quoted\u2019"
    assert any("'us-ascii' does not fit" in p and "cp1252" in p for p in result["problems"])


@pytest.mark.parametrize("charset, text", [("ks_c_5601-1987", "안녕하세요"), ("iso-2022-jp", "日本語"),
                                           ("unicode-1-1-utf-7", "Hi Mom -☺-!"), ("utf8", "ok ✓"),
                                           ("windows-1252", "€uro")])
def test_charset_aliases(charset, text):
    codec = {"ks_c_5601-1987": "cp949", "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8"}.get(charset, charset)
    message = single_part(text.encode(codec), f"text/plain; charset={charset}")
    result = parse(message)
    assert result["body_text"] == text and result["problems"] == []


def test_crlf_normalized_and_bad_base64_recorded():
    message = single_part(b"a\r\nb\rc", "text/plain")
    assert parse(message)["body_text"] == "a\nb\nc"
    message["payload"]["body"]["data"] = "aGVsbG8!!"  # "hello" with junk and no padding
    result = parse(message)
    assert result["body_text"] == "hello" and any("invalid base64url" in p for p in result["problems"])


def test_snippet_fallback_from_body():
    message = resource("From: a@x.io\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\n" + "word  " * 100)
    message["snippet"] = ""
    result = parse(message)
    assert result["snippet"] == ("word " * 100).strip()[:200]


# --- attachments ------------------------------------------------------------------------------------

ATTACHMENT_MAIL = """From: a@x.io
Date: Mon, 02 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=OUTER

--OUTER
Content-Type: multipart/related; boundary=REL

--REL
Content-Type: multipart/alternative; boundary=ALT

--ALT
Content-Type: text/plain; charset=utf-8

See attached.
--ALT
Content-Type: text/html; charset=utf-8

<p>See <img src="cid:logo@x.io"> attached.</p>
--ALT--
--REL
Content-Type: image/png
Content-ID: <logo@x.io>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--REL--
--OUTER
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--OUTER
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.xlsx

AAAA
--OUTER
Content-Type: text/plain; name="=?utf-8?q?R=C3=A9sum=C3=A9.txt?="
Content-Disposition: attachment

cv
--OUTER
Content-Type: message/rfc822

From: inner@x.io
Subject: inner

inner body
--OUTER--
"""


def test_attachments():
    result = parse(resource(ATTACHMENT_MAIL))
    assert result["body_text"] == "See attached."
    by_name = {a["filename"]: a for a in result["attachments"]}
    assert set(by_name) == {"attachment-0.1.png", "report.pdf", "€ rates.xlsx", "Résumé.txt",
                            "forwarded-message.eml"}
    logo = by_name["attachment-0.1.png"]
    assert logo["inline"] is True and logo["content_id"] == "logo@x.io" and logo["mime_type"] == "image/png"
    pdf = by_name["report.pdf"]
    assert pdf["part_id"] == "1" and pdf["inline"] is False and pdf["size"] == 9
    assert pdf["attachment_id"] and pdf["data"] is None and pdf["content_id"] == ""
    assert by_name["forwarded-message.eml"]["mime_type"] == "message/rfc822"
    assert by_name["forwarded-message.eml"]["part_id"] == "4"
    assert all(set(a) == {"part_id", "filename", "mime_type", "size", "attachment_id", "content_id", "inline",
                          "data"} for a in result["attachments"])


def test_inlined_attachment_data_is_decoded():
    message = resource("From: a@x.io\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\nx")
    message["payload"] = {"partId": "", "mimeType": "multipart/mixed", "filename": "", "headers": [],
                          "body": {"size": 0}, "parts": [
                              leaf(b"body", "text/plain", "0"),
                              leaf(b"\x00\x01", "application/octet-stream", "1", filename="")]}
    message["payload"]["parts"][1]["headers"].append({"name": "Content-ID", "value": "<c1>"})
    message["payload"]["parts"][1]["headers"].append({"name": "Content-Disposition", "value": "attachment"})
    result = parse(message)
    (attachment,) = result["attachments"]
    assert attachment["data"] == b"\x00\x01" and attachment["filename"] == "attachment-1.bin"
    assert attachment["content_id"] == "c1" and attachment["inline"] is False
    assert result["body_text"] == "body"


# --- robustness -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [None, 42, "text", [], b"bytes", {}, {"payload": None}, {"payload": []},
                                 {"id": "x", "payload": {"headers": "nope", "parts": "nope", "body": 5}},
                                 {"payload": {"headers": [{"name": "Date"}, 7, {"name": 3, "value": 4}],
                                              "parts": [None, {"parts": [{"body": {"data": 12}}]}]}},
                                 {"sizeEstimate": "big", "labelIds": "INBOX", "internalDate": "soon"}])
def test_never_raises_on_malformed_input(bad):
    result = parse(bad)
    assert set(result) == set(KEYS)
    assert result["problems"]


def test_metadata_format():
    result = parse(resource("From: a@x.io\nSubject: meta\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\nbody",
                            fmt="metadata"))
    assert result["subject"] == "meta" and result["body_text"] == "" and result["attachments"] == []


def test_deeply_nested_parts_do_not_recurse_forever():
    part = leaf(b"deep", "text/plain", "x")
    for _ in range(5000):
        part = {"partId": "x", "mimeType": "multipart/mixed", "headers": [], "body": {"size": 0}, "parts": [part]}
    assert set(parse({"payload": part})) == set(KEYS)


HEADER_NAMES = st.sampled_from(["From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID",
                                "References", "In-Reply-To", "Content-Type", "Content-Disposition",
                                "Content-ID", "X-Other"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers=st.lists(st.tuples(HEADER_NAMES, st.text()), max_size=8), body=st.binary(max_size=300),
       content_type=st.text(max_size=40), data=st.text(max_size=40))
def test_property_arbitrary_headers_and_bodies_never_raise(headers, body, content_type, data):
    part_headers = [{"name": name, "value": value} for name, value in headers]
    message = {"id": "m", "payload": {
        "partId": "", "mimeType": "multipart/mixed", "headers": part_headers, "body": {"size": 0}, "parts": [
            {"partId": "0", "mimeType": "text/plain", "headers": [{"name": "Content-Type", "value": content_type}],
             "body": {"size": len(body), "data": b64(body)}},
            {"partId": "1", "mimeType": "text/html", "headers": part_headers, "body": {"data": data}},
            {"partId": "2", "mimeType": content_type, "filename": data, "headers": part_headers,
             "body": {"attachmentId": data, "size": data}}]}}
    result = parse(message)
    assert set(result) == set(KEYS)
    assert not [p for p in result["problems"] if "internal error" in p]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.binary(max_size=400), body=st.binary(max_size=400))
def test_property_arbitrary_raw_bytes_never_raise(head, body):
    raw = b"From: " + head + b"\r\nSubject: " + head + b"\r\nContent-Type: " + head + b"\r\n\r\n" + body
    result = parse(resource(raw))
    assert set(result) == set(KEYS)
    assert not [p for p in result["problems"] if "internal error" in p]
