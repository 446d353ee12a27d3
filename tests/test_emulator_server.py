"""The emulator's own behaviour: quota and 429s, reproducible faults, control API, history, stats."""
import http.client
import json
import urllib.error
import urllib.request

import pytest

from devtools.gmail_emulator.faults import FaultPlan
from devtools.gmail_emulator.mailbox import HistoryExpired, Mailbox, MailStore
from devtools.gmail_emulator.quota import QuotaMeter
from emulator_fixtures import access_token, add_message, make_message, post_json, start_emulator, stats

USER = "ann@firm.test"


@pytest.fixture
def emulator():
    handle = start_emulator()
    handle.token = access_token(handle.url, USER)
    yield handle
    handle.stop()


def get(handle, path, token=None):
    """(status, headers, parsed body) of a GET, via a raw http.client connection."""
    host, port = handle.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token or handle.token}"})
        response = conn.getresponse()
        return response.status, response.headers, json.loads(response.read() or b"null")
    finally:
        conn.close()


@pytest.mark.parametrize("name, budget, get_cost", [("2026", 6000, 20), ("legacy", 15000, 5)])
def test_quota_is_the_profiles_budget_per_minute_as_a_moving_window(name, budget, get_cost):
    clock = [0.0]
    meter = QuotaMeter(name, clock=lambda: clock[0])
    assert meter.cost("messages.get") == get_cost and meter.units_per_min == budget
    assert all(meter.charge("u", get_cost) == 0 for _ in range(budget // get_cost))  # a whole minute at once
    clock[0] = 30.0
    wait = meter.charge("u", get_cost)
    assert wait == pytest.approx(30.0)  # the first charge leaves the window at t=60
    assert meter.charge("v", get_cost) == 0  # per user
    clock[0] = 60.0
    assert meter.charge("u", get_cost) == 0  # everything charged at t=0 has left the window
    assert meter.spent_in_window("u") == get_cost


def test_quota_budget_override_and_unenforced():
    clock = [0.0]
    meter = QuotaMeter("2026", units_per_min=100, window_sec=6, clock=lambda: clock[0])
    assert [meter.charge("u", 5) == 0 for _ in range(3)] == [True, True, False]  # 6 s of 100/min = 10 units
    meter.set_budget(0)
    assert all(meter.charge("u", 40) == 0 for _ in range(1000))


@pytest.mark.parametrize("shape, status, reason, domain, retry_after, wording", [
    ("userRateLimit", 429, "userRateLimitExceeded", "usageLimits", True, "User-rate limit exceeded.  Retry after 20"),
    ("rateLimit", 429, "rateLimitExceeded", "global", False, "Resource has been exhausted (e.g. check quota)."),
    ("403", 403, "userRateLimitExceeded", "usageLimits", False, "Quota exceeded for quota metric 'Queries'"),
])
def test_calls_over_the_budget_are_refused_in_the_shape_gmail_is_reported_to_use(emulator, shape, status, reason,
                                                                                   domain, retry_after, wording):
    post_json(f"{emulator.url}/_emulator/quota", {"units_per_min": 10, "error_shape": shape})  # ten getProfile calls
    statuses = [get(emulator, "/gmail/v1/users/me/profile")[0] for _ in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [status, status]
    got, headers, body = get(emulator, "/gmail/v1/users/me/messages")
    error = body["error"]
    assert got == status and error["errors"][0]["reason"] == reason and error["errors"][0]["domain"] == domain
    assert error["message"].startswith(wording)
    assert error["status"] == {429: "RESOURCE_EXHAUSTED", 403: "PERMISSION_DENIED"}[status]
    assert (headers["Retry-After"] is not None) is retry_after
    entry = stats(emulator.url)["users"][USER]
    assert entry["rate_limited"] == 3 and entry["units"] == 10  # refused calls cost nothing
    assert stats(emulator.url)["error_shape"] == shape


def test_the_default_quota_error_is_the_one_reported_from_real_gmail(emulator):
    post_json(f"{emulator.url}/_emulator/quota", {"units_per_min": 1})
    get(emulator, "/gmail/v1/users/me/profile")
    status, headers, body = get(emulator, "/gmail/v1/users/me/profile")
    assert status == 429 and headers["Retry-After"] is None
    assert body["error"]["errors"][0] == {"message": "Resource has been exhausted (e.g. check quota).",
                                          "domain": "global", "reason": "rateLimitExceeded"}
    with pytest.raises(urllib.error.HTTPError):
        post_json(f"{emulator.url}/_emulator/quota", {"error_shape": "polite"})


def test_faults_are_reproducible_for_a_seed():
    def sequence(seed):
        plan = FaultPlan(0.3, seed)
        return [plan.draw() for _ in range(200)]
    assert sequence(7) == sequence(7) != sequence(8)
    drawn = [k for k in sequence(7) if k]
    assert set(drawn) == {"500", "503", "429", "reset", "truncate"}
    assert 30 < len(drawn) < 90
    assert all(FaultPlan(1.0, 1).draw(part=True) in ("500", "503", "429") for _ in range(20))


@pytest.mark.parametrize("kind", ["500", "503", "429", "reset", "truncate"])
def test_each_fault_kind_is_observable(emulator, kind):
    post_json(f"{emulator.url}/_emulator/faults", {"rate": 1.0, "seed": 1, "kinds": [kind]})
    host, port = emulator.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/gmail/v1/users/me/profile", headers={"Authorization": f"Bearer {emulator.token}"})
        if kind == "reset":
            with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
                conn.getresponse().read()
        elif kind == "truncate":
            response = conn.getresponse()
            with pytest.raises(http.client.IncompleteRead):
                response.read()
        else:
            response = conn.getresponse()
            assert response.status == int(kind)
            assert json.loads(response.read())["error"]["code"] == int(kind)
    finally:
        conn.close()
    post_json(f"{emulator.url}/_emulator/faults", {"rate": 0})
    assert get(emulator, "/gmail/v1/users/me/profile")[0] == 200
    assert stats(emulator.url)["faults_injected"] == {}  # reconfiguring starts a fresh plan


def test_control_api_changes_produce_history(emulator):
    first = add_message(emulator.url, USER, make_message(subject="One"))
    second = add_message(emulator.url, USER, make_message(subject="Two"))
    post_json(f"{emulator.url}/_emulator/users/{USER}/messages/{first['id']}/modify",
              {"addLabelIds": ["STARRED"], "removeLabelIds": ["INBOX"]})
    request = urllib.request.Request(f"{emulator.url}/_emulator/users/{USER}/messages/{second['id']}", method="DELETE")
    urllib.request.urlopen(request, timeout=5).close()
    status, _, history = get(emulator, f"/gmail/v1/users/me/history?startHistoryId={first['historyId']}")
    assert status == 200
    kinds = [next(k for k in record if k not in ("id", "messages")) for record in history["history"]]
    assert kinds == ["messagesAdded", "labelsAdded", "labelsRemoved", "messagesDeleted"]
    assert history["history"][1]["labelsAdded"][0]["labelIds"] == ["STARRED"]
    status, _, only_deleted = get(emulator, f"/gmail/v1/users/me/history?startHistoryId={first['historyId']}"
                                            "&historyTypes=messageDeleted")
    assert [r["messagesDeleted"][0]["message"]["id"] for r in only_deleted["history"]] == [second["id"]]
    assert get(emulator, f"/gmail/v1/users/me/messages/{second['id']}")[0] == 404


def test_expired_history_is_404_and_new_ids_work(emulator):
    first = add_message(emulator.url, USER, make_message())
    post_json(f"{emulator.url}/_emulator/users/{USER}/expire-history", {})
    status, _, body = get(emulator, f"/gmail/v1/users/me/history?startHistoryId={first['historyId']}")
    assert status == 404 and body["error"]["code"] == 404
    current = get(emulator, "/gmail/v1/users/me/profile")[2]["historyId"]
    assert get(emulator, f"/gmail/v1/users/me/history?startHistoryId={current}")[0] == 200


def test_auth_is_required_and_bound_to_the_user(emulator):
    assert get(emulator, "/gmail/v1/users/me/profile", token="nope")[0] == 401
    assert get(emulator, "/gmail/v1/users/bob@firm.test/profile")[0] == 403
    assert get(emulator, f"/gmail/v1/users/{USER}/profile")[0] == 200


def test_bad_requests_are_400(emulator):
    assert get(emulator, "/gmail/v1/users/me/history")[0] == 400
    assert get(emulator, "/gmail/v1/users/me/messages?maxResults=abc")[0] == 400
    assert get(emulator, "/gmail/v1/users/me/messages?pageToken=zz")[0] == 400
    assert get(emulator, "/gmail/v1/users/me/messages?q=frobnicate:yes")[0] == 400
    assert get(emulator, "/gmail/v1/users/me/messages/x?format=html")[0] in (400, 404)


def test_stats_count_calls_units_and_successful_gets(emulator):
    added = add_message(emulator.url, USER, make_message())
    get(emulator, f"/gmail/v1/users/me/messages/{added['id']}")
    get(emulator, f"/gmail/v1/users/me/messages/{added['id']}?format=metadata")
    get(emulator, "/gmail/v1/users/me/messages")
    get(emulator, f"/gmail/v1/users/me/threads/{added['threadId']}")
    get(emulator, "/gmail/v1/users/me/history?startHistoryId=1")
    get(emulator, "/gmail/v1/users/me/profile")
    report = stats(emulator.url)
    entry = report["users"][USER]
    assert entry["calls"] == {"messages.get": 2, "messages.list": 1, "threads.get": 1, "history.list": 1,
                              "getProfile": 1}
    assert entry["units"] == 2 * 20 + 5 + 40 + 2 + 1  # the 2026 profile's costs
    assert entry["message_gets"] == {added["id"]: 2} and entry["thread_gets"] == {added["threadId"]: 1}
    assert entry["content_gets"] == {added["id"]: 2}  # the full get and the thread's; not the metadata get
    assert report["profile"] == "2026" and report["units_per_min"] == 6000
    post_json(f"{emulator.url}/_emulator/stats/reset", {})
    assert stats(emulator.url)["users"] == {}


def test_mailbox_threads_and_load_dir(tmp_path):
    folder = tmp_path / USER
    folder.mkdir()
    (folder / "1.eml").write_bytes(make_message(message_id="<a@x>", subject="Deal"))
    (folder / "2.eml").write_bytes(make_message(sender=USER, to="kim@alder.vc", in_reply_to="<a@x>", subject="Re: Deal"))
    (folder / "3.eml").write_bytes(make_message(subject="Unrelated"))
    store = MailStore()
    assert store.load_dir(str(tmp_path)) == 3
    box = store.mailbox(USER)
    listed = box.list()["messages"]
    threads = {m["threadId"] for m in listed}
    assert len(listed) == 3 and len(threads) == 2
    assert box.list(label_ids=["SENT"])["resultSizeEstimate"] == 1
    box.expire_history()
    with pytest.raises(HistoryExpired):
        box.history(1)


def test_spam_and_trash_only_on_request():
    box = Mailbox(USER)
    box.add(make_message(subject="spam"), ["SPAM"])
    box.add(make_message(subject="ok"))
    assert box.list()["resultSizeEstimate"] == 1
    assert box.list(include_spam_trash=True)["resultSizeEstimate"] == 2


def test_the_command_line_takes_the_quota_flags(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT
    process = subprocess.Popen([sys.executable, "-m", "devtools.gmail_emulator", "--port", "0", "--quota-profile",
                                "legacy", "--quota-units-per-min", "900", "--max-concurrent", "5", "--quota-error-shape",
                                "403", "--search-match", "exact", "--search-lag-sec", "60"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        report = stats(url)
        assert (report["profile"], report["units_per_min"], report["max_concurrent"]) == ("legacy", 900, 5)
        assert (report["error_shape"], report["search_match"], report["search_lag_sec"]) == ("403", "exact", 60)
    finally:
        process.terminate()
        process.wait(timeout=10)
    refused = subprocess.run([sys.executable, "-m", "devtools.gmail_emulator", "--quota-profile", "2025"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--quota-profile" in refused.stderr
