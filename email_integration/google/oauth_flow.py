"""Per-user OAuth consent: the authorization URL with a session-bound `state`, and the code exchange.

The state is HMAC-SHA256-signed with a key derived from CRM_GMAIL_SECRET_KEY and binds three
things: the admin's session, the user being connected, and an expiry ten minutes out. A
callback presenting it from another session, after expiry, or altered is refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse

from .crypto import TokenCipher
from .scopes import GMAIL_READONLY_SCOPE
from .token_http import post_form

AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
STATE_TTL = 600


class StateError(ValueError):
    """The callback's state is not one we issued for this session (or it expired)."""


def _state_key(secret_key: bytes) -> bytes:
    return hashlib.sha256(b"crm-oauth-state\x00" + secret_key).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_state(secret_key: bytes, session_id: str, user_email: str, now: float | None = None) -> str:
    body = _b64(json.dumps({"u": user_email.lower(), "exp": int((now or time.time()) + STATE_TTL),
                            "n": secrets.token_hex(8)}, separators=(",", ":")).encode())
    mac = hmac.new(_state_key(secret_key), f"{body}.{session_id}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_state(secret_key: bytes, session_id: str, state: str, now: float | None = None) -> str:
    """The user email the state was issued for; StateError otherwise."""
    try:
        body, mac = state.split(".")
        expected = hmac.new(_state_key(secret_key), f"{body}.{session_id}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise StateError("state does not belong to this session")
        data = json.loads(_unb64(body))
    except (ValueError, TypeError, AttributeError):
        raise StateError("state is malformed or was not issued to this session") from None
    if data.get("exp", 0) < (now or time.time()):
        raise StateError("state expired; start the connection again")
    return data["u"]


def consent_url(client_id: str, redirect_uri: str, state: str, login_hint: str, auth_uri: str = AUTH_URI,
                scopes=(GMAIL_READONLY_SCOPE,)) -> str:
    """Google's authorization URL asking for offline read-only access to `scopes` (gmail.readonly, and
    calendar.events.readonly when calendar capture is on), so we get a refresh token. With
    include_granted_scopes a re-consent adds the calendar to a mailbox that granted mail alone."""
    query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
             "scope": " ".join(scopes), "access_type": "offline", "prompt": "consent",
             "include_granted_scopes": "true", "login_hint": login_hint, "state": state}
    return f"{auth_uri}?{urllib.parse.urlencode(query)}"


def exchange_code(code: str, client_id: str, client_secret: str, redirect_uri: str, token_uri: str,
                  timeout: float = 30.0) -> dict:
    """Trade the authorization code for tokens (RFC 6749 §4.1.3); the answer must hold a refresh token."""
    data = post_form(token_uri, {"grant_type": "authorization_code", "code": code, "client_id": client_id,
                                 "client_secret": client_secret, "redirect_uri": redirect_uri}, timeout)
    if not data.get("refresh_token"):
        raise ValueError("Google returned no refresh token; revoke the app's access and connect again")
    return data


def complete_consent(secret_key: bytes, session_id: str, state: str, code: str, config, cipher: TokenCipher,
                     token_store) -> str:
    """Verify the state, exchange the code, store the encrypted refresh token; returns the user email."""
    user = verify_state(secret_key, session_id, state)
    data = exchange_code(code, config.oauth_client_id, config.oauth_client_secret, config.oauth_redirect_uri,
                         config.token_uri, config.http_timeout_sec)
    token_store.save_refresh_token(user, cipher.encrypt(data["refresh_token"], user))
    return user
