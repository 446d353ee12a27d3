"""The login throttle per real client address against a real CRM (issue 22, item 10): behind the
trusted proxy (CRM_TRUSTED_PROXY) a guesser locks out only its own forwarded address, a forged
X-Forwarded-For from anyone else changes nothing, and the per-account ceiling across addresses
still holds a distributed guesser to one try per fresh address."""
from conftest import PASSWORD, start_crm

VICTIM = "victim@firm.test"


def attempt(server, password: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return server.client().post("/api/auth/login", {"email": VICTIM, "password": password}, headers=headers).status


def test_behind_the_trusted_proxy_a_guesser_locks_out_only_itself(crm_factory):
    server = crm_factory({"CRM_TRUSTED_PROXY": "127.0.0.1", "CRM_LOGIN_MAX_FAILURES": "3"})
    server.create_user(VICTIM, "member")
    attacker = "198.51.100.66, 203.0.113.9"  # the client's own words left of what the proxy appended
    assert [attempt(server, "guess", attacker) for _ in range(4)] == [401, 401, 401, 429]
    assert attempt(server, PASSWORD, attacker) == 429  # the guessing address waits, right password or not
    assert attempt(server, PASSWORD, "192.0.2.7") == 200  # the teammate elsewhere signs in
    assert attempt(server, PASSWORD, "198.51.100.66, 192.0.2.8") == 200  # a forged left part does not matter
    assert attempt(server, "guess", "203.0.113.10") == 401


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(crm_factory):
    server = crm_factory({"CRM_LOGIN_MAX_FAILURES": "3"})
    server.create_user(VICTIM, "member")
    statuses = [attempt(server, "guess", f"203.0.113.{i}") for i in range(4)]  # a new "address" each time
    assert statuses == [401, 401, 401, 429]
    assert "Retry-After" in server.client().post("/api/auth/login", {"email": VICTIM, "password": "x"}).headers


def test_the_account_ceiling_leaves_one_try_per_fresh_address(crm_factory):
    server = crm_factory({"CRM_TRUSTED_PROXY": "127.0.0.0/8", "CRM_LOGIN_MAX_FAILURES": "2",
                          "CRM_LOGIN_ACCOUNT_MAX_FAILURES": "4"})
    server.create_user(VICTIM, "member")
    for address in ("203.0.113.1", "203.0.113.2"):  # 4 failures: the account's ceiling
        assert [attempt(server, "guess", address) for _ in range(2)] == [401, 401]
    assert attempt(server, "guess", "203.0.113.3") == 401  # a fresh address: one try ...
    assert attempt(server, "guess", "203.0.113.3") == 429  # ... not the two it had below the ceiling
    assert attempt(server, PASSWORD, "203.0.113.3") == 429
    assert attempt(server, PASSWORD, "192.0.2.7") == 200  # the owner's first try elsewhere gets through
    assert attempt(server, PASSWORD, "192.0.2.7") == 200  # and keeps working after its success
    assert attempt(server, "guess", "192.0.2.9") == 401


def test_a_bad_trusted_proxy_setting_stops_the_server(tmp_path):
    code, stderr = start_crm(tmp_path, {"CRM_TRUSTED_PROXY": "10.0.0.1, proxy.local"}, expect_failure=True)
    assert code == 2 and "CRM_TRUSTED_PROXY" in stderr and "proxy.local" in stderr


def test_client_address_reads_x_forwarded_for_from_the_right_and_only_from_a_trusted_peer():
    from backend.client_address import client_address, parse_trusted
    trusted = parse_trusted("10.0.0.5, 10.1.0.0/16, 2001:db8::/64")
    assert client_address("10.0.0.5", ["203.0.113.9"], trusted) == "203.0.113.9"
    assert client_address("10.0.0.5", ["1.2.3.4, 203.0.113.9"], trusted) == "203.0.113.9"  # the proxy appended the last
    assert client_address("10.0.0.5", ["1.2.3.4", "203.0.113.9, 10.1.2.3"], trusted) == "203.0.113.9"  # two proxies
    assert client_address("2001:db8::1", ["2001:db8:1::7"], trusted) == "2001:db8:1::7"
    assert client_address("10.0.0.6", ["203.0.113.9"], trusted) == "10.0.0.6"  # not our proxy: its header is words
    assert client_address("10.0.0.5", None, trusted) == "10.0.0.5"
    assert client_address("10.0.0.5", ["203.0.113.9, unknown"], trusted) == "10.0.0.5"  # garbage: the peer
    assert client_address("10.0.0.5", ["203.0.113.9"], ()) == "10.0.0.5"  # trust none by default
