-- Covered sources (issue 21): the firm's group addresses (a Google Group that rewrites From to itself for
-- DMARC names the author only in Reply-To / X-Original-Sender, which Gmail's search does not read). Their
-- mail is read header-first and kept only when those headers name an investor. Additive and idempotent.
CREATE TABLE IF NOT EXISTS email_capture_sources (
    address TEXT PRIMARY KEY COLLATE NOCASE,
    kind TEXT NOT NULL DEFAULT 'group' CHECK (kind IN ('group')),
    added_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    added_at TEXT NOT NULL
);
