"""Proposed grid notes: which stored emails deserve one and the proposal horizon (proposals.py), the
CRM's own first draft (drafter.py), model-written drafts (model_drafts.py), the decision every surface
shares (approve writes exactly one grid note; reject none; edit replaces the draft), the web and
intake-bot routes, and their SQL (db_proposals.py, db_intake.py, db_drafts.py). on_capture.py keeps
proposals in step with capture's store.

May import: capture/, privacy/, mail/, config.py and the core. Never relationships/ or controls/.
"""
