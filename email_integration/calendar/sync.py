"""Calendar sync per enrolled mailbox: a bounded full sync, then incremental by sync token (issue 25).

Full sync: events.list with singleEvents=true over [now - CRM_CALENDAR_MONTHS_BACK (24) months,
now + CRM_CALENDAR_DAYS_AHEAD (90) days], every page, then the whole window goes to the store at once
(`apply_events(..., full_sync=True)`: what it holds for the account and the window lacks is removed; a
full listing carries no cancellations) and the last page's nextSyncToken is saved in the same
transaction. Incremental: events.list with that token and nothing Google refuses beside it (no window:
google/quota.py, SYNC_TOKEN_REFUSES), page by page into the store; the new token is saved once the last
page is applied, so a crash repeats pages (the store is idempotent) and never skips one. An event the
token brings from outside the window (an old one edited, one moved past the horizon) goes to the store
as cancelled, so it is held only while the window would hold it. 410 fullSyncRequired → the token is
dropped and a full sync runs at once, whose diff removes what disappeared.

Failures are the calendar's own: a refused calendar scope marks the mailbox `not_granted` (DWD: the
Admin console's delegation lacks calendar.events.readonly) or `needs_reconsent` (OAuth: consent given
before calendar capture); mail capture is never touched. The store is calendar/meetings.py's
`apply_events(conn, account_id, events, *, full_sync, now) -> {"kept", "skipped", "removed"}`.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from calendar import monthrange

from backend.db import ISO_FORMAT, atomic
from email_integration.capture import db_accounts
from email_integration.config import CONFIG
from email_integration.google.credentials import DWDCredentialProvider
from email_integration.google.errors import AuthError, GmailError, NeedsReconsentError
from email_integration.google.scopes import CALENDAR_EVENTS_READONLY_SCOPE, GMAIL_READONLY_SCOPE

from . import db_calendar_sync
from .client import CalendarClient, CalendarNotGranted, SyncTokenExpired
from .meetings import utc

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
LABELS = {"pending": "calendar not synced yet", "ok": "calendar synced", "not_granted": "calendar not granted",
          "needs_reconsent": "re-consent needed for calendar", "error": "calendar sync failed"}


def consent_scopes(config=CONFIG) -> tuple:
    """What the OAuth consent asks for: mail, and the calendar when calendar capture is on."""
    return (GMAIL_READONLY_SCOPE, CALENDAR_EVENTS_READONLY_SCOPE) if config.calendar_enabled else (GMAIL_READONLY_SCOPE,)


def window(now: dt.datetime, config=CONFIG) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the bounded full sync: midnight CRM_CALENDAR_MONTHS_BACK calendar months back (the day
    clamped to that month's length), and CRM_CALENDAR_DAYS_AHEAD days ahead."""
    months = now.year * 12 + now.month - 1 - config.calendar_months_back
    year, month = divmod(months, 12)
    day = min(now.day, monthrange(year, month + 1)[1])
    start = now.replace(year=year, month=month + 1, day=day, hour=0, minute=0, second=0, microsecond=0)
    return start, now + dt.timedelta(days=config.calendar_days_ahead)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _default_apply_events(conn, account_id, events, *, full_sync, now):
    from .meetings import apply_events  # cal-store's module; imported late so the sync stands without it
    return apply_events(conn, account_id, events, full_sync=full_sync, now=now)


def _moment(when) -> dt.datetime | None:
    """An event's start or end as an aware datetime; None for anything unreadable (a dateTime without an offset,
    a non-string): the store (meetings.utc) drops those, and the window test must not raise on them."""
    if not isinstance(when, dict):
        return None
    if when.get("dateTime") is not None:
        stamp = utc(when)
        return dt.datetime.strptime(stamp, ISO_FORMAT).replace(tzinfo=UTC) if stamp else None
    if isinstance(when.get("date"), str):
        try:
            return dt.datetime.combine(dt.date.fromisoformat(when["date"]), dt.time(), UTC)
        except ValueError:
            return None
    return None


def outside(event: dict, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether a live event lies wholly outside [start, end) (Google's own window test: end after start,
    start before end); an event without readable times is kept for the store to judge."""
    begins, ends = _moment(event.get("start")), _moment(event.get("end"))
    if begins is None or ends is None:
        return False
    return not (ends > start and begins < end)


def as_cancelled(event: dict) -> dict:
    """The event as a deletion: what Google sends for one (id, status, the occurrence's series and time)."""
    return {key: event[key] for key in ("kind", "id", "recurringEventId", "originalStartTime", "iCalUID")
            if key in event} | {"status": "cancelled"}


class CalendarSync:
    """One sync of one mailbox's calendar; `run()` returns what it did (and never raises a Google error)."""

    def __init__(self, conn, account: dict, client: CalendarClient, *, apply_events=None, config=CONFIG,
                 clock=None, stop=None):
        self.conn, self.account, self.client, self.config = conn, account, client, config
        self.apply_events = apply_events or _default_apply_events
        self.clock = clock or (lambda: dt.datetime.now(UTC))
        self.stop = stop or threading.Event()
        self.requests = 0

    def run(self) -> dict:
        account_id = self.account["id"]
        with atomic(self.conn):
            state = db_calendar_sync.get_state(self.conn, account_id)
        calls_before = self.client.calls
        try:
            if state["sync_token"]:
                try:
                    result = self._incremental(state["sync_token"])
                except SyncTokenExpired:
                    log.info("calendar sync token of %s expired (410): full sync", self.account["email"])
                    with atomic(self.conn):
                        db_calendar_sync.drop_token(self.conn, account_id)
                    result = self._full() | {"resynced": True}
            else:
                result = self._full()
            return result | {"status": "ok", "requests": self.client.calls - calls_before}
        except (CalendarNotGranted, NeedsReconsentError, AuthError) as error:
            status = self._refusal_status(error)
            self._fail(status, f"{LABELS[status]}: {error}", calls_before)
            return {"status": status, "requests": self.client.calls - calls_before}
        except GmailError as error:
            self._fail("error", str(error), calls_before)
            return {"status": "error", "error": str(error), "requests": self.client.calls - calls_before}
        except Exception as error:  # noqa: BLE001 - e.g. the store refusing a batch: recorded, mail untouched
            log.exception("calendar sync of %s crashed", self.account["email"])
            self._fail("error", f"{type(error).__name__}: {error}", calls_before)
            return {"status": "error", "error": type(error).__name__, "requests": self.client.calls - calls_before}

    def _refusal_status(self, error) -> str:
        if isinstance(error, NeedsReconsentError) or self.account["auth_method"] == "oauth":
            return "needs_reconsent"
        return "not_granted"

    def _fail(self, status: str, message: str, calls_before: int) -> None:
        log.warning("calendar of %s: %s", self.account["email"], message)
        with atomic(self.conn):
            db_calendar_sync.set_status(self.conn, self.account["id"], status, message[:500],
                                        self.client.calls - calls_before)

    def _full(self) -> dict:
        now = self.clock()
        start, end = window(now, self.config)
        events, token = [], None
        calls_before = self.client.calls
        for page, next_sync in self.client.iter_events(time_min=rfc3339(start), time_max=rfc3339(end)):
            events.extend(page)
            token = next_sync or token
            if self.stop.is_set():
                return {"kind": "full", "interrupted": True, "events": len(events)}
        with atomic(self.conn):
            counts = self.apply_events(self.conn, self.account["id"], events, full_sync=True, now=now)
            db_calendar_sync.save_synced(self.conn, self.account["id"], token, self.client.calls - calls_before,
                                         window=(rfc3339(start), rfc3339(end)))
        return {"kind": "full", "events": len(events), **counts}

    def _incremental(self, token: str) -> dict:
        now = self.clock()
        start, end = window(now, self.config)
        totals = {"kept": 0, "skipped": 0, "removed": 0}
        seen = 0
        calls_before = self.client.calls
        for page, next_sync in self.client.iter_events(sync_token=token):
            events = [as_cancelled(e) if e.get("status") != "cancelled" and outside(e, start, end) else e
                      for e in page]
            seen += len(events)
            with atomic(self.conn):
                counts = self.apply_events(self.conn, self.account["id"], events, full_sync=False, now=now)
                if next_sync:
                    db_calendar_sync.save_synced(self.conn, self.account["id"], next_sync,
                                                 self.client.calls - calls_before)
            for key in totals:
                totals[key] += counts.get(key, 0)
            if self.stop.is_set() and not next_sync:
                return {"kind": "incremental", "interrupted": True, "events": seen, **totals}
        return {"kind": "incremental", "events": seen, **totals}


class CalendarService:
    """Calendar clients and syncs for one CRM database, beside the mail's CaptureService (whose database,
    accounts and OAuth token store it shares). DWD asks for the calendar scope with its own provider."""

    def __init__(self, capture, config=CONFIG, apply_events=None, limiter_for=None):
        self.capture, self.config = capture, config
        self.apply_events = apply_events
        self.limiter_for = limiter_for
        self._provider = None
        self._clients: dict[int, CalendarClient] = {}
        self._lock = threading.Lock()

    def provider(self):
        if self.config.auth_method != "dwd":
            return self.capture.provider()  # one OAuth refresh token carries every consented scope
        with self._lock:
            if self._provider is None:
                self._provider = DWDCredentialProvider(self.config.sa_key_path, self.config.token_uri,
                                                       scope=CALENDAR_EVENTS_READONLY_SCOPE,
                                                       timeout=self.config.http_timeout_sec)
            return self._provider

    def client_for(self, account: dict) -> CalendarClient:
        with self._lock:
            client = self._clients.get(account["id"])
        if client is None:
            limiter = self.limiter_for(account["email"]) if self.limiter_for else None
            client = CalendarClient(account["email"], self.provider(), self.config, limiter=limiter)
            with self._lock:
                client = self._clients.setdefault(account["id"], client)
        return client

    def sync_account(self, account_id: int, stop=None) -> dict | None:
        """One calendar sync of the mailbox (None when it is disabled or its owner deactivated)."""
        conn = self.capture.connect()
        try:
            account = db_accounts.get_account(conn, account_id)
            if account is None or account["state"] == "disabled" or not db_accounts.owner_active(conn, account_id):
                return None
            return CalendarSync(conn, account, self.client_for(account), apply_events=self.apply_events,
                                config=self.config, stop=stop).run()
        finally:
            conn.close()


def status_view(conn, account_id: int, config=CONFIG) -> dict:
    """What the Admin page shows of a mailbox's calendar (read-only)."""
    state = db_calendar_sync.find_state(conn, account_id) or {"status": "pending"}
    status = state["status"]
    return {"enabled": config.calendar_enabled, "status": status, "label": LABELS[status],
            "last_sync_at": state.get("last_sync_at"), "last_full_sync_at": state.get("last_full_sync_at"),
            "error": state.get("last_error")}
