"""The store of meetings: Google Calendar events (events.list with singleEvents=true) → meetings with investors.

`apply_events(conn, account_id, events, full_sync=…, now=…)` is what the calendar sync calls with each page
(or, on a full sync, the account's whole window). The rules (README "Meetings"):

- One meeting per iCalUID and original start (a recurring series: one per occurrence; a single event keeps
  its meeting when it moves) across every teammate whose calendar holds it; each teammate's copy keeps their
  own responseStatus, Google's visibility and its own title, description, location and attendees. The shared
  view comes from the organizing teammate's copy, else the one stored first; a copy whose organizer or start
  disagrees with the meeting (a planted iCalUID) is a meeting of its own.
- Attendees and the organizer are matched to investors with mail's matcher (capture/matcher.py: the address,
  then the domain; never free-mail or the firm's own domain).
- Nothing at all is written for an event with no investor attendee, an all-day event, an event with more than
  CRM_CALENDAR_MAX_ATTENDEES (15) attendees (conferences, all-hands), or an event one of whose attendees the teammate's
  exclusions cover (privacy/exclusions.py, as for mail: any participant) — and a copy stored earlier that now
  falls under one of these is removed.
- Cancelled (status "cancelled", possibly only id and status) removes the teammate's copy; a cancelled
  series id removes its occurrences; a meeting no teammate holds any more is deleted. Declined keeps the copy
  (the timeline shows it) but it does not count as attended (strength, last contact, cards); nor does an
  unanswered invitation (needsAction).
- full_sync=True: the list is the account's whole window; a stored copy not in it is removed.
"""
from __future__ import annotations

import datetime as _dt

from backend.db import ISO_FORMAT, atomic
from email_integration.capture import db_accounts
from email_integration.capture import events as capture_events
from email_integration.capture.matcher import MatcherCache
from email_integration.config import CONFIG
from email_integration.privacy import db_privacy
from email_integration.privacy.exclusions import excluded

from . import db_meetings

MAX_ATTENDEES = 15  # the default of CRM_CALENDAR_MAX_ATTENDEES: more people (rooms aside) is a conference, not a meeting
RESPONSES = ("needsAction", "declined", "tentative", "accepted")
VISIBILITIES = ("default", "public", "private", "confidential")
MAX_TEXT = {"title": 1000, "description": 8000, "location": 1000}

_MATCHER = MatcherCache(CONFIG.workspace_domain)


def _matcher() -> MatcherCache:
    global _MATCHER
    if _MATCHER.own_domain != CONFIG.workspace_domain:
        _MATCHER = MatcherCache(CONFIG.workspace_domain)
    return _MATCHER


def utc(moment: dict | None) -> str | None:
    """A Calendar time ({dateTime: RFC 3339 with an offset}) as a stored UTC stamp; None for a date (all-day)
    or anything unreadable."""
    if not isinstance(moment, dict) or not isinstance(moment.get("dateTime"), str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(moment["dateTime"].replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # Google always sends an offset with dateTime; a bare one is not ours to guess
    return parsed.astimezone(_dt.timezone.utc).strftime(ISO_FORMAT)


def _address(person) -> str:
    email = person.get("email") if isinstance(person, dict) else None
    return email.strip().lower() if isinstance(email, str) and "@" in email else ""


def _text(event: dict, key: str, limit: int) -> str:
    value = event.get(key)
    return value[:limit] if isinstance(value, str) else ""


def people(event: dict) -> list[dict]:
    """The attendees (rooms and other resources left out) and the organizer, one per address."""
    found: dict[str, dict] = {}
    organizer = _address(event.get("organizer"))
    for attendee in event.get("attendees") or []:
        address = _address(attendee)
        if not address or attendee.get("resource"):
            continue
        status = attendee.get("responseStatus")
        found.setdefault(address, {"address": address, "name": str(attendee.get("displayName") or "")[:300],
                                   "organizer": bool(attendee.get("organizer")) or address == organizer,
                                   "response_status": status if status in RESPONSES else None,
                                   "self": bool(attendee.get("self"))})
    if organizer and organizer not in found:
        org = event["organizer"]
        found[organizer] = {"address": organizer, "name": str(org.get("displayName") or "")[:300], "organizer": True,
                            "response_status": None, "self": bool(org.get("self"))}
    return list(found.values())


def own_response(event: dict, attendees: list[dict], account_email: str) -> str:
    """The teammate's own response: their attendee row (self, or their address); the organizer accepted."""
    for person in attendees:
        if person["self"] or person["address"] == account_email:
            if person["organizer"] and person["response_status"] in (None, "needsAction"):
                return "accepted"  # their own meeting
            if person["response_status"]:
                return person["response_status"]
    organizer = event.get("organizer") if isinstance(event.get("organizer"), dict) else {}
    return "accepted" if organizer.get("self") else "needsAction"


def meeting_key(event: dict, start_at: str) -> tuple[str, str] | None:
    """(iCalUID, original start): an occurrence of a series by its original start, a single event by '' (so it
    keeps its meeting when it moves)."""
    uid = event.get("iCalUID") or event.get("id")
    if not isinstance(uid, str) or not uid:
        return None
    if event.get("recurringEventId"):
        original = utc(event.get("originalStartTime")) or start_at
        return uid[:1000], original
    return uid[:1000], ""


class _Apply:
    def __init__(self, conn, account: dict, now: str):
        self.conn, self.account, self.now = conn, account, now
        self.index = _matcher().index(conn)
        self.patterns = db_privacy.patterns_for_account(conn, account["id"])
        self.counts = {"kept": 0, "skipped": 0, "removed": 0}
        self.touched_investors: set[int] = set()

    def remove(self, event_id: str) -> None:
        meeting_id = db_meetings.delete_copy(self.conn, self.account["id"], event_id)
        if meeting_id is None:
            return
        self.counts["removed"] += 1
        self._settle(meeting_id)

    def _settle(self, meeting_id: int) -> None:
        """The meeting lost a copy (or one moved): deleted when no teammate holds it; when the copy its shared view
        came from is gone, the view falls to the organizing teammate's copy, else the earliest; stats go stale."""
        self.touched_investors |= db_meetings.investor_ids(self.conn, meeting_id)
        if db_meetings.drop_if_unheld(self.conn, meeting_id) or db_meetings.shared_source(self.conn, meeting_id):
            return
        heir = db_meetings.next_source(self.conn, meeting_id)
        if heir is not None:
            self._share(meeting_id, heir["account_id"], heir["event_id"], heir, heir["attendees"],
                        self.index.match([a["address"] for a in heir["attendees"]]))

    def _share(self, meeting_id: int, account_id: int, event_id: str, fields: dict, attendees: list[dict],
               links: list) -> None:
        """Copy (account_id, event_id) becomes the meeting's shared view: what others, cards, drafts and the room see."""
        db_meetings.set_shared_source(self.conn, meeting_id, account_id, event_id)
        db_meetings.update_shared(self.conn, meeting_id, {**fields, "end_at": fields.get("end_at") or
                                                          db_meetings.get_meeting(self.conn, meeting_id)["end_at"]},
                                  self.now)
        db_meetings.set_attendees(self.conn, meeting_id, attendees)
        if links:
            self.touched_investors |= db_meetings.set_investors(self.conn, meeting_id, links)

    def _home(self, key: tuple[str, str], fields: dict, event_id: str) -> tuple[int, bool]:
        """(meeting id, whether this copy is its shared view). A copy joins the meeting of its (iCalUID, original
        start) only when its organizer and start agree with it (mail's planted copies, issue 22: an iCalUID is
        anyone's to copy); otherwise it is a meeting of its own, held by this calendar alone. The organizing
        teammate's copy takes the shared view over; a later invitee's copy never does."""
        uid, original = key
        meeting = db_meetings.find_meeting(self.conn, uid, original)
        if meeting is None:
            return db_meetings.create_meeting(self.conn, uid, original, fields, self.now), True
        source = db_meetings.shared_source(self.conn, meeting["id"])
        if source is None or source == (self.account["id"], event_id):
            return meeting["id"], True
        if meeting["organizer_email"] == fields["organizer_email"] and meeting["start_at"] == fields["start_at"]:
            return meeting["id"], fields["organizer_email"] == self.account["email"].lower()
        own_key = f"{uid}\n{self.account['id']}\n{event_id}"  # the key of no real event (an iCalUID has no newline)
        own = db_meetings.find_meeting(self.conn, own_key, original)
        if own is None:
            return db_meetings.create_meeting(self.conn, own_key, original, fields, self.now), True
        return own["id"], True

    def event(self, event) -> None:
        event_id = event.get("id") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not event_id:
            self.counts["skipped"] += 1
            return
        event_id = event_id[:1024]
        if event.get("status") == "cancelled":
            before = self.counts["removed"]
            self.remove(event_id)
            for occurrence in db_meetings.series_event_ids(self.conn, self.account["id"], event_id):
                self.remove(occurrence)  # the whole series was cancelled
            if self.counts["removed"] == before:
                self.counts["skipped"] += 1
            return
        kept = self._keep(event, event_id)
        if not kept:
            self.counts["skipped"] += 1
            self.remove(event_id)  # stored before, and now out of bounds (no investor any more, excluded, …)

    def _keep(self, event: dict, event_id: str) -> bool:
        start_at, end_at = utc(event.get("start")), utc(event.get("end"))
        if start_at is None or end_at is None or end_at < start_at:
            return False  # all-day (a date, not a dateTime) or unreadable
        attendees = people(event)
        if len(attendees) > CONFIG.calendar_max_attendees:
            return False
        addresses = [a["address"] for a in attendees]
        if excluded(addresses, self.patterns):
            return False  # as mail: an excluded participant keeps the whole event out of this calendar
        links = self.index.match(addresses)
        if not links:
            return False
        key = meeting_key(event, start_at)
        if key is None:
            return False
        fields = {"start_at": start_at, "end_at": end_at, "title": _text(event, "summary", MAX_TEXT["title"]),
                  "description": _text(event, "description", MAX_TEXT["description"]),
                  "location": _text(event, "location", MAX_TEXT["location"]),
                  "organizer_email": _address(event.get("organizer")) or None}
        meeting_id, shared = self._home(key, fields, event_id)
        visibility = event.get("visibility") if event.get("visibility") in VISIBILITIES else "default"
        recurring = event.get("recurringEventId") if isinstance(event.get("recurringEventId"), str) else None
        moved_from = db_meetings.put_copy(self.conn, self.account["id"], event_id, meeting_id, recurring,
                                          own_response(event, attendees, self.account["email"].lower()),
                                          visibility, self.now)
        db_meetings.put_copy_fields(self.conn, self.account["id"], event_id, fields, attendees)
        if shared:
            self._share(meeting_id, self.account["id"], event_id, fields, attendees, links)
            if "\n" not in key[0]:
                for emptied in db_meetings.rejoin_split(self.conn, key[0], key[1], meeting_id):
                    self._settle(emptied)
        if moved_from is not None:
            self._settle(moved_from)
        self.counts["kept"] += 1
        return True


def purge_excluded(conn, account_id: int) -> int:
    """An exclusion was just added (controls/actions.add_exclusion, inside its transaction): the account's copies of
    meetings with an attendee its exclusions now cover are removed, as its mail is; returns how many."""
    patterns = db_privacy.patterns_for_account(conn, account_id)
    account = db_accounts.get_account(conn, account_id)
    if not patterns or account is None:
        return 0
    run = _Apply(conn, dict(account), "")
    for event_id, meeting_id in db_meetings.account_copies(conn, account_id):
        if excluded(db_meetings.copy_addresses(conn, account_id, event_id)
                    or db_meetings.attendee_addresses(conn, meeting_id), patterns):
            run.remove(event_id)
    if run.touched_investors:
        capture_events.meetings_changed(conn, run.touched_investors)
    return run.counts["removed"]


def rematch(conn, investor_id: int | None = None) -> dict:
    """Re-link every stored meeting to investors with the current matcher (an investor's addresses edited, or
    POST /api/email/rematch): {"meetings", "relinked", "removed"}. A meeting no investor attends any more is
    deleted with every copy (nothing of it stays); one with a new investor is linked to them too. Meetings never
    stored (no investor attended then) come with the calendar's next full sync. With `investor_id` (its addresses
    were just edited, inside that transaction): only the meetings linked to it or with an attendee it now matches."""
    counts = {"meetings": 0, "relinked": 0, "removed": 0}
    index = _matcher().index(conn)
    ids = db_meetings.all_meeting_ids(conn) if investor_id is None else db_meetings.meeting_ids_of(conn, investor_id)
    for meeting_id in ids:
        counts["meetings"] += 1
        with atomic(conn):
            links = index.match(db_meetings.attendee_addresses(conn, meeting_id))
            before = db_meetings.investor_ids(conn, meeting_id)
            if {link[0] for link in links} == before:
                continue
            if links:
                db_meetings.set_investors(conn, meeting_id, links)
                counts["relinked"] += 1
            else:
                db_meetings.delete_meeting(conn, meeting_id)
                counts["removed"] += 1
            capture_events.meetings_changed(conn, before | {link[0] for link in links})
    return counts


def apply_events(conn, account_id: int, events: list[dict], *, full_sync: bool, now: _dt.datetime) -> dict:
    """Store what `events` (Calendar v3 Event resources of account `account_id`'s calendar) say of meetings with
    investors, in one transaction; returns {"kept", "skipped", "removed"} (copies)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    stamp = now.astimezone(_dt.timezone.utc).strftime(ISO_FORMAT)
    with atomic(conn):
        account = db_accounts.get_account(conn, account_id)
        if account is None:
            raise ValueError(f"no account {account_id}")
        run = _Apply(conn, dict(account), stamp)
        listed = set()
        for event in events:
            run.event(event)
            if isinstance(event, dict) and isinstance(event.get("id"), str) and event.get("status") != "cancelled":
                listed.add(event["id"][:1024])
        if full_sync:
            for event_id in sorted(db_meetings.account_event_ids(conn, account_id) - listed):
                run.remove(event_id)
        if run.touched_investors:
            capture_events.meetings_changed(conn, run.touched_investors)
        return run.counts
