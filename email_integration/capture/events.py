"""What capture tells the layers above it when the store changes (the layering in ../README.md).

Capture stores mail; review keeps its proposed notes in step with it, relationships its precomputed
strength. They subscribe here when the package loads (email_integration/__init__.py), so capture never
imports them. Every call runs inside the transaction that made the change: a stored email and the card
drafted from it commit together, or neither does.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kept:
    """An email whose content was just stored for the first time, with its investor links."""
    account_id: int
    email_id: int
    thread_id: int
    parsed: dict           # mail.parser's dict of the stored copy
    headers: dict          # its top-level headers, lower-cased name → first value
    links: list            # [(investor_id, strategy, address)], never empty
    own_domain: str        # the firm's Workspace domain
    horizon: str           # mail dated before this ISO time is the mailbox's history ("": none)
    memo: dict             # the ingestor's scratch for listeners: lives one sync run (review caches names)


class Listener:
    """One layer's reactions to capture; each does nothing unless overridden."""

    def email_kept(self, conn, kept: Kept) -> None:
        """An email's content was just stored (review drafts its proposed note from this)."""

    def links_changed(self, conn, email_id: int, linked: set, lost: set) -> None:
        """The email's investor links were replaced: `linked` now, `lost` no longer."""

    def email_removed(self, conn, email_id: int, investor_ids: set) -> None:
        """The last mailbox holding the email lost it; it was linked to `investor_ids`."""

    def body_dropped(self, conn, email_id: int) -> None:
        """The email went back to metadata only (it no longer matches, or it is being removed)."""

    def threads_merging(self, conn, keep: int, other: int) -> None:
        """One message proved `other` and `keep` one conversation: `other` is about to be folded into `keep`
        (both still exist, with their emails; `other` is deleted right after, and rows referring to it lose it)."""

    def meetings_changed(self, conn, investor_ids: set) -> None:
        """calendar/ stored, changed or removed meetings with these investors (relationships recomputes)."""


_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Add a listener once (by class name: importing or reloading the package never doubles a reaction)."""
    name = f"{type(listener).__module__}.{type(listener).__qualname__}"
    _listeners[:] = [known for known in _listeners if f"{type(known).__module__}.{type(known).__qualname__}" != name]
    _listeners.append(listener)


def email_kept(conn, kept: Kept) -> None:
    for listener in _listeners:
        listener.email_kept(conn, kept)


def links_changed(conn, email_id: int, linked: set, lost: set) -> None:
    for listener in _listeners:
        listener.links_changed(conn, email_id, linked, lost)


def email_removed(conn, email_id: int, investor_ids: set) -> None:
    for listener in _listeners:
        listener.email_removed(conn, email_id, investor_ids)


def body_dropped(conn, email_id: int) -> None:
    for listener in _listeners:
        listener.body_dropped(conn, email_id)


def threads_merging(conn, keep: int, other: int) -> None:
    for listener in _listeners:
        listener.threads_merging(conn, keep, other)


def meetings_changed(conn, investor_ids: set) -> None:
    for listener in _listeners:
        listener.meetings_changed(conn, investor_ids)
