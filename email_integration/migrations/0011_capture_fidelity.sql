-- Capture against Gmail's real search (issue 21). Additive and idempotent: every statement may run twice.

-- Messages a mailbox's capture fetched (or read the headers of) and did not keep: an id-only marker, so that
-- a search that lists them again never fetches them again. 'refused': no investor and no investor
-- conversation (a word-match lookalike, a signing service's mail for someone else); 'excluded': a participant
-- is on the mailbox's exclusions (basis: those exclusions then; a change makes the marker stale).
-- in_conversation: refused although its Gmail thread held investor mail (a forward to an outsider), so a
-- whole-thread fetch does not take it again either.
CREATE TABLE IF NOT EXISTS email_skipped_messages (
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    gmail_id TEXT NOT NULL,
    gmail_thread_id TEXT,
    reason TEXT NOT NULL CHECK (reason IN ('refused', 'excluded')),
    in_conversation INTEGER NOT NULL DEFAULT 0,
    basis TEXT,
    seen_gen INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, gmail_id)
);

-- Captured mail a teammate deleted for good in Gmail: the CRM keeps the firm's record (the mailbox row stays,
-- so visibility still knows who held it); this says it is gone from that mailbox.
CREATE TABLE IF NOT EXISTS email_gone_entries (
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    gmail_id TEXT NOT NULL,
    gone_at TEXT NOT NULL,
    PRIMARY KEY (account_id, gmail_id)
);

-- New ids history reported that the poll's investor search did not list yet (Gmail's search index may see
-- new mail later than history does): searched again on the next polls for a while.
CREATE TABLE IF NOT EXISTS email_search_rechecks (
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    gmail_id TEXT NOT NULL,
    gmail_thread_id TEXT,
    first_seen_at REAL NOT NULL,
    last_checked_at REAL NOT NULL,
    PRIMARY KEY (account_id, gmail_id)
);
