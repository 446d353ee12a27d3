"""Relationships' reactions to capture's store (capture/events.py): the precomputed strength of every
investor whose emails changed is marked stale, and recomputed at the next read (provider.py)."""
from __future__ import annotations

from email_integration.capture import events

from . import db_relationships


class RelationshipsOnCapture(events.Listener):
    def links_changed(self, conn, email_id: int, linked: set, lost: set) -> None:
        db_relationships.mark_dirty(conn, linked | lost)

    def email_removed(self, conn, email_id: int, investor_ids: set) -> None:
        db_relationships.mark_dirty(conn, investor_ids)

    def meetings_changed(self, conn, investor_ids: set) -> None:
        db_relationships.mark_dirty(conn, investor_ids)

    def threads_merging(self, conn, keep: int, other: int) -> None:
        # Everyone in either half: who answered whom may change for all of them.
        db_relationships.mark_thread_dirty(conn, keep)
        db_relationships.mark_thread_dirty(conn, other)
