"""The emulator's OAuth 2.0 token endpoint: JWT-bearer (RFC 7523) and refresh-token grants.

Service-account assertions are checked like Google's endpoint does: RS256 signature against the
configured key, `aud` = the token URI, `exp` in the future and at most one hour after `iat`,
a gmail scope, and `sub` = the user to impersonate. Access tokens are bound to that user.
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

    def __init__(self, public_key=None, ttl: float = 3600.0, clock=time.time, deny=()):
        self.public_key, self.ttl, self.clock = public_key, ttl, clock
        self.deny = {address.lower() for address in deny}  # subjects with no domain-wide delegation
        self._access: dict[str, tuple[str, float]] = {}
        self._refresh: dict[str, str] = {}
        self._codes: dict[str, tuple[str, str]] = {}  # authorization code → (user, refresh token)
        self._lock = threading.Lock()
        self.requests = 0

    def register_refresh_token(self, refresh_token: str, user: str) -> None:
        with self._lock:
            self._refresh[refresh_token] = user.lower()

    def register_code(self, code: str, user: str, refresh_token: str) -> None:
        """What Google's consent screen would hand the redirect URI for `user`."""
        with self._lock:
            self._codes[code] = (user.lower(), refresh_token)

    def revoke_refresh_token(self, refresh_token: str) -> bool:
        with self._lock:
            return self._refresh.pop(refresh_token, None) is not None

    def _issue(self, user: str) -> dict:
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        with self._lock:
            self._access[token] = (user.lower(), self.clock() + self.ttl)
        return {"access_token": token, "expires_in": int(self.ttl), "token_type": "Bearer",
                "scope": GMAIL_SCOPES[0]}

    def grant(self, form: dict, token_uri: str) -> dict:
        """Answer a token request (form fields as a dict of str) or raise TokenError."""
        with self._lock:
            self.requests += 1
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_BEARER:
            return self._issue(self._check_assertion(form.get("assertion", ""), token_uri))
        if grant_type == "refresh_token":
            with self._lock:
                user = self._refresh.get(form.get("refresh_token", ""))
            if user is None:
                raise TokenError("invalid_grant", "Token has been expired or revoked.")
            return self._issue(user)
        if grant_type == "authorization_code":
            with self._lock:
                found = self._codes.pop(form.get("code", ""), None)  # a code is good once
            if found is None:
                raise TokenError("invalid_grant", "Malformed auth code.")
            self.register_refresh_token(found[1], found[0])
            return self._issue(found[0]) | {"refresh_token": found[1]}
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
        if not any(s in GMAIL_SCOPES for s in scopes):
            raise TokenError("invalid_scope", "The assertion asks for no Gmail scope.")
        subject = claims.get("sub")
        if not subject or "@" not in str(subject):
            raise TokenError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
        if not claims.get("iss"):
            raise TokenError("invalid_grant", "Invalid JWT: iss is required")
        if str(subject).lower() in self.deny:
            # What Google answers when the Admin console grants the client ID no delegation for the scope.
            raise TokenError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                             "method, or client not authorized for any of the scopes requested.", 401)
        return str(subject)

    def user_for(self, access_token: str) -> str | None:
        """The user an unexpired access token speaks for."""
        with self._lock:
            found = self._access.get(access_token)
        if found is None or found[1] <= self.clock():
            return None
        return found[0]
