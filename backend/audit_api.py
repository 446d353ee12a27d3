"""GET /api/audit?limit=&offset= (admins): the audit log, newest first (contracts §4, §5 v2)."""
from __future__ import annotations

from .audit_db import list_audit
from .auth import require_admin
from .web import Route, query_int


def list_entries(req):
    entries, total = list_audit(req.conn, query_int(req.query, "limit", 50, 1, 500),
                                query_int(req.query, "offset", 0, 0, 10_000_000))
    return {"entries": entries, "total": total}


ROUTES = [Route("GET", r"/api/audit", list_entries, require_admin)]
