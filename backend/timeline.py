"""An investor's timeline: notes, emails and pending cards merged newest first, paged by a cursor.

Items are ordered by the key (at, kind rank, id), descending, so ties on the second are stable and
a page boundary never drops or repeats an item. `before` is either the `next_before` cursor of the
previous page ("AT~KIND~ID") or a plain timestamp ("YYYY-MM-DDTHH:MM:SSZ": everything strictly older).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .web import BadRequest

# Same instant: a card above the email or meeting it was drafted from, those above a note dated by them.
KIND_RANK = {"note": 1, "email": 2, "meeting": 3, "card": 4}
_STAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
_CURSOR = re.compile(rf"(?P<at>{_STAMP})(?:~(?P<kind>note|email|meeting|card)~(?P<id>[0-9]{{1,12}}))?")
_ABOVE_ANY_ID = 2 ** 62


@dataclass(frozen=True)
class Cursor:
    at: str
    rank: int
    id: int

    def bound(self, kind: str) -> tuple[str, int]:
        """(at, id): an item of `kind` is older iff its at < bound.at, or at == bound.at and id < bound.id."""
        rank = KIND_RANK[kind]
        if rank < self.rank:
            return self.at, _ABOVE_ANY_ID  # same instant, lower rank: every id is older
        if rank > self.rank:
            return self.at, 0  # same instant, higher rank: none is older
        return self.at, self.id


def parse_cursor(raw: str | None) -> Cursor | None:
    """None for the first page; BadRequest for anything but a cursor or a timestamp."""
    if raw in (None, ""):
        return None
    match = _CURSOR.fullmatch(raw)
    if match is None:
        raise BadRequest("'before' must be a cursor from next_before or a time like 2026-01-31T12:00:00Z")
    if match["kind"] is None:
        return Cursor(match["at"], 0, 0)  # below every kind at this instant: strictly older
    return Cursor(match["at"], KIND_RANK[match["kind"]], int(match["id"]))


def sort_key(item: dict) -> tuple:
    return item["at"], KIND_RANK[item["kind"]], item["id"]


def cursor_of(item: dict) -> str:
    return f"{item['at']}~{item['kind']}~{item['id']}"


def merge(sources: list[list[dict]], limit: int) -> tuple[list[dict], str | None]:
    """Newest `limit` items of the sources, and the next page's cursor (None on the last page).

    Each source must hold up to `limit + 1` items: one beyond the page is how a source says "more"."""
    items = sorted((item for source in sources for item in source), key=sort_key, reverse=True)
    page = items[:limit]
    more = len(items) > limit
    return page, (cursor_of(page[-1]) if more and page else None)
