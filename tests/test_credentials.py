"""DWD JWTs (checked by google-auth's verifier and the emulator's token endpoint), OAuth refresh, consent state."""
import json
import logging
import threading
import time

import google.auth.jwt
import pytest

from devtools.make_service_account import make_service_account
from email_integration.config import load_config
from email_integration.google import oauth_flow
from email_integration.google.credentials import DWDCredentialProvider, MemoryTokenStore, OAuthCredentialProvider
from email_integration.google.crypto import TokenCipher
from email_integration.google.errors import AuthError, NeedsReconsentError
from emulator_fixtures import post_json, start_emulator, stats

USER = "ann@firm.test"
SECRET = b"k" * 32


def test_our_jwt_verifies_with_google_auth(keys):
    provider = DWDCredentialProvider(keys[0], "https://oauth2.googleapis.com/token")
    with open(keys[1], "rb") as handle:
        public_pem = handle.read()
    claims = google.auth.jwt.decode(provider.assertion(USER), certs=public_pem,
                                    audience="https://oauth2.googleapis.com/token")
    info = json.load(open(keys[0]))
    assert claims["iss"] == info["client_email"] and claims["sub"] == USER
    assert claims["scope"] == "https://www.googleapis.com/auth/gmail.readonly"
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    header = google.auth.jwt.decode_header(provider.assertion(USER))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": info["private_key_id"]}


def test_dwd_token_from_the_emulator_is_cached_and_refreshed_near_expiry(keys):
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy", token_ttl=301)  # five minutes and one second
    try:
        provider = DWDCredentialProvider(keys[0], emulator.url + "/token")
        first = provider.access_token(USER)
        assert provider.access_token(USER) == first
        assert stats(emulator.url)["token_requests"] == 1
        time.sleep(1.1)  # now inside the five-minute renewal margin
        assert provider.access_token(USER) != first
        assert stats(emulator.url)["token_requests"] == 2
        provider.invalidate(USER)
        provider.access_token(USER)
        assert stats(emulator.url)["token_requests"] == 3
    finally:
        emulator.stop()


def test_concurrent_callers_share_one_token_request(emulator, keys):
    provider = DWDCredentialProvider(keys[0], emulator.url + "/token")
    tokens = []
    threads = [threading.Thread(target=lambda: tokens.append(provider.access_token(USER))) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(set(tokens)) == 1 and len(tokens) == 10
    assert stats(emulator.url)["token_requests"] == 1


def test_an_untrusted_key_is_an_auth_error_naming_delegation(emulator, tmp_path):
    other, _ = make_service_account(str(tmp_path))
    with pytest.raises(AuthError, match="domain-wide delegation"):
        DWDCredentialProvider(other, emulator.url + "/token").access_token(USER)


def test_unreachable_token_endpoint_is_transient(keys):
    from email_integration.google.errors import TransientError
    with pytest.raises(TransientError):
        DWDCredentialProvider(keys[0], "http://127.0.0.1:9/token", timeout=2).access_token(USER)


def test_oauth_refresh_rotation_and_reconsent(emulator):
    cipher, store = TokenCipher(SECRET), MemoryTokenStore()
    store.save_refresh_token(USER, cipher.encrypt("1//good", USER))
    post_json(f"{emulator.url}/_emulator/oauth/refresh-tokens", {"refresh_token": "1//good", "user": USER})
    provider = OAuthCredentialProvider("cid", "csecret", emulator.url + "/token", store, cipher)
    assert provider.access_token(USER).startswith("ya29.")
    post_json(f"{emulator.url}/_emulator/oauth/refresh-tokens", {"refresh_token": "1//good"}, method="DELETE")
    provider.invalidate(USER)
    with pytest.raises(NeedsReconsentError):
        provider.access_token(USER)
    assert USER in store.needs_reconsent


def test_oauth_reencrypts_blobs_made_with_the_previous_key(emulator):
    old, new = b"o" * 32, b"n" * 32
    store = MemoryTokenStore()
    store.save_refresh_token(USER, TokenCipher(old).encrypt("1//r", USER))
    post_json(f"{emulator.url}/_emulator/oauth/refresh-tokens", {"refresh_token": "1//r", "user": USER})
    provider = OAuthCredentialProvider("c", "s", emulator.url + "/token", store, TokenCipher(new, old))
    provider.access_token(USER)
    assert TokenCipher(new).decrypt(store.load_refresh_token(USER), USER) == "1//r"


def test_no_refresh_token_means_reconsent():
    store = MemoryTokenStore()
    with pytest.raises(NeedsReconsentError):
        OAuthCredentialProvider("c", "s", "http://127.0.0.1:9/token", store, TokenCipher(SECRET)).access_token(USER)
    assert USER in store.needs_reconsent


def test_consent_state_is_bound_to_session_user_and_time():
    state = oauth_flow.make_state(SECRET, "session-a", "Ann@Firm.test")
    assert oauth_flow.verify_state(SECRET, "session-a", state) == "ann@firm.test"
    for session, candidate, now in (("session-b", state, None), ("session-a", state[:-2] + "xx", None),
                                    ("session-a", state, time.time() + 601), ("session-a", "garbage", None)):
        with pytest.raises(oauth_flow.StateError):
            oauth_flow.verify_state(SECRET, session, candidate, now=now)
    url = oauth_flow.consent_url("cid", "https://crm.example/api/email/oauth/callback", state, "ann@firm.test")
    assert "access_type=offline" in url and "gmail.readonly" in url and "prompt=consent" in url


def test_complete_consent_stores_the_encrypted_refresh_token(emulator):
    post_json(f"{emulator.url}/_emulator/oauth/codes", {"code": "4/abc", "user": USER, "refresh_token": "1//new"})
    config = load_config({"CRM_GMAIL_OAUTH_CLIENT_ID": "c", "CRM_GMAIL_OAUTH_CLIENT_SECRET": "s",
                          "CRM_GMAIL_OAUTH_REDIRECT_URI": "https://crm.example/cb",
                          "CRM_GMAIL_TOKEN_URI": emulator.url + "/token"})
    store, cipher = MemoryTokenStore(), TokenCipher(SECRET)
    state = oauth_flow.make_state(SECRET, "sess", USER)
    assert oauth_flow.complete_consent(SECRET, "sess", state, "4/abc", config, cipher, store) == USER
    assert "1//new" not in store.load_refresh_token(USER)
    assert cipher.decrypt(store.load_refresh_token(USER), USER) == "1//new"
    with pytest.raises(NeedsReconsentError):  # a code is good once (invalid_grant)
        oauth_flow.complete_consent(SECRET, "sess", state, "4/abc", config, cipher, store)


def test_no_secret_reaches_the_logs(emulator, keys, caplog):
    caplog.set_level(logging.DEBUG)
    provider = DWDCredentialProvider(keys[0], emulator.url + "/token")
    token = provider.access_token(USER)
    assertion = provider.assertion(USER)
    text = caplog.text
    assert token not in text and assertion not in text and "PRIVATE KEY" not in text
