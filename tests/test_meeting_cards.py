"""Meeting cards (review/meeting_cards.py) on a real migrated database: one card per meeting after it ends,
the horizon on the first calendar sync, declined and private meetings, the card's shape per viewer, the
decision writing one grid note, a cancelled meeting's card withdrawn, and the intake work-lists' kind."""
import datetime as dt

import pytest

from backend.db import atomic
from email_integration.calendar.meetings import apply_events
from email_integration.privacy import db_privacy
from email_integration.review import db_intake, meeting_cards, proposals
from meeting_fixtures import NOW, cancelled, event, meeting_world


@pytest.fixture
def world(tmp_path):
    conn, users, accounts, investors = meeting_world(tmp_path)
    yield conn, users, accounts, investors
    conn.close()


def apply(conn, account, events, now=NOW):
    return apply_events(conn, account, events, full_sync=False, now=now)


def propose(conn, now=NOW):
    return meeting_cards.propose_ended_meetings(conn, now, propose_since_days=14)


def user(conn, user_id):
    return dict(conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone())


def test_one_card_per_meeting_after_it_ends_drafted_by_the_crm(world):
    conn, users, accounts, investors = world
    later = NOW + dt.timedelta(hours=2)
    for name in ("ann", "ben"):
        apply(conn, accounts[name], [event(name, id="e1", uid="u1", attendees=("jonas@fjord.vc", "kim@lpexample.org"),
                                           organizer="jonas@fjord.vc"),
                                     event(name, id="e2", uid="u2", start=later, organizer="jonas@fjord.vc")])  # not ended yet
    assert propose(conn) == {"proposed": 1, "held": 0, "declined": 0, "withdrawn": 0}
    assert propose(conn)["proposed"] == 0  # looked at once
    [card] = proposals.cards(conn, users["cat"])
    assert card["kind"] == "meeting" and card["investor"]["id"] == investors["jonas"]  # the organizer's investor
    assert card["draft"] == "Ann and Ben met Jonas Berg (Fjord Capital) and Kim Lee (LP Example) on 3 Dec: Fund II update"
    assert card["meeting"]["title"] == "Fund II update" and card["meeting"]["description"] == "Agenda: Q1 close"
    assert [t["name"] for t in card["teammates"]] == ["Ann", "Ben"] and not card["owner_only"]
    assert "email" not in card
    # Last contact moved to the meeting's start for both investors.
    last = dict(conn.execute("SELECT id, last_contact_at FROM investors").fetchall())
    assert last[investors["jonas"]] == last[investors["kim"]] == "2026-12-03T12:00:00Z"
    # Approve: one grid note, dated by the meeting.
    state = proposals.decide(conn, card["id"], "approve", user=user(conn, users["cat"]), via="web")
    note = conn.execute("SELECT investor_id, body, source, source_ref, created_at FROM grid_notes WHERE id = ?",
                        (state["note_id"],)).fetchone()
    assert tuple(note) == (investors["jonas"], card["draft"], "email", f"proposal:{card['id']} meeting:{card['meeting']['id']}",
                           "2026-12-03T12:00:00Z")
    assert proposals.cards(conn, users["cat"]) == []
    assert [c["id"] for c in proposals.decided_cards(conn, user(conn, users["cat"]), 10)] == [card["id"]]
    # The second meeting ends: its card comes.
    assert propose(conn, later + dt.timedelta(hours=2))["proposed"] == 1


def test_the_first_sync_brings_history_without_cards(world):
    conn, _users, accounts, _investors = world
    old = [event("ann", id=f"old{i}", uid=f"old{i}", start=NOW - dt.timedelta(days=30 * (i + 1))) for i in range(6)]
    recent = event("ann", id="recent", uid="recent", start=NOW - dt.timedelta(days=3))
    apply(conn, accounts["ann"], old + [recent])
    assert propose(conn) == {"proposed": 1, "held": 6, "declined": 0, "withdrawn": 0}


def test_declined_by_everyone_makes_no_card_and_no_contact(world):
    conn, _users, accounts, investors = world
    apply(conn, accounts["ann"], [event("ann", id="e1", response="declined", organizer="jonas@fjord.vc")])
    assert propose(conn)["declined"] == 1
    assert conn.execute("SELECT last_contact_at FROM investors WHERE id = ?", (investors["jonas"],)).fetchone()[0] is None


def test_a_private_event_drafts_without_its_title_and_stays_off_the_room(world):
    conn, users, accounts, _investors = world
    apply(conn, accounts["ann"], [event("ann", id="e1", visibility="private", summary="Secret term sheet")])
    propose(conn)
    assert proposals.cards(conn, users["ben"]) == []  # not its holder: no card at all
    [card] = proposals.cards(conn, users["ann"])
    assert card["owner_only"] and card["holder"]
    assert "Secret" not in card["draft"] and card["draft"] == "Ann met Jonas Berg (Fjord Capital) on 3 Dec"
    assert card["meeting"]["title"] == "Secret term sheet"  # the holder sees their own event
    assert db_intake.unposted_ids(conn, 10, "9999") == []
    assert not proposals.room_safe(conn, card["id"]) and not proposals.visible_to(conn, card["id"], users["ben"])


def test_a_narrowed_mailbox_keeps_the_card_to_its_holder(world):
    conn, users, accounts, _investors = world
    with atomic(conn):
        db_privacy.set_visibility(conn, accounts["ann"], "subject", users["ann"])
    apply(conn, accounts["ann"], [event("ann", id="e1")])
    propose(conn)
    assert proposals.cards(conn, users["ben"]) == [] and len(proposals.cards(conn, users["ann"])) == 1
    assert proposals.count(conn, "pending", users["ben"]) == 0 and proposals.count(conn, "pending", users["ann"]) == 1


def test_a_meeting_cancelled_everywhere_withdraws_its_card_and_the_room_closes_it(world):
    conn, users, accounts, _investors = world
    apply(conn, accounts["ann"], [event("ann", id="e1")])
    propose(conn)
    [card] = proposals.cards(conn, users["ann"])
    assert db_intake.unposted_ids(conn, 10, "0000") == [card["id"]]  # meeting cards wait for no model
    with atomic(conn):
        db_intake.record_posted(conn, card["id"], "!room:x", "$evt", 1)
    assert [(c["id"], c["kind"]) for c in db_intake.open_cards(conn)] == [(card["id"], "meeting")]
    assert db_intake.cards_to_close(conn) == []
    apply(conn, accounts["ann"], [cancelled("e1")])
    assert propose(conn)["withdrawn"] == 1
    assert [(c["id"], c["status"], c["kind"]) for c in db_intake.cards_to_close(conn)] == [(card["id"], "superseded",
                                                                                           "meeting")]
    assert proposals.cards(conn, users["ann"]) == []


def test_bulk_decisions_and_undo_work_on_meeting_cards(world):
    conn, users, accounts, _investors = world
    apply(conn, accounts["ann"], [event("ann", id=f"e{n}", uid=f"u{n}", start=NOW - dt.timedelta(hours=n + 2))
                                  for n in range(3)])
    propose(conn)
    ids = [c["id"] for c in proposals.cards(conn, users["ben"])]
    assert len(ids) == 3
    ben = user(conn, users["ben"])
    assert proposals.decide_many(conn, ids[:2], "approve", user=ben, via="web") == {"decided": ids[:2], "conflicts": []}
    assert conn.execute("SELECT count(*) FROM grid_notes WHERE source_ref LIKE 'proposal:% meeting:%'").fetchone()[0] == 2
    state = proposals.undo(conn, ids[0], user=ben, window_min=10)
    assert state["status"] == "pending" and state["note_id"] is None
    assert conn.execute("SELECT count(*) FROM grid_notes WHERE source_ref LIKE 'proposal:% meeting:%'").fetchone()[0] == 1
    assert sorted(c["id"] for c in proposals.cards(conn, users["ben"])) == sorted([ids[0], ids[2]])


def test_a_card_shows_others_only_the_investors_and_teammates_among_the_guests(world):
    conn, users, accounts, _investors = world
    apply(conn, accounts["ann"], [event("ann", id="e1", uid="u1", attendees=("jonas@fjord.vc", "lawyer@outside.example"))])
    assert propose(conn)["proposed"] == 1
    guests = {name: sorted(a["email"] for a in meeting_cards.cards(conn, "pending", 10, viewer_id=users[name])[0]
                           ["meeting"]["attendees"]) for name in ("ann", "ben")}
    assert guests["ann"] == ["ann@firm.test", "jonas@fjord.vc", "lawyer@outside.example"]
    assert guests["ben"] == ["ann@firm.test", "jonas@fjord.vc"]  # he sees the card (Ann's mailbox shows all), not her guest
    room = meeting_cards.cards(conn, "pending", 10)
    assert "lawyer" not in repr(room)
