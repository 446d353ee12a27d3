"""Pure parts of the relationship view: the strength formula, who-wrote-to-whom events, timeline paging."""
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.timeline import KIND_RANK, merge, parse_cursor, sort_key
from backend.web import BadRequest
from email_integration.relationships import exchanges, strength

NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.timezone.utc)


def stamp(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def decayed(days_ago: float, weight: float = 1.0) -> float:
    return strength.anchored(stamp(days_ago), weight, NOW) * strength.decay_since_epoch(NOW)


# -- the formula -------------------------------------------------------------------------------
def test_decay_halves_every_ninety_days_and_the_future_counts_as_now():
    assert decayed(0) == pytest.approx(1.0)
    assert decayed(90) == pytest.approx(0.5)
    assert decayed(180, 3.0) == pytest.approx(0.75)
    assert strength.anchored(stamp(-30), 1.0, NOW) == strength.anchored(stamp(0), 1.0, NOW)


def test_one_way_traffic_stays_low_however_much_in_either_direction():
    assert strength.score(0, 0) == 0
    assert strength.score(0, 1) == strength.score(0, 1000) == 15
    assert strength.score(0, 3 * decayed(1, 2)) == 15  # three unanswered inbound emails


def test_two_way_contact_and_meetings_count():
    # the docstring's worked figures: one reply to T's email this week (1 + 3), one meeting, both
    assert strength.score(4, 0) == 49 and strength.score(strength.MEETING_WEIGHT, 0) == 49
    assert strength.score(4 + strength.MEETING_WEIGHT, 0) == 74


def test_a_recent_two_way_exchange_beats_an_old_long_one():
    recent = strength.score(decayed(4, 3) + decayed(5), 0)
    old = sum(decayed(700, 3) + decayed(700.1) for _ in range(20))
    assert recent > strength.score(old, 0)
    assert 0 <= strength.score(old, 0) <= 10


@given(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0, 100))
def test_score_is_bounded_and_monotonic(received, sent, extra):
    base = strength.score(received, sent)
    assert 0 <= base <= 100
    assert strength.score(received + extra, sent) >= base and strength.score(received, sent + extra) >= base


def test_stored_timestamps_only():
    with pytest.raises(ValueError):
        strength.parse_iso("2026-11-26 12:00:00")


# -- events and totals ---------------------------------------------------------------------------
MATES = {"ann@firm.test": {"id": 1, "name": "Ann", "email": "ann@firm.test"},
         "ben@firm.test": {"id": 2, "name": "Ben", "email": "ben@firm.test"}}


def row(email_id, at, sender, thread=10, investor=7):
    return {"investor_id": investor, "email_id": email_id, "at": stamp(at), "thread_id": thread, "sender": sender}


def kim_side(investor_id, sender):
    return sender.endswith("@alder.vc")


def test_events_tell_replies_from_unprompted_mail_and_ignore_third_parties():
    rows = [row(1, 10, "kim@alder.vc"),                 # unprompted, to Ann and Ben
            row(2, 9, "ann@firm.test"),                 # Ann answers
            row(3, 8, "kim@alder.vc"),                  # Kim replies to both: a reply for Ann only
            row(4, 7, "lawyer@other.law"),              # a third party: nobody's event
            row(5, 6, "kim@alder.vc", thread=None)]     # no thread: its own conversation
    recipients = {1: {"ann@firm.test", "ben@firm.test"}, 3: {"ann@firm.test", "ben@firm.test"},
                  4: {"ann@firm.test"}, 5: {"ann@firm.test"}}
    found = [(u, kind) for _, u, kind, _, _ in exchanges.events(rows, recipients, MATES, kim_side)]
    assert found == [(1, "received"), (2, "received"), (1, "sent"), (1, "reply"), (2, "received"), (1, "received")]


def test_totals_count_windows_and_find_the_last_two_way_conversation():
    rows = [row(1, 400, "ann@firm.test", thread=1), row(2, 399, "kim@alder.vc", thread=1),
            row(3, 30, "ann@firm.test", thread=2), row(4, 20, "kim@alder.vc", thread=3)]
    recipients = {2: {"ann@firm.test"}, 4: {"ann@firm.test"}}
    pair = exchanges.totals(exchanges.events(rows, recipients, MATES, kim_side), NOW)[(7, 1)]
    assert pair.counts == {"sent_90d": 1, "sent_12m": 1, "received_90d": 1, "received_12m": 1, "meetings_90d": 0,
                           "meetings_12m": 0}
    assert (pair.last_sent, pair.last_received, pair.last_two_way) == (stamp(30), stamp(20), stamp(399))
    # thread 1 went both ways (two-way); threads 2 and 3 one way each
    expected = strength.score(decayed(399, 3) + decayed(400), decayed(20, 2) + decayed(30))
    assert pair.strength(NOW) == expected


def test_three_unanswered_inbound_emails_rank_below_one_two_way_exchange_of_the_same_age():
    """Issue 25 revisiting issue 17: under S = R + min(O, R + 1) three unanswered emails from the investor (R = 6)
    outranked one exchange (R = 3, O = 1); two-way contact must count more than one-way traffic either way."""
    inbound = [row(n, 5, "kim@alder.vc", thread=n) for n in (1, 2, 3)]
    exchange = [row(4, 5.01, "ann@firm.test", thread=4), row(5, 5, "kim@alder.vc", thread=4)]
    recipients = {n: {"ann@firm.test"} for n in range(1, 6)}
    one_way = exchanges.totals(exchanges.events(inbound, recipients, MATES, kim_side), NOW)[(7, 1)]
    two_way = exchanges.totals(exchanges.events(exchange, recipients, MATES, kim_side), NOW)[(7, 1)]
    assert two_way.strength(NOW) > one_way.strength(NOW)
    outbound = [row(n, 5, "ann@firm.test", thread=n) for n in (1, 2, 3)]
    assert two_way.strength(NOW) > exchanges.totals(exchanges.events(outbound, recipients, MATES, kim_side),
                                                    NOW)[(7, 1)].strength(NOW)


def test_a_meeting_is_two_way_contact():
    met = [{"investor_id": 7, "user_id": 1, "at": stamp(3), "meeting_id": 9}]
    pair = exchanges.totals(exchanges.meeting_events(met), NOW)[(7, 1)]
    assert pair.last_two_way == pair.last_meeting == stamp(3) and pair.counts["meetings_90d"] == 1
    assert pair.strength(NOW) == strength.score(decayed(3, strength.MEETING_WEIGHT), 0) == 48


# -- timeline paging -------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["yesterday", "2026-11-26", "2026-11-26T12:00:00Z~mail~1", "2026-11-26T12:00:00Z~note~",
                                 "2026-11-26T12:00:00Z~note~1234567890123", "2026-11-26T12:00:00+01:00"])
def test_bad_cursors_are_400(raw):
    with pytest.raises(BadRequest):
        parse_cursor(raw)


def older(items, kind, cursor):
    """What a source (notes, emails or cards) returns below the cursor: its SQL's condition."""
    if cursor is None:
        return items
    at, below = cursor.bound(kind)
    return [i for i in items if i["at"] < at or (i["at"] == at and i["id"] < below)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(KIND_RANK)), st.integers(0, 5)), max_size=40), st.integers(1, 7))
def test_paging_walks_every_item_once_in_order(spec, limit):
    """Same-instant items of every kind, ids shared across kinds: pages never drop or repeat one."""
    items = [{"kind": kind, "id": n, "at": f"2026-01-0{1 + t % 5}T00:00:00Z"} for n, (kind, t) in enumerate(spec)]
    by_kind = {k: sorted((i for i in items if i["kind"] == k), key=sort_key, reverse=True) for k in KIND_RANK}
    walked, cursor = [], None
    for _ in range(len(items) + 2):
        sources = [older(by_kind[k], k, cursor)[:limit + 1] for k in KIND_RANK]
        page, token = merge(sources, limit)
        walked += page
        if token is None:
            break
        cursor = parse_cursor(token)
    assert walked == sorted(items, key=sort_key, reverse=True)


def test_a_plain_timestamp_pages_strictly_before_it():
    cursor = parse_cursor("2026-01-02T00:00:00Z")
    assert all(cursor.bound(kind) == ("2026-01-02T00:00:00Z", 0) for kind in KIND_RANK)


# -- precomputed stats follow the mail ----------------------------------------------------------------
def test_stored_strength_follows_new_mail_deletions_and_new_teammates(tmp_path):
    """The grid's precomputed stats against a real sync: a reply raises them, its deletion lowers them
    again, a teammate who joins later gets their history counted; always equal to the live figure."""
    import email.utils

    from backend import investors_db, users_db
    from capture_fixtures import CaptureRig
    from devtools.make_service_account import make_service_account
    from email_integration.relationships.provider import EmailRelationships
    from emulator_fixtures import add_message, make_message, start_emulator

    keys = make_service_account(str(tmp_path / "sa"))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    try:
        (tmp_path / "data").mkdir()
        rig = CaptureRig(tmp_path / "data", emulator, keys)
        kim = rig.investor_ids[0]
        users_db.create_user(rig.conn, "ann@firm.test", "Ann", "member", None)
        account = rig.enroll("ann@firm.test")
        provider = EmailRelationships("firm.test")

        def grid_and_live():
            fact = provider.grid(rig.conn)[kim]
            live = {c["user"]["name"]: c["strength"] for c in provider.connections(rig.conn, kim, {"id": 0})}
            return fact["strength"], fact["closest"]["name"], live

        recent = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
        add_message(emulator.url, "ann@firm.test", make_message(
            sender="ann@firm.test", to="kim@alder.vc", subject="Q4", message_id="<q4@firm.test>", date=recent),
            labels="SENT")
        rig.sync(account)
        one_way = grid_and_live()
        assert one_way == (15, "Ann", {"Ann": 15})
        reply = add_message(emulator.url, "ann@firm.test", make_message(
            sender="kim@alder.vc", to="ann@firm.test", cc="ben@firm.test, counsel@law.example", subject="Re: Q4",
            in_reply_to="<q4@firm.test>",
            message_id="<re-q4@alder.vc>", date=recent))
        rig.sync(account)
        two_way = grid_and_live()
        assert two_way[0] > 40 and two_way[2] == {"Ann": two_way[0]}
        users_db.create_user(rig.conn, "ben@firm.test", "Ben", "member", None)  # cc'd before he had a login
        joined = grid_and_live()
        assert joined[:2] == two_way[:2] and 0 < joined[2]["Ben"] < joined[2]["Ann"]  # cc'd, never wrote
        assert {r["name"] for r in rig.query("SELECT u.name FROM email_relationship_stats s JOIN users u "
                                             "ON u.id = s.user_id")} == {"Ann", "Ben"}
        investors_db.update_investor(rig.conn, rig.investor_ids[1], {"firm": "Birch II"})
        # the edited investor is redone (with any edited in the same second as the last refresh saw), not all
        assert rig.investor_ids[1] in provider._stale(rig.conn, provider._basis(rig.conn)) != "all"
        provider.refresh(rig.conn)
        assert provider._stale(rig.conn, provider._basis(rig.conn)) is None
        # deleted in Gmail: the firm's record stays, and so does the strength it makes
        urllib_delete(emulator.url, "ann@firm.test", reply["id"])
        rig.sync(account)
        assert grid_and_live()[:2] == joined[:2]
        # taken out of the CRM (an exclusion's purge): the strength follows
        from email_integration.controls import actions
        actions.add_exclusion(rig.conn, rig.service.blob_store, {"id": None, "role": "admin"}, "@law.example", "firm")
        assert grid_and_live()[:2] == (15, "Ann")
        rig.close()
    finally:
        emulator.stop()


def urllib_delete(base_url, user, gmail_id):
    import urllib.request
    request = urllib.request.Request(f"{base_url}/_emulator/users/{user}/messages/{gmail_id}", method="DELETE")
    urllib.request.urlopen(request, timeout=10).close()


def test_migration_0010_on_a_database_from_before_it_twice(tmp_path):
    """A database made before 0010 (its tables and record removed) upgrades, and a second run changes nothing."""
    import sqlite3

    from backend.server import init_db
    from migration_check import snapshot

    fresh, old = str(tmp_path / "fresh.db"), str(tmp_path / "old.db")
    init_db(fresh)
    init_db(old)
    conn = sqlite3.connect(old)
    with conn:
        conn.execute("INSERT INTO investors (name, created_at, updated_at) VALUES ('Kept LP', 'x', 'x')")
        for table in ("email_relationship_stats", "email_relationship_dirty", "email_relationship_basis"):
            conn.execute(f"DROP TABLE {table}")
        for index in ("email_investor_links_investor_email", "email_proposals_investor"):
            conn.execute(f"DROP INDEX {index}")
        conn.execute("DELETE FROM email_schema_migrations WHERE name = '0010_relationships.sql'")
    conn.close()
    init_db(old)
    once = snapshot(old)
    init_db(old)
    assert snapshot(old) == once
    assert once["schema"] == snapshot(fresh)["schema"] and once["rows"]["investors"][0][1] == "Kept LP"


def test_a_busy_write_lock_serves_the_stored_stats_instead_of_failing(tmp_path):
    from backend import investors_db, users_db
    from backend.db import connect
    from backend.server import init_db
    from email_integration.relationships import db_relationships
    from email_integration.relationships.provider import EmailRelationships

    path = str(tmp_path / "crm.db")
    init_db(path)
    conn, writer = connect(path), connect(path)
    users_db.create_user(conn, "ann@firm.test", "Ann", "member", None)
    investor = investors_db.create_investor(conn, "Kim", None, ["kim@alder.vc"], [])
    provider = EmailRelationships("firm.test")
    assert provider.grid(conn) == {}
    db_relationships.mark_dirty(conn, [investor])
    conn.execute("PRAGMA busy_timeout = 50")
    writer.execute("BEGIN IMMEDIATE")  # a sync batch holding the write lock
    try:
        assert provider.grid(conn) == {}  # answered from what is stored; the dirty mark stays
    finally:
        writer.execute("ROLLBACK")
    assert db_relationships.dirty_ids(conn) == [investor]
    provider.grid(conn)
    assert db_relationships.dirty_ids(conn) == []


@pytest.mark.parametrize("raw", ["soon", "0", "-5", "36501"])
def test_a_bad_crm_stale_days_stops_the_start_naming_it(tmp_path, raw):
    from backend.settings import SettingsError, load_settings
    with pytest.raises(SettingsError, match="^CRM_STALE_DAYS: "):
        load_settings({"CRM_DATA_DIR": str(tmp_path), "CRM_STALE_DAYS": raw})
    assert load_settings({"CRM_DATA_DIR": str(tmp_path)}).stale_days == 90


def test_grid_and_investor_page_break_a_tie_at_100_the_same_way(monkeypatch):
    """Both at strength 100: the grid named the larger raw S (Ann), the investor page (_ranked) the newer
    two-way contact (Ben). Now the grid uses _ranked's order: strength 0-100, newer two-way, received, sent, id."""
    from email_integration.relationships import db_relationships, provider
    ann = {"id": 1, "name": "Ann", "email": "ann@firm.test"}
    ben = {"id": 2, "name": "Ben", "email": "ben@firm.test"}
    big, bigger = 50 * strength.SCALE, 80 * strength.SCALE  # both far past 100 on the 0-100 scale
    factor = strength.decay_since_epoch(provider._now())
    rows = [(7, 1, bigger / factor, 0.0, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            (7, 2, big / factor, 0.0, "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"),
            # equal strength and two-way contact: the newer received decides, then the newer sent
            (8, 1, big / factor, 0.0, "2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            (8, 2, bigger / factor, 0.0, "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-01-01T00:00:00Z")]
    monkeypatch.setattr(db_relationships, "stats_rows", lambda conn: rows)
    monkeypatch.setattr(db_relationships, "teammates", lambda conn: {m["email"]: m for m in (ann, ben)})
    monkeypatch.setattr(provider.db_meetings, "next_meeting_starts", lambda conn, now: {})
    monkeypatch.setattr(provider.EmailRelationships, "refresh", lambda self, conn: None)
    found = provider.EmailRelationships("firm.test").grid(None)
    assert (found[7]["strength"], found[7]["closest"]["name"]) == (100, "Ben")
    assert found[8]["closest"]["name"] == "Ben"
