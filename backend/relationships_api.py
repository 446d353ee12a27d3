"""The relationship view (issue 17): an investor's timeline and team connections, and the grid's
closest-teammate, strength and going-cold columns. Email facts come from backend.email_source's
provider; without one (integration off) the timeline is the grid notes and the columns are null."""
from __future__ import annotations

from . import email_source, investors_db
from .auth import require_user
from .db import iso_after
from .timeline import merge, parse_cursor
from .web import BadRequest, NotFound, Route, query_int

DEFAULT_PAGE = 50


def _investor_id(req) -> int:
    investor_id = int(req.params["id"])
    if not investors_db.investor_exists(req.conn, investor_id):
        raise NotFound(f"no investor {investor_id}")
    return investor_id


def timeline(req):
    """{items: [{kind: note|email|meeting|card, at, id, <kind>: …}], next_before, email, next_meeting} newest first;
    next_meeting: the investor's next meeting not yet ended (null: none, or no calendar capture)."""
    investor_id = _investor_id(req)
    limit = query_int(req.query, "limit", DEFAULT_PAGE, 1, 200)
    cursor = parse_cursor(req.query.get("before"))

    def bound(kind):
        return cursor.bound(kind) if cursor else None

    notes = investors_db.notes_before(req.conn, investor_id, bound("note"), limit + 1)
    sources = [[{"kind": "note", "at": n["created_at"], "id": n["id"], "note": n} for n in notes]]
    provider = email_source.current()
    if provider is not None:
        sources.append(provider.timeline(req.conn, investor_id, req.user, bound, limit + 1))
    items, next_before = merge(sources, limit)
    upcoming = getattr(provider, "next_meeting", None)
    return {"items": items, "next_before": next_before, "email": provider is not None,
            "next_meeting": upcoming(req.conn, investor_id, req.user) if upcoming else None}


def connections(req):
    """{connections: [...] strongest first, email, people}: each teammate's history with this investor, and
    with each of its people."""
    investor_id = _investor_id(req)
    provider = email_source.current()
    both = getattr(provider, "connections_and_people", None)
    if both is not None:  # who knows the investor, and each of its people (issue 24, item 8), from one read
        found, people = both(req.conn, investor_id, req.user)
    else:
        found = provider.connections(req.conn, investor_id, req.user) if provider is not None else []
        people = [{"person": {k: p[k] for k in ("id", "name", "title")}, "connections": []}
                  for p in investors_db.people_rows(req.conn, [investor_id])]
    return {"connections": found, "email": provider is not None, "people": people}


def stale_requested(query: dict) -> bool:
    raw = (query.get("stale") or "").strip().lower()
    if raw in ("", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise BadRequest("query parameter 'stale' must be 1 or 0")


def with_relationships(req, investors: list[dict]) -> list[dict]:
    """Add strength, closest, last_two_way_at and next_meeting_at to grid rows; with ?stale=1 keep only those going cold
    (last two-way contact older than CRM_STALE_DAYS), strongest first."""
    stale = stale_requested(req.query)
    provider = email_source.current()
    facts = provider.grid(req.conn) if provider is not None else {}
    for investor in investors:
        fact = facts.get(investor["id"]) or {}
        investor["strength"] = fact.get("strength")
        investor["closest"] = fact.get("closest")
        investor["last_two_way_at"] = fact.get("last_two_way_at")
        investor["next_meeting_at"] = fact.get("next_meeting_at")
    if not stale:
        return investors
    cutoff = iso_after(-req.handler.server.settings.stale_days * 86400)
    cold = [i for i in investors if i["last_two_way_at"] and i["last_two_way_at"] < cutoff]
    cold.sort(key=lambda i: (-(i["strength"] or 0), i["last_two_way_at"], i["id"]))
    return cold


ID = r"(?P<id>[0-9]{1,12})"
ROUTES = [
    Route("GET", rf"/api/investors/{ID}/timeline", timeline, require_user),
    Route("GET", rf"/api/investors/{ID}/connections", connections, require_user),
]
