"""Passwords (scrypt), sessions and bearer tokens, and the role guards every route uses.

Roles (contracts §4): admin and member are people; bot is authenticated but reaches only
/api/intake/*. 401 means "who are you?", 403 "you may not".
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from . import users_db
from .db import iso_after
from .web import Forbidden, Unauthorized

SESSION_COOKIE = "crm_session"
# scrypt cost: n=2**14, r=8, p=1 is the RFC 7914 interactive-login setting (16 MiB per hash).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
_DUMMY_HASH = None  # verified against for unknown users so timing does not reveal which emails exist


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "scrypt${}${}${}${}${}".format(SCRYPT_N, SCRYPT_R, SCRYPT_P,
                                          base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def verify_password(password: str, stored: str | None) -> bool:
    global _DUMMY_HASH
    if not stored:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(8))
        stored, real = _DUMMY_HASH, False
    else:
        real = True
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest)) and real


def token_hash(token: str) -> str:
    """Sessions and API tokens are stored as SHA-256 of the random token: high entropy needs no salt."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session(conn, user_id: int, days: float) -> str:
    token = secrets.token_urlsafe(32)
    users_db.create_session(conn, token_hash(token), user_id, iso_after(days * 86400))
    return token


def issue_api_token(conn, user_id: int, label: str | None = None) -> str:
    return new_api_token(conn, user_id, label)[1]


def new_api_token(conn, user_id: int, label: str | None = None) -> tuple[int, str]:
    """(its id, the token): shown once, stored hashed."""
    token = "crm_" + secrets.token_urlsafe(32)
    return users_db.create_api_token(conn, token_hash(token), user_id, label), token


# One-time links (issue 24, item 6): an invitation lasts 72 h, a reset 24 h; both are single use.
LINK_HOURS = {"invite": 72, "reset": 24}
LINK_PATH = {"invite": "/invite/", "reset": "/reset/"}
MIN_PASSWORD_CHARS = 10


def issue_link(conn, user_id: int, kind: str, created_by: int | None) -> dict:
    """{url (a path: the admin copies it), expires_at}; the token is stored hashed and shown only here."""
    token = secrets.token_urlsafe(32)
    expires_at = iso_after(LINK_HOURS[kind] * 3600)
    users_db.create_link(conn, token_hash(token), user_id, kind, created_by, expires_at)
    return {"kind": kind, "url": LINK_PATH[kind] + token, "expires_at": expires_at}


def parse_cookies(header: str | None) -> dict:
    cookies = {}
    for piece in (header or "").split(";"):
        name, sep, value = piece.strip().partition("=")
        if sep and name:
            cookies.setdefault(name, value)
    return cookies


def authenticate(conn, headers) -> tuple[dict | None, str | None]:
    """(user, how) from a bearer token or the session cookie; how is "bearer" or "cookie"."""
    authorization = headers.get("Authorization") or ""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, None
        return users_db.user_for_api_token(conn, token_hash(value.strip())), "bearer"
    session = parse_cookies(headers.get("Cookie")).get(SESSION_COOKIE)
    if session:
        user, _ = users_db.user_for_session(conn, token_hash(session))
        return user, "cookie" if user else None
    return None, None


def session_cookie(token: str, days: float, secure: bool) -> str:
    parts = [f"{SESSION_COOKIE}={token}", "Path=/", "HttpOnly", "SameSite=Strict", f"Max-Age={int(days * 86400)}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_session_cookie(secure: bool) -> str:
    return session_cookie("", 0, secure)


def public_user(user: dict) -> dict:
    return {k: user[k] for k in ("id", "email", "name", "role")}


# Guards: take a web.Request, raise Unauthorized / Forbidden.
def require_login(req) -> None:
    if req.user is None:
        raise Unauthorized("authentication required")


def require_user(req) -> None:
    """A person: admin or member (a bot gets 403)."""
    require_login(req)
    if req.user["role"] not in ("admin", "member"):
        raise Forbidden("this endpoint is for people, not bots")


def require_admin(req) -> None:
    require_login(req)
    if req.user["role"] != "admin":
        raise Forbidden("admin role required")


def require_bot_or_admin(req) -> None:
    require_login(req)
    if req.user["role"] not in ("bot", "admin"):
        raise Forbidden("bot or admin role required")
