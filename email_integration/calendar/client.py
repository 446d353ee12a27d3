"""Calendar API v3 over HTTP for one account: events.list on the primary calendar, nothing else.

The plumbing is the Gmail client's (gmail/client.py): the CRM's keep-alive pool (google/http_conn.py), a
per-account limiter paced to 90% of Calendar's own budget (600 requests a minute per user, google/quota.py;
a limiter of its own, apart from the mailbox's Gmail units), retries with backoff and full jitter, a 401
refreshing the token once, 403/429 rate limits pausing the account. What is Calendar's own: a 410 with
reason fullSyncRequired is SyncTokenExpired (the sync then lists the whole window again), and a 403
insufficientPermissions is CalendarNotGranted (the token lacks the calendar scope: an OAuth mailbox that
consented before calendar capture, which must re-consent).
"""
from __future__ import annotations

import random
import time

from email_integration.config import CONFIG
from email_integration.gmail.client import GmailClient
from email_integration.google.errors import GmailError, PermanentError
from email_integration.google.http_conn import ConnectionPool
from email_integration.google.pacing import limiter_for
from email_integration.google.quota import CALENDAR_PROFILE, EVENTS_PAGE_MAX, PACE_FRACTION, SYNC_TOKEN_GONE

CALENDAR_PATH = "/calendar/v3/calendars/primary"
LIMITER_SUFFIX = "#calendar"  # the account's calendar limiter, apart from its Gmail one


class SyncTokenExpired(GmailError):
    """410 fullSyncRequired: the sync token is no longer valid; list the whole window again."""


class CalendarNotGranted(GmailError):
    """403 insufficientPermissions: the access token carries no calendar scope."""


class CalendarClient(GmailClient):
    """events.list for one account, on the Gmail client's pacing and retries (its Gmail methods go unused)."""

    def __init__(self, user_email: str, credentials, config=CONFIG, limiter=None, pool=None,
                 sleep=time.sleep, rng=random.random):
        limiter = limiter or limiter_for(user_email.lower() + LIMITER_SUFFIX,
                                         CALENDAR_PROFILE.user_units_per_min * PACE_FRACTION, 1)
        super().__init__(user_email, credentials, config, limiter=limiter,
                         pool=pool or ConnectionPool(config.calendar_base, config.http_timeout_sec),
                         sleep=sleep, rng=rng)
        self.quota = CALENDAR_PROFILE
        self.base_path = CALENDAR_PATH

    def list_events(self, *, sync_token=None, page_token=None, time_min=None, time_max=None,
                    page_size: int = EVENTS_PAGE_MAX) -> dict:
        """One page of events.list, recurring events expanded (singleEvents=true). A full listing leaves cancelled
        events out (an occurrence deleted from a series is simply absent); an incremental one (sync token)
        brings them with status "cancelled". With a sync token the window is not sent: Google refuses it."""
        query = {"singleEvents": "true", "maxResults": str(page_size), "pageToken": page_token}
        if sync_token:
            query["syncToken"] = sync_token
        else:
            query.update({"timeMin": time_min, "timeMax": time_max})
        try:
            return self._get("events.list", "/events", query)
        except PermanentError as error:
            status, reason = SYNC_TOKEN_GONE[:2]
            if error.status == status and error.reason == reason:
                raise SyncTokenExpired(str(error), error.status, error.reason) from None
            if error.status == 403 and error.reason == "insufficientPermissions":
                raise CalendarNotGranted(str(error), error.status, error.reason) from None
            raise

    def iter_events(self, *, sync_token=None, time_min=None, time_max=None, page_size: int = EVENTS_PAGE_MAX):
        """Yield (page of events, nextSyncToken or None) until the listing ends (a page may be empty while more
        follow: only a missing nextPageToken ends it). Bounded by MAX_PAGES."""
        page_token = None
        for _ in range(MAX_PAGES):
            page = self.list_events(sync_token=sync_token, page_token=page_token, time_min=time_min,
                                    time_max=time_max, page_size=page_size)
            page_token = page.get("nextPageToken")
            yield page.get("items", []), (None if page_token else page.get("nextSyncToken"))
            if not page_token:
                return
        raise PermanentError(f"events.list for {self.user}: more than {MAX_PAGES} pages")


MAX_PAGES = 2000  # 5 million events at 2,500 a page: a loop that never ends is a bug, not a calendar
