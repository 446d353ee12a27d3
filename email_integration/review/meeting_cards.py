"""Meeting cards (issue 25): when a meeting with an investor has ended, one proposed note per meeting (not per
attendee, not per teammate) through the same pipeline as mail's cards (proposals.decide, /capture, the intake
work-lists with kind "meeting").

`propose_ended_meetings(conn, now)` runs on every scheduler tick. Each meeting is looked at once, after its end:
- no teammate attended (every copy declined or an unanswered invitation) → no card, nothing counted;
- it ended more than CRM_GMAIL_PROPOSE_SINCE_DAYS before a teammate's calendar first brought it (the first
  calendar sync's years of history) → no card ('held'), as mail's horizon: history must not flood the room;
- otherwise one card for the meeting's first investor (the organizer's, else an address match), naming the
  others in the draft; the investors' last contact moves to the meeting's start either way (held too).
An event Google marks private drafts without its title, its card only its holders see, and it moves no last contact. A card whose meeting is cancelled everywhere before
anyone decided it is withdrawn.
"""
from __future__ import annotations

import datetime as _dt

from backend.db import ISO_FORMAT, atomic
from backend.investors_db import bump_last_contact
from email_integration.calendar.db_meetings import attendees as meeting_attendees
from email_integration.calendar.db_meetings import teammates_of
from email_integration.capture import events as capture_events
from email_integration.config import CONFIG
from email_integration.privacy.db_visibility import LEVEL_NAMES, METADATA

from . import db_meeting_cards
from .drafter import draft_meeting_note

BATCH = 200
MAX_BATCHES = 50  # a tick looks at 10,000 ended meetings at most; the next tick goes on


def _stamp(now: _dt.datetime) -> str:
    return now.astimezone(_dt.timezone.utc).strftime(ISO_FORMAT)


def horizon_of(first_seen: str, days: float | None) -> str:
    """Meetings that ended before this were history when the calendar was first read: no card."""
    if days is None or not first_seen:
        return ""
    seen = _dt.datetime.strptime(first_seen, ISO_FORMAT)
    return (seen - _dt.timedelta(days=days)).strftime(ISO_FORMAT)


def propose_ended_meetings(conn, now: _dt.datetime, propose_since_days: float | None = None) -> dict:
    """Draft the cards of meetings that ended by `now`; {"proposed", "held", "declined", "withdrawn"}."""
    days = CONFIG.propose_since_days if propose_since_days is None else propose_since_days
    stamp = _stamp(now)
    counts = {"proposed": 0, "held": 0, "declined": 0, "withdrawn": 0}
    with atomic(conn):
        counts["withdrawn"] = db_meeting_cards.supersede_orphans(conn)
    for _ in range(MAX_BATCHES):
        with atomic(conn):
            ended = db_meeting_cards.ended_unlooked(conn, stamp, BATCH)
            for meeting in ended:
                counts[_look_at(conn, meeting, days, now.year)] += 1
        if len(ended) < BATCH:
            break
    return counts


def _look_at(conn, meeting: dict, days: float | None, year: int) -> str:
    teammates = db_meeting_cards.attendees_named(conn, meeting["id"])
    if not teammates:
        db_meeting_cards.set_card_state(conn, meeting["id"], "none")
        return "declined"
    investors = db_meeting_cards.meeting_investors(conn, meeting["id"], meeting["organizer_email"])
    for investor in investors if not meeting["private"] else ():  # a private meeting is its holders' alone
        bump_last_contact(conn, investor["id"], meeting["start_at"])
    capture_events.meetings_changed(conn, {i["id"] for i in investors})  # it now counts in strength
    horizon = horizon_of(meeting["first_seen"], days)
    if not investors or horizon and meeting["end_at"] < horizon:
        db_meeting_cards.set_card_state(conn, meeting["id"], "held")
        return "held"
    draft = draft_meeting_note(meeting, investors, teammates, year, with_title=meeting["shared_level"] > METADATA)
    db_meeting_cards.insert(conn, investors[0]["id"], meeting["id"], meeting["start_at"], draft)
    return "proposed"


def card(row: dict, attendees: list[dict], teammates: list[dict]) -> dict:
    """The JSON shape of a meeting card (contracts §5 and §7 with kind "meeting"): the event's details in place
    of the email's; the description only at the reader's level FULL (list_cards already asks that of a viewer)."""
    level = row["level"]
    return {"id": row["id"], "kind": "meeting", "version": row["version"], "status": row["status"],
            "draft": row["draft"], "drafted_by": row["drafted_by"], "thread_id": None,
            "investor": {"id": row["investor_id"], "name": row["investor_name"], "firm": row["investor_firm"]},
            "meeting": {"id": row["meeting_id"], "start": row["start_at"], "end": row["end_at"],
                        "title": row["title"] if level > METADATA else None,
                        "description": row["description"] if level == 3 else None,
                        "location": row["location"] if level == 3 else None,
                        "organizer": row["organizer_email"], "attendees": attendees,
                        "teammates": teammates, "visibility": LEVEL_NAMES[level]},
            "created_at": row["created_at"], "owner_only": bool(row.get("owner_only")),
            "holder": bool(row.get("holder"))}


def named_attendees(attendees: list[dict], teammates: list[dict], investors: dict[str, str]) -> list[dict]:
    """The attendees with a name where the event gave none: a teammate's (their sign-in address), a known
    investor's (`investors`: address → name); else the address alone, as before."""
    names = {**investors, **{(m.get("email") or "").lower(): m["name"] for m in teammates}}
    return [{**a, "name": a["name"] or names.get((a["email"] or "").lower()) or a["name"]} for a in attendees]


def rows_and_cards(conn, status: str, limit: int, ids=None, viewer_id: int | None = None) -> list[tuple]:
    """[(row, card)]: meeting cards as `viewer_id` may see them (None: the review room's view), each with the
    teammates whose calendars hold it (the page's teammate filter)."""
    rows = db_meeting_cards.list_cards(conn, status, limit, ids=ids, viewer_id=viewer_id)
    meeting_ids = [r["meeting_id"] for r in rows]
    people, mates = meeting_attendees(conn, meeting_ids), teammates_of(conn, meeting_ids, with_email=True)
    redacted = meeting_attendees(conn, [r["meeting_id"] for r in rows if not r["sees_all"]], redacted=True)
    people.update(redacted)  # who does not see the shared view in full: the investors and the teammates only
    investors = db_meeting_cards.investor_names(conn, meeting_ids)
    for meeting_id, listed in mates.items():
        people[meeting_id] = named_attendees(people.get(meeting_id, []), listed, investors.get(meeting_id, {}))
        mates[meeting_id] = [{k: v for k, v in m.items() if k != "email"} for m in listed]
    return [(row, {**card(row, people[row["meeting_id"]], mates[row["meeting_id"]]),
                   "teammates": [{"id": m["id"], "name": m["name"]} for m in mates[row["meeting_id"]]]})
            for row in rows]


def cards(conn, status: str, limit: int, ids=None, viewer_id: int | None = None) -> list[dict]:
    return [shown for _row, shown in rows_and_cards(conn, status, limit, ids, viewer_id)]
