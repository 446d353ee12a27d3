-- Each teammate's copy keeps its own title, description, location and attendees (an invitee may edit their own
-- copy: private notes, guests); the meeting's own columns and email_meeting_attendees are the shared view, taken
-- from one copy only (email_meeting_shared): the organizer's when a teammate organizes it, else the copy stored
-- first — never overwritten by a later non-organizer copy (calendar/meetings.py). New tables only.
CREATE TABLE IF NOT EXISTS email_meeting_copy_fields (
    account_id INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    start_at TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    organizer_email TEXT,
    -- [{address, name, organizer, response_status}] as this copy lists them (JSON), and the sorted addresses
    -- alone (a holder whose copy lists what the shared view lists sees the shared view in full).
    attendees TEXT NOT NULL DEFAULT '[]',
    addresses TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, event_id),
    FOREIGN KEY (account_id, event_id) REFERENCES email_meeting_copies(account_id, event_id) ON DELETE CASCADE
);

-- The copy the shared view of a meeting comes from.
CREATE TABLE IF NOT EXISTS email_meeting_shared (
    meeting_id INTEGER PRIMARY KEY REFERENCES email_meetings(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    event_id TEXT NOT NULL
);

-- Meetings stored before: every copy had the shared fields; the shared view is the earliest copy's.
INSERT OR IGNORE INTO email_meeting_copy_fields (account_id, event_id, start_at, title, description, location,
                                                 organizer_email, attendees, addresses)
SELECT c.account_id, c.event_id, m.start_at, m.title, m.description, m.location, m.organizer_email,
       coalesce((SELECT json_group_array(json_object('address', a.address, 'name', a.name,
                                                     'organizer', a.organizer, 'response_status', a.response_status))
                 FROM email_meeting_attendees a WHERE a.meeting_id = m.id), '[]'),
       coalesce((SELECT group_concat(address, ',') FROM (SELECT a.address FROM email_meeting_attendees a
                 WHERE a.meeting_id = m.id ORDER BY a.address)), '')
FROM email_meeting_copies c JOIN email_meetings m ON m.id = c.meeting_id;
INSERT OR IGNORE INTO email_meeting_shared (meeting_id, account_id, event_id)
SELECT c.meeting_id, c.account_id, c.event_id FROM email_meeting_copies c
WHERE NOT EXISTS (SELECT 1 FROM email_meeting_copies e WHERE e.meeting_id = c.meeting_id
                  AND (e.first_seen_at, e.account_id, e.event_id) < (c.first_seen_at, c.account_id, c.event_id));
