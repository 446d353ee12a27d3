-- Issue 25: calendar capture's sync state, one row per enrolled mailbox (the meetings themselves are
-- calendar/meetings.py's). Additive and idempotent: every statement may run twice.
-- status: pending (never synced) | ok | not_granted (DWD: the Admin console has not delegated the calendar
-- scope) | needs_reconsent (OAuth: consent given before calendar capture, or withdrawn) | error (last_error says).
-- sync_token is Google's nextSyncToken of the last complete listing, saved only after its events were applied;
-- window_start/window_end bound the last full sync (24 months back, 90 days ahead of it).
CREATE TABLE IF NOT EXISTS calendar_sync_state (
    account_id INTEGER PRIMARY KEY REFERENCES email_accounts(id) ON DELETE CASCADE,
    sync_token TEXT,
    window_start TEXT,
    window_end TEXT,
    last_full_sync_at TEXT,
    last_sync_at TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'ok', 'not_granted', 'needs_reconsent', 'error')),
    last_error TEXT,
    full_syncs INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
