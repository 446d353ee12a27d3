"""Helpers for calendar tests against the emulator's Calendar v3 (contracts §6b).

    add_event(url, "ann@firm.test", event("Fund II", "2026-11-05T10:00:00Z", attendees=["kim@alder.vc"]))
    token = calendar_token(url, keys, "ann@firm.test")          # a real DWD token for calendar.events.readonly
    store = MemoryMeetings()                                    # a stand-in for calendar/meetings.apply_events

MemoryMeetings is a test stand-in for cal-store's store (its interface, nothing of its matching): it keeps
every event it is given per account, removes cancelled ones, and on a full sync drops what the list lacks.
"""
from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

from email_integration.google.credentials import DWDCredentialProvider
from email_integration.google.scopes import CALENDAR_EVENTS_READONLY_SCOPE


def call(url: str, method: str = "GET", payload=None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def add_event(base: str, user: str, resource: dict) -> dict:
    status, body = call(f"{base}/_emulator/users/{user}/events", "POST", resource)
    assert status == 200, body
    return body


def patch_event(base: str, user: str, event_id: str, fields: dict) -> int:
    return call(f"{base}/_emulator/users/{user}/events/{event_id}", "PATCH", fields)[0]


def delete_event(base: str, user: str, event_id: str) -> int:
    return call(f"{base}/_emulator/users/{user}/events/{event_id}", "DELETE")[0]


def expire_sync_tokens(base: str, user: str) -> None:
    assert call(f"{base}/_emulator/users/{user}/expire-sync-tokens", "POST", {})[0] == 200


def calendar_stats(base: str) -> dict:
    return call(f"{base}/_emulator/stats")[1]["calendar"]["users"]


def event(summary: str, start: str, minutes: int = 60, attendees=(), organizer: str | None = None,
          recurrence=None, time_zone: str | None = None, **extra) -> dict:
    """An Event resource: `start` an RFC 3339 time (a date YYYY-MM-DD for an all-day event)."""
    if len(start) == 10:
        first = dt.date.fromisoformat(start)
        when = {"start": {"date": start}, "end": {"date": (first + dt.timedelta(days=1)).isoformat()}}
    else:
        begin = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        when = {"start": {"dateTime": begin.isoformat()},
                "end": {"dateTime": (begin + dt.timedelta(minutes=minutes)).isoformat()}}
        if time_zone:
            when["start"]["timeZone"] = when["end"]["timeZone"] = time_zone
    resource = {"summary": summary, **when,
                "attendees": [{"email": a, "responseStatus": "accepted"} if isinstance(a, str) else a
                              for a in attendees], **extra}
    if organizer:
        resource["organizer"] = {"email": organizer}
    if recurrence:
        resource["recurrence"] = list(recurrence)
    return resource


def calendar_token(base: str, keys, user: str, scope: str = CALENDAR_EVENTS_READONLY_SCOPE) -> str:
    """A DWD access token (a real signed JWT-bearer assertion) for `user` and `scope`."""
    return DWDCredentialProvider(keys[0], base + "/token", scope=scope).access_token(user)


class MemoryMeetings:
    """Stand-in for calendar/meetings.apply_events (tests only): {account: {event id: event}}."""

    def __init__(self):
        self.events: dict[int, dict[str, dict]] = {}
        self.calls: list[dict] = []

    def apply_events(self, conn, account_id: int, events: list, *, full_sync: bool, now) -> dict:
        assert isinstance(now, dt.datetime) and now.tzinfo is not None
        held = self.events.setdefault(account_id, {})
        self.calls.append({"account": account_id, "full_sync": full_sync, "ids": [e["id"] for e in events]})
        kept = skipped = removed = 0
        if full_sync:
            listed = {e["id"] for e in events if e.get("status") != "cancelled"}
            for gone in [i for i in held if i not in listed]:
                del held[gone]
                removed += 1
        for item in events:
            if item.get("status") == "cancelled":
                removed += held.pop(item["id"], None) is not None
                skipped += 1
            else:
                held[item["id"]] = item
                kept += 1
        return {"kept": kept, "skipped": skipped, "removed": removed}

    def summaries(self, account_id: int) -> set:
        return {e.get("summary") for e in self.events.get(account_id, {}).values()}
