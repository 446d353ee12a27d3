"""The emulator's HTTP server: Gmail API routes, the batch and token endpoints, the control API.

Control API (outside /gmail/, contracts §6):
  POST   /_emulator/users/{address}/messages?labels=INBOX,SENT   raw RFC 822 body → {id, threadId, historyId}
  DELETE /_emulator/users/{address}/messages/{id}
  POST   /_emulator/users/{address}/messages/{id}/modify        {addLabelIds, removeLabelIds}
  POST   /_emulator/users/{address}/expire-history
  POST   /_emulator/oauth/refresh-tokens {refresh_token, user, scopes?};  DELETE (same body) revokes it
  POST   /_emulator/oauth/codes {code, user, refresh_token, scopes?}   what a consent screen would hand back
         (scopes: what the user consented to, a list or a space-separated string; gmail.readonly if absent)
  POST   /_emulator/faults {rate, seed, kinds};  POST /_emulator/latency {ms}
  POST   /_emulator/quota {profile?, units_per_min? | units_per_sec?, window_sec?, max_concurrent?, error_shape?}
         (a budget of null: the profile's; 0: not enforced; error_shape: userRateLimit | rateLimit | 403)
  POST   /_emulator/search {match?: gmail|exact, lag_sec?}
  GET    /_emulator/stats → {users: {ADDR: {units, calls: {method: n}, rate_limited, message_gets: {id: n},
         thread_gets: {id: n}, content_gets: {id: n}}}, profile, units_per_min, window_sec, max_concurrent,
         error_shape, search_match, search_lag_sec, token_requests, faults_injected}
  POST   /_emulator/stats/reset

Calendar API v3 (contracts §6b; calendar_api.py): GET /calendar/v3/calendars/primary/events, with
  POST   /_emulator/users/{address}/events            an Event resource → {id, iCalUID}
  PATCH  /_emulator/users/{address}/events/{id}       fields to change (an instance id: that occurrence only)
  DELETE /_emulator/users/{address}/events/{id}       the event becomes cancelled (a tombstone for sync)
  POST   /_emulator/users/{address}/expire-sync-tokens  every older sync token answers 410 fullSyncRequired
  POST   /_emulator/calendar-quota {requests_per_min?, window_sec?, error_shape?}  (null: Google's 600; 0: off)
  /_emulator/stats → "calendar": {users: {ADDR: {calls: {"events.list": n}, units (requests), rate_limited}},
         requests_per_min, error_shape}
"""
from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from email_integration.google.quota import (CALENDAR_PROFILE, CALENDAR_QUOTA_ERROR_SHAPES,
                                            DEFAULT_CALENDAR_QUOTA_ERROR_SHAPE, DEFAULT_QUOTA_ERROR_SHAPE)

from . import batch
from .calendar_api import CalendarApi
from .calendar_store import BadEvent, CalendarStore
from .faults import KINDS, FaultPlan
from .gmail_api import ApiError, GmailApi, Stats, google_error, json_bytes
from .mailbox import MailStore
from .query import MATCH_MODES
from .quota import ConcurrencyGate, QuotaMeter
from .tokens import GMAIL_SCOPES, TokenError, TokenIssuer, load_public_key

log = logging.getLogger("gmail_emulator")
MAX_BODY = 64 * 1024 * 1024


@dataclass
class EmulatorOptions:
    host: str = "127.0.0.1"
    port: int = 0
    quota_profile: str = "2026"
    quota_units_per_min: float | None = None  # None: the profile's per-user budget; 0: not enforced
    quota_units_per_sec: float | None = None  # the older way to say the same (x 60)
    quota_window_sec: float = 60.0  # Gmail's budget is per minute; tests may shorten the window
    max_concurrent: int | None = 10  # calls in flight per user before "Too many concurrent requests"
    quota_error_shape: str = DEFAULT_QUOTA_ERROR_SHAPE  # how a call over the budget is refused (google/quota.py)
    search_match: str = "gmail"  # how from:/to:/cc:/bcc: match: Gmail's words, or exact addresses (query.py)
    search_lag_sec: float = 0.0  # messages.list sees new mail this long after history does
    dwd_deny: tuple = ()  # subjects the token endpoint refuses (DWD not granted): 401 unauthorized_client
    dwd_deny_scopes: tuple = ()  # (subject or "*", scope) pairs not delegated: assertions asking for them get 401
    calendar_requests_per_min: float | None = None  # None: Google's 600 per user; 0: not enforced
    calendar_error_shape: str = DEFAULT_CALENDAR_QUOTA_ERROR_SHAPE
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple = KINDS
    seed: int | None = None
    service_account_key: str | None = None
    token_ttl: float = 3600.0


def budget_per_min(units_per_min: float | None, units_per_sec: float | None) -> float | None:
    """The per-minute budget from either spelling (per minute wins); None means the profile's."""
    if units_per_min is not None:
        return units_per_min
    return None if units_per_sec is None else units_per_sec * 60.0


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, options: EmulatorOptions, store: MailStore, calendars: CalendarStore | None = None):
        super().__init__((options.host, options.port), EmulatorHandler)
        self.options, self.store = options, store
        self.calendars = calendars or CalendarStore()
        self.stats = Stats()
        self.calendar_stats = Stats()
        self.calendar_quota = QuotaMeter(CALENDAR_PROFILE, options.calendar_requests_per_min,
                                         options.quota_window_sec, error_shape=options.calendar_error_shape,
                                         shapes=CALENDAR_QUOTA_ERROR_SHAPES)
        self.calendar_api = CalendarApi(self.calendars, self.calendar_quota, self.calendar_stats)
        self.quota = QuotaMeter(options.quota_profile, budget_per_min(options.quota_units_per_min,
                                                                      options.quota_units_per_sec),
                                options.quota_window_sec, error_shape=options.quota_error_shape)
        if options.search_match not in MATCH_MODES or options.search_lag_sec < 0:
            raise ValueError(f"bad search settings: match={options.search_match!r}, lag={options.search_lag_sec}")
        self.gate = ConcurrencyGate(options.max_concurrent)
        self.faults = FaultPlan(options.fault_rate, options.seed, options.fault_kinds)
        key = load_public_key(options.service_account_key) if options.service_account_key else None
        self.tokens = TokenIssuer(key, options.token_ttl, deny=options.dwd_deny, deny_scopes=options.dwd_deny_scopes)
        self.api = GmailApi(store, self.quota, self.stats, options.search_match, options.search_lag_sec)
        self.latency = options.latency_ms / 1000.0

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GmailEmulator"

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.client_address[0], *args)

    # -- plumbing --------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, "Request too large", "requestTooLarge")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type="application/json; charset=UTF-8", headers=None,
              truncate: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if truncate:  # promise the whole body, deliver half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _json(self, status: int, payload, headers=None) -> None:
        self._send(status, json_bytes(payload), headers=headers)

    def _reset(self) -> None:
        """Close with an RST (SO_LINGER 0), as a dropped connection looks to a client."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _grant(self, headers) -> tuple[str | None, tuple]:
        """(user, scopes) of the request's bearer token; (None, ()) without a valid one."""
        scheme, _, token = (headers.get("Authorization") or headers.get("authorization") or "").partition(" ")
        return self.server.tokens.grant_for(token.strip()) if scheme.lower() == "bearer" else (None, ())

    def _token_user(self, headers) -> str | None:
        """The user of a token good for Gmail (a token of Calendar scopes alone is none)."""
        user, scopes = self._grant(headers)
        return user if any(scope in GMAIL_SCOPES for scope in scopes) else None

    def _fault(self) -> str | None:
        """Draw this request's fault; answers it (and returns the kind) when there is one."""
        kind = self.server.faults.draw()
        if kind is None:
            return None
        if kind == "reset":
            self._reset()
        elif kind == "truncate":
            self._send(200, json_bytes({"id": "x" * 64, "payload": {"headers": []}}), truncate=True)
        elif kind == "429":
            self._json(429, google_error(429, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits"),
                       {"Retry-After": "1"})
        else:
            status = int(kind)
            self._json(status, google_error(status, "Backend Error" if status == 500 else "The service is currently unavailable.",
                                            "backendError"))
        return kind

    # -- verbs -----------------------------------------------------------------------------
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_emulator/stats":
            return self._json(200, self._stats())
        if path.startswith("/calendar/v3/"):
            return self._calendar()
        if path.startswith("/gmail/"):
            user = self._token_user(self.headers)
            if user is None and self._grant(self.headers)[0]:
                return self._json(403, google_error(403, "Request had insufficient authentication scopes.",
                                                    "insufficientPermissions"))
            granted = self.server.gate.enter(user, 1) if user else 1
            try:
                if self.server.latency:
                    time.sleep(self.server.latency)
                if self._fault():
                    return
                if not granted:
                    return self._json(*self.server.api.too_many_concurrent(self.path, user)[::2])
                status, headers, body = self.server.api.call("GET", self.path, user)
                return self._json(status, body, headers)
            finally:
                if user:
                    self.server.gate.leave(user, granted)
        self._json(404, google_error(404, f"Not found: {path}", "notFound"))

    def _path_and_body(self):
        """(path, body), or None once a body too large has been answered (and the connection closed)."""
        try:
            return urllib.parse.urlsplit(self.path).path, self._body()
        except ApiError as error:
            self.close_connection = True
            self._json(*error.reply()[::2])
            return None

    def do_POST(self):
        request = self._path_and_body()
        if request is None:
            return
        path, body = request
        if path in ("/batch", "/batch/gmail/v1"):
            return self._batch(body)
        if path == "/token":
            return self._token(body)
        if path.startswith("/_emulator/"):
            return self._control("POST", path, body)
        self._json(404, google_error(404, f"Not found: {path}", "notFound"))

    def do_PATCH(self):
        request = self._path_and_body()
        if request is None:
            return
        path, body = request
        if path.startswith("/_emulator/"):
            return self._control("PATCH", path, body)
        self._json(404, google_error(404, f"Not found: {path}", "notFound"))

    def do_DELETE(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        if path.startswith("/_emulator/"):
            return self._control("DELETE", path, body)
        self._json(404, google_error(404, f"Not found: {path}", "notFound"))

    # -- endpoints -------------------------------------------------------------------------
    def _calendar(self) -> None:
        user, scopes = self._grant(self.headers)
        if self.server.latency:
            time.sleep(self.server.latency)
        if self._fault():
            return
        status, headers, body = self.server.calendar_api.call("GET", self.path, user, scopes)
        self._json(status, body, headers)

    def _batch(self, body: bytes) -> None:
        try:
            calls = batch.parse_batch(self.headers.get("Content-Type") or "", body)
        except batch.BatchError as exc:
            return self._json(400, google_error(400, str(exc), "badRequest"))
        outer_user = self._token_user(self.headers)
        for call in calls:
            call["user"] = self._token_user(call["headers"]) if "authorization" in call["headers"] else outer_user
        # Gmail runs a batch's parts at once: per user, the parts beyond its free concurrent slots
        # answer 429 "Too many concurrent requests for user" (the batch itself is a 200).
        granted: dict[str, int] = {}
        for call in calls:
            if call["user"]:
                granted[call["user"]] = granted.get(call["user"], 0) + 1
        granted = {user: self.server.gate.enter(user, wanted) for user, wanted in granted.items()}
        try:
            if self.server.latency:
                time.sleep(self.server.latency)
            if self._fault():
                return
            left = dict(granted)
            replies = []
            for call in calls:
                replies.append((call["content_id"], *self._batch_part(call, left)))
        finally:
            for user, slots in granted.items():
                self.server.gate.leave(user, slots)
        content_type, response = batch.build_batch_response(replies)
        self._send(200, response, content_type)

    def _batch_part(self, call: dict, slots: dict) -> tuple[int, dict, bytes]:
        user = call["user"]
        if user and slots.get(user, 0) <= 0:
            status, headers, payload = self.server.api.too_many_concurrent(call["target"], user)
            return status, headers, json_bytes(payload)
        if user:
            slots[user] -= 1
        kind = self.server.faults.draw(part=True)
        if kind == "429":
            status, headers, payload = 429, {"Retry-After": "1"}, google_error(
                429, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits")
        elif kind:
            status, headers, payload = int(kind), {}, google_error(int(kind), "Backend Error", "backendError")
        else:
            status, headers, payload = self.server.api.call(call["method"], call["target"], user)
        return status, headers, json_bytes(payload)

    def _token(self, body: bytes) -> None:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        token_uri = f"http://{self.headers.get('Host') or self.server.url.split('//')[1]}/token"
        try:
            self._json(200, self.server.tokens.grant(form, token_uri))
        except TokenError as exc:
            self._json(exc.status, {"error": exc.error, "error_description": str(exc)})

    def _control(self, method: str, path: str, body: bytes) -> None:
        try:
            data = json.loads(body) if body and path.rsplit("/", 1)[-1] != "messages" else {}
        except ValueError:
            return self._json(400, {"error": "body is not JSON"})
        server = self.server
        m = re.fullmatch(r"/_emulator/users/([^/]+)/(.*)", path)
        if m:
            box = server.store.mailbox(urllib.parse.unquote(m.group(1)))
            rest = m.group(2)
            if method == "POST" and rest == "messages":
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                labels = [l for l in ",".join(query.get("labels", ["INBOX"])).split(",") if l]
                return self._json(200, box.add(body, labels))
            if rest == "events" or rest.startswith("events/") or rest == "expire-sync-tokens":
                return self._calendar_control(method, urllib.parse.unquote(m.group(1)), rest, data)
            if method == "POST" and rest == "expire-history":
                return self._json(200, {"historyId": str(box.expire_history())})
            mm = re.fullmatch(r"messages/([^/]+)(/modify)?", rest)
            if mm and method == "DELETE" and not mm.group(2):
                return self._json(200 if box.delete(mm.group(1)) else 404, {})
            if mm and method == "POST" and mm.group(2):
                try:
                    return self._json(200, box.modify(mm.group(1), data.get("addLabelIds", []),
                                                      data.get("removeLabelIds", [])))
                except KeyError:
                    return self._json(404, {"error": "no such message"})
        elif path == "/_emulator/oauth/refresh-tokens":
            if method == "POST":
                server.tokens.register_refresh_token(data["refresh_token"], data["user"], data.get("scopes"))
                return self._json(200, {})
            return self._json(200 if server.tokens.revoke_refresh_token(data.get("refresh_token", "")) else 404, {})
        elif path == "/_emulator/oauth/codes" and method == "POST":
            server.tokens.register_code(data["code"], data["user"], data["refresh_token"], data.get("scopes"))
            return self._json(200, {})
        elif path == "/_emulator/faults" and method == "POST":
            try:
                server.faults.configure(float(data.get("rate", 0)), data.get("seed"), tuple(data.get("kinds", KINDS)))
            except ValueError as exc:
                return self._json(400, {"error": str(exc)})
            return self._json(200, {})
        elif path == "/_emulator/quota" and method == "POST":
            try:
                server.quota.set_budget(budget_per_min(data.get("units_per_min"), data.get("units_per_sec")),
                                        data.get("profile"), data.get("window_sec"), data.get("error_shape"))
            except ValueError as exc:
                return self._json(400, {"error": str(exc)})
            if "max_concurrent" in data:
                server.gate.limit = data["max_concurrent"]
            return self._json(200, {})
        elif path == "/_emulator/calendar-quota" and method == "POST":
            try:
                server.calendar_quota.set_budget(data.get("requests_per_min", server.calendar_quota.units_per_min),
                                                 None, data.get("window_sec"),
                                                 data.get("error_shape"))
            except ValueError as exc:
                return self._json(400, {"error": str(exc)})
            return self._json(200, {})
        elif path == "/_emulator/search" and method == "POST":
            match, lag = data.get("match", server.api.search_match), data.get("lag_sec", server.api.search_lag_sec)
            if match not in MATCH_MODES or not isinstance(lag, (int, float)) or lag < 0:
                return self._json(400, {"error": f"bad search settings: match={match!r}, lag_sec={lag!r}"})
            server.api.search_match, server.api.search_lag_sec = match, float(lag)
            return self._json(200, {})
        elif path == "/_emulator/latency" and method == "POST":
            server.latency = float(data.get("ms", 0)) / 1000.0
            return self._json(200, {})
        elif path == "/_emulator/stats/reset" and method == "POST":
            server.stats.reset()
            server.calendar_stats.reset()
            server.tokens.requests = 0
            return self._json(200, {})
        self._json(404, {"error": f"no control endpoint {method} {path}"})

    def _calendar_control(self, method: str, address: str, rest: str, data) -> None:
        calendar = self.server.calendars.calendar(address)
        try:
            if method == "POST" and rest == "events":
                return self._json(200, calendar.add(data))
            if method == "POST" and rest == "expire-sync-tokens":
                return self._json(200, {"expired_before": calendar.expire_sync_tokens()})
            event_id = rest.partition("/")[2]
            if event_id and "/" not in event_id and method == "PATCH":
                return self._json(200, calendar.patch(event_id, data))
            if event_id and "/" not in event_id and method == "DELETE":
                return self._json(200 if calendar.delete(event_id) else 404, {})
        except BadEvent as exc:
            return self._json(400, {"error": str(exc)})
        except KeyError:
            return self._json(404, {"error": "no such event"})
        self._json(404, {"error": f"no control endpoint {method} {rest}"})

    def _stats(self) -> dict:
        server = self.server
        return {"users": server.stats.snapshot(), "profile": server.quota.profile.name,
                "units_per_min": server.quota.units_per_min, "window_sec": server.quota.window_sec,
                "max_concurrent": server.gate.limit, "error_shape": server.quota.error_shape.name,
                "search_match": server.api.search_match, "search_lag_sec": server.api.search_lag_sec,
                "token_requests": server.tokens.requests,
                "faults_injected": dict(server.faults.injected),
                "calendar": {"users": {user: {k: v for k, v in entry.items() if k in ("calls", "units", "rate_limited")}
                                       for user, entry in server.calendar_stats.snapshot().items()},
                             "requests_per_min": server.calendar_quota.units_per_min,
                             "error_shape": server.calendar_quota.error_shape.name}}


class EmulatorHandle:
    """A running emulator: `.url`, `.store`, `.server`; `.stop()` shuts it down."""

    def __init__(self, server: EmulatorServer):
        self.server, self.store, self.url = server, server.store, server.url
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="gmail-emulator", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_emulator(mailboxes_dir: str | None = None, store: MailStore | None = None, calendars_dir: str | None = None,
                   **options) -> EmulatorHandle:
    """Start an emulator in this process on a background thread."""
    store = store or MailStore()
    if mailboxes_dir:
        store.load_dir(mailboxes_dir)
    calendars = CalendarStore()
    if calendars_dir:
        calendars.load_dir(calendars_dir)
    return EmulatorHandle(EmulatorServer(EmulatorOptions(**options), store, calendars))
