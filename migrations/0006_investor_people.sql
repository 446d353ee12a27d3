-- The people of an investor (issue 24, item 8): a fund or a family office has several, each with a name,
-- an optional title and some of the investor's addresses. An address belongs to at most one person; an
-- investor with no people behaves as before (the investor is the person). Removing an address from the
-- investor removes its assignment; removing a person leaves its addresses with the investor.
CREATE TABLE IF NOT EXISTS investor_people (
    id INTEGER PRIMARY KEY,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    title TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS investor_people_investor ON investor_people(investor_id);

CREATE TABLE IF NOT EXISTS investor_person_emails (
    email_id INTEGER PRIMARY KEY REFERENCES investor_emails(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES investor_people(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS investor_person_emails_person ON investor_person_emails(person_id);
