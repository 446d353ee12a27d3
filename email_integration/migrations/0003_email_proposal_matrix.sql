-- The CRM→Matrix review bridge's side row: where each proposal's card lives in the review room.
-- All bridge state is here, CRM-side, so the intake bot can restart at any moment and lose nothing.
CREATE TABLE IF NOT EXISTS email_proposal_matrix (
    proposal_id INTEGER PRIMARY KEY REFERENCES email_proposals(id) ON DELETE CASCADE,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    posted_version INTEGER NOT NULL,
    posted_at TEXT NOT NULL,
    decided_via TEXT,
    decided_by TEXT,
    decided_at TEXT,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS email_proposal_matrix_open ON email_proposal_matrix(closed_at);
