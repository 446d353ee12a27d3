"""The OAuth scopes the CRM asks Google for: read-only, nothing more
(developers.google.com/gmail/api/auth/scopes). DWD grants them in the Admin console (architecture §3)."""

GMAIL_READONLY_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
