"""The completeness view and the covered sources: what GET /api/email/status says about whether the CRM holds
every investor email Gmail lists (per mailbox and per investor, the gaps and their alerts, spam counts, the
addresses the search cannot express), and the admins' list of firm group addresses (view.py, routes.py).
The verification itself is capture's (capture/completeness.py); "verify now" starts through the scheduler
(routes.py at the top).

May import: capture/, gmail/, privacy/, config.py and the core.
"""
