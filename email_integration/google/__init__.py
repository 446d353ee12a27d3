"""Talking to Google in general, for any of its APIs: credentials (DWD's signed assertions, OAuth
refresh tokens and the consent flow, the encryption of stored tokens), the HTTP connection pool, the
error taxonomy every retry loop classifies on, the per-account pacer, and the one table of Google's
costs and limits (quota.py) with the scopes we ask for (scopes.py).

May import: the standard library and `cryptography` only (nothing else of this package; config.py
reads this one). Knows nothing of Gmail's resources, the database or the CRM.
"""
