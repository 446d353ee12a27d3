"""The sync pipeline and its store: each mailbox's runs (backfill, full resync, history, the investor
search and whole-thread fetches of the investors scope, targeted backfills), the per-message pipeline
(ingest: match → thread → store), the investor matcher, conversations across mailboxes, attachment
bytes, the service that wires a database to Gmail clients, and all the SQL of accounts, sync state,
emails and the reads behind /api/email/* (db_*.py).

Uses google/, gmail/, mail/, privacy/ (the rules: exclusions, who sees what), config.py and the core:
the rooms below it in the order (../README.md). Never review/, relationships/ or controls/: what they
must know of a change to the store, capture tells through events.py, to which they subscribe when the
package loads.
"""
