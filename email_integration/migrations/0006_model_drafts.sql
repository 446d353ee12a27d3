-- Model-written first drafts (issue 14): which proposal versions the model on the Spark drafted.
-- A side table rather than new columns on email_proposals, so this file stays idempotent as plain SQL.
-- The current draft is the model's when `version` equals the proposal's version and nobody edited it;
-- a newer email (a CRM redraft) or a person's edit bumps the proposal past it.
CREATE TABLE IF NOT EXISTS email_proposal_drafts (
    proposal_id INTEGER PRIMARY KEY REFERENCES email_proposals(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    model TEXT NOT NULL,
    drafted_at TEXT NOT NULL
);
