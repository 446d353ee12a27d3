-- Two different messages claiming one Message-ID (issue 15, item 11): a forged copy must not be
-- merged into the real email, so the later one is stored as its own email (message_key with a
-- suffix) and the pair is recorded here for an admin to look at.
CREATE TABLE IF NOT EXISTS email_message_id_collisions (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,  -- the first seen with that Message-ID
    other_email_id INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,  -- the disagreeing copy
    account_id INTEGER REFERENCES email_accounts(id) ON DELETE SET NULL,  -- the mailbox it came from
    detected_at TEXT NOT NULL,
    UNIQUE (email_id, other_email_id)
);
CREATE INDEX IF NOT EXISTS email_message_id_collisions_other ON email_message_id_collisions(other_email_id);
