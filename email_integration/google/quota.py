"""THE one table of Google facts the capture relies on: Gmail's costs and budgets per quota regime, the
shapes of its rate-limit errors, and the semantics of its search that the capture depends on.
Calendar's facts are the section "Calendar API v3" at the end.

## Gmail quota

Source: developers.google.com/gmail/api/reference/quota (both revisions). Since May 1, 2026
a Cloud project is in one of two regimes:
  "2026"   projects created on or after May 1, 2026 (and projects that made no Gmail API call
           between November 2025 and April 2026): 6,000 units per minute per user, and
           messages.get / messages.attachments.get cost 20 units.
  "legacy" projects that used the Gmail API between November 2025 and April 2026 keep the old
           regime: 15,000 units per minute per user, messages.get / attachments.get 5 units.
Both: 1,200,000 units per minute per project. threads.get is not on Google's 2026 page; 40 is
what third parties report (4x the legacy 10, like messages.get). The CRM's client, the
emulator (devtools/gmail_emulator) and the benchmarks all read these numbers from here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

QUOTA_PAGE = "https://developers.google.com/gmail/api/reference/quota"
BATCH_GUIDE = "https://developers.google.com/gmail/api/guides/batch"

PROJECT_UNITS_PER_MIN = 1_200_000  # per project, both regimes (reason rateLimitExceeded)
QUOTA_WINDOW_SEC = 60  # both budgets are per minute
MAX_BATCH_CALLS = 100  # batch guide: "You're limited to 100 calls in a single batch request"
RECOMMENDED_BATCH_CALLS = 50  # batch guide: "Sending batches larger than 50 requests is not recommended"
# Gmail answers batch parts beyond some number of concurrent calls for one user with 429 "Too many
# concurrent requests for user". Google documents no number; 10 is the emulator's default (contracts
# §6) and where our client's batches start before they grow.
CONCURRENT_CALLS_PER_USER = 10
DEFAULT_PROFILE = "2026"
PACE_FRACTION = 0.9  # the client paces to 90% of the per-user budget unless told otherwise


@dataclass(frozen=True)
class QuotaProfile:
    """One regime: what each method costs and how many units one user may spend per minute."""

    name: str
    costs: dict
    user_units_per_min: int
    project_units_per_min: int = PROJECT_UNITS_PER_MIN

    def cost(self, method: str) -> int:
        """Units one call of `method` costs (KeyError for a method we never call)."""
        return self.costs[method]

    @property
    def default_pace_units_per_min(self) -> float:
        return self.user_units_per_min * PACE_FRACTION


PROFILES = {
    "2026": QuotaProfile("2026", {"messages.get": 20, "messages.attachments.get": 20, "threads.get": 40,
                                  "messages.list": 5, "history.list": 2, "getProfile": 1}, 6_000),
    "legacy": QuotaProfile("legacy", {"messages.get": 5, "messages.attachments.get": 5, "threads.get": 10,
                                      "messages.list": 5, "history.list": 2, "getProfile": 1}, 15_000),
}


def profile(name: str | None = None) -> QuotaProfile:
    """The named regime (DEFAULT_PROFILE when None); ValueError naming the known ones otherwise."""
    key = (name or DEFAULT_PROFILE).strip().lower()
    if key not in PROFILES:
        raise ValueError(f"unknown Gmail quota profile {name!r}; expected one of {', '.join(PROFILES)}")
    return PROFILES[key]


# -- Gmail rate-limit errors ------------------------------------------------------------------------
# How Gmail says "over quota". Google documents 403 userRateLimitExceeded / rateLimitExceeded and a bare
# "429 Too many requests" (developers.google.com/gmail/api/guides/handle-errors; no Retry-After is mentioned
# anywhere on that page). What clients logged from real Gmail differs from the samples: a 429 with reason
# rateLimitExceeded, domain "global", "Resource has been exhausted (e.g. check quota)." and no Retry-After
# (github.com/elie222/inbox-zero/issues/379, github.com/mxngls/gmail-cleaner/issues/5), and a 403 "Quota
# exceeded for quota metric 'Queries' and limit 'Queries per minute per user'" (github.com/mxngls/gmail-
# cleaner/issues/5, github.com/GAM-team/got-your-back/issues/333); the time to retry, when given, is in the
# message ("User-rate limit exceeded.  Retry after 2020-01-21T12:57:51.196Z", github.com/levz0r/gmail-
# tester/issues/23). Both reasons name the user's own rate in Google's guide ("the user has reached Gmail
# API's maximum request rate"), so a client must read either as its own budget, with or without a time.
HANDLE_ERRORS_GUIDE = "https://developers.google.com/gmail/api/guides/handle-errors"


@dataclass(frozen=True)
class QuotaErrorShape:
    """One way Gmail answers a call over the per-user budget; `message` may name {retry_at} (RFC 3339)."""

    name: str
    status: int
    reason: str
    domain: str
    message: str
    retry_after_header: bool  # whether the answer carries an HTTP Retry-After header
    source: str


QUOTA_ERROR_SHAPES = {
    # What the emulator sent before v3: Google's documented reason, the moment in the message, and a header.
    "userRateLimit": QuotaErrorShape("userRateLimit", 429, "userRateLimitExceeded", "usageLimits",
                                     "User-rate limit exceeded.  Retry after {retry_at}", True,
                                     "github.com/levz0r/gmail-tester/issues/23"),
    "rateLimit": QuotaErrorShape("rateLimit", 429, "rateLimitExceeded", "global",
                                 "Resource has been exhausted (e.g. check quota).", False,
                                 "github.com/elie222/inbox-zero/issues/379"),
    "403": QuotaErrorShape("403", 403, "userRateLimitExceeded", "usageLimits",
                           "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of "
                           "service 'gmail.googleapis.com' for consumer 'project_number:0'.", False,
                           HANDLE_ERRORS_GUIDE + "; github.com/mxngls/gmail-cleaner/issues/5"),
}
DEFAULT_QUOTA_ERROR_SHAPE = "rateLimit"  # as reported from real Gmail: no Retry-After, no time in the message


# -- Gmail search (messages.list `q`) ---------------------------------------------------------------
# The API's `q` "supports most of the same advanced search syntax as the Gmail web interface"
# (developers.google.com/gmail/api/guides/filtering); the operators are support.google.com/mail/answer/7190.
SEARCH_OPERATORS_PAGE = "https://support.google.com/mail/answer/7190"
SEARCH_GUIDE = "https://developers.google.com/gmail/api/guides/filtering"
# `from:`/`to:`/`cc:`/`bcc:` search those headers, display names included ("from:amy" is Google's own
# example). No operator reads Reply-To, Sender or X-Original-Sender (none is documented): mail that names an
# investor only there (Google Groups' DMARC rewrite, DocuSign, Drive shares) is invisible to an address search.
ADDRESS_OPERATORS = ("from", "to", "cc", "bcc")
# Matching is by words, not addresses (reported, not documented: sensefulsolutions.com/2010/07/how-gmail-
# filter-email-matching-works.html; webapps.stackexchange "gmail filter on partial words"): a header is split
# into words on every character but letters, digits, "_" and "&"; a term matches where its words occur in that
# order, so `from:alder.vc` also matches x@alder.vc.evil.example and the name "Alder VC Partners", and never
# bkim@ for kim@ (whole words only). Unicode and punycode forms of a domain are not known to be equivalent.
SEARCH_WORD = re.compile(r"[\w&]+")
# Characters of an address that Gmail's query syntax reads as syntax: groups `{}` `()`, phrases `"`,
# operators `:`, NOT `!` (support.google.com/mail/answer/7190; `!` as NOT is reported by sensefulsolutions), and
# characters whose reading is unknown (`[]|\`). An address holding one cannot be searched for as itself. The
# rest of RFC 5322's atext (`#$%^*+=/?~'&_`) is reported to act as a word separator or a phrase join, so the
# words around it still find the mail (at worst more of it, which the capture checks after fetching).
SEARCH_SYNTAX_CHARS = frozenset('{}()[]":!|\\') | frozenset(" \t\r\n")
# SPAM and TRASH are left out of messages.list unless includeSpamTrash=true (users.messages/list reference:
# "Include messages from SPAM and TRASH in the results"); `in:spam` / `-in:spam` select within them (7190).
HIDDEN_LABELS = ("SPAM", "TRASH")
# Google publishes no limit on `q`; Gmail's filters are reported to stop at 1,500 characters
# (github.com/mbrt/gmailctl/issues/148), so our queries stay within it.
MAX_QUERY_CHARS = 1500
# A Google Group's address follows the rules of a Workspace username (Directory API, groups.email): letters
# a-z, digits, "-", "_", "'" and "." (no accents, no "&=<>+,!", no ".." ; support.google.com/a/answer/9193374).
GROUP_LOCAL_PART = re.compile(r"\A[a-z0-9_'-]+(?:\.[a-z0-9_'-]+)*\Z")


# -- Calendar API v3 ----------------------------------------------------------------------------------
# Quota: developers.google.com/workspace/calendar/api/guides/quota (revision after May 1, 2026). Calendar
# counts requests, not units: every call is one. Per minute per project 10,000 requests; per minute per
# user per project 600 requests; both over a sliding window ("a rapid burst of traffic that exceeds your
# per-minute quota results in rate limiting during the next window"). A daily billing threshold of
# 1,000,000 requests per project per day (usage over it is to be billed; it cannot be raised). Like Gmail,
# projects that used the API between November 2025 and April 2026 keep their "previously set" quotas; the
# page gives no other table, so both regimes are read as 600 / 10,000 here. Over either quota Google answers
# "a 403 usageLimits status code or a 429 usageLimits status code" (same page, and the errors guide below).
CALENDAR_QUOTA_PAGE = "https://developers.google.com/workspace/calendar/api/guides/quota"
CALENDAR_ERRORS_GUIDE = "https://developers.google.com/workspace/calendar/api/guides/errors"
CALENDAR_SYNC_GUIDE = "https://developers.google.com/workspace/calendar/api/guides/sync"
CALENDAR_EVENTS_LIST = "https://developers.google.com/workspace/calendar/api/v3/reference/events/list"
CALENDAR_USER_REQUESTS_PER_MIN = 600
CALENDAR_PROJECT_REQUESTS_PER_MIN = 10_000
CALENDAR_PROJECT_REQUESTS_PER_DAY = 1_000_000  # the daily billing threshold
CALENDAR_PROFILE = QuotaProfile("calendar", {"events.list": 1}, CALENDAR_USER_REQUESTS_PER_MIN,
                                CALENDAR_PROJECT_REQUESTS_PER_MIN)

# How Calendar says "over quota" (CALENDAR_ERRORS_GUIDE: "403: User Rate Limit Exceeded" and "403: Rate Limit
# Exceeded", both domain usageLimits; "429: Too many requests", reason rateLimitExceeded, domain usageLimits).
# The guide names no Retry-After header and no time in the message.
CALENDAR_QUOTA_ERROR_SHAPES = {
    "userRateLimit": QuotaErrorShape("userRateLimit", 403, "userRateLimitExceeded", "usageLimits",
                                     "User Rate Limit Exceeded", False, CALENDAR_ERRORS_GUIDE),
    "rateLimit": QuotaErrorShape("rateLimit", 403, "rateLimitExceeded", "usageLimits", "Rate Limit Exceeded",
                                 False, CALENDAR_ERRORS_GUIDE),
    "429": QuotaErrorShape("429", 429, "rateLimitExceeded", "usageLimits", "Rate Limit Exceeded", False,
                           CALENDAR_ERRORS_GUIDE),
}
DEFAULT_CALENDAR_QUOTA_ERROR_SHAPE = "userRateLimit"

# Sync (CALENDAR_SYNC_GUIDE): the last page of a full listing carries nextSyncToken (only the last; earlier
# pages carry nextPageToken); a list with syncToken returns what changed since, deleted entries included
# (status "cancelled"), paged the same way with the same syncToken. "Sometimes sync tokens are invalidated by
# the server, for various reasons including token expiration or changes in related ACLs": the answer is
# 410, and the client must wipe its store for that collection and sync fully again. The 410's body
# (CALENDAR_ERRORS_GUIDE, "410: Gone"): domain "calendar", reason "fullSyncRequired".
SYNC_TOKEN_GONE = (410, "fullSyncRequired", "calendar", "Sync token is no longer valid, a full sync is required.")
# events.list's syncToken (the reference, and the discovery document calendar.v3 that google-api-python-client
# ships): "There are several query parameters that cannot be specified together with nextSyncToken to ensure
# consistency of the client state. These are: iCalUID, orderBy, privateExtendedProperty, q,
# sharedExtendedProperty, timeMin, timeMax, updatedMin." Google refuses them with 400; the reason reported is
# syncTokenWithRequestRestrictions ("Sync token cannot be used with other request restrictions.",
# qiita.com/shiraily/items/6762046f041551c269da). So the window (timeMin/timeMax) bounds only the full sync;
# later changes outside it arrive through the token and the CRM drops them itself.
SYNC_TOKEN_REFUSES = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin",
                      "timeMax", "updatedMin")
SYNC_TOKEN_REFUSAL = (400, "syncTokenWithRequestRestrictions", "calendar",
                      "Sync token cannot be used with other request restrictions.")
# maxResults (the reference): "By default the value is 250 events. The page size can never be larger than 2500
# events." A page may hold fewer, even none, while more follow: only a missing nextPageToken ends a listing.
EVENTS_PAGE_DEFAULT = 250
EVENTS_PAGE_MAX = 2500
# singleEvents=true expands recurring events into instances, each with recurringEventId and
# originalStartTime; the bounded full sync uses it so that every occurrence is one row (issue 25).
# The read-only scope for events (developers.google.com/workspace/calendar/api/auth): calendar.events.readonly
# is enough for events.list on the primary calendar; calendar.readonly adds calendarList (secondary calendars),
# which the CRM does not read.
