-- Issue 25: meetings with investors from the teammates' Google Calendars (email_integration/calendar/).
-- New tables only (no ALTER TABLE): every statement may run twice. Nothing of an event without an
-- investor attendee is ever written here (calendar/meetings.py decides before any INSERT).

-- One meeting per iCalUID and original start (a recurring series: one row per occurrence), shared by
-- every teammate whose calendar holds it. Times are UTC (backend.db.ISO_FORMAT).
CREATE TABLE IF NOT EXISTS email_meetings (
    id INTEGER PRIMARY KEY,
    ical_uid TEXT NOT NULL,
    original_start TEXT NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    organizer_email TEXT,
    -- The meeting card (review/meeting_cards.py): NULL until the meeting ended and was looked at, then
    -- 'proposed' (a card exists), 'held' (ended before the proposal horizon), 'none' (every teammate declined).
    card_state TEXT CHECK (card_state IS NULL OR card_state IN ('proposed', 'held', 'none')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (ical_uid, original_start)
);
CREATE INDEX IF NOT EXISTS email_meetings_uncarded ON email_meetings(end_at) WHERE card_state IS NULL;
CREATE INDEX IF NOT EXISTS email_meetings_start ON email_meetings(start_at);

-- Each teammate's copy: their calendar's event id, their own response, Google's visibility of the event.
CREATE TABLE IF NOT EXISTS email_meeting_copies (
    account_id INTEGER NOT NULL REFERENCES email_accounts(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    meeting_id INTEGER NOT NULL REFERENCES email_meetings(id) ON DELETE CASCADE,
    recurring_event_id TEXT,
    response_status TEXT NOT NULL DEFAULT 'needsAction'
        CHECK (response_status IN ('needsAction', 'declined', 'tentative', 'accepted')),
    visibility TEXT NOT NULL DEFAULT 'default'
        CHECK (visibility IN ('default', 'public', 'private', 'confidential')),
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, event_id)
);
CREATE INDEX IF NOT EXISTS email_meeting_copies_meeting ON email_meeting_copies(meeting_id);
CREATE INDEX IF NOT EXISTS email_meeting_copies_series ON email_meeting_copies(account_id, recurring_event_id);

-- Who was invited (the organizer among them, organizer = 1), as the newest copy lists them.
CREATE TABLE IF NOT EXISTS email_meeting_attendees (
    meeting_id INTEGER NOT NULL REFERENCES email_meetings(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    organizer INTEGER NOT NULL DEFAULT 0,
    response_status TEXT,
    PRIMARY KEY (meeting_id, address)
);

-- The investors the attendees match (capture/matcher.py: the address, then the domain).
CREATE TABLE IF NOT EXISTS email_meeting_investors (
    meeting_id INTEGER NOT NULL REFERENCES email_meetings(id) ON DELETE CASCADE,
    investor_id INTEGER NOT NULL REFERENCES investors(id) ON DELETE CASCADE,
    strategy TEXT NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (meeting_id, investor_id)
);
CREATE INDEX IF NOT EXISTS email_meeting_investors_investor ON email_meeting_investors(investor_id, meeting_id);

-- A proposal whose row here exists is a meeting card (kind 'meeting'); its email_id and thread_id are NULL.
-- meeting_start stays when the meeting is gone: the grid note an approval writes is dated by it.
CREATE TABLE IF NOT EXISTS email_proposal_meetings (
    proposal_id INTEGER PRIMARY KEY REFERENCES email_proposals(id) ON DELETE CASCADE,
    meeting_id INTEGER REFERENCES email_meetings(id) ON DELETE SET NULL,
    meeting_start TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS email_proposal_meetings_one ON email_proposal_meetings(meeting_id);
