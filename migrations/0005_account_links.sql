-- One-time links an admin hands over (issue 24, item 6): an invitation sets a new user's first
-- password, a reset sets a forgotten one. Stored as SHA-256 of the random token, like sessions;
-- single use (used_at), expiring (expires_at), and void once a newer link for the user is made.
CREATE TABLE IF NOT EXISTS account_links (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX IF NOT EXISTS account_links_user ON account_links(user_id);
