"""Units: the investor matcher, thread keys and merging, dedup keys, safe attachment names."""
import pytest

from backend import db, investors_db
from backend.server import init_db
from email_integration.capture import db_emails
from email_integration.capture.attachments import BlobStore, content_disposition, safe_filename
from email_integration.capture.ingest import message_key
from email_integration.capture.matcher import InvestorIndex, MatcherCache
from email_integration.capture.threads import normalized_subject, resolve_thread, thread_keys

ROWS = [(1, "email", "kim@alder.vc"), (1, "domain", "alder.vc"), (2, "domain", "gmail.com"),
        (3, "email", "elena@gmail.com"), (4, "domain", "firm.test"), (5, "domain", "birch.capital"),
        (6, "email", "kim@alder.vc")]


def test_exact_before_domain_and_one_link_per_investor():
    index = InvestorIndex(ROWS, own_domain="firm.test")
    assert index.match(["Kim@Alder.vc", "ops@alder.vc"]) == [(1, "exact", "kim@alder.vc"), (6, "exact", "kim@alder.vc")]
    assert index.match(["ops@alder.vc"]) == [(1, "domain", "ops@alder.vc")]


def test_free_mail_and_our_own_domain_never_match_by_domain():
    index = InvestorIndex(ROWS, own_domain="firm.test")
    assert index.match(["stranger@gmail.com", "ann@firm.test"]) == []
    assert index.match(["elena@gmail.com"]) == [(3, "exact", "elena@gmail.com")]


def test_subdomains_belong_to_the_domain_and_junk_is_ignored():
    index = InvestorIndex(ROWS)
    assert index.match(["x@mail.birch.capital"]) == [(5, "domain", "x@mail.birch.capital")]
    assert index.match(["", "not-an-address", None]) == []
    assert index.match(["x@capital"]) == []


def test_matcher_cache_rebuilds_when_investors_change(tmp_path):
    path = str(tmp_path / "crm.db")
    init_db(path)
    conn = db.connect(path)
    cache = MatcherCache()
    assert cache.index(conn).match(["nia@new.vc"]) == []
    first = cache.index(conn)
    assert cache.index(conn) is first  # unchanged investors: the same index
    investors_db.create_investor(conn, "Nia", None, ["nia@new.vc"], [])
    assert cache.index(conn).match(["nia@new.vc"])[0][1] == "exact"
    conn.close()


def test_thread_keys_cover_gmail_thread_and_every_referenced_id():
    parsed = {"message_id": "c@x", "in_reply_to": ["b@x"], "references": ["a@x", "b@x"]}
    assert thread_keys(7, "t1", parsed) == ["gmail:7:t1", "mid:c@x", "mid:b@x", "mid:a@x"]
    assert thread_keys(7, "", {"message_id": ""}) == []


def test_a_message_linking_two_threads_merges_them(tmp_path):
    path = str(tmp_path / "crm.db")
    init_db(path)
    conn = db.connect(path)
    with db.atomic(conn):
        first = resolve_thread(conn, 1, "ta", {"message_id": "a@x", "in_reply_to": [], "references": []})
        second = resolve_thread(conn, 2, "tb", {"message_id": "b@x", "in_reply_to": [], "references": []})
        assert first != second
        merged = resolve_thread(conn, 2, "tb", {"message_id": "c@x", "in_reply_to": ["a@x"], "references": ["a@x"]})
        assert merged == first
        assert db_emails.threads_for_keys(conn, ["gmail:2:tb", "mid:b@x"]) == [first]
        # the same Gmail thread in the same mailbox stays one thread even without references
        assert resolve_thread(conn, 1, "ta", {"message_id": "z@x", "in_reply_to": [], "references": []}) == first
    conn.close()


@pytest.mark.parametrize("subject,expected", [("Re: Fwd: Deck", "Deck"), ("AW: SV: Terms", "Terms"),
                                              ("Re:", ""), ("Regarding: deck", "Regarding: deck"), ("", "")])
def test_normalized_subject(subject, expected):
    assert normalized_subject(subject) == expected


def test_message_key_prefers_message_id_and_falls_back_stably():
    with_id = {"message_id": "m@x", "from": {"email": "a@x"}, "to": [], "date": "", "subject": "s"}
    assert message_key(with_id) == "mid:m@x"
    copy_a = {"message_id": "", "from": {"email": "a@x"}, "to": [{"email": "b@x"}, {"email": "c@x"}],
              "date": "2026-01-01T00:00:00Z", "subject": "Hi", "internal_date": "2026-01-01T00:00:05Z"}
    copy_b = {**copy_a, "to": list(reversed(copy_a["to"])), "internal_date": "2026-01-01T00:00:09Z"}
    assert message_key(copy_a) == message_key(copy_b) and message_key(copy_a).startswith("hash:")
    assert message_key({**copy_a, "subject": "Other"}) != message_key(copy_a)


@pytest.mark.parametrize("name,expected", [("../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"),
                                           (".hidden", "hidden"), ("a\x00b\x07c.pdf", "abc.pdf"), ("", "attachment"),
                                           ("Fund III.pdf", "Fund III.pdf")])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_content_disposition_is_ascii_safe_and_keeps_utf8():
    value = content_disposition('Prévisions "Q3".xlsx')
    assert value.startswith('attachment; filename="Pr_visions _Q3_.xlsx"')
    assert "filename*=UTF-8''Pr%C3%A9visions%20%22Q3%22.xlsx" in value
    assert "\n" not in content_disposition("a\r\nSet-Cookie: x")


def test_blob_store_dedups_and_refuses_non_hash_paths(tmp_path):
    store = BlobStore(str(tmp_path))
    first, second = store.put(b"same"), store.put(b"same")
    assert first == second and store.read(first) == b"same"
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")
