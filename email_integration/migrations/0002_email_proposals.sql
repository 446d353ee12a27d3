-- Proposed grid notes: one open proposal per (conversation, investor), decided by a human.
CREATE TABLE IF NOT EXISTS email_proposals (
    id INTEGER PRIMARY KEY,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    thread_id INTEGER REFERENCES email_threads(id) ON DELETE SET NULL,
    -- NULL once the email is gone from every mailbox (the decision and its grid note stay).
    email_id INTEGER REFERENCES emails(id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected', 'superseded')),
    version INTEGER NOT NULL DEFAULT 1,
    draft TEXT NOT NULL,
    edited INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    decided_by TEXT,
    decided_via TEXT CHECK (decided_via IS NULL OR decided_via IN ('web', 'matrix')),
    note_id INTEGER REFERENCES grid_notes(id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS email_proposals_one_pending
    ON email_proposals(thread_id, investor_id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS email_proposals_status ON email_proposals(status, id);
CREATE INDEX IF NOT EXISTS email_proposals_email ON email_proposals(email_id);
