"""email_integration.google.pacing on a fake clock: AIMD around the configured budget, the per-account batch
size, and the usage counters the status page shows."""
import pytest

from email_integration.google.pacing import RECOVERY_SEC, BatchSizer, QuotaLimiter, UsageMeter


def limiter_at(units_per_min=6000):
    now = [0.0]
    limiter = QuotaLimiter(units_per_min, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    return limiter, now


def test_a_429_halves_the_pace_once_per_episode_and_honours_retry_after():
    limiter, now = limiter_at(6000)  # 100 units/s
    limiter.rate_limited(retry_after=2.0)
    assert limiter.rate == 50 and limiter.ceiling == 90
    limiter.rate_limited(retry_after=2.0)  # the rest of the same burst: no second halving
    assert limiter.rate == 50 and limiter.decreases == 1
    assert limiter.reserve(1) == pytest.approx(2.0)  # the whole account waits out Retry-After
    now[0] = 3.5
    limiter.rate_limited()
    assert limiter.rate == 25 and limiter.decreases == 2


def test_clean_traffic_climbs_back_to_the_ceiling_never_above_the_budget():
    limiter, now = limiter_at(6000)
    limiter.rate_limited()
    now[0] = 2.0
    for _ in range(200):  # well over RECOVERY_SEC worth of clean traffic at the current pace
        limiter.charged(limiter.rate)
        now[0] += 1.0
    assert limiter.rate <= limiter.ceiling <= limiter.budget == 100
    assert limiter.rate == pytest.approx(limiter.ceiling, rel=0.05)
    now[0] += 10_000  # long after: the ceiling drifted back to the budget, and so does the pace
    limiter.reserve(0)
    for _ in range(int(RECOVERY_SEC) * 2):
        limiter.charged(limiter.rate)
    assert limiter.rate == pytest.approx(100)


def test_the_pace_has_a_floor():
    limiter, now = limiter_at(6000)
    for step in range(20):
        now[0] += 10
        limiter.rate_limited()
    assert limiter.rate == pytest.approx(2.0)  # 2% of 100 units/s


def test_batch_size_starts_at_the_concurrent_limit_shrinks_and_grows_back_carefully():
    sizer = BatchSizer(50)
    assert sizer.size == 10
    for _ in range(BatchSizer.GROW_AFTER):
        sizer.clean(10)
    assert sizer.size == 11
    sizer.limited(11, 10)  # one part refused: what got through is the size, and the ceiling
    assert (sizer.size, sizer.ceiling) == (10, 10)
    for _ in range(BatchSizer.PROBE_AFTER - 1):
        sizer.clean(10)
    assert sizer.size == 10
    sizer.clean(10)
    assert sizer.size == 11  # a refused size is tried again only after many clean batches
    sizer.limited(11, 0)  # nothing got through: halve
    assert sizer.size == 5
    sizer.clean(3)  # a short batch says nothing
    assert BatchSizer(4).size == 4


def test_usage_counts_the_last_minute_and_hour():
    now = [0.0]
    meter = UsageMeter(lambda: now[0])
    meter.add(100)
    now[0] = 50
    meter.add(20)
    meter.add(0, limited=True)
    assert meter.window(60) == (120, 1)
    now[0] = 100
    assert meter.window(60) == (20, 1) and meter.window(3600) == (120, 1)
    now[0] = 3700
    assert meter.window(3600) == (0, 0)
    limiter, _ = limiter_at(6000)
    limiter.charged(40)
    assert limiter.snapshot() == {"budget_units_per_min": 6000, "pace_units_per_min": 6000, "units_last_minute": 40,
                                  "units_last_hour": 40, "rate_limited_last_hour": 0, "paused_for_sec": 0}


def test_retry_after_tells_what_the_minute_allows():
    # Two minutes at 100 units/s, then Gmail's budget is cut to 2,000/min: its window holds 6,000 and
    # it says "retry in 40 s"; what we spent over the last 20 s (2,000) is what the minute allows.
    limiter, now = limiter_at(6000)
    for _ in range(120):
        now[0] += 1.0
        limiter.charged(100)
    limiter.rate_limited(retry_after=40.0)
    assert limiter.ceiling * 60 == pytest.approx(0.9 * 2000, rel=0.06)
    assert limiter.rate == limiter.ceiling  # under the new budget at once, not after halvings
    assert limiter.reserve(0) == pytest.approx(40.0)


def test_a_429_that_is_not_about_our_budget_keeps_the_ceiling_and_counts_once_a_minute():
    limiter, now = limiter_at(6000)
    limiter.rate_limited(retry_after=1.0, per_user=False)  # rateLimitExceeded: the project, or load shedding
    assert (limiter.rate, limiter.ceiling) == (50, 100)
    now[0] = 30.0
    limiter.rate_limited(retry_after=1.0, per_user=False)
    assert limiter.rate == 50  # stray 429s within the minute do not halve it again
    now[0] = 61.0
    limiter.rate_limited(retry_after=1.0, per_user=False)
    assert limiter.rate == 25


def test_after_a_stray_429_the_pace_climbs_back_within_the_minute():
    limiter, now = limiter_at(6000)
    limiter.rate_limited(retry_after=1.0, per_user=False)
    for _ in range(int(RECOVERY_SEC)):
        now[0] += 1.0
        limiter.charged(limiter.rate)
    assert limiter.rate == pytest.approx(100)
