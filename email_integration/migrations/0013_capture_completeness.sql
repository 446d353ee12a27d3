-- Completeness (issue 21): what the last verification found, per mailbox (investor_id 0) and per investor
-- in that mailbox. listed: ids Gmail's investor search lists; the rest say where each of them is:
-- held (in the CRM), private (held, in a private conversation), excluded, refused (fetched, no investor in it:
-- a lookalike), missing (none of these: a gap). spam: investor-looking mail in the mailbox's spam (never
-- captured automatically). Additive and idempotent.
CREATE TABLE IF NOT EXISTS email_completeness (
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    investor_id INTEGER NOT NULL DEFAULT 0,
    listed INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    private INTEGER NOT NULL DEFAULT 0,
    excluded INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0,
    spam INTEGER NOT NULL DEFAULT 0,
    via_sources INTEGER NOT NULL DEFAULT 0,
    verified_at TEXT NOT NULL,
    verified_by TEXT NOT NULL DEFAULT 'run' CHECK (verified_by IN ('run', 'verify')),
    PRIMARY KEY (account_id, investor_id)
);

-- Listed ids the mailbox does not account for, with the reason known for each; runs: how many verifications
-- in a row found it missing (two or more: an alert on the Admin page).
CREATE TABLE IF NOT EXISTS email_completeness_gaps (
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    gmail_id TEXT NOT NULL,
    gmail_thread_id TEXT,
    investor_ids TEXT NOT NULL DEFAULT '[]',
    reason TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    runs INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, gmail_id)
);
