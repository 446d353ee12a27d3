"""A small http.client-based HTTP client for tests: keeps cookies, speaks JSON, never raises on 4xx/5xx."""
from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse


class Reply:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return f"<Reply {self.status} {self.body[:200]!r}>"


class CRMClient:
    """One browser-like or script-like client of a CRM server at `url`."""

    def __init__(self, url: str, token: str | None = None):
        self.url = url.rstrip("/")
        parts = urllib.parse.urlsplit(self.url)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.token = token
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, json_body=None, *, body: bytes | None = None,
                headers: dict | None = None, token: str | None = None) -> Reply:
        if self.scheme == "https":
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=30,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        send_headers = {"Host": f"{self.host}:{self.port}"}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            send_headers["Content-Type"] = "application/json"
        bearer = token or self.token
        if bearer:
            send_headers["Authorization"] = f"Bearer {bearer}"
        if self.cookies:
            send_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.cookies and method not in ("GET", "HEAD"):
            send_headers["Origin"] = self.url  # as a browser does on every write (the CSRF check wants it)
        send_headers.update(headers or {})
        send_headers = {k: v for k, v in send_headers.items() if v is not None}  # None: leave the header out
        try:
            conn.request(method, path, body=body, headers=send_headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in header:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return Reply(response.status, response.headers, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body, **kw)

    def patch(self, path, json_body=None, **kw):
        return self.request("PATCH", path, json_body, **kw)

    def login(self, email: str, password: str) -> Reply:
        return self.post("/api/auth/login", {"email": email, "password": password})
