"""The one place the core reads captured email: a provider the integration registers at start.

The core never imports `email_integration` (dependency inversion): the investor page, its
connections and the grid's strength column ask `current()`, and `email_integration.relationships`
registers itself here from `server.main()` when CRM_GMAIL_INTEGRATION_ENABLED is on. Without a
provider (flag off, package absent) the timeline holds grid notes only, connections are empty and
the strength columns are null.

A provider has three methods; `conn` is the request's connection, `viewer` the signed-in user:

    timeline(conn, investor_id, viewer, bound, limit) -> [item]
        the investor's emails and pending cards older than the cursor, newest first, at most
        `limit` of each kind; an item is {"kind", "at", "id", <kind>: payload}; `bound(kind)` gives
        the (at, id) an item of that kind must be below (see backend.timeline.Cursor.bound).
    connections(conn, investor_id, viewer) -> [{user, strength, last_sent, ...}] strongest first
    grid(conn) -> {investor_id: {"strength", "closest": {id, name, email}, "last_two_way_at", "next_meeting_at"?}}

and optionally `merge_investors(conn, keep, gone)`, `connections_and_people(conn, investor_id, viewer)` →
(connections, [{person, connections}]: who knows each of an investor's people) and `people_changed(conn, investor_id)` (its people changed: pending cards
that still hold the CRM's own draft are drafted again, so they name the right person; issue 24, item 8).
and optionally `addresses_changed(conn, investor_id)` (PATCH /api/investors/{id} changed its addresses or domains,
inside the core's transaction: what they matched is re-linked at once, e.g. meetings no investor attends any more go)
and optionally `next_meeting(conn, investor_id, viewer)` → {id, start, end, title, ...} | None: the investor's
next meeting not yet ended (calendar capture), as the viewer may see it.
"""
from __future__ import annotations

import threading

_lock = threading.Lock()
_provider = None


def register(provider) -> None:
    """Install the email provider (the integration calls this once at start; a later call replaces it)."""
    global _provider
    with _lock:
        _provider = provider


def unregister() -> None:
    register(None)


def current():
    """The registered provider, or None: callers then answer from the core's own data only."""
    return _provider
