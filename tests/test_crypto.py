"""Refresh-token encryption: round trips, tamper and wrong-account detection, key rotation."""
import base64
import os

import pytest
from hypothesis import given, strategies as st

from email_integration.config import load_config
from email_integration.google.crypto import DecryptError, TokenCipher, cipher_from_config

KEY, OLD = os.urandom(32), os.urandom(32)


def test_round_trip_and_fresh_nonces():
    cipher = TokenCipher(KEY)
    first, second = cipher.encrypt("1//refresh", "ann@firm.test"), cipher.encrypt("1//refresh", "ann@firm.test")
    assert first != second and "1//refresh" not in first
    assert cipher.decrypt(first, "ann@firm.test") == cipher.decrypt(second, "ANN@firm.test ") == "1//refresh"


@given(st.integers(min_value=3, max_value=10_000), st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_is_detected(position, flip):
    cipher = TokenCipher(KEY)
    blob = cipher.encrypt("1//secret-refresh-token", "ann@firm.test")
    raw = bytearray(base64.urlsafe_b64decode(blob[3:]))
    raw[position % len(raw)] ^= flip
    with pytest.raises(DecryptError):
        cipher.decrypt("v1:" + base64.urlsafe_b64encode(bytes(raw)).decode(), "ann@firm.test")


def test_another_accounts_blob_does_not_decrypt():
    cipher = TokenCipher(KEY)
    with pytest.raises(DecryptError, match="another account"):
        cipher.decrypt(cipher.encrypt("t", "ann@firm.test"), "bob@firm.test")


def test_unknown_key_and_garbage():
    blob = TokenCipher(OLD).encrypt("t", "a@x")
    with pytest.raises(DecryptError, match="key this server does not have"):
        TokenCipher(KEY).decrypt(blob, "a@x")
    for garbage in ("", "plain-token", "v1:%%%", "v1:" + base64.urlsafe_b64encode(b"short").decode(), None):
        with pytest.raises(DecryptError):
            TokenCipher(KEY).decrypt(garbage, "a@x")


def test_rotation_accepts_the_previous_key_and_flags_reencryption():
    old_blob = TokenCipher(OLD).encrypt("1//r", "a@x")
    rotating = TokenCipher(KEY, previous_key=OLD)
    assert rotating.decrypt(old_blob, "a@x") == "1//r"
    assert rotating.needs_reencrypt(old_blob) is True
    new_blob = rotating.encrypt(rotating.decrypt(old_blob, "a@x"), "a@x")
    assert rotating.needs_reencrypt(new_blob) is False
    assert TokenCipher(KEY).decrypt(new_blob, "a@x") == "1//r"  # the old key can now be retired


def test_cipher_from_config():
    env = {"CRM_GMAIL_SECRET_KEY": base64.b64encode(KEY).decode(),
           "CRM_GMAIL_SECRET_KEY_PREVIOUS": base64.b64encode(OLD).decode()}
    cipher = cipher_from_config(load_config(env))
    assert cipher.decrypt(TokenCipher(OLD).encrypt("x", "a@x"), "a@x") == "x"
    with pytest.raises(ValueError):
        cipher_from_config(load_config({}))
    with pytest.raises(ValueError):
        TokenCipher(b"short")
