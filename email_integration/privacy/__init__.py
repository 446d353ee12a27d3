"""The privacy rules, low enough for every reader to use: who sees what of an email (db_visibility.py:
the owner sees all, private conversations, mailbox visibility levels, Bcc only to its sender, which cards
may reach the room), the exclusion patterns (exclusions.py), and the SQL of the settings they read
(db_privacy.py: mailbox visibility, exclusions, private conversations).

May import: the core only. The actions a person takes on these settings, with their checks, audit rows
and routes, are controls/.
"""
