"""Refresh tokens at rest: AES-256-GCM, a random 96-bit nonce each time, bound to their account.

Format: "v1:" + base64url(key_id(4) || nonce(12) || ciphertext+tag). The key id is the first
four bytes of SHA-256(key), so a blob says which key made it; the associated data
("email_account:" + address) makes a blob copied onto another account fail to decrypt.
Rotation: TokenCipher(new_key, previous_key=old_key) decrypts both; needs_reencrypt() says
which blobs to rewrite with encrypt() on the next write.
"""
from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"
NONCE_BYTES = 12  # 96-bit nonces, as NIST SP 800-38D recommends for GCM


class DecryptError(ValueError):
    """The blob was tampered with, made for another account, or made with an unknown key."""


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


def _associated_data(account: str) -> bytes:
    return b"email_account:" + account.strip().lower().encode("utf-8")


class TokenCipher:
    def __init__(self, current_key: bytes, previous_key: bytes | None = None):
        if len(current_key) != 32 or (previous_key is not None and previous_key and len(previous_key) != 32):
            raise ValueError("AES-256-GCM keys are 32 bytes")
        self._current = current_key
        self._keys = {key_id(current_key): AESGCM(current_key)}
        if previous_key:
            self._keys.setdefault(key_id(previous_key), AESGCM(previous_key))

    def encrypt(self, plaintext: str, account: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[key_id(self._current)].encrypt(nonce, plaintext.encode("utf-8"), _associated_data(account))
        return PREFIX + base64.urlsafe_b64encode(key_id(self._current) + nonce + sealed).decode("ascii")

    def decrypt(self, blob: str, account: str) -> str:
        if not isinstance(blob, str) or not blob.startswith(PREFIX):
            raise DecryptError("not an encrypted token (unknown format)")
        try:
            raw = base64.urlsafe_b64decode(blob[len(PREFIX):].encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise DecryptError("encrypted token is not valid base64") from None
        if len(raw) < 4 + NONCE_BYTES + 16:
            raise DecryptError("encrypted token is too short")
        aead = self._keys.get(raw[:4])
        if aead is None:
            raise DecryptError("encrypted with a key this server does not have (check CRM_GMAIL_SECRET_KEY)")
        try:
            plaintext = aead.decrypt(raw[4:4 + NONCE_BYTES], raw[4 + NONCE_BYTES:], _associated_data(account))
        except InvalidTag:
            raise DecryptError("encrypted token failed authentication (tampered, or another account's)") from None
        return plaintext.decode("utf-8")

    def needs_reencrypt(self, blob: str) -> bool:
        """True when `blob` was made with the previous key (rewrite it with encrypt())."""
        try:
            raw = base64.urlsafe_b64decode(blob[len(PREFIX):].encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return False
        return raw[:4] != key_id(self._current)


def cipher_from_config(config) -> TokenCipher:
    """The cipher for CRM_GMAIL_SECRET_KEY (and CRM_GMAIL_SECRET_KEY_PREVIOUS during a rotation)."""
    if not config.secret_key:
        raise ValueError("CRM_GMAIL_SECRET_KEY is not set")
    return TokenCipher(config.secret_key, config.secret_key_previous or None)
