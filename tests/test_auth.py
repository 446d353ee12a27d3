"""Login, logout, me, the session cookie's flags, bearer tokens."""
from conftest import PASSWORD


def test_login_sets_a_strict_httponly_cookie(crm):
    client = crm.client()
    reply = client.login("admin@firm.test", PASSWORD)
    assert reply.status == 200
    assert reply.json == {"user": {"id": 1, "email": "admin@firm.test", "name": "Admin", "role": "admin"}}
    cookie = reply.headers["Set-Cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=1209600"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; see test_tls_cookie_is_secure


def test_me_logout_and_the_cookie_stops_working(crm):
    client = crm.logged_in("member@firm.test")
    assert client.get("/api/auth/me").json["user"]["role"] == "member"
    stolen = dict(client.cookies)
    assert client.post("/api/auth/logout").status == 200
    assert client.get("/api/auth/me").status == 401
    replay = crm.client()
    replay.cookies = stolen
    assert replay.get("/api/auth/me").status == 401


def test_wrong_password_and_unknown_user_look_the_same(crm):
    a = crm.client().login("admin@firm.test", "nope")
    b = crm.client().login("nobody@firm.test", "nope")
    assert (a.status, a.json) == (b.status, b.json) == (401, {"error": "wrong email or password"})


def test_email_is_case_insensitive(crm):
    assert crm.client().login("ADMIN@Firm.Test", PASSWORD).status == 200


def test_a_bot_has_no_password_login(crm):
    assert crm.client().login("bot@firm.test", "anything").status == 401


def test_bearer_token(crm):
    reply = crm.bot.get("/api/auth/me")
    assert reply.status == 200 and reply.json["user"]["role"] == "bot"
    assert crm.client(token="crm_not-a-real-token").get("/api/auth/me").status == 401
    bad_scheme = crm.client().get("/api/auth/me", headers={"Authorization": "Basic abc"})
    assert bad_scheme.status == 401


def test_login_validation(crm):
    client = crm.client()
    assert client.post("/api/auth/login", {"email": "admin@firm.test"}).status == 400
    assert client.post("/api/auth/login", {"email": 5, "password": "x"}).status == 400
    assert client.request("POST", "/api/auth/login", body=b"{not json").status == 400


def test_tls_cookie_is_secure(crm_factory, tmp_path):
    from tls_cert import make_cert
    server = crm_factory(make_cert(tmp_path))
    assert server.url.startswith("https://")
    server.create_user("a@firm.test", "admin")
    reply = server.client().login("a@firm.test", PASSWORD)
    assert reply.status == 200
    assert "Secure" in reply.headers["Set-Cookie"]


def test_behind_a_tls_proxy_the_cookie_is_secure(crm_factory):
    """Issue 22, item 12: the proxy speaks plain HTTP to the CRM, but browsers use https://."""
    server = crm_factory({"CRM_PUBLIC_ORIGIN": "https://crm.firm.test"}, name="https-proxy")
    server.create_user("a@firm.test", "admin")
    client = server.client()
    reply = client.login("a@firm.test", PASSWORD)
    assert reply.status == 200 and "Secure" in reply.headers["Set-Cookie"].split("; ")
    logout = client.post("/api/auth/logout", headers={"Origin": "https://crm.firm.test"})
    assert logout.status == 200 and "Secure" in logout.headers["Set-Cookie"].split("; ")
    plain = crm_factory({"CRM_PUBLIC_ORIGIN": "http://crm.firm.test"}, name="http-proxy")
    plain.create_user("a@firm.test", "admin")
    assert "Secure" not in plain.client().login("a@firm.test", PASSWORD).headers["Set-Cookie"]


def test_expired_session_is_refused(crm_factory):
    import time
    server = crm_factory({"CRM_SESSION_DAYS": "0.00002"})  # about 1.7 seconds
    server.create_user("a@firm.test", "member")
    client = server.logged_in("a@firm.test")
    assert client.get("/api/auth/me").status == 200
    time.sleep(2.2)
    assert client.get("/api/auth/me").status == 401
