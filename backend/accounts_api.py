"""Admin-only routes for the account lifecycle (issue 15, item 6), the HTTP side of
`backend.manage list-users|deactivate-user|reactivate-user|list-tokens|revoke-token`."""
from __future__ import annotations

from . import users_db
from .auth import require_admin
from .investors_db import audit
from .web import Conflict, NotFound, Route, parse_id

ID = r"(?P<id>[0-9]{1,12})"


def _user(req) -> dict:
    user = users_db.get_user(req.conn, int(req.params["id"]))
    if user is None:
        raise NotFound(f"no user {req.params['id']}")
    return user


def list_users(req):
    return {"users": users_db.list_users(req.conn)}


def deactivate(req):
    user = _user(req)
    if user["id"] == req.user["id"]:
        raise Conflict("you cannot deactivate yourself; ask another admin")
    users_db.set_active(req.conn, user["id"], False)
    audit(req.conn, req.user["id"], "user.deactivate", "user", user["id"])
    return {"user": users_db.get_user(req.conn, user["id"])}


def reactivate(req):
    user = _user(req)
    users_db.set_active(req.conn, user["id"], True)
    audit(req.conn, req.user["id"], "user.reactivate", "user", user["id"])
    return {"user": users_db.get_user(req.conn, user["id"])}


def list_tokens(req):
    raw = req.query.get("user_id")
    return {"tokens": users_db.list_tokens(req.conn, parse_id(raw, "user_id") if raw else None)}


def revoke(req):
    token_id = int(req.params["id"])
    if not users_db.revoke_token(req.conn, token_id):
        raise NotFound(f"no live token {token_id}")
    audit(req.conn, req.user["id"], "token.revoke", "api_token", token_id)
    return {"revoked": token_id}


ROUTES = [
    Route("GET", r"/api/admin/users", list_users, require_admin),
    Route("POST", rf"/api/admin/users/{ID}/deactivate", deactivate, require_admin),
    Route("POST", rf"/api/admin/users/{ID}/reactivate", reactivate, require_admin),
    Route("GET", r"/api/admin/tokens", list_tokens, require_admin),
    Route("POST", rf"/api/admin/tokens/{ID}/revoke", revoke, require_admin),
]
