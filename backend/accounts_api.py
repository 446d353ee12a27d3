"""Admin-only routes for accounts (issue 15, item 6; issue 24, item 6): the HTTP side of `backend.manage`'s
user and token commands, plus invitations and password resets as one-time links the admin hands over
(no mail server is assumed). Every write is audited."""
from __future__ import annotations

import sqlite3

from . import auth, users_db
from .auth import require_admin
from .investors_api import is_email
from .investors_db import audit
from .web import BadRequest, Conflict, NotFound, Response, Route, field_str, only_fields, parse_id

ID = r"(?P<id>[0-9]{1,12})"


def _user(req) -> dict:
    user = users_db.get_user(req.conn, int(req.params["id"]))
    if user is None:
        raise NotFound(f"no user {req.params['id']}")
    return user


def _role(data) -> str:
    role = field_str(data, "role", max_len=20)
    if role not in users_db.ROLES:
        raise BadRequest(f"'role' must be one of: {', '.join(users_db.ROLES)}")
    return role


def _not_yourself(req, user, what: str) -> None:
    if user["id"] == req.user["id"]:
        raise Conflict(f"you cannot {what} yourself; ask another admin")


def list_users(req):
    states = users_db.account_states(req.conn)
    return {"users": [u | states.get(u["id"], {}) for u in users_db.list_users(req.conn)]}


def invite(req):
    """Create the user (no password) and, for a person, the invitation link that sets one."""
    data = req.json()
    email = field_str(data, "email", max_len=254).lower()
    if not is_email(email):
        raise BadRequest(f"not an email address: {email!r}")
    name = field_str(data, "name", max_len=200)
    role = _role(data)
    try:
        user_id = users_db.create_user(req.conn, email, name, role, None)
    except sqlite3.IntegrityError:
        raise Conflict(f"a user with email {email} already exists") from None
    link = auth.issue_link(req.conn, user_id, "invite", req.user["id"]) if role != "bot" else None
    audit(req.conn, req.user["id"], "user.invite", "user", user_id, {"email": email, "role": role})
    return Response.json({"user": users_db.get_user(req.conn, user_id), "link": link}, 201)


def change_role(req):
    user = _user(req)
    data = only_fields(req.json(), {"role"})
    role = _role(data)
    if role != user["role"]:
        _not_yourself(req, user, "change the role of")
        users_db.set_role_by_id(req.conn, user["id"], role)
        audit(req.conn, req.user["id"], "user.role", "user", user["id"], {"role": {"before": user["role"], "after": role}})
    return {"user": users_db.get_user(req.conn, user["id"])}


def password_link(req):
    """A reset link (an invitation again when the user never set a password); older links stop working."""
    user = _user(req)
    if not user["active"]:
        raise Conflict("reactivate the user first")
    if user["role"] == "bot":
        raise Conflict("a bot signs in with an API token, not a password")
    kind = "reset" if users_db.has_password(req.conn, user["id"]) else "invite"
    link = auth.issue_link(req.conn, user["id"], kind, req.user["id"])
    audit(req.conn, req.user["id"], f"user.{kind}_link", "user", user["id"], {"expires_at": link["expires_at"]})
    return Response.json({"link": link}, 201)


def deactivate(req):
    user = _user(req)
    _not_yourself(req, user, "deactivate")
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


def issue_token(req):
    """A new API token for the user, in the answer only (stored hashed, never shown again)."""
    user = _user(req)
    if not user["active"]:
        raise Conflict("reactivate the user first")
    label = field_str(req.json(), "label", required=False, max_len=100) or None
    token_id, token = auth.new_api_token(req.conn, user["id"], label)
    audit(req.conn, req.user["id"], "token.issue", "api_token", token_id, {"user_id": user["id"], "label": label})
    return Response.json({"id": token_id, "token": token, "label": label}, 201)


def revoke(req):
    token_id = int(req.params["id"])
    if not users_db.revoke_token(req.conn, token_id):
        raise NotFound(f"no live token {token_id}")
    audit(req.conn, req.user["id"], "token.revoke", "api_token", token_id)
    return {"revoked": token_id}


ROUTES = [
    Route("GET", r"/api/admin/users", list_users, require_admin),
    Route("POST", r"/api/admin/users", invite, require_admin),
    Route("PATCH", rf"/api/admin/users/{ID}", change_role, require_admin),
    Route("POST", rf"/api/admin/users/{ID}/password-link", password_link, require_admin),
    Route("POST", rf"/api/admin/users/{ID}/deactivate", deactivate, require_admin),
    Route("POST", rf"/api/admin/users/{ID}/reactivate", reactivate, require_admin),
    Route("POST", rf"/api/admin/users/{ID}/tokens", issue_token, require_admin),
    Route("GET", r"/api/admin/tokens", list_tokens, require_admin),
    Route("POST", rf"/api/admin/tokens/{ID}/revoke", revoke, require_admin),
]
