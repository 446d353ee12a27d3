-- The Gmail capture tables. Additive and idempotent: every statement may run twice.

-- One row per teammate's mailbox we sync. state is what /api/email/status shows.
CREATE TABLE IF NOT EXISTS email_accounts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    auth_method TEXT NOT NULL DEFAULT 'dwd' CHECK (auth_method IN ('dwd', 'oauth')),
    state TEXT NOT NULL DEFAULT 'idle'
        CHECK (state IN ('idle', 'running', 'error', 'needs_reconsent', 'disabled')),
    last_error TEXT,
    -- who runs this account's sync now ("host:pid") and until when, unless renewed: one run at a time
    -- across processes (the server's scheduler and `manage sync-now`)
    lease_owner TEXT,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Per-account sync state (lieer's discipline: history_id is saved only after its changes are applied).
-- listing_gen numbers full listings; a mailbox row not seen by a finished listing is gone from Gmail.
CREATE TABLE IF NOT EXISTS email_sync_state (
    account_id INTEGER PRIMARY KEY REFERENCES email_accounts(id) ON DELETE CASCADE,
    history_id TEXT,
    listing_kind TEXT,
    listing_gen INTEGER NOT NULL DEFAULT 0,
    listing_page_token TEXT,
    listing_start_history_id TEXT,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    last_success_at TEXT,
    updated_at TEXT NOT NULL
);

-- Encrypted OAuth refresh tokens (crypto.TokenCipher blobs, bound to the account's address).
CREATE TABLE IF NOT EXISTS email_oauth_tokens (
    account_id INTEGER PRIMARY KEY REFERENCES email_accounts(id) ON DELETE CASCADE,
    token_blob TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One CRM thread per conversation, across every teammate's mailbox.
CREATE TABLE IF NOT EXISTS email_threads (
    id INTEGER PRIMARY KEY,
    subject TEXT,
    last_date TEXT,
    created_at TEXT NOT NULL
);

-- Keys that resolve to a thread: 'mid:<Message-ID>' (also ids only referenced so far) and
-- 'gmail:<account_id>:<threadId>'.
CREATE TABLE IF NOT EXISTS email_thread_keys (
    key TEXT PRIMARY KEY,
    thread_id INTEGER NOT NULL REFERENCES email_threads(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS email_thread_keys_thread ON email_thread_keys(thread_id);

-- One row per email, however many mailboxes hold it (message_key: the RFC Message-ID, or a stable
-- hash of sender, date and subject when it is missing). has_body = 0: only what rematch needs.
CREATE TABLE IF NOT EXISTS emails (
    id INTEGER PRIMARY KEY,
    message_key TEXT NOT NULL UNIQUE,
    message_id TEXT,
    thread_id INTEGER REFERENCES email_threads(id) ON DELETE SET NULL,
    from_email TEXT,
    from_name TEXT,
    date TEXT,
    date_source TEXT,
    in_reply_to TEXT,
    references_json TEXT NOT NULL DEFAULT '[]',
    matched INTEGER NOT NULL DEFAULT 0,
    has_body INTEGER NOT NULL DEFAULT 0,
    subject TEXT,
    snippet TEXT,
    body_text TEXT,
    quoted_text TEXT,
    signature TEXT,
    body_html TEXT,
    size_estimate INTEGER,
    problems_json TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS emails_thread ON emails(thread_id, date);
CREATE INDEX IF NOT EXISTS emails_date ON emails(date);

-- Where each email sits: one row per (account, Gmail id).
CREATE TABLE IF NOT EXISTS email_mailbox_entries (
    id INTEGER PRIMARY KEY,
    email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    gmail_id TEXT NOT NULL,
    gmail_thread_id TEXT,
    label_ids TEXT NOT NULL DEFAULT '[]',
    seen_gen INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, gmail_id)
);
CREATE INDEX IF NOT EXISTS email_mailbox_entries_email ON email_mailbox_entries(email_id);

CREATE TABLE IF NOT EXISTS email_participants (
    email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('from', 'to', 'cc', 'bcc', 'reply_to')),
    address TEXT NOT NULL COLLATE NOCASE,
    name TEXT,
    PRIMARY KEY (email_id, role, address)
);
CREATE INDEX IF NOT EXISTS email_participants_address ON email_participants(address);

CREATE TABLE IF NOT EXISTS email_investor_links (
    email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    strategy TEXT NOT NULL CHECK (strategy IN ('exact', 'domain')),
    address TEXT NOT NULL,
    PRIMARY KEY (email_id, investor_id)
);
CREATE INDEX IF NOT EXISTS email_investor_links_investor ON email_investor_links(investor_id);

-- Attachment rows are stubs until the download worker stores the bytes under sha256.
CREATE TABLE IF NOT EXISTS email_attachments (
    id INTEGER PRIMARY KEY,
    email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    part_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    mime_type TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    content_id TEXT,
    inline INTEGER NOT NULL DEFAULT 0,
    -- where the bytes can be fetched: Gmail's attachmentId within one mailbox's copy of the message
    account_id INTEGER REFERENCES email_accounts(id) ON DELETE SET NULL,
    gmail_id TEXT,
    gmail_attachment_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored', 'too_large', 'error')),
    sha256 TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (email_id, part_id)
);
CREATE INDEX IF NOT EXISTS email_attachments_pending ON email_attachments(status);

-- Messages a run could not fetch (kept for the next run) and bodies rematch wants fetched.
CREATE TABLE IF NOT EXISTS email_fetch_queue (
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    gmail_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (account_id, gmail_id)
);

CREATE TABLE IF NOT EXISTS email_sync_runs (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('backfill', 'incremental', 'full_resync')),
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'error')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    messages_added INTEGER NOT NULL DEFAULT 0,
    messages_updated INTEGER NOT NULL DEFAULT 0,
    messages_deleted INTEGER NOT NULL DEFAULT 0,
    messages_failed INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS email_sync_runs_account ON email_sync_runs(account_id, id);
