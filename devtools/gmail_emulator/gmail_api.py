"""The Gmail API calls themselves: (method, path, query, user) → (status, headers, JSON body).

Shared by plain requests and the parts of a batch, so both count quota and stats alike.
"""
from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import defaultdict

from .google_errors import google_error
from .mailbox import BadPageToken, HistoryExpired, MailStore
from .query import QueryError
from .quota import QuotaMeter

__all__ = ["ApiError", "GmailApi", "Stats", "google_error", "json_bytes"]

USER = r"/gmail/v1/users/(?P<user>[^/]+)"
ROUTES = [
    ("getProfile", re.compile(USER + r"/profile\Z")),
    ("messages.list", re.compile(USER + r"/messages\Z")),
    ("messages.attachments.get", re.compile(USER + r"/messages/(?P<id>[^/]+)/attachments/(?P<aid>[^/]+)\Z")),
    ("messages.get", re.compile(USER + r"/messages/(?P<id>[^/]+)\Z")),
    ("history.list", re.compile(USER + r"/history\Z")),
    ("threads.get", re.compile(USER + r"/threads/(?P<id>[^/]+)\Z")),
]


GETS = {"messages.get": "message_gets", "threads.get": "thread_gets"}  # stats counted per id
CONTENT_FORMATS = ("full", "raw")  # formats that hand out a message's body (content_gets counts them per id)
CONCURRENT_MESSAGE = "Too many concurrent requests for user"


class ApiError(Exception):
    def __init__(self, status: int, message: str, reason: str, domain: str = "global"):
        super().__init__(message)
        self.status, self.reason, self.domain = status, reason, domain

    def reply(self):
        return self.status, {}, google_error(self.status, str(self), self.reason, self.domain)


class Stats:
    """Per-user calls by method, units spent, quota refusals sent (429 or 403, `rate_limited`), successful gets
    per message and thread id, and per message id the gets that handed out its body (`content_gets`: format
    full or raw, a message alone or inside its thread)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.users = defaultdict(lambda: {"calls": defaultdict(int), "units": 0, "rate_limited": 0,
                                              "message_gets": defaultdict(int), "thread_gets": defaultdict(int),
                                              "content_gets": defaultdict(int)})

    def record(self, user: str, method: str, units: int = 0, limited: bool = False, got: str | None = None,
               contents=()):
        with self._lock:
            entry = self.users[user]
            entry["calls"][method] += 1
            entry["units"] += units
            entry["rate_limited"] += int(limited)
            if got and method in GETS:
                entry[GETS[method]][got] += 1
            for message_id in contents:
                entry["content_gets"][message_id] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {u: {"calls": dict(e["calls"]), "units": e["units"], "rate_limited": e["rate_limited"],
                        "message_gets": dict(e["message_gets"]), "thread_gets": dict(e["thread_gets"]),
                        "content_gets": dict(e["content_gets"])}
                    for u, e in self.users.items()}


class GmailApi:
    """`search_match` ("gmail" | "exact") and `search_lag_sec` shape messages.list (query.py, mailbox.py)."""

    def __init__(self, store: MailStore, quota: QuotaMeter, stats: Stats, search_match: str = "gmail",
                 search_lag_sec: float = 0.0):
        self.store, self.quota, self.stats = store, quota, stats
        self.search_match, self.search_lag_sec = search_match, search_lag_sec

    @staticmethod
    def route(target: str):
        """(method name, match, query) of an API target, or None when no route matches."""
        split = urllib.parse.urlsplit(target)
        path = urllib.parse.unquote(split.path)
        for name, pattern in ROUTES:
            match = pattern.match(path)
            if match:
                return name, match, urllib.parse.parse_qs(split.query)
        return None

    def too_many_concurrent(self, target: str, user: str | None):
        """Gmail's answer to a call beyond the user's concurrent calls (not charged)."""
        found = self.route(target)
        self.stats.record(user or "anonymous", found[0] if found else "unknown", limited=True)
        return 429, {}, google_error(429, CONCURRENT_MESSAGE, "rateLimitExceeded")

    def call(self, http_method: str, target: str, token_user: str | None):
        """Answer one API request; returns (status, extra headers, JSON-able body)."""
        found = self.route(target)
        if found is None:
            return ApiError(404, f"Not found: {urllib.parse.urlsplit(target).path}", "notFound").reply()
        name, match, query = found
        if http_method != "GET":
            return ApiError(405, "Method not allowed", "methodNotAllowed").reply()
        charged = 0
        try:
            user = self._user(match.group("user"), token_user)
            cost = self.quota.cost(name)
            wait = self.quota.charge(user, cost)
            if wait:  # over the user's budget: refused in the configured shape, nothing charged
                self.stats.record(user, name, limited=True)
                return self.quota.refusal(wait)
            charged = cost  # like Gmail, a call that fails after admission still costs its units
            body = getattr(self, "_" + name.replace(".", "_"))(self.store.mailbox(user), match.groupdict(), query)
        except ApiError as error:
            self.stats.record(token_user or "anonymous", name, charged)
            return error.reply()
        self.stats.record(user, name, cost, got=match.groupdict().get("id"), contents=self._contents(name, query, body))
        return 200, {}, body

    def _contents(self, name: str, query: dict, body: dict) -> list[str]:
        """Ids of the messages whose body this answer handed out."""
        if name not in GETS or self._one(query, "format", "full") not in CONTENT_FORMATS:
            return []
        return [m["id"] for m in body.get("messages", [])] if name == "threads.get" else [body["id"]]

    def _user(self, user_id: str, token_user: str | None) -> str:
        if token_user is None:
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                           "authError")
        if user_id != "me" and user_id.lower() != token_user:
            raise ApiError(403, f"Delegation denied for {token_user}", "forbidden")
        return token_user

    @staticmethod
    def _one(query, name, default=None):
        values = query.get(name)
        return values[0] if values else default

    @staticmethod
    def _int(query, name, default):
        raw = GmailApi._one(query, name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, f"Invalid value for {name}: {raw}", "invalidArgument") from None

    def _format(self, query):
        fmt = self._one(query, "format", "full")
        if fmt not in ("full", "metadata", "minimal", "raw"):
            raise ApiError(400, f"Invalid format: {fmt}", "invalidArgument")
        return fmt

    def _getProfile(self, box, params, query):
        return box.profile()

    def _messages_list(self, box, params, query):
        include = (self._one(query, "includeSpamTrash", "false") or "").lower() == "true"
        try:
            return box.list(q=self._one(query, "q"), label_ids=query.get("labelIds", []), include_spam_trash=include,
                            page_token=self._one(query, "pageToken"), max_results=self._int(query, "maxResults", 100),
                            match=self.search_match, lag_sec=self.search_lag_sec)
        except (QueryError, BadPageToken) as exc:
            raise ApiError(400, f"Invalid request: {exc}", "invalidArgument") from None

    def _messages_get(self, box, params, query):
        try:
            return box.get(params["id"], self._format(query), query.get("metadataHeaders"))
        except KeyError:
            raise ApiError(404, "Requested entity was not found.", "notFound") from None

    def _messages_attachments_get(self, box, params, query):
        try:
            return box.attachment(params["id"], params["aid"])
        except KeyError:
            raise ApiError(404, "Requested entity was not found.", "notFound") from None

    def _history_list(self, box, params, query):
        start = self._one(query, "startHistoryId")
        if not start or not start.isdigit():
            raise ApiError(400, "Invalid startHistoryId", "invalidArgument")
        try:
            return box.history(start, query.get("historyTypes"), self._one(query, "labelId"),
                               self._one(query, "pageToken"), self._int(query, "maxResults", 100))
        except HistoryExpired:
            raise ApiError(404, "Requested entity was not found.", "notFound") from None
        except BadPageToken as exc:
            raise ApiError(400, f"Invalid pageToken {exc}", "invalidArgument") from None

    def _threads_get(self, box, params, query):
        try:
            return box.thread(params["id"], self._format(query), query.get("metadataHeaders"))
        except KeyError:
            raise ApiError(404, "Requested entity was not found.", "notFound") from None


def json_bytes(body) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8")
