-- The proposal horizon (CRM_GMAIL_PROPOSE_SINCE_DAYS): mail older than the horizon is captured,
-- threaded and linked as ever, but drafts no card. What would have been proposed is remembered
-- here, one row per (email, investor), so an admin's backfill can draft those cards later
-- without refetching anything and with the automated-mail rules already applied at capture.
CREATE TABLE IF NOT EXISTS email_proposal_deferred (
    email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    email_date TEXT NOT NULL,
    PRIMARY KEY (email_id, investor_id)
);
CREATE INDEX IF NOT EXISTS email_proposal_deferred_date ON email_proposal_deferred(email_date);
CREATE INDEX IF NOT EXISTS email_proposal_deferred_investor ON email_proposal_deferred(investor_id, email_date);
