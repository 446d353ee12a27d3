"""Calendar capture's sync (calendar/client.py, calendar/sync.py) over HTTP against the emulator's Calendar v3,
with the CRM's own client: full then incremental, 410 recovery with stale events removed, paging, recurring
instances, the window, and a refused calendar scope that leaves mail capture working. The store is a test
stand-in with cal-store's interface (calendar_fixtures.MemoryMeetings)."""
import datetime as dt
import urllib.parse

import pytest

from calendar_fixtures import (MemoryMeetings, add_event, calendar_stats, delete_event, event, expire_sync_tokens,
                               patch_event)
from capture_fixtures import CaptureRig
from email_integration.calendar import db_calendar_sync
from email_integration.calendar.client import CalendarClient
from email_integration.calendar.sync import CalendarService, CalendarSync, consent_scopes, status_view, window
from email_integration.config import load_config
from email_integration.google.scopes import CALENDAR_EVENTS_READONLY_SCOPE, GMAIL_READONLY_SCOPE
from email_integration.scheduler import SyncScheduler
from emulator_fixtures import add_message, make_message, start_emulator

ANN = "ann@firm.test"
NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def rig(tmp_path, emulator, keys):
    rig = CaptureRig(tmp_path, emulator, keys, CRM_CALENDAR="on")
    rig.meetings = MemoryMeetings()
    rig.calendar = CalendarService(rig.service, rig.config, apply_events=rig.meetings.apply_events)
    yield rig
    rig.close()


def sync(rig, account_id, clock=NOW, **kwargs):
    account = {"id": account_id, "email": rig.conn.execute("SELECT email FROM email_accounts WHERE id = ?",
                                                           (account_id,)).fetchone()[0], "auth_method": "dwd"}
    account.update(kwargs.pop("account", {}))
    client = kwargs.pop("client", None) or rig.calendar.client_for(account)
    return CalendarSync(rig.conn, account, client, apply_events=rig.meetings.apply_events, config=rig.config,
                        clock=lambda: clock, **kwargs).run()


def test_full_then_incremental_sync(rig, emulator):
    account = rig.enroll(ANN)
    kept = add_event(emulator.url, ANN, event("Fund II update", "2026-11-10T10:00:00Z", attendees=["kim@alder.vc"]))
    moved = add_event(emulator.url, ANN, event("Intro", "2026-11-12T10:00:00Z"))
    add_event(emulator.url, ANN, event("Long ago", "2023-01-10T10:00:00Z"))  # before the 24-month window
    add_event(emulator.url, ANN, event("Far ahead", "2027-06-10T10:00:00Z"))  # past the 90 days ahead
    first = sync(rig, account)
    assert first["status"] == "ok" and first["kind"] == "full" and first["requests"] == 1
    assert rig.meetings.summaries(account) == {"Fund II update", "Intro"}
    assert rig.meetings.calls[-1]["full_sync"] is True
    state = db_calendar_sync.get_state(rig.conn, account)
    assert state["status"] == "ok" and state["sync_token"] and state["full_syncs"] == 1
    assert state["window_start"] == "2024-11-15T00:00:00Z" and state["window_end"] == "2027-02-13T12:00:00Z"

    assert patch_event(emulator.url, ANN, moved["id"], {"summary": "Intro (moved)"}) == 200
    assert delete_event(emulator.url, ANN, kept["id"]) == 200
    second = sync(rig, account)
    assert second["kind"] == "incremental" and second["requests"] == 1 and second["events"] == 2
    assert rig.meetings.summaries(account) == {"Intro (moved)"}
    assert rig.meetings.calls[-1]["full_sync"] is False
    quiet = sync(rig, account)
    assert quiet["kind"] == "incremental" and quiet["events"] == 0 and quiet["requests"] == 1
    assert db_calendar_sync.get_state(rig.conn, account)["full_syncs"] == 1
    assert calendar_stats(emulator.url)[ANN]["calls"]["events.list"] == 3


def test_410_runs_a_full_sync_and_removes_what_disappeared(rig, emulator):
    account = rig.enroll(ANN)
    stale = add_event(emulator.url, ANN, event("Stale", "2026-11-10T10:00:00Z"))
    add_event(emulator.url, ANN, event("Stays", "2026-11-11T10:00:00Z"))
    sync(rig, account)
    # While the token is invalid the event goes, and Google would not tell: only the full listing's diff can.
    emulator.server.calendars.calendar(ANN)._events[stale["id"]]["event"]["status"] = "cancelled"
    expire_sync_tokens(emulator.url, ANN)
    result = sync(rig, account)
    assert result["status"] == "ok" and result["resynced"] is True and result["kind"] == "full"
    assert result["removed"] == 1 and rig.meetings.summaries(account) == {"Stays"}
    assert result["requests"] == 2  # the 410, then the full listing
    assert db_calendar_sync.get_state(rig.conn, account)["full_syncs"] == 2


def test_paging_and_recurring_instances(rig, emulator):
    account = rig.enroll(ANN)
    for i in range(7):
        add_event(emulator.url, ANN, event(f"M{i}", f"2026-11-0{i + 1}T10:00:00Z"))
    series = add_event(emulator.url, ANN, event("Weekly LP call", "2026-10-05T15:00:00Z", 30,
                                                attendees=["kim@alder.vc"],
                                                recurrence=["RRULE:FREQ=WEEKLY;COUNT=8"]))["id"]
    account_row = {"id": account, "email": ANN, "auth_method": "dwd"}
    client = CalendarClient(ANN, rig.calendar.provider(), rig.config)
    pages = list(client.iter_events(time_min="2026-01-01T00:00:00Z", time_max="2027-01-01T00:00:00Z", page_size=4))
    assert [len(p) for p, _ in pages] == [4, 4, 4, 3] and pages[-1][1] and not any(t for _, t in pages[:-1])
    result = sync(rig, account, account=account_row)
    assert result["events"] == 15
    instances = [e for e in rig.meetings.events[account].values() if e.get("recurringEventId") == series]
    assert len(instances) == 8 and all(e["originalStartTime"] for e in instances)
    one = sorted(instances, key=lambda e: e["start"]["dateTime"])[3]
    assert delete_event(emulator.url, ANN, one["id"]) == 200  # one occurrence cancelled
    sync(rig, account)
    assert one["id"] not in rig.meetings.events[account]
    assert len([e for e in rig.meetings.events[account].values() if e.get("recurringEventId") == series]) == 7


def test_an_edit_that_moves_an_event_out_of_the_window_removes_it(rig, emulator):
    account = rig.enroll(ANN)
    soon = add_event(emulator.url, ANN, event("Soon", "2026-11-20T10:00:00Z"))
    sync(rig, account)
    assert patch_event(emulator.url, ANN, soon["id"], {"start": {"dateTime": "2028-01-01T10:00:00Z"},
                                                        "end": {"dateTime": "2028-01-01T11:00:00Z"}}) == 200
    sync(rig, account)
    assert rig.meetings.events[account] == {}
    assert rig.meetings.calls[-1]["ids"] == [soon["id"]]


def test_the_window_is_calendar_months_back_and_days_ahead():
    config = load_config({})
    assert window(dt.datetime(2026, 3, 31, 8, tzinfo=dt.timezone.utc), config) == (
        dt.datetime(2024, 3, 31, tzinfo=dt.timezone.utc), dt.datetime(2026, 6, 29, 8, tzinfo=dt.timezone.utc))
    assert window(dt.datetime(2026, 4, 30, 8, tzinfo=dt.timezone.utc), load_config({"CRM_CALENDAR_MONTHS_BACK": "2"}))[0] \
        == dt.datetime(2026, 2, 28, tzinfo=dt.timezone.utc)
    assert load_config({"CRM_CALENDAR_POLL_SEC": "2"}).errors  # below the 10 s floor: refused, named
    assert load_config({}).calendar_poll_sec == 300 and load_config({}).calendar_enabled is False


def test_a_refused_calendar_scope_keeps_mail_working(tmp_path, keys):
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy",
                              dwd_deny_scopes=((ANN, CALENDAR_EVENTS_READONLY_SCOPE),))
    rig = CaptureRig(tmp_path, emulator, keys, CRM_CALENDAR="on")
    try:
        add_message(emulator.url, ANN, make_message(sender="Kim Lee <kim@alder.vc>", to=ANN, subject="Term sheet"))
        add_event(emulator.url, ANN, event("Fund II", "2026-11-10T10:00:00Z", attendees=["kim@alder.vc"]))
        account = rig.enroll(ANN)
        meetings = MemoryMeetings()
        scheduler = SyncScheduler(rig.service, 60, calendar=CalendarService(rig.service, rig.config,
                                                                            apply_events=meetings.apply_events))
        assert scheduler.run_calendar_now() == [account]
        assert scheduler.run_now() == [account]
        assert scheduler.wait_idle(30)
        assert rig.count("emails") == 1  # mail captured
        view = status_view(rig.conn, account, rig.config)
        assert view["status"] == "not_granted" and view["label"] == "calendar not granted"
        assert "calendar.events.readonly" in view["error"] and "Admin console" in view["error"]
        assert meetings.events == {} and rig.query("SELECT state FROM email_accounts")[0]["state"] == "idle"
    finally:
        rig.close()
        emulator.stop()


def test_an_oauth_mailbox_that_consented_to_mail_alone_is_asked_to_reconsent(rig, emulator):
    account = rig.enroll(ANN)
    from calendar_fixtures import call
    from email_integration.google.oauth_flow import consent_url
    call(f"{emulator.url}/_emulator/oauth/refresh-tokens", "POST",
         {"refresh_token": "1//emu-mail-only", "user": ANN, "scopes": [GMAIL_READONLY_SCOPE]})
    call(f"{emulator.url}/_emulator/oauth/refresh-tokens", "POST",
         {"refresh_token": "1//emu-both", "user": ANN, "scopes": list(consent_scopes(rig.config))})

    class Consented:  # what OAuthCredentialProvider hands out for the refresh token of a consent
        def __init__(self, refresh):
            self.refresh = refresh

        def access_token(self, user):
            import json
            import urllib.parse
            import urllib.request
            body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": self.refresh}).encode()
            with urllib.request.urlopen(emulator.url + "/token", body, timeout=10) as response:
                return json.loads(response.read())["access_token"]

        def invalidate(self, user):
            pass

    # consented before calendar capture: Calendar answers 403 insufficientPermissions
    result = sync(rig, account, account={"auth_method": "oauth"},
                  client=CalendarClient(ANN, Consented("1//emu-mail-only"), rig.config))
    assert result["status"] == "needs_reconsent"
    assert status_view(rig.conn, account, rig.config)["label"] == "re-consent needed for calendar"
    # consent again, with the scopes the CRM now asks for: the calendar syncs
    result = sync(rig, account, account={"auth_method": "oauth"},
                  client=CalendarClient(ANN, Consented("1//emu-both"), rig.config))
    assert result["status"] == "ok" and status_view(rig.conn, account, rig.config)["label"] == "calendar synced"
    url = consent_url("cid", "https://crm.example/cb", "st", ANN, scopes=consent_scopes(rig.config))
    assert "calendar.events.readonly" in urllib.parse.unquote(url) and "include_granted_scopes=true" in url
    assert consent_scopes(rig.config) == (GMAIL_READONLY_SCOPE, CALENDAR_EVENTS_READONLY_SCOPE)
    assert consent_scopes(load_config({})) == (GMAIL_READONLY_SCOPE,)


def test_a_store_failure_is_the_calendars_alone(rig, emulator):
    account = rig.enroll(ANN)
    add_event(emulator.url, ANN, event("x", "2026-11-10T10:00:00Z"))

    def broken(conn, account_id, events, *, full_sync, now):
        raise RuntimeError("store refused")

    account_row = {"id": account, "email": ANN, "auth_method": "dwd"}
    result = CalendarSync(rig.conn, account_row, rig.calendar.client_for(account_row), apply_events=broken,
                          config=rig.config, clock=lambda: NOW).run()
    assert result["status"] == "error"
    state = db_calendar_sync.get_state(rig.conn, account)
    assert state["status"] == "error" and "RuntimeError" in state["last_error"] and state["sync_token"] is None


def test_migration_0016_twice_on_a_copy_holding_calendar_rows(rig, emulator, tmp_path):
    from test_email_migrations import applied_twice
    account = rig.enroll(ANN)
    add_event(emulator.url, ANN, event("Fund II", "2026-11-10T10:00:00Z"))
    sync(rig, account)
    rig.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy is of the file alone
    before, after = applied_twice(rig.db_file, str(tmp_path / "copy.db"), names=["0016_calendar_sync.sql"])
    assert before["rows"]["calendar_sync_state"] and after == before


def test_the_scheduler_polls_calendars_beside_mail_and_a_crash_stops_only_the_calendar(rig, emulator):
    import time
    account = rig.enroll(ANN)
    add_message(emulator.url, ANN, make_message(sender="Kim Lee <kim@alder.vc>", to=ANN, subject="Deck"))
    add_event(emulator.url, ANN, event("Fund II", "2026-11-10T10:00:00Z", attendees=["kim@alder.vc"]))
    scheduler = SyncScheduler(rig.service, 60, calendar=rig.calendar)
    scheduler.calendar_sec = 1.0  # CRM_CALENDAR_POLL_SEC's floor is 10 s; the loop is what is under test
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (rig.meetings.calls and rig.count("emails")):
            time.sleep(0.1)
        assert rig.meetings.summaries(account) == {"Fund II"} and rig.count("emails") == 1
        patch_event(emulator.url, ANN, next(iter(rig.meetings.events[account])), {"summary": "Fund II (moved)"})
        while time.monotonic() < deadline and rig.meetings.summaries(account) != {"Fund II (moved)"}:
            time.sleep(0.1)
        assert rig.meetings.summaries(account) == {"Fund II (moved)"}  # the next poll brought the change
        rig.calendar.apply_events = lambda *a, **k: 1 / 0  # the store crashes from now on
        add_message(emulator.url, ANN, make_message(sender="Kim Lee <kim@alder.vc>", to=ANN, subject="Model"))
        patch_event(emulator.url, ANN, next(iter(rig.meetings.events[account])), {"summary": "again"})
        scheduler.run_now(poll=True)
        while time.monotonic() < deadline and (rig.count("emails") < 2 or db_calendar_sync.get_state(
                rig.conn, account)["status"] != "error"):
            time.sleep(0.1)
        assert rig.count("emails") == 2 and scheduler.running
        assert "ZeroDivisionError" in db_calendar_sync.get_state(rig.conn, account)["last_error"]
    finally:
        scheduler.stop()


def test_the_client_rides_out_calendars_rate_limit(tmp_path, keys):
    emulator = start_emulator(service_account_key=keys[1], quota_units_per_min=0, calendar_requests_per_min=120,
                              quota_window_sec=1.0)  # 2 requests a second for the user
    rig = CaptureRig(tmp_path, emulator, keys, CRM_CALENDAR="on")
    try:
        for i in range(6):
            add_event(emulator.url, ANN, event(f"M{i}", f"2026-11-0{i + 1}T10:00:00Z"))
        client = CalendarClient(ANN, CalendarService(rig.service, rig.config).provider(), rig.config)
        pages = list(client.iter_events(time_min="2026-01-01T00:00:00Z", time_max="2027-01-01T00:00:00Z",
                                        page_size=1))
        assert sum(len(p) for p, _ in pages) == 6 and pages[-1][1]
        assert calendar_stats(emulator.url)[ANN]["rate_limited"] >= 1  # refused in Google's 403 shape, retried
    finally:
        rig.close()
        emulator.stop()


def test_remove_all_drops_the_calendar_sync_state_too(rig, emulator):
    from email_integration.db import drop_capture_tables
    account = rig.enroll(ANN)
    add_event(emulator.url, ANN, event("Fund II", "2026-11-10T10:00:00Z"))
    sync(rig, account)
    assert "calendar_sync_state" in drop_capture_tables(rig.conn)
    assert not rig.query("SELECT name FROM sqlite_master WHERE name LIKE '%calendar%'")


@pytest.mark.parametrize("moment", [{"dateTime": "2026-12-03T12:00:00"}, {"dateTime": 20261203},
                                    {"dateTime": ["x"]}, {"date": 5}, {"dateTime": "noon"}, "2026-12-03"])
def test_an_unreadable_event_time_is_kept_for_the_store_not_raised_on(moment):
    """A dateTime without an offset raised TypeError (naive vs aware) and a non-string AttributeError, freezing the
    mailbox's sync every poll: unreadable times are None, the event is not outside (the store drops it)."""
    from email_integration.calendar.sync import _moment, outside
    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    assert _moment(moment) is None
    assert outside({"start": moment, "end": moment}, start, end) is False
    assert outside({"start": {"dateTime": "2026-12-03T12:00:00+01:00"}, "end": moment}, start, end) is False
