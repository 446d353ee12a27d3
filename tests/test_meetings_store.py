"""The store of meetings (calendar/meetings.py apply_events) on a real migrated database, with Event resources
shaped as Google's events.list returns them: one meeting across teammates, recurring occurrences, cancellations,
declines, what is never stored (a whole-database byte scan), exclusions, private events and visibility levels."""
import datetime as dt
import os

import pytest

from backend.db import atomic, db_path
from email_integration.calendar import db_meetings
from email_integration.calendar.meetings import MAX_ATTENDEES, apply_events
from email_integration.privacy import db_privacy
from email_integration.privacy.db_visibility import FULL, METADATA, SUBJECT
from meeting_fixtures import NOW, cancelled, event, meeting_world


@pytest.fixture
def world(tmp_path):
    conn, users, accounts, investors = meeting_world(tmp_path)
    yield conn, users, accounts, investors, tmp_path
    conn.close()


def apply(conn, account, events, full=False):
    return apply_events(conn, account, events, full_sync=full, now=NOW)


def rows(conn, sql, *params):
    return [tuple(r) for r in conn.execute(sql, params)]


def test_one_meeting_for_three_teammates_copies_each_with_their_response(world):
    conn, users, accounts, investors, _ = world
    for name, response in (("ann", "accepted"), ("ben", "tentative"), ("cat", "declined")):
        # Each calendar has its own event id for the invitation; the iCalUID is what they share.
        got = apply(conn, accounts[name], [event(name, id=f"{name}-e1", uid="fund2@fjord.vc", organizer="jonas@fjord.vc",
                                                 response=response)])
        assert got == {"kept": 1, "skipped": 0, "removed": 0}
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(1,)]
    assert sorted(rows(conn, "SELECT account_id, response_status FROM email_meeting_copies")) == sorted(
        [(accounts["ann"], "accepted"), (accounts["ben"], "tentative"), (accounts["cat"], "declined")])
    meeting = rows(conn, "SELECT id, start_at, end_at, title, organizer_email FROM email_meetings")[0]
    assert meeting[1:] == ("2026-12-03T12:00:00Z", "2026-12-03T13:00:00Z", "Fund II update", "jonas@fjord.vc")
    assert rows(conn, "SELECT investor_id, strategy FROM email_meeting_investors") == [(investors["jonas"], "exact")]


def test_recurring_instances_are_one_meeting_per_occurrence_and_a_move_keeps_the_meeting(world):
    conn, _users, accounts, _investors, _ = world
    base = NOW - dt.timedelta(days=14)
    weekly = [event("ann", id=f"series_{i}", uid="weekly@fjord.vc", recurring="series", start=base + dt.timedelta(weeks=i))
              for i in range(3)]
    assert apply(conn, accounts["ann"], weekly)["kept"] == 3
    assert rows(conn, "SELECT count(DISTINCT id), count(DISTINCT ical_uid) FROM email_meetings") == [(3, 1)]
    # One occurrence moved an hour later: the same meeting (its original start), a new start.
    moved = event("ann", id="series_1", uid="weekly@fjord.vc", recurring="series", start=base + dt.timedelta(weeks=1, hours=1),
                  original_start=base + dt.timedelta(weeks=1))
    apply(conn, accounts["ann"], [moved])
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(3,)]
    # One occurrence cancelled (incremental sync: id, status, the series and the original start)...
    assert apply(conn, accounts["ann"], [cancelled("series_2", "series", base + dt.timedelta(weeks=2))])["removed"] == 1
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(2,)]
    # ...then the whole series (its id): every occurrence goes.
    assert apply(conn, accounts["ann"], [cancelled("series")])["removed"] == 2
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(0,)]


def test_cancellation_removes_one_teammates_copy_and_the_meeting_with_the_last(world):
    conn, _users, accounts, _investors, _ = world
    for name in ("ann", "ben"):
        apply(conn, accounts[name], [event(name, id="e1", uid="u1")])
    assert apply(conn, accounts["ann"], [cancelled("e1")]) == {"kept": 0, "skipped": 0, "removed": 1}
    assert rows(conn, "SELECT account_id FROM email_meeting_copies") == [(accounts["ben"],)]
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(1,)]
    apply(conn, accounts["ben"], [cancelled("e1")])
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(0,)]
    assert rows(conn, "SELECT count(*) FROM email_meeting_attendees") == [(0,)]
    # A cancellation of something never stored (a personal event) is skipped, nothing written.
    assert apply(conn, accounts["ann"], [cancelled("dentist")]) == {"kept": 0, "skipped": 1, "removed": 0}


def test_full_sync_removes_what_is_no_longer_listed_for_that_account_only(world):
    conn, _users, accounts, _investors, _ = world
    apply(conn, accounts["ann"], [event("ann", id="a1", uid="u1"), event("ann", id="a2", uid="u2")])
    apply(conn, accounts["ben"], [event("ben", id="b2", uid="u2")])
    assert apply(conn, accounts["ann"], [event("ann", id="a1", uid="u1")], full=True) == {"kept": 1, "skipped": 0,
                                                                                         "removed": 1}
    assert sorted(rows(conn, "SELECT account_id, event_id FROM email_meeting_copies")) == sorted(
        [(accounts["ann"], "a1"), (accounts["ben"], "b2")])
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(2,)]


def all_bytes(tmp_path) -> bytes:
    path = db_path(str(tmp_path))
    return b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))


def test_events_left_out_leave_nothing_in_the_database_file(world):
    """No investor, all-day, too many attendees, free-mail only: not a byte of title, description or attendee."""
    conn, _users, accounts, investors, tmp_path = world
    crowd = tuple(f"p{i}@conference.example" for i in range(MAX_ATTENDEES)) + ("jonas@fjord.vc",)
    left_out = [event("ann", id="p1", summary="Zanzibar dentist", description="Xylophone root canal",
                      attendees=("drquill@clinicexample.test",)),
                event("ann", id="p2", summary="Quokka offsite", description="Yodel", all_day=True),
                event("ann", id="p3", summary="Wombat summit", description="Vortex", attendees=crowd),
                event("ann", id="p4", summary="Narwhal lunch", description="Umber", attendees=("narwhal.friend@gmail.com",))]
    assert apply(conn, accounts["ann"], left_out) == {"kept": 0, "skipped": 4, "removed": 0}
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = all_bytes(tmp_path)
    for secret in (b"Zanzibar", b"Xylophone", b"drquill", b"clinicexample", b"Quokka", b"Yodel", b"Wombat", b"Vortex",
                   b"conference.example", b"Narwhal", b"Umber", b"narwhal.friend", b"p1@google", b"p2@google"):
        assert secret not in data, secret
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(0,)]


def test_a_stored_meeting_that_loses_its_investor_is_removed(world):
    conn, _users, accounts, _investors, _ = world
    apply(conn, accounts["ann"], [event("ann", id="e1")])
    got = apply(conn, accounts["ann"], [event("ann", id="e1", attendees=("friend@elsewhere.example",))])
    assert got == {"kept": 0, "skipped": 1, "removed": 1}
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(0,)]


def test_exclusions_apply_to_attendees(world):
    conn, users, accounts, _investors, _ = world
    with atomic(conn):
        db_privacy.add_exclusion(conn, "mine", users["ann"], "@fjord.vc", users["ann"])
        db_privacy.add_exclusion(conn, "mine", users["ben"], "therapist@care.example", users["ben"])
    assert apply(conn, accounts["ann"], [event("ann", id="e1")])["skipped"] == 1  # its only investor is excluded
    # An excluded attendee beside an investor keeps the whole event out, as for mail.
    assert apply(conn, accounts["ben"], [event("ben", id="e2", attendees=("kim@lpexample.org", "Therapist@care.example"))]
                 )["skipped"] == 1
    assert apply(conn, accounts["cat"], [event("cat", id="e1")])["kept"] == 1  # not Cat's exclusion
    assert rows(conn, "SELECT account_id FROM email_meeting_copies") == [(accounts["cat"],)]


def levels(conn, users, meeting_id):
    found = {}
    for name, user_id in users.items():
        expr, params = db_meetings.level_sql(user_id)
        found[name] = conn.execute(f"SELECT {expr} FROM email_meetings m WHERE m.id = ?", (*params, meeting_id)).fetchone()[0]
    return found


def test_private_events_and_visibility_levels(world):
    conn, users, accounts, _investors, _ = world
    apply(conn, accounts["ann"], [event("ann", id="e1", uid="u1")])
    meeting_id = rows(conn, "SELECT id FROM email_meetings")[0][0]
    assert levels(conn, users, meeting_id) == {"ann": FULL, "ben": FULL, "cat": FULL}
    with atomic(conn):
        db_privacy.set_visibility(conn, accounts["ann"], "subject", users["ann"])
    assert levels(conn, users, meeting_id) == {"ann": FULL, "ben": SUBJECT, "cat": SUBJECT}
    with atomic(conn):
        db_privacy.set_visibility(conn, accounts["ann"], "everything", users["ann"])
    apply(conn, accounts["ann"], [event("ann", id="e1", uid="u1", visibility="private")])
    assert levels(conn, users, meeting_id) == {"ann": FULL, "ben": METADATA, "cat": METADATA}
    found = conn.execute(f"SELECT {db_meetings.room_safe_sql()} FROM email_meetings m").fetchone()[0]
    assert found == 0
    # Not shown at all to whom the calendar does not hold it (was: its exact time, guests and replies).
    assert db_meetings.next_meeting(conn, users["ben"], _investors["jonas"], "2026-01-01T00:00:00Z") is None
    own = db_meetings.next_meeting(conn, users["ann"], _investors["jonas"], "2026-01-01T00:00:00Z")
    assert own["title"] == "Fund II update" and own["description"] == "Agenda: Q1 close"


def test_migration_0017_twice_on_a_copy_holding_meetings_and_cards(world):
    from email_integration.review.meeting_cards import propose_ended_meetings
    from test_email_migrations import applied_twice
    conn, _users, accounts, _investors, tmp_path = world
    apply(conn, accounts["ann"], [event("ann", id="e1", uid="u1"), event("ann", id="e2", uid="u2", visibility="private")])
    apply(conn, accounts["ben"], [event("ben", id="e1", uid="u1", response="declined")])
    propose_ended_meetings(conn, NOW, propose_since_days=14)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before, after = applied_twice(db_path(str(tmp_path)), str(tmp_path / "copy.db"),
                                  names=["0017_meetings.sql"])
    assert before["rows"]["email_meetings"] and before["rows"]["email_proposal_meetings"]
    assert after == before


def test_migration_0018_twice_and_its_backfill_of_meetings_stored_before(world):
    from backend import db
    from email_integration import db as email_db
    from test_email_migrations import applied_twice
    conn, users, accounts, _investors, tmp_path = world
    apply(conn, accounts["ann"], [event("ann", id="e1", uid="u1", attendees=("jonas@fjord.vc", "kim@lpexample.org"))])
    apply(conn, accounts["ben"], [event("ben", id="e1", uid="u1", organizer="ann@firm.test")])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before, after = applied_twice(db_path(str(tmp_path)), str(tmp_path / "copy.db"), names=["0018_meeting_copies.sql"])
    assert before["rows"]["email_meeting_copy_fields"] and after == before
    # A database from before 0018: the copies' own fields and the shared view's copy are filled in.
    with atomic(conn):
        conn.execute("DELETE FROM email_meeting_copy_fields")
        conn.execute("DELETE FROM email_meeting_shared")
    db.run_sql_file(conn.cursor(), os.path.join(email_db.MIGRATIONS_DIR, "0018_meeting_copies.sql"))
    assert rows(conn, "SELECT account_id, title, addresses FROM email_meeting_copy_fields ORDER BY account_id") == [
        (accounts["ann"], "Fund II update", "ann@firm.test,jonas@fjord.vc,kim@lpexample.org"),
        (accounts["ben"], "Fund II update", "ann@firm.test,jonas@fjord.vc,kim@lpexample.org")]
    assert rows(conn, "SELECT account_id FROM email_meeting_shared") == [(accounts["ann"],)]
    assert levels(conn, users, 1)["ben"] == FULL  # his copy lists what the shared view lists


def test_an_exclusion_added_later_removes_that_calendars_meetings_with_those_people(world):
    from email_integration.capture.attachments import blob_store_for
    from email_integration.controls import actions
    conn, users, accounts, _investors, tmp_path = world
    for name in ("ann", "ben"):
        apply(conn, accounts[name], [event(name, id="e1", uid="u1", attendees=("jonas@fjord.vc", "doc@care.example"))])
    ann = dict(conn.execute("SELECT * FROM users WHERE id = ?", (users["ann"],)).fetchone())
    actions.add_exclusion(conn, blob_store_for(str(tmp_path)), ann, "doc@care.example", "mine")
    assert rows(conn, "SELECT account_id FROM email_meeting_copies") == [(accounts["ben"],)]  # Ben's copy stays


def test_rematch_follows_the_investors_addresses(world):
    from backend import investors_db
    from email_integration.calendar.meetings import rematch
    conn, _users, accounts, investors, _ = world
    apply(conn, accounts["ann"], [event("ann", id="e1", uid="u1", attendees=("jonas@fjord.vc", "kim@lpexample.org"))])
    apply(conn, accounts["ann"], [event("ann", id="e2", uid="u2", attendees=("kim@lpexample.org",))])
    investors_db.update_investor(conn, investors["kim"], {"emails": ["kim@new-lp.example"]})  # her address changed
    assert rematch(conn) == {"meetings": 2, "relinked": 1, "removed": 1}
    assert rows(conn, "SELECT m.ical_uid, l.investor_id FROM email_meetings m JOIN email_meeting_investors l "
                      "ON l.meeting_id = m.id") == [("u1", investors["jonas"])]
    assert rows(conn, "SELECT count(*) FROM email_meeting_copies") == [(1,)]


def test_the_attendee_limit_is_a_setting(world, monkeypatch):
    from email_integration.config import CONFIG
    conn, _users, accounts, _investors, _ = world
    monkeypatch.setattr(CONFIG, "calendar_max_attendees", 2)
    three = ("jonas@fjord.vc", "a@elsewhere.example")  # with the owner: three people
    assert apply(conn, accounts["ann"], [event("ann", id="e1", attendees=three)])["skipped"] == 1
    monkeypatch.setattr(CONFIG, "calendar_max_attendees", 3)
    assert apply(conn, accounts["ann"], [event("ann", id="e1", attendees=three)])["kept"] == 1


# -- each copy its own; the shared view from one copy (adversarial review of calendar capture) -----------------
def titles(conn, users, investor_id, when="2026-01-01T00:00:00Z"):
    """{teammate: (title, description, attendee addresses)} of the investor's next meeting as each sees it."""
    found = {}
    for name, user_id in users.items():
        shown = db_meetings.next_meeting(conn, user_id, investor_id, when)
        people = db_meetings.shown_attendees(conn, [shown])[shown["id"]] if shown else []
        found[name] = shown and (shown["title"], shown["description"], sorted(p["email"] for p in people))
    return found


def test_an_invitees_own_copy_never_reaches_the_shared_view(world):
    from email_integration.review.meeting_cards import propose_ended_meetings
    conn, users, accounts, investors, _ = world
    # Ben's calendar synced first; his copy has his private notes and a guest of his own.
    apply(conn, accounts["ben"], [event("ben", id="b1", uid="u1", organizer="ann@firm.test", summary="BEN NOTES",
                                        description="BEN SECRET", attendees=("jonas@fjord.vc", "ann@firm.test",
                                                                              "spouse@home.example"))])
    # Ann organizes it: her copy is the shared view; Cat (a later invitee) edited hers — it never is.
    apply(conn, accounts["ann"], [event("ann", id="a1", uid="u1", attendees=("jonas@fjord.vc", "ben@firm.test",
                                                                             "cat@firm.test"))])
    apply(conn, accounts["cat"], [event("cat", id="c1", uid="u1", organizer="ann@firm.test", summary="CAT NOTES",
                                        attendees=("jonas@fjord.vc", "ann@firm.test"))])
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(1,)]
    assert rows(conn, "SELECT title, description FROM email_meetings") == [("Fund II update", "Agenda: Q1 close")]
    assert sorted(db_meetings.attendee_addresses(conn, 1)) == ["ann@firm.test", "ben@firm.test", "cat@firm.test",
                                                               "jonas@fjord.vc"]
    seen = titles(conn, users, investors["jonas"])
    assert seen["ann"][:2] == ("Fund II update", "Agenda: Q1 close")
    assert seen["ben"] == ("BEN NOTES", "BEN SECRET", ["ann@firm.test", "ben@firm.test", "jonas@fjord.vc",
                                                       "spouse@home.example"])  # his own copy
    assert seen["cat"][0] == "CAT NOTES"
    assert "BEN" not in repr(seen["ann"]) + repr(seen["cat"]) and "spouse" not in repr(seen["ann"]) + repr(seen["cat"])
    propose_ended_meetings(conn, NOW, propose_since_days=14)
    drafts = repr(rows(conn, "SELECT draft FROM email_proposals"))
    assert "Fund II update" in drafts and "BEN" not in drafts and "CAT" not in drafts
    # Without an organizing teammate the copy stored first stays the shared view; the organizer's copy going
    # away hands it to the earliest copy left.
    apply(conn, accounts["ann"], [cancelled("a1")])
    assert rows(conn, "SELECT title FROM email_meetings") == [("BEN NOTES",)]
    apply(conn, accounts["cat"], [event("cat", id="c1", uid="u1", organizer="ann@firm.test", summary="CAT AGAIN",
                                        attendees=("jonas@fjord.vc", "ann@firm.test"))])
    assert rows(conn, "SELECT title FROM email_meetings") == [("BEN NOTES",)]


def test_a_planted_ical_uid_is_its_own_meeting_never_the_teammates(world):
    conn, users, accounts, investors, _ = world
    with atomic(conn):
        db_privacy.set_visibility(conn, accounts["cat"], "everything", users["cat"])
    apply(conn, accounts["ann"], [event("ann", id="a1", uid="u1", summary="ANN TITLE", description="ANN SECRET",
                                        visibility="private")])
    ann_meeting = rows(conn, "SELECT id FROM email_meetings")[0][0]
    # Cat plants Ann's iCalUID in her own calendar with another investor: her organizer (herself) disagrees.
    apply(conn, accounts["cat"], [event("cat", id="c1", uid="u1", summary="REWRITTEN", attendees=("kim@lpexample.org",))])
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(2,)]
    assert rows(conn, "SELECT account_id FROM email_meeting_copies WHERE meeting_id = ?", ann_meeting) == [(accounts["ann"],)]
    assert rows(conn, "SELECT title FROM email_meetings WHERE id = ?", ann_meeting) == [("ANN TITLE",)]
    assert levels(conn, users, ann_meeting)["cat"] == METADATA
    assert db_meetings.next_meeting(conn, users["cat"], investors["jonas"], "2026-01-01T00:00:00Z") is None
    # A start that disagrees: the same.
    apply(conn, accounts["cat"], [event("cat", id="c2", uid="u1", organizer="ann@firm.test",
                                        start=NOW - dt.timedelta(hours=5))])
    assert rows(conn, "SELECT account_id FROM email_meeting_copies WHERE meeting_id = ?", ann_meeting) == [(accounts["ann"],)]
    # Organizer and start copied too (events.import): she joins as a holder, yet sees only her own copy in full.
    apply(conn, accounts["cat"], [event("cat", id="c3", uid="u1", organizer="ann@firm.test", summary="PLANTED",
                                        description="", attendees=("jonas@fjord.vc", "ann@firm.test"))])
    assert len(rows(conn, "SELECT 1 FROM email_meeting_copies WHERE meeting_id = ?", ann_meeting)) == 2
    assert levels(conn, users, ann_meeting)["cat"] == METADATA and levels(conn, users, ann_meeting)["ann"] == FULL
    [shown] = [m for m in db_meetings.meetings_of_investor(conn, users["cat"], investors["jonas"], None, 10,
                                                           "2027-01-01T00:00:00Z") if m["id"] == ann_meeting]
    assert shown["title"] == "PLANTED" and "ANN" not in repr(shown)
    assert rows(conn, "SELECT title, description FROM email_meetings WHERE id = ?", ann_meeting) == [
        ("ANN TITLE", "ANN SECRET")]


def test_an_invitee_synced_before_the_organizer_moved_it_rejoins_the_meeting(world):
    conn, _users, accounts, _investors, _ = world
    moved = NOW - dt.timedelta(hours=2)
    for name in ("ann", "ben"):
        apply(conn, accounts[name], [event(name, id=f"{name}1", uid="u1", organizer="jonas@fjord.vc")])
    apply(conn, accounts["ben"], [event("ben", id="ben1", uid="u1", organizer="jonas@fjord.vc", start=moved)])
    assert rows(conn, "SELECT count(*) FROM email_meetings") == [(2,)]  # Ben's start disagrees for now
    apply(conn, accounts["ann"], [event("ann", id="ann1", uid="u1", organizer="jonas@fjord.vc", start=moved)])
    assert rows(conn, "SELECT count(*), min(ical_uid) FROM email_meetings") == [(1, "u1")]
    assert rows(conn, "SELECT count(*) FROM email_meeting_copies") == [(2,)]


def test_a_private_meeting_is_not_shown_or_counted_for_others_and_guests_are_redacted(world):
    conn, users, accounts, investors, _ = world
    apply(conn, accounts["ann"], [event("ann", id="a1", uid="u1", attendees=("jonas@fjord.vc", "lawyer@outside.example"),
                                        start=NOW + dt.timedelta(days=1))])
    seen = titles(conn, users, investors["jonas"])
    assert seen["ann"][2] == ["ann@firm.test", "jonas@fjord.vc", "lawyer@outside.example"]
    assert seen["ben"][2] == ["ann@firm.test", "jonas@fjord.vc"]  # an outsider's address only to the holder
    stamp = "2026-12-03T15:00:00Z"
    assert db_meetings.next_meeting_starts(conn, stamp) == {investors["jonas"]: "2026-12-04T15:00:00Z"}
    apply(conn, accounts["ann"], [event("ann", id="a1", uid="u1", visibility="private", start=NOW + dt.timedelta(days=1)),
                                  event("ann", id="a2", uid="u2", visibility="confidential")])
    seen = titles(conn, users, investors["jonas"])
    assert seen["ann"] and seen["ben"] is None and seen["cat"] is None
    assert db_meetings.next_meeting_starts(conn, stamp) == {}
    assert db_meetings.attended_rows(conn) == []
    assert [m["id"] for m in db_meetings.meetings_of_investor(conn, users["ben"], investors["jonas"], None, 10,
                                                              "2027-01-01T00:00:00Z")] == []
    assert len(db_meetings.meetings_of_investor(conn, users["ann"], investors["jonas"], None, 10,
                                                "2027-01-01T00:00:00Z")) == 2


def test_an_unanswered_invitation_is_not_a_meeting_that_happened(world):
    from email_integration.review.meeting_cards import propose_ended_meetings
    conn, _users, accounts, investors, _ = world
    # An outsider's .ics with an investor organizer, never answered; and one to come.
    apply(conn, accounts["ben"], [event("ben", id="b1", uid="u1", organizer="jonas@fjord.vc", response="needsAction"),
                                  event("ben", id="b2", uid="u2", organizer="jonas@fjord.vc", response="needsAction",
                                        start=NOW + dt.timedelta(days=1))])
    assert db_meetings.attended_rows(conn) == []
    assert db_meetings.next_meeting_starts(conn, "2026-12-03T15:00:00Z") == {}
    assert propose_ended_meetings(conn, NOW, propose_since_days=14)["proposed"] == 0
    assert rows(conn, "SELECT last_contact_at FROM investors WHERE id = ?", investors["jonas"]) == [(None,)]
    # Tentative counts; so does the teammate's own meeting.
    apply(conn, accounts["ann"], [event("ann", id="a3", uid="u3")])
    apply(conn, accounts["ben"], [event("ben", id="b1", uid="u1", organizer="jonas@fjord.vc", response="tentative")])
    assert len(db_meetings.attended_rows(conn)) == 2
