"""The relationship view's data: who wrote to whom (exchanges.py), the strength formula (strength.py),
the provider the core's investor page, connections and grid columns ask through backend.email_source
(provider.py), and its SQL with the precomputed stats (db_relationships.py). on_capture.py marks those
stats stale when capture's store changes.

Uses review/ (cards on the timeline), capture/ (the matcher), privacy/, config.py and the core; may
import any room below it (../README.md), never controls/ (its sibling) or the top.

`register` is the hook backend/server.py installs at start (`email_integration.relationships.register`).
"""
from .provider import register

__all__ = ["register"]
