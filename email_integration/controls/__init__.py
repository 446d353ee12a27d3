"""The privacy controls a person uses (the Privacy page, "Mark conversation private"): add or remove an
exclusion and purge what it covers, mark or unmark a conversation private (withdrawing or restoring its
cards), set a mailbox's visibility; who may do each, what each changes, the audit row each leaves
(actions.py), and their routes (routes.py).

Uses privacy/, capture/, review/ and the core; may import any room below it (../README.md), never
relationships/ (its sibling) or the top.
"""
