"""Routes for logging in and out (session cookie) and for asking who you are."""
from __future__ import annotations

from . import auth, users_db
from .investors_db import audit
from .web import BadRequest, HTTPError, NotFound, Response, Route, TooManyRequests, Unauthorized, field_str


def _throttle_key(req, email: str) -> str:
    return f"{email.lower()}|{req.handler.client_ip}"


def _throttle(req, email: str) -> str:
    """Count this attempt before the slow hash; TooManyRequests when its address, or the account under
    a distributed guesser, has had enough. Returns the per-address key (a success clears it).

    Per client address (behind CRM_TRUSTED_PROXY the forwarded one): a guesser locks out only
    itself. Across addresses the account has a larger ceiling; beyond it an address with no attempt
    in the window still gets one try, so the owner's right password from elsewhere gets through
    while a guesser gets one guess per fresh address instead of CRM_LOGIN_MAX_FAILURES."""
    server = req.handler.server
    key = _throttle_key(req, email)
    # Counted before the hash, not after a failure: otherwise parallel guesses all pass the check
    # while the first ones are still hashing (issue 15, item 5).
    wait = server.login_limiter.hit(key)
    if not wait and server.account_limiter.retry_after(email.lower()) and server.login_limiter.count(key) > 1:
        wait = server.account_limiter.retry_after(email.lower())
    if wait:
        raise TooManyRequests("too many failed logins; try again later", headers={"Retry-After": str(wait)})
    return key


def login(req):
    data = req.json()
    email = field_str(data, "email", max_len=320)
    password = field_str(data, "password", max_len=1024)
    server = req.handler.server
    key = _throttle(req, email)
    user, stored = users_db.password_hash_for(req.conn, email)
    if user is None or not user["active"] or not auth.verify_password(password, stored):
        server.account_limiter.hit(email.lower())
        raise Unauthorized("wrong email or password")
    server.login_limiter.reset(key)
    token = auth.new_session(req.conn, user["id"], server.settings.session_days)
    cookie = auth.session_cookie(token, server.settings.session_days, server.settings.secure_cookies)
    return Response.json({"user": auth.public_user(user)}, headers={"Set-Cookie": cookie})


def logout(req):
    token = auth.parse_cookies(req.headers.get("Cookie")).get(auth.SESSION_COOKIE)
    if token:
        users_db.delete_session(req.conn, auth.token_hash(token))
    return Response.json({"ok": True}, headers={"Set-Cookie": auth.clear_session_cookie(req.handler.server.settings.secure_cookies)})


def _live_link(req) -> dict:
    """The link named by the path, or 404 (unknown, user deactivated) / 410 (spent or expired)."""
    link = users_db.link_for(req.conn, auth.token_hash(req.params["token"]))
    if link is None:
        raise NotFound("this link is not valid; ask an admin for a new one")
    if link["used_at"]:
        raise HTTPError("this link has been used already; ask an admin for a new one", 410)
    if link["expired"]:
        raise HTTPError("this link has expired; ask an admin for a new one", 410)
    return link


def show_link(req):
    """What the set-password page shows: whose account, invitation or reset, until when."""
    link = _live_link(req)
    return {"kind": link["kind"], "expires_at": link["expires_at"],
            "user": {k: link["user"][k] for k in ("email", "name")}}


def use_link(req):
    """Set the password once (every older session ends) and sign the browser in."""
    link = _live_link(req)
    password = field_str(req.json(), "password", max_len=1024)
    if len(password) < auth.MIN_PASSWORD_CHARS:
        raise BadRequest(f"the password needs at least {auth.MIN_PASSWORD_CHARS} characters")
    user = link["user"]
    if not users_db.use_link(req.conn, link["id"], user["id"], auth.hash_password(password)):
        raise HTTPError("this link has been used already; ask an admin for a new one", 410)
    audit(req.conn, user["id"], "user.password_set", "user", user["id"], {"via": link["kind"]})
    server = req.handler.server
    token = auth.new_session(req.conn, user["id"], server.settings.session_days)
    cookie = auth.session_cookie(token, server.settings.session_days, server.settings.tls)
    return Response.json({"user": auth.public_user(user)}, headers={"Set-Cookie": cookie})


def me(req):
    return {"user": auth.public_user(req.user)}


LINK_TOKEN = r"(?P<token>[A-Za-z0-9_-]{20,100})"
ROUTES = [
    Route("POST", r"/api/auth/login", login),
    Route("POST", r"/api/auth/logout", logout),
    Route("GET", r"/api/auth/me", me, auth.require_login),
    Route("GET", rf"/api/auth/links/{LINK_TOKEN}", show_link),
    Route("POST", rf"/api/auth/links/{LINK_TOKEN}", use_link),
]
