"""The OAuth scopes the CRM asks Google for: read-only, nothing more
(developers.google.com/gmail/api/auth/scopes, developers.google.com/workspace/calendar/api/auth).
DWD grants them in the Admin console (architecture §3); each is asked for with its own token, so a
refused calendar scope never stops mail."""

GMAIL_READONLY_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
# events.list on the primary calendar; calendar.readonly would add calendarList (secondary calendars), unused.
CALENDAR_EVENTS_READONLY_SCOPE = "https://www.googleapis.com/auth/calendar.events.readonly"
