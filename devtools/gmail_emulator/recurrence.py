"""RRULE expansion for the calendar emulator: what events.list?singleEvents=true does to a recurring event.

Supported (RFC 5545 §3.3.10, the subset calendars mostly write): FREQ=DAILY or WEEKLY with INTERVAL,
COUNT or UNTIL, and BYDAY (weekday codes, WEEKLY only; WKST=MO). Anything else (MONTHLY, YEARLY, BYMONTH,
BYSETPOS, EXDATE, RDATE, EXRULE ...) is refused with UnsupportedRecurrence rather than expanded wrongly:
the control API answers 400 and the loader names the file. Occurrences are computed in the event's own
time zone (start.timeZone, else the offset of start.dateTime), so a weekly 10:00 stays 10:00 across DST.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_INSTANCES = 1000  # an open-ended series expands this far at most (and never past the listing's timeMax)
UTC = dt.timezone.utc


class UnsupportedRecurrence(ValueError):
    """A recurrence the emulator does not expand (or a malformed one)."""


def parse_time(value: str) -> dt.datetime:
    """RFC 3339 with a mandatory offset (what Google requires of timeMin/timeMax and dateTime)."""
    if not isinstance(value, str) or len(value) < 20 or "T" not in value:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"no time zone offset in {value!r}")
    return parsed


def rfc3339(moment: dt.datetime) -> str:
    """UTC with milliseconds, as Google writes `updated` and `created`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event_zone(when: dict):
    name = when.get("timeZone")
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise UnsupportedRecurrence(f"unknown time zone {name!r}") from None
    return None


def bounds(event: dict) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) of an event as aware datetimes; an all-day event spans its dates in UTC."""
    start, end = event.get("start") or {}, event.get("end") or {}
    return _moment(start), _moment(end)


def _moment(when: dict) -> dt.datetime:
    if "dateTime" in when:
        return parse_time(when["dateTime"])
    if "date" in when:
        return dt.datetime.combine(dt.date.fromisoformat(when["date"]), dt.time(), UTC)
    raise ValueError("start and end need dateTime or date")


def parse_rule(lines) -> dict | None:
    """The one RRULE of `recurrence` as {freq, interval, count, until, byday}; None when there is none."""
    rule = None
    for line in lines or ():
        name, _, value = str(line).partition(":")
        if name.upper() != "RRULE":
            raise UnsupportedRecurrence(f"the emulator does not expand {name.split(';')[0].upper()} lines")
        if rule is not None:
            raise UnsupportedRecurrence("the emulator expands one RRULE per event")
        parts = {}
        for item in value.split(";"):
            key, _, val = item.partition("=")
            parts[key.upper()] = val
        freq = parts.pop("FREQ", "")
        if freq not in ("DAILY", "WEEKLY"):
            raise UnsupportedRecurrence(f"the emulator expands FREQ=DAILY or WEEKLY only, not {freq or 'none'}")
        rule = {"freq": freq, "interval": 1, "count": None, "until": None, "byday": None}
        if "INTERVAL" in parts:
            rule["interval"] = _positive(parts.pop("INTERVAL"), "INTERVAL")
        if "COUNT" in parts:
            rule["count"] = _positive(parts.pop("COUNT"), "COUNT")
        if "UNTIL" in parts:
            rule["until"] = _until(parts.pop("UNTIL"))
        if rule["count"] and rule["until"]:
            raise UnsupportedRecurrence("COUNT and UNTIL together (RFC 5545 forbids it)")
        if "BYDAY" in parts:
            days = parts.pop("BYDAY").split(",")
            if freq != "WEEKLY" or any(d not in WEEKDAYS for d in days):
                raise UnsupportedRecurrence(f"BYDAY={','.join(days)} is expanded only as plain weekdays of WEEKLY")
            rule["byday"] = sorted(WEEKDAYS.index(d) for d in days)
        parts.pop("WKST", None) if parts.get("WKST") == "MO" else None
        if parts:
            raise UnsupportedRecurrence(f"the emulator does not expand {', '.join(sorted(parts))}")
    return rule


def _positive(raw: str, name: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise UnsupportedRecurrence(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def _until(raw: str) -> dt.datetime:
    try:
        if len(raw) == 8:
            return dt.datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=UTC)
        if raw.endswith("Z"):
            return dt.datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        pass
    raise UnsupportedRecurrence(f"UNTIL must be a date or a UTC date-time (…Z), got {raw!r}")


def occurrences(event: dict, rule: dict, until: dt.datetime | None):
    """Yield the start of each occurrence (aware datetimes, or dates for all-day events), in order,
    up to `until` (exclusive, when given), COUNT/UNTIL and MAX_INSTANCES."""
    start = event["start"]
    all_day = "date" in start
    if all_day:
        first = dt.datetime.combine(dt.date.fromisoformat(start["date"]), dt.time())
        zone = UTC
    else:
        moment = parse_time(start["dateTime"])
        zone = event_zone(start) or moment.tzinfo
        first = moment.astimezone(zone).replace(tzinfo=None)  # wall time in the event's zone
    step = dt.timedelta(days=rule["interval"] * (7 if rule["freq"] == "WEEKLY" else 1))
    days = rule["byday"] if rule["byday"] is not None else [first.weekday()] if rule["freq"] == "WEEKLY" else None
    made = 0
    period = first - dt.timedelta(days=first.weekday()) if days is not None else first
    while made < (rule["count"] or MAX_INSTANCES) and made < MAX_INSTANCES:
        candidates = [period + dt.timedelta(days=d) for d in days] if days is not None else [period]
        for wall in candidates:
            if days is not None:
                wall = wall.replace(hour=first.hour, minute=first.minute, second=first.second)
            if wall < first:
                continue
            aware = wall.replace(tzinfo=zone) if not all_day else wall.replace(tzinfo=UTC)
            if rule["until"] and aware > rule["until"]:
                return
            if until is not None and aware >= until:
                return
            yield aware.date() if all_day else aware
            made += 1
            if made >= (rule["count"] or MAX_INSTANCES):
                return
        period += step


def instance_id(master_id: str, start) -> str:
    """Google's id of one occurrence: <event id>_<start in UTC, basic format> (dates for all-day events)."""
    if isinstance(start, dt.datetime):
        return f"{master_id}_{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return f"{master_id}_{start.strftime('%Y%m%d')}"


def when(start, template: dict) -> dict:
    """An EventDateTime for an occurrence, in the template's form (date, or dateTime with its timeZone)."""
    if isinstance(start, dt.datetime):
        out = {"dateTime": start.isoformat()}
        if template.get("timeZone"):
            out["timeZone"] = template["timeZone"]
        return out
    return {"date": start.isoformat()}
