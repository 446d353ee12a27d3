"""The emulator's OAuth 2.0 token endpoint: JWT-bearer (RFC 7523) and refresh-token grants.

Service-account assertions are checked like Google's endpoint does: RS256 signature against the
configured key, `aud` = the token URI, `exp` in the future and at most one hour after `iat`,
a gmail or calendar scope (an unknown one is refused, as Google does), and `sub` = the user to
impersonate. Access tokens are bound to that user and to the scopes they were granted: the Gmail routes
want a Gmail scope, the Calendar routes a Calendar one (calendar_api.CALENDAR_SCOPES). `deny_scopes`
holds (subject or "*", scope) pairs the Admin console has not delegated: an assertion asking for such a
scope answers 401 unauthorized_client, like a client ID without that scope in its DWD grant.
Refresh tokens and authorization codes carry the scopes consented to (gmail.readonly unless told).
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GMAIL_SCOPES = ("https://www.googleapis.com/auth/gmail.readonly", "https://mail.google.com/",
                "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.metadata")
# Scopes that may call Calendar's events.list (calendar.v3's discovery document, events.list "scopes").
CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendar.events",
                   "https://www.googleapis.com/auth/calendar.events.readonly",
                   "https://www.googleapis.com/auth/calendar.readonly",
                   "https://www.googleapis.com/auth/calendar.events.owned",
                   "https://www.googleapis.com/auth/calendar.events.owned.readonly")
KNOWN_SCOPES = GMAIL_SCOPES + CALENDAR_SCOPES
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # the audience google-auth always signs for
CLOCK_SKEW = 300  # seconds Google tolerates between the signer's clock and its own


class TokenError(Exception):
    """An OAuth error: `error` is the RFC 6749 code, str() the description."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.status = error, status


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def load_public_key(path: str):
    """A PEM public key, a PEM certificate, or a Google service-account JSON (its private key's public half)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data.lstrip().startswith(b"{"):
        info = json.loads(data)
        return serialization.load_pem_private_key(info["private_key"].encode(), None).public_key()
    if b"CERTIFICATE" in data:
        from cryptography import x509
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


class TokenIssuer:
    """Issues and checks access tokens; remembers refresh tokens registered through the control API."""

    def __init__(self, public_key=None, ttl: float = 3600.0, clock=time.time, deny=(), deny_scopes=()):
        self.public_key, self.ttl, self.clock = public_key, ttl, clock
        self.deny = {address.lower() for address in deny}  # subjects with no domain-wide delegation
        self.deny_scopes = {(subject.lower(), scope) for subject, scope in deny_scopes}
        self._access: dict[str, tuple[str, float, tuple]] = {}
        self._refresh: dict[str, tuple[str, tuple]] = {}  # refresh token → (user, consented scopes)
        self._codes: dict[str, tuple[str, str, tuple]] = {}  # authorization code → (user, refresh token, scopes)
        self._lock = threading.Lock()
        self.requests = 0

    def register_refresh_token(self, refresh_token: str, user: str, scopes=None) -> None:
        with self._lock:
            self._refresh[refresh_token] = (user.lower(), _scopes(scopes))

    def register_code(self, code: str, user: str, refresh_token: str, scopes=None) -> None:
        """What Google's consent screen would hand the redirect URI for `user` (who consented to `scopes`)."""
        with self._lock:
            self._codes[code] = (user.lower(), refresh_token, _scopes(scopes))

    def revoke_refresh_token(self, refresh_token: str) -> bool:
        with self._lock:
            return self._refresh.pop(refresh_token, None) is not None

    def _issue(self, user: str, scopes: tuple) -> dict:
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._access[token] = (user.lower(), self.clock() + self.ttl, scopes)
        return {"access_token": token, "expires_in": int(self.ttl), "token_type": "Bearer",
                "scope": " ".join(scopes)}

    def grant(self, form: dict, token_uri: str) -> dict:
        """Answer a token request (form fields as a dict of str) or raise TokenError."""
        with self._lock:
            self.requests += 1
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_BEARER:
            return self._issue(*self._check_assertion(form.get("assertion", ""), token_uri))
        if grant_type == "refresh_token":
            with self._lock:
                found = self._refresh.get(form.get("refresh_token", ""))
            if found is None:
                raise TokenError("invalid_grant", "Token has been expired or revoked.")
            return self._issue(*found)
        if grant_type == "authorization_code":
            with self._lock:
                found = self._codes.pop(form.get("code", ""), None)  # a code is good once
            if found is None:
                raise TokenError("invalid_grant", "Malformed auth code.")
            self.register_refresh_token(found[1], found[0], found[2])
            return self._issue(found[0], found[2]) | {"refresh_token": found[1]}
        raise TokenError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _check_assertion(self, assertion: str, token_uri: str) -> str:
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64decode(header_b64))
            claims = json.loads(_b64decode(claims_b64))
            signature = _b64decode(signature_b64)
        except (ValueError, TypeError):
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe") from None
        if header.get("alg") != "RS256":
            raise TokenError("invalid_grant", "Invalid JWT: only RS256 is accepted")
        if self.public_key is not None:
            try:
                self.public_key.verify(signature, f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(),
                                       hashes.SHA256())
            except InvalidSignature:
                raise TokenError("invalid_grant", "Invalid JWT Signature.") from None
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            raise TokenError("invalid_grant", "Invalid JWT: iat and exp are required")
        if exp < now - CLOCK_SKEW or iat > now + CLOCK_SKEW or exp - iat > 3600:
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        if claims.get("aud") not in (token_uri, GOOGLE_TOKEN_URI):
            raise TokenError("invalid_grant", f"Invalid JWT: aud must be {GOOGLE_TOKEN_URI} or {token_uri}")
        scopes = str(claims.get("scope", "")).split()
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            raise TokenError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        subject = claims.get("sub")
        if not subject or "@" not in str(subject):
            raise TokenError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
        if not claims.get("iss"):
            raise TokenError("invalid_grant", "Invalid JWT: iss is required")
        if str(subject).lower() in self.deny:
            # What Google answers when the Admin console grants the client ID no delegation for the scope.
            raise TokenError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                             "method, or client not authorized for any of the scopes requested.", 401)
        if any((who, scope) in self.deny_scopes for scope in scopes for who in (str(subject).lower(), "*")):
            raise TokenError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                             "method, or client not authorized for any of the scopes requested.", 401)
        return str(subject), tuple(scopes)

    def user_for(self, access_token: str) -> str | None:
        """The user an unexpired access token speaks for."""
        return self.grant_for(access_token)[0]

    def grant_for(self, access_token: str) -> tuple[str | None, tuple]:
        """(user, scopes) of an unexpired access token; (None, ()) otherwise."""
        with self._lock:
            found = self._access.get(access_token)
        if found is None or found[1] <= self.clock():
            return None, ()
        return found[0], found[2]


def _scopes(scopes) -> tuple:
    """Consented scopes as a tuple (a space-separated string or a list); gmail.readonly when none are named."""
    if not scopes:
        return (GMAIL_SCOPES[0],)
    return tuple(scopes.split() if isinstance(scopes, str) else scopes)
