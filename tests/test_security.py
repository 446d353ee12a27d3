"""CSRF refusal, the per-client rate limit, login throttling, security headers, bad input → 4xx."""
import socket

import pytest

from conftest import PASSWORD


def test_security_headers_on_pages_api_and_errors(crm):
    for path in ("/login", "/api/investors", "/api/nope", "/static/../../etc/passwd"):
        headers = crm.member.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_static_paths_cannot_escape_the_frontend(crm):
    for path in ("/static/../../backend/auth.py", "/static/%2e%2e/%2e%2e/backend/auth.py", "/static/",
                 "/backend/auth.py", "/static/..%5c..%5cbackend/auth.py"):
        assert crm.client().get(path).status == 404, path


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "null"},
])
def test_cross_site_cookie_writes_are_refused(crm, headers):
    reply = crm.member.post("/api/investors", {"name": "CSRF Capital"}, headers=headers)
    assert reply.status == 403 and "refused" in reply.json["error"]
    names = [i["name"] for i in crm.member.get("/api/investors").json["investors"]]
    assert "CSRF Capital" not in names


def test_same_origin_writes_and_bearer_writes_pass(crm):
    origin = {"Origin": crm.url, "Sec-Fetch-Site": "same-origin"}
    assert crm.member.post("/api/investors", {"name": "Same Origin LP"}, headers=origin).status == 201
    token = crm.issue_token("admin@firm.test")
    reply = crm.client(token).post("/api/investors", {"name": "Script LP"}, headers={"Origin": "https://evil.example"})
    assert reply.status == 201  # no ambient credential: a bearer token cannot be forged cross-site


def test_rate_limit_answers_429_with_retry_after(crm_factory):
    server = crm_factory({"CRM_RATE_LIMIT_PER_MIN": "20"})
    client = server.client()
    statuses = [client.get("/api/auth/me").status for _ in range(25)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    reply = client.get("/api/auth/me")
    assert reply.status == 429 and 1 <= int(reply.headers["Retry-After"]) <= 60
    assert "error" in reply.json


def test_login_throttling(crm_factory):
    server = crm_factory({"CRM_LOGIN_MAX_FAILURES": "3"})
    server.create_user("a@firm.test", "member")
    client = server.client()
    assert [client.login("a@firm.test", "guess").status for _ in range(3)] == [401, 401, 401]
    blocked = client.login("a@firm.test", PASSWORD)  # even the right password waits now
    assert blocked.status == 429 and int(blocked.headers["Retry-After"]) > 0
    assert client.login("other@firm.test", "guess").status == 401  # other accounts unaffected


def test_oversized_body_is_413_and_loses_nothing(crm):
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    reply = crm.member.request("POST", "/api/investors", body=body, headers={"Content-Type": "application/json"})
    assert reply.status == 413 and "error" in reply.json
    assert crm.member.get("/api/auth/me").status == 200


@pytest.mark.parametrize("body", [b"", b"{", b"[1,2]", b'"text"', b"\xff\xfe", b"null", b'{"name": 5}',
                                  b'{"name": ""}', b'{"name": "A", "emails": "a@b.c"}',
                                  b'{"name": "A", "emails": [1]}', b'{"name": "A", "emails": ["not-an-email"]}',
                                  b'{"name": "A", "domains": ["bad domain"]}'])
def test_bad_json_and_wrong_types_are_400(crm, body):
    reply = crm.member.request("POST", "/api/investors", body=body, headers={"Content-Type": "application/json"})
    assert reply.status == 400, reply
    assert reply.json["error"]


def test_malformed_http_never_500(crm):
    host, port = crm.url.split("//")[1].split(":")
    for raw in (b"GARBAGE\r\n\r\n", b"GET /api/investors HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                b"POST /api/investors HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                b"POST /api/investors HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(raw)
            head = sock.recv(200)
        assert head.startswith(b"HTTP/1."), head
        status = int(head.split()[1])
        assert 400 <= status < 500, head


def test_unknown_api_path_and_method(crm):
    assert crm.member.get("/api/nothing-here").status == 404
    assert crm.member.request("DELETE", "/api/investors").status == 405
    assert crm.member.request("PATCH", "/login").status == 405
