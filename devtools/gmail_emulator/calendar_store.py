"""Per-user primary calendars for the emulator (contracts §6b): events, their changes, sync tokens.

Every change (add, patch, delete) takes the calendar's next sequence number; a sync token names the
number it was issued at, so an incremental listing returns what changed after it, deletions included
(status "cancelled", only id guaranteed, as Google documents). `expire_sync_tokens()` makes every token
issued so far answer 410 fullSyncRequired. A deleted event stays as a tombstone so later syncs see it.
Occurrences of a recurring event are expanded on listing (recurrence.py); an occurrence changed or
deleted through the control API (by its instance id) becomes an exception of its series.
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import threading

from . import recurrence
from .recurrence import UTC, UnsupportedRecurrence

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")  # Google's rule for ids a client chooses (base32hex)
READONLY_FIELDS = ("kind", "etag", "htmlLink", "created", "updated", "recurringEventId", "originalStartTime")


class SyncTokenGone(LookupError):
    """The sync token is older than the calendar keeps (410 fullSyncRequired)."""


class BadToken(ValueError):
    """A page or sync token this calendar did not issue."""


class BadEvent(ValueError):
    """An Event resource the control API or the loader cannot take."""


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


class Calendar:
    """One user's primary calendar; thread-safe."""

    def __init__(self, address: str):
        self.address = address.lower()
        self._events: dict[str, dict] = {}  # id → {"event", "seq", "born", "exceptions": {instance id: seq}}
        self._seq = 0
        self._oldest_valid = 0
        self._lock = threading.RLock()
        self._token_key = secrets.token_hex(4)

    # -- changes ------------------------------------------------------------------------------
    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def add(self, resource: dict) -> dict:
        if not isinstance(resource, dict):
            raise BadEvent("an Event resource is a JSON object")
        event = {k: copy.deepcopy(v) for k, v in resource.items() if k not in READONLY_FIELDS}
        with self._lock:
            event_id = event.get("id") or self._new_id()
            if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id) or event_id in self._events:
                raise BadEvent(f"event id {event_id!r} is taken or not [a-v0-9]{{5,1024}}")
            event["id"] = event_id
            event.setdefault("iCalUID", f"{event_id}@google.com")
            event.setdefault("status", "confirmed")
            event.setdefault("sequence", 0)
            _check(event)
            now = _now()
            event["created"] = event["updated"] = recurrence.rfc3339(now)
            seq = self._next()
            self._events[event_id] = {"event": event, "seq": seq, "born": seq, "exceptions": {}}
            return {"id": event_id, "iCalUID": event["iCalUID"]}

    def _new_id(self) -> str:
        return "e" + secrets.token_hex(12)

    def patch(self, event_id: str, fields: dict) -> dict:
        if not isinstance(fields, dict):
            raise BadEvent("a patch is a JSON object")
        with self._lock:
            master_id, original = self._split(event_id)
            entry = self._events.get(master_id)
            if entry is None or entry["event"]["status"] == "cancelled":
                raise KeyError(event_id)
            event = entry["event"]
            if original is not None:  # an occurrence: kept as an override of the series
                overrides = event.setdefault("_overrides", {})
                overrides[event_id] = {**overrides.get(event_id, {}),
                                       **{k: v for k, v in fields.items() if k not in READONLY_FIELDS + ("id",)}}
                entry["exceptions"][event_id] = self._next()
                return {"id": event_id, "iCalUID": event["iCalUID"]}
            updated = {**event, **{k: copy.deepcopy(v) for k, v in fields.items()
                                   if k not in READONLY_FIELDS + ("id", "iCalUID")}}
            _check(updated)
            updated["sequence"] = int(event.get("sequence", 0)) + 1
            updated["updated"] = recurrence.rfc3339(_now())
            entry["event"], entry["seq"] = updated, self._next()
            return {"id": event_id, "iCalUID": updated["iCalUID"]}

    def delete(self, event_id: str) -> bool:
        with self._lock:
            master_id, original = self._split(event_id)
            entry = self._events.get(master_id)
            if entry is None or entry["event"]["status"] == "cancelled":
                return False
            if original is not None:
                entry["event"].setdefault("_overrides", {})[event_id] = {"status": "cancelled"}
                entry["exceptions"][event_id] = self._next()
                return True
            entry["event"] = {**entry["event"], "status": "cancelled", "updated": recurrence.rfc3339(_now())}
            entry["seq"] = self._next()
            return True

    def _split(self, event_id: str) -> tuple[str, str | None]:
        """(series id, occurrence suffix) of an instance id; (id, None) for an event of its own."""
        if event_id in self._events:
            return event_id, None
        master, sep, suffix = event_id.rpartition("_")
        if sep and master in self._events and self._events[master]["event"].get("recurrence"):
            return master, suffix
        return event_id, None

    def expire_sync_tokens(self) -> int:
        with self._lock:
            self._oldest_valid = self._next()
            return self._oldest_valid

    # -- tokens -------------------------------------------------------------------------------
    def sync_token(self, seq: int) -> str:
        raw = json.dumps({"u": self.address, "k": self._token_key, "s": seq}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def read_sync_token(self, token: str) -> int:
        data = _decode(token)
        if data.get("u") != self.address or data.get("k") != self._token_key or not isinstance(data.get("s"), int):
            raise BadToken("syncToken was not issued for this calendar")
        if data["s"] < self._oldest_valid:
            raise SyncTokenGone(token)
        return data["s"]

    @staticmethod
    def page_token(offset: int, snapshot: int, fingerprint: str) -> str:
        raw = json.dumps({"o": offset, "s": snapshot, "f": fingerprint}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def read_page_token(token: str, fingerprint: str) -> tuple[int, int]:
        data = _decode(token)
        if data.get("f") != fingerprint or not isinstance(data.get("o"), int) or not isinstance(data.get("s"), int):
            raise BadToken("pageToken does not belong to this query (every parameter but pageToken must repeat)")
        return data["o"], data["s"]

    # -- listing ------------------------------------------------------------------------------
    def listing(self, *, since: int | None, snapshot: int | None, single: bool, show_deleted: bool,
                time_min: dt.datetime | None, time_max: dt.datetime | None, order_by: str | None = None,
                ical_uid: str | None = None) -> tuple[list[dict], int]:
        """(every item of the listing, in a stable order; the sequence number it was taken at).
        `since`: a sync token's number (incremental: changed items only, cancelled ones included)."""
        with self._lock:
            snapshot = self._seq if snapshot is None else snapshot
            items = []
            for entry in sorted(self._events.values(), key=lambda e: e["born"]):
                if entry["born"] > snapshot:
                    continue
                event = entry["event"]
                if ical_uid and event.get("iCalUID") != ical_uid:
                    continue
                changed = entry["seq"] > since if since is not None else True
                if single and event.get("recurrence"):
                    items.extend(self._instances(entry, since, snapshot, changed, show_deleted or since is not None,
                                                 time_min, time_max))
                    continue
                if since is not None and not changed:
                    continue
                if event["status"] == "cancelled":
                    if since is not None or show_deleted:
                        items.append(_tombstone(event))
                    continue
                if since is None and not _overlaps(event, time_min, time_max):
                    continue
                items.append(_public(event, self.address))
            if order_by == "startTime":
                items.sort(key=lambda e: recurrence.bounds(e)[0] if e.get("start") else dt.datetime.min.replace(tzinfo=UTC))
            elif order_by == "updated":
                items.sort(key=lambda e: e.get("updated", ""))
            return items, snapshot

    def _instances(self, entry, since, snapshot, changed, show_deleted, time_min, time_max) -> list[dict]:
        master = entry["event"]
        overrides = master.get("_overrides", {})
        exceptions = entry["exceptions"]
        rule = recurrence.parse_rule(master["recurrence"])
        start, end = recurrence.bounds(master)
        length = end - start
        out = []
        horizon = time_max if since is None else None
        for occurrence in recurrence.occurrences(master, rule, horizon):
            iid = recurrence.instance_id(master["id"], occurrence)
            if since is not None and not changed and not (since < exceptions.get(iid, 0) <= snapshot):
                continue
            original = recurrence.when(occurrence, master["start"])
            begin = occurrence if isinstance(occurrence, dt.datetime) else \
                dt.datetime.combine(occurrence, dt.time(), UTC)
            instance = {k: v for k, v in master.items() if k not in ("recurrence", "_overrides")}
            instance.update({"id": iid, "recurringEventId": master["id"], "originalStartTime": original,
                             "start": original, "end": recurrence.when(
                                 begin + length if isinstance(occurrence, dt.datetime) else (begin + length).date(),
                                 master["end"])})
            instance.update(copy.deepcopy(overrides.get(iid, {})))
            if master["status"] == "cancelled" or instance.get("status") == "cancelled":
                if show_deleted:
                    out.append(_tombstone(instance))
                continue
            if since is None and not _overlaps(instance, time_min, time_max):
                continue
            out.append(_public(instance, self.address))
        return out

    def count(self) -> int:
        with self._lock:
            return len(self._events)


def _overlaps(event: dict, time_min, time_max) -> bool:
    """Google's window: timeMin bounds an event's end (exclusive), timeMax its start (exclusive)."""
    start, end = recurrence.bounds(event)
    return (time_min is None or end > time_min) and (time_max is None or start < time_max)


def _public(event: dict, owner: str) -> dict:
    """The Event resource as Google returns it: kind, etag, htmlLink, and `self` where it is the owner."""
    out = {k: copy.deepcopy(v) for k, v in event.items() if not k.startswith("_")}
    out["kind"] = "calendar#event"
    out["etag"] = _etag(out)
    out["htmlLink"] = "https://www.google.com/calendar/event?eid=" + \
        base64.urlsafe_b64encode(f"{out['id']} {owner}".encode()).decode().rstrip("=")
    out.setdefault("eventType", "default")
    out.setdefault("creator", {"email": owner})
    out.setdefault("organizer", {"email": owner})
    for person in [out["creator"], out["organizer"], *out.get("attendees", [])]:
        if isinstance(person, dict) and str(person.get("email", "")).lower() == owner:
            person["self"] = True
    return out


def _tombstone(event: dict) -> dict:
    """A cancelled event on an incremental listing: Google guarantees only the id."""
    out = {"kind": "calendar#event", "id": event["id"], "status": "cancelled"}
    for key in ("recurringEventId", "originalStartTime", "updated"):
        if key in event:
            out[key] = copy.deepcopy(event[key])
    out["etag"] = _etag(out)
    return out


def _etag(event: dict) -> str:
    digest = hashlib.sha1(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{int(digest[:15], 16)}"'


def _decode(token: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise BadToken("token is malformed") from None
    if not isinstance(data, dict):
        raise BadToken("token is malformed")
    return data


def _check(event: dict) -> None:
    """What Google itself requires of an event: start and end of one kind, end after start, a known status,
    attendees as objects with an email; and a recurrence the emulator can expand."""
    try:
        start, end = recurrence.bounds(event)
    except (ValueError, TypeError) as exc:
        raise BadEvent(f"start/end: {exc}") from None
    if ("date" in event["start"]) != ("date" in event["end"]):
        raise BadEvent("start and end must both be dates or both be dateTimes")
    if end <= start and not ("date" in event["start"] and end == start):
        raise BadEvent("The specified time range is empty.")
    if event.get("status") not in ("confirmed", "tentative", "cancelled"):
        raise BadEvent(f"status {event.get('status')!r} is not confirmed, tentative or cancelled")
    attendees = event.get("attendees", [])
    if not isinstance(attendees, list) or any(not isinstance(a, dict) or not a.get("email") for a in attendees):
        raise BadEvent("attendees must be objects with an email")
    if event.get("recurrence") is not None:
        if not isinstance(event["recurrence"], list):
            raise BadEvent("recurrence is a list of RRULE lines")
        try:
            recurrence.parse_rule(event["recurrence"])
            recurrence.event_zone(event["start"])
        except UnsupportedRecurrence as exc:
            raise BadEvent(f"recurrence: {exc}") from None


class CalendarStore:
    """Every user's primary calendar, by lower-cased address."""

    def __init__(self):
        self._calendars: dict[str, Calendar] = {}
        self._lock = threading.Lock()

    def calendar(self, address: str) -> Calendar:
        with self._lock:
            key = address.lower()
            if key not in self._calendars:
                self._calendars[key] = Calendar(key)
            return self._calendars[key]

    def addresses(self) -> list[str]:
        with self._lock:
            return sorted(self._calendars)

    def load_dir(self, path: str) -> int:
        """Load DIR/<address>/*.json (sorted by name): each file one Event resource, a list of them, or an
        Events listing ({"items": [...]}). A bad event raises BadEvent naming its file."""
        count = 0
        for address in sorted(os.listdir(path)):
            folder = os.path.join(path, address)
            if not os.path.isdir(folder) or "@" not in address:
                continue
            calendar = self.calendar(address)
            for name in sorted(os.listdir(folder)):
                if not name.endswith(".json"):
                    continue
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    data = json.load(handle)
                events = data.get("items", []) if isinstance(data, dict) and "items" in data else \
                    data if isinstance(data, list) else [data]
                for event in events:
                    try:
                        calendar.add(event)
                    except BadEvent as exc:
                        raise BadEvent(f"{address}/{name}: {exc}") from None
                    count += 1
        return count
