"""The visibility rule (email_integration/privacy/db_visibility.py) on a real SQLite database, without HTTP:
levels per viewer, the most open holder, private conversations, Bcc, and search with and without FTS5."""
import pytest

from backend import investors_db
from backend.db import atomic, connect, db_path
from backend.server import init_db
from devtools.gmail_emulator.gmail_format import message_resource
from email_integration import db as email_schema
from email_integration.capture import db_accounts as email_db
from email_integration.capture import db_queries
from email_integration.capture.attachments import blob_store_for
from email_integration.capture.ingest import Ingestor
from email_integration.capture.matcher import MatcherCache
from email_integration.mail.parser import parse
from email_integration.privacy import db_privacy
from email_integration.privacy.db_visibility import (FULL, HIDDEN, METADATA, SUBJECT, email_level, room_safe_sql,
                                                     sees_bcc)
from email_integration.review import db_proposals
from emulator_fixtures import make_message


@pytest.fixture
def world(tmp_path):
    init_db(db_path(str(tmp_path)))
    conn = connect(db_path(str(tmp_path)))
    investors_db.create_investor(conn, "Kim", "Alder", ["kim@alder.vc"], [])
    users = {}
    for name in ("ann", "bob", "cat"):
        users[name] = conn.execute("INSERT INTO users (email, name, role, created_at) VALUES (?, ?, 'member', 'x')",
                                   (f"{name}@firm.test", name)).lastrowid
    boxes = {name: email_db.enroll_account(conn, f"{name}@firm.test", users[name], "dwd")[0]["id"]
             for name in ("ann", "bob")}
    ingestor = Ingestor(conn, MatcherCache("firm.test"), blob_store_for(str(tmp_path)))
    ids = {}
    messages = [("alpha", ["ann"], make_message(to="ann@firm.test", subject="Alpha plan", body="zebra words\n",
                                                message_id="<alpha@alder.vc>")),
                ("beta", ["ann", "bob"], make_message(to="ann@firm.test, bob@firm.test", subject="Beta plan",
                                                      body="yak words\n", message_id="<beta@alder.vc>")),
                ("sent", ["ann"], make_message(sender="Ann <ann@firm.test>", to="kim@alder.vc", subject="Deck",
                                               body="Here it is.\n", message_id="<sent@firm.test>",
                                               headers={"Bcc": "adv@advisors.test"}))]
    with atomic(conn):
        for n, (key, holders, raw) in enumerate(messages):
            for holder in holders:
                parsed = parse(message_resource(raw, id=f"{holder}{n}", thread_id=f"t{holder}{n}",
                                                label_ids=["INBOX"], history_id=n + 1, internal_date_ms=1_790_000_000_000))
                assert ingestor.store(boxes[holder], parsed, ingestor.match(parsed)) in ("added", "updated")
            ids[key] = conn.execute("SELECT id, thread_id FROM emails WHERE message_id = ?",
                                    (f"{key}@{'firm.test' if key == 'sent' else 'alder.vc'}",)).fetchone()
    yield conn, users, boxes, ids
    conn.close()


def mark_private(conn, thread_id, user_id):
    """As the product marks a conversation private (controls/actions.set_private): the flag, then its pending
    cards withdrawn."""
    db_privacy.flag_private(conn, thread_id, user_id)
    db_proposals.withdraw_private(conn, thread_id)


def levels(conn, users, ids):
    return {(who, key): email_level(conn, users[who], ids[key]["id"]) for who in users for key in ("alpha", "beta")}


def test_levels_follow_the_most_open_holder_and_the_owner_sees_all(world):
    conn, users, boxes, ids = world
    assert set(levels(conn, users, ids).values()) == {FULL}  # the default: everything
    with atomic(conn):
        db_privacy.set_visibility(conn, boxes["ann"], "subject", users["ann"])
        db_privacy.set_visibility(conn, boxes["bob"], "metadata", users["bob"])
    seen = levels(conn, users, ids)
    assert seen[("ann", "alpha")] == seen[("ann", "beta")] == seen[("bob", "beta")] == FULL  # their own mailboxes
    assert seen[("bob", "alpha")] == SUBJECT and seen[("cat", "alpha")] == SUBJECT
    assert seen[("cat", "beta")] == SUBJECT  # max(subject, metadata)
    with atomic(conn):
        db_privacy.set_visibility(conn, boxes["ann"], "metadata", users["ann"])
    assert email_level(conn, users["cat"], ids["beta"]["id"]) == METADATA
    room = conn.execute(f"SELECT {room_safe_sql()} FROM emails e WHERE e.id = ?", (ids["beta"]["id"],)).fetchone()[0]
    assert room == 0


def test_private_conversation_leaves_only_its_holders(world):
    conn, users, _, ids = world
    with atomic(conn):
        mark_private(conn, ids["beta"]["thread_id"], users["ann"])
    assert email_level(conn, users["cat"], ids["beta"]["id"]) == HIDDEN
    assert email_level(conn, users["bob"], ids["beta"]["id"]) == FULL  # bob's mailbox holds it too
    assert db_queries.get_thread(conn, users["cat"], ids["beta"]["thread_id"]) is None
    assert email_level(conn, users["cat"], ids["alpha"]["id"]) == FULL  # other conversations untouched


def test_bcc_only_for_the_sending_mailbox(world):
    conn, users, _, ids = world
    assert sees_bcc(conn, users["ann"], ids["sent"]["id"]) and not sees_bcc(conn, users["bob"], ids["sent"]["id"])
    assert [p["email"] for p in db_queries.get_email_detail(conn, users["ann"], ids["sent"]["id"])["bcc"]] == \
        ["adv@advisors.test"]
    assert "bcc" not in db_queries.get_email_detail(conn, users["cat"], ids["sent"]["id"])


@pytest.mark.parametrize("fts", [True, False])
def test_search_reaches_only_what_the_viewer_may_read(world, fts):
    conn, users, boxes, ids = world
    if not fts:
        conn.execute("DROP TABLE emails_fts")  # a SQLite without FTS5 searches with LIKE
    with atomic(conn):
        db_privacy.set_visibility(conn, boxes["ann"], "subject", users["ann"])

    def found(who, q):
        return {t["subject"] for t in db_queries.list_threads(conn, users[who], None, q, 50, 0)[0]}
    assert found("ann", "zebra") == {"Alpha plan"}
    assert found("cat", "zebra") == set()  # the body is hidden from cat
    assert found("cat", "Alpha") == {"Alpha plan"}  # the subject is not
    assert found("cat", "kim") >= {"Alpha plan"}  # nor the people
    assert found("cat", "advisors") == set() and found("ann", "advisors") == set()  # Bcc is never searchable
    with atomic(conn):
        db_privacy.set_visibility(conn, boxes["ann"], "metadata", users["ann"])
    assert found("cat", "Alpha") == set() and "Alpha plan" not in found("cat", "kim")
    assert len(db_queries.list_threads(conn, users["cat"], None, "kim", 50, 0)[0]) == 3  # who/when still listed


def test_migration_0007_twice_on_a_populated_copy_and_old_search_rows_lose_bcc(world, tmp_path):
    import os
    import shutil

    from backend import db
    from migration_check import snapshot
    conn, users, boxes, ids = world
    with atomic(conn):
        db_privacy.set_visibility(conn, boxes["ann"], "subject", users["ann"])
        mark_private(conn, ids["beta"]["thread_id"], users["ann"])
        db_privacy.add_exclusion(conn, "mine", users["bob"], "@law.test", users["bob"])
        # A search row written before 0007, when Bcc recipients were indexed.
        conn.execute("UPDATE emails_fts SET participants = participants || ' adv@advisors.test' WHERE rowid = ?",
                     (ids["sent"]["id"],))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = str(tmp_path / "copy.db")
    shutil.copyfile(conn.execute("PRAGMA database_list").fetchone()[2], copy)
    migration = os.path.join(email_schema.MIGRATIONS_DIR, "0007_privacy.sql")
    before = snapshot(copy)
    assert before["rows"]["email_private_threads"] and before["rows"]["email_exclusions"]
    other = db.connect(copy)
    db.run_sql_file(other.cursor(), migration)
    db.run_sql_file(other.cursor(), migration)
    other.close()
    init_db(copy)
    assert snapshot(copy) == before
    other = db.connect(copy)
    other.execute("DELETE FROM email_schema_migrations WHERE name = '0007_privacy.sql'")  # as on an older database
    other.close()
    init_db(copy)
    other = db.connect(copy)
    participants = other.execute("SELECT participants FROM emails_fts WHERE rowid = ?", (ids["sent"]["id"],)).fetchone()[0]
    other.close()
    assert "advisors" not in participants and "kim@alder.vc" in participants


def test_an_exclusion_purges_one_mailbox_and_never_fetches_through_it(world, tmp_path):
    from email_integration.controls import actions as privacy
    conn, users, boxes, ids = world
    with atomic(conn):  # a download still pending from ann's copy of an email bob holds too
        conn.execute("INSERT INTO email_attachments (email_id, part_id, filename, account_id, gmail_id, "
                     "gmail_attachment_id) VALUES (?, '9', 'x.pdf', ?, 'ann1', 'att-1')", (ids["beta"]["id"], boxes["ann"]))
    ann = {"id": users["ann"], "role": "member"}
    _, created, removed = privacy.add_exclusion(conn, blob_store_for(str(tmp_path)), ann, "@Alder.vc", "mine")
    assert created and removed == 3
    remaining = {r[0] for r in conn.execute("SELECT message_id FROM emails")}
    assert remaining == {"beta@alder.vc"}  # bob's copy stays; ann's own mail is gone
    assert email_level(conn, users["bob"], ids["beta"]["id"]) == FULL
    row = conn.execute("SELECT status, account_id FROM email_attachments WHERE part_id = '9'").fetchone()
    assert tuple(row) == ("error", None)
