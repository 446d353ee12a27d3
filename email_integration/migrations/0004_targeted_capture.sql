-- Targeted capture (CRM_GMAIL_CAPTURE_SCOPE=investors). Additive and idempotent: every statement may run twice.

-- Per-account counters the Admin page shows: ids the listings returned, messages fetched (alone or
-- inside a whole thread), listed ids left unfetched (not investor mail), fetched messages kept as
-- investor mail, and the Gmail quota units the account's client spent.
CREATE TABLE IF NOT EXISTS email_capture_counters (
    account_id INTEGER PRIMARY KEY REFERENCES email_accounts(id) ON DELETE CASCADE,
    listed INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    captured INTEGER NOT NULL DEFAULT 0,
    units INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT
);

-- The investor addresses and domains every enrolled mailbox has been searched for. A term of the
-- investors table that is missing here is new: each mailbox gets a targeted backfill for it.
CREATE TABLE IF NOT EXISTS email_capture_terms (
    term TEXT PRIMARY KEY,
    added_at TEXT NOT NULL
);

-- Targeted backfills waiting (or done) per mailbox and term; one pending row per (account, term).
CREATE TABLE IF NOT EXISTS email_backfill_queue (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    term TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    queued_at TEXT NOT NULL,
    finished_at TEXT,
    found INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS email_backfill_queue_pending
    ON email_backfill_queue(account_id, term) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS email_backfill_queue_account ON email_backfill_queue(account_id, status);
