"""What capture announces when its store changes (email_integration/capture/events.py), seen from the rooms
that listen: review's cards and relationships' stale marks stay in step, on a real SQLite database."""
import pytest

from backend import investors_db
from backend.db import atomic, connect, db_path
from backend.server import init_db
from devtools.gmail_emulator.gmail_format import message_resource
from email_integration.capture import db_accounts, events
from email_integration.capture.attachments import blob_store_for
from email_integration.capture.ingest import Ingestor
from email_integration.capture.matcher import MatcherCache
from email_integration.mail.parser import parse
from email_integration.relationships import db_relationships
from email_integration.relationships.on_capture import RelationshipsOnCapture
from email_integration.review.on_capture import ReviewOnCapture
from emulator_fixtures import make_message


@pytest.fixture
def store(tmp_path):
    init_db(db_path(str(tmp_path)))
    conn = connect(db_path(str(tmp_path)))
    kim = investors_db.create_investor(conn, "Kim Lee", "Alder", ["kim@alder.vc"], [])
    mo = investors_db.create_investor(conn, "Mo Ade", "Cedar", ["mo@cedar.partners"], [])
    user = conn.execute("INSERT INTO users (email, name, role, created_at) VALUES ('ann@firm.test', 'Ann', "
                        "'member', 'x')").lastrowid
    box = db_accounts.enroll_account(conn, "ann@firm.test", user, "dwd")[0]["id"]
    ingestor = Ingestor(conn, MatcherCache("firm.test"), blob_store_for(str(tmp_path)))

    def put(n: int, gmail_thread: str, **fields):
        raw = make_message(date=f"Mon, 0{n} Nov 2026 10:00:00 +0000", **fields)
        parsed = parse(message_resource(raw, id=f"m{n}", thread_id=gmail_thread, label_ids=["INBOX"], history_id=n,
                                        internal_date_ms=1_790_000_000_000 + n))
        with atomic(conn):
            return ingestor.store(box, parsed, ingestor.match(parsed))

    yield conn, put, {"kim": kim, "mo": mo}
    conn.close()


def cards(conn):
    return [dict(r) for r in conn.execute("SELECT investor_id, thread_id, status FROM email_proposals ORDER BY id")]


def test_both_rooms_listen_whichever_module_was_imported_first():
    names = {type(listener) for listener in events._listeners}
    assert names == {ReviewOnCapture, RelationshipsOnCapture}


def test_merged_conversations_fold_their_cards_into_the_one_that_stays(store):
    conn, put, inv = store
    put(1, "t1", message_id="<a@alder.vc>", subject="Fund II")
    put(2, "t2", message_id="<b@alder.vc>", subject="Fund II, again", cc="mo@cedar.partners")
    first, second = cards(conn)[0]["thread_id"], cards(conn)[1]["thread_id"]
    assert first != second and len(cards(conn)) == 3  # Kim in both conversations, Mo in the second
    # A reply referencing both messages proves the two conversations are one.
    put(3, "t2", message_id="<c@alder.vc>", subject="Re: Fund II",
        headers={"References": "<a@alder.vc> <b@alder.vc>"})
    threads = {r[0] for r in conn.execute("SELECT id FROM email_threads")}
    assert len(threads) == 1
    (kept,) = threads
    assert all(card["thread_id"] == kept for card in cards(conn))  # none left pointing at nothing
    pending = [(c["investor_id"]) for c in cards(conn) if c["status"] == "pending"]
    assert sorted(pending) == sorted([inv["kim"], inv["mo"]])  # Kim's second card superseded, not doubled


def test_a_merge_marks_everyone_in_either_half_stale(store):
    conn, put, inv = store
    put(1, "t1", message_id="<a@alder.vc>")
    put(2, "t2", message_id="<b@cedar.partners>", sender="Mo Ade <mo@cedar.partners>")
    with atomic(conn):
        conn.execute("DELETE FROM email_relationship_dirty")
    put(3, "t1", message_id="<c@firm.test>", sender="Ann <ann@firm.test>", to="kim@alder.vc",
        headers={"References": "<a@alder.vc> <b@cedar.partners>"})
    assert set(db_relationships.dirty_ids(conn)) == {inv["kim"], inv["mo"]}
