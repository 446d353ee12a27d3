"""Who we are to Gmail: a service account impersonating each user (DWD), or per-user OAuth.

Both implement CredentialProvider: `access_token(user_email)` returns a bearer token that is
valid for at least a few more minutes (cached per user, one refresh in flight per user), and
`invalidate(user_email)` drops the cached one after Gmail answered 401.
Tokens, assertions and refresh tokens are never logged.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .crypto import TokenCipher
from .errors import AuthError, NeedsReconsentError
from .scopes import GMAIL_READONLY_SCOPE
from .token_http import post_form

log = logging.getLogger(__name__)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # Google accepts at most one hour (developers.google.com/identity/protocols/oauth2/service-account)
REFRESH_MARGIN = 300  # renew a cached token five minutes before it expires


class CredentialProvider(Protocol):
    def access_token(self, user_email: str) -> str: ...

    def invalidate(self, user_email: str) -> None: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class _TokenCache:
    """Per-user cached tokens with a lock per user, so concurrent callers share one refresh."""

    def __init__(self, clock):
        self.clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock_for(self, user: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(user, threading.Lock())

    def get(self, user: str) -> str | None:
        found = self._tokens.get(user)
        if found and found[1] - REFRESH_MARGIN > self.clock():
            return found[0]
        return None

    def put(self, user: str, token: str, expires_in) -> None:
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._tokens[user] = (token, self.clock() + lifetime)

    def drop(self, user: str) -> None:
        self._tokens.pop(user, None)


class DWDCredentialProvider:
    """A service account with domain-wide delegation: an RS256 JWT-bearer assertion per user (RFC 7523)."""

    def __init__(self, key_info, token_uri: str, scope: str = GMAIL_READONLY_SCOPE, timeout: float = 30.0,
                 clock=time.time):
        if isinstance(key_info, str):
            with open(key_info, encoding="utf-8") as handle:
                key_info = json.load(handle)
        missing = [k for k in ("client_email", "private_key") if not key_info.get(k)]
        if missing:
            raise ValueError(f"service-account key lacks {', '.join(missing)}")
        self.client_email = key_info["client_email"]
        self.key_id = key_info.get("private_key_id")
        self._private_key = serialization.load_pem_private_key(key_info["private_key"].encode(), password=None)
        self.token_uri, self.scope, self.timeout, self.clock = token_uri, scope, timeout, clock
        self._cache = _TokenCache(clock)
        self.token_requests = 0

    def assertion(self, user_email: str) -> str:
        """The signed JWT asking for `scope` on behalf of `user_email` (sub)."""
        now = int(self.clock())
        header = {"alg": "RS256", "typ": "JWT"}
        if self.key_id:
            header["kid"] = self.key_id
        claims = {"iss": self.client_email, "scope": self.scope, "aud": self.token_uri, "iat": now,
                  "exp": now + ASSERTION_LIFETIME, "sub": user_email}
        signing_input = _b64(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self._private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64(signature)

    def access_token(self, user_email: str) -> str:
        user = user_email.lower()
        token = self._cache.get(user)
        if token:
            return token
        with self._cache.lock_for(user):
            token = self._cache.get(user)  # another thread may have refreshed while we waited
            if token:
                return token
            self.token_requests += 1
            try:
                data = post_form(self.token_uri, {"grant_type": JWT_BEARER, "assertion": self.assertion(user)},
                                 self.timeout)
            except AuthError as error:
                raise AuthError(f"service account {self.client_email} may not act for {user}: {error}. Check the "
                                f"domain-wide delegation (client ID and the {self.scope.rsplit('/', 1)[-1]} scope) "
                                "in the Google Admin console.", error.status, error.reason) from None
            self._cache.put(user, data["access_token"], data.get("expires_in"))
            log.info("access token minted for %s", user)
            return data["access_token"]

    def invalidate(self, user_email: str) -> None:
        self._cache.drop(user_email.lower())


class TokenStore(Protocol):
    """Where encrypted refresh tokens live (the capture pipeline keeps them in SQLite)."""

    def load_refresh_token(self, user_email: str) -> str | None: ...

    def save_refresh_token(self, user_email: str, blob: str) -> None: ...

    def mark_needs_reconsent(self, user_email: str) -> None: ...


class MemoryTokenStore:
    """A TokenStore in memory, for tools and tests; blobs are the encrypted form all the same."""

    def __init__(self):
        self.blobs: dict[str, str] = {}
        self.needs_reconsent: set[str] = set()
        self._lock = threading.Lock()

    def load_refresh_token(self, user_email):
        with self._lock:
            return self.blobs.get(user_email.lower())

    def save_refresh_token(self, user_email, blob):
        with self._lock:
            self.blobs[user_email.lower()] = blob
            self.needs_reconsent.discard(user_email.lower())

    def mark_needs_reconsent(self, user_email):
        with self._lock:
            self.needs_reconsent.add(user_email.lower())


class OAuthCredentialProvider:
    """Per-user OAuth: the encrypted refresh token buys access tokens; invalid_grant → needs_reconsent."""

    def __init__(self, client_id: str, client_secret: str, token_uri: str, token_store: TokenStore,
                 cipher: TokenCipher, timeout: float = 30.0, clock=time.time):
        self.client_id, self.client_secret, self.token_uri = client_id, client_secret, token_uri
        self.store, self.cipher, self.timeout = token_store, cipher, timeout
        self._cache = _TokenCache(clock)
        self.token_requests = 0

    def access_token(self, user_email: str) -> str:
        user = user_email.lower()
        token = self._cache.get(user)
        if token:
            return token
        with self._cache.lock_for(user):
            token = self._cache.get(user)
            if token:
                return token
            blob = self.store.load_refresh_token(user)
            if not blob:
                self.store.mark_needs_reconsent(user)
                raise NeedsReconsentError(f"no refresh token for {user}: ask them to connect Gmail again",
                                          reason="invalid_grant")
            refresh_token = self.cipher.decrypt(blob, user)
            self.token_requests += 1
            try:
                data = post_form(self.token_uri, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                                  "client_id": self.client_id, "client_secret": self.client_secret},
                                 self.timeout)
            except NeedsReconsentError:
                self.store.mark_needs_reconsent(user)
                log.warning("refresh token for %s was revoked or expired; marked needs_reconsent", user)
                raise
            rotated = data.get("refresh_token")
            if rotated and rotated != refresh_token:
                self.store.save_refresh_token(user, self.cipher.encrypt(rotated, user))
            elif self.cipher.needs_reencrypt(blob):
                self.store.save_refresh_token(user, self.cipher.encrypt(refresh_token, user))
            self._cache.put(user, data["access_token"], data.get("expires_in"))
            return data["access_token"]

    def invalidate(self, user_email: str) -> None:
        self._cache.drop(user_email.lower())


def provider_from_config(config, token_store: TokenStore | None = None,
                         scope: str = GMAIL_READONLY_SCOPE) -> CredentialProvider:
    """The provider CRM_GMAIL_AUTH_METHOD asks for. DWD asks for one scope per provider (the calendar has its own,
    so a scope the Admin console refuses stops only what needs it); OAuth's refresh token carries every scope the
    user consented to, so `scope` does not apply to it."""
    if config.auth_method == "dwd":
        return DWDCredentialProvider(config.sa_key_path, config.token_uri, scope=scope,
                                     timeout=config.http_timeout_sec)
    from .crypto import cipher_from_config
    if token_store is None:
        raise ValueError("OAuth mode needs a token store")
    return OAuthCredentialProvider(config.oauth_client_id, config.oauth_client_secret, config.token_uri,
                                   token_store, cipher_from_config(config), timeout=config.http_timeout_sec)
