"""Proposed grid notes: which stored emails deserve one and what the proposal horizon defers (proposals.py), the
CRM's own first draft (drafter.py), model-written drafts (model_drafts.py), the decision every surface
shares (approve writes exactly one grid note; reject none; edit replaces the draft), the web and
intake-bot routes, and their SQL (db_proposals.py, db_intake.py, db_drafts.py). on_capture.py keeps
proposals in step with capture's store.

May import: what lies below it in the order (capture/ and under; the core). Never relationships/ or controls/.
The horizon's date itself is capture's (capture/ingest.py: it knows when each mailbox was enrolled).
"""
