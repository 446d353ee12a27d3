"""Calendar API v3 in the emulator (contracts §6b): events.list on a user's primary calendar.

(target, token's user, token's scopes) → (status, headers, JSON body), with Google's strictness: an
unknown parameter, a bad value or a parameter Google refuses beside syncToken answers 400; a token
without a Calendar scope 403 insufficientPermissions; another user's calendar 404; an expired sync
token 410 fullSyncRequired (google/quota.py holds every fact used here). Each call is one request of
the user's per-minute budget (a QuotaMeter on CALENDAR_PROFILE) and is counted in the calendar stats.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import urllib.parse
import zoneinfo

from email_integration.google.quota import (EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, SYNC_TOKEN_GONE,
                                            SYNC_TOKEN_REFUSAL, SYNC_TOKEN_REFUSES)

from .calendar_store import BadToken, CalendarStore, SyncTokenGone
from .gmail_api import ApiError, Stats
from .quota import QuotaMeter
from .tokens import CALENDAR_SCOPES
from .recurrence import UTC, UnsupportedRecurrence, parse_time, rfc3339

PREFIX = "/calendar/v3/"
EVENTS = re.compile(r"/calendar/v3/calendars/(?P<calendar>[^/]+)/events\Z")
# events.list's parameters (the discovery document), and the standard ones every Google API takes.
LIST_PARAMS = ("alwaysIncludeEmail", "eventTypes", "iCalUID", "maxAttendees", "maxResults", "orderBy", "pageToken",
               "privateExtendedProperty", "q", "sharedExtendedProperty", "showDeleted", "showHiddenInvitations",
               "singleEvents", "syncToken", "timeMax", "timeMin", "timeZone", "updatedMin")
STANDARD_PARAMS = ("alt", "fields", "key", "oauth_token", "prettyPrint", "quotaUser", "userIp")
# Declared by Google but not emulated: refused (400) rather than ignored, so no test passes by accident.
NOT_EMULATED = ("eventTypes", "maxAttendees", "privateExtendedProperty", "q", "sharedExtendedProperty",
                "showHiddenInvitations", "updatedMin", "fields", "oauth_token")
METHOD = "events.list"


class CalendarApi:
    def __init__(self, store: CalendarStore, quota: QuotaMeter, stats: Stats):
        self.store, self.quota, self.stats = store, quota, stats

    def call(self, http_method: str, target: str, user: str | None, scopes) -> tuple[int, dict, dict]:
        split = urllib.parse.urlsplit(target)
        match = EVENTS.match(urllib.parse.unquote(split.path))
        if match is None:
            return ApiError(404, f"Not found: {split.path}", "notFound").reply()
        if http_method != "GET":
            return ApiError(405, "Method not allowed", "methodNotAllowed").reply()
        if user is None:
            return ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                 "token, login cookie or other valid authentication credential.", "authError").reply()
        if not any(scope in CALENDAR_SCOPES for scope in scopes):
            self.stats.record(user, METHOD)
            return ApiError(403, "Request had insufficient authentication scopes.",
                                 "insufficientPermissions").reply()
        wait = self.quota.charge(user, self.quota.cost(METHOD))
        if wait:
            self.stats.record(user, METHOD, limited=True)
            return self.quota.refusal(wait)
        self.stats.record(user, METHOD, 1)  # admitted: it costs its request whatever the answer
        try:
            calendar_id = match.group("calendar")
            if calendar_id != "primary" and calendar_id.lower() != user:
                raise ApiError(404, "Not Found", "notFound")
            return 200, {}, self._list(user, urllib.parse.parse_qs(split.query, keep_blank_values=True))
        except ApiError as error:
            return error.reply()

    # -- events.list --------------------------------------------------------------------------
    def _list(self, user: str, query: dict) -> dict:
        for name, values in query.items():
            if name not in LIST_PARAMS and name not in STANDARD_PARAMS:
                raise ApiError(400, f"Invalid parameter: {name}", "invalidParameter")
            if len(values) > 1 and name not in ("privateExtendedProperty", "sharedExtendedProperty", "eventTypes"):
                raise ApiError(400, f"Parameter {name} given more than once", "invalidParameter")
        if "syncToken" in query:
            refused = [name for name in SYNC_TOKEN_REFUSES if name in query]
            if refused:
                status, reason, domain, message = SYNC_TOKEN_REFUSAL
                raise ApiError(status, message, reason, domain)
            if query.get("showDeleted") == ["false"]:  # the reference: "it is not allowed to set showDeleted to False"
                raise ApiError(400, "showDeleted cannot be false with a syncToken", "invalidParameter")
        for name in NOT_EMULATED:
            if name in query:
                raise ApiError(400, f"Parameter {name} is valid for Google but not emulated", "invalidParameter")
        one = {name: values[0] for name, values in query.items()}
        if one.get("alt", "json") != "json":
            raise ApiError(400, f"Invalid value for alt: {one['alt']}", "invalidParameter")
        single = _bool(one, "singleEvents")
        show_deleted = _bool(one, "showDeleted")
        _bool(one, "alwaysIncludeEmail")
        _bool(one, "prettyPrint", True)
        size = _int(one, "maxResults", EVENTS_PAGE_DEFAULT)
        if not 1 <= size <= EVENTS_PAGE_MAX:
            raise ApiError(400, f"Invalid value for maxResults: {size} (1 to {EVENTS_PAGE_MAX})", "invalid")
        time_min, time_max = _time(one, "timeMin"), _time(one, "timeMax")
        if time_min and time_max and time_min >= time_max:
            raise ApiError(400, "The specified time range is empty.", "timeRangeEmpty", "calendar")
        if one.get("timeZone") is not None:
            try:
                zoneinfo.ZoneInfo(one["timeZone"])
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ApiError(400, f"Invalid time zone definition: {one['timeZone']}", "invalid") from None
        order_by = one.get("orderBy")
        if order_by not in (None, "startTime", "updated"):
            raise ApiError(400, f"Invalid value for orderBy: {order_by}", "invalidParameter")
        if order_by == "startTime" and not single:
            raise ApiError(400, "The requested ordering is not available for the particular query.",
                                "badRequest")
        calendar = self.store.calendar(user)
        fingerprint = hashlib.sha1(repr(sorted((k, v) for k, v in query.items() if k != "pageToken")).encode()
                                   ).hexdigest()[:16]
        try:
            since = calendar.read_sync_token(one["syncToken"]) if "syncToken" in one else None
            offset, snapshot = calendar.read_page_token(one["pageToken"], fingerprint) if one.get("pageToken") \
                else (0, None)
        except SyncTokenGone:
            status, reason, domain, message = SYNC_TOKEN_GONE
            raise ApiError(status, message, reason, domain) from None
        except BadToken as exc:
            raise ApiError(400, f"Invalid {'sync' if 'syncToken' in one else 'page'} token: {exc}",
                                "invalid") from None
        try:
            items, snapshot = calendar.listing(since=since, snapshot=snapshot, single=single,
                                               show_deleted=show_deleted, time_min=time_min, time_max=time_max,
                                               order_by=order_by, ical_uid=one.get("iCalUID"))
        except UnsupportedRecurrence as exc:  # loaded events are checked; kept for safety
            raise ApiError(400, str(exc), "invalid") from None
        page = items[offset: offset + size]
        body = {"kind": "calendar#events", "etag": f'"p{snapshot}"', "summary": user,
                "description": "", "updated": rfc3339(dt.datetime.now(UTC)), "timeZone": one.get("timeZone") or "UTC",
                "accessRole": "owner", "defaultReminders": [], "items": page}
        if offset + size < len(items):
            body["nextPageToken"] = calendar.page_token(offset + size, snapshot, fingerprint)
        else:
            body["nextSyncToken"] = calendar.sync_token(snapshot)
        return body


def _bool(one: dict, name: str, default: bool = False) -> bool:
    raw = one.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise ApiError(400, f"Invalid boolean value for {name}: '{raw}'", "invalidParameter")
    return raw == "true"


def _int(one: dict, name: str, default: int) -> int:
    raw = one.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d{1,9}", raw):
        raise ApiError(400, f"Invalid value for {name}: {raw}", "invalidParameter")
    return int(raw)


def _time(one: dict, name: str):
    raw = one.get(name)
    if raw is None:
        return None
    try:
        return parse_time(raw)
    except ValueError:
        raise ApiError(400, f"Bad Request: {name} must be an RFC 3339 timestamp with a time zone offset",
                            "badRequest") from None
