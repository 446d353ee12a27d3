"""Generate reproducible calendars for the demo and the benchmarks (the emulator's --calendars layout).

    python -m devtools.calgen OUT_DIR [--domain demo.example] [--months 24] [--days-ahead 90] [--per-week 4]

Writes OUT_DIR/<teammate address>/events.json: a list of Event resources as Google returns them. Per
teammate, about --per-week meetings a week over the months up to now and the days ahead: internal
meetings, personal appointments, all-day events, and about 15% of all events with an investor (mailgen.FUNDS' people,
the same addresses the generated mail uses), often with a second teammate, who then has the same meeting
(same iCalUID, their own response status) in their calendar. Recurring series among them: a weekly team
sync for everyone, and per teammate a fortnightly call with one investor (RRULE WEEKLY;INTERVAL=2), with
COUNT or UNTIL. Some investor meetings are declined or tentative; a few are cancelled later in the bench.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random

from devtools.mailgen import FUNDS, TEAM, _address

UTC = dt.timezone.utc
INTERNAL = ["Pipeline review", "1:1", "Portfolio ops", "Hiring sync", "IC prep", "Founder office hours",
            "Board deck review", "Offsite planning"]
PERSONAL = ["Dentist", "School pickup", "Gym", "Lunch with Sara", "Flight to Lisbon", "Car service"]
INVESTOR_TOPICS = ["Fund II update", "LP quarterly check-in", "Co-invest discussion", "Intro call",
                   "Diligence follow-up", "Portfolio review", "Coffee"]
INVESTOR_SHARE = 0.11  # of the meetings one teammate makes; with colleagues' copies about 15% of all events


def _id(*parts) -> str:
    """A stable event id in Google's alphabet (base32hex: a-v, 0-9)."""
    digest = hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()
    return "g" + digest[:24]


def _when(start: dt.datetime, minutes: int, zone: str = "UTC") -> dict:
    end = start + dt.timedelta(minutes=minutes)
    return {"start": {"dateTime": start.isoformat(), "timeZone": zone},
            "end": {"dateTime": end.isoformat(), "timeZone": zone}}


def _person(address: str, status: str = "accepted", organizer: bool = False) -> dict:
    out = {"email": address, "responseStatus": status}
    if organizer:
        out["organizer"] = True
    return out


def generate(out_dir: str, domain: str = "demo.example", months: int = 24, days_ahead: int = 90,
             per_week: float = 4.0, seed: int = 7, now: dt.datetime | None = None,
             investor_share: float = INVESTOR_SHARE) -> dict:
    """Write the calendars; returns {address: {"events": n, "investor": n, "recurring": n}}."""
    rng = random.Random(seed)
    now = (now or dt.datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    first = (now - dt.timedelta(days=round(months * 30.44))).replace(hour=0)
    last = now + dt.timedelta(days=days_ahead)
    team = [(name, f"{slug}@{domain}") for name, slug in TEAM]
    investors = [(person, _address(person, fund_domain), fund) for fund, people, fund_domain in FUNDS
                 for person in people]
    calendars: dict[str, list] = {address: [] for _, address in team}
    counts = {address: {"events": 0, "investor": 0, "recurring": 0} for _, address in team}

    def put(owner: str, resource: dict, investor: bool = False) -> None:
        calendars[owner].append(resource)
        counts[owner]["events"] += 1
        counts[owner]["investor"] += int(investor)
        counts[owner]["recurring"] += int("recurrence" in resource)

    # Everyone's weekly team sync (Monday 09:00), one series shared by the team.
    monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
    sync_uid = f"{_id('team-sync')}@google.com"
    for _, address in team:
        put(address, {"id": _id("team-sync", address), "iCalUID": sync_uid, "summary": "Team sync",
                      **_when(monday.replace(hour=9), 45), "organizer": {"email": team[0][1]},
                      "attendees": [_person(a, organizer=a == team[0][1]) for _, a in team],
                      "recurrence": [f"RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL={last.strftime('%Y%m%dT%H%M%SZ')}"]})
    # Per teammate, a fortnightly call with one investor for about a year.
    for index, (_, address) in enumerate(team):
        person, investor_address, fund = investors[index % len(investors)]
        begin = (now - dt.timedelta(days=300 + 20 * index)).replace(hour=16)
        begin += dt.timedelta(days=(3 - begin.weekday()) % 7)  # a Thursday
        put(address, {"id": _id("lp-call", address), "summary": f"{fund} catch-up ({person})",
                      **_when(begin, 30), "organizer": {"email": address},
                      "attendees": [_person(address, organizer=True), _person(investor_address)],
                      "recurrence": ["RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=26"]}, investor=True)

    weeks = (last - first).days / 7
    for owner_index, (_, owner) in enumerate(team):
        for n in range(int(weeks * per_week)):
            day = first + dt.timedelta(days=rng.uniform(0, (last - first).days))
            start = day.replace(hour=rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 17]), minute=rng.choice([0, 30]))
            kind = rng.random()
            key = (owner, n)
            if kind < investor_share:
                person, investor_address, fund = rng.choice(investors)
                colleague = rng.choice([a for _, a in team if a != owner]) if rng.random() < 0.4 else None
                attendees = [_person(owner, organizer=True), _person(investor_address, rng.choice(
                    ["accepted", "accepted", "tentative", "needsAction"]))]
                if colleague:
                    attendees.append(_person(colleague, rng.choice(["accepted", "accepted", "declined"])))
                resource = {"id": _id(*key), "iCalUID": f"{_id(*key)}@google.com",
                            "summary": f"{rng.choice(INVESTOR_TOPICS)} with {person} ({fund})",
                            "description": "Agenda: fund update, pipeline, next steps.",
                            "location": rng.choice(["Zoom", "Office", "Their office"]),
                            **_when(start, rng.choice([30, 45, 60])), "organizer": {"email": owner},
                            "attendees": attendees}
                if rng.random() < 0.1:
                    resource["visibility"] = "private"
                put(owner, resource, investor=True)
                if colleague:  # the same meeting in the colleague's calendar, their own response
                    copy = json.loads(json.dumps(resource))
                    copy["id"] = _id(*key, colleague)
                    put(colleague, copy, investor=True)
            elif kind < investor_share + 0.08:
                put(owner, {"id": _id(*key), "summary": rng.choice(PERSONAL), **_when(start, 60),
                            "visibility": "private"})
            elif kind < investor_share + 0.11:
                put(owner, {"id": _id(*key), "summary": "Out of office", "start": {"date": day.date().isoformat()},
                            "end": {"date": (day.date() + dt.timedelta(days=1)).isoformat()},
                            "transparency": "transparent"})
            else:
                others = rng.sample([a for _, a in team if a != owner], rng.randint(1, 3))
                put(owner, {"id": _id(*key), "summary": rng.choice(INTERNAL), **_when(start, rng.choice([30, 60])),
                            "organizer": {"email": owner},
                            "attendees": [_person(owner, organizer=True)] + [_person(a) for a in others]})
    for address, events in calendars.items():
        folder = os.path.join(out_dir, address)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "events.json"), "w", encoding="utf-8") as handle:
            json.dump(events, handle, indent=1)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--domain", default="demo.example")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--days-ahead", type=int, default=90)
    parser.add_argument("--per-week", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    counts = generate(args.out_dir, args.domain, args.months, args.days_ahead, args.per_week, args.seed)
    print(f"generated {sum(c['events'] for c in counts.values())} events for {len(counts)} teammates")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
