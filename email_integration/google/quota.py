"""Gmail's usage limits: THE one table of per-method costs and per-user budgets, per quota regime.

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
