"""Routes for the privacy controls (contracts §4, §5 v2); the rules are actions.py's and privacy/db_visibility.py's.

| route | who |
|---|---|
| GET /api/email/exclusions | a person: their own exclusions and the firm's |
| POST/DELETE /api/email/exclusions {pattern, scope} | scope 'mine': the person for themselves; 'firm': admins |
| POST /api/email/exclusions/preview {pattern, scope} | as POST: what it would purge, purging nothing |
| POST /api/email/threads/{id}/private {private} | a teammate whose mailbox holds the conversation (unmarking: whoever marked it, or holds all of it) |
| PATCH /api/email/accounts/{id} {visibility} | the mailbox's owner, or an admin |
"""
from __future__ import annotations

from backend.auth import require_user
from backend.web import BadRequest, Response, Route, only_fields
from email_integration.capture.attachments import blob_store_for
from email_integration.privacy import db_privacy

from . import actions


def list_exclusions(req):
    return {"exclusions": db_privacy.list_exclusions(req.conn, req.user["id"])}


def _pattern_and_scope(req) -> tuple:
    data = only_fields(req.json(), {"pattern", "scope"})
    return data.get("pattern"), data.get("scope", "mine")


def add_exclusion(req):
    pattern, scope = _pattern_and_scope(req)
    store = blob_store_for(req.handler.server.settings.data_dir)
    exclusion, created, removed = actions.add_exclusion(req.conn, store, req.user, pattern, scope)
    return Response.json({"exclusion": exclusion, "created": created, "purged": removed}, 201 if created else 200)


def preview_exclusion(req):
    """POST /api/email/exclusions/preview {pattern, scope}: what saving it would purge, purging nothing."""
    pattern, scope = _pattern_and_scope(req)
    return actions.preview_exclusion(req.conn, req.user, pattern, scope)


def remove_exclusion(req):
    pattern, scope = _pattern_and_scope(req)
    return {"removed": actions.remove_exclusion(req.conn, req.user, pattern, scope)}


def set_private(req):
    value = req.json().get("private")
    if not isinstance(value, bool):
        raise BadRequest("'private' must be true or false")
    return actions.set_private(req.conn, req.user, int(req.params["id"]), value)


def patch_account(req):
    data = req.json()
    unknown = set(data) - {"visibility"}
    if unknown or "visibility" not in data:
        raise BadRequest("send {visibility: everything|subject|metadata}")
    return {"account": actions.set_visibility(req.conn, req.user, int(req.params["id"]), data["visibility"])}


ID = r"(?P<id>[0-9]{1,12})"
PRIVACY_ROUTES = [
    Route("GET", r"/api/email/exclusions", list_exclusions, require_user),
    Route("POST", r"/api/email/exclusions", add_exclusion, require_user),
    Route("POST", r"/api/email/exclusions/preview", preview_exclusion, require_user),
    Route("DELETE", r"/api/email/exclusions", remove_exclusion, require_user),
    Route("POST", rf"/api/email/threads/{ID}/private", set_private, require_user),
    Route("PATCH", rf"/api/email/accounts/{ID}", patch_account, require_user),
]
