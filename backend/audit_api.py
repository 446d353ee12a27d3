"""GET /api/audit?limit=&offset= (admins): the audit log, newest first (contracts §4, §5 v2).

Each entry also carries `target`: what its ids name, resolved here (issue 24, item 7) so the Admin page
can say "Ana marked a conversation with Fjord Capital private" rather than `email_thread 166`: the core
names investors, notes, people and tokens; the email provider (backend.email_source), when one is
registered, names conversations, mailboxes and proposals as the signed-in admin may see them. `null` when
nothing is known of the target any more.
"""
from __future__ import annotations

from . import email_source
from .audit_db import core_targets, list_audit
from .auth import require_admin
from .web import Route, query_int


def list_entries(req):
    entries, total = list_audit(req.conn, query_int(req.query, "limit", 50, 1, 500),
                                query_int(req.query, "offset", 0, 0, 10_000_000))
    names = core_targets(req.conn, entries)
    hook = getattr(email_source.current(), "audit_targets", None)
    if hook is not None:
        names.update(hook(req.conn, entries, req.user))
    for entry in entries:
        entry["target"] = names.get((entry["target_type"], entry["target_id"]))
    return {"entries": entries, "total": total}


ROUTES = [Route("GET", r"/api/audit", list_entries, require_admin)]
