"""Google Calendar v3 Event resources as events.list(singleEvents=true) returns them, and a migrated database
with teammates, their enrolled accounts and investors, for the store of meetings (calendar/meetings.py)."""
from __future__ import annotations

import datetime as dt

from backend import investors_db
from backend.db import connect, db_path
from backend.server import init_db
from email_integration.capture import db_accounts

NOW = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.timezone.utc)
TEAM = ("ann", "ben", "cat")


def rfc3339(moment: dt.datetime, offset_hours: int = 1) -> str:
    """Google's dateTime: the local time with its offset (Berlin in winter by default)."""
    return moment.astimezone(dt.timezone(dt.timedelta(hours=offset_hours))).isoformat()


def event(owner: str, *, id="evt1", uid=None, summary="Fund II update", description="Agenda: Q1 close",
          start=None, minutes=60, attendees=("jonas@fjord.vc",), organizer=None, response="accepted",
          visibility=None, recurring=None, original_start=None, all_day=False, location="Room 1") -> dict:
    """One Event as it sits in `owner`'s calendar: `owner@firm.test` attends (self) with `response`."""
    start = start or NOW - dt.timedelta(hours=3)
    me = f"{owner}@firm.test"
    organizer = organizer or me
    people = [{"email": me, "self": True, "responseStatus": response, **({"organizer": True} if organizer == me else {})}]
    for address in attendees:
        people.append({"email": address, "displayName": address.split("@")[0].title(), "responseStatus": "accepted",
                       **({"organizer": True} if address == organizer else {})})
    resource = {"kind": "calendar#event", "etag": f'"{id}"', "id": id, "status": "confirmed",
                "htmlLink": f"https://www.google.com/calendar/event?eid={id}", "created": "2026-11-01T09:00:00.000Z",
                "updated": "2026-11-02T09:00:00.000Z", "summary": summary, "description": description,
                "location": location, "creator": {"email": organizer},
                "organizer": {"email": organizer, **({"self": True} if organizer == me else {})},
                "iCalUID": uid or f"{id}@google.com", "sequence": 0, "attendees": people, "eventType": "default"}
    if all_day:
        resource["start"] = {"date": start.date().isoformat()}
        resource["end"] = {"date": (start.date() + dt.timedelta(days=1)).isoformat()}
    else:
        resource["start"] = {"dateTime": rfc3339(start), "timeZone": "Europe/Berlin"}
        resource["end"] = {"dateTime": rfc3339(start + dt.timedelta(minutes=minutes)), "timeZone": "Europe/Berlin"}
    if visibility:
        resource["visibility"] = visibility
    if recurring:
        resource["recurringEventId"] = recurring
        resource["originalStartTime"] = {"dateTime": rfc3339(original_start or start), "timeZone": "Europe/Berlin"}
    return resource


def cancelled(id: str, recurring=None, original_start=None) -> dict:
    """A cancellation as incremental sync returns it: often only id and status."""
    found = {"kind": "calendar#event", "etag": '"x"', "id": id, "status": "cancelled"}
    if recurring:
        found["recurringEventId"] = recurring
        found["originalStartTime"] = {"dateTime": rfc3339(original_start)}
    return found


def meeting_world(tmp_path):
    """(conn, users {name: id}, accounts {name: account id}, investors {name: id}) on a migrated database."""
    path = db_path(str(tmp_path))
    init_db(path)
    conn = connect(path)
    users, accounts = {}, {}
    for name in TEAM:
        users[name] = conn.execute("INSERT INTO users (email, name, role, created_at) VALUES (?, ?, 'member', 'x')",
                                   (f"{name}@firm.test", name.title())).lastrowid
        accounts[name] = db_accounts.enroll_account(conn, f"{name}@firm.test", users[name], "dwd")[0]["id"]
    investors = {"jonas": investors_db.create_investor(conn, "Jonas Berg", "Fjord Capital", ["jonas@fjord.vc"],
                                                       ["fjord.vc"]),
                 "kim": investors_db.create_investor(conn, "Kim Lee", "LP Example", ["kim@lpexample.org"], [])}
    return conn, users, accounts, investors


def store_events(server, owner_address: str, events: list[dict], now: dt.datetime, full_sync: bool = False) -> dict:
    """As the calendar sync does (calendar/meetings.apply_events): a teammate's events applied to a running CRM's
    database (its scheduler then drafts the cards of meetings that ended)."""
    from email_integration.calendar.meetings import apply_events
    conn = connect(f"{server.data_dir}/crm.db")
    try:
        account = conn.execute("SELECT id FROM email_accounts WHERE email = ?", (owner_address,)).fetchone()[0]
        return apply_events(conn, account, events, full_sync=full_sync, now=now)
    finally:
        conn.close()


def wait_for_meeting_cards(server, count: int, timeout: float = 20.0) -> None:
    """Until the CRM's scheduler has drafted `count` meeting cards (it looks every tick, at most 5 s apart)."""
    import sqlite3
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{server.data_dir}/crm.db?mode=ro", uri=True)
        try:
            if conn.execute("SELECT count(*) FROM email_proposal_meetings").fetchone()[0] >= count:
                return
        finally:
            conn.close()
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} meeting cards after {timeout} s")
