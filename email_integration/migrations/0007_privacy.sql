-- Privacy controls (issue 16): per-mailbox visibility, exclusions, private conversations.
-- Side tables only (no ALTER TABLE), so every statement may run twice. The rules that read them
-- live in email_integration/db_visibility.py.

-- How much of a mailbox's captured mail teammates see; the owner always sees all of their own.
-- No row = 'everything' (the default).
CREATE TABLE IF NOT EXISTS email_account_privacy (
    account_id INTEGER PRIMARY KEY REFERENCES email_accounts(id) ON DELETE CASCADE,
    visibility TEXT NOT NULL DEFAULT 'everything' CHECK (visibility IN ('everything', 'subject', 'metadata')),
    updated_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_at TEXT NOT NULL
);

-- Addresses ('addr@x') and domains ('@x', subdomains included) whose mail is never captured:
-- scope 'mine' from the user's own mailboxes, scope 'firm' (user_id NULL, admins) from every mailbox.
CREATE TABLE IF NOT EXISTS email_exclusions (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('mine', 'firm')),
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    pattern TEXT NOT NULL COLLATE NOCASE,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    CHECK ((scope = 'mine') = (user_id IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS email_exclusions_unique ON email_exclusions(scope, coalesce(user_id, 0), pattern);

-- Conversations a holder marked private: each teammate then sees only the messages their own mailbox holds.
CREATE TABLE IF NOT EXISTS email_private_threads (
    thread_id INTEGER PRIMARY KEY REFERENCES email_threads(id) ON DELETE CASCADE,
    marked_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    marked_at TEXT NOT NULL
);

-- Pending proposals withdrawn because their conversation went private: re-proposed when it is unmarked.
CREATE TABLE IF NOT EXISTS email_proposal_withdrawals (
    proposal_id INTEGER PRIMARY KEY REFERENCES email_proposals(id) ON DELETE CASCADE,
    reason TEXT NOT NULL CHECK (reason IN ('private')),
    at TEXT NOT NULL
);
