"""Gmail's two quota regimes against the emulator over HTTP: what each call costs, a default CRM
backfilling a 2026-profile mailbox, a budget cut mid-run, and batches beyond the concurrent calls a
user may run. Figures are what the emulator's /_emulator/stats says was spent, never wall time."""
import threading
import time

import pytest

from capture_fixtures import CaptureRig
from email_integration.config import load_config
from email_integration.gmail import batch
from email_integration.gmail.client import GmailClient
from email_integration.google.credentials import DWDCredentialProvider
from email_integration.google.pacing import QuotaLimiter
from email_integration.google.quota import PROFILES
from emulator_fixtures import access_token, add_message, make_message, post_json, start_emulator, stats

ANN = "ann@firm.test"


def mail(i):
    return make_message(sender="Kim Lee <kim@alder.vc>", to=ANN, subject=f"Update {i}", body=f"Numbers {i}.\n",
                        message_id=f"<quota{i}@alder.vc>", date=f"Mon, 02 Nov 2026 09:{i % 60:02d}:00 +0000",
                        attachments=[("q.csv", "text/csv", b"a,b\n")] if i == 0 else ())


def seeded(keys, count, **options):
    handle = start_emulator(service_account_key=keys[1], **options)
    handle.ids = [add_message(handle.url, ANN, mail(i))["id"] for i in range(count)]
    return handle


@pytest.mark.parametrize("name", ["2026", "legacy"])
def test_each_profile_charges_what_google_documents(keys, name):
    emulator = seeded(keys, 6, quota_profile=name)
    try:
        config = load_config({"CRM_GMAIL_API_BASE": emulator.url, "CRM_GMAIL_TOKEN_URI": emulator.url + "/token",
                              "CRM_GMAIL_QUOTA_PROFILE": name})
        client = GmailClient(ANN, DWDCredentialProvider(keys[0], config.token_uri), config,
                             limiter=QuotaLimiter(config.pace_units_per_min))
        history_id = client.get_profile()["historyId"]
        client.list_messages()
        full = client.get_message(emulator.ids[0])
        client.get_attachment(emulator.ids[0], full["payload"]["parts"][1]["body"]["attachmentId"])
        client.get_thread(full["threadId"])
        client.list_history(history_id)
        found, _ = client.batch_get_messages(emulator.ids[1:4])
        threads, _ = client.batch_get_threads([full["threadId"]])
        assert len(found) == 3 and len(threads) == 1
        entry = stats(emulator.url)["users"][ANN]
        expected = {"getProfile": 1, "messages.list": 1, "messages.get": 4, "messages.attachments.get": 1,
                    "threads.get": 2, "history.list": 1}
        assert entry["calls"] == expected and entry["rate_limited"] == 0
        costs = PROFILES[name].costs
        assert entry["units"] == sum(costs[method] * n for method, n in expected.items())
        assert entry["units"] == (1 + 5 + 4 * 20 + 20 + 2 * 40 + 2 if name == "2026" else 1 + 5 + 4 * 5 + 5 + 2 * 10 + 2)
        assert entry["thread_gets"] == {full["threadId"]: 2}
        # The client counted what Gmail charged, for the status page.
        assert client.limiter.snapshot()["units_last_minute"] == entry["units"]
    finally:
        emulator.stop()


def test_a_default_crm_backfills_a_2026_mailbox_with_few_429s_and_loses_nothing(tmp_path, keys):
    emulator = seeded(keys, 24)  # the emulator's defaults: the 2026 profile, 6,000 units/min, 10 concurrent
    try:
        rig = CaptureRig(tmp_path, emulator, keys, CRM_GMAIL_QUOTA_PROFILE="2026")  # otherwise the defaults
        assert rig.config.pace_units_per_min == 5400
        account = rig.enroll(ANN)
        assert rig.sync(account)["status"] == "ok"
        assert rig.view(account) == rig.truth(ANN)
        entry = stats(emulator.url)["users"][ANN]
        calls = sum(entry["calls"].values())
        assert entry["rate_limited"] <= calls / 100
        assert sorted(entry["message_gets"]) == sorted(emulator.ids) and set(entry["message_gets"].values()) == {1}
    finally:
        emulator.stop()


def test_a_budget_cut_to_a_third_mid_run_converges_without_losing_messages(tmp_path, keys):
    # Legacy costs keep this quick: 60 gets of 5 units; the window is shortened to 3 s (same rate).
    emulator = seeded(keys, 60, quota_profile="legacy", quota_window_sec=3)
    cut = threading.Event()

    def cut_when_a_third_is_fetched():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(emulator.server.stats.snapshot().get(ANN, {}).get("message_gets", {})) >= 20:
                post_json(f"{emulator.url}/_emulator/quota", {"units_per_min": 5000})  # a third of 15,000
                cut.set()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=cut_when_a_third_is_fetched, daemon=True)
    try:
        rig = CaptureRig(tmp_path, emulator, keys, CRM_GMAIL_BATCH_SIZE="20")
        account = rig.enroll(ANN)
        watcher.start()
        run = rig.sync(account)
        watcher.join(5)
        assert cut.is_set() and run["status"] == "ok"
        assert rig.view(account) == rig.truth(ANN)  # nothing lost
        entry = stats(emulator.url)["users"][ANN]
        assert entry["rate_limited"] > 0 and set(entry["message_gets"].values()) == {1}
        limiter = rig.service.client_for(account).limiter
        assert limiter.decreases >= 1 and limiter.ceiling * 60 < 13500
    finally:
        emulator.stop()


def test_the_emulator_answers_parts_beyond_max_concurrent_with_429_inside_a_200_batch(keys):
    emulator = seeded(keys, 12, quota_profile="legacy", max_concurrent=5)
    try:
        token = access_token(emulator.url, ANN)
        content_type, body = batch.encode_batch([f"/gmail/v1/users/me/messages/{i}" for i in emulator.ids])
        import urllib.request
        request = urllib.request.Request(f"{emulator.url}/batch/gmail/v1", body, {
            "Content-Type": content_type, "Authorization": f"Bearer {token}"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            parts = batch.decode_batch(response.headers["Content-Type"], response.read())
        statuses = [parts[i][0] for i in range(12)]
        assert statuses == [200] * 5 + [429] * 7
        assert b"Too many concurrent requests for user" in parts[11][2]
        entry = stats(emulator.url)["users"][ANN]
        assert entry["units"] == 5 * 5 and entry["rate_limited"] == 7  # refused parts cost nothing
    finally:
        emulator.stop()


def test_max_concurrent_5_with_50_part_batches_captures_everything(tmp_path, keys):
    emulator = seeded(keys, 60, quota_profile="legacy", max_concurrent=5)
    try:
        rig = CaptureRig(tmp_path, emulator, keys, CRM_GMAIL_BATCH_SIZE="50")
        account = rig.enroll(ANN)
        assert rig.sync(account)["status"] == "ok"
        assert rig.view(account) == rig.truth(ANN)
        entry = stats(emulator.url)["users"][ANN]
        assert set(entry["message_gets"].values()) == {1}  # no success fetched twice
        # The batch size learned what gets through: only the first batch (10 parts) met the limit.
        assert entry["rate_limited"] == 5
        assert rig.service.client_for(account).limiter.batches.size == 5
    finally:
        emulator.stop()


@pytest.mark.parametrize("shape", ["userRateLimit", "rateLimit", "403"])
def test_every_shape_of_gmails_quota_refusal_converges_with_nothing_lost(tmp_path, keys, shape):
    """Whatever shape Gmail's refusal takes (google/quota.py QUOTA_ERROR_SHAPES: 429 with Retry-After, or 429
    and 403 without, as reported from real Gmail), the pace comes down, nothing is lost, no success is
    fetched twice, and the units recorded are what Gmail charged (refusals cost nothing). The budget is a
    fifth of the client's pace from the start (legacy costs, a 2-second window of 100 units), so refusals
    are certain."""
    emulator = seeded(keys, 30, quota_profile="legacy", quota_window_sec=2, quota_error_shape=shape,
                      quota_units_per_min=3000)
    try:
        rig = CaptureRig(tmp_path, emulator, keys, CRM_GMAIL_BATCH_SIZE="20", CRM_GMAIL_CAPTURE_SCOPE="investors")
        account = rig.enroll(ANN)
        run = rig.sync(account)
        assert run["status"] == "ok", run
        assert rig.view(account) == rig.truth(ANN)  # nothing lost
        entry = stats(emulator.url)["users"][ANN]
        assert entry["rate_limited"] > 0 and set(entry["content_gets"].values()) == {1}
        limiter = rig.service.client_for(account).limiter
        assert limiter.decreases >= 1 and limiter.ceiling * 60 < 13500
        from email_integration.capture import db_capture
        attachments = 5 * entry["calls"].get("messages.attachments.get", 0)  # fetched after the run, not in it
        assert db_capture.counts(rig.conn, account)["units"] == entry["units"] - attachments
    finally:
        emulator.stop()
