"""devtools/mailgen.py --months: two years of history up to a given moment, spread evenly, reproducible."""
import email
import email.utils
import glob

from devtools.mailgen import generate

END = 1_795_000_000.0  # 2026-11-19
DAY = 86400


def dates(folder):
    return [email.utils.parsedate_to_datetime(email.message_from_bytes(open(path, "rb").read())["Date"]).timestamp()
            for path in glob.glob(f"{folder}/*/*.eml")]


def test_months_spreads_mail_over_the_span_and_stops_at_its_end(tmp_path):
    counts = generate(str(tmp_path / "a"), threads=120, months=24, end_ts=END)
    found = dates(tmp_path / "a")
    assert len(found) == sum(counts.values())
    assert min(found) >= END - 24 * 30.44 * DAY - 1 and max(found) <= END
    quarters = [sum(1 for d in found if END - (4 - q) * 182.6 * DAY <= d < END - (3 - q) * 182.6 * DAY) for q in range(4)]
    assert all(q > len(found) / 8 for q in quarters), quarters  # no half-year is nearly empty
    recent = sum(1 for d in found if d > END - 14 * DAY)
    assert 0 < recent < len(found) / 10  # a few recent messages: the horizon's cards


def test_same_seed_same_mailboxes(tmp_path):
    generate(str(tmp_path / "a"), threads=30, months=24, end_ts=END)
    generate(str(tmp_path / "b"), threads=30, months=24, end_ts=END)
    first = sorted(open(p, "rb").read() for p in glob.glob(f"{tmp_path}/a/*/*.eml"))
    second = sorted(open(p, "rb").read() for p in glob.glob(f"{tmp_path}/b/*/*.eml"))
    assert first == second
