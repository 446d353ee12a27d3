"""Our Gmail client against the emulator over HTTP: every call, paging, faults, 429 storms, expiry, 401."""
import time

import pytest

from email_integration.config import load_config
from email_integration.gmail.client import GmailClient
from email_integration.google.credentials import DWDCredentialProvider
from email_integration.google.errors import HistoryExpiredError, NotFoundError
from email_integration.google.pacing import QuotaLimiter
from emulator_fixtures import add_message, make_message, post_json, start_emulator, stats

USER = "ann@firm.test"


@pytest.fixture
def emulator(keys):
    handle = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    handle.ids = [add_message(handle.url, USER, make_message(subject=f"Note {i}", body=f"Body {i}\n",
                                                            attachments=[("a.csv", "text/csv", b"x,y\n1,2\n")] if i == 0 else ()))["id"]
                  for i in range(60)]
    yield handle
    handle.stop()


def client_for(emulator, keys, fast_sleep=True, **settings):
    env = {"CRM_GMAIL_API_BASE": emulator.url, "CRM_GMAIL_TOKEN_URI": emulator.url + "/token",
           "CRM_GMAIL_RETRY_MAX": "8", "CRM_GMAIL_QUOTA_PROFILE": "legacy"} | settings
    config = load_config(env)
    assert config.errors == []
    provider = DWDCredentialProvider(keys[0], config.token_uri)
    # Injected faults need no real waiting; quota 429s (fast_sleep=False) do.
    sleep = (lambda s: time.sleep(min(s, 0.02))) if fast_sleep else time.sleep
    limiter = QuotaLimiter(config.pace_units_per_min, sleep=sleep, batch_max=config.batch_size)
    return GmailClient(USER, provider, config, limiter=limiter, sleep=sleep)


def test_every_call(emulator, keys):
    client = client_for(emulator, keys)
    assert client.get_profile()["messagesTotal"] == 60
    pages = list(client.iter_message_refs(page_size=25))
    assert [len(p) for p, _ in pages] == [25, 25, 10] and pages[-1][1] is None
    ids = [m["id"] for page, _ in pages for m in page]
    assert sorted(ids) == sorted(emulator.ids)
    full = client.get_message(emulator.ids[0])
    attachment_id = full["payload"]["parts"][1]["body"]["attachmentId"]
    assert client.get_attachment(emulator.ids[0], attachment_id) == b"x,y\n1,2\n"
    assert client.get_message(emulator.ids[1], "metadata", ["Subject"])["payload"]["headers"] == [
        {"name": "Subject", "value": "Note 1"}]
    assert "raw" in client.get_message(emulator.ids[1], "raw")
    assert client.get_thread(full["threadId"])["messages"][0]["id"] == emulator.ids[0]
    start = client.get_profile()["historyId"]
    new = add_message(emulator.url, USER, make_message(subject="Late"))
    records = [r for page, _ in client.iter_history(start, ["messageAdded"]) for r in page]
    assert [r["messagesAdded"][0]["message"]["id"] for r in records] == [new["id"]]
    with pytest.raises(NotFoundError):
        client.get_message("ffffffffffffffff")
    assert client.pool.opened == 1  # keep-alive: one connection served every call


def test_batch_get_full_and_metadata(emulator, keys):
    client = client_for(emulator, keys, CRM_GMAIL_BATCH_SIZE="25")
    found, failed = client.batch_get_messages(emulator.ids + ["ffffffffffffffff"])
    assert set(found) == set(emulator.ids) and list(failed) == ["ffffffffffffffff"]
    assert found[emulator.ids[5]]["payload"]["mimeType"] == "text/plain"
    metadata, _ = client.batch_get_metadata(emulator.ids[:10])
    assert all("parts" not in m["payload"] for m in metadata.values())
    entry = stats(emulator.url)["users"][USER]
    # Batches start at 10 calls and grow by one after clean ones: the one part beyond the emulator's
    # 10 concurrent calls answered 429 (not charged) and the batches shrank back.
    assert entry["calls"]["messages.get"] == 61 + 10 + entry["rate_limited"] and entry["units"] == 5 * 71
    assert entry["rate_limited"] <= 1


@pytest.mark.parametrize("kind", ["500", "503", "429", "reset", "truncate"])
def test_each_fault_kind_loses_nothing_and_repeats_no_success(emulator, keys, kind):
    post_json(f"{emulator.url}/_emulator/faults", {"rate": 0.25, "seed": 11, "kinds": [kind]})
    client = client_for(emulator, keys, CRM_GMAIL_BATCH_SIZE="10")
    found, failed = client.batch_get_messages(emulator.ids)
    assert failed == {} and set(found) == set(emulator.ids)
    singles = [client.get_message(i, "minimal")["id"] for i in emulator.ids[:20]]
    assert singles == emulator.ids[:20]
    gets = stats(emulator.url)["users"][USER]["message_gets"]
    assert all(gets[i] == (2 if i in singles else 1) for i in emulator.ids), "a success was asked for twice"
    assert stats(emulator.url)["faults_injected"].get(kind, 0) > 0


def test_ten_percent_mixed_faults_lose_no_message(emulator, keys):
    post_json(f"{emulator.url}/_emulator/faults", {"rate": 0.1, "seed": 3})
    client = client_for(emulator, keys, CRM_GMAIL_BATCH_SIZE="7")
    refs = [m["id"] for page, _ in client.iter_message_refs(page_size=9) for m in page]
    found, failed = client.batch_get_messages(refs)
    assert failed == {} and sorted(found) == sorted(emulator.ids)
    assert all(n == 1 for n in stats(emulator.url)["users"][USER]["message_gets"].values())


def test_a_429_storm_from_real_quota(emulator, keys):
    # The budget cut to 1,200 legacy units/min (a 2-second window: 40 units, 8 gets) under the
    # client's pace of 13,500: 429s until the pace has come down.
    post_json(f"{emulator.url}/_emulator/quota", {"units_per_min": 1200, "window_sec": 2})
    client = client_for(emulator, keys, fast_sleep=False, CRM_GMAIL_BATCH_SIZE="20")
    found, failed = client.batch_get_messages(emulator.ids[:24])
    assert failed == {} and len(found) == 24
    entry = stats(emulator.url)["users"][USER]
    assert entry["rate_limited"] > 0
    assert all(n == 1 for n in entry["message_gets"].values())


def test_history_expiry_is_history_expired_error(emulator, keys):
    client = client_for(emulator, keys)
    start = client.get_profile()["historyId"]
    post_json(f"{emulator.url}/_emulator/users/{USER}/expire-history", {})
    with pytest.raises(HistoryExpiredError):
        list(client.iter_history(start))


def test_a_401_refreshes_the_token_once(emulator, keys):
    client = client_for(emulator, keys)
    client.get_profile()
    client.credentials._cache._tokens[USER] = ("ya29.revoked", time.time() + 3600)  # a token Gmail no longer honours
    assert client.get_profile()["emailAddress"] == USER
    assert stats(emulator.url)["token_requests"] == 2
