"""HTTP plumbing shared by every route: errors that carry their status, Request, Response, Route.

Routes are data: `Route(method, pattern, handler, guard)`; the server resolves a request by the
first route whose method and compiled pattern match, runs its guard (auth), then the handler.
A handler takes a Request and returns a Response (or a dict, sent as 200 JSON).
HTTPError raised anywhere becomes `{"error": message}` JSON in one place: the server's router.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB request body limit (issue 2)


class HTTPError(Exception):
    """An error that becomes a JSON response with this status."""

    status = 500

    def __init__(self, message: str, status: int | None = None, headers: dict | None = None, payload: dict | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.headers = headers or {}
        self.payload = payload  # extra JSON fields, e.g. a 409's current state


class BadRequest(HTTPError):
    status = 400


class Unauthorized(HTTPError):
    status = 401


class Forbidden(HTTPError):
    status = 403


class NotFound(HTTPError):
    status = 404


class Conflict(HTTPError):
    status = 409


class PayloadTooLarge(HTTPError):
    status = 413


class TooManyRequests(HTTPError):
    status = 429


class ServiceUnavailable(HTTPError):
    status = 503


@dataclass
class Response:
    """A response to send: JSON by default, raw bytes when `body` is given."""

    status: int = 200
    payload: Any = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, payload, status: int = 200, headers: dict | None = None) -> "Response":
        return cls(status=status, payload=payload, headers=headers or {})

    @classmethod
    def error(cls, message: str, status: int, headers: dict | None = None, payload: dict | None = None) -> "Response":
        return cls(status=status, payload={**(payload or {}), "error": message}, headers=headers or {})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> "Response":
        return cls(status=status, body=b"", content_type="text/plain", headers={"Location": location})

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        return json.dumps(self.payload, separators=(",", ":"), default=str).encode("utf-8")


@dataclass
class Request:
    """What a handler sees: method, path, query, named path params, the user, the body."""

    method: str
    path: str
    query: dict  # name -> first value (str)
    params: dict  # named groups of the route pattern
    headers: Any  # email.message.Message-like, case-insensitive .get()
    user: dict | None  # {"id", "email", "name", "role"} or None when anonymous
    raw_body: bytes = b""
    handler: Any = None  # the BaseHTTPRequestHandler, for the rare route that streams
    conn: Any = None  # this request's sqlite3 connection (backend.db.connect)

    def json(self) -> dict:
        """The body as a JSON object; BadRequest if it is not one."""
        if not self.raw_body:
            raise BadRequest("request body must be a JSON object")
        try:
            data = json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("request body is not valid JSON") from None
        except RecursionError:  # "[[[[…" a few thousand deep
            raise BadRequest("request body is nested too deeply") from None
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object")
        try:  # "\ud800" is valid JSON but no text: SQLite and every encoder refuse a lone surrogate
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest("request body contains a lone surrogate (\\ud800-\\udfff)") from None
        return data


@dataclass
class Route:
    method: str
    pattern: str  # regex with named groups, anchored at both ends by the router
    handler: Callable[[Request], Any]
    guard: Callable[[Request], Any] | None = None  # e.g. auth.require_user; raises HTTPError
    compiled: re.Pattern = field(init=False, repr=False)

    def __post_init__(self):
        self.compiled = re.compile(r"\A" + self.pattern + r"\Z")


def resolve(routes, method: str, path: str):
    """(route, params) for the first match; NotFound, or 405 when only the method differs."""
    path_matched = False
    for route in routes:
        match = route.compiled.match(path)
        if match is None:
            continue
        path_matched = True
        if route.method == method:
            return route, match.groupdict()
    if path_matched:
        raise HTTPError(f"method {method} not allowed on {path}", 405)
    raise NotFound(f"no such endpoint: {path}")


# Field validation helpers used by every handler that reads JSON.
def only_fields(data: dict, allowed: set) -> dict:
    """`data` itself, once it holds no field outside `allowed` (a misspelt field is an error, not ignored)."""
    unknown = set(data) - allowed
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    return data


def field_str(data: dict, name: str, *, required: bool = True, max_len: int = 10_000, default: str | None = None) -> str | None:
    value = data.get(name, None)
    if value is None:
        if required:
            raise BadRequest(f"'{name}' is required")
        return default
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string")
    value = value.strip()
    if required and not value:
        raise BadRequest(f"'{name}' must not be empty")
    if len(value) > max_len:
        raise BadRequest(f"'{name}' is longer than {max_len} characters")
    return value


def field_int(data: dict, name: str, *, required: bool = True, default: int | None = None) -> int | None:
    value = data.get(name, None)
    if value is None:
        if required:
            raise BadRequest(f"'{name}' is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{name}' must be an integer")
    if not -2**63 <= value < 2**63:  # SQLite's INTEGER range
        raise BadRequest(f"'{name}' is out of range")
    return value


_ID = re.compile(r"[0-9]{1,12}")
_INT = re.compile(r"-?[0-9]{1,12}")


def parse_id(raw, name: str) -> int:
    """A database id from text (a query parameter): ASCII digits only, at most 12, else BadRequest."""
    if not isinstance(raw, str) or not _ID.fullmatch(raw):
        raise BadRequest(f"'{name}' must be an id (digits)")
    return int(raw)


def field_str_list(data: dict, name: str, *, max_items: int = 100, max_len: int = 320) -> list[str]:
    value = data.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{name}' must be a list of strings")
    if len(value) > max_items:
        raise BadRequest(f"'{name}' has more than {max_items} items")
    out = []
    for v in value:
        v = v.strip()
        if not v:
            continue
        if len(v) > max_len:
            raise BadRequest(f"an item of '{name}' is longer than {max_len} characters")
        out.append(v)
    return out


def query_int(query: dict, name: str, default: int, minimum: int = 0, maximum: int = 10_000) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    if not _INT.fullmatch(raw):  # int() would also take "+5", " 5", "5_0" and non-ASCII digits
        raise BadRequest(f"query parameter '{name}' must be an integer")
    value = int(raw)
    if not (minimum <= value <= maximum):
        raise BadRequest(f"query parameter '{name}' must be between {minimum} and {maximum}")
    return value
