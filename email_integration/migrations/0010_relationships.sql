-- Relationship strength, precomputed per (investor, teammate) so the grid's strength column is one
-- table read (issue 17). Sums are anchored at strength.EPOCH, so rows stay right as time passes;
-- they change only when an investor's emails or addresses change, or who counts as a teammate.
CREATE TABLE IF NOT EXISTS email_relationship_stats (
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    received_anchored REAL NOT NULL DEFAULT 0,
    sent_anchored REAL NOT NULL DEFAULT 0,
    last_sent TEXT,
    last_received TEXT,
    last_two_way TEXT,
    PRIMARY KEY (investor_id, user_id)
);

-- Investors whose emails changed since their stats were computed (set_links, email deletion).
CREATE TABLE IF NOT EXISTS email_relationship_dirty (
    investor_id INTEGER PRIMARY KEY
);

-- What the stored stats were computed against: the teammates' addresses (a change recomputes all),
-- and the investors' revision and newest updated_at (an edited investor's stats are recomputed).
CREATE TABLE IF NOT EXISTS email_relationship_basis (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    investors_rev INTEGER,
    investors_seen TEXT
);

-- The timeline's and the stats' reads of one investor's emails.
CREATE INDEX IF NOT EXISTS email_investor_links_investor_email ON email_investor_links(investor_id, email_id);
CREATE INDEX IF NOT EXISTS email_proposals_investor ON email_proposals(investor_id, status);
