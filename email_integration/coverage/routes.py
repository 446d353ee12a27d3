"""Routes of the covered sources (admins): the firm's group addresses whose mail the capture reads
header-first (capture/sources.py). "Verify now" is in routes.py at the top (it starts through the scheduler).

| route | who |
|---|---|
| GET /api/email/capture-sources | admins: {sources: [{kind: service|group, address, name, added_at?}]} |
| POST /api/email/capture-sources {address} | admins: a group address (201; 200 when already listed) |
| DELETE /api/email/capture-sources {address} | admins (404 when not listed) |
"""
from __future__ import annotations

from backend import address_policy
from backend.audit_db import audit
from backend.auth import require_admin
from backend.db import atomic
from backend.web import BadRequest, NotFound, Response, Route
from email_integration.capture import db_sources, sources


def list_sources(req):
    return {"sources": sources.described(req.conn)}


def _address(req, check: bool = True) -> str:
    data = req.json()
    unknown = set(data) - {"address"}
    address = data.get("address")
    if unknown or not isinstance(address, str) or not address.strip():
        raise BadRequest("send {address: \"group@your-domain\"}")
    address = sources.group_form(address)
    if len(address) > 254:
        raise BadRequest("not an email address: longer than 254 characters")
    reason = sources.group_refusal(address) if check else None  # a refused one saved before stays removable
    if reason:
        raise BadRequest(reason)
    return address


def add_source(req):
    address = _address(req)
    if address_policy.mailbox_of(address) in {address_policy.mailbox_of(a) for a in address_policy.team_addresses(req.conn)}:
        raise BadRequest(f"{address} is a teammate's own address, not a group: its mail is theirs")
    with atomic(req.conn):
        created = db_sources.add_group(req.conn, address, req.user["id"])
        if created:
            audit(req.conn, req.user["id"], "email.source.add", "email_capture_source", address, {"address": address})
    return Response.json({"source": {"kind": "group", "address": address}, "created": created}, 201 if created else 200)


def remove_source(req):
    address = _address(req, check=False)
    with atomic(req.conn):
        if not db_sources.remove_group(req.conn, address):
            raise NotFound(f"{address} is not a listed group address")
        audit(req.conn, req.user["id"], "email.source.remove", "email_capture_source", address, {"address": address})
    return {"removed": {"kind": "group", "address": address}}


COVERAGE_ROUTES = [
    Route("GET", r"/api/email/capture-sources", list_sources, require_admin),
    Route("POST", r"/api/email/capture-sources", add_source, require_admin),
    Route("DELETE", r"/api/email/capture-sources", remove_source, require_admin),
]
