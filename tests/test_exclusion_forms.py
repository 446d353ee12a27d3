"""Exclusions match every spelling of an address (issue 22 item 7): Gmail's dots, a +tag, googlemail.com, case,
a trailing dot, an IDN domain in Unicode or xn--, a Unicode name in NFC or NFD. Units on the pure rule and on
the SQL of a populated database, then over HTTP against the Gmail emulator: excluded mail in each spelling is
never captured when the exclusion comes first, and purged when it comes later."""
import unicodedata

import pytest

from backend import db
from backend.server import init_db
from capture_fixtures import KIM, db_rows, start_privacy_crm, sync_all
from emulator_fixtures import add_message, make_message
from email_integration.gmail.search_query import excluded_queries
from email_integration.privacy import db_privacy
from email_integration.privacy.exclusions import covers, excluded, parse_pattern

MEMBER, MEMBER2 = "member@firm.test", "member2@firm.test"
NFC_NAME = unicodedata.normalize("NFC", "josé")
NFD_NAME = unicodedata.normalize("NFD", "josé")
# (the exclusion as a person types it, the spellings of a participant it must cover)
SPELLINGS = [
    ("dr.who@gmail.com", ["drwho@gmail.com", "dr.who+x@gmail.com", "dr.who@googlemail.com", "DR.WHO@Gmail.com."]),
    ("@clinic.test", ["doc@clinic.test.", "nurse@lab.clinic.test", "Doc@CLINIC.test"]),
    ("@bücher.example", ["a@xn--bcher-kva.example", "b@shop.xn--bcher-kva.example"]),
    ("@xn--bcher-kva.example", ["a@bücher.example"]),
    (f"{NFC_NAME}@nfc.example", [f"{NFD_NAME}@nfc.example", f"{NFC_NAME}+news@nfc.example"]),
]
NOT_COVERED = [("dr.who@gmail.com", "dr.who@outlook.com"), ("@clinic.test", "doc@clinic.testing"),
               ("@clinic.test", "doc@notclinic.test"), ("a.b@outlook.com", "ab@outlook.com"),
               (f"{NFC_NAME}@nfc.example", "jose@nfc.example")]


@pytest.mark.parametrize("pattern,address", [(p, a) for p, spelled in SPELLINGS for a in spelled])
def test_a_pattern_covers_every_spelling(pattern, address):
    assert covers(pattern, address) and covers(parse_pattern(pattern), address)
    assert excluded(["kim@alder.vc", address], [pattern.upper() if pattern.isascii() else pattern])


@pytest.mark.parametrize("pattern,address", NOT_COVERED)
def test_other_mailboxes_are_not_covered(pattern, address):
    assert not covers(pattern, address) and not excluded([address], [parse_pattern(pattern)])


def test_patterns_are_saved_normalised():
    assert parse_pattern("Dr.Who+x@GoogleMail.com.") == "drwho@gmail.com"
    assert parse_pattern("@Clinic.Test.") == "@clinic.test"
    assert parse_pattern("@xn--bcher-kva.example") == "@bücher.example"  # shown as people read it
    assert parse_pattern(f"{NFD_NAME}@nfc.example") == f"{NFC_NAME}@nfc.example"
    assert parse_pattern("@googlemail.com") == "@gmail.com"
    for bad in ("", "@", "no-at", "@x", "a@@b.example"):
        with pytest.raises(ValueError):
            parse_pattern(bad)


def test_the_exclusion_search_lists_the_other_spellings():
    query = " ".join(excluded_queries(["dr.who@gmail.com", "@googlemail.com"]))
    for form in ("dr.who@gmail.com", "drwho@gmail.com", "drwho@googlemail.com", "from:gmail.com", "googlemail.com"):
        assert form in query


def test_stored_literal_exclusions_keep_working(tmp_path):
    """Patterns saved before normalisation (lower case, as typed) are found, matched and purged by any spelling."""
    path = str(tmp_path / "crm.db")
    init_db(path)
    conn = db.connect(path)
    conn.execute("INSERT INTO users (email, name, role, created_at) VALUES ('m@firm.test', 'M', 'member', 'x')")
    conn.execute("INSERT INTO email_exclusions (scope, user_id, pattern, created_by, created_at) "
                 "VALUES ('mine', 1, 'dr.who@gmail.com', 1, 'x'), ('firm', NULL, '@clinic.test.', 1, 'x')")
    assert db_privacy.find_exclusion(conn, "mine", 1, "drwho+x@googlemail.com")["pattern"] == "dr.who@gmail.com"
    assert db_privacy.find_exclusion(conn, "firm", None, "@CLINIC.test")["pattern"] == "@clinic.test."
    assert db_privacy.find_exclusion(conn, "mine", 1, "other@gmail.com") is None
    assert db_privacy.find_exclusion(conn, "firm", None, "dr.who@gmail.com") is None  # another scope
    conn.close()


# -- over HTTP, against the emulator --------------------------------------------------------------
def _mail(url, boxes, subject, sender, cc="Kim Lee <kim@alder.vc>"):
    raw = make_message(sender=sender, to=", ".join(boxes), cc=cc, subject=subject,
                       message_id=f"<{subject.replace(' ', '-')}@mail.test>", body=f"EXCLUDEDBODY {subject}\n")
    for box in boxes:
        add_message(url, box, raw, "INBOX")


def _raw_utf8(url, boxes, subject, sender_address):
    """A message whose From holds a raw UTF-8 local part (RFC 6532), as a modern MTA delivers it."""
    raw = (f"From: <{sender_address}>\r\nTo: {', '.join(boxes)}\r\nCc: kim@alder.vc\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@mail.test>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
           f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEXCLUDEDBODY {subject}\r\n")
    for box in boxes:
        add_message(url, box, raw.encode("utf-8"), "INBOX")


# Each spelling in a message that also names an investor (so without the exclusion it would be captured).
DISGUISED = [("Dotless", "Dr Who <drwho@gmail.com>"), ("Tagged", "dr.who+x@gmail.com"),
             ("Googlemail", "Dr.Who@GoogleMail.com"), ("Trailing dot", "doc@clinic.test."),
             ("Punycode", "a@xn--bcher-kva.example")]


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    for subject, sender in DISGUISED:
        _mail(emulator.url, [MEMBER, MEMBER2], subject, sender)
    _raw_utf8(emulator.url, [MEMBER, MEMBER2], "Decomposed name", f"{NFD_NAME}@nfc.example")
    _mail(emulator.url, [MEMBER, MEMBER2], "Kept deal", "Kim Lee <kim@alder.vc>", cc="")
    server = start_privacy_crm(tmp_path_factory.mktemp("crm"), emulator, keys, (KIM,))  # everyone enrolled
    for pattern in ("dr.who@gmail.com", "@clinic.test", "@bücher.example", f"{NFC_NAME}@nfc.example"):
        assert server.member.post("/api/email/exclusions", {"pattern": pattern, "scope": "mine"}).status == 201
    sync_all(server)
    yield server
    server.stop()
    emulator.stop()


def held_subjects(site, box):
    return {r[0] for r in db_rows(site, "SELECT e.subject FROM emails e JOIN email_mailbox_entries m "
                                            "ON m.email_id = e.id JOIN email_accounts a ON a.id = m.account_id "
                                            "WHERE a.email = ?", box)}


ALL_EXCLUDED = {s for s, _ in DISGUISED} | {"Decomposed name"}


def test_each_spelling_is_never_captured_when_excluded_first(site):
    assert held_subjects(site, MEMBER) == {"Kept deal"}
    assert ALL_EXCLUDED <= held_subjects(site, MEMBER2)  # member2 excludes nobody: the mail is there to capture


def test_each_spelling_is_purged_when_excluded_later(site):
    for typed in ("DR.WHO@gmail.com", "@Clinic.Test.", "@xn--bcher-kva.example", f"{NFD_NAME}@nfc.example"):
        reply = site.member2.post("/api/email/exclusions", {"pattern": typed, "scope": "mine"})
        assert reply.status == 201, reply.json
    assert held_subjects(site, MEMBER2) == {"Kept deal"}
    mine = {x["pattern"] for x in site.member2.get("/api/email/exclusions").json["exclusions"] if x["scope"] == "mine"}
    assert mine == {"drwho@gmail.com", "@clinic.test", "@bücher.example", f"{NFC_NAME}@nfc.example"}
    again = site.member2.post("/api/email/exclusions", {"pattern": "dr.who+y@googlemail.com", "scope": "mine"})
    assert again.status == 200 and again.json["exclusion"]["pattern"] == "drwho@gmail.com"  # the same exclusion
    assert site.member2.request("DELETE", "/api/email/exclusions", {"pattern": "d.r.who@gmail.com", "scope": "mine"}).status == 200
    assert "drwho@gmail.com" not in {x["pattern"] for x in site.member2.get("/api/email/exclusions").json["exclusions"]}
