"""The web UI's files: a few named pages and the assets under frontend/static/, nothing else."""
from __future__ import annotations

import os
import re

FRONTEND_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "frontend")
STATIC_DIR = os.path.join(FRONTEND_DIR, "static")
PAGES = {"/": "index.html", "/login": "login.html", "/capture": "capture.html",
         "/emails": "emails.html", "/admin": "admin.html", "/privacy": "privacy.html"}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
    ".ico": "image/x-icon", ".json": "application/json", ".txt": "text/plain; charset=utf-8",
}


# A mistyped address in a browser (Accept: text/html) gets this page with its 404; API clients keep JSON.
NOT_FOUND_PAGE = os.path.join(FRONTEND_DIR, "404.html")


def wants_html(accept: str | None) -> bool:
    """Whether a request's Accept header asks for a page (browsers send text/html first; fetch() and
    API clients send JSON or */*)."""
    return "text/html" in (accept or "").lower()


# Pages with an id in the path: /investors/12 is the investor page (its script reads the id).
PATTERN_PAGES = [(re.compile(r"/investors/[0-9]{1,12}"), "investor.html"),
                 (re.compile(r"/(invite|reset)/[A-Za-z0-9_-]{20,100}"), "set_password.html")]


def resolve(path: str) -> str | None:
    """The file that serves `path` (already stripped of its query), or None; never leaves frontend/."""
    patterned = next((page for pattern, page in PATTERN_PAGES if pattern.fullmatch(path)), None)
    if path in PAGES or patterned:
        candidate = os.path.join(FRONTEND_DIR, PAGES.get(path) or patterned)
    elif path.startswith("/static/"):
        relative = path[len("/static/"):]
        if not relative or "\x00" in relative or "\\" in relative:
            return None
        candidate = os.path.realpath(os.path.join(STATIC_DIR, relative))
        if not candidate.startswith(os.path.realpath(STATIC_DIR) + os.sep):
            return None
    else:
        return None
    return candidate if os.path.isfile(candidate) else None


def content_type(file_path: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(file_path)[1].lower(), "application/octet-stream")
