-- Issue 22, items 1 and 2. Side tables only (no ALTER TABLE): every statement may run twice.

-- What a copy must share with an email to merge into it (ingest._identify): a digest of its content
-- (the body's text parts, the HTML, the attachments' names, types and sizes), which limited visibility
-- levels never show. Written for every email from the message as first received (mail whose body is not
-- kept too: a later genuine copy still merges). An email without a row (stored before this migration)
-- is digested from its kept body when a copy arrives; one without a body then takes no copies.
CREATE TABLE IF NOT EXISTS email_content_digests (
    email_id INTEGER PRIMARY KEY REFERENCES emails(id) ON DELETE CASCADE,
    digest TEXT NOT NULL
);

-- Investor links an email makes only through its Bcc (no From/To/Cc/Reply-To names that investor):
-- shown and proposable to the teammate who sent it alone, never room-safe (privacy/db_visibility.py).
CREATE TABLE IF NOT EXISTS email_bcc_links (
    email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    PRIMARY KEY (email_id, investor_id)
);
