-- Investors (many addresses and domains each), grid notes, the audit log of writes.
CREATE TABLE IF NOT EXISTS investors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    firm TEXT,
    last_contact_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS investor_emails (
    id INTEGER PRIMARY KEY,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE
);
CREATE INDEX IF NOT EXISTS investor_emails_investor ON investor_emails(investor_id);

CREATE TABLE IF NOT EXISTS investor_domains (
    id INTEGER PRIMARY KEY,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    domain TEXT NOT NULL COLLATE NOCASE,
    UNIQUE (investor_id, domain)
);
CREATE INDEX IF NOT EXISTS investor_domains_domain ON investor_domains(domain);

CREATE TABLE IF NOT EXISTS grid_notes (
    id INTEGER PRIMARY KEY,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'email')),
    source_ref TEXT,
    author_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS grid_notes_investor ON grid_notes(investor_id, created_at);

CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log(target_type, target_id);

-- Small key/value facts; 'investors_rev' moves on every investor, address or domain change
-- so the email matcher knows to rebuild its index.
CREATE TABLE IF NOT EXISTS crm_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO crm_meta (key, value) VALUES ('investors_rev', '0');
